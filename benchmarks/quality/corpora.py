"""Labeled corpora for the quality benchmark, built from ``benchmarks/data``.

- :func:`syndication` - generated re-runs of 10kGNAD stories (see :mod:`.syndication`).
- :func:`clough` - Clough & Stevenson short answers: cut / light / heavy against the source,
  ``non`` answers as hard negatives.
- :func:`vroniplag` - documented reuse passages, each side embedded in its own 10kGNAD host.
- :func:`lee` - the same story told in different words: must not match.
- :func:`gnad` - 10kGNAD as it is: boilerplate stubs must not cluster.

Everything is deterministic given ``seed``; no global randomness.
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from dedup.models import Document

from . import german
from .shapes import Corpus, GoldPassage
from .syndication import FULL, QUICK, SyndicationSize, build_syndication_corpus, is_boilerplate_stub

DATA = Path(__file__).resolve().parent.parent / "data"

#: Pairs inside 10kGNAD that a system reported, judged by reading both articles. The
#: overlapping ones were first found by a brute-force scan of shared word 8-grams over all pairs.
#: ``True`` marks pairs that really share text: they are kept out of the generated corpora, so
#: that every overlap there is labelled. Rows are 0-based lines of test.csv.
KNOWN_GNAD_PAIRS: dict[tuple[int, int], tuple[bool, str]] = {
    (745, 880): (
        True,
        (
            "real partial overlap: the same APA paragraph on Sunday opening at the Foxtown outlet "
            "centre (Mendrisio), lightly reworded ('Ab'/'Seit 1. August'), inside two different stories"
        ),
    ),
    (564, 579): (
        True,
        (
            "real, small partial overlap: the agency's standing background sentences on the wave of "
            "violence in Israel ('erwiesene oder mutmaßliche Attentäter'), reworded, in two different stories"
        ),
    ),
    (535, 800): (
        True,
        (
            "not a copy: two previews of different Austria Wien matches print the same squad line-up "
            "(about 30 names)"
        ),
    ),
    (135, 357): (
        False,
        (
            "not a copy: two different agency reports on German industry figures (September "
            "production, August orders) written from the same template"
        ),
    ),
    (550, 976): (
        False,
        (
            "not a copy: two NHL round-ups of different match days (Grabner, Raffl) from the same "
            "template"
        ),
    ),
}


@lru_cache(maxsize=1)
def gnad_rows() -> tuple[tuple[str, str], ...]:
    """10kGNAD test split: (topic, text) per line of test.csv."""
    with open(DATA / "10kgnad" / "test.csv", encoding="utf-8", newline="") as f:
        return tuple((row[0], row[1]) for row in csv.reader(f, delimiter=";", quotechar="'"))


def _known_overlap_rows() -> set[int]:
    return {
        row for pair, (shares_text, _) in KNOWN_GNAD_PAIRS.items() if shares_text for row in pair
    }


# --------------------------------------------------------------------------------------------
# a. Syndication
# --------------------------------------------------------------------------------------------


def syndication(seed: int, size: SyndicationSize = FULL) -> Corpus:
    return build_syndication_corpus(
        list(gnad_rows()), seed=seed, size=size, exclude=_known_overlap_rows()
    )


# --------------------------------------------------------------------------------------------
# b. Clough & Stevenson
# --------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    # The corpus mixes UTF-8 and Windows-1252 files (curly quotes typed in Word).
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def clough() -> Corpus:
    """95 answers and 5 sources; one gold cluster per task: source + cut/light/heavy answers."""
    folder = DATA / "clough-stevenson"
    corpus_dir = folder / "corpus-20090418"
    documents: list[Document] = []
    info: dict[str, dict[str, object]] = {}
    for task in "abcde":
        doc_id = f"clough-orig_task{task}"
        documents.append(
            Document(
                id=doc_id, text=_read_text(corpus_dir / f"orig_task{task}.txt"), source="Wikipedia"
            )
        )
        info[doc_id] = {"role": "source", "task": task}
    clusters: dict[str, set[str]] = {task: {f"clough-orig_task{task}"} for task in "abcde"}
    by_kind: dict[str, set[frozenset[str]]] = {"cut": set(), "light": set(), "heavy": set()}
    negatives: set[frozenset[str]] = set()
    with open(folder / "file_list.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            name = row["File"].strip()
            doc_id = "clough-" + name.removesuffix(".txt")
            task, category = row["Task"].strip(), row["Category"].strip()
            documents.append(Document(id=doc_id, text=_read_text(corpus_dir / name)))
            info[doc_id] = {"role": "answer", "task": task, "category": category}
            source = f"clough-orig_task{task}"
            if category == "non":
                negatives.add(frozenset((doc_id, source)))
            else:
                clusters[task].add(doc_id)
                by_kind[category].add(frozenset((doc_id, source)))
    return Corpus(
        name="clough",
        documents=documents,
        gold_clusters=list(clusters.values()),
        gold_pairs_by_kind=by_kind,
        negative_pairs={"clough_non": negatives},
        doc_info=info,
    )


# --------------------------------------------------------------------------------------------
# c. VroniPlag
# --------------------------------------------------------------------------------------------

VERBATIM_TYPES = frozenset({"KomplettPlagiat", "BauernOpfer", "VerschärftesBauernOpfer"})
DISGUISED_TYPES = frozenset({"Verschleierung"})


def clean_wiki_text(text: str) -> str:
    """Wiki markup off (''italic'', HTML entities, CRLF); ``[...]`` and ``[FN n]`` stay."""
    text = html.unescape(text).replace("\r\n", "\n").replace("''", "")
    return text.strip()


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def vroniplag(seed: int, limit: int | None = None) -> Corpus:
    """Each fragment's two passages embedded into two different unrelated 10kGNAD articles.

    Every host article is used once, so hosts share nothing. ``Verdächtig`` (suspected only)
    and fragments without a reuse type are left out. Fragments that document overlapping text
    (the same passage across a page break) are listed in ``notes["related_fragments"]``:
    a match between their documents is real and not counted as a false positive.
    """
    rng = random.Random(seed)
    fragments = []
    with open(DATA / "vroniplag-lm" / "fragments.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["reuse_type"] in VERBATIM_TYPES | DISGUISED_TYPES:
                fragments.append(record)
    if limit is not None:
        fragments = rng.sample(fragments, k=min(limit, len(fragments)))
    rows = gnad_rows()
    excluded = _known_overlap_rows()
    hosts = [
        i
        for i, (_, text) in enumerate(rows)
        if i not in excluded and not is_boilerplate_stub(text) and len(text) >= 1500
    ]
    rng.shuffle(hosts)
    if len(hosts) < 2 * len(fragments):
        raise ValueError("not enough host articles for the VroniPlag corpus")
    documents: list[Document] = []
    passages: list[GoldPassage] = []
    info: dict[str, dict[str, object]] = {}
    shingles: dict[str, set[tuple[str, ...]]] = {}
    for n, record in enumerate(fragments):
        kind = "verbatim" if record["reuse_type"] in VERBATIM_TYPES else "disguised"
        spans = []
        for side, field in (("diss", "diss_text"), ("src", "src_text")):
            passage = clean_wiki_text(record[field])
            host_row = hosts.pop()
            text, span = embed(rows[host_row][1], passage, rng)
            doc_id = f"vp-{n:03d}-{side}"
            documents.append(Document(id=doc_id, text=text))
            info[doc_id] = {
                "fragment": record["fragment_id"],
                "side": side,
                "host": host_row,
                "reuse_type": record["reuse_type"],
            }
            shingles[doc_id] = _shingles(passage)
            spans.append((doc_id, span))
        (a, a_span), (b, b_span) = spans
        passages.append(GoldPassage(a, b, a_span, b_span, kind))
    related: set[frozenset[str]] = set()
    ids = sorted(shingles)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if a[:6] != b[:6] and shingles[a] & shingles[b]:
                related.add(frozenset((a, b)))
    return Corpus(
        name="vroniplag",
        documents=documents,
        gold_passages=passages,
        expected_partial=related,
        doc_info=info,
        notes={"fragments": len(fragments), "related_fragments": len(related)},
    )


def embed(host: str, passage: str, rng: random.Random) -> tuple[str, tuple[int, int]]:
    """Insert ``passage`` into ``host`` at a sentence boundary (not first or last); returns
    the new text and the passage's ``[start, end)`` in it."""
    spans = german.sentence_spans(host)
    if len(spans) < 4:
        raise ValueError("host article too short to embed a passage")
    boundary = spans[rng.randrange(2, len(spans) - 1)][0]
    before, after = host[:boundary].rstrip(), host[boundary:]
    joiner = rng.choice((" ", "\n\n"))
    start = len(before) + len(joiner)
    text = before + joiner + passage + joiner + after
    return text, (start, start + len(passage))


