"""Stable hashes of words and word shingles.

Hashes must be identical across processes, machines and runs (they are stored in indexes and
compared between workers), so Python's salted ``hash()`` is never used: words are hashed with
xxh3-64, and a shingle's hash is a fixed mix of its words' hashes.
"""

from __future__ import annotations

import numpy as np
import xxhash

from . import compiled

_U64 = np.uint64
# Odd multipliers (from splitmix64 / murmur3) give each position in the shingle its own
# weight, so "a b c" and "c b a" hash differently.
_POSITION_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xFF51AFD7ED558CCD,
     0xC4CEB9FE1A85EC53, 0x2545F4914F6CDD1D, 0x5851F42D4C957F2D, 0x14057B7EF767814F],
    dtype=_U64,
)


def word_hashes(words: list[str]) -> np.ndarray:
    """xxh3-64 of each word's UTF-8 bytes, as uint64 (each distinct word hashed once)."""
    # The distinct words are hashed in one comprehension and looked up by C-level map(): no
    # Python-level loop per word (same values as _word_hashes_reference).
    distinct = dict.fromkeys(words)
    digest = xxhash.xxh3_64_intdigest
    for word in distinct:
        distinct[word] = digest(word.encode("utf-8"))
    return np.fromiter(map(distinct.__getitem__, words), dtype=_U64, count=len(words))


def _word_hashes_reference(words: list[str]) -> np.ndarray:
    """The obvious :func:`word_hashes`, the oracle for its test."""
    cache: dict[str, int] = {}
    out = np.empty(len(words), dtype=_U64)
    for i, word in enumerate(words):
        value = cache.get(word)
        if value is None:
            value = cache[word] = xxhash.xxh3_64_intdigest(word.encode("utf-8"))
        out[i] = value
    return out


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer: an avalanching bijection on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = values.astype(_U64, copy=True)
        z ^= z >> _U64(30)
        z *= _U64(0xBF58476D1CE4E5B9)
        z ^= z >> _U64(27)
        z *= _U64(0x94D049BB133111EB)
        z ^= z >> _U64(31)
    return z


def shingle_hashes64(hashes: np.ndarray, size: int) -> np.ndarray:
    """64-bit hash of every run of ``size`` consecutive words (empty if fewer words): their
    hashes times :data:`_POSITION_MULTIPLIERS`, summed, through :func:`mix64`, in one
    compiled pass (:func:`dedup.kernels.shingle_hashes64`), or for work too small for it
    (:mod:`dedup.compiled`) in numpy (:func:`_shingle_hashes64_numpy`, also the reference)."""
    if size > len(_POSITION_MULTIPLIERS):
        raise ValueError(f"shingle size {size} is larger than {len(_POSITION_MULTIPLIERS)}")
    if not compiled.enabled():
        return _shingle_hashes64_numpy(hashes, size)
    from .kernels import shingle_hashes64 as kernel  # numba: for the commands that hash

    found: np.ndarray = kernel(np.ascontiguousarray(hashes, dtype=_U64), size,
                               _POSITION_MULTIPLIERS)
    return found


def _shingle_hashes64_numpy(hashes: np.ndarray, size: int) -> np.ndarray:
    """:func:`shingle_hashes64` in numpy, one pass per position: the oracle for its test."""
    count = len(hashes) - size + 1
    if count <= 0:
        return np.zeros(0, dtype=_U64)
    acc = np.zeros(count, dtype=_U64)
    with np.errstate(over="ignore"):
        for position in range(size):
            acc += hashes[position : position + count] * _POSITION_MULTIPLIERS[position]
    return mix64(acc)


#: The odd base of :func:`run_hashes`' polynomial, and its inverse modulo 2**64.
_RUN_BASE = 0x9E3779B97F4A7C15
_RUN_BASE_INVERSE = pow(_RUN_BASE, -1, 1 << 64)


def run_hashes(hashes: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each run of words ``[first[k], last[k])`` given their ``hashes``
    (what identifies a sentence by its words): ``sum(h[t] * B**(last - 1 - t)) + B**length``
    modulo 2**64 for the odd base ``B``, through :func:`mix64`; never 0, which callers keep
    for "no key". Runs may overlap or be empty. A compiled loop
    (:func:`dedup.kernels.run_hashes`), or for work too small for it (:mod:`dedup.compiled`)
    numpy (:func:`_run_hashes_numpy`, also the reference)."""
    hashes = np.ascontiguousarray(hashes, dtype=_U64)
    first = np.ascontiguousarray(first, dtype=np.int64)
    last = np.ascontiguousarray(last, dtype=np.int64)
    if not compiled.enabled():
        return _run_hashes_numpy(hashes, first, last)
    from .kernels import run_hashes as kernel  # numba: for the commands that hash

    found: np.ndarray = kernel(hashes, first, last, _U64(_RUN_BASE))
    return found


def _run_hashes_numpy(hashes: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """:func:`run_hashes` in a few numpy passes over all the words: with prefix sums of
    ``h[t] * B**-(t + 1)``, a run's sum is ``B**last`` times the difference of two of them."""
    n = len(hashes)
    with np.errstate(over="ignore"):
        up = np.full(n + 1, _RUN_BASE, dtype=_U64)
        up[0] = 1
        np.cumprod(up, out=up)  # B**t
        down = np.full(n + 1, _RUN_BASE_INVERSE, dtype=_U64)
        down[0] = 1
        np.cumprod(down, out=down)  # B**-t
        prefix = np.zeros(n + 1, dtype=_U64)
        np.cumsum(hashes * down[1:], out=prefix[1:])
        z = up[last] * (prefix[last] - prefix[first]) + up[last - first]
    keys = mix64(z)
    keys[keys == 0] = 1
    return keys


def shingle_hashes(hashes: np.ndarray, size: int) -> np.ndarray:
    """32-bit shingle hashes (the top half of the 64-bit ones), the input MinHash expects."""
    return (shingle_hashes64(hashes, size) >> _U64(32)).astype(np.uint32)


def shingle_ranges(hashes: np.ndarray, counts: np.ndarray,
                   size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shingle_hashes` of each of several documents' word hashes (``hashes``, the
    first ``counts[0]`` of them the first document's, and so on), hashed in one pass over
    all of them (a dozen numpy calls an article were 30 us): ``(values, starts, ends)``,
    document ``i``'s being ``values[starts[i]:ends[i]]`` (the shingles that span two
    documents lie between and belong to neither)."""
    starts = np.cumsum(counts) - counts
    return (shingle_hashes(hashes, size), starts, starts + np.maximum(counts - size + 1, 0))
