"""Signing's block path (dedup.batch) against the per-document functions it stands for."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import batch
from dedup.batch import TextFeatures, document_features
from dedup.boilerplate import token_sentence_keys
from dedup.kernels import utf8_points
from dedup.models import Document
from dedup.normalize import (
    PlainFolds,
    fold_origins,
    normalize,
    plain_fold,
    plain_fold_marked,
    plain_fold_points,
)
from dedup.shingle import word_hashes
from dedup.store import DocumentStore, StoredTexts
from dedup.tokens import content_mask, sentence_lengths, tokenize_lazily
from dedup.vocabulary import Vocabulary, _KeyTable

from .conftest import ROOT
from .test_fast_paths import PLAIN_PIECES

# Sentence ends next to quotes, brackets, apostrophes and the separator between documents;
# lone surrogates (JSON may escape one, and a store keeps it).
PIECES = [*PLAIN_PIECES, "'", "'a", "a'", "''", ".'", '."', ".)", "!]", "?!", "\x00", "…\n",
          "\ud800", "a\udfffb"]
texts = st.lists(st.one_of(
    st.text(max_size=60),
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.lists(st.sampled_from(PIECES), max_size=50).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=50).map("".join),
), max_size=8)


def _expected(text: str, min_words: int) -> tuple[np.ndarray, ...]:
    # What signing finds of a text, and the stems of its content words (the Vocabulary(4)
    # of the tests cuts stems at 4 characters) with how many each sentence has.
    tokens = tokenize_lazily(text)
    content = content_mask(tokens.words)
    stems = word_hashes([word[:4] for word, keep in zip(tokens.words, content) if keep])
    per_sentence = np.array([content[first:last].sum() for first, last in tokens.sentences])
    return (word_hashes(tokens.words), sentence_lengths(tokens.sentences),
            token_sentence_keys(tokens, word_hashes(tokens.words), min_words), stems,
            per_sentence)


def _same(features: TextFeatures, given: list[str], min_words: int) -> None:
    found = features.split()
    assert len(found) == len(given)
    for text, got in zip(given, found):
        want = _expected(text, min_words)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.tolist() == b.tolist(), text


@settings(deadline=None, max_examples=400)
@given(texts, st.sampled_from([1, 4, 1 << 19]), st.integers(1, 6))
def test_block_features_are_the_per_document_ones(given: list[str], limit: int,
                                                  min_words: int) -> None:
    # A small vocabulary limit makes it start over at every lookup, block or document.
    vocab = Vocabulary(4, limit=limit)
    for _ in range(2):  # words new, then known
        _same(document_features(given, vocab, min_words), given, min_words)


@settings(deadline=None, max_examples=100)
@given(texts, st.data())
def test_features_of_some_texts_are_theirs(given: list[str], data: st.DataObject) -> None:
    keep = data.draw(st.lists(st.booleans(), min_size=len(given), max_size=len(given)))
    found = document_features(given, Vocabulary(4), 2)
    some = found.only(np.asarray(keep, dtype=bool)).split()
    expected = [f for f, kept in zip(found.split(), keep) if kept]
    assert [[a.tolist() for a in f] for f in some] == [[a.tolist() for a in f]
                                                      for f in expected]


def test_real_news_in_blocks_and_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()
    news = [json.loads(line)["text"] for line in rows]
    assert sum(plain_fold(t) is not None for t in news) >= 0.9 * len(news)  # blocks are used
    vocab = Vocabulary(4)
    _same(document_features(news, vocab, 4), news, 4)
    # Blocks cut at a few thousand characters, and a document longer than a block alone.
    monkeypatch.setattr(batch, "MAX_CHARS", 3000)
    _same(document_features(news, vocab, 4), news, 4)
    assert any(len(t) >= 3000 for t in news)


def test_a_stores_texts_are_folded_from_its_utf8_as_the_strings_are() -> None:
    rows = (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()
    news = [json.loads(line)["text"] for line in rows]
    news[3] = f"\ud800 {news[3]} \U0001f600"  # lone surrogate, beyond the plane: not plain
    store = DocumentStore()
    store.extend([Document(f"d{i:03d}", text) for i, text in enumerate(news)])
    stored = store.sorted_by_id().select(list(range(len(news)))[::-1]).texts(0, len(news))
    assert isinstance(stored, StoredTexts) and list(stored) == news[::-1]
    _same(document_features(stored, Vocabulary(4), 4), news[::-1], 4)
    with pytest.raises(ValueError, match="another number of characters"):
        utf8_points(np.frombuffer("Straße".encode(), dtype=np.uint8), 5)
    with pytest.raises(ValueError, match="another number of characters"):
        utf8_points(np.frombuffer("Straße".encode()[:5], dtype=np.uint8), 5)  # cut in ß


def _folded_as_each(given: list[str]) -> PlainFolds:
    """The folds of ``given`` together, checked against :func:`plain_fold_marked` of each:
    which texts are plain, their folds and where each folded character came from."""
    folds = plain_fold_points(given, origins=True)
    marked = [plain_fold_marked(text) for text in given]
    assert folds.plain.tolist() == [m is not None for m in marked]
    plain = [(text, m) for text, m in zip(given, marked) if m is not None]
    joined = "".join(m[0] + "\x00" for _, m in plain)
    assert folds.points.tolist() == [ord(c) for c in joined]
    assert folds.lengths.tolist() == [len(m[0]) for _, m in plain]
    assert folds.origin is not None and len(folds.origin) == len(folds.points)
    at = 0
    for text, m in plain:
        want = fold_origins(len(text), m[1])
        expected = np.arange(len(text)) if want is None else want
        assert folds.origin[at : at + len(m[0]) + 1].tolist() == [*expected.tolist(), -1]
        at += len(m[0]) + 1
    return folds


@settings(deadline=None, max_examples=400)
@given(texts)
def test_folds_of_many_texts_are_plain_fold_of_each(given: list[str]) -> None:
    _folded_as_each(given)


def test_folds_longer_than_their_texts_are_folded_again_into_more_room() -> None:
    # "ß" and "½" fold to two and three characters: far more than the room a fold starts
    # with (a sixteenth over the texts' own), so the kernel runs out of it and starts over.
    given = ["Straße " * 50, "\u00bd" * 300, "kurz", "Ma\u00dfe \U0001f600", "\u00bd\u00df"]
    folds = _folded_as_each(given)
    assert folds.plain.tolist() == [True, True, True, False, True]
    assert len(folds.points) > 1.5 * sum(map(len, given))


def test_folding_rejects_what_plain_fold_rejects() -> None:
    given = ["Ende-\nWort", "Ende-  \n Wort", "a - b", "Text-", "x &amp; y", "a & b; c",
             "a & b", "<p>", "a\rb", "Stra\u00dfe \ufb01", "\U0001f600", "", "a\x00b.",
             "Ende-.\nWort", "a-b\nc", "a\u2013\n", "a-\u00ad\nb", "a-\u00a0\nb", "-", "\n-",
             "a \U0001f600 b-\n"]
    assert plain_fold_points(given).plain.tolist() == \
        [plain_fold(text) is not None for text in given]


def test_an_ampersand_and_a_semicolon_are_plain_unless_they_spell_an_entity() -> None:
    # Only "&name;" (name: 1 to 33 of [#0-9a-z] once folded) can be what the HTML stage
    # decodes; "&t;" names no entity, but the check goes by the form alone.
    given = {"AT&T kauft; Umsatz": True, "S&P 500; M&A": True, "& amp;": True, "&;": True,
             "AT&T;": False,
             "&" + "a" * 34 + ";": True, "a &amp; b": False, "a &AMP; b": False,
             "&#39;": False, "&#X27;": False, "&&amp;": False, "&" + "a" * 33 + ";": False,
             "x&y z;": True, "x&yz;": False}
    assert [plain_fold(text) is not None for text in given] == list(given.values())
    assert plain_fold_points(list(given)).plain.tolist() == list(given.values())
    for text, plain in given.items():
        if plain:
            assert normalize(text).text == plain_fold(text)


def test_blocks_split_when_folds_outgrow_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # "ß" folds to "ss": texts that fit a block unfolded may not once folded.
    monkeypatch.setattr(batch, "MAX_CHARS", 40)
    given = ["ß" * 15, "ß" * 15, "abc", "ß" * 30, "ß" * 45, "\U0001f600 x", "ende"]
    alone, blocks = batch.plain_blocks(given)
    assert alone == [3, 4, 5]  # 3: one text folding to 60; 4: as long as a block
    assert [block.rows for block in blocks] == [[0], [1, 2], [6]]
    for block in blocks:
        assert len(block.folds.points) <= batch.MAX_CHARS + 1
        assert block.folds.lengths.tolist() == [len(plain_fold(given[i]) or "")
                                                for i in block.rows]
    vocab = Vocabulary(4)
    _same(document_features(given, vocab, 2), given, 2)


def test_texts_beyond_the_plane_or_a_block_take_the_per_document_path() -> None:
    alone, blocks = batch.plain_blocks(["emoji \U0001f600 hier", "x" * batch.MAX_CHARS, "ok"])
    assert alone == [0, 1]
    assert [block.rows for block in blocks] == [[2]]


@settings(deadline=None, max_examples=100)
@given(st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=3000),
       st.integers(1, 5000))
def test_key_table_is_a_dict(keys: list[int], slots: int) -> None:
    # Starting small makes it grow; 0 is a key like any other.
    table = _KeyTable(slots)
    reference: dict[int, int] = {}
    for start in range(0, len(keys), 700):
        part = np.array(keys[start : start + 700], dtype=np.uint64)
        found = table.get(part)
        assert found.tolist() == [reference.get(k, -1) for k in part.tolist()]
        new = np.flatnonzero(found < 0)
        values = np.arange(len(reference), len(reference) + len(new), dtype=np.int64)
        table.put(part[new], values)
        reference.update(zip(part[new].tolist(), values.tolist()))
    everything = np.array(keys, dtype=np.uint64)
    assert table.get(everything).tolist() == [reference[k] for k in keys]


@settings(deadline=None, max_examples=300)
@given(texts)
def test_documents_prepared_together_are_prepared_alone(given: list[str]) -> None:
    from dedup.align import _seed_hashes
    from dedup.config import Config
    from dedup.models import Document
    from dedup.pipeline import prepare, prepare_many

    config = Config()
    docs = [Document(f"d{i}", text) for i, text in enumerate(given)]
    for together, doc in zip(prepare_many(docs, config), docs):
        alone = prepare(doc, config)
        assert together.doc is doc
        assert together.tokens.words == alone.tokens.words
        assert together.tokens.sentences == alone.tokens.sentences
        for name in ("sentence_of", "starts", "ends"):
            assert getattr(together.tokens, name).tolist() == getattr(alone.tokens, name).tolist()
        for name in ("word_ids", "stems", "stem_pos", "boiler", "uncounted"):
            assert getattr(together, name).tolist() == getattr(alone, name).tolist(), name
        # Hashed for the whole block (together) or for the document when first verified.
        seed = config.align.seed_words
        assert (_seed_hashes(together, 0, seed).tolist()
                == _seed_hashes(alone, 0, seed).tolist())


def test_each_thread_numbers_words_in_its_own_vocabulary() -> None:
    # A dask worker may run several tasks at once in threads; a shared vocabulary could
    # give two words one number when two threads add words together.
    from concurrent.futures import ThreadPoolExecutor

    from dedup.vocabulary import vocabulary

    rows = (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()
    news = [json.loads(line)["text"] for line in rows]
    with ThreadPoolExecutor(4) as pool:
        mine = list(pool.map(lambda _: id(vocabulary(4)), range(4)))
        found = list(pool.map(lambda n: document_features(news[n::4], vocabulary(4), 4),
                              range(4)))
    assert vocabulary(4) is vocabulary(4)
    assert id(vocabulary(4)) not in mine
    for n in range(4):
        _same(found[n], news[n::4], 4)


def test_word_keys_are_the_keys_blocks_look_words_up_by() -> None:
    from dedup import kernels
    from dedup.tokens import _word_chars, plain_words

    rows = (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in rows]
    folds = plain_fold_points(texts)
    keys = kernels.words(folds.points, _word_chars(), np.uint64(batch._BASE),
                        batch._classes()[3])[2]
    words = [w for text, plain in zip(texts, folds.plain) if plain
             for w in (plain_words(text) or ([], []))[0]]
    assert len(words) > 1000 and batch.word_keys(words).tolist() == keys.tolist()


def test_distinct_words_get_distinct_keys() -> None:
    # A smaller run of benchmarks/perf/word_keys.py: every string of up to three characters,
    # 5,000 random strings of each length from 4 to 24, and the words of real news.
    from benchmarks.perf.word_keys import strings

    rows = (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()
    news = {w for line in rows for w in tokenize_lazily(json.loads(line)["text"]).words}
    words = sorted(set(strings(5_000)) | news)
    assert len(np.unique(batch.word_keys(words))) == len(words)
