"""Benchmarks of seedream-widgets against the demo backend with a fixed processing time (see README.md).

Run them with ``bash scripts/bench`` (or ``python -m benchmarks.run --quick`` for a smoke run).
"""
