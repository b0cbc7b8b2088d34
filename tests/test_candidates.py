from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import compiled
from dedup._reference import reference_candidates
from dedup.candidates import _often, candidate_pairs


def _planted(rng: np.random.Generator, docs: int, perms: int, groups: int) -> np.ndarray:
    """Random signatures where some rows copy a share of another row's values."""
    signatures = rng.integers(0, 50, size=(docs, perms), dtype=np.uint32)  # small range: collisions
    for _ in range(groups):
        a, b = rng.integers(0, docs, size=2)
        share = rng.random(perms) < rng.random()
        signatures[b, share] = signatures[a, share]
    return signatures


@settings(deadline=None, max_examples=50)
@given(seed=st.integers(0, 10_000), docs=st.integers(0, 40), min_collisions=st.integers(1, 12))
def test_bucketing_finds_exactly_the_pairs_that_collide_often_enough(
    seed: int, docs: int, min_collisions: int
) -> None:
    signatures = _planted(np.random.default_rng(seed), docs, 32, docs // 2)
    fast = candidate_pairs(signatures, min_collisions, max_bucket=10_000)
    assert fast.tolist() == reference_candidates(signatures, min_collisions).tolist()


def test_large_bucket_links_to_its_first_member_only() -> None:
    signatures = np.zeros((100, 8), dtype=np.uint32)  # 100 identical documents
    pairs = candidate_pairs(signatures, min_collisions=8, max_bucket=50)
    assert len(pairs) == 99
    assert set(pairs[:, 0].tolist()) == {0}


def test_result_is_sorted_and_pairs_are_ordered() -> None:
    rng = np.random.default_rng(3)
    pairs = candidate_pairs(_planted(rng, 60, 32, 40), 3, 50)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert pairs.tolist() == sorted(pairs.tolist())


def test_fewer_than_two_documents_give_no_pairs() -> None:
    assert candidate_pairs(np.zeros((1, 8), dtype=np.uint32), 1, 50).shape == (0, 2)


def test_bands_counted_in_worker_processes_give_the_same_pairs() -> None:
    # 64 bands in groups of BANDS_PER_TASK, spread over two processes, then summed.
    from dedup.engines.local import ProcessEngine

    signatures = _planted(np.random.default_rng(11), 300, 64, 120)
    expected = candidate_pairs(signatures, 5, 50)
    assert len(expected) > 0
    pooled = candidate_pairs(signatures, 5, 50, ProcessEngine(2, chunk_size=1, min_items=1))
    assert pooled.tolist() == expected.tolist()


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 10_000), docs=st.integers(0, 70), min_collisions=st.integers(1, 12))
def test_spilled_counting_finds_the_same_pairs(seed: int, docs: int,
                                               min_collisions: int) -> None:
    # Counting in ranges of first rows (32 of them even for a handful of documents, so that
    # many ranges are empty or hold one row) gives the pairs of counting all at once.
    signatures = _planted(np.random.default_rng(seed), docs, 32, docs // 2)
    expected = reference_candidates(signatures, min_collisions).tolist()
    assert candidate_pairs(signatures, min_collisions, 10_000, spill=True).tolist() == expected
    assert candidate_pairs(signatures, min_collisions, 3, spill=True).tolist() == \
        candidate_pairs(signatures, min_collisions, 3).tolist()


def test_spilled_counting_in_worker_processes_leaves_nothing_behind() -> None:
    import tempfile
    from pathlib import Path

    from dedup.engines.local import ProcessEngine

    before = set(Path(tempfile.gettempdir()).glob("dedup-candidates-*"))
    signatures = _planted(np.random.default_rng(12), 400, 64, 150)
    expected = candidate_pairs(signatures, 5, 50)
    assert len(expected) > 0
    engine = ProcessEngine(2, chunk_size=2, min_items=1)
    assert candidate_pairs(signatures, 5, 50, engine, spill=True).tolist() == expected.tolist()
    assert set(Path(tempfile.gettempdir()).glob("dedup-candidates-*")) == before


def test_progress_counts_groups_of_bands_then_ranges_of_pairs() -> None:
    from dedup.engines import SerialEngine

    signatures = _planted(np.random.default_rng(13), 200, 64, 80)
    for engine in (None, SerialEngine(chunk_size=3)):
        calls: list[tuple[int, int]] = []
        candidate_pairs(signatures, 5, 50, engine,
                        progress=lambda d, t, out=calls: out.append((d, t)))
        assert calls[-1] == (16, 16)  # 64 bands, BANDS_PER_TASK (4) a group
        spilled: list[tuple[int, int]] = []
        candidate_pairs(signatures, 5, 50, engine, spill=True,
                        progress=lambda d, t, out=spilled: out.append((d, t)))
        done, total = spilled[-1]
        assert done == total > 16  # then the ranges of pairs summed
        assert [d for d, _ in spilled] == sorted(d for d, _ in spilled)


def test_spilled_ranges_placed_from_samples_give_the_same_pairs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A real corpus has far more pairs per group than are sampled, and many ranges: few
    # samples and small ranges here exercise the bounds placed between samples.
    from dedup import candidates

    monkeypatch.setattr(candidates, "SAMPLES_PER_RUN", 5)
    monkeypatch.setattr(candidates, "CODES_PER_RANGE", 40)
    monkeypatch.setattr(candidates, "FENCE", 3)
    signatures = _planted(np.random.default_rng(14), 300, 64, 120)
    expected = candidate_pairs(signatures, 3, 6).tolist()
    calls: list[tuple[int, int]] = []
    spilled = candidate_pairs(signatures, 3, 6, spill=True,
                              progress=lambda d, t: calls.append((d, t)))
    assert spilled.tolist() == expected and len(expected) > 100
    assert calls[-1][1] > 16 + 32  # more ranges than the minimum


def test_range_bounds_follow_the_pairs_not_the_rows() -> None:
    # Half of all pairs on the first row (star buckets link to their smallest row): ranges of
    # equal rows would put them all in one range; bounds from samples split them.
    from dedup.candidates import _balanced_bounds

    n = 1_000
    star = np.arange(1, n, dtype=np.int64)  # row 0 with every other row
    rest = np.sort(np.random.default_rng(15).choice(n * n, size=n, replace=False))
    codes = np.sort(np.concatenate([star, rest]))
    sample = codes[np.linspace(0, len(codes) - 1, 64).astype(np.int64)]
    bounds = _balanced_bounds([(len(codes), sample)], n)
    sizes = np.diff(np.searchsorted(codes, bounds))
    assert len(bounds) - 1 >= 32 and sizes.sum() == len(codes)
    assert sizes.max() <= 3 * len(codes) / 32


codes_strategy = st.lists(st.one_of(st.integers(0, 60), st.integers(0, 2**62)), max_size=40)


@settings(deadline=None, max_examples=80)
@given(values=codes_strategy, fence=st.integers(1, 7),
       probes=st.lists(st.tuples(st.integers(-1, 62), st.integers(0, 2**62 + 1)),
                       min_size=1, max_size=8))
def test_a_range_of_a_spilled_file_is_the_codes_in_it(values: list[int], fence: int,
                                                      probes: list[tuple[int, int]]) -> None:
    import os
    import tempfile
    from pathlib import Path

    from dedup import candidates, compiled

    codes = np.sort(np.asarray(values, dtype=np.int64))  # repeats too: one pair, two bands
    original, candidates.FENCE = candidates.FENCE, fence
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "codes")
            for on in (True, False):
                with compiled.using(on):
                    data, firsts, offsets = candidates.pack_codes(codes)
                    data.tofile(path)
                    assert firsts.tolist() == codes[::fence].tolist()
                    assert candidates.unpack_codes(data, firsts, offsets).tolist() == \
                        codes.tolist()
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        for low, high in probes:
                            # The file twice: a range of two files is read as one.
                            files = [(fd, firsts, offsets)] * 2
                            found = candidates._range_codes(files, low, high)
                            inside = codes[(codes >= low) & (codes < high)].tolist()
                            assert found.tolist() == inside * 2
                    finally:
                        os.close(fd)
    finally:
        candidates.FENCE = original


