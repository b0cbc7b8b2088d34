"""The shapes that flow through the quality benchmark: labeled corpora in, system results out.

A *system* is any function ``documents -> SystemResult``; dedup and the MinHash baselines are
systems, and the metrics only ever see these shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dedup.models import Document

Span = tuple[int, int]


class GoldPassage(NamedTuple):
    """A passage that documents ``a`` and ``b`` share: ``[start, end)`` offsets into each
    original text. ``kind`` groups passages for reporting (``roundup``, ``verbatim``,
    ``disguised``)."""

    a: str
    b: str
    a_span: Span
    b_span: Span
    kind: str


@dataclass
class Corpus:
    """Documents with gold labels.

    - ``gold_clusters``: groups of copies of one story (non-singleton); every other document is
      its own cluster.
    - ``gold_pairs_by_kind``: labelled positive pairs, e.g. ``"truncation"`` -> {(original,
      truncated copy)}; used for recall per edit kind.
    - ``gold_passages``: shared passages with known offsets (partial overlap).
    - ``negative_pairs``: pairs that must not match, by kind (``lee_same_story``,
      ``clough_non``, ``boilerplate_stub``).
    - ``expected_partial``: pairs that really share a passage but carry no offsets (a roundup
      and the re-runs of the story it borrows from); reporting them is not a false positive,
      clustering them is.
    - ``doc_info``: what each document is (role, story, kind, outlet), for debugging and JSON.
    """

    name: str
    documents: list[Document]
    gold_clusters: list[set[str]] = field(default_factory=list)
    gold_pairs_by_kind: dict[str, set[frozenset[str]]] = field(default_factory=dict)
    gold_passages: list[GoldPassage] = field(default_factory=list)
    negative_pairs: dict[str, set[frozenset[str]]] = field(default_factory=dict)
    expected_partial: set[frozenset[str]] = field(default_factory=set)
    doc_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    _by_id: dict[str, Document] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.documents]

    def text(self, doc_id: str) -> str:
        if len(self._by_id) != len(self.documents):
            self._by_id = {d.id: d for d in self.documents}
        return self._by_id[doc_id].text

    def summary(self) -> dict[str, Any]:
        return {
            "documents": len(self.documents),
            "characters": sum(len(d.text) for d in self.documents),
            "gold_clusters": len(self.gold_clusters),
            "gold_cluster_members": sum(len(c) for c in self.gold_clusters),
            "gold_pairs_by_kind": {k: len(v) for k, v in sorted(self.gold_pairs_by_kind.items())},
            "gold_passages": len(self.gold_passages),
            "negative_pairs": {k: len(v) for k, v in sorted(self.negative_pairs.items())},
        }


class ReportedPassage(NamedTuple):
    """A passage a system reported, offsets oriented as in its :class:`PairResult`."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass(frozen=True)
class PairResult:
    """One pair a system reported. ``relation`` uses dedup's vocabulary; systems without
    verification call every candidate a ``duplicate``."""

    a: str
    b: str
    relation: str
    passages: tuple[ReportedPassage, ...] = ()

    @property
    def key(self) -> frozenset[str]:
        return frozenset((self.a, self.b))


@dataclass
class SystemResult:
    clusters: list[set[str]]
    pairs: list[PairResult]
    reports_passages: bool = False
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


System = Callable[[list[Document]], SystemResult]
