"""Render a :class:`~dedup.models.Report` as one self-contained HTML page.

Editors read a pair as two texts side by side with the shared passages lit up, rather than
as offsets. The page is built for untrusted article text and for large reports:

* **Nothing runs, nothing loads.** Every piece of article text, every id and every metadata
  value goes through :func:`html.escape`. A Content-Security-Policy meta tag forbids
  scripts altogether and allows exactly one stylesheet, the inline one below (by its
  SHA-256 hash), so even markup that slipped through could neither run nor fetch anything.
  Collapsing is done with ``<details>``, which needs no script.
* **Passages link to each other.** The first segment of passage ``k`` of pair ``n`` carries
  the id ``p{n}-{k}-a`` (or ``-b``) and links to the same passage in the other text; the
  pair list links to each pair (``#pair-{n}``).
* **Overlapping passages.** A reworded sentence may contain a verbatim quote, and one
  sentence may align with two. Each text is split at every passage boundary, and a segment
  inside several passages is drawn as the strongest of them (verbatim over reworded, then
  the shortest, i.e. the innermost).
* **Large reports.** Only the first ``open_pairs`` pairs are expanded; the others are closed
  ``<details>``, which the browser parses but does not lay out. Chromium opens a closed
  ``<details>`` by itself when a link (or find-in-page) targets something inside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Literal

from .models import Cluster, Match, Report
from .report import _count, relation_phrase, summary

Kind = Literal["verbatim", "reworded"]
Side = Literal["a", "b"]

#: Pairs shown expanded at the top of the page; the rest start collapsed.
OPEN_PAIRS = 20
#: Entries per page of a long list (clusters, pairs, texts); only the first page is open.
PAGE_SIZE = 200

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 1.5em 4em;
color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:1em 0 .2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.15em .8em .15em 0;text-align:left;vertical-align:top}
th{font-weight:600;border-bottom:1px solid #ddd}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.id{font-family:ui-monospace,monospace;font-size:.92em}
.legend mark{padding:0 .3em}
tbody.cluster{border-top:1px solid #ddd}
details.pair{border:1px solid #ddd;border-radius:6px;margin:.8em 0}
details.page>summary{cursor:pointer;font-weight:600;margin:.4em 0}
details.pair>summary{cursor:pointer;padding:.5em .8em;background:#f6f6f8;border-radius:6px}
.rel{font-weight:600}
.texts{display:grid;grid-template-columns:1fr 1fr;gap:1.5em;padding:.8em}
.side h4{margin:0 0 .3em;font-size:1em}.meta{color:#555;font-size:.9em;margin:0 0 .5em}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
mark{color:inherit;border-radius:2px}
mark a{color:inherit;text-decoration:none}
mark.verbatim{background:#ffd54a}
mark.reworded{background:#dcebff}
mark:target{outline:2px solid #d33;outline-offset:1px}
.missing{color:#a00}
"""
#: The inline stylesheet is allowed by its hash: no other style, script or resource is.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'; "
    "script-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'"
)
_STRENGTH = {"verbatim": 0, "reworded": 1}


@dataclass(frozen=True)
class Span:
    """One side of passage ``number`` of a pair: ``[start, end)`` in that side's text."""

    start: int
    end: int
    kind: Kind
    number: int


@dataclass(frozen=True)
class Segment:
    """A stretch of text between two consecutive passage boundaries.

    ``covering`` are the passages that contain all of it (empty for unshared text) and
    ``opening`` those among them that start here, whose anchors go at this segment.
    """

    start: int
    end: int
    covering: tuple[Span, ...]
    opening: tuple[Span, ...]

    @property
    def lead(self) -> Span | None:
        """The passage this segment is drawn as and links through: the strongest one."""
        return min(self.covering, key=_strength) if self.covering else None


def _strength(span: Span) -> tuple[int, int, int]:
    return (_STRENGTH[span.kind], span.end - span.start, span.number)


