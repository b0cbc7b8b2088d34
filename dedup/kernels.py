"""Compiled loops for the per-document arithmetic that numpy can only do in several passes.

Each kernel is plain Python compiled by numba on first use and cached beside this file (or,
where that is not writable, in numba's cache folder for the user), so a scan pays the
compilation once per installation and loading the cache (tens of milliseconds) per process.
The callers keep the reference in plain numpy or datasketch, and the tests compare the two.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaWarning

# A cache that cannot be written (a read-only installation and no home folder) costs a
# compilation per process, not a warning on every command.
warnings.filterwarnings("ignore", category=NumbaWarning, module=r"numba\..*")

_EMPTY32 = np.uint32(0xFFFFFFFF)
_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def minhash_affine32(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, a: np.ndarray,
                     b: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[d]``: the MinHash of the 32-bit hashes ``values[starts[d]:ends[d]]``
    under datasketch's ``affine32`` scheme: the murmur3 finalizer, then ``a * h + b`` modulo
    2**32 per permutation, the minimum of each (all ones for an empty set).

    One pass over a document's hashes with the permutations innermost, which the compiler
    turns into vector instructions; numpy needs a temporary of hashes times permutations and
    a reduction over it."""
    perms = len(a)
    for d in range(len(starts)):
        row = out[d]
        for p in range(perms):
            row[p] = _EMPTY32
        for i in range(starts[d], ends[d]):
            # In 64 bits with the high half cleared: numba widens 32-bit products.
            h = np.uint64(values[i])
            h ^= h >> np.uint64(16)
            h = (h * np.uint64(0x85EBCA6B)) & _MASK32
            h ^= h >> np.uint64(13)
            h = (h * np.uint64(0xC2B2AE35)) & _MASK32
            h ^= h >> np.uint64(16)
            mixed = np.uint32(h)
            for p in range(perms):
                row[p] = min(row[p], np.uint32(a[p] * mixed + b[p]))