@settings(deadline=None, max_examples=60)
@given(values=codes_strategy)
def test_packed_codes_are_the_same_bytes_compiled_or_not(values: list[int]) -> None:
    from dedup import candidates, compiled

    codes = np.sort(np.asarray(values, dtype=np.int64))
    with compiled.using(True):
        kernel = candidates.pack_codes(codes)
    with compiled.using(False):
        reference = candidates.pack_codes(codes)
    assert [a.tolist() for a in kernel] == [a.tolist() for a in reference]
    # Two bytes or fewer for codes less than 2**14 apart.
    near = np.arange(0, 1 << 20, 1 << 13, dtype=np.int64)
    assert len(candidates.pack_codes(near)[0]) <= 2 * len(near)


def test_an_engine_that_cannot_see_the_temporary_directory_only_finds_codes() -> None:
    # A remote dask cluster's workers find each group's codes; this process writes them,
    # a few groups at a time, and counts them (its memory holds a batch, not all pairs).
    from collections.abc import Callable, Sequence
    from typing import Any

    from dedup import candidates
    from dedup.engines import SerialEngine

    class Remote(SerialEngine):
        shares_tempdir = False

        def __init__(self) -> None:
            super().__init__()
            self.mapped: list[tuple[str, int]] = []

        def map(self, fn: Callable[[Any, Sequence[Any]], list[Any]], context: Any,
                items: Sequence[Any], progress: Any = None, *, narrow: Any = None) -> list[Any]:
            self.mapped.append((fn.__name__, len(items)))
            return super().map(fn, context, items, progress)

    signatures = _planted(np.random.default_rng(14), 300, 96, 120)
    expected = candidate_pairs(signatures, 5, 50).tolist()
    assert len(expected) > 0
    engine = Remote()
    progress: list[tuple[int, int]] = []
    found = candidate_pairs(signatures, 5, 50, engine, spill=True,
                            progress=lambda d, t: progress.append((d, t)))
    assert found.tolist() == expected
    groups = 96 // candidates.BANDS_PER_TASK
    assert engine.mapped == [("_group_codes", min(candidates.GROUPS_AT_ONCE, groups - first))
                             for first in range(0, groups, candidates.GROUPS_AT_ONCE)]
    assert progress[-1][0] == progress[-1][1] > groups