def segments(length: int, spans: Iterable[Span]) -> list[Segment]:
    """Split ``[0, length)`` at every span boundary; spans are clipped to the text.

    Every character lies in exactly one segment, and a segment's ``covering`` spans are
    exactly those that contain its characters, so nested and overlapping passages render
    without losing or repeating text.

    >>> [(s.start, s.end, [p.number for p in s.covering])
    ...  for s in segments(10, [Span(0, 6, "reworded", 1), Span(2, 4, "verbatim", 2)])]
    [(0, 2, [1]), (2, 4, [1, 2]), (4, 6, [1]), (6, 10, [])]
    """
    clipped = sorted(
        (Span(max(0, s.start), min(length, s.end), s.kind, s.number) for s in spans
         if min(length, s.end) > max(0, s.start)),
        key=lambda s: (s.start, s.number),
    )
    bounds = sorted({0, length, *(s.start for s in clipped), *(s.end for s in clipped)})
    result: list[Segment] = []
    active: list[Span] = []
    upcoming = 0
    for left, right in pairwise(bounds):
        active = [s for s in active if s.end > left]
        opening: list[Span] = []
        while upcoming < len(clipped) and clipped[upcoming].start == left:
            opening.append(clipped[upcoming])
            upcoming += 1
        active.extend(opening)
        result.append(Segment(left, right, tuple(active), tuple(opening)))
    return result


def to_html(
    report: Report,
    texts: Mapping[str, str],
    meta: Mapping[str, Mapping[str, str]] | None = None,
    *,
    open_pairs: int = OPEN_PAIRS,
    page_size: int = PAGE_SIZE,
) -> str:
    """The report as one HTML page; ``texts`` maps ids to original texts, ``meta`` ids to
    optional metadata (title, source, date, url) shown above each text.

    Pairs are numbered from 1 in report order; only the first ``open_pairs`` start expanded.
    Lists longer than ``page_size`` are split into pages, of which only the first is open.
    """
    meta = meta or {}
    pair_number = {(m.a, m.b): n for n, m in enumerate(report.pairs, 1)}
    counts = escape(summary(report))
    nav = [("clusters", "Clusters"), ("pairs", "Pairs"), ("texts", "Texts side by side")]
    if report.skipped:
        nav.append(("skipped", "Skipped"))
    parts = [
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{escape(CSP)}\">\n",
        "<meta name=\"referrer\" content=\"no-referrer\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>dedup report: {counts}</title>\n<style>{_STYLE}</style>\n",
        "</head>\n<body>\n<h1>dedup report</h1>\n",
        f"<p class=\"summary\">{counts}; {_count(len(report.pairs), 'pair')} ",
        "verified.</p>\n",
        _LEGEND,
        "<p>" + " · ".join(f"<a href=\"#{anchor}\">{name}</a>" for anchor, name in nav) + "</p>\n",
        f"<h2 id=\"clusters\">Clusters ({len(report.clusters):,})</h2>\n",
        _paged([_cluster(c_number, cluster, report, pair_number)
                for c_number, cluster in enumerate(report.clusters, 1)], page_size, "clusters",
               (_CLUSTER_TABLE_HEAD, "</table>\n"))
        if report.clusters else "<p>No copies found.</p>\n",
        f"<h2 id=\"pairs\">Pairs ({len(report.pairs):,})</h2>\n",
    ]
    if report.pairs:
        parts.append("<p>Relations read from <i>a</i>'s side: <i>a</i> contains <i>b</i>.</p>\n")
        parts.append(_paged([_pair_row(n, m) for n, m in enumerate(report.pairs, 1)], page_size,
                            "pairs", (_PAIR_TABLE_HEAD, "</table>\n")))
    else:
        parts.append("<p>No pairs share a passage.</p>\n")
    parts.append("<h2 id=\"texts\">Texts side by side</h2>\n")
    if len(report.pairs) > open_pairs:
        parts.append(f"<p>The first {open_pairs} pairs are expanded; click a pair to open it."
                     "</p>\n")
    parts.append(_paged([_pair_section(n, m, texts, meta, expanded=n <= open_pairs)
                         for n, m in enumerate(report.pairs, 1)], page_size, "pairs"))
    if report.skipped:
        parts.append("<h2 id=\"skipped\">Skipped</h2>\n")
        parts.append(_paged([f"<tr><td class=\"id\">{escape(s.id)}</td>"
                             f"<td>{escape(s.reason)}</td></tr>\n" for s in report.skipped],
                            page_size, "skipped documents", ("<table>\n", "</table>\n")))
    parts.append("<details><summary>Settings</summary><pre>"
                 f"{escape(json.dumps(report.params, indent=2, ensure_ascii=False))}</pre>"
                 "</details>\n</body>\n</html>\n")
    return "".join(parts)


