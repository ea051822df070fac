"""Benchmarks at dealer-group scale (`python -m bench`).

`ingestion` is imported first: it sets the allocators' settings, which polars and pyarrow read when they load,
and `bench.scale` loads polars.
"""

import ingestion  # noqa: F401
