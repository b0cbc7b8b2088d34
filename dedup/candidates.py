"""Candidate pairs from MinHash signatures: one-row LSH bands and a collision count.

Each of the ``num_perm`` minhash values is a band of one row. Two documents collide in a band
when their minima agree; the number of collisions of a pair is Binomial(num_perm, J) for
Jaccard J, and a pair is a candidate when it reaches ``min_collisions`` (see
:class:`dedup.config.LSHConfig` for the S-curve). No scoring happens here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from .engines import Engine

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")


def _buckets(column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by value (``order``), and where each run of equal values starts in that
    order and how long it is (``starts``, ``sizes``)."""
    order = np.argsort(column, kind="stable")
    values = column[order]
    cut = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], cut))
    sizes = np.diff(np.concatenate((starts, [len(column)])))
    return order, starts, sizes


def _pairs_of_twos(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                   n: int) -> np.ndarray:
    """Codes of the buckets holding exactly two rows (the common case), vectorized."""
    twos = starts[sizes == 2]
    first, second = order[twos], order[twos + 1]
    low = np.minimum(first, second).astype(np.int64)
    return np.asarray(low * n + np.maximum(first, second), dtype=np.int64)


def band_pairs(column: np.ndarray, max_bucket: int) -> np.ndarray:
    """Pairs ``i < j`` of rows whose value in one band is equal, as ``i * n + j`` codes.

    A bucket larger than ``max_bucket`` contributes only the pairs of its smallest row with
    every other row: all members still become connected (clusters form through that row),
    while the pair count stays linear in the bucket size.
    """
    n = len(column)
    order, starts, sizes = _buckets(column)
    codes = [_pairs_of_twos(order, starts, sizes, n)]

    # Buckets of more than two rows, one numpy step per distinct bucket size rather than a
    # Python step per bucket (the same codes as _band_pairs_reference, in another order; the
    # caller sorts them with np.unique).
    for size in np.unique(sizes[sizes > 2]).tolist():
        first = starts[sizes == size]
        members = np.sort(order[first[:, None] + np.arange(size)], axis=1).astype(np.int64)
        if size > max_bucket:
            codes.append((members[:, :1] * n + members[:, 1:]).ravel())
        else:
            rows, cols = np.triu_indices(size, k=1)
            codes.append((members[:, rows] * n + members[:, cols]).ravel())
    return np.concatenate(codes)


def _band_pairs_reference(column: np.ndarray, max_bucket: int) -> np.ndarray:
    """The obvious :func:`band_pairs` (one Python step per bucket), the oracle for its test.

    A bucket larger than ``max_bucket`` contributes only the pairs of its smallest row with
    every other row: all members still become connected (clusters form through that row),
    while the pair count stays linear in the bucket size.
    """
    n = len(column)
    order, starts, sizes = _buckets(column)
    codes = [_pairs_of_twos(order, starts, sizes, n)]

    for start, size in zip(starts[sizes > 2], sizes[sizes > 2]):
        members = np.sort(order[start : start + size]).astype(np.int64)
        if size > max_bucket:
            codes.append(members[0] * n + members[1:])
        else:
            rows, cols = np.triu_indices(size, k=1)
            codes.append(members[rows] * n + members[cols])
    return np.concatenate(codes)