# --------------------------------------------------------------------------------------------
# d. Lee
# --------------------------------------------------------------------------------------------

LEE_SAME_STORY = 0.8


def lee(with_background: bool = True) -> Corpus:
    """50 rated news items (+300 unlabeled ones); the pairs people rated >= 0.8 are the same
    story told in different words and must not match."""
    folder = DATA / "lee"
    items = (folder / "lee.cor").read_text(encoding="latin-1").splitlines()
    documents = [Document(id=f"lee-{i:02d}", text=t) for i, t in enumerate(items) if t.strip()]
    negatives: set[frozenset[str]] = set()
    for i, line in enumerate((folder / "similarities0-1.txt").read_text().splitlines()):
        for j, value in enumerate(line.split()):
            if j > i and float(value) >= LEE_SAME_STORY:
                negatives.add(frozenset((f"lee-{i:02d}", f"lee-{j:02d}")))
    if with_background:
        background = (folder / "lee_background.cor").read_text(encoding="latin-1").splitlines()
        documents += [
            Document(id=f"leebg-{i:03d}", text=t) for i, t in enumerate(background) if t.strip()
        ]
    duplicates = repeated_items(documents)
    return Corpus(
        name="lee",
        documents=documents,
        gold_clusters=_components(duplicates),
        gold_pairs_by_kind={"repeated_item": duplicates} if duplicates else {},
        negative_pairs={"lee_same_story": negatives},
    )


