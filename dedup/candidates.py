"""Candidate pairs from MinHash signatures: one-row LSH bands and a collision count.

Each of the ``num_perm`` minhash values is a band of one row. Two documents collide in a band
when their minima agree; the number of collisions of a pair is Binomial(num_perm, J) for
Jaccard J, and a pair is a candidate when it reaches ``min_collisions`` (see
:class:`dedup.config.LSHConfig` for the S-curve). No scoring happens here.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import numpy as np

from . import compiled
from .arrays import distinct

if TYPE_CHECKING:
    from .engines import Engine

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")


def stable_order(column: np.ndarray) -> np.ndarray:
    """``np.argsort(column, kind="stable")``; for 32-bit unsigned values (signatures) as two
    stable passes over 16-bit halves, low half first, which numpy sorts by radix: 32 ms
    instead of 76 ms for a band of a million articles, 256 times a scan."""
    if column.dtype != np.uint32:
        return np.argsort(column, kind="stable")
    low = np.argsort((column & 0xFFFF).astype(np.uint16), kind="stable")
    high = np.argsort((column[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def _buckets(column: np.ndarray, sort: Callable[[np.ndarray], np.ndarray] = stable_order,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by value (``order``, by ``sort``), and where each run of equal values
    starts in that order and how long it is (``starts``, ``sizes``)."""
    order = sort(column)
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
    """Pairs ``i < j`` of rows whose value in one band is equal, as ``i * n + j`` codes,
    ascending.

    A bucket larger than ``max_bucket`` contributes only the pairs of its smallest row with
    every other row: all members still become connected (clusters form through that row),
    while the pair count stays linear in the bucket size.
    """
    # A band of a (documents, num_perm) matrix is strided: sorting reads it several times,
    # and one copy first made a band of a million articles 30 % faster.
    column = np.ascontiguousarray(column)
    if not compiled.enabled():  # a few documents: the reference, sorted
        return np.sort(_band_pairs_reference(column, max_bucket))
    from .kernels import band_codes  # numba: for the commands that pair documents

    # The same codes as _band_pairs_reference, from one compiled pass over the sorted band
    # (a numpy step per bucket size, a sort per step and a sort of the group's codes
    # afterwards were 2.4 s and 1.5 s of a 100k scan's 7.2 s of candidates in one process).
    codes: np.ndarray = band_codes(stable_order(column), column, max_bucket)
    return codes