def candidate_pairs(signatures: np.ndarray, min_collisions: int, max_bucket: int,
                    engine: Engine | None = None, *, spill: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Row pairs ``(i, j)``, ``i < j``, colliding in at least ``min_collisions`` bands.

    ``signatures`` is ``(documents, num_perm)``. Returns an ``(m, 2)`` int64 array sorted
    by ``i`` then ``j``, so the result does not depend on anything but the signatures.

    Bands are independent until their collisions are counted, so ``engine`` (default: this
    process) finds the colliding pairs of groups of bands in parallel, each group counted on
    its own; only ``(pair, count)`` arrays come back to be summed, never signatures.

    Chance collisions grow faster than the corpus (75 million colliding pairs at 100,000
    articles, 805 million at a million), and summing them all at once is the peak of a
    scan's memory. With ``spill``, each group's counted pairs go to a temporary directory
    instead, cut into ranges of first rows, and each range is summed on its own: memory
    holds one range, not all pairs. The workers of ``engine`` must see this machine's temporary
    directory (local processes, a dask LocalCluster). Same result either way.

    ``progress(done, total)`` is called as groups of bands (and, spilling, ranges of rows)
    are done: at a million articles this stage takes minutes.
    """
    n, bands = signatures.shape
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    groups = [range(start, min(start + BANDS_PER_TASK, bands))
              for start in range(0, bands, BANDS_PER_TASK)]
    if spill:
        return _spilled_pairs(signatures, min_collisions, max_bucket, engine, groups, progress)
    context = (signatures, max_bucket)
    counted = _map(engine, _count_groups, context, groups,
                   None if progress is None else lambda done: progress(done, len(groups)))
    codes = np.concatenate([c for c, _ in counted]) if counted else np.zeros(0, np.int64)
    counts = np.concatenate([k for _, k in counted]) if counted else np.zeros(0, np.int64)
    return _pairs(_sum_counts(codes, counts, min_collisions), n)


def _pairs(codes: np.ndarray, n: int) -> np.ndarray:
    return np.stack((codes // n, codes % n), axis=1)


def _sum_counts(codes: np.ndarray, counts: np.ndarray, min_collisions: int) -> np.ndarray:
    """The codes whose counts sum to at least ``min_collisions``, ascending."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    codes, counts = codes[order], counts[order]
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    totals = np.add.reduceat(counts.astype(np.int64), starts)
    return np.asarray(codes[starts][totals >= min_collisions], dtype=np.int64)


#: Documents per range of first rows when counting spilled pairs (at least 32 ranges, so that
#: a process pool shares them): about 20 million colliding pairs each at a million articles.
ROWS_PER_RANGE = 25_000


def _map(engine: Engine | None, fn: Callable[[C, Sequence[T]], list[R]], context: C,
         items: Sequence[T], progress: Callable[[int], None] | None) -> list[R]:
    """``engine.map``, or in this process without an engine."""
    if engine is not None:
        return engine.map(fn, context, items, progress)
    out = fn(context, items)
    if progress is not None:
        progress(len(items))
    return out


def _spilled_pairs(signatures: np.ndarray, min_collisions: int, max_bucket: int,
                   engine: Engine | None, groups: list[range],
                   progress: Callable[[int, int], None] | None) -> np.ndarray:
    n = len(signatures)
    ranges = max(32, -(-n // ROWS_PER_RANGE))
    # Codes are first * n + second: a range of first rows is a range of codes.
    bounds = np.asarray([(k * n // ranges) * n for k in range(ranges)] + [n * n],
                        dtype=np.int64)
    total = len(groups) + ranges

    def report(offset: int) -> Callable[[int], None] | None:
        return None if progress is None else lambda done: progress(offset + done, total)

    with tempfile.TemporaryDirectory(prefix="dedup-candidates-") as folder:
        _map(engine, _spill_groups, (signatures, max_bucket, folder, bounds), groups, report(0))
        sum_context = (folder, [g.start for g in groups], min_collisions)
        kept = _map(engine, _sum_range, sum_context, list(range(ranges)), report(len(groups)))
    return _pairs(np.concatenate(kept), n)


def _spill_groups(context: tuple[np.ndarray, int, str, np.ndarray],
                  groups: Sequence[range]) -> list[None]:
    """Count each group's colliding pairs and write them, ascending, with where each range of
    first rows starts. Runs in an engine's worker, one group in memory at a time."""
    signatures, max_bucket, folder, bounds = context
    for group in groups:
        [(codes, counts)] = _count_groups((signatures, max_bucket), [group])
        base = os.path.join(folder, f"g{group.start}")
        codes.astype(np.int64, copy=False).tofile(base + "-codes")
        counts.astype(np.uint8).tofile(base + "-counts")  # at most BANDS_PER_TASK
        np.save(base + "-cuts.npy", np.searchsorted(codes, bounds))
    return [None] * len(groups)


def _sum_range(context: tuple[str, list[int], int], ranges: Sequence[int]) -> list[np.ndarray]:
    """Sum the spilled counts of each range of first rows over all groups; the pairs that
    reach ``min_collisions``. Runs in an engine's worker; reads just that range of each file
    (plain reads, not a memory map, so only one range is ever resident)."""
    folder, starts, min_collisions = context
    cuts = {start: np.load(os.path.join(folder, f"g{start}-cuts.npy")) for start in starts}
    out = []
    for k in ranges:
        codes, counts = [], []
        for start in starts:
            base = os.path.join(folder, f"g{start}")
            first, count = int(cuts[start][k]), int(cuts[start][k + 1] - cuts[start][k])
            codes.append(np.fromfile(base + "-codes", dtype=np.int64, count=count,
                                     offset=8 * first))
            counts.append(np.fromfile(base + "-counts", dtype=np.uint8, count=count,
                                      offset=first))
        out.append(_sum_counts(np.concatenate(codes), np.concatenate(counts), min_collisions))
    return out


#: Bands whose collisions one task finds and counts: 32 tasks at 256 permutations, enough
#: for a process pool to spread them (it runs fewer than 32 items in the calling process).
BANDS_PER_TASK = 8


def _count_groups(context: tuple[np.ndarray, int],
                  groups: Sequence[range]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each group of bands: the codes of the pairs colliding in it, and in how many of
    its bands. Runs in an engine's worker."""
    signatures, max_bucket = context
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for group in groups:
        codes = np.concatenate([band_pairs(signatures[:, band], max_bucket) for band in group])
        unique, counts = np.unique(codes, return_counts=True)
        out.append((unique, counts.astype(np.int64)))
    return out


def collision_counts(signatures: np.ndarray, i: int, j: int) -> int:
    """How many bands rows ``i`` and ``j`` collide in (for ``explain``)."""
    return int(np.count_nonzero(signatures[i] == signatures[j]))
