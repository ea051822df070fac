"""Ingestion of the dealer group's exports: feed specs, readers, validation, loading, ledger."""
