"""Plain MinHash + LSH, as most dedup tools run it by default, for comparison with dedup.

Both baselines: lower-cased ``\\w+`` word tokens, word n-gram shingles, datasketch ``MinHash``
signatures (``MinHash.bulk``), ``MinHashLSH`` at a Jaccard threshold, every LSH candidate pair
taken as a duplicate (no verification), clusters as connected components (union-find).

- ``minhash5``: word 5-grams, threshold 0.5, 128 permutations: the common default.
- ``textdedup2``: word 2-grams, threshold 0.45, 256 permutations: the setting text-dedup
  published as its best on NEWS-COPY (``tests/test_benchmark_news.py`` in
  ChenghaoMou/text-dedup: ``MinHashArgs(num_perm=256, ngram=2, min_length=0,
  threshold=0.45)``), run through the same code as ``minhash5``. The text-dedup package
  itself is :mod:`.textdedup_package`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from dedup.models import Document

from .shapes import PairResult, SystemResult

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class MinHashSettings:
    ngram: int
    threshold: float
    num_perm: int
    seed: int = 1


MINHASH5 = MinHashSettings(ngram=5, threshold=0.5, num_perm=128)
TEXTDEDUP2 = MinHashSettings(ngram=2, threshold=0.45, num_perm=256)


def shingles(text: str, n: int) -> set[bytes]:
    """Word ``n``-grams of lower-cased ``\\w+`` tokens; a text shorter than ``n`` words is one
    shingle (as text-dedup does), an empty text none."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent.setdefault(x, x)
        if parent != x:
            parent = self.parent[x] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[set[str]]:
        out: dict[str, set[str]] = {}
        for x in self.parent:
            out.setdefault(self.find(x), set()).add(x)
        return [g for g in out.values() if len(g) > 1]


def minhash_lsh(documents: list[Document], settings: MinHashSettings) -> SystemResult:
    """Candidates of ``MinHashLSH`` as duplicate pairs, components as clusters."""
    started = time.perf_counter()
    sets = [shingles(d.text, settings.ngram) for d in documents]
    keep = [i for i, s in enumerate(sets) if s]
    signatures = MinHash.bulk(
        [list(sets[i]) for i in keep], num_perm=settings.num_perm, seed=settings.seed
    )
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    with lsh.insertion_session() as session:
        for i, signature in zip(keep, signatures):
            session.insert(documents[i].id, signature)
    uf = UnionFind()
    pairs: set[tuple[str, str]] = set()
    for i, signature in zip(keep, signatures):
        doc_id = documents[i].id
        for other in lsh.query(signature):
            if other != doc_id:
                a, b = sorted((doc_id, other))
                pairs.add((a, b))
                uf.union(a, b)
    return SystemResult(
        clusters=uf.groups(),
        pairs=[PairResult(a, b, "duplicate") for a, b in sorted(pairs)],
        reports_passages=False,
        seconds=time.perf_counter() - started,
        info={
            "ngram": settings.ngram,
            "threshold": settings.threshold,
            "num_perm": settings.num_perm,
            "bands": lsh.b,
            "rows_per_band": lsh.r,
        },
    )


def minhash5(documents: list[Document]) -> SystemResult:
    return minhash_lsh(documents, MINHASH5)


def textdedup2(documents: list[Document]) -> SystemResult:
    return minhash_lsh(documents, TEXTDEDUP2)
