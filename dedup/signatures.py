"""MinHash signatures, computed vectorized but identical to datasketch's.

datasketch's ``MinHash(num_perm, seed, scheme="affine32")`` maps each 32-bit input hash ``h``
through the murmur3 finalizer and then ``a * h + b mod 2**32`` per permutation, and keeps the
minimum. Updating one datasketch object per shingle costs a Python call per shingle (the
bottleneck measured in MEASURED.md); here the same arithmetic runs over all of a document's
shingles at once in numpy. ``tests/test_signatures.py`` checks the values against datasketch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

_U32 = np.uint32
_EMPTY = np.iinfo(np.uint32).max
# Rows of shingles processed at once: bounds the (rows x num_perm) temporary to 2 MiB at 256
# permutations, so a 50 MB document signs in bounded memory and an article in one block.
_CHUNK = 1 << 11
#: Shingles :meth:`Signer.sign_many` permutes at once: an 8 MB temporary at 256
#: permutations (4,096 and 16,384 were slower).
_ROWS = 1 << 13


def fmix32(values: np.ndarray) -> np.ndarray:
    """The murmur3 32-bit finalizer, as datasketch applies it before permuting."""
    with np.errstate(over="ignore"):
        h = values.astype(_U32, copy=True)
        h ^= h >> _U32(16)
        h *= _U32(0x85EBCA6B)
        h ^= h >> _U32(13)
        h *= _U32(0xC2B2AE35)
        h ^= h >> _U32(16)
    return h


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
        self._a = np.asarray(a, dtype=_U32)
        self._b = np.asarray(b, dtype=_U32)

    def sign(self, shingles: np.ndarray) -> np.ndarray:
        """The signature (``num_perm`` uint32 minima) of a set of shingle hashes.

        Repeated hashes are not removed first: they cannot change a minimum, and sorting
        them out cost more than the repeats do. One temporary per block, added to in place:
        a second one (``h * a + b``) made signing an article take half again as long."""
        signature = np.full(self.num_perm, _EMPTY, dtype=_U32)
        mixed = fmix32(shingles.astype(_U32, copy=False))
        with np.errstate(over="ignore"):
            for start in range(0, len(mixed), _CHUNK):
                block = np.multiply(mixed[start : start + _CHUNK, None], self._a)
                block += self._b
                np.minimum(signature, block.min(axis=0), out=signature)
        return signature

    def sign_many(self, sets: Sequence[np.ndarray]) -> np.ndarray:
        """The signatures of several sets of shingle hashes, one row each, equal to
        :meth:`sign` of each.

        Consecutive sets of together at most :data:`_ROWS` shingles are permuted as one
        ``(num_perm, shingles)`` array and each set's minima come from one ``reduceat``
        along its rows: long contiguous rows suit numpy better than an article's few hundred
        rows of ``num_perm`` (90 -> 46-60 us an article, one process). A larger set is signed
        alone."""
        out = np.full((len(sets), self.num_perm), _EMPTY, dtype=_U32)
        sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        group: list[int] = []
        total = 0
        for i, size in enumerate(sizes.tolist()):
            if size > _ROWS:
                out[i] = self.sign(sets[i])
                continue
            if not size:  # no minimum: reduceat would take a neighbour's
                continue
            if total + size > _ROWS:
                self._sign_group(sets, group, sizes, out)
                group, total = [], 0
            group.append(i)
            total += size
        if group:
            self._sign_group(sets, group, sizes, out)
        return out

    def _sign_group(self, sets: Sequence[np.ndarray], group: list[int], sizes: np.ndarray,
                    out: np.ndarray) -> None:
        mixed = fmix32(np.concatenate([sets[i] for i in group]).astype(_U32, copy=False))
        starts = np.cumsum(sizes[group]) - sizes[group]
        with np.errstate(over="ignore"):
            block = np.multiply(self._a[:, None], mixed[None, :])
            block += self._b[:, None]
        out[group] = np.minimum.reduceat(block, starts, axis=1).T

    def datasketch(self, signature: np.ndarray) -> MinHash:
        """The signature as a datasketch ``MinHash`` (for datasketch's own LSH or estimates)."""
        from datasketch import MinHash

        return MinHash(
            seed=self.seed,
            hashvalues=signature,
            permutations=(self._a, self._b),
            scheme="affine32",
        )
