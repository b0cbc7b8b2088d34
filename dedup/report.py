"""Render a :class:`~dedup.models.Report` as text, JSON, CSV or HTML (:mod:`dedup.report_html`).

Renderers return strings; the caller decides where they go. The JSON form is the stable
contract documented in README.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping

from .models import Cluster, Match, Passage, Report

FORMATS = ("text", "json", "csv", "html")
_QUOTE_CHARS = 110


def render(report: Report, fmt: str, texts: Mapping[str, str],
           meta: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The report in format ``fmt``; ``texts`` (id -> original text) feeds quoted passages,
    ``meta`` (id -> title, source, date, url) the HTML page."""
    if fmt == "html":
        # Imported here: report_html builds on this module's helpers.
        from .report_html import to_html

        return to_html(report, texts, meta)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "text":
        return to_text(report, texts)
    raise ValueError(f"unknown format {fmt!r}")


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def json_pieces(report: Report) -> Iterator[str]:
    """:func:`to_json`, piece by piece (the same text): a million-article report holds
    hundreds of thousands of pairs, and their dicts and one string of them all would double
    the scan's memory at the very end."""
    marks = {name: f"\x00{name}\x00" for name in ("clusters", "pairs")}
    text = json.dumps(report.to_dict_with(marks["clusters"], marks["pairs"]),
                      ensure_ascii=False, indent=2) + "\n"
    lists = {"clusters": map(_cluster_json, report.clusters),
             "pairs": map(_match_json, report.pairs)}
    for name, mark in marks.items():
        before, text = text.split(json.dumps(mark), 1)
        yield before
        yield from _list_pieces(lists[name])
    yield text


def _list_pieces(items: Iterator[str]) -> Iterator[str]:
    """A list as json.dumps(indent=2) writes it as the value of a top-level key, given its
    items so written."""
    first = True
    for item in items:
        yield ("[\n" if first else ",\n") + item
        first = False
    yield "[]" if first else "\n  ]"


# json.dumps with an indent runs json's pure-Python encoder: 80 % of writing a 100,000-article
# report went there. Pairs and clusters, the two long lists, are written by the two functions
# below instead, the same text as json.dumps(item.to_dict(), ensure_ascii=False, indent=2)
# with each line indented by four spaces (tests/test_report.py checks).
_string = json.encoder.encode_basestring


def _number(value: float) -> str:
    """A number as json writes it."""
    if not isinstance(value, float):  # an int where a float is declared
        return json.dumps(value)
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _match_json(match: Match) -> str:
    passages = ",\n".join(map(_passage_json, match.passages))
    return (f'    {{\n      "a": {_string(match.a)},\n      "b": {_string(match.b)},\n'
            f'      "relation": {_string(match.relation)},\n'
            f'      "similarity": {_number(round(match.similarity, 4))},\n'
            f'      "coverage_a": {_number(round(match.coverage_a, 4))},\n'
            f'      "coverage_b": {_number(round(match.coverage_b, 4))},\n'
            + (f'      "passages": [\n{passages}\n      ]\n    }}' if passages
               else '      "passages": []\n    }'))


def _passage_json(p: Passage) -> str:
    return (f'        {{\n          "a": [\n            {int(p.a_start)},\n'
            f'            {int(p.a_end)}\n          ],\n'
            f'          "b": [\n            {int(p.b_start)},\n            {int(p.b_end)}\n'
            f'          ],\n          "kind": {_string(p.kind)},\n'
            f'          "similarity": {_number(round(p.similarity, 4))}\n        }}')


def _cluster_json(cluster: Cluster) -> str:
    members = ",\n".join("        " + _string(m) for m in cluster.members)
    return (f'    {{\n      "id": {_string(cluster.id)},\n'
            f'      "canonical": {_string(cluster.canonical)},\n'
            + (f'      "members": [\n{members}\n      ]\n    }}' if members
               else '      "members": []\n    }'))


CSV_COLUMNS = ["a", "b", "relation", "similarity", "coverage_a", "coverage_b", "cluster",
               "passages", "passage_offsets"]


