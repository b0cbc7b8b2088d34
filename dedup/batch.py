"""The words, sentences and sentence keys of many plainly folded documents at once.

Signing needs of each document its words' vocabulary numbers (for their hashes), its
sentences and their keys; :func:`dedup.tokens.plain_words`, :meth:`Vocabulary.lookup` and
:func:`dedup.boilerplate.sentence_keys` find them with a regex match, a Python string and a
dict lookup per word, which was most of the cost of signing an article. Here a block of
documents is one array of code points: word bounds come from a table of word characters,
sentence ends from tables of punctuation and space, and words are looked up by a 64-bit
polynomial key computed for all of them at once, so only a word never seen before becomes
a Python string. The results are those of the per-document functions
(``tests/test_batch.py``), which stay the reference and the path for text this module
cannot take.

The key is a 64-bit polynomial hash of the word's characters, not a proof of identity:
two words of one vocabulary (at most 524,288) with the same key would share a number, the
second hashed as the first (one word's hash in its shingles). Checked: the 57,020 distinct
words of the German and English data sets and 8.45 million distinct strings (every string
of up to 3 of 42 letters, digits and marks, 400,000 random ones of each length 4-24) have
distinct keys (``python -m benchmarks.perf.word_keys``; ``tests/test_batch.py`` checks a
smaller set).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from . import compiled
from .boilerplate import sentence_keys, token_sentence_keys
from .normalize import PlainFolds, plain_fold_code_points, plain_fold_points
from .store import StoredTexts
from .tokens import Tokens, _word_chars, sentence_lengths, tokenize_lazily
from .vocabulary import Vocabulary

_U64 = np.uint64
#: Characters in one block at most (documents are cut into blocks below this; a longer
#: document takes the per-document path). Bounds a block's arrays: its code points alone
#: are 8 MB (a scan's blocks of 256 articles have about a million characters).
MAX_CHARS = 1 << 21
# The polynomial's base (odd).
_BASE = 0x9E3779B97F4A7C15
_ALL_BUT_SPACE = np.ones(0x10000, dtype=bool)
_ALL_BUT_SPACE[0x20] = False
_NO_ENDS = np.zeros(0x10000, dtype=bool)


@dataclass
class Features:
    """The words, sentences and content stems of one document (:func:`document_words`)."""

    numbers: np.ndarray  # int64 vocabulary number per word (valid until the next lookup)
    sentence_words: np.ndarray  # int64 words per sentence
    sentence_keys: np.ndarray | None  # uint64 per sentence (NO_KEY when too short); None
    # when not asked for
    stems: np.ndarray  # uint64 the stem hashes of the content words, in order
    sentence_stems: np.ndarray  # int64 how many of them each sentence has


@functools.cache
def _classes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per BMP character: sentence-end punctuation (``.!?…``), closing quote or bracket
    (``"')]``), space (what ``\\s`` matches), and where a sentence may end (sentence-end
    punctuation or a line break)."""
    punct = np.zeros(0x10000, dtype=bool)
    punct[[ord(c) for c in ".!?…"]] = True
    closer = np.zeros(0x10000, dtype=bool)
    closer[[ord(c) for c in "\"')]"]] = True
    space = np.array([chr(c).isspace() for c in range(0x10000)], dtype=bool)
    ends = punct.copy()
    ends[0x0A] = True
    return punct, closer, space, ends


#: What signing needs of a document: its words' hashes (uint64), the words of each of its
#: sentences (int64) and the sentences' keys (uint64); and what judging boilerplate will
#: ask of it, the stem hashes of its content words (uint64, in order) and how many each
#: sentence has (int64).
Signable = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
K = TypeVar("K")


def warm_tables() -> None:
    """Build the tables folding and tokenizing a block look up (about 75 ms) and load the
    compiled kernels, so that the workers an engine forks afterwards inherit them rather
    than each building them again at every stage. Nothing when the work is too small for
    the kernels (:mod:`dedup.compiled`): the per-document path builds what it needs."""
    if not compiled.enabled():
        return
    from . import kernels

    plain_fold_points(["."], origins=True)
    _classes()
    _word_chars()
    kernels.warm()


@dataclass
class Block:
    """Texts folded together: ``rows`` are their indices among the texts given."""

    rows: list[int]
    folds: PlainFolds