def test_often_counts_beyond_what_a_slot_counter_holds() -> None:
    # A slot's count stops at 255; min_collisions may be up to num_perm (4096).
    codes = np.sort(np.asarray([7] * 300 + [9] * 299 + [11] * 256, dtype=np.int64))
    for kernels in (False, True):
        with compiled.using(kernels):
            assert _often(codes, 300).tolist() == [7]
            assert _often(codes, 256).tolist() == [7, 9, 11]


@settings(deadline=None, max_examples=150)
@given(st.lists(st.lists(st.integers(0, 40), max_size=60), min_size=1, max_size=6),
       st.integers(1, 6), st.integers(1, 8))
def test_often_is_a_count_with_or_without_the_slot_filter(runs: list[list[int]], least: int,
                                                          bits: int) -> None:
    # Ascending runs one after another, as the groups' codes come; few slots (2**bits) make
    # codes that occur less often share a slot with frequent ones.
    codes = np.concatenate([np.sort(np.asarray(r, dtype=np.int64)) for r in runs])
    counts = Counter(codes.tolist())
    expected = sorted(code for code, count in counts.items() if count >= least)
    for kernels in (False, True):
        with compiled.using(kernels):
            assert _often(codes, least, bits).tolist() == expected
            assert _often(codes, least).tolist() == expected