def to_csv(report: Report) -> str:
    """One row per pair; ``passage_offsets`` is JSON ``[[a_start, a_end, b_start, b_end], ...]``."""
    cluster_of = {m: c.id for c in report.clusters for m in c.members}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in report.pairs:
        same = cluster_of.get(m.a) if cluster_of.get(m.a) == cluster_of.get(m.b) else ""
        offsets = [[p.a_start, p.a_end, p.b_start, p.b_end] for p in m.passages]
        writer.writerow([m.a, m.b, m.relation, f"{m.similarity:.4f}", f"{m.coverage_a:.4f}",
                         f"{m.coverage_b:.4f}", same or "", len(m.passages),
                         json.dumps(offsets)])
    return out.getvalue()


def quote(text: str, start: int, end: int, limit: int = _QUOTE_CHARS) -> str:
    """A passage on one line, shortened in the middle when long."""
    passage = " ".join(text[start:end].split())
    if len(passage) <= limit:
        return passage
    half = (limit - 5) // 2
    return f"{passage[:half]} ... {passage[-half:]}"


def relation_of(match: Match, member: str) -> str:
    """The relation of ``match`` read from ``member``'s side: ``b`` of "a contains b" is
    ``contained``."""
    if member == match.b:
        return {"contains": "contained", "contained": "contains"}.get(match.relation,
                                                                       match.relation)
    return match.relation


def relation_phrase(match: Match, member: str) -> str:
    """How ``member`` relates to the other document of ``match``, in words."""
    relation = relation_of(match, member)
    return {"duplicate": "duplicates", "rewrite": "rewrites", "contains": "contains",
            "contained": "is contained in", "partial": "shares passages with"}[relation]


def to_text(report: Report, texts: Mapping[str, str], max_passages: int = 3) -> str:
    """The human report: counts, clusters with relations, partial overlaps, quoted passages."""
    lines = [summary(report)]
    partial = [m for m in report.pairs if m.relation == "partial"]
    by_pair = {(m.a, m.b): m for m in report.pairs}
    for cluster in report.clusters:
        lines.append("")
        lines.append(f"cluster {cluster.id}: {len(cluster.members)} documents")
        lines.append(f"  canonical  {cluster.canonical}")
        for member in cluster.members:
            if member == cluster.canonical:
                continue
            match = by_pair.get(tuple(sorted((member, cluster.canonical))))  # type: ignore[arg-type]
            if match is None:
                lines.append(f"  member     {member}  (linked through other members)")
                continue
            cover = match.coverage_a if member == match.a else match.coverage_b
            lines.append(f"  member     {member}  {relation_phrase(match, member)} "
                         f"the canonical ({cover:.0%} of this document shared)")
            lines.extend(_passage_lines(match, texts, max_passages))
    if partial:
        lines.append("")
        lines.append("partial overlaps (shared passages, not copies):")
        for match in partial:
            lines.append(f"  {match.a}  <->  {match.b}  "
                         f"({match.coverage_a:.0%} / {match.coverage_b:.0%} shared)")
            lines.extend(_passage_lines(match, texts, max_passages))
    if report.skipped:
        lines.append("")
        lines.append("skipped:")
        lines.extend(f"  {s.id}: {s.reason}" for s in report.skipped)
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    """One line of counts: "3 documents: 1 cluster of copies (2 documents), ..."."""
    clustered = sum(len(c.members) for c in report.clusters)
    partial = sum(m.relation == "partial" for m in report.pairs)
    return (
        f"{_count(report.documents, 'document')}: "
        f"{_count(len(report.clusters), 'cluster')} of copies ({_count(clustered, 'document')}), "
        f"{_count(partial, 'partial overlap')}, {len(report.skipped)} skipped"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _passage_lines(match: Match, texts: Mapping[str, str], limit: int) -> list[str]:
    text_a = texts.get(match.a)
    if text_a is None:
        return []
    chosen = sorted(match.passages, key=lambda p: (p.kind != "verbatim", -(p.a_end - p.a_start)))
    lines = []
    for p in chosen[:limit]:
        lines.append(f"      {p.kind:<8} \"{quote(text_a, p.a_start, p.a_end)}\"")
    if len(chosen) > limit:
        lines.append(f"      ... and {len(chosen) - limit} more passages")
    return lines
