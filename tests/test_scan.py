"""End-to-end behaviour of scan: the seed acceptance, relations, boilerplate, determinism."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import Config, Document, scan
from dedup._reference import reference_scan
from dedup.models import CLUSTERING_RELATIONS
from dedup.normalize import normalize

from .conftest import SEED_000, SEED_001, SEED_002
from .corpus_text import ARTICLES, paragraphs

QUOTES = [
    "Wir haben eine stetige Zunahme dieser gewalttätigen Inhalte",
    "ernsthaftes Risiko, dass diese Art von Inhalten weiter zur Gewalt anstacheln wird",
    "Wir werden unser Bestes tun, um sofort zu einem neuen Anbieter zu wechseln",
]


def test_seeds_make_one_rewrite_cluster_and_leave_000_alone(
    seed_docs: list[Document], seed_texts: dict[str, str]
) -> None:
    report = scan(seed_docs)
    assert [set(c.members) for c in report.clusters] == [{SEED_001, SEED_002}]
    assert len(report.pairs) == 1
    pair = report.pairs[0]
    assert (pair.a, pair.b) == (SEED_001, SEED_002)
    assert pair.relation in CLUSTERING_RELATIONS
    assert all(SEED_000 not in (m.a, m.b) for m in report.pairs)
    for side, text in (("a", seed_texts[SEED_001]), ("b", seed_texts[SEED_002])):
        spans = [(p.a_start, p.a_end) if side == "a" else (p.b_start, p.b_end)
                 for p in pair.passages if p.kind == "verbatim"]
        quoted = [normalize(text[s:e]).text for s, e in spans]
        for q in QUOTES:
            assert any(normalize(q).text in passage for passage in quoted), (side, q)


def test_exact_copy_with_dateline_and_footer_is_a_duplicate() -> None:
    story = "\n\n".join(paragraphs(ARTICLES[0]))
    copy = f"WIEN (APA) - {story}\n\nCopyright: Beispielzeitung 2021"
    report = scan([Document("orig", story), Document("copy", copy), Document("other", ARTICLES[1])])
    assert [(m.a, m.b, m.relation) for m in report.pairs] == [("copy", "orig", "duplicate")]


def test_truncated_copy_is_contained_and_clustered() -> None:
    story = paragraphs(ARTICLES[0])
    report = scan([Document("full", "\n\n".join(story)), Document("short", story[0])])
    assert [(m.a, m.b, m.relation) for m in report.pairs] == [("full", "short", "contains")]
    assert [set(c.members) for c in report.clusters] == [{"full", "short"}]


def test_roundup_borrowing_from_two_stories_does_not_join_them() -> None:
    one, two = paragraphs(ARTICLES[0]), paragraphs(ARTICLES[1])
    filler = paragraphs(ARTICLES[2])
    roundup = "\n\n".join([filler[0], one[1], filler[1], two[0]])
    docs = [Document("one", "\n\n".join(one)), Document("two", "\n\n".join(two)),
            Document("roundup", roundup)]
    report = scan(docs)
    relations = {(m.a, m.b): m.relation for m in report.pairs}
    assert relations == {("one", "roundup"): "partial", ("roundup", "two"): "partial"}
    assert report.clusters == []


def test_passage_offsets_point_at_matching_text() -> None:
    one, two = paragraphs(ARTICLES[0]), paragraphs(ARTICLES[2])
    texts = {"x": "\n\n".join(one), "y": "\n\n".join([two[0], one[1].upper(), two[1]])}
    report = scan([Document(k, v) for k, v in texts.items()])
    (match,) = report.pairs
    for p in match.passages:
        assert normalize(texts["x"][p.a_start:p.a_end]).text == \
            normalize(texts["y"][p.b_start:p.b_end]).text


def test_boilerplate_stubs_do_not_match() -> None:
    note = ("Der Volltext dieses auf Agenturmeldungen basierenden Artikels steht aus rechtlichen "
            "Gründen nicht mehr zur Verfügung.")
    leads = ["Privater Besuch ohne Öffentlichkeit – Politiker seit langem befreundet.",
             "Explosion auf der Einkaufsstraße Istiklal Caddesi: 40 Verletzte.",
             "Obama will das umstrittene Gefangenenlager noch vor Ende seiner Amtszeit schließen.",
             "46 Prozent der Befragten würden derzeit für einen Brexit stimmen, 44 dagegen.",
             "Reaktion auf Schelte von EU und IWF."]
    docs = [Document(f"stub{i}", f"{lead} {note}") for i, lead in enumerate(leads)]
    calls: list[tuple[str, int, int]] = []
    report = scan(docs, progress=lambda *call: calls.append(call))
    assert report.pairs == []
    assert report.stats["boilerplate_words"] > 0
    # Every stage says how far it got, up to its total: the five carriers were profiled.
    finals = {stage: (done, total) for stage, done, total in calls}
    assert finals["signing"] == (5, 5) and finals["boilerplate"] == (5, 5)
    assert list(finals)[:3] == ["signing", "boilerplate", "candidates"]


def test_documents_signed_in_blocks_give_the_same_corpus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Documents are signed a block at a time and their sentence keys kept in one flat
    # array; which document a key belongs to must survive the blocks.
    from dedup import pipeline
    from dedup.pipeline import build_corpus

    note = "Der Volltext dieses Artikels steht aus rechtlichen Gründen nicht mehr zur Verfügung."
    docs = [Document(f"d{i}", f"{' '.join(paragraphs(ARTICLES[i % len(ARTICLES)])[:1])} {note}")
            for i in range(7)]
    docs.insert(3, Document("d3a", "zu kurz"))  # skipped, in the middle of a block
    whole = build_corpus(docs, Config())
    assert len(pipeline.sign_blocks(len(docs))) == 1
    monkeypatch.setattr(pipeline, "sign_blocks",
                        lambda n: [(s, min(s + 3, n)) for s in range(0, n, 3)])
    blocked = build_corpus(docs, Config())
    assert whole.boilerplate == blocked.boilerplate and len(whole.boilerplate) == 1
    assert whole.signatures.tolist() == blocked.signatures.tolist()
    assert whole.sentence_keys.tolist() == blocked.sentence_keys.tolist()
    assert whole.sentence_counts.tolist() == blocked.sentence_counts.tolist()
    assert whole.sentence_words.tolist() == blocked.sentence_words.tolist()
    assert whole.boilerplate_words == blocked.boilerplate_words > 0
    assert [d.id for d in blocked.documents] == [d.id for d in docs if d.id != "d3a"]
    assert [s.id for s in blocked.skipped] == ["d3a"]


def test_boilerplate_is_the_same_whether_stems_are_written_or_tokenized_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Signing writes content stems to a temporary folder for judging boilerplate when the
    # engine's workers see it; a remote dask cluster's do not, and tokenize again.
    import tempfile

    from dedup import pipeline
    from dedup.engines import SerialEngine
    from dedup.pipeline import build_corpus

    class Remote(SerialEngine):
        shares_tempdir = False

    note = "Der Volltext dieses Artikels steht aus rechtlichen Gründen nicht mehr zur Verfügung."
    docs = [Document(f"d{i}", f"{' '.join(paragraphs(ARTICLES[i % len(ARTICLES)])[:2])} {note}")
            for i in range(9)]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_stems_chunk", None)  # not tokenized again
        written = build_corpus(docs, Config(), engine=SerialEngine())
    assert list(tmp_path.iterdir()) == []  # the stems are gone with the stage
    again = build_corpus(docs, Config(), engine=Remote())
    assert written.boilerplate == again.boilerplate and len(written.boilerplate) == 1


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)).filter(lambda p: p[0] < p[1]),
                unique=True, max_size=60))
def test_verification_order_puts_each_group_of_documents_together(
        edges: list[tuple[int, int]]) -> None:
    import numpy as np

    from dedup.cluster import UnionFind
    from dedup.pipeline import verification_order

    pairs = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)
    ordered = verification_order(pairs).tolist()
    assert sorted(map(tuple, ordered)) == sorted(edges)  # the same pairs, once each
    groups = UnionFind()
    for i, j in edges:
        groups.union(str(i).zfill(2), str(j).zfill(2))
    keys = [int(groups.find(str(i).zfill(2))) for i, _ in ordered]
    # Groups one after another, by their smallest row; pairs by rows within a group.
    assert keys == sorted(keys)
    assert ordered == sorted(ordered, key=lambda p: (int(groups.find(str(p[0]).zfill(2))), p))


def test_widely_copied_story_is_not_mistaken_for_boilerplate() -> None:
    story = "\n\n".join(paragraphs(ARTICLES[0]))
    docs = [Document(f"outlet{i}", f"Meldung von Outlet {i}.\n\n{story}") for i in range(8)]
    report = scan(docs)
    assert [len(c.members) for c in report.clusters] == [8]


def test_short_documents_are_skipped_not_clustered() -> None:
    docs = [Document(f"s{i}", text) for i, text in
            enumerate(["Ja.", "Nein danke.", "Mehr dazu später.", "Ja.", "Gut so."])]
    report = scan(docs + [Document("long", ARTICLES[0])])
    assert report.clusters == [] and report.pairs == []
    assert len(report.skipped) == 5
    assert report.skipped[0].reason.startswith("too short to compare")


def test_same_story_different_articles_do_not_match(seed_docs: list[Document]) -> None:
    by_id = {d.id: d for d in seed_docs}
    report = scan([by_id[SEED_000], by_id[SEED_001]])
    assert report.pairs == []


@settings(deadline=None, max_examples=8)
@given(order=st.permutations(list(range(6))))
def test_report_does_not_depend_on_input_order(order: list[int]) -> None:
    story = paragraphs(ARTICLES[0])
    docs = [Document("a", "\n\n".join(story)), Document("b", "\n\n".join(story[:2])),
            Document("c", ARTICLES[1]), Document("d", "\n\n".join([story[1], ARTICLES[2]])),
            Document("e", "\n\n".join(story) + "\n\nNachtrag: " + ARTICLES[3]),
            Document("f", ARTICLES[3])]
    baseline = scan(docs).to_dict()
    assert scan([docs[i] for i in order]).to_dict() == baseline


def test_fast_path_agrees_with_all_pairs_reference(seed_docs: list[Document]) -> None:
    rng = random.Random(5)
    docs = list(seed_docs)
    for n, article in enumerate(ARTICLES[:6]):
        parts = paragraphs(article)
        docs.append(Document(f"art{n}", article))
        docs.append(Document(f"art{n}-trim", "\n\n".join(parts[: rng.randint(1, len(parts))])))
    # Copies run unchanged share one preparation when verified, and pairs of the same two
    # texts one verdict (art0-trim with art0 and with both reruns); the reference prepares
    # every document alone and verifies every pair.
    docs += [Document("art0-rerun", ARTICLES[0]), Document("art0-rerun2", ARTICLES[0]),
             Document("seed-rerun", seed_docs[1].text)]
    fast, slow = scan(docs).to_dict(), reference_scan(docs).to_dict()
    fast.pop("stats")
    slow.pop("stats")
    assert fast == slow


def test_invalid_config_is_refused() -> None:
    from dedup.config import LSHConfig
    from dedup.errors import ConfigError

    with pytest.raises(ConfigError, match="min_collisions"):
        scan([], Config(lsh=LSHConfig(num_perm=8, min_collisions=9)))


_RETYPESET = [("„", '"'), ("“", '"'), ("–", "-"), (" ", "\u00a0"), ("ß", "ss")]


@settings(deadline=None, max_examples=25)
@given(source=st.integers(0, len(ARTICLES) - 1), host=st.integers(0, len(ARTICLES) - 1),
       first=st.integers(0, 400), length=st.integers(25, 90),
       typography=st.sets(st.sampled_from(range(len(_RETYPESET)))),
       where=st.sampled_from(["start", "middle", "end"]))
def test_reported_passages_point_at_text_that_really_matches(
    source: int, host: int, first: int, length: int, typography: set[int], where: str
) -> None:
    """A stretch of one article, re-typeset as outlets do, inside another article: every
    verbatim passage reported maps back to original text that normalizes identically."""
    if source == host:
        host = (host + 1) % len(ARTICLES)
    words = ARTICLES[source].split(" ")
    start = min(first, max(0, len(words) - length))
    borrowed = " ".join(words[start : start + length])
    for index in sorted(typography):
        old, new = _RETYPESET[index]
        borrowed = borrowed.replace(old, new)
    host_text = ARTICLES[host]
    cut = {"start": 0, "middle": len(host_text) // 2, "end": len(host_text)}[where]
    cut = host_text.rfind(" ", 0, cut) + 1 if cut else 0
    texts = {"source": ARTICLES[source], "copy": f"{host_text[:cut]}{borrowed} {host_text[cut:]}"}
    # All pairs verified (no LSH sampling): the property is about offsets, not candidates.
    report = reference_scan([Document(k, v) for k, v in texts.items()])
    (match,) = [m for m in report.pairs if {m.a, m.b} == {"copy", "source"}]
    verbatim = [p for p in match.passages if p.kind == "verbatim"]
    assert verbatim
    for p in verbatim:
        a_text = normalize(texts[match.a][p.a_start:p.a_end]).text
        b_text = normalize(texts[match.b][p.b_start:p.b_end]).text
        assert a_text == b_text, (a_text, b_text)


def test_json_written_piece_by_piece_is_the_same_text(seed_docs: list[Document]) -> None:
    from dedup.models import Report
    from dedup.report import json_pieces, to_json

    docs = [*seed_docs, *(Document(f"art{n}", a) for n, a in enumerate(ARTICLES[:4])),
            *(Document(f"art{n}-copy", a + "\n\n„Zitat“ ende.") for n, a in
              enumerate(ARTICLES[:3]))]
    report = scan(docs)
    assert report.pairs and report.clusters
    assert "".join(json_pieces(report)) == to_json(report)
    empty = Report(documents=0, params={}, clusters=[], pairs=[], skipped=[], stats={})
    assert "".join(json_pieces(empty)) == to_json(empty)


@pytest.mark.parametrize("enabled", [True, False])
def test_scan_leaves_the_garbage_collector_as_it_found_it(seed_docs: list[Document],
                                                          enabled: bool) -> None:
    import gc

    (gc.enable if enabled else gc.disable)()
    try:
        assert scan(seed_docs).clusters
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
