from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import build_clusters, canonical_member, cluster_id
from dedup.models import Document, Match, Member


def _match(a: str, b: str, relation: str) -> Match:
    return Match(a, b, relation, 0.9, 0.9, 0.9)  # type: ignore[arg-type]


DOCS = {i: Document(i, "x" * n, date=d) for i, n, d in [
    ("a", 100, None), ("b", 300, None), ("c", 200, "2021-01-11"), ("d", 50, "2021-01-10"),
    ("e", 100, None), ("f", 100, None)]}


def test_partial_overlaps_never_merge_clusters() -> None:
    matches = [_match("a", "b", "duplicate"), _match("b", "e", "partial"),
               _match("e", "f", "rewrite")]
    clusters = build_clusters(matches, DOCS)
    assert [c.members for c in clusters] == [("a", "b"), ("e", "f")]


def test_canonical_is_earliest_date_then_longest_then_smallest_id() -> None:
    assert canonical_member([DOCS["a"], DOCS["b"], DOCS["c"], DOCS["d"]]).id == "d"
    assert canonical_member([DOCS["a"], DOCS["b"]]).id == "b"
    assert canonical_member([DOCS["a"], DOCS["e"], DOCS["f"]]).id == "a"


def test_members_choose_as_their_documents_do() -> None:
    members = {i: Member(d.id, d.date, len(d.text)) for i, d in DOCS.items()}
    matches = [_match("a", "b", "duplicate"), _match("c", "d", "rewrite"),
               _match("d", "e", "contains"), _match("e", "f", "partial")]
    assert build_clusters(matches, members) == build_clusters(matches, DOCS)
    assert [c.canonical for c in build_clusters(matches, members)] == ["d", "b"]


@settings(deadline=None)
@given(st.permutations(["a", "b", "c", "d", "e", "f"]))
def test_cluster_ids_depend_only_on_members(order: list[str]) -> None:
    assert cluster_id(order) == cluster_id(sorted(order))


@settings(deadline=None)
@given(st.permutations([("a", "b", "contains"), ("b", "c", "rewrite"), ("d", "e", "duplicate"),
                        ("c", "f", "partial")]))
def test_clusters_do_not_depend_on_match_order(edges: list[tuple[str, str, str]]) -> None:
    clusters = build_clusters([_match(*e) for e in edges], DOCS)
    assert [(c.canonical, c.members) for c in clusters] == [
        ("c", ("a", "b", "c")), ("d", ("d", "e"))]
