"""A seeded archive and batch of German news for the index benchmark, with planted copies.

Realism where it decides the cost of a check: how often two *unrelated* articles become LSH
candidates. That rate comes from the phrases articles of one section share (line-ups, market
reports, "teilte die Polizei am Montag mit"), and it is what a check pays for in verifications
against a large archive. Measured on the 10kGNAD test split (real articles of one outlet,
boilerplate stubs left out): about 1.4e-4 of unrelated pairs are candidates at the default
5-of-256 collisions. This generator is tuned to the same rate (``bench_check.py`` measures it
on every run and prints it next to the real figure):

* each article belongs to one of the nine 10kGNAD sections and is written sentence by
  sentence from word bigram chains over real text (real vocabulary and word frequencies; new
  sentences, so whole sentences do not recur across unrelated articles): a share
  ``SECTION_SHARE`` of its sentences from the chain over its section's articles, whose
  phrasing same-section articles share (the source of their chance collisions), the rest
  from the chain over all sections;
* 2 % carry a stock line (agency credit, "Lesen Sie auch", newsletter box) and 1 % are
  boilerplate stubs (a lead and a legal note), as in 10kGNAD.

The archive holds 8 % copies of earlier archived articles (exact with a dateline, trimmed,
lightly edited). The batch holds copies, trims and edits of archived articles, copies of
each other, stubs, and fresh articles. Document ``i`` depends only on ``(seed, part, i)``.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "10kgnad" / "test.csv"
DEFAULT_SEED = 20261122
#: Share of an article's sentences written from its section's chain (calibrated: see the
#: module docstring; all of them give twice the real rate of chance candidates).
SECTION_SHARE = 0.85

STOCK_LINES = (
    "Lesen Sie auch: Alle Hintergründe und Analysen zum Thema finden Sie in unserem Dossier.",
    "Abonnieren Sie unseren Newsletter und erhalten Sie jeden Morgen die wichtigsten Meldungen.",
    "Der Artikel wurde aktualisiert und um weitere Informationen der Agentur ergänzt.",
    "Haben Sie Hinweise zu diesem Fall? Dann melden Sie sich bei unserer Redaktion.",
    "Dieser Beitrag stammt aus unserem Archiv und wurde zuletzt im Vorjahr bearbeitet.",
    "(APA, red, Foto: Reuters) Alle Rechte vorbehalten, Weiterverbreitung nur mit Genehmigung.",
)
STUB_NOTE = ("Der Volltext dieses auf Agenturmeldungen basierenden Artikels steht aus "
             "rechtlichen Gründen nicht mehr zur Verfügung.")
DATELINES = ("WIEN (APA) – ", "BERLIN (dpa) – ", "Linz. ", "GRAZ – ", "ZÜRICH (sda) – ")

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?)])")


@dataclass(frozen=True)
class Generated:
    id: str
    text: str
    kind: str  # original, stub, exact, trimmed, edited (copies name their source)
    source: str | None = None


@dataclass
class _Section:
    words: list[str]
    successors: list[list[int]]
    starters: list[int]
    leads: list[str]


@lru_cache(maxsize=1)
def sections() -> tuple[_Section, ...]:
    """The nine sections' chains, then the chain over all of them (last)."""
    by_section: dict[str, list[str]] = {}
    with DATA.open(encoding="utf-8") as f:
        for label, text in csv.reader(f, delimiter=";", quotechar="'"):
            if "Volltext dieses" in text:
                continue  # stubs are generated on purpose, not learned
            by_section.setdefault(label, []).append(text)
    by_section["~all"] = [t for label in sorted(by_section) for t in by_section[label]]
    out = []
    for label in sorted(by_section):
        vocab: dict[str, int] = {}
        successors: list[list[int]] = []
        starters: list[int] = []
        leads: list[str] = []
        for text in by_section[label]:
            sentences = _SENTENCE.split(text)
            if sentences:
                leads.append(sentences[0])
            for sentence in sentences:
                tokens = [vocab.setdefault(t, len(vocab)) for t in _TOKEN.findall(sentence)]
                while len(successors) < len(vocab):
                    successors.append([])
                if len(tokens) < 4 or sentence[-1] not in ".!?":
                    continue
                starters.append(tokens[0])
                for a, b in pairwise(tokens):
                    successors[a].append(b)
        out.append(_Section(list(vocab), successors, starters, leads))
    return tuple(out)


