"""Ingestion of the dealer group's exports: feed specs, readers, validation, loading, ledger."""

import os

# Polars sets its jemalloc to hand freed pages back to the kernel after 0.5-1 s (pyarrow's mimalloc does much
# the same), and the loader frees and allocates a chunk's worth every few milliseconds: at 10M rows that was
# 1.2M page faults (5 GB zeroed by the kernel, ~10% of the loader's CPU). Kept for a minute instead, the pages
# are reused; peak memory is that of the same chunks. Both are read when the library loads, so they are set
# before it is imported (polars appends `_RJEM_MALLOC_CONF` to its own settings); a value already set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:60000,muzzy_decay_ms:60000")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "60000")
