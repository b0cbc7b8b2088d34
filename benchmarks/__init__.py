"""Benchmarks for dedup: detection quality on labeled corpora (``benchmarks.quality``).

Benchmarks print and record figures; they are not tests. See ``benchmarks/README.md``.
"""
