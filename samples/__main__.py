from samples import main

main()
