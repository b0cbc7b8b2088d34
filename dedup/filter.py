"""The corpus without its copies: one document kept per cluster, and a record of the rest.

A data team wants to train or index on each story once. :func:`filter_copies` takes the
documents and the :class:`~dedup.models.Report` of a scan over them, keeps one member of
every cluster (chosen by a ``keep`` policy) and every document outside clusters, and says
for each document it leaves out which kept document it copies, and how.

Only clusters are filtered: a ``partial`` overlap (a roundup quoting a paragraph) is a
different article and stays. Skipped documents (too short to compare) stay too: nothing
shows they are copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .models import Document, Report
from .report import relation_of

KeepPolicy = Literal["earliest", "longest", "first"]
#: ``earliest``: the cluster's canonical member (earliest ``date``, else the longest text,
#: then the smallest id); ``longest``: the longest text (then earliest date, smallest id);
#: ``first``: the first in the order the documents are given.
KEEP_POLICIES: tuple[KeepPolicy, ...] = ("earliest", "longest", "first")


@dataclass(frozen=True)
class Dropped:
    """A document left out as a copy of ``kept``.

    ``relation`` reads from the dropped document's side (``contained``: it is contained in
    the kept one) and ``similarity`` is their pair's; both are ``"linked"`` and ``None`` when
    the two share a cluster only through other members (a copy of a copy).
    """

    id: str
    kept: str
    relation: str
    similarity: float | None
    cluster: str

    def to_dict(self) -> dict[str, Any]:
        similarity = None if self.similarity is None else round(self.similarity, 4)
        return {"id": self.id, "kept": self.kept, "relation": self.relation,
                "similarity": similarity, "cluster": self.cluster}


@dataclass(frozen=True)
class Filtered:
    """``kept`` in the order the documents were given; ``dropped`` in that order too."""

    kept: list[Document]
    dropped: list[Dropped]


def filter_copies(
    documents: Sequence[Document], report: Report, keep: KeepPolicy = "earliest"
) -> Filtered:
    """Keep one document per cluster of ``report`` and every document in no cluster.

    ``documents`` are those the report was made from, in the order ``keep="first"`` goes by
    (e.g. the order of the input files and lines). Raises ``ValueError`` for an unknown
    policy or a cluster member missing from ``documents``.

    >>> from dedup.models import Cluster, Match
    >>> a, b = Document("a", "..."), Document("b", "...")
    >>> report = Report(2, {}, [Cluster("c1", "b", ("a", "b"))],
    ...                 [Match("a", "b", "duplicate", 1.0, 1.0, 1.0)])
    >>> [d.id for d in filter_copies([a, b], report, "first").kept]
    ['a']
    """
    if keep not in KEEP_POLICIES:
        raise ValueError(f"unknown keep policy {keep!r}; choose from {', '.join(KEEP_POLICIES)}")
    by_id = {d.id: d for d in documents}
    position = {d.id: n for n, d in enumerate(documents)}
    pairs = {(m.a, m.b): m for m in report.pairs}
    dropped: dict[str, Dropped] = {}
    for cluster in report.clusters:
        missing = [m for m in cluster.members if m not in by_id]
        if missing:
            raise ValueError(f"cluster {cluster.id} names '{missing[0]}', which is not among "
                             "the documents given")
        if keep == "earliest":
            kept = cluster.canonical
        elif keep == "longest":
            kept = min(cluster.members, key=lambda i: (-len(by_id[i].text), by_id[i].date is None,
                                                       by_id[i].date or "", i))
        else:
            kept = min(cluster.members, key=position.__getitem__)
        for member in cluster.members:
            if member == kept:
                continue
            match = pairs.get((min(member, kept), max(member, kept)))
            dropped[member] = Dropped(
                member, kept, relation_of(match, member) if match else "linked",
                match.similarity if match else None, cluster.id)
    return Filtered(
        kept=[d for d in documents if d.id not in dropped],
        dropped=sorted(dropped.values(), key=lambda d: position[d.id]),
    )
