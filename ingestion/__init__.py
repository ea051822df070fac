"""Ingestion of the dealer group's exports: feed specs, readers, validation, loading, ledger."""

import os

# Polars sets its jemalloc to hand freed pages back to the kernel after 0.5-1 s (pyarrow's mimalloc does much
# the same), and the loader frees and allocates a chunk's worth every few milliseconds: at 10M rows that was
# 1.2M page faults (5 GB zeroed by the kernel, ~10% of the loader's CPU). Kept for 10 s (jemalloc's own default)
# the pages are reused while loading: 0.5-0.6M faults. A minute saved a little more at 10M (0.47M) but kept the
# loader's pages through the GX gate that follows in the same process (`make run` at 1M peaked at 1.6 GiB, against
# 1.1 with 10 s). Both are read when the library loads, so they are set before it is imported (polars appends
# `_RJEM_MALLOC_CONF` to its own settings); a value already set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "10000")