_LEGEND = (
    "<p class=\"legend\"><mark class=\"verbatim\">verbatim</mark> the same words (up to "
    "normalization and small edits) · <mark class=\"reworded\">reworded</mark> the same "
    "statement in other words. Click a passage to jump to its counterpart in the other text."
    "</p>\n"
)
_CLUSTER_TABLE_HEAD = (
    "<table class=\"clusters\">\n<thead><tr><th>cluster</th><th>document</th><th>relation</th>"
    "<th>shared</th><th></th></tr></thead>\n"
)
_PAIR_TABLE_HEAD = (
    "<table class=\"pairs\">\n<tr><th>#</th><th>a</th><th>relation</th><th>b</th>"
    "<th>similarity</th><th>a shared</th><th>b shared</th><th>passages</th></tr>\n"
)


def _paged(blocks: Sequence[str], size: int, noun: str, wrap: tuple[str, str] = ("", "")) -> str:
    """``blocks`` inside ``wrap``, split into pages of ``size`` when there are more.

    Each page is a ``<details>``, only the first open. Chromium lays out only what is open,
    and laying out one growing list of thousands of entries while the page streams in is
    what makes a large report slow to open (measured in Chromium: a 10,000-pair report of
    news-length articles opens in 4-5 s paged, in 36 s with every list in one piece; see
    ``benchmarks/html_load.py``).
    """
    if len(blocks) <= size:
        return f"{wrap[0]}{''.join(blocks)}{wrap[1]}"
    pages = []
    for first in range(0, len(blocks), size):
        last = min(first + size, len(blocks))
        pages.append(f"<details class=\"page\"{' open' if first == 0 else ''}><summary>{noun} "
                     f"{first + 1:,}–{last:,} of {len(blocks):,}</summary>\n{wrap[0]}"
                     f"{''.join(blocks[first:last])}{wrap[1]}</details>\n")
    return "".join(pages)


def _cluster(c_number: int, cluster: Cluster, report: Report,
             pair_number: Mapping[tuple[str, str], int]) -> str:
    """The rows of one cluster: the canonical member first, then each member's relation to
    it and a link to their pair (one table for all clusters keeps a large page light)."""
    rows = [(
        f"<tbody class=\"cluster\" id=\"cluster-{c_number}\"><tr>"
        f"<td rowspan=\"{len(cluster.members)}\"><code>{escape(cluster.id)}</code><br>"
        f"{len(cluster.members)} documents</td>"
        f"<td class=\"id\">{escape(cluster.canonical)}</td><td>canonical</td><td></td><td></td>"
        "</tr>\n"
    )]
    for member in cluster.members:
        if member == cluster.canonical:
            continue
        key = (min(member, cluster.canonical), max(member, cluster.canonical))
        n = pair_number.get(key)
        if n is None:
            rows.append(f"<tr><td class=\"id\">{escape(member)}</td>"
                        "<td>linked through other members</td><td></td><td></td></tr>\n")
            continue
        match = report.pairs[n - 1]
        cover = match.coverage_a if member == match.a else match.coverage_b
        rows.append(
            f"<tr><td class=\"id\">{escape(member)}</td>"
            f"<td>{escape(relation_phrase(match, member))} canonical</td>"
            f"<td class=\"num\">{cover:.0%}</td><td><a href=\"#pair-{n}\">pair {n}</a></td></tr>\n"
        )
    rows.append("</tbody>\n")
    return "".join(rows)


