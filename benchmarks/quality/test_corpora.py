"""The labeled corpora are deterministic and their labels are consistent with the texts."""

from __future__ import annotations

import random
import re

import pytest

from . import corpora, german
from .shapes import Corpus
from .syndication import QUICK, is_boilerplate_stub


@pytest.fixture(scope="module")
def syndication() -> Corpus:
    return corpora.syndication(seed=7, size=QUICK)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.replace("\u00ad", "").lower())


def test_syndication_is_deterministic(syndication: Corpus) -> None:
    again = corpora.syndication(seed=7, size=QUICK)
    assert [(d.id, d.text) for d in again.documents] == [
        (d.id, d.text) for d in syndication.documents
    ]
    assert again.gold_passages == syndication.gold_passages


def test_syndication_gold_passages_point_at_the_same_words(syndication: Corpus) -> None:
    assert syndication.gold_passages
    for gold in syndication.gold_passages:
        a = syndication.text(gold.a)[slice(*gold.a_span)]
        b = syndication.text(gold.b)[slice(*gold.b_span)]
        assert _words(a) == _words(b)


def test_roundups_and_stubs_are_in_no_gold_cluster(syndication: Corpus) -> None:
    clustered = set().union(*syndication.gold_clusters)
    for doc_id, info in syndication.doc_info.items():
        if info["role"] == "roundup" or info.get("stub"):
            assert doc_id not in clustered
    stubs = [d for d in syndication.documents if is_boilerplate_stub(d.text)]
    assert len(stubs) == 12


def test_every_copy_is_labelled_with_its_original(syndication: Corpus) -> None:
    labelled = {
        d for pairs in syndication.gold_pairs_by_kind.values() for pair in pairs for d in pair
    }
    copies = {d for d, info in syndication.doc_info.items() if info["role"] in ("copy", "original")}
    assert copies == labelled


def test_direct_speech_survives_heavy_rewording() -> None:
    sentence = "Wir haben am Montag alles versucht, sagte der Trainer."
    protected = german.protected_ranges(sentence)
    assert protected == [(0, sentence.index(", sagte"))]
    for seed in range(20):
        out = " ".join(
            german.reword_sentence(sentence, random.Random(seed), rate=1.0, structure=1.0)
        )
        assert "Wir haben am Montag alles versucht" in out


def test_vroniplag_offsets_point_at_the_passages() -> None:
    corpus = corpora.vroniplag(seed=3, limit=20)
    assert len(corpus.gold_passages) == 20
    for gold in corpus.gold_passages:
        a = corpus.text(gold.a)[slice(*gold.a_span)]
        b = corpus.text(gold.b)[slice(*gold.b_span)]
        assert a == a.strip() and b == b.strip() and a and b


def test_real_corpora_sizes() -> None:
    clough = corpora.clough()
    assert len(clough.documents) == 100
    assert {k: len(v) for k, v in clough.gold_pairs_by_kind.items()} == {
        "cut": 19,
        "light": 19,
        "heavy": 19,
    }
    assert len(clough.negative_pairs["clough_non"]) == 38
    lee = corpora.lee()
    assert len(lee.negative_pairs["lee_same_story"]) == 18
    gnad = corpora.gnad()
    assert len(gnad.documents) == 1028
    assert len(gnad.negative_pairs["boilerplate_stub"]) == 66