def _sentence(section: _Section, rng: random.Random) -> str:
    token = section.starters[rng.randrange(len(section.starters))]
    out = [section.words[token]]
    while section.words[token] not in (".", "!", "?") or len(out) < 5:
        following = section.successors[token]
        if not following or len(out) > 45:
            out.append(".")
            break
        token = following[rng.randrange(len(following))]
        out.append(section.words[token])
    return _NO_SPACE_BEFORE.sub(r"\1", " ".join(out))


def _rng(seed: int, part: str, i: int, salt: int) -> random.Random:
    return random.Random(f"{seed}:{part}:{i}:{salt}")


def original(seed: int, part: str, i: int) -> list[str]:
    """The sentences of a fresh article (a stub is two sentences)."""
    rng = _rng(seed, part, i, 1)
    *own, everything = sections()
    section = own[rng.randrange(len(own))]
    if rng.random() < 0.01:
        return [section.leads[rng.randrange(len(section.leads))], STUB_NOTE]
    target = rng.randint(300, 550)
    sentences: list[str] = []
    words = 0
    while words < target:
        chain = section if rng.random() < SECTION_SHARE else everything
        sentence = _sentence(chain, rng)
        sentences.append(sentence)
        words += len(sentence.split())
    if rng.random() < 0.02:
        sentences.append(STOCK_LINES[rng.randrange(len(STOCK_LINES))])
    return sentences


def text_of(sentences: list[str]) -> str:
    return "\n\n".join(" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4))


def copy_of(sentences: list[str], kind: str, rng: random.Random) -> str:
    """A re-run of an article: ``exact`` (with a dateline), ``trimmed`` or ``edited``."""
    if kind == "exact":
        return DATELINES[rng.randrange(len(DATELINES))] + text_of(sentences)
    if kind == "trimmed":
        return text_of(sentences[: max(2, int(len(sentences) * rng.uniform(0.4, 0.8)))])
    edited = list(sentences)
    if len(edited) > 3:
        del edited[rng.randrange(1, len(edited))]
    for _ in range(rng.randint(2, 5)):
        k = rng.randrange(len(edited))
        words = edited[k].split()
        words[rng.randrange(len(words))] = rng.choice(("nun", "bereits", "erneut", "zudem"))
        edited[k] = " ".join(words)
    return text_of(edited)


COPY_KINDS = ("exact", "trimmed", "edited")


def archive_doc(seed: int, i: int) -> Generated:
    """Archived article ``i`` (ids ``a000000``...): 8 % copy an earlier archived article."""
    rng = _rng(seed, "a", i, 2)
    if i > 10 and rng.random() < 0.08:
        j = max(0, i - rng.randint(1, 5000))
        kind = COPY_KINDS[rng.randrange(3)]
        return Generated(f"a{i:06d}", copy_of(original(seed, "a", j), kind, rng), kind,
                         f"a{j:06d}")
    sentences = original(seed, "a", i)
    return Generated(f"a{i:06d}", text_of(sentences), "stub" if len(sentences) == 2
                     else "original")


def batch_doc(seed: int, i: int, archive_size: int) -> Generated:
    """Batch article ``i`` (ids ``b0000``...): 6 % exact copies, 3 % trims and 3 % edits of
    archived articles, 2 % copies of an earlier batch article, the rest fresh."""
    rng = _rng(seed, "b", i, 2)
    roll = rng.random()
    if roll < 0.12:
        j = rng.randrange(archive_size)
        kind = "exact" if roll < 0.06 else "trimmed" if roll < 0.09 else "edited"
        return Generated(f"b{i:04d}", copy_of(original(seed, "a", j), kind, rng), kind,
                         f"a{j:06d}")
    if roll < 0.14 and i > 0:
        j = rng.randrange(i)
        return Generated(f"b{i:04d}", copy_of(original(seed, "b", j), "exact", rng), "exact",
                         f"b{j:04d}")
    sentences = original(seed, "b", i)
    return Generated(f"b{i:04d}", text_of(sentences), "stub" if len(sentences) == 2
                     else "original")
