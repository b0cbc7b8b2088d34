"""Slow, obvious implementations: the oracle the fast paths are tested and benchmarked against.

* :func:`reference_signature`: datasketch's own ``MinHash.update``, one call per shingle.
* :func:`reference_candidates`: collision counts over all pairs, no bucketing.
* :func:`reference_scan`: verify every pair of documents, no LSH at all.
* :func:`exact_runs_reference`: verbatim runs from seed matches collected one by one.
* :func:`content_alignment_reference`: aligned content words counted one by one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from datasketch import MinHash
from rapidfuzz.distance import LCSseq

from .align import Prepared, Run, keep_free_runs, verify
from .cluster import build_clusters
from .config import AlignConfig, Config
from .models import Document, Report
from .pipeline import build_corpus
from .shingle import shingle_hashes64


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


def exact_runs_reference(a_ids: np.ndarray, b_ids: np.ndarray, seed: int) -> list[Run]:
    """:func:`dedup.align.exact_runs` one seed match at a time (its first version); the runs
    compete for words as there (:func:`dedup.align.keep_free_runs`)."""
    ka = shingle_hashes64(a_ids, seed)
    kb = shingle_hashes64(b_ids, seed)
    if len(ka) == 0 or len(kb) == 0:
        return []
    common = np.intersect1d(ka, kb, assume_unique=False)
    if len(common) == 0:
        return []
    positions_b: defaultdict[int, list[int]] = defaultdict(list)
    for j in np.flatnonzero(np.isin(kb, common)).tolist():
        positions_b[int(kb[j])].append(j)
    hits = [
        (j - i, i)
        for i in np.flatnonzero(np.isin(ka, common)).tolist()
        for j in positions_b[int(ka[i])][:32]
    ]
    hits.sort()
    runs: list[Run] = []
    start_diag, start_i = hits[0]
    prev_i = start_i
    for diag, i in hits[1:]:
        if diag == start_diag and i == prev_i + 1:
            prev_i = i
            continue
        runs.append(Run(start_i, start_i + start_diag, prev_i - start_i + seed))
        start_diag, start_i, prev_i = diag, i, i
    runs.append(Run(start_i, start_i + start_diag, prev_i - start_i + seed))
    return keep_free_runs(runs, len(a_ids), len(b_ids), seed)


def content_alignment_reference(
    a: Prepared, b: Prepared, covered_a: np.ndarray, covered_b: np.ndarray, config: AlignConfig
) -> tuple[float, list[tuple[tuple[int, int], float]]]:
    """``dedup.align._content_alignment`` one aligned word at a time (its first version)."""
    if len(a.stems) == 0 or len(b.stems) == 0:
        return 0.0, []
    blocks = LCSseq.editops(a.stems.tolist(), b.stems.tolist()).as_matching_blocks()
    pair_counts: Counter[tuple[int, int]] = Counter()
    matched = 0
    for block in blocks:
        for offset in range(block.size):
            ia = int(a.stem_pos[block.a + offset])
            ib = int(b.stem_pos[block.b + offset])
            matched += 1
            pair_counts[(int(a.tokens.sentence_of[ia]), int(b.tokens.sentence_of[ib]))] += 1
    share = matched / min(len(a.stems), len(b.stems))

    content_per_sentence_a = np.bincount(a.tokens.sentence_of[a.stem_pos],
                                         minlength=len(a.tokens.sentences))
    content_per_sentence_b = np.bincount(b.tokens.sentence_of[b.stem_pos],
                                         minlength=len(b.tokens.sentences))
    reworded: list[tuple[tuple[int, int], float]] = []
    for (sa, sb), count in sorted(pair_counts.items()):
        if count < config.reworded_min_words:
            continue
        smaller = min(content_per_sentence_a[sa], content_per_sentence_b[sb])
        sentence_share = count / max(1, smaller)
        if sentence_share < config.reworded_min_share:
            continue
        fa, la = a.tokens.sentences[sa]
        fb, lb = b.tokens.sentences[sb]
        if covered_a[fa:la].mean() > 0.5 and covered_b[fb:lb].mean() > 0.5:
            continue  # already a verbatim passage
        reworded.append(((sa, sb), min(1.0, sentence_share)))
    return share, reworded
