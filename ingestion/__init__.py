"""Ingestion of the dealer group's exports: feed specs, readers, validation, loading, ledger."""

import os

# Polars' jemalloc and pyarrow's mimalloc hand freed pages back to the kernel within about a second, and the
# loader frees and allocates a chunk's worth every few milliseconds: at 10M rows that was 1.2M page faults
# (5 GB zeroed by the kernel, ~10% of the loader's CPU). Kept for a minute instead, the pages are reused; peak
# memory is unchanged, since it is the same chunks. Read when each library loads, so set before they are
# imported; a value already in the environment wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:60000,muzzy_decay_ms:60000")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "60000")
