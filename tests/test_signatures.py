from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import compiled
from dedup._reference import reference_signature
from dedup.shingle import (
    _RUN_BASE,
    mix64,
    run_hashes,
    shingle_hashes,
    shingle_hashes64,
    word_hashes,
)
from dedup.signatures import Signer, affine32_permutations


def test_hashes_are_stable_across_runs_and_machines() -> None:
    # Indexes store these values: a change here silently invalidates every stored index.
    assert int(word_hashes(["amazon"])[0]) == 0x9C2DEC720FE5CD13
    ids = word_hashes(["wir", "haben", "eine", "stetige"])
    assert [int(x) for x in shingle_hashes64(ids, 3)] == [0x63F6D4EDEFAB5954, 0x0F5BAA2D3E9CA2CB]
    assert shingle_hashes(ids, 3).tolist() == [1677120749, 257665581]
    # Sentence keys (indexes store them too).
    assert [int(x) for x in run_hashes(ids, np.array([0, 1]), np.array([4, 3]))] == [
        0x9DFF599054141AC8, 0xBE9FAAB7776A1295]


def _run_hash_reference(hashes: list[int], first: int, last: int) -> int:
    z = 1
    for h in hashes[first:last]:
        z = (z * _RUN_BASE + h) % (1 << 64)
    return int(mix64(np.array([z], dtype=np.uint64))[0]) or 1


@settings(deadline=None, max_examples=100)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.lists(st.tuples(
    st.integers(0, 40), st.integers(0, 40)), max_size=10))
def test_run_hashes_compiled_and_numpy_are_the_reference(hashes: list[int],
                                                         runs: list[tuple[int, int]]) -> None:
    runs = [(min(a, b, len(hashes)), min(max(a, b), len(hashes))) for a, b in runs]
    words = np.asarray(hashes, dtype=np.uint64)
    first = np.array([a for a, _ in runs], dtype=np.int64)
    last = np.array([b for _, b in runs], dtype=np.int64)
    expected = [_run_hash_reference(hashes, a, b) for a, b in runs]
    for kernels in (True, False):
        with compiled.using(kernels):
            assert run_hashes(words, first, last).tolist() == expected


def test_run_hashes_tell_order_and_length_apart() -> None:
    ids = word_hashes(["a", "b", "c"])
    zero = np.zeros(1, dtype=np.uint64)
    keys = run_hashes(np.concatenate([ids, ids[::-1], zero, ids]), np.array([0, 3, 6]),
                      np.array([3, 6, 10]))
    assert len(set(keys.tolist())) == 3  # a b c, c b a, and a b c after a word hashing to 0


@settings(deadline=None, max_examples=100)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(1, 8))
def test_compiled_shingle_hashes_are_numpys(hashes: list[int], size: int) -> None:
    from dedup.shingle import _shingle_hashes64_numpy

    words = np.asarray(hashes, dtype=np.uint64)
    assert shingle_hashes64(words, size).tolist() == \
        _shingle_hashes64_numpy(words, size).tolist()


def test_shingle_hash_depends_on_word_order() -> None:
    forward = shingle_hashes(word_hashes(["a", "b", "c"]), 3)
    backward = shingle_hashes(word_hashes(["c", "b", "a"]), 3)
    assert forward.tolist() != backward.tolist()


def test_too_few_words_give_no_shingles() -> None:
    assert len(shingle_hashes(word_hashes(["a", "b"]), 3)) == 0


@settings(deadline=None, max_examples=40)
@given(
    shingles=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300),
    num_perm=st.sampled_from([1, 16, 128, 256]),
    seed=st.integers(0, 2**16),
)
def test_vectorized_signature_equals_datasketch(shingles: list[int], num_perm: int,
                                                seed: int) -> None:
    signer = Signer(num_perm, seed)
    fast = signer.sign(np.array(shingles, dtype=np.uint32))
    assert fast.tolist() == reference_signature(shingles, num_perm, seed).tolist()


