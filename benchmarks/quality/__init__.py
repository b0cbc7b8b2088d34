"""Detection quality of dedup and of plain MinHash baselines on labeled corpora.

``python -m benchmarks.quality.run`` builds the corpora from ``benchmarks/data``, runs every
system on each and prints one table; :func:`benchmarks.quality.run.run_quality` does the same
for code (the regression test calls it with ``quick=True``).
"""
