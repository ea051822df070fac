"""Runtime spine of the warehouse: settings, database, and the steps the DAGs and the CLI call."""
