"""MinHash signatures, computed vectorized but identical to datasketch's.

datasketch's ``MinHash(num_perm, seed, scheme="affine32")`` maps each 32-bit input hash ``h``
through the murmur3 finalizer and then ``a * h + b mod 2**32`` per permutation, and keeps the
minimum. Updating one datasketch object per shingle costs a Python call per shingle (the
bottleneck measured in MEASURED.md); here the same arithmetic runs in one compiled loop over
many documents' shingles (:mod:`dedup.kernels`). ``tests/test_signatures.py`` checks the
values against datasketch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import compiled

if TYPE_CHECKING:
    from datasketch import MinHash

_U32 = np.uint32
#: Shingles permuted at once by the numpy path: a (2,048 x num_perm) temporary.
_BLOCK = 1 << 11


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``affine32`` permutation parameters ``(a, b)`` for ``num_perm`` and
    ``seed``: drawn here as datasketch draws them, so that a command need not import
    datasketch (and scipy, about 0.8 s) to sign (``tests/test_signatures.py`` compares)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


class Signer:
    """Signs sets of 32-bit shingle hashes with ``num_perm`` datasketch permutations."""

    def __init__(self, num_perm: int, seed: int) -> None:
        a, b = affine32_permutations(num_perm, seed)
        self.num_perm = num_perm
        self.seed = seed
        self._a = np.ascontiguousarray(a, dtype=_U32)
        self._b = np.ascontiguousarray(b, dtype=_U32)

    def sign(self, shingles: np.ndarray) -> np.ndarray:
        """The signature (``num_perm`` uint32 minima) of a set of shingle hashes (all ones
        for an empty set). Repeated hashes cannot change a minimum and are not removed."""
        signature: np.ndarray = self.sign_ranges(shingles, np.zeros(1, dtype=np.int64),
                                                 np.array([len(shingles)], dtype=np.int64))[0]
        return signature

    def sign_many(self, sets: Sequence[np.ndarray]) -> np.ndarray:
        """The signatures of several sets of shingle hashes, one row each."""
        sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        ends = np.cumsum(sizes)
        values = np.concatenate(sets) if len(sets) else np.zeros(0, dtype=_U32)
        return self.sign_ranges(values, ends - sizes, ends)

    def sign_ranges(self, values: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
        """The signatures of the sets ``values[starts[i]:ends[i]]``, one row each
        (:func:`dedup.kernels.minhash_affine32`: a tenth of what the same arithmetic cost in
        numpy, 32-34 -> 4-5 us an article of 500 shingles), unless :mod:`dedup.compiled`
        says the work is too small for them. numba is imported here, not with the module:
        a command that signs nothing should not wait for it."""
        out = np.empty((len(starts), self.num_perm), dtype=_U32)
        if not compiled.enabled():
            for row, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
                out[row] = self._sign_numpy(values[start:end])
            return out
        from .kernels import minhash_affine32

        minhash_affine32(np.ascontiguousarray(values, dtype=_U32),
                         np.ascontiguousarray(starts, dtype=np.int64),
                         np.ascontiguousarray(ends, dtype=np.int64), self._a, self._b, out)
        return out

    def _sign_numpy(self, shingles: np.ndarray) -> np.ndarray:
        """The same arithmetic in numpy, in blocks of shingles (work too small for
        :mod:`dedup.compiled` kernels)."""
        signature = np.full(self.num_perm, np.iinfo(_U32).max, dtype=_U32)
        with np.errstate(over="ignore"):
            mixed = shingles.astype(_U32, copy=True)
            mixed ^= mixed >> _U32(16)
            mixed *= _U32(0x85EBCA6B)
            mixed ^= mixed >> _U32(13)
            mixed *= _U32(0xC2B2AE35)
            mixed ^= mixed >> _U32(16)
            for start in range(0, len(mixed), _BLOCK):
                block = np.multiply(mixed[start : start + _BLOCK, None], self._a)
                block += self._b
                np.minimum(signature, block.min(axis=0), out=signature)
        return signature

    def datasketch(self, signature: np.ndarray) -> MinHash:
        """The signature as a datasketch ``MinHash`` (for datasketch's own LSH or estimates)."""
        from datasketch import MinHash

        return MinHash(
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )
