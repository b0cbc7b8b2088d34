"""A seeded generator of wire-story re-runs built from real German news (10kGNAD).

Each source story (a DER STANDARD article) is re-run by several fictional outlets, each with
its own house style and one *edit kind*. The kinds are what outlets really do to agency copy:

- ``dateline``: verbatim body; the outlet's own headline, dateline ("WIEN (APA) –", "Wien. "),
  byline and footer ("(APA, 12.3.2016)", "© dpa-infocom ...").
- ``typography``: as ``dateline`` plus the house typography: quotation marks („“ »« «» “”),
  dashes, Swiss "ss" for "ß", "Januar" for "Jänner", "%" for "Prozent", thousands separators,
  "20:45 Uhr", "Mio."/"Mrd.", soft hyphens from a CMS, typographic apostrophes.
- ``layout``: the web page around the story: crossheads, an image caption printed twice,
  "Lesen Sie auch" and video teasers for other stories, share bars and newsletter boxes,
  paragraphs broken differently.
- ``truncation``: the first one or few paragraphs only (a short version).
- ``abridged``: paragraphs cut from the middle and the end to fit the space.
- ``update``: a later version: "Aktualisiert" line, a figure in the lead changed, one or two
  paragraphs of new text added at the end or after the lead.
- ``light``: a few words changed, one sentence dropped, one added, maybe one sentence
  restructured.
- ``heavy``: a rewrite in the manner of seed 002 versus 001: most reporting vocabulary
  replaced, clauses and attributions moved, sentences split, merged, reordered and dropped,
  the outlet's own sentences and a closing paragraph added; direct speech stays verbatim.
- ``combined``: house style, layout and light edits together with a truncation, an update or
  an abridgement, as one re-run usually shows several of these at once.

Roundups borrow one or two paragraphs verbatim from one or two stories and glue them with
other news; they share a passage with the story (gold offsets on both sides) but are not
copies of it. New text that outlets add (own sentences, update paragraphs, roundup filler,
teaser headlines) is taken from held-out 10kGNAD articles that are not in the corpus, each
sentence used once, so that it creates no unlabelled overlap.

Nothing here looks at how any detector works: the edits follow newsroom practice, and the
amount of each edit is drawn from fixed ranges.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dedup.models import Document

from . import german
from .shapes import Corpus, GoldPassage, Span

EDIT_KINDS = (
    "dateline",
    "typography",
    "layout",
    "truncation",
    "abridged",
    "update",
    "light",
    "heavy",
    "combined",
)

# --------------------------------------------------------------------------------------------
# Source articles
# --------------------------------------------------------------------------------------------

# "Wien – Die Gewerkschaft ...": a place (up to four capitalised words) and a dash before a
# capitalised sentence start.
_DATELINE = re.compile(
    r"^(?P<place>[A-ZÄÖÜ][\w./\-]*(?:[ /][A-ZÄÖÜ][\w./\-]*){0,3}) – (?=[A-ZÄÖÜ0-9\"„])"
)


@dataclass(frozen=True)
class Article:
    """A 10kGNAD article split as an outlet receives it: standfirst, dateline, paragraphs.

    10kGNAD has no paragraph breaks; the body is grouped into paragraphs of 3-4 sentences,
    once per article, so that all outlets see the same wire paragraphs.
    """

    row: int
    topic: str
    text: str
    standfirst: tuple[Span, ...]
    place: str | None
    dateline_end: int | None  # offset just after "Wien – "
    paragraphs: tuple[tuple[Span, ...], ...]

    def sentence(self, span: Span) -> str:
        start, end = span
        if self.dateline_end is not None and start < self.dateline_end <= end:
            start = self.dateline_end
        return _collapse_spaces(self.text[start:end])

    def body(self) -> list[list[str]]:
        return [[self.sentence(s) for s in paragraph] for paragraph in self.paragraphs]

    def standfirst_text(self) -> list[str]:
        return [self.sentence(s) for s in self.standfirst]

    def paragraph_span(self, first: int, last: int) -> Span:
        """Offsets in the original text of paragraphs ``first..last`` (inclusive)."""
        start = self.paragraphs[first][0][0]
        if self.dateline_end is not None and start < self.dateline_end:
            start = self.dateline_end
        return start, self.paragraphs[last][-1][1]


def parse_article(row: int, topic: str, text: str, rng: random.Random) -> Article:
    spans = german.sentence_spans(text)
    body_start = None
    dateline_end = None
    place = None
    for i, (start, end) in enumerate(spans[:4]):
        match = _DATELINE.match(text[start:end])
        if match:
            body_start, place, dateline_end = i, match["place"], start + match.end()
            break
    if body_start is None:
        body_start = 1 if len(spans) > 4 else 0
    standfirst = tuple(spans[:body_start])
    body = spans[body_start:]
    paragraphs: list[tuple[Span, ...]] = []
    i = 0
    while i < len(body):
        size = rng.choice((3, 3, 4, 4, 2)) if i else rng.choice((2, 3))
        paragraphs.append(tuple(body[i : i + size]))
        i += size
    if len(paragraphs) > 1 and len(paragraphs[-1]) == 1:
        paragraphs[-2] = paragraphs[-2] + paragraphs[-1]
        paragraphs.pop()
    return Article(row, topic, text, standfirst, place, dateline_end, tuple(paragraphs))


def _collapse_spaces(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", text)


# --------------------------------------------------------------------------------------------
# New text that outlets add: taken from held-out articles, each sentence used once
# --------------------------------------------------------------------------------------------


class FreshText:
    """Sentences and paragraphs of held-out articles, by topic, handed out once each.

    Headlines for teaser links come from the held-out standfirsts first, then from held-out
    sentences; nothing is handed out twice, so added text never links two corpus documents.
    """

    def __init__(self, articles: list[Article], rng: random.Random) -> None:
        self._paragraphs: dict[str, list[list[str]]] = defaultdict(list)
        for article in articles:
            for paragraph in article.body():
                if len(paragraph) >= 2:
                    self._paragraphs[article.topic].append(paragraph)
        for paragraphs in self._paragraphs.values():
            rng.shuffle(paragraphs)
        self._standfirsts = [a.standfirst_text()[0] for a in articles if a.standfirst]
        rng.shuffle(self._standfirsts)
        self._rng = rng

    def paragraph(self, topic: str, max_sentences: int = 4) -> list[str]:
        pool = self._paragraphs.get(topic) or self._largest()
        paragraph = pool.pop()
        if len(paragraph) > max_sentences:
            pool.append(paragraph[max_sentences:])
        return paragraph[:max_sentences]

    def sentence(self, topic: str) -> str:
        pool = self._paragraphs.get(topic) or self._largest()
        paragraph = pool.pop()
        if len(paragraph) > 1:
            pool.insert(0, paragraph[1:])
        return paragraph[0]

    def headline(self) -> str:
        """A headline for a teaser link to some other story."""
        if self._standfirsts:
            return headline_from(self._standfirsts.pop())
        sentence = self.sentence(self._rng.choice(sorted(self._paragraphs)))
        return crosshead_for([sentence], self._rng)

    def _largest(self) -> list[list[str]]:
        topic = max(self._paragraphs, key=lambda t: len(self._paragraphs[t]))
        if not self._paragraphs[topic]:
            raise RuntimeError("held-out pool exhausted; use more held-out articles")
        return self._paragraphs[topic]


def headline_from(sentence: str, max_words: int = 9) -> str:
    """A headline from a standfirst sentence: its first clause, at most ``max_words`` words."""
    clause = re.split(r" – |: |; |, (?=[a-zäöü])", sentence.rstrip("."))[0]
    words = clause.split()
    if len(words) > max_words:
        words = words[:max_words]
        while len(words) > 2 and (
            words[-1].lower() in german.FUNCTION_WORDS | german.NOT_SUBJECTS
            or words[-1].lower() in {"und", "oder", "sowie", "sondern"}
        ):
            words.pop()
    return " ".join(words)


# --------------------------------------------------------------------------------------------
# Outlets and house style
# --------------------------------------------------------------------------------------------

NAMES = (
    "Anna Berger",
    "Markus Huber",
    "Lena Wagner",
    "Thomas Gruber",
    "Sabine Koller",
    "Jonas Reiter",
    "Eva Steiner",
    "Florian Moser",
    "Katrin Bauer",
    "Stefan Hofer",
    "Julia Brandstätter",
    "Michael Lindner",
    "Sandra Eder",
    "Peter Wallner",
    "Nina Frei",
    "Daniel Keller",
    "Claudia Meier",
    "Lukas Schmid",
    "Martina Vogt",
    "Rainer Albrecht",
)
MONTHS = (
    "Jänner",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


@dataclass(frozen=True)
class Outlet:
    """A fictional outlet: how it frames and typesets agency copy."""

    name: str
    agency: str
    dateline: str  # "{place}", "{PLACE}", "{agency}"; "" drops the dateline
    byline: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    quotes: tuple[str, str] | None = None
    dash: str | None = None
    swiss: bool = False
    januar: bool = False
    percent: str | None = None
    thousands: str | None = None
    time_colon: bool = False
    abbreviate_units: bool = False
    soft_hyphens: bool = False
    apostrophe: bool = False
    headline_in_text: bool = False

    @property
    def has_house_style(self) -> bool:
        return bool(
            self.quotes
            or self.dash
            or self.swiss
            or self.januar
            or self.percent
            or self.thousands
            or self.time_colon
            or self.soft_hyphens
        )


OUTLETS = (
    Outlet("Wiener Tagespost", "APA", "{place} – ", footer=("(APA, {d}.{m}.{y})",)),
    Outlet(
        "Alpenland Rundschau",
        "APA",
        "{PLACE} (APA) – ",
        footer=("(red/APA)", "(APA)"),
        quotes=("„", "“"),
        headline_in_text=True,
    ),
    Outlet(
        "Steirerblatt Online",
        "APA",
        "{place}. ",
        byline=("Von {name}",),
        footer=("Artikel teilen: Facebook Twitter WhatsApp E-Mail Drucken",),
    ),
    Outlet(
        "Berliner Morgenblatt",
        "dpa",
        "{place} (dpa) – ",
        byline=("Von {name}, dpa",),
        footer=("© dpa-infocom, dpa:{yy}{m2}{d2}-99-{serial}/{k}",),
        quotes=("„", "“"),
        januar=True,
        percent=" %",
        time_colon=True,
    ),
    Outlet(
        "Rhein-Neckar Anzeiger Digital",
        "dpa",
        "{place}. ",
        quotes=("„", "“"),
        januar=True,
        footer=("Mehr zum Thema\n\n{related}\n\n{related}",),
        abbreviate_units=True,
    ),
    Outlet(
        "news24.example",
        "AFP",
        "{place} (AFP) - ",
        byline=("Autor: {name} | Aktualisiert: {d}.{m}.{y}, {hh}:{mm} Uhr",),
        footer=("Zur Startseite",),
        quotes=("“", "”"),
        dash="-",
        januar=True,
        percent="%",
        headline_in_text=True,
        apostrophe=True,
    ),
    Outlet(
        "Zürcher Tagespost",
        "sda",
        "{place} – ",
        footer=("(sda)", "(sda/dpa)"),
        quotes=("«", "»"),
        swiss=True,
        januar=True,
        thousands="'",
        time_colon=True,
    ),
    Outlet(
        "Basler Abendblatt",
        "sda",
        "",
        byline=("{name}",),
        footer=("Copyright {y} SDA-ATS. Alle Rechte vorbehalten.",),
        quotes=("«", "»"),
        swiss=True,
        januar=True,
        thousands="'",
        percent=" %",
    ),
    Outlet(
        "Radio Wellenklang",
        "APA",
        "",
        byline=("Written by on {d}. {month} {y}",),
        footer=("Current track\n\nTitle\n\nArtist\n\nBackground",),
        quotes=("„", "“"),
        headline_in_text=True,
    ),
    Outlet(
        "Ostsee-Kurier",
        "dpa",
        "{place}. ",
        footer=("Jetzt Newsletter abonnieren",),
        quotes=("»", "«"),
        januar=True,
        soft_hyphens=True,
        dash="—",
        abbreviate_units=True,
    ),
    Outlet("Tiroler Bote", "APA", "{place} – ", byline=("{name}",), footer=("(ag/red)",)),
    Outlet(
        "Donauwelle Online",
        "APA",
        "{place} - ",
        footer=("Kommentare ({n})",),
        dash="-",
        headline_in_text=True,
        thousands=" ",
    ),
)
STYLED_OUTLETS = tuple(o for o in OUTLETS if o.has_house_style)

_QUOTE_PAIRS = re.compile(r"\"([^\"\n]{1,400})\"|„([^“\n]{1,400})“|»([^«\n]{1,400})«")


def house_style(text: str, outlet: Outlet, rng: random.Random) -> str:
    """Typeset ``text`` as ``outlet`` does. Words stay; marks, spellings and units change."""
    if outlet.quotes:
        opening, closing = outlet.quotes
        text = _QUOTE_PAIRS.sub(
            lambda m: opening + next(g for g in m.groups() if g is not None) + closing, text
        )
    if outlet.dash:
        text = text.replace(" – ", f" {outlet.dash} ")
    if outlet.januar:
        text = re.sub(r"\bJänner\b", "Januar", text)
    if outlet.swiss:
        text = text.replace("ß", "ss")
    if outlet.percent:
        percent = outlet.percent
        text = re.sub(r"(\d) Prozent\b", lambda m: m.group(1) + percent, text)
    if outlet.thousands:
        text = re.sub(r"(?<=\d)\.(?=\d{3}\b)", outlet.thousands, text)
    if outlet.time_colon:
        text = re.sub(r"\b(\d{1,2})\.(\d{2}) Uhr\b", r"\1:\2 Uhr", text)
    if outlet.abbreviate_units:
        text = re.sub(r"(?<=\d) Millionen\b", " Mio.", text)
        text = re.sub(r"(?<=\d) Milliarden\b", " Mrd.", text)
    if outlet.apostrophe:
        text = re.sub(r"(?<=\w)'(?=\w)", "’", text)
    if outlet.soft_hyphens:
        text = re.sub(
            r"\b[A-ZÄÖÜ][a-zäöüß]{11,}\b", lambda m: _soft_hyphenate(m.group(), rng), text
        )
    return text


def _soft_hyphenate(word: str, rng: random.Random) -> str:
    # CMS hyphenation marks long compounds with U+00AD; in scraped text it stays invisible.
    if rng.random() < 0.5:
        return word
    cut = rng.randint(4, len(word) - 5)
    return word[:cut] + "\u00ad" + word[cut:]


# --------------------------------------------------------------------------------------------
# A re-run being written
# --------------------------------------------------------------------------------------------


@dataclass
class Draft:
    standfirst: list[str]
    place: str | None
    paragraphs: list[list[str]]
    headline: str
    crossheads: dict[int, str] = field(default_factory=dict)  # before paragraph i
    inserts: dict[int, list[str]] = field(default_factory=dict)  # lines after paragraph i
    top_lines: list[str] = field(default_factory=list)  # after headline/byline
    bottom_lines: list[str] = field(default_factory=list)  # before the footer
    keep_dateline: bool = True

    @classmethod
    def from_article(cls, article: Article, rng: random.Random) -> Draft:
        standfirst = article.standfirst_text()
        headline = (
            headline_from(standfirst[0]) if standfirst else headline_from(article.body()[0][0])
        )
        return cls(standfirst, article.place, article.body(), headline)


@dataclass
class Context:
    """What a copy needs besides its source: outlet, dates, fresh text."""

    outlet: Outlet
    day: date
    fresh: FreshText
    topic: str
    rng: random.Random


def render(draft: Draft, ctx: Context) -> tuple[str, str]:
    """The text of the re-run as the outlet's page shows it, and its headline."""
    outlet, rng = ctx.outlet, ctx.rng
    blocks: list[str] = []
    if outlet.headline_in_text:
        blocks.append(draft.headline)
    if outlet.byline:
        blocks.append(fill(rng.choice(outlet.byline), ctx))
    blocks.extend(draft.top_lines)
    if draft.standfirst:
        blocks.append(" ".join(draft.standfirst))
    for i, paragraph in enumerate(draft.paragraphs):
        if not paragraph:
            continue
        if i in draft.crossheads:
            blocks.append(draft.crossheads[i])
        text = " ".join(paragraph)
        if i == 0 and draft.keep_dateline and draft.place and outlet.dateline:
            place = draft.place
            text = (
                outlet.dateline.format(place=place, PLACE=place.upper(), agency=outlet.agency)
                + text
            )
        blocks.append(text)
        blocks.extend(draft.inserts.get(i, []))
    blocks.extend(draft.bottom_lines)
    if outlet.footer:
        blocks.append(fill(rng.choice(outlet.footer), ctx))
    text = "\n\n".join(blocks)
    return house_style(text, outlet, rng), house_style(draft.headline, outlet, rng)


def fill(template: str, ctx: Context) -> str:
    """A byline or footer template with the outlet's date, a name, serial numbers, and a fresh
    teaser headline for each ``{related}``."""
    rng, day = ctx.rng, ctx.day
    parts = template.split("{related}")
    fields = {
        "name": rng.choice(NAMES),
        "d": day.day,
        "m": day.month,
        "y": day.year,
        "yy": f"{day.year % 100:02d}",
        "d2": f"{day.day:02d}",
        "m2": f"{day.month:02d}",
        "month": MONTHS[day.month - 1],
        "serial": f"{rng.randint(0, 999999):06d}",
        "k": rng.randint(1, 9),
        "hh": f"{rng.randint(6, 22):02d}",
        "mm": f"{rng.randint(0, 59):02d}",
        "n": rng.randint(0, 240),
    }
    out = parts[0].format(**fields)
    for part in parts[1:]:
        out += ctx.fresh.headline() + part.format(**fields)
    return out


# --------------------------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------------------------

CROSSHEAD_TAILS = (
    "",
    "",
    "im Fokus",
    "unter Druck",
    "in der Kritik",
    "ungewiss",
    "gefordert",
    "im Visier",
    "als Streitpunkt",
    "auf dem Prüfstand",
)
_CAPITALISED = re.compile(r"(?<=[a-zäöüß,] )([A-ZÄÖÜ][a-zäöüß]{4,}(?:-[A-ZÄÖÜ]?[a-zäöüß]+)?)\b")


