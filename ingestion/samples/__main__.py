from ingestion.samples import main

main()
