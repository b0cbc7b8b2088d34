"""Fast paths against their slow, obvious references (RapidFuzz style): same output on any
input, so a speed-up can never change a report."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from random import Random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import compiled
from dedup._reference import content_alignment_reference, exact_runs_reference
from dedup.align import Prepared, _content_alignment, _content_share, exact_runs, verify
from dedup.boilerplate import (
    NO_KEY,
    Frequent,
    SentenceProfile,
    _jaccard,
    frequent_sentences,
    in_sorted,
    median_jaccard,
    token_sentence_keys,
)
from dedup.config import Config, ShingleConfig
from dedup.models import Document
from dedup.pipeline import prepare, sentence_profile
from dedup.shingle import _word_hashes_reference, word_hashes
from dedup.tokens import (
    Tokens,
    _tokenize_reference,
    content_mask,
    plain_words,
    tokenize,
    tokenize_lazily,
)
from dedup.vocabulary import Vocabulary

from .conftest import ROOT
from .corpus_text import ARTICLES, paragraphs

# Words, sentence ends, abbreviations, ordinals, quotes and line breaks: what tokenizing and
# sentence splitting decide on.
PIECES = [
    "Er", "sagte", "wir", "kommen", "Dr.", "Prof.", "am", "6.", "Januar", "2018.", "U.", "S.",
    "a", "b", "z.", "usw.", ".", "!", "?", "…", "...", "„", "“", '"', "'", ")", "]", " ", "  ",
    "\n", "\n\n", "Wien", "–", "-", "Straße", "don't", "it's", "&amp;", "<p>", "\u00ad",
]
news_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(PIECES), max_size=60).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=60).map("".join),
)


def _same_tokens(a: Tokens, b: Tokens) -> None:
    assert a.words == b.words
    assert a.sentences == b.sentences
    for name in ("starts", "ends", "sentence_of"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype
        assert np.array_equal(x, y)


@settings(deadline=None, max_examples=300)
@given(news_text)
def test_tokenize_matches_reference(text: str) -> None:
    _same_tokens(tokenize(text), _tokenize_reference(text))


@settings(deadline=None, max_examples=200)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6))))
def test_word_hashes_match_reference(words: list[str]) -> None:
    fast, slow = word_hashes(words), _word_hashes_reference(words)
    assert fast.dtype == slow.dtype
    assert np.array_equal(fast, slow)


def _sentence_profile_reference(p: Prepared, min_words: int) -> SentenceProfile:
    sentence_of_stem = p.tokens.sentence_of[p.stem_pos]
    bounds = np.searchsorted(sentence_of_stem, np.arange(len(p.tokens.sentences) + 1))
    per_sentence = [np.unique(p.stems[bounds[s]:bounds[s + 1]])
                    for s in range(len(p.tokens.sentences))]
    return SentenceProfile(token_sentence_keys(p.tokens, p.word_ids, min_words), per_sentence)


@settings(deadline=None, max_examples=200)
@given(news_text)
def test_sentence_profile_matches_reference(text: str) -> None:
    p = prepare(Document("x", text), Config())
    fast, slow = sentence_profile(p, 3), _sentence_profile_reference(p, 3)
    assert np.array_equal(fast.keys, slow.keys)
    assert len(fast.sentence_stems) == len(slow.sentence_stems)
    for x, y in zip(fast.sentence_stems, slow.sentence_stems):
        assert x.dtype == y.dtype
        assert np.array_equal(x, y)


@settings(deadline=None, max_examples=150)
@given(st.lists(news_text, min_size=1, max_size=6), st.data())
def test_stems_chunk_matches_profiles(texts: list[str], data: st.DataObject) -> None:
    """What the boilerplate stage profiles in a worker (several documents together, blocks
    or one by one) equals the profile of each prepared document."""
    from dedup.pipeline import _stems_chunk

    config = Config()
    docs = [Document(str(i), text) for i, text in enumerate(texts)]
    items = []
    for row, doc in enumerate(docs):
        count = len(prepare(doc, config).tokens.sentences)
        picked = (data.draw(st.sets(st.integers(0, count - 1), max_size=3)) if count
                  else set())
        items.append((row, tuple(sorted(picked))))
    for (row, sentences), (stems, per_sentence) in zip(items, _stems_chunk((config, docs), items)):
        profile = sentence_profile(prepare(docs[row], config), config.boilerplate.min_words)
        assert stems.dtype == profile.stems().dtype
        assert np.array_equal(stems, profile.stems())
        assert sorted(per_sentence) == list(sentences)
        for s in sentences:
            assert np.array_equal(per_sentence[s], profile.sentence_stems[s])


@settings(deadline=None, max_examples=150)
@given(st.lists(news_text, min_size=1, max_size=8), st.integers(1, 4), st.randoms(),
       st.data())
def test_stems_written_while_signing_match_profiles(texts: list[str], block: int,
                                                    rng: Random, data: st.DataObject) -> None:
    """The stems signing writes for the boilerplate stage, read back in any order from blocks
    of any size (some keeping no document), equal the profile of each prepared document."""
    from dedup.pipeline import _assemble, _sign_blocks, _written_stems_chunk
    from dedup.signatures import Signer

    config = Config(shingle=ShingleConfig(min_words=8))  # some documents skipped
    docs = [Document(f"{i:02}", text) for i, text in enumerate(texts)]
    blocks = [(s, min(s + block, len(docs))) for s in range(0, len(docs), block)]
    signer = Signer(config.lsh.num_perm, config.lsh.seed)
    with tempfile.TemporaryDirectory() as folder:
        corpus, files = _assemble(docs, _sign_blocks((config, signer, docs, folder, None), blocks),
                                  config, folder)
        assert files is not None
        items = []
        for row, doc in enumerate(corpus.documents):
            count = len(prepare(doc, config).tokens.sentences)
            picked = (data.draw(st.sets(st.integers(0, count - 1), max_size=3)) if count
                      else set())
            items.append((row, tuple(sorted(picked))))
        rng.shuffle(items)
        found = _written_stems_chunk(files, items)
    for (row, sentences), (stems, per_sentence) in zip(items, found):
        profile = sentence_profile(prepare(corpus.documents[row], config),
                                   config.boilerplate.min_words)
        assert stems.dtype == profile.stems().dtype
        assert np.array_equal(stems, profile.stems())
        assert sorted(per_sentence) == list(sentences)
        for s in sentences:
            assert np.array_equal(per_sentence[s], profile.sentence_stems[s])


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(0, 12), max_size=80), st.integers(2, 8))
def test_band_pairs_match_reference(values: list[int], max_bucket: int) -> None:
    from dedup.candidates import _band_pairs_reference, band_pairs

    column = np.asarray(values, dtype=np.uint32)
    fast, slow = band_pairs(column, max_bucket), _band_pairs_reference(column, max_bucket)
    assert fast.dtype == slow.dtype
    assert np.array_equal(fast, np.sort(slow))  # ascending as they come


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from([0, 1, 0xFFFF, 0x10000, 0x1FFFF, 0xFFFF0000, 0xFFFFFFFF])
                | st.integers(0, 2**32 - 1), max_size=200))
def test_stable_order_is_a_stable_argsort(values: list[int]) -> None:
    from dedup.candidates import stable_order

    column = np.asarray(values, dtype=np.uint32)
    assert np.array_equal(stable_order(column), np.argsort(column, kind="stable"))
    wide = column.astype(np.int64)  # other types take numpy's own sort
    assert np.array_equal(stable_order(wide), np.argsort(wide, kind="stable"))


# Characters plain_words must either fold as normalize() does or refuse: ß and ligatures
# (fold to several letters), marks that compose with what precedes them, mapped typography,
# invisibles, carriage returns, tags, entities, hyphens at line ends, other scripts.
PLAIN_PIECES = [
    *PIECES, "ß", "ẞ", "STRASSE", "ﬁ", "ﬂ", "\u0301", "e\u0301", "é", "Ä", "A\u0308", "İ",
    "ǰ", "\u00a0", "\t", "\r\n", "\r", "-\n", "- \n", "Ver-", "fügung", "€", "℃", "½", "Ω",
    "ω", "ς", "Σ", "ﬅ", "\u2029", "\u2028", "&", ";", "<", ">", "\u200b", "Ⅻ", "㎏", "ǅ",
    "\u1100", "\u1161", "한", "\U0001f600", "ŉ", "ſ", "ﬀ", "’", "‚", "—",
    # "&" and ";" with and without an entity's name between them.
    "AT&T", "&AMP;", "&#39;", "&#x41;", "&amp", "amp;", "#", "x", "&" + "a" * 33 + ";",
]
plain_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(PLAIN_PIECES), max_size=60).map(" ".join),
    st.lists(st.sampled_from(PLAIN_PIECES), max_size=60).map("".join),
)


@settings(deadline=None, max_examples=1500)
@given(plain_text)
def test_plain_words_are_tokenize_words_and_sentences(text: str) -> None:
    lean = plain_words(text)
    if lean is not None:
        full = tokenize(text)
        assert lean == (full.words, full.sentences)


def test_plain_words_take_most_real_news() -> None:
    # The fast path is only worth having if real articles take it (ß, quotes and dashes
    # included); those that do must give exactly tokenize's words and sentences.
    texts = [json.loads(line)["text"] for line in
             (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()]
    taken = 0
    for text in texts:
        lean = plain_words(text)
        if lean is not None:
            taken += 1
            full = tokenize(text)
            assert lean == (full.words, full.sentences)
    assert taken >= 0.9 * len(texts)


@settings(deadline=None, max_examples=1000)
@given(st.one_of(plain_text, st.text(alphabet=st.sampled_from("ab1_'’ \n.é\u0301ß٣Ⅻ\U0001f600"),
                                     max_size=40)))
def test_word_spans_are_the_word_regex_matches(text: str) -> None:
    from dedup.tokens import _WORD, _word_spans

    found = _word_spans(text)
    if found is None:  # beyond the table: the regex is used
        assert any(ord(c) > 0xFFFF for c in text)
        return
    starts, ends = found
    assert list(zip(starts.tolist(), ends.tolist())) == [m.span() for m in _WORD.finditer(text)]


@settings(deadline=None, max_examples=500)
@given(plain_text)
def test_lazily_tokenized_equals_tokenized(text: str) -> None:
    _same_tokens(tokenize_lazily(text), tokenize(text))


@settings(deadline=None, max_examples=200)
@given(st.lists(st.one_of(st.sampled_from(PLAIN_PIECES), st.text(max_size=8)), max_size=40),
       st.integers(1, 8), st.integers(1, 64))
def test_vocabulary_gives_word_hashes_content_and_stems(words: list[str], stem_chars: int,
                                                        limit: int) -> None:
    # A small limit makes the vocabulary start over, mid-list too.
    vocab = Vocabulary(stem_chars, limit=limit)
    for part in (words, list(reversed(words)), words):
        numbers = vocab.lookup(part)
        assert np.array_equal(vocab.hashes[numbers], word_hashes(part))
        assert np.array_equal(vocab.content[numbers], content_mask(part))
        assert np.array_equal(vocab.stems[numbers],
                              word_hashes([w[:stem_chars] for w in part]))


@settings(deadline=None, max_examples=200)
@given(plain_text)
def test_prepare_equals_the_obvious_computation(text: str) -> None:
    config = Config()
    p = prepare(Document("d", text), config)
    tokens = tokenize(text)
    _same_tokens(p.tokens, tokens)
    content = content_mask(tokens.words)
    assert np.array_equal(p.word_ids, word_hashes(tokens.words))
    assert np.array_equal(p.stem_pos, np.flatnonzero(content))
    stems = [w[: config.align.stem_chars] for w, c in zip(tokens.words, content) if c]
    assert np.array_equal(p.stems, word_hashes(stems))
    fragment = [e - s < config.align.min_sentence_words
                for s, e in tokens.sentences for _ in range(s, e)]
    assert p.uncounted.tolist() == fragment


def _frequent_reference(keys_per_doc: list[np.ndarray], min_docs: int) -> list[Frequent]:
    """The obvious dict of carriers, document by document, sentence by sentence."""
    carriers: dict[int, list[int]] = {}
    where: dict[int, tuple[int, int]] = {}
    for row, keys in enumerate(keys_per_doc):
        for sentence, key in enumerate(keys.tolist()):
            if key == NO_KEY:
                continue
            rows = carriers.setdefault(key, [])
            if not rows or rows[-1] != row:
                rows.append(row)
            where.setdefault(key, (row, sentence))
    return sorted((Frequent(k, rows, where[k]) for k, rows in carriers.items()
                   if len(rows) >= min_docs), key=lambda f: f.key)


@pytest.mark.parametrize("kernels", [True, False])
@settings(deadline=None, max_examples=300)
@given(st.lists(st.lists(st.sampled_from([NO_KEY, 1, 2, 3, 2**63, 2**64 - 1, 7]),
                         max_size=8), max_size=12),
       st.integers(1, 5))
def test_frequent_sentences_match_reference(kernels: bool, keys: list[list[int]],
                                            min_docs: int) -> None:
    arrays = [np.asarray(k, dtype=np.uint64) for k in keys]
    with compiled.using(kernels):
        fast = sorted(frequent_sentences(arrays, min_docs), key=lambda f: f.key)
    assert fast == _frequent_reference(arrays, min_docs)


stem_sets = st.lists(st.integers(0, 9), max_size=8, unique=True).map(
    lambda v: np.asarray(sorted(v), dtype=np.uint64))


@given(st.lists(stem_sets, min_size=2, max_size=6))
def test_median_jaccard_is_the_median_of_numpy_jaccards(sets: list[np.ndarray]) -> None:
    from itertools import combinations

    expected = float(np.median([_jaccard(a, b) for a, b in combinations(sets, 2)]))
    assert median_jaccard(sets) == expected


wide_stem_sets = st.lists(st.integers(0, 60), max_size=12, unique=True).map(
    lambda v: np.asarray(sorted(v), dtype=np.uint64))


@settings(max_examples=300)
@given(st.lists(wide_stem_sets, min_size=4, max_size=14), wide_stem_sets)
def test_boilerplate_rule_is_the_median_of_jaccards_without_the_sentence(
        carriers: list[np.ndarray], own: np.ndarray) -> None:
    from itertools import combinations

    from dedup.boilerplate import is_boilerplate, sampled_carriers
    from dedup.config import BoilerplateConfig

    config = BoilerplateConfig()
    rest = [np.setdiff1d(carriers[d], own, assume_unique=True)
            for d in sampled_carriers(range(len(carriers)), config)]
    median = float(np.median([_jaccard(a, b) for a, b in combinations(rest, 2)]))
    found = is_boilerplate(range(len(carriers)), own, carriers.__getitem__, config)
    assert found == (median < config.max_relatedness)


# Sets in any order, with values twice, empty ones and 64-bit extremes: what the kernel
# must read as the numpy rule does.
loose_stem_sets = st.lists(st.sampled_from([0, 1, 2, 3, 5, 8, 13, 2**63, 2**64 - 1]),
                           max_size=10).map(lambda v: np.asarray(v, dtype=np.uint64))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.lists(st.integers(0, 15), max_size=16, unique=True),
                          loose_stem_sets), max_size=6),
       st.lists(loose_stem_sets, min_size=16, max_size=16),
       st.integers(1, 5), st.integers(2, 13))
def test_judging_many_sentences_at_once_is_judging_each(
        sentences: list[tuple[list[int], np.ndarray]], stems: list[np.ndarray],
        min_docs: int, sample_docs: int) -> None:
    from dedup.boilerplate import is_boilerplate, judge_many
    from dedup.config import BoilerplateConfig

    config = BoilerplateConfig(min_docs=min_docs, sample_docs=sample_docs)
    judged = [(sorted(carriers), own) for carriers, own in sentences]
    each = [is_boilerplate(carriers, own, stems.__getitem__, config)
            for carriers, own in judged]
    for on in (True, False):
        with compiled.using(on):
            assert judge_many(judged, stems.__getitem__, config) == each


def test_judging_many_fetches_each_carrier_once() -> None:
    from dedup.boilerplate import judge_many
    from dedup.config import BoilerplateConfig

    fetched: list[int] = []

    def stems_of(row: int) -> np.ndarray:
        fetched.append(row)
        return np.arange(row, row + 20, dtype=np.uint64)

    config = BoilerplateConfig()
    sentences = [(list(range(8)), np.zeros(0, dtype=np.uint64)),
                 (list(range(4, 12)), np.arange(5, dtype=np.uint64))]
    with compiled.using(True):
        verdicts = judge_many(sentences, stems_of, config)
    assert sorted(fetched) == list(range(12))
    assert verdicts == [False, False]  # neighbours share most of their stems


keys64 = st.lists(st.sampled_from([0, 1, 2, 5, 2**63, 2**64 - 1]), max_size=10)


@given(keys64, keys64)
def test_in_sorted_is_isin(values: list[int], members: list[int]) -> None:
    v, m = np.asarray(values, dtype=np.uint64), np.unique(np.asarray(members, dtype=np.uint64))
    assert np.array_equal(in_sorted(v, m), np.isin(v, m))


word_ids = st.lists(st.integers(0, 6), max_size=120).map(lambda v: np.asarray(v, np.uint64))


@settings(deadline=None, max_examples=400)
@given(word_ids, word_ids, st.integers(1, 5))
def test_exact_runs_match_reference(a: np.ndarray, b: np.ndarray, seed: int) -> None:
    # A 7-word alphabet: repeated phrases, seeds found more than 32 times, competing runs.
    assert exact_runs(a, b, seed) == exact_runs_reference(a, b, seed)


repeated_ids = st.tuples(st.lists(st.integers(0, 2), min_size=1, max_size=12),
                         st.integers(1, 60), st.lists(st.integers(0, 2), max_size=30)).map(
    lambda t: np.asarray(t[0] * t[1] + t[2], np.uint64))


@settings(deadline=None, max_examples=300)
@given(repeated_ids, repeated_ids, st.integers(1, 3))
def test_exact_runs_match_reference_when_seeds_repeat_often(a: np.ndarray, b: np.ndarray,
                                                           seed: int) -> None:
    # A phrase repeated up to 60 times: seeds found far more than 32 times in b, long runs
    # beyond the first 32, and runs cut by others into free stretches of equal length.
    assert exact_runs(a, b, seed) == exact_runs_reference(a, b, seed)


def test_exact_runs_cut_to_the_first_of_equal_free_stretches() -> None:
    # Found by a random search: a run that others leave two free stretches of one length.
    a = [1, 0, 1, 2, 1, 2, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 2, 2, 0, 0, 1, 2, 0, 1, 1, 2, 2, 2, 2,
         1, 2, 1, 2, 1, 0, 0, 1, 2, 0, 1, 0]
    b = [0, 0, 0, 0, 0, 1, 0, 0, 2, 2, 1, 2, 2, 0, 0, 1, 2, 0, 1, 0, 1, 1, 2, 0, 0, 1, 0, 0, 1,
         2, 2, 0, 1, 0, 2, 1, 1, 1, 0, 2, 2, 1, 2, 1, 0, 1, 1, 2, 1, 0, 0, 1, 1, 1, 2, 1, 2, 0,
         2, 0, 2, 1, 2, 1, 2]
    ids_a, ids_b = np.asarray(a, np.uint64), np.asarray(b, np.uint64)
    assert exact_runs(ids_a, ids_b, 1) == exact_runs_reference(ids_a, ids_b, 1)


def test_exact_runs_match_reference_on_real_copies() -> None:
    texts = [json.loads(line)["text"] for line in
             (ROOT / "tests" / "data" / "gnad_sample.jsonl").read_text("utf-8").splitlines()]
    config = Config()
    prepared = [prepare(Document(str(n), t), config) for n, t in enumerate(texts)]
    pairs = [(p, q) for p in prepared for q in prepared]
    pairs += [(p, prepare(Document("trim", p.doc.text[: len(p.doc.text) // 2] + " Ende. "
                                   + p.doc.text), config)) for p in prepared]
    for p, q in pairs:
        assert exact_runs(p.word_ids, q.word_ids, 4) == exact_runs_reference(
            p.word_ids, q.word_ids, 4)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(PIECES[:20] + ["Wien", "Straße", "kommen"]), max_size=80),
       st.lists(st.sampled_from(PIECES[:20] + ["Wien", "Straße", "kommen"]), max_size=80),
       st.integers(0, 2**32))
def test_content_alignment_matches_reference(words_a: list[str], words_b: list[str],
                                             mask_seed: int) -> None:
    config = Config()
    a = prepare(Document("a", " ".join(words_a)), config)
    b = prepare(Document("b", " ".join(words_b)), config)
    rng = np.random.default_rng(mask_seed)
    covered_a = rng.random(len(a.tokens)) < 0.4
    covered_b = rng.random(len(b.tokens)) < 0.4
    align = replace(config.align, reworded_min_words=1)
    for cfg in (config.align, align):
        assert _content_alignment(a, b, covered_a, covered_b, cfg) == \
            content_alignment_reference(a, b, covered_a, covered_b, cfg)
    assert _content_share(a, b) == _content_alignment(a, b, covered_a, covered_b, align)[0]


def test_verifying_for_the_match_only_gives_the_same_match(seed_docs: list[Document]) -> None:
    # Copies, trims, a copy with a paragraph added, a shared paragraph, a rewrite (the seeds)
    # and unrelated articles: verify(all_scores=False) skips what the decision does not need
    # (a copy's content alignment; the sentence pairs of content words that align too little
    # for a rewrite), never the match.
    config = Config()
    texts = [doc.text for doc in seed_docs] + ARTICLES[:4]
    parts = paragraphs(ARTICLES[0])
    texts += ["\n\n".join(parts[:2]), "\n\n".join(parts + [ARTICLES[1]]),
              "\n\n".join([parts[1], ARTICLES[2]]), ARTICLES[0]]
    docs = [prepare(Document(f"d{n:02}", text), config) for n, text in enumerate(texts)]
    relations = set()
    skipped = {"copy": 0, "sentence pairs": 0}
    for k, a in enumerate(docs):
        for b in docs[k + 1:]:
            full = verify(a, b, config.align)
            fast = verify(a, b, config.align, all_scores=False)
            assert fast.match == full.match
            if full.match is not None:
                relations.add(full.match.relation)
            if max(full.verbatim_coverage_a,
                   full.verbatim_coverage_b) >= config.align.duplicate_coverage:
                assert np.isnan(fast.content_alignment)
                skipped["copy"] += 1
            elif full.content_alignment < config.align.rewrite_lcs:
                assert fast.content_alignment == full.content_alignment
                assert np.isnan(fast.aligned_coverage_a)
                skipped["sentence pairs"] += 1
    assert relations >= {"duplicate", "contains", "rewrite", "partial"}
    assert min(skipped.values()) > 0


@pytest.mark.parametrize("members", [0, 1, 300, 5000])
def test_in_sorted_is_isin_for_many_values(members: int) -> None:
    # Enough values for the table of low bits; members sharing low bits with non-members.
    rng = np.random.default_rng(members)
    values = rng.integers(0, 2**64, size=70_000, dtype=np.uint64)
    chosen = np.unique(np.concatenate([
        values[rng.integers(0, len(values), size=members)],
        (values[:members] ^ np.uint64(1 << 40))]))  # same low bits, not a value
    assert np.array_equal(in_sorted(values, chosen), np.isin(values, chosen))
