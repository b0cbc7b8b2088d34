"""The values that flow through dedup: documents in, matches, clusters and a report out.

All offsets are ``[start, end)`` character offsets into the *original* text of a document,
so that ``document.text[start:end]`` shows the passage exactly as the outlet printed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Relation = Literal["duplicate", "contains", "contained", "rewrite", "partial"]
#: Relations strong enough to put two documents into one cluster. ``partial`` never merges.
CLUSTERING_RELATIONS: frozenset[str] = frozenset({"duplicate", "contains", "contained", "rewrite"})


@dataclass(frozen=True)
class Document:
    """One article. ``origin`` says where it was read ("batch.jsonl:17"), for error messages."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    origin: str = ""

    @property
    def length(self) -> int:
        """Characters in the text."""
        return len(self.text)

    def meta(self) -> dict[str, str]:
        """The optional metadata that is set, for reports."""
        fields = {"title": self.title, "source": self.source, "date": self.date, "url": self.url}
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class Member:
    """What choosing a cluster's canonical member needs of a document: no text, so a scan
    of a million articles need not read its clusters' texts again to choose."""

    id: str
    date: str | None
    length: int


@dataclass(frozen=True)
class Passage:
    """A passage shared by documents ``a`` and ``b`` of a :class:`Match`.

    ``kind`` is ``"verbatim"`` (the same words, up to normalization and small edits) or
    ``"reworded"`` (sentences aligned as one statement written in other words).
    ``similarity`` is the token-level similarity of the two sides, 0..1.
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    kind: Literal["verbatim", "reworded"] = "verbatim"
    similarity: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": [self.a_start, self.a_end],
            "b": [self.b_start, self.b_end],
            "kind": self.kind,
            "similarity": round(self.similarity, 4),
        }


@dataclass(frozen=True)
class Match:
    """A verified relation between two documents, ``a`` < ``b`` by id.

    ``relation`` reads from ``a``'s side: ``contains`` means ``a`` contains ``b``.
    ``coverage_a`` is the share of ``a``'s words inside shared passages.
    """

    a: str
    b: str
    relation: Relation
    similarity: float
    coverage_a: float
    coverage_b: float
    passages: tuple[Passage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "similarity": round(self.similarity, 4),
            "coverage_a": round(self.coverage_a, 4),
            "coverage_b": round(self.coverage_b, 4),
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass(frozen=True)
class Cluster:
    """Documents that are copies of one story. ``canonical`` is also in ``members``."""

    id: str
    canonical: str
    members: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "canonical": self.canonical, "members": list(self.members)}


@dataclass(frozen=True)
class Skipped:
    """A document left out of the comparison, and why (e.g. too short to judge)."""

    id: str
    reason: str


@dataclass
class Report:
    """What a scan found. ``params`` are the settings that produced it."""

    documents: int
    params: dict[str, Any]
    clusters: list[Cluster] = field(default_factory=list)
    pairs: list[Match] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.to_dict_with([c.to_dict() for c in self.clusters],
                                 [m.to_dict() for m in self.pairs])

    def to_dict_with(self, clusters: Any, pairs: Any) -> dict[str, Any]:
        """:meth:`to_dict` with ``clusters`` and ``pairs`` in place of the two long lists
        (for writing them piece by piece)."""
        return {
            "documents": self.documents,
            "params": self.params,
            "clusters": clusters,
            "pairs": pairs,
            "skipped": [{"id": s.id, "reason": s.reason} for s in self.skipped],
            "stats": self.stats,
        }
