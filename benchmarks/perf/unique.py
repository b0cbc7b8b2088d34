"""numpy's ``np.unique`` against :func:`dedup.arrays.distinct` (sort, then keep each value
that differs from the one before), on random integers of the sizes the pipeline passes.

    python -m benchmarks.perf.unique

numpy 2.4 finds the distinct values of an integer array by hashing, then sorts them; for
these sizes sorting alone is faster. Prints microseconds a call, best of three rounds, and
checks that both give the same array.
"""

from __future__ import annotations

import time

import numpy as np

from dedup.arrays import distinct


def best(fn, values: np.ndarray, calls: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(calls):
            fn(values)
        times.append((time.perf_counter() - began) / calls)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(20261123)
    print(f"numpy {np.__version__}; us a call, best of 3 rounds")
    print("| values | dtype | np.unique | distinct | ratio |")
    print("|---:|---|---:|---:|---:|")
    for size in (100, 1_000, 10_000, 100_000, 1_000_000):
        for dtype in (np.uint64, np.int64, np.int32):
            values = rng.integers(0, 2**31, size).astype(dtype)
            assert np.array_equal(np.unique(values), distinct(values))
            calls = max(1, 100_000 // size)
            numpy_s, ours = best(np.unique, values, calls), best(distinct, values, calls)
            print(f"| {size:,} | {np.dtype(dtype).name} | {numpy_s * 1e6:,.1f} | "
                  f"{ours * 1e6:,.1f} | {numpy_s / ours:.1f}x |")


if __name__ == "__main__":
    main()