def _pair_row(n: int, m: Match) -> str:
    return (
        f"<tr><td class=\"num\"><a href=\"#pair-{n}\">{n}</a></td>"
        f"<td class=\"id\">{escape(m.a)}</td><td class=\"rel\">{escape(m.relation)}</td>"
        f"<td class=\"id\">{escape(m.b)}</td><td class=\"num\">{m.similarity:.2f}</td>"
        f"<td class=\"num\">{m.coverage_a:.0%}</td><td class=\"num\">{m.coverage_b:.0%}</td>"
        f"<td class=\"num\">{len(m.passages)}</td></tr>\n"
    )


def _pair_section(n: int, match: Match, texts: Mapping[str, str],
                  meta: Mapping[str, Mapping[str, str]], *, expanded: bool) -> str:
    kinds = {k: sum(p.kind == k for p in match.passages) for k in _STRENGTH}
    counts = ", ".join(f"{v} {k}" for k, v in kinds.items() if v)
    head = (
        f"<summary><b>{n}</b> <span class=\"id\">{escape(match.a)}</span> "
        f"<span class=\"rel\">{escape(relation_phrase(match, match.a))}</span> "
        f"<span class=\"id\">{escape(match.b)}</span>, similarity {match.similarity:.2f}, "
        f"{_count(len(match.passages), 'passage')}{f' ({counts})' if counts else ''}</summary>\n"
    )
    side_a = _side(n, "a", match.a, match.coverage_a, texts, meta,
                   [Span(p.a_start, p.a_end, p.kind, k) for k, p in enumerate(match.passages, 1)])
    side_b = _side(n, "b", match.b, match.coverage_b, texts, meta,
                   [Span(p.b_start, p.b_end, p.kind, k) for k, p in enumerate(match.passages, 1)])
    return (f"<details class=\"pair\"{' open' if expanded else ''}>{head}"
            f"<div class=\"texts\" id=\"pair-{n}\">\n{side_a}{side_b}</div></details>\n")


def _side(n: int, side: Side, doc_id: str, cover: float, texts: Mapping[str, str],
          meta: Mapping[str, Mapping[str, str]], spans: Sequence[Span]) -> str:
    text = texts.get(doc_id)
    body = (_marked_text(text, spans, n, side) if text is not None
            else "<span class=\"missing\">(text not available)</span>")
    return (f"<div class=\"side\"><h4>{side}: <span class=\"id\">{escape(doc_id)}</span> "
            f"({cover:.0%} shared)</h4>{_meta_line(meta.get(doc_id, {}))}"
            f"<div class=\"text\">{body}</div></div>\n")


def _meta_line(values: Mapping[str, str]) -> str:
    shown = []
    for name in ("title", "source", "date"):
        if values.get(name):
            shown.append(f"{name}: {escape(values[name])}")
    url = values.get("url")
    if url:
        # Only web addresses become links; a javascript: or data: URL stays inert text.
        if url.lower().startswith(("https://", "http://")):
            shown.append(f"<a href=\"{escape(url)}\" rel=\"noopener noreferrer\">"
                         f"{escape(url)}</a>")
        else:
            shown.append(f"url: {escape(url)}")
    return f"<p class=\"meta\">{' · '.join(shown)}</p>" if shown else ""


def _marked_text(text: str, spans: Sequence[Span], n: int, side: Side) -> str:
    """``text`` escaped, with each shared segment in a ``<mark>`` linking to the other side."""
    other = "b" if side == "a" else "a"
    parts = []
    for seg in segments(len(text), spans):
        chunk = escape(text[seg.start:seg.end])
        lead = seg.lead
        if lead is None:
            parts.append(chunk)
            continue
        # The lead passage's anchor goes on the mark (so :target outlines it); other passages
        # opening here get an empty anchor in front, so every passage can be linked to.
        anchor = f" id=\"p{n}-{lead.number}-{side}\"" if lead in seg.opening else ""
        parts.extend(f"<span id=\"p{n}-{s.number}-{side}\"></span>"
                     for s in seg.opening if s is not lead)
        parts.append(
            f"<mark class=\"{lead.kind}\"{anchor}><a href=\"#p{n}-{lead.number}-{other}\" "
            f"title=\"{lead.kind} passage {lead.number}\">{chunk}</a></mark>"
        )
    return "".join(parts)