@settings(deadline=None, max_examples=60)
@given(sizes=st.lists(st.sampled_from([0, 1, 2, 7, 300, 2_000]), max_size=8),
       num_perm=st.sampled_from([1, 16, 256]), gaps=st.lists(st.integers(0, 3), min_size=8,
                                                            max_size=8),
       seed=st.integers(0, 2**16))
def test_sets_signed_together_are_datasketchs(sizes: list[int], num_perm: int,
                                              gaps: list[int], seed: int) -> None:
    # Empty sets, sets one after another and sets with values between them that belong to
    # none (the shingles spanning two documents), each against datasketch.
    rng = np.random.default_rng(seed)
    sets = [rng.integers(0, 2**32, size=size, dtype=np.uint32) for size in sizes]
    pieces, starts, ends, at = [], [], [], 0
    for values, gap in zip(sets, gaps):
        pieces += [rng.integers(0, 2**32, size=gap, dtype=np.uint32), values]
        starts.append(at + gap)
        at += gap + len(values)
        ends.append(at)
    signer = Signer(num_perm, seed)
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    ranged = signer.sign_ranges(flat, np.array(starts, dtype=np.int64),
                                np.array(ends, dtype=np.int64))
    assert ranged.dtype == np.uint32 and ranged.shape == (len(sets), num_perm)
    expected = [reference_signature(s.tolist(), num_perm, seed).tolist() if len(s)
                else [2**32 - 1] * num_perm for s in sets]
    assert ranged.tolist() == expected
    assert signer.sign_many(sets).tolist() == expected


def test_large_input_is_signed_with_the_same_result_as_its_halves() -> None:
    rng = np.random.default_rng(7)
    shingles = rng.integers(0, 2**32, size=200_000, dtype=np.uint32)
    signer = Signer(64, 1)
    whole = signer.sign(shingles)
    halves = np.minimum(signer.sign(shingles[:100_000]), signer.sign(shingles[100_000:]))
    assert whole.tolist() == halves.tolist()


def test_repeats_sign_as_datasketch_does() -> None:
    # Each shingle three times: repeats are not removed before the minimum.
    rng = np.random.default_rng(11)
    distinct = rng.integers(0, 2**32, size=3_000, dtype=np.uint32)
    repeated = np.concatenate([distinct, distinct[::-1], distinct])
    signer = Signer(32, 3)
    expected = reference_signature(distinct.tolist(), 32, 3).tolist()
    assert signer.sign(repeated).tolist() == expected
    assert signer.sign(distinct).tolist() == expected


def test_signature_round_trips_into_datasketch_jaccard() -> None:
    signer = Signer(256, 1)
    base = np.arange(1000, dtype=np.uint32) * 7919
    half = np.concatenate([base[:500], np.arange(500, dtype=np.uint32) * 104729 + 3])
    estimate = signer.datasketch(signer.sign(base)).jaccard(signer.datasketch(signer.sign(half)))
    assert abs(estimate - 500 / 1500) < 0.1


@pytest.mark.parametrize(("num_perm", "seed"), [(1, 0), (128, 1), (256, 1), (256, 12345)])
def test_permutations_are_datasketchs(num_perm: int, seed: int) -> None:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours = affine32_permutations(num_perm, seed)
    assert ours[0].tolist() == list(a) and ours[1].tolist() == list(b)


def test_commands_do_not_import_datasketch() -> None:
    # Importing datasketch pulls in scipy (about 0.8 s): a check must not pay for it.
    code = "import sys, dedup.cli, dedup.check; print('datasketch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(0, 9), max_size=8), st.integers(1, 5))
def test_shingles_of_documents_hashed_together_are_their_own(counts: list[int],
                                                             size: int) -> None:
    from dedup.shingle import shingle_ranges

    rng = np.random.default_rng(sum(counts) + size)
    hashes = [rng.integers(0, 2**64, size=n, dtype=np.uint64) for n in counts]
    values, starts, ends = shingle_ranges(
        np.concatenate([np.zeros(0, dtype=np.uint64), *hashes]), np.asarray(counts, np.int64),
        size)
    together = [values[s:e].tolist() for s, e in zip(starts, ends)]
    assert together == [shingle_hashes(h, size).tolist() for h in hashes]