LEE_REPEAT_CONTAINMENT = 0.5


def repeated_items(documents: list[Document]) -> set[frozenset[str]]:
    """Items the news feed carried twice: at least half of the shorter item's word 5-grams
    appear in the other. On the Lee files this finds 11 background pairs (containment 0.86 to
    1.0); the next pair scores 0.16."""
    grams = {d.id: _shingles(d.text, 5) for d in documents}
    ids = [d.id for d in documents if grams[d.id]]
    found: set[frozenset[str]] = set()
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            shared = len(grams[a] & grams[b])
            if shared and shared >= LEE_REPEAT_CONTAINMENT * min(len(grams[a]), len(grams[b])):
                found.add(frozenset((a, b)))
    return found


def _components(pairs: set[frozenset[str]]) -> list[set[str]]:
    groups: list[set[str]] = []
    for pair in pairs:
        touching = [g for g in groups if g & pair]
        merged = set(pair).union(*touching)
        groups = [g for g in groups if not (g & pair)] + [merged]
    return groups


# --------------------------------------------------------------------------------------------
# e. 10kGNAD as it is
# --------------------------------------------------------------------------------------------


def gnad_id(row: int) -> str:
    return f"gnad-{row:04d}"


def gnad() -> Corpus:
    """All 1,028 articles untouched; stub pairs are negatives, known overlaps are noted."""
    rows = gnad_rows()
    documents = [
        Document(id=gnad_id(i), text=text, source="DER STANDARD")
        for i, (_, text) in enumerate(rows)
    ]
    stubs = [i for i, (_, text) in enumerate(rows) if is_boilerplate_stub(text)]
    negatives = {frozenset((gnad_id(a), gnad_id(b))) for a in stubs for b in stubs if a < b}
    return Corpus(
        name="gnad",
        documents=documents,
        negative_pairs={"boilerplate_stub": negatives},
        doc_info={
            gnad_id(i): {"topic": topic, "stub": i in stubs} for i, (topic, _) in enumerate(rows)
        },
        notes={
            "stubs": [gnad_id(i) for i in stubs],
            "known_pairs": {
                f"{gnad_id(a)} {gnad_id(b)}": why for (a, b), (_, why) in KNOWN_GNAD_PAIRS.items()
            },
        },
    )


# --------------------------------------------------------------------------------------------
# f. The project's seed articles
# --------------------------------------------------------------------------------------------

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def seeds() -> Corpus | None:
    """The three seed articles in ``seeds/``: 002 is a heavy rewrite of 001 (gold pair), 000
    tells the same story from other sources (must not match either). ``None`` if absent."""
    files = {p.name[:3]: p for p in sorted(SEEDS.glob("0*.txt"))} if SEEDS.is_dir() else {}
    if not {"000", "001", "002"} <= set(files):
        return None
    documents = [
        Document(id=f"seed-{k}", text=files[k].read_text(encoding="utf-8"))
        for k in ("000", "001", "002")
    ]
    return Corpus(
        name="seeds",
        documents=documents,
        gold_clusters=[{"seed-001", "seed-002"}],
        gold_pairs_by_kind={"heavy_seed": {frozenset(("seed-001", "seed-002"))}},
        negative_pairs={
            "same_story_other_source": {
                frozenset(("seed-000", "seed-001")),
                frozenset(("seed-000", "seed-002")),
            }
        },
    )


# --------------------------------------------------------------------------------------------
# All of them
# --------------------------------------------------------------------------------------------


def build_corpora(*, quick: bool, seed: int) -> list[Corpus]:
    """The corpora of one run. ``quick`` is the subset for the test suite."""
    if quick:
        corpora = [syndication(seed, QUICK), clough(), vroniplag(seed), lee()]
    else:
        corpora = [syndication(seed, FULL), clough(), vroniplag(seed), lee(), gnad()]
    seed_corpus = seeds()
    if seed_corpus is not None:
        corpora.append(seed_corpus)
    return corpora


def describe(corpus: Corpus) -> dict[str, object]:
    summary = corpus.summary()
    roles = Counter(str(info.get("role", "")) for info in corpus.doc_info.values())
    if any(roles):
        summary["roles"] = dict(sorted(roles.items()))
    summary.update(corpus.notes)
    return summary
