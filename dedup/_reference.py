"""Slow, obvious implementations: the oracle the fast paths are tested and benchmarked against.

* :func:`reference_signature`: datasketch's own ``MinHash.update``, one call per shingle.
* :func:`reference_candidates`: collision counts over all pairs, no bucketing.
* :func:`reference_scan`: verify every pair of documents, no LSH at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from datasketch import MinHash

from .align import verify
from .cluster import build_clusters
from .config import Config
from .models import Document, Report
from .pipeline import build_corpus


def reference_signature(shingles: Sequence[int], num_perm: int, seed: int) -> np.ndarray:
    """datasketch ``MinHash`` (affine32) updated shingle by shingle."""
    minhash = MinHash(num_perm=num_perm, seed=seed, scheme="affine32", hashfunc=int)
    for shingle in shingles:
        minhash.update(int(shingle))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def reference_candidates(signatures: np.ndarray, min_collisions: int) -> np.ndarray:
    """All pairs ``i < j`` whose signatures agree in at least ``min_collisions`` places."""
    pairs = [
        (i, j)
        for i, j in combinations(range(len(signatures)), 2)
        if np.count_nonzero(signatures[i] == signatures[j]) >= min_collisions
    ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def reference_scan(documents: Sequence[Document], config: Config | None = None) -> Report:
    """:func:`dedup.scan` without candidates: every pair is verified."""
    config = config or Config()
    corpus = build_corpus(documents, config)
    matches = []
    prepared = [corpus.prepare(row) for row in range(len(corpus.documents))]
    for a, b in combinations(prepared, 2):
        verdict = verify(a, b, config.align)
        if verdict.match is not None:
            matches.append(verdict.match)
    matches.sort(key=lambda m: (m.a, m.b))
    by_id = {doc.id: doc for doc in corpus.documents}
    return Report(len(documents), config.to_dict(), build_clusters(matches, by_id), matches,
                  sorted(corpus.skipped, key=lambda s: s.id))
