"""Clusters from verified matches: copies of one story, with a canonical member.

Only ``duplicate``, ``contains``/``contained`` and ``rewrite`` matches join documents.
``partial`` overlaps are reported as pairs and never merge clusters: a roundup that borrows
a paragraph from each of two stories must not join the two stories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from .models import CLUSTERING_RELATIONS, Cluster, Document, Match, Member


class UnionFind:
    """Disjoint sets over string ids; the representative is the smallest id (deterministic)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self._parent.setdefault(item, item)
        if parent != item:
            parent = self._parent[item] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            low, high = sorted((root_a, root_b))
            self._parent[high] = low

    def groups(self) -> list[list[str]]:
        members: dict[str, list[str]] = {}
        for item in self._parent:
            members.setdefault(self.find(item), []).append(item)
        return [sorted(group) for group in members.values()]


def canonical_member(members: Iterable[Document | Member]) -> Document | Member:
    """Earliest ``date`` where given, else the longest text, then the smallest id.

    Documents with a date come before documents without one: the dated original is the best
    evidence of which copy came first.
    """
    return min(
        members,
        key=lambda d: (d.date is None, d.date or "", -d.length, d.id),
    )


def cluster_id(member_ids: Iterable[str]) -> str:
    """An id that depends only on the members, never on input order."""
    digest = hashlib.sha1("\n".join(sorted(member_ids)).encode("utf-8")).hexdigest()
    return f"c{digest[:12]}"


def build_clusters(
    matches: Iterable[Match], documents: Mapping[str, Document] | Mapping[str, Member],
) -> list[Cluster]:
    """Connected components of the clustering matches, largest first, then by canonical id.
    ``documents`` holds (at least) every matched document, or just its :class:`Member`."""
    sets = UnionFind()
    for match in matches:
        if match.relation in CLUSTERING_RELATIONS:
            sets.union(match.a, match.b)
    clusters = []
    for group in sets.groups():
        canonical = canonical_member(documents[i] for i in group)
        clusters.append(Cluster(cluster_id(group), canonical.id, tuple(group)))
    clusters.sort(key=lambda c: (-len(c.members), c.canonical))
    return clusters