def crosshead_for(paragraph: list[str], rng: random.Random) -> str:
    """A short crosshead from a noun of the paragraph ("Sonntagsöffnung unter Druck")."""
    nouns = [m.group(1) for s in paragraph for m in _CAPITALISED.finditer(s)]
    if not nouns:
        return rng.choice(("Hintergrund", "Reaktionen", "Wie es weitergeht", "Die Details"))
    tail = rng.choice(CROSSHEAD_TAILS)
    return f"{rng.choice(nouns)} {tail}".strip()


def add_framing(draft: Draft, ctx: Context) -> None:
    """Headline, dateline, standfirst choices that every re-run makes."""
    rng = ctx.rng
    if rng.random() < 0.35:
        draft.standfirst = []
    if rng.random() < 0.15:
        draft.keep_dateline = False


def add_layout(draft: Draft, ctx: Context) -> None:
    """The web page around the story: crossheads, captions, teasers, share bars."""
    rng = ctx.rng
    if rng.random() < 0.5:
        regroup(draft, rng)
    if len(draft.paragraphs) > 2:
        for i in rng.sample(
            range(1, len(draft.paragraphs)), k=min(len(draft.paragraphs) - 1, rng.randint(1, 3))
        ):
            draft.crossheads[i] = crosshead_for(draft.paragraphs[i], rng)
    if rng.random() < 0.6:
        lead = draft.standfirst[0] if draft.standfirst else draft.paragraphs[0][0]
        subject = crosshead_for([lead], rng).split(" ")[0]
        credit = f"{ctx.outlet.agency}/{rng.choice(NAMES)}"
        caption = rng.choice((f"{subject} (Symbolbild). (Bild: {credit})", f"Foto: {credit}"))
        draft.top_lines.extend([caption, caption] if rng.random() < 0.5 else [caption])
    for _ in range(rng.randint(1, 2)):
        at = rng.randrange(len(draft.paragraphs))
        line = rng.choice(("Lesen Sie auch: {}", "{}", "Video: {}", "Mehr dazu: {}")).format(
            ctx.fresh.headline()
        )
        draft.inserts.setdefault(at, []).append(line)
    draft.bottom_lines.extend(
        rng.sample(
            (
                "Teilen auf Facebook Twitter WhatsApp E-Mail",
                "Diesen Artikel teilen",
                "Wir verwenden Cookies, um Ihnen ein optimales Nutzererlebnis zu bieten.",
                "Newsletter: Das Wichtigste des Tages, jeden Morgen in Ihrem Postfach.",
                "Sie haben einen Fehler entdeckt? Schreiben Sie uns.",
            ),
            k=rng.randint(0, 2),
        )
    )