def plain_blocks(texts: Sequence[str], origins: bool = False) -> tuple[list[int], list[Block]]:
    """Which texts to take one by one (not plain, or as long as a block), and the others'
    plain folds (:func:`dedup.normalize.plain_fold_points`, with ``origins`` if asked) in
    blocks of up to :data:`MAX_CHARS` characters, in order. Every text is taken alone when
    the work is too small for the compiled kernels (:mod:`dedup.compiled`)."""
    if not compiled.enabled():
        return list(range(len(texts))), []
    alone: list[int] = []
    chunks: list[list[int]] = []
    size = MAX_CHARS
    # A store's texts are not read for their lengths, and are folded from their UTF-8.
    stored = texts if isinstance(texts, StoredTexts) else None
    lengths = stored.lengths() if stored is not None else [len(text) for text in texts]
    for i, length in enumerate(lengths):
        if length >= MAX_CHARS:
            alone.append(i)
            continue
        if size + length + 1 > MAX_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += length + 1
    blocks: list[Block] = []
    while chunks:
        rows = chunks.pop(0)
        if stored is None:
            folds = plain_fold_points([texts[i] for i in rows], origins)
        else:
            folds = plain_fold_code_points(stored.code_points(rows),
                                           np.array([lengths[i] for i in rows], dtype=np.int64),
                                           origins)
        if len(folds.points) > MAX_CHARS + 1:  # typography mapped to more characters
            if len(rows) == 1:
                alone += rows
            else:
                chunks[:0] = [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
            continue
        alone += [i for i, plain in zip(rows, folds.plain.tolist()) if not plain]
        blocks.append(Block([i for i, plain in zip(rows, folds.plain.tolist()) if plain],
                            folds))
    return sorted(alone), blocks


@dataclass
class TextFeatures:
    """What signing needs of several texts, one text after another
    (:func:`document_features`): a handful of arrays, not a few small ones per text."""

    word_ids: np.ndarray  # uint64 per word: its hash
    words: np.ndarray  # int64 per text: how many words it has
    sentence_words: np.ndarray  # int64 per sentence: how many words it has
    sentence_keys: np.ndarray  # uint64 per sentence (NO_KEY when too short or not asked for)
    sentences: np.ndarray  # int64 per text: how many sentences it has
    stems: np.ndarray  # uint64 per content word: the hash of its stem
    stem_counts: np.ndarray  # int64 per text: how many content words it has
    sentence_stems: np.ndarray  # int64 per sentence: how many content words it has

    def only(self, keep: np.ndarray) -> TextFeatures:
        """The features of the texts where ``keep`` (bool per text) holds."""
        sentences = np.repeat(keep, self.sentences)
        return TextFeatures(
            self.word_ids[np.repeat(keep, self.words)], self.words[keep],
            self.sentence_words[sentences], self.sentence_keys[sentences],
            self.sentences[keep], self.stems[np.repeat(keep, self.stem_counts)],
            self.stem_counts[keep], self.sentence_stems[sentences])

    def split(self) -> list[Signable]:
        """:data:`Signable` of each text."""
        words, sentences, stems = (np.cumsum(c) - c for c in
                                   (self.words, self.sentences, self.stem_counts))
        out = []
        for w, nw, s, ns, c, nc in zip(words.tolist(), self.words.tolist(),
                                       sentences.tolist(), self.sentences.tolist(),
                                       stems.tolist(), self.stem_counts.tolist()):
            out.append((self.word_ids[w : w + nw], self.sentence_words[s : s + ns],
                        self.sentence_keys[s : s + ns], self.stems[c : c + nc],
                        self.sentence_stems[s : s + ns]))
        return out

    @staticmethod
    def join(parts: Sequence[tuple[Sequence[int], TextFeatures]]) -> TextFeatures:
        """The features of texts ``0, 1, ...`` from ``parts``, each the features of the
        texts ``rows`` (ascending; every text in one part)."""
        rows = np.concatenate([np.asarray(r, dtype=np.int64) for r, _ in parts])
        fields = [np.concatenate([getattr(f, name) for _, f in parts])
                  for name in _FEATURE_FIELDS]
        joined = TextFeatures(*fields)
        if np.all(rows[1:] > rows[:-1]):
            return joined
        order = np.argsort(rows, kind="stable")
        return TextFeatures(
            _in_order(joined.word_ids, joined.words, order), joined.words[order],
            _in_order(joined.sentence_words, joined.sentences, order),
            _in_order(joined.sentence_keys, joined.sentences, order),
            joined.sentences[order],
            _in_order(joined.stems, joined.stem_counts, order), joined.stem_counts[order],
            _in_order(joined.sentence_stems, joined.sentences, order))


_FEATURE_FIELDS = ("word_ids", "words", "sentence_words", "sentence_keys", "sentences",
                   "stems", "stem_counts", "sentence_stems")


def _in_order(values: np.ndarray, counts: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``values``, segments of ``counts[k]`` values for each text ``k``, with the texts'
    segments in ``order``."""
    starts = np.cumsum(counts) - counts
    moved = counts[order]
    take = np.repeat(starts[order] - (np.cumsum(moved) - moved), moved)
    return values[take + np.arange(len(take))]


def document_features(texts: Sequence[str], vocab: Vocabulary, min_words: int) -> TextFeatures:
    """:class:`TextFeatures` of ``texts``, as :func:`dedup.tokens.tokenize_lazily`,
    :meth:`Vocabulary.lookup`, :meth:`Vocabulary.content_stems` and
    :func:`dedup.boilerplate.sentence_keys` give them: plainly folded texts in blocks
    (:func:`block_features`), the others one by one."""
    alone, blocks = plain_blocks(texts)
    parts = [(block.rows, block_features(
        block_words(block.folds.points, block.folds.lengths, vocab), vocab, min_words))
        for block in blocks]
    for i in alone:
        tokens = tokenize_lazily(texts[i])
        parts.append(([i], _text_features(tokens, vocab.lookup(tokens.words), vocab,
                                          min_words)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return TextFeatures(np.zeros(0, dtype=_U64), empty, empty, np.zeros(0, dtype=_U64),
                            empty, np.zeros(0, dtype=_U64), empty, empty)
    return TextFeatures.join(parts)


def _text_features(tokens: Tokens, numbers: np.ndarray, vocab: Vocabulary,
                   min_words: int | None) -> TextFeatures:
    """:class:`TextFeatures` of one text from its tokens and their vocabulary ``numbers``
    (used at once: they hold until the vocabulary's next lookup)."""
    ids = vocab.hashes[numbers]
    lengths = sentence_lengths(tokens.sentences)
    at, stems = vocab.content_stems(numbers)
    keys = (np.zeros(len(lengths), dtype=_U64) if min_words is None
            else token_sentence_keys(tokens, ids, min_words))
    one = np.ones(1, dtype=np.int64)
    return TextFeatures(ids, one * len(ids), lengths, keys, one * len(lengths), stems,
                        one * len(stems),
                        np.bincount(tokens.sentence_of[at], minlength=len(lengths)))


def document_words(texts: list[str], vocab: Vocabulary, min_words: int | None,
                   take: Callable[[np.ndarray], K]) -> list[tuple[K, Features]]:
    """Per text: ``take`` of its words' vocabulary numbers (called at once: numbers hold
    until the vocabulary's next lookup) and its :class:`Features`: the words of each of its
    sentences, unless ``min_words`` is None the sentences' keys, and its content words'
    stems, as the per-document tokenizer finds them: plainly folded texts in blocks
    (:func:`block_features`), the others one by one."""
    alone, blocks = plain_blocks(texts)
    out: dict[int, tuple[K, Features]] = {}
    for block in blocks:
        words = block_words(block.folds.points, block.folds.lengths, vocab)
        found = block_features(words, vocab, min_words)
        cut = np.cumsum(found.words)[:-1]
        for i, numbers, f in zip(block.rows, np.split(words.numbers, cut), found.split()):
            out[i] = (take(numbers), _features(numbers, f, min_words))
    for i in alone:
        tokens = tokenize_lazily(texts[i])
        numbers = vocab.lookup(tokens.words)
        [f] = _text_features(tokens, numbers, vocab, min_words).split()
        out[i] = (take(numbers), _features(numbers, f, min_words))
    return [out[i] for i in range(len(texts))]


def _features(numbers: np.ndarray, f: Signable, min_words: int | None) -> Features:
    _, sentence_words, keys, stems, sentence_stems = f
    return Features(numbers, sentence_words, None if min_words is None else keys, stems,
                    sentence_stems)


@dataclass
class BlockWords:
    """The words and sentences of a block of plainly folded texts (:func:`block_words`); word
    and sentence indices count from the block's start."""

    numbers: np.ndarray  # int64 vocabulary number per word (valid until the next lookup)
    starts: np.ndarray  # int64 where each word starts in the block's code points
    ends: np.ndarray  # int64 where it ends
    doc_starts: np.ndarray  # int64 where each text starts, and where the block ends
    first_word: np.ndarray  # int64 each text's first word, and the number of words
    first: np.ndarray  # int64 each sentence's first word
    last: np.ndarray  # int64 the word after each sentence's last
    per_doc: np.ndarray  # int64 each text's first sentence, and the number of sentences


def block_words(points: np.ndarray, lengths: np.ndarray, vocab: Vocabulary) -> BlockWords:
    """:class:`BlockWords` of several plainly folded texts given as their code points
    (:class:`dedup.normalize.PlainFolds`: all in the BMP, at most :data:`MAX_CHARS` of
    them besides a last separator, each of ``lengths`` followed by a NUL, which is no word,
    space or sentence-end character; the last one may be left out): the words ``plain_words``
    finds in each, numbered by ``vocab``, and their sentences."""
    doc_starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=doc_starts[1:])
    points = points[: max(int(doc_starts[-1]) - 1, 0)]  # without a last separator

    from . import kernels  # here: importing numba is for commands that sign, not for all

    # The words, their keys, and where a sentence may end (looked at only there below).
    starts, ends, keyed, marks = kernels.words(points, _word_chars(), np.uint64(_BASE),
                                               _classes()[3])
    first_word = np.searchsorted(starts, doc_starts)  # per document, and the total

    # Only words not seen before are cut from the folded text (decoding all of them was 3 %
    # of signing, where the vocabulary knows almost every word).
    numbers = vocab.lookup_keys(keyed, lambda at: _words_at(points, starts[at], ends[at]))
    first, last = _sentences(points, marks, starts, doc_starts, first_word, numbers, vocab)
    doc_of = np.searchsorted(first_word, first, side="right") - 1
    per_doc = np.searchsorted(doc_of, np.arange(len(lengths) + 1))
    return BlockWords(numbers, starts, ends, doc_starts, first_word, first, last, per_doc)


def _words_at(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The words ``points[starts[i]:ends[i]]`` as strings, decoded at once: each followed by
    a space (no word has one) and the whole split on spaces."""
    if not len(starts):
        return []
    lengths = ends - starts + 1
    cut = np.cumsum(lengths)
    at = np.arange(int(cut[-1]), dtype=np.int64) + np.repeat(starts - (cut - lengths), lengths)
    spaced = points[np.minimum(at, len(points) - 1)]
    spaced[cut - 1] = 0x20
    text: str = spaced.tobytes().decode("utf-32-le", "surrogatepass")
    return text.split(" ")[:-1]


def block_features(block: BlockWords, vocab: Vocabulary,
                   min_words: int | None) -> TextFeatures:
    """:class:`TextFeatures` of the texts of a block (as :func:`block_words` found them,
    with ``vocab`` and no lookup since), equal to ``plain_words``, ``vocab.lookup``,
    ``sentence_keys`` (no keys when ``min_words`` is None) and ``vocab.content_stems`` on
    each: for the whole block at once, not text by text."""
    first, last = block.first, block.last
    ids = vocab.hashes[block.numbers]
    keys = (np.zeros(len(first), dtype=_U64) if min_words is None
            else sentence_keys(ids, first, last, min_words))
    at, stems = vocab.content_stems(block.numbers)
    # Content words before each sentence's and each text's first word.
    stem_at = np.searchsorted(at, block.first_word)
    return TextFeatures(ids, np.diff(block.first_word), last - first, keys,
                        np.diff(block.per_doc), stems, np.diff(stem_at),
                        np.searchsorted(at, last) - np.searchsorted(at, first))


def word_keys(words: Sequence[str]) -> np.ndarray:
    """The keys :func:`block_words` looks ``words`` up by (words of BMP characters,
    shorter than a block; for checking that distinct words get distinct keys)."""
    from . import kernels

    out = []
    first = 0
    while first < len(words):
        last, size = first, 0
        while last < len(words) and size + len(words[last]) + 1 <= MAX_CHARS:
            size += len(words[last]) + 1
            last += 1
        if last == first:
            raise ValueError(f"a word of {len(words[first])} characters is longer than a block")
        part = words[first:last]
        if any(" " in word or not word for word in part):
            raise ValueError("word_keys takes words that are not empty and have no space")
        points = np.frombuffer(" ".join(part).encode("utf-32-le", "surrogatepass"),
                               dtype=np.uint32)
        # Every character a word character but the space: the words as given.
        out.append(kernels.words(points, _ALL_BUT_SPACE, np.uint64(_BASE), _NO_ENDS)[2])
        first = last
    return np.concatenate(out) if out else np.zeros(0, dtype=_U64)


def _sentences(points: np.ndarray, marks: np.ndarray, starts: np.ndarray,
               doc_starts: np.ndarray, first_word: np.ndarray, numbers: np.ndarray,
               vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The sentences of all documents, in order, as ``[first, last)`` word indices in the
    block (what ``plain_words`` finds in each), from where the sentence-end regex of
    :mod:`dedup.tokens` (``\\n|[.!?…]+["')\\]]*(?=\\s)``) matches.

    A run of sentence-end punctuation matches (from its first character) when the first
    character after it and the closing quotes and brackets that follow is a space; a line
    break always does. An end counts before the first word after it; it breaks the sentence
    unless no word is before or after it in its document, it follows an earlier break with
    no word between, or it starts with a period after an abbreviation, an initial or an
    ordinal."""
    from . import kernels

    punct, closer, space, _ = _classes()
    no_break = vocab.no_break[numbers] if len(numbers) else np.zeros(0, dtype=bool)
    bounds = kernels.sentence_bounds(points, marks, punct, closer, space, starts, doc_starts,
                                     first_word, no_break)
    return bounds[:-1], bounds[1:]