def _band_pairs_reference(column: np.ndarray, max_bucket: int) -> np.ndarray:
    """The obvious :func:`band_pairs` (one Python step per bucket): the oracle for its test,
    and, sorted, what :func:`band_pairs` gives for work too small for the compiled kernels
    (:mod:`dedup.compiled`).

    A bucket larger than ``max_bucket`` contributes only the pairs of its smallest row with
    every other row: all members still become connected (clusters form through that row),
    while the pair count stays linear in the bucket size.
    """
    n = len(column)
    order, starts, sizes = _buckets(column, lambda c: np.argsort(c, kind="stable"))
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
    process) finds the colliding pairs of groups of bands in parallel, each group's sorted
    on its own; only arrays of pair codes come back to be counted, never signatures.

    Chance collisions grow faster than the corpus (75 million colliding pairs at 100,000
    articles, 805 million at a million), and counting them all at once is the peak of a
    scan's memory. With ``spill``, each band's sorted codes go to a temporary directory
    instead (packed, :func:`pack_codes`), and ranges of codes of about equal size are
    counted one at a time: memory holds one range, not all pairs. Workers that see this
    machine's temporary directory (``engine.shares_tempdir``: local processes, a dask
    LocalCluster) write and count there; others (a remote dask cluster) send their groups'
    codes back a few groups at a time (:data:`GROUPS_AT_ONCE`), to be written and counted
    in this process. Same result either way.

    ``progress(done, total)`` is called as groups of bands (and, spilling, ranges of pairs)
    are done: at a million articles this stage takes minutes.
    """
    n, bands = signatures.shape
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    groups = [range(start, min(start + BANDS_PER_TASK, bands))
              for start in range(0, bands, BANDS_PER_TASK)]
    if progress is not None:
        progress(0, len(groups) + (MIN_RANGES if spill else 0))
    if spill:
        return _spilled_pairs(signatures, min_collisions, max_bucket, engine, groups, progress)
    context = (signatures, 0, max_bucket)
    found = _map(engine, _group_codes, context, groups,
                 None if progress is None else lambda done: progress(done, len(groups)),
                 _bands_part)
    return _pairs(_often(np.concatenate(found), min_collisions), n)


def _pairs(codes: np.ndarray, n: int) -> np.ndarray:
    return np.stack((codes // n, codes % n), axis=1)


def _often(codes: np.ndarray, min_collisions: int, bits: int | None = None) -> np.ndarray:
    """The codes occurring at least ``min_collisions`` times in ``codes``, ascending, once
    each. ``codes`` is best a few ascending runs one after another (the groups' codes):
    numpy's stable sort merges runs rather than sorting afresh (0.25 s for 12 million codes
    in 4 runs where ``np.unique`` with counts took 2.3 s).

    Almost every code is a chance collision that occurs once or twice. With the compiled
    kernels, a count per slot of a hash of the codes (``2**bits`` slots, by default one to
    two times as many as codes) first drops every code whose slot holds fewer than
    ``min_collisions``, and only the rest is sorted: 11-13 ms instead of 52-98 ms for a
    range of 2.3 million codes. Twice as many slots dropped a few more codes but took 16-25
    ms: the counts no longer fit the cache as well (the 32 ranges of a 100k scan, 0.35-0.40
    s against 0.52-0.81 s)."""
    reach = max(min_collisions, 1) - 1
    if reach and compiled.enabled() and len(codes) > reach:
        from .kernels import maybe_often  # numba: for the commands that pair documents

        bits = bits or max(10, len(codes).bit_length())
        codes = maybe_often(np.ascontiguousarray(codes, dtype=np.int64), min_collisions, bits,
                            False, -1)  # a code is never -1
    codes = np.sort(codes, kind="stable")
    if len(codes) <= reach:
        return np.zeros(0, dtype=np.int64)
    # In sorted codes, a code occurs min_collisions times if it is also `reach` places on.
    hits = codes[: len(codes) - reach]
    if reach:
        hits = hits[hits == codes[reach:]]
    first = np.ones(len(hits), dtype=bool)
    np.not_equal(hits[1:], hits[:-1], out=first[1:])
    return np.asarray(hits[first], dtype=np.int64)


#: Documents from which a scan spills its collisions (``spill``) and finds them on its engine:
#: below, this process in memory is faster, as starting workers and writing files cost more
#: than the work. Measured on the perf corpus (two processes spilling against one in memory,
#: session 16): 10,000 articles 0.28-0.32 s against 0.14 s, 20,000 about even (0.35-0.50 s),
#: 40,000 0.74-0.82 s against 1.18-1.52 s (and 650 MB against 215 MB).
SPILL_MIN_DOCUMENTS = 20_000
#: Collisions counted at once when counting spilled pairs. Ranges of codes are cut to
#: hold about this many each (from samples of every group's sorted codes), and there are at
#: least 32 ranges so that a process pool shares them. Ranges of equal numbers of first rows
#: were uneven: a bucket larger than ``max_bucket`` links every member to its smallest row,
#: so the first range got the star pairs of every band (5.3 GB in one worker at 1M).
CODES_PER_RANGE = 8_000_000
#: Ranges the spilled pairs are cut into at the least (fewer if there are too few pairs).
MIN_RANGES = 32
#: Codes sampled from each spilled run (a band's codes) to place the range bounds.
SAMPLES_PER_RUN = 1024
#: A spilled file's codes are packed in blocks of FENCE codes, each block on its own (see
#: :func:`pack_codes`); the first code of every block and where the block starts are kept,
#: so that a range is read as the few blocks that hold it, not by mapping the file: binary
#: searches in memory maps of 64 files put 1.2 GB of file pages into each worker's RSS at
#: 1M.
FENCE = 1024


def pack_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascending, non-negative int64 ``codes`` packed for spilling: ``(data, fence,
    offsets)``. Each block of :data:`FENCE` codes is 64-bit little-endian words: a head,
    the bits each gap takes (``width``, those of the block's widest) in its low byte and the
    block's number of codes above, then the gaps between consecutive codes, ``width`` bits
    each from the lowest bit up, crossing from word to word; ``fence`` holds each block's
    first code and ``offsets`` where each block starts in ``data`` (a multiple of 8 bytes)
    and where the last ends.

    Sorted codes lie close together (at 100,000 articles a band's codes are on average
    33,000 apart): 2.5 bytes a code instead of eight. Writing the eight was a third of the
    candidate stage, for fresh page-cache pages cost this kind of machine about 2 ms a MB.
    Gaps of one width a block, not a varint each (seven bits a byte, until a byte below
    128: 2.2 bytes a code): no branch a byte, and 3.3-3.4 and 2.7 ns a code to pack and
    unpack against 7.3-8.1 and 10.7 (random codes as dense, session 19; in the 100k scan
    0.45 and 0.60 s of CPU became 0.27 and 0.34)."""
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    if compiled.enabled():
        from .kernels import pack_codes as packed  # numba: for the commands that pair

        data, fence, offsets = packed(codes, FENCE)
        return data, fence, offsets
    words: list[int] = []
    starts: list[int] = []
    for first in range(0, len(codes), FENCE):
        block = codes[first : first + FENCE].tolist()
        gaps = [b - a for a, b in zip(block, block[1:])]
        width = max(gaps, default=0).bit_length()
        together = sum(gap << (k * width) for k, gap in enumerate(gaps))
        starts.append(8 * len(words))
        words.append(width | len(block) << 8)
        words += [together >> (64 * k) & _WORD for k in range(-(-len(gaps) * width // 64))]
    return (np.array(words, dtype=np.uint64).view(np.uint8), codes[::FENCE].copy(),
            np.array([*starts, 8 * len(words)], dtype=np.int64))


_WORD = (1 << 64) - 1


def unpack_codes(data: np.ndarray, fence: np.ndarray, offsets: np.ndarray, low: int = 0,
                 high: int = np.iinfo(np.int64).max) -> np.ndarray:
    """The codes ``low <= code < high`` of blocks packed by :func:`pack_codes`, ``fence``
    their first codes, ``offsets`` where each starts in ``data`` and where the last ends
    (consecutive blocks, of one file or of several one after another, each from a multiple
    of 8 bytes of ``data``), in that order."""
    data = np.ascontiguousarray(data, dtype=np.uint8)
    if compiled.enabled():
        from .kernels import unpack_codes as unpacked  # numba: for the commands that pair

        codes: np.ndarray = unpacked(data, fence, offsets, low, high)
        return codes
    words = data.view(np.uint64).tolist()
    out = []
    for b, value in enumerate(fence.tolist()):
        at, end = int(offsets[b]) // 8, int(offsets[b + 1]) // 8
        width, count = words[at] & 255, words[at] >> 8
        together = sum(word << (64 * k) for k, word in enumerate(words[at + 1 : end]))
        out.append(value)
        for k in range(count - 1):
            value += together >> (k * width) & ((1 << width) - 1)
            out.append(value)
    codes = np.array(out, dtype=np.int64)
    return codes[(codes >= low) & (codes < high)]


def _map(engine: Engine | None, fn: Callable[[C, Sequence[T]], list[R]], context: C,
         items: Sequence[T], progress: Callable[[int], None] | None,
         narrow: Callable[[C, Sequence[T]], C] | None = None) -> list[R]:
    """``engine.map``, or in this process without an engine."""
    if engine is not None:
        return engine.map(fn, context, items, progress, narrow=narrow)
    out = fn(context, items)
    if progress is not None:
        progress(len(items))
    return out


def _spilled_pairs(signatures: np.ndarray, min_collisions: int, max_bucket: int,
                   engine: Engine | None, groups: list[range],
                   progress: Callable[[int, int], None] | None) -> np.ndarray:
    n = len(signatures)
    total = [len(groups) + MIN_RANGES]  # until the ranges are known

    def report(offset: int) -> Callable[[int], None] | None:
        return None if progress is None else lambda done: progress(offset + done, total[0])

    here = engine is not None and not getattr(engine, "shares_tempdir", True)
    with tempfile.TemporaryDirectory(prefix="dedup-candidates-") as folder:
        if here:
            spilled = _spill_here(signatures, max_bucket, engine, groups, folder, report(0))
        else:
            spilled = [file for files in _map(engine, _spill_groups,
                                              (signatures, 0, max_bucket, folder), groups,
                                              report(0), _bands_part)
                       for file in files]
        bounds = _balanced_bounds([(file.codes, file.sample) for file in spilled], n)
        total[0] = len(groups) + len(bounds) - 1
        count_context = (folder, [(f.name, f.fence, f.offsets) for f in spilled], bounds,
                         min_collisions)
        kept = _map(None if here else engine, _count_range, count_context,
                    list(range(len(bounds) - 1)), report(len(groups)))
    return _pairs(np.concatenate(kept), n)


#: Groups of bands whose codes a remote engine sends back at once, to be spilled here: at a
#: million articles a group's codes are about 100 MB.
GROUPS_AT_ONCE = 8


def _spill_here(signatures: np.ndarray, max_bucket: int, engine: Engine | None,
                groups: list[range], folder: str,
                progress: Callable[[int], None] | None) -> list[_Spilled]:
    """:func:`_spill_groups` for an engine whose workers cannot see ``folder``: they find
    the groups' codes, a few groups at a time, and this process writes them."""
    out = []
    for first in range(0, len(groups), GROUPS_AT_ONCE):
        batch = groups[first : first + GROUPS_AT_ONCE]
        found = _map(engine, _group_codes, (signatures, 0, max_bucket), batch, None,
                     _bands_part)
        for codes in found:
            out += _write_runs(folder, [codes])
        del found
        if progress is not None:
            progress(first + len(batch))
    return out


def _balanced_bounds(spilled: Sequence[tuple[int, np.ndarray]], n: int) -> np.ndarray:
    """Ascending code bounds ``[0, ..., n * n]`` cutting the spilled codes into ranges of
    about equal size. ``spilled`` holds each run's number of codes and a sample of them,
    evenly spaced in its sorted codes (each sampled code stands for as many codes)."""
    total = sum(count for count, _ in spilled)
    ranges = max(MIN_RANGES, -(-total // CODES_PER_RANGE))
    samples = [(sample, count / len(sample)) for count, sample in spilled if len(sample)]
    inner = np.zeros(0, dtype=np.int64)
    if samples:
        values = np.concatenate([sample for sample, _ in samples])
        weights = np.concatenate([np.full(len(sample), weight) for sample, weight in samples])
        order = np.argsort(values, kind="stable")
        reached = np.cumsum(weights[order])
        targets = total * np.arange(1, ranges) / ranges
        inner = values[order][np.minimum(np.searchsorted(reached, targets),
                                         len(values) - 1)]
    return distinct(np.concatenate([[0], inner, [n * n]]).astype(np.int64))


class _Spilled(NamedTuple):
    """A run of spilled codes, ascending, in a file of them (:func:`_write_runs`)."""

    name: str  # of the file
    codes: int  # how many the run holds
    sample: np.ndarray  # of them, evenly spaced
    fence: np.ndarray  # the first code of each block
    offsets: np.ndarray  # where each block starts in the file, and where the run ends


def _spill_groups(context: tuple[np.ndarray, int, int, str],
                  groups: Sequence[range]) -> list[list[_Spilled]]:
    """Find each band's colliding pairs and write them, ascending, one band after another
    (merging a group's bands first took as long as packing them); the runs written, a list
    a group. Runs in an engine's worker, one band in memory at a time."""
    signatures, first, max_bucket, folder = context
    return [_write_runs(folder, (band_pairs(column, max_bucket)
                                 for column in _columns(signatures, first, group)))
            for group in groups]


def _columns(signatures: np.ndarray, first: int, bands: range) -> Iterator[np.ndarray]:
    """The columns of ``bands`` (``signatures``' first column being band ``first``), each
    contiguous. The group's columns are copied out together first: a column copied alone
    reads a cache line of every row for four bytes (0.85 ms a band of 100,000 rows, 0.42 ms
    this way)."""
    block = np.ascontiguousarray(signatures[:, bands.start - first : bands.stop - first])
    for k in range(block.shape[1]):
        yield np.ascontiguousarray(block[:, k])


def _write_runs(folder: str, runs: Iterable[np.ndarray]) -> list[_Spilled]:
    """Write runs of sorted codes to this thread's file in ``folder``, each packed
    (:func:`pack_codes`), one after another after what it holds; what was written. The
    blocks' first codes and places are kept in memory, not written beside (a few KB a band
    at 100k, 48 KB at 1M): a second file a band, loaded for every chunk of ranges, took
    longer than packing. One file a process, not a file a group of bands: creating a file
    took 0.5-0.7 ms of system time here (:mod:`dedup.stem_files`)."""
    out = []
    name = f"{os.getpid()}-{threading.get_ident()}"
    with open(os.path.join(folder, name), "ab") as file:
        at = file.tell()
        for codes in runs:
            data, fence, offsets = pack_codes(codes)
            data.tofile(file)
            picks = distinct(np.linspace(0, len(codes) - 1,
                                          min(len(codes), SAMPLES_PER_RUN)).astype(np.int64))
            out.append(_Spilled(name, len(codes), codes[picks].astype(np.int64), fence,
                                offsets + at))
            at += len(data)
            del codes
    return out


def _count_range(context: tuple[str, list[tuple[str, np.ndarray, np.ndarray]], np.ndarray,
                                int],
                 ranges: Sequence[int]) -> list[np.ndarray]:
    """Count the spilled codes of each range over all runs; the pairs that reach
    ``min_collisions``. Runs in an engine's worker; reads of each file only the blocks that
    hold the range (plain reads, so only one range is ever resident)."""
    folder, runs, bounds, min_collisions = context
    opened: dict[str, int] = {}
    try:
        for name, _, _ in runs:
            if name not in opened:
                opened[name] = os.open(os.path.join(folder, name), os.O_RDONLY)
        packed = [(opened[name], fence, offsets) for name, fence, offsets in runs]
        return [_often(_range_codes(packed, int(bounds[k]), int(bounds[k + 1])),
                       min_collisions) for k in ranges]
    finally:
        for fd in opened.values():
            os.close(fd)


def _range_codes(packed: Sequence[tuple[int, np.ndarray, np.ndarray]], low: int,
                 high: int) -> np.ndarray:
    """The codes ``low <= code < high`` of files packed by :func:`pack_codes`, each given
    as an open descriptor, its blocks' first codes and their places: the blocks that hold
    them read from every file, and unpacked together (a read and a kernel call per file
    were 0.5 s of the 8,192 a 100k scan makes)."""
    reads, firsts, places = [], [], []
    size = 0
    for fd, fence, offsets in packed:
        # Blocks before `first` hold only codes below low (the next block starts below it);
        # blocks from `last` on only codes from high up.
        first = max(int(np.searchsorted(fence, low)) - 1, 0)
        last = int(np.searchsorted(fence, high))
        if last <= first:
            continue
        start, end = int(offsets[first]), int(offsets[last])
        reads.append((fd, start, size, end - start))
        firsts.append(fence[first:last])
        places.append(offsets[first:last] - start + size)
        size += end - start
    if not reads:
        return np.zeros(0, dtype=np.int64)
    # Read into a writable array: a read-only one (from bytes) is another type to the
    # compiled kernel, which every worker then loaded anew (about 0.6 s each at 100k).
    data = np.empty(size, dtype=np.uint8)
    with data.data as view:
        for fd, start, at, length in reads:
            _read_exactly(fd, view[at : at + length], start)
    return unpack_codes(data, np.concatenate(firsts),
                        np.append(np.concatenate(places), size), low, high)


def _read_exactly(fd: int, into: memoryview, offset: int) -> None:
    """Fill ``into`` from the file ``fd`` from ``offset`` (a read may return fewer bytes)."""
    while len(into):
        got = os.preadv(fd, [into], offset)
        if not got:
            raise OSError(f"spilled pairs: a file ended {len(into)} bytes early")
        into = into[got:]
        offset += got


#: Bands whose collisions one task finds and counts: 64 tasks at 256 permutations, enough
#: for a process pool to spread them (it runs fewer than 32 items in the calling process).
#: At a million articles a band has about 3 million colliding pairs; with 8 bands a task the
#: workers of the candidate stage peaked at 1.4 GB of private memory each.
BANDS_PER_TASK = 4


def _group_codes(context: tuple[np.ndarray, int, int],
                 groups: Sequence[range]) -> list[np.ndarray]:
    """For each group of bands: the codes of the pairs colliding in it, ascending, a code
    once for every band it collides in (each band's ascending already: numpy's stable sort
    merges the runs). Runs in an engine's worker. The context's signatures are the columns
    of bands ``first`` and up (all bands, or a part's)."""
    signatures, first, max_bucket = context
    return [np.sort(np.concatenate([band_pairs(column, max_bucket)
                                    for column in _columns(signatures, first, group)]),
                    kind="stable")
            for group in groups]


Banded = TypeVar("Banded", tuple[np.ndarray, int, int], tuple[np.ndarray, int, int, str])


def _bands_part(context: Banded, groups: Sequence[range]) -> Banded:
    """What :func:`_group_codes` or :func:`_spill_groups` needs for ``groups``: the columns
    of their bands (a dask task gets these, not every band's)."""
    signatures, first = context[0], context[1]
    low, high = min(g.start for g in groups), max(g.stop for g in groups)
    columns = np.ascontiguousarray(signatures[:, low - first : high - first])
    return (columns, low, *context[2:])


def collision_counts(signatures: np.ndarray, i: int, j: int) -> int:
    """How many bands rows ``i`` and ``j`` collide in (for ``explain``)."""
    return int(np.count_nonzero(signatures[i] == signatures[j]))