def regroup(draft: Draft, rng: random.Random) -> None:
    """Break paragraphs differently: outlets' CMS templates merge and split them."""
    if draft.crossheads or draft.inserts:
        return
    sentences = [s for p in draft.paragraphs for s in p]
    paragraphs: list[list[str]] = []
    i = 0
    while i < len(sentences):
        size = rng.choice((1, 2, 2, 3, 3, 4, 5))
        paragraphs.append(sentences[i : i + size])
        i += size
    draft.paragraphs = paragraphs


def truncate(draft: Draft, ctx: Context) -> None:
    """Keep the first paragraph or first few (a short version of the story)."""
    rng = ctx.rng
    n = len(draft.paragraphs)
    if n == 1:
        sentences = draft.paragraphs[0]
        draft.paragraphs = [sentences[: max(3, (len(sentences) + 1) // 2)]]
    else:
        keep = rng.randint(1, max(1, round(n * 0.5)))
        # Even the shortest re-run carries the lead: at least three sentences of it.
        while keep < n and sum(len(p) for p in draft.paragraphs[:keep]) < 3:
            keep += 1
        draft.paragraphs = draft.paragraphs[:keep]
    if rng.random() < 0.2:
        draft.bottom_lines.append(
            rng.choice(("Mehr in Kürze.", "(Fortsetzung folgt)", "Weitere Details folgen."))
        )


def abridge(draft: Draft, ctx: Context) -> None:
    """Cut paragraphs from the middle and the end to fit the space; sometimes a sentence."""
    rng = ctx.rng
    n = len(draft.paragraphs)
    if n >= 3:
        cut = rng.sample(range(1, n), k=max(1, round((n - 1) * rng.uniform(0.25, 0.5))))
        draft.paragraphs = [p for i, p in enumerate(draft.paragraphs) if i not in cut]
    for paragraph in draft.paragraphs[1:]:
        if len(paragraph) > 2 and rng.random() < 0.3:
            paragraph.pop(rng.randrange(1, len(paragraph)))


_FIGURE = re.compile(r"(?<![\d.,:/])\b([3-9]|[1-9]\d{1,2})\b(?![.,:/]\d)(?= [A-ZÄÖÜa-zäöü])")


def update(draft: Draft, ctx: Context) -> None:
    """A later version: timestamp, a changed figure, new paragraphs."""
    rng = ctx.rng
    stamp = f"Aktualisiert am {ctx.day.day}.{ctx.day.month}.{ctx.day.year}, {rng.randint(8, 23)}:{rng.choice(('05', '15', '32', '47', '58'))} Uhr"
    draft.top_lines.append(stamp)
    # Figures move as news develops ("40 Verletzte" -> "47 Verletzte"), in the lead first.
    for paragraph in draft.paragraphs[:2]:
        for i, sentence in enumerate(paragraph):
            if german.protected_ranges(sentence):
                continue
            match = _FIGURE.search(sentence)
            if match and rng.random() < 0.6:
                value = int(match.group(1))
                new = value + max(1, round(value * rng.uniform(0.05, 0.3)))
                paragraph[i] = sentence[: match.start(1)] + str(new) + sentence[match.end(1) :]
                break
    new_paragraphs = [
        ctx.fresh.paragraph(ctx.topic, rng.randint(2, 4)) for _ in range(rng.randint(1, 2))
    ]
    if rng.random() < 0.3 and len(draft.paragraphs) > 1:
        draft.paragraphs[1:1] = new_paragraphs[:1]
        draft.paragraphs.extend(new_paragraphs[1:])
    else:
        draft.paragraphs.extend(new_paragraphs)
    if rng.random() < 0.5:
        draft.headline = rng.choice(("Update: ", "Neu: ", "")) + draft.headline


def light_edit(draft: Draft, ctx: Context, *, words: tuple[int, int] = (2, 6)) -> None:
    """A few words changed, a sentence dropped and one added, maybe one restructured."""
    rng = ctx.rng
    positions = [
        (p, s) for p, paragraph in enumerate(draft.paragraphs) for s in range(len(paragraph))
    ]
    target = rng.randint(*words)
    for p, s in rng.sample(positions, k=len(positions)):
        if target == 0:
            break
        rewritten = german.substitute_one(draft.paragraphs[p][s], rng)
        if rewritten is not None:
            draft.paragraphs[p][s] = rewritten
            target -= 1
    if rng.random() < 0.4:
        for p, s in rng.sample(positions, k=len(positions)):
            for rule in german.STRUCTURAL_REWRITES:
                out = rule(draft.paragraphs[p][s])
                if out:
                    draft.paragraphs[p][s : s + 1] = out
                    break
            else:
                continue
            break
    sentences = sum(len(p) for p in draft.paragraphs)
    # A short item keeps all its sentences, and gains at most one in four of its own.
    if rng.random() < 0.6 and sentences >= 6:
        candidates = [
            (p, s)
            for p, paragraph in enumerate(draft.paragraphs)
            for s in range(len(paragraph))
            if (p, s) != (0, 0)
        ]
        if len(candidates) > 3:
            p, s = rng.choice(candidates)
            del draft.paragraphs[p][s]
    if rng.random() < 0.5 and sentences >= 4:
        p = rng.randrange(len(draft.paragraphs))
        draft.paragraphs[p].insert(
            rng.randint(1, len(draft.paragraphs[p])), ctx.fresh.sentence(ctx.topic)
        )
    draft.paragraphs = [p for p in draft.paragraphs if p]


def heavy_rewrite(draft: Draft, ctx: Context) -> None:
    """Rewrite the story in the outlet's words, as seed 002 does with 001.

    Vocabulary and clause order change, sentences are split, merged, reordered and dropped,
    own sentences and a closing paragraph are added; direct speech stays verbatim.
    """
    rng = ctx.rng
    rate, structure, drop = rng.uniform(0.7, 0.95), rng.uniform(0.5, 0.85), rng.uniform(0.15, 0.35)
    sentences: list[str] = []
    for p, paragraph in enumerate(draft.paragraphs):
        for s, sentence in enumerate(paragraph):
            if (p, s) != (0, 0) and rng.random() < drop:
                continue
            sentences.extend(german.reword_sentence(sentence, rng, rate=rate, structure=structure))
    merged: list[str] = []
    for sentence in sentences:
        if merged and rng.random() < 0.25:
            joined = german.merge_sentences(merged[-1], sentence, rng)
            if joined:
                merged[-1] = joined
                continue
        merged.append(sentence)
    sentences = merged
    for i in range(1, len(sentences) - 1):
        if rng.random() < 0.25:
            sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
    for _ in range(rng.randint(1, 3)):
        sentences.insert(rng.randint(1, len(sentences)), ctx.fresh.sentence(ctx.topic))
    draft.paragraphs = [sentences]
    draft.crossheads, draft.inserts = {}, {}
    regroup(draft, rng)
    if len(draft.paragraphs) > 3 and rng.random() < 0.5:
        moved = draft.paragraphs.pop(rng.randrange(2, len(draft.paragraphs)))
        draft.paragraphs.insert(1, moved)
    if rng.random() < 0.5:
        own = ctx.fresh.paragraph(ctx.topic, rng.randint(2, 4))
        draft.paragraphs.append(own)
        draft.crossheads[len(draft.paragraphs) - 1] = crosshead_for(own, rng)
    if draft.standfirst and rng.random() < 0.5:
        draft.standfirst = [
            s
            for sentence in draft.standfirst
            for s in german.reword_sentence(sentence, rng, rate=1.0, structure=1.0)
        ]
    else:
        draft.standfirst = []
    draft.headline = german.substitute(draft.headline, rng, 1.0)[0]
    if rng.random() < 0.6 and len(draft.paragraphs) > 2:
        for i in rng.sample(range(1, len(draft.paragraphs)), k=min(2, len(draft.paragraphs) - 1)):
            draft.crossheads.setdefault(i, crosshead_for(draft.paragraphs[i], rng))


def make_copy(article: Article, kind: str, ctx: Context) -> tuple[str, str]:
    """Write one re-run of ``article`` with edit ``kind``; returns (text, headline)."""
    rng = ctx.rng
    draft = Draft.from_article(article, rng)
    add_framing(draft, ctx)
    outlet = ctx.outlet
    if kind == "dateline":
        # Framing only: the outlet keeps the agency's typography for this one.
        ctx = Context(_plain(outlet), ctx.day, ctx.fresh, ctx.topic, rng)
    elif kind == "typography":
        pass
    elif kind == "layout":
        add_layout(draft, ctx)
    elif kind == "truncation":
        truncate(draft, ctx)
    elif kind == "abridged":
        abridge(draft, ctx)
    elif kind == "update":
        update(draft, ctx)
    elif kind == "light":
        light_edit(draft, ctx)
    elif kind == "heavy":
        heavy_rewrite(draft, ctx)
    elif kind == "combined":
        rng.choice((truncate, update, abridge))(draft, ctx)
        light_edit(draft, ctx, words=(1, 4))
        add_layout(draft, ctx)
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    return render(draft, ctx)


def _plain(outlet: Outlet) -> Outlet:
    return Outlet(
        outlet.name,
        outlet.agency,
        outlet.dateline,
        outlet.byline,
        outlet.footer,
        headline_in_text=outlet.headline_in_text,
    )


# --------------------------------------------------------------------------------------------
# Roundups (partial overlap)
# --------------------------------------------------------------------------------------------

ROUNDUP_TITLES = (
    "Der Tag im Überblick",
    "Kurz gemeldet",
    "Nachrichten am Morgen",
    "Was heute wichtig ist",
    "Meldungen aus aller Welt",
    "Das Wichtigste in Kürze",
    "Der Abend kompakt",
    "Newsticker",
)


#: The most of a source's words a roundup borrows (see build_syndication_corpus).
ROUNDUP_MAX_SOURCE_SHARE = 0.4


def _share(article: Article, first: int, last: int) -> float:
    """Share of the article's words in paragraphs ``first..last``."""
    start, end = article.paragraph_span(first, last)
    return len(article.text[start:end].split()) / max(1, len(article.text.split()))


def make_roundup(
    borrowed: list[tuple[Article, int, int]], ctx: Context
) -> tuple[str, list[tuple[int, Span, Span]]]:
    """A roundup with paragraphs ``first..last`` of each borrowed article, verbatim.

    Returns the text and, per borrowed article (by position in ``borrowed``), the gold span in
    the roundup and in the article's original text.
    """
    rng, fresh = ctx.rng, ctx.fresh
    items: list[tuple[str, int | None]] = []
    items.extend(("", position) for position in range(len(borrowed)))
    topics = [a.topic for a, _, _ in borrowed]
    borrowed_words = sum(
        len(a.text[slice(*a.paragraph_span(f, l))].split()) for a, f, l in borrowed
    )
    filler_words = 0
    # At least as much filler as borrowed text: each borrowed story stays a minority.
    for count in range(8):
        if count >= 2 and filler_words >= borrowed_words:
            break
        paragraph = " ".join(fresh.paragraph(rng.choice(topics), rng.randint(2, 4)))
        filler_words += len(paragraph.split())
        items.append((paragraph, None))
    rng.shuffle(items)
    parts = [rng.choice(ROUNDUP_TITLES)]
    if rng.random() < 0.5:
        parts.append(
            rng.choice(("Die wichtigsten Meldungen im Überblick:", "Das sollten Sie heute wissen:"))
        )
    text = "\n\n".join(parts)
    gold: list[tuple[int, Span, Span]] = []
    for filler, index in items:
        heading: str | None = None
        if index is None:
            body = filler
        else:
            article, first, last = borrowed[index]
            start, end = article.paragraph_span(first, last)
            # Borrowed verbatim, as roundups do; only the agency's double spaces are collapsed.
            body = _collapse_spaces(article.text[start:end])
            heading = (
                headline_from(article.standfirst_text()[0])
                if article.standfirst and rng.random() < 0.7
                else None
            )
        if heading is None and rng.random() < 0.5:
            heading = crosshead_for(german.split_sentences(body), rng)
        if heading:
            text += "\n\n" + heading
        text += "\n\n"
        if index is not None:
            gold.append((index, (len(text), len(text) + len(body)), (start, end)))
        text += body
    if ctx.outlet.footer:
        text += "\n\n" + fill(rng.choice(ctx.outlet.footer), ctx)
    return text, gold


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyndicationSize:
    sources: int
    roundups: int
    held_out: int
    background: int | None  # None: every remaining article
    copies: tuple[int, ...] = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)  # copies per story, drawn uniformly


FULL = SyndicationSize(sources=200, roundups=80, held_out=170, background=None)
QUICK = SyndicationSize(sources=60, roundups=24, held_out=70, background=150)


def build_syndication_corpus(
    rows: list[tuple[str, str]], *, seed: int, size: SyndicationSize, exclude: set[int]
) -> Corpus:
    """The syndication corpus from 10kGNAD ``rows`` (topic, text).

    ``exclude`` are rows left out entirely (known natural overlaps inside 10kGNAD, so that
    every overlap in the corpus is labelled).
    """
    rng = random.Random(seed)
    usable = [i for i in range(len(rows)) if i not in exclude]
    stubs = [i for i in usable if is_boilerplate_stub(rows[i][1])]
    articles = {
        i: parse_article(i, rows[i][0], rows[i][1], random.Random(f"{seed}:{i}")) for i in usable
    }
    eligible = [
        i
        for i in usable
        if i not in stubs
        and len(rows[i][1]) >= 1200
        and sum(len(p) for p in articles[i].paragraphs) >= 7
    ]
    rng.shuffle(eligible)
    source_rows = sorted(eligible[: size.sources])
    held_out_rows = sorted(eligible[size.sources : size.sources + size.held_out])
    rest = sorted(set(usable) - set(source_rows) - set(held_out_rows))
    if size.background is not None:
        # Keep the boilerplate stubs in the background: they are part of real 10kGNAD.
        non_stub = [i for i in rest if i not in stubs]
        rest = sorted(
            set(stubs)
            | set(rng.sample(non_stub, k=min(len(non_stub), size.background - len(stubs))))
        )
    background_rows = rest
    fresh = FreshText([articles[i] for i in held_out_rows], rng)

    plan = [rng.choice(size.copies) for _ in source_rows]
    kinds = [EDIT_KINDS[i % len(EDIT_KINDS)] for i in range(sum(plan))]
    rng.shuffle(kinds)

    docs: list[tuple[str, Document, dict[str, Any]]] = []  # (key, document, info)
    gold_clusters: list[set[str]] = []
    pairs_by_kind: dict[str, set[frozenset[str]]] = defaultdict(set)
    start_day = date(2015, 6, 1)

    def key_of(role: str, *parts: object) -> str:
        return ":".join([role, *map(str, parts)])

    cluster_of_row: dict[int, set[str]] = {}
    kind_iter = iter(kinds)
    for row, n_copies in zip(source_rows, plan):
        article = articles[row]
        day = start_day + timedelta(days=rng.randrange(365))
        original_key = key_of("original", row)
        docs.append(
            (
                original_key,
                Document(
                    id=original_key, text=rows[row][1], date=day.isoformat(), source="DER STANDARD"
                ),
                {"role": "original", "story": row, "topic": article.topic},
            )
        )
        cluster = {original_key}
        outlets = rng.sample(OUTLETS, k=n_copies)
        for c in range(n_copies):
            kind = next(kind_iter)
            outlet = outlets[c]
            if kind == "typography" and not outlet.has_house_style:
                outlet = rng.choice(
                    [o for o in STYLED_OUTLETS if o not in outlets] or list(STYLED_OUTLETS)
                )
            copy_day = day + timedelta(days=rng.choice((0, 0, 0, 1)))
            ctx = Context(outlet, copy_day, fresh, article.topic, rng)
            text, headline = make_copy(article, kind, ctx)
            copy_key = key_of("copy", row, c)
            docs.append(
                (
                    copy_key,
                    Document(
                        id=copy_key,
                        text=text,
                        title=headline,
                        date=copy_day.isoformat(),
                        source=outlet.name,
                    ),
                    {
                        "role": "copy",
                        "story": row,
                        "kind": kind,
                        "outlet": outlet.name,
                        "topic": article.topic,
                    },
                )
            )
            cluster.add(copy_key)
            pairs_by_kind[kind].add(frozenset((original_key, copy_key)))
        gold_clusters.append(cluster)
        cluster_of_row[row] = cluster

    for row in background_rows:
        key = key_of("background", row)
        day = start_day + timedelta(days=rng.randrange(365))
        docs.append(
            (
                key,
                Document(id=key, text=rows[row][1], date=day.isoformat(), source="DER STANDARD"),
                {"role": "background", "story": row, "topic": rows[row][0], "stub": row in stubs},
            )
        )

    # Roundups borrow from originals of re-run stories and from background articles alike.
    lendable = [r for r in source_rows] + [
        r for r in background_rows if r not in stubs and len(articles[r].paragraphs) >= 2
    ]
    passages: list[tuple[str, str, Span, Span]] = []
    expected_partial: set[frozenset[str]] = set()
    # Each story lends to one roundup only, so that roundups share no text with each other.
    # A roundup is a *partial* overlap only while each text keeps most of its own: by the
    # relation definitions, a roundup that carries most of a story contains it. So what is
    # borrowed stays at most ROUNDUP_MAX_SOURCE_SHARE of the source's words (a story too
    # short for that lends nothing), and make_roundup adds at least as much filler as it
    # borrows.
    rng.shuffle(lendable)
    for n in range(size.roundups):
        k = 1 if rng.random() < 0.6 else 2
        chosen: list[int] = []
        borrowed = []
        while len(chosen) < k:
            row = lendable.pop()
            article = articles[row]
            first = rng.randrange(len(article.paragraphs))
            last = min(len(article.paragraphs) - 1, first + (1 if rng.random() < 0.4 else 0))
            if _share(article, first, last) > ROUNDUP_MAX_SOURCE_SHARE:
                last = first
            if _share(article, first, last) > ROUNDUP_MAX_SOURCE_SHARE:
                continue
            chosen.append(row)
            borrowed.append((article, first, last))
        outlet = rng.choice(OUTLETS)
        day = start_day + timedelta(days=rng.randrange(365))
        text, gold = make_roundup(borrowed, Context(outlet, day, fresh, borrowed[0][0].topic, rng))
        key = key_of("roundup", n)
        docs.append(
            (
                key,
                Document(id=key, text=text, title=None, date=day.isoformat(), source=outlet.name),
                {"role": "roundup", "borrows": chosen, "outlet": outlet.name},
            )
        )
        for index, roundup_span, source_span in gold:
            row = chosen[index]
            source_key = (
                key_of("original", row) if row in cluster_of_row else key_of("background", row)
            )
            passages.append((key, source_key, roundup_span, source_span))
            for member in cluster_of_row.get(row, ()):
                if member != source_key:
                    expected_partial.add(frozenset((key, member)))

    # Opaque ids in random order: no detector may learn anything from an id or its rank.
    rng.shuffle(docs)
    width = len(str(len(docs)))
    id_of = {key: f"syn-{n:0{width}d}" for n, (key, _, _) in enumerate(docs, 1)}
    documents = [
        Document(id=id_of[key], text=d.text, title=d.title, date=d.date, source=d.source)
        for key, d, _ in docs
    ]
    doc_info = {id_of[key]: {"key": key, **info} for key, _, info in docs}
    corpus = Corpus(
        name="syndication",
        documents=sorted(documents, key=lambda d: d.id),
        gold_clusters=[{id_of[k] for k in c} for c in gold_clusters],
        gold_pairs_by_kind={
            kind: {frozenset(id_of[k] for k in p) for p in pairs}
            for kind, pairs in pairs_by_kind.items()
        },
        gold_passages=[
            GoldPassage(id_of[a], id_of[b], sa, sb, "roundup") for a, b, sa, sb in passages
        ],
        negative_pairs={
            "boilerplate_stub": {
                frozenset((id_of[key_of("background", a)], id_of[key_of("background", b)]))
                for a in stubs
                for b in stubs
                if a < b and a in background_rows and b in background_rows
            }
        },
        expected_partial={frozenset(id_of[k] for k in p) for p in expected_partial},
        doc_info=doc_info,
        notes={
            "sources": len(source_rows),
            "held_out": len(held_out_rows),
            "background": len(background_rows),
        },
    )
    return corpus


STUB_SENTENCE = "Der Volltext dieses auf Agenturmeldungen basierenden Artikels steht aus rechtlichen Gründen nicht mehr zur Verfügung."


def is_boilerplate_stub(text: str) -> bool:
    return STUB_SENTENCE in text and len(text) < len(STUB_SENTENCE) + 400


def overlap_by_kind(corpus: Corpus, n: int = 5) -> dict[str, dict[str, float]]:
    """How much of each original survives per edit kind: medians of word ``n``-gram Jaccard
    and of the share of the copy's n-grams found in the original (containment)."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}

    values: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for kind, pairs in corpus.gold_pairs_by_kind.items():
        for pair in pairs:
            original, copy = sorted(pair, key=lambda d: corpus.doc_info[d]["role"] != "original")
            a, b = grams(corpus.text(original)), grams(corpus.text(copy))
            if a and b:
                values[kind].append((len(a & b) / len(a | b), len(a & b) / len(b)))
    out: dict[str, dict[str, float]] = {}
    for kind, scores in sorted(values.items()):
        jaccard = sorted(j for j, _ in scores)
        containment = sorted(c for _, c in scores)
        out[kind] = {
            "pairs": len(scores),
            f"jaccard{n}_median": round(jaccard[len(jaccard) // 2], 3),
            f"jaccard{n}_p10": round(jaccard[len(jaccard) // 10], 3),
            f"containment{n}_median": round(containment[len(containment) // 2], 3),
        }
    return out
