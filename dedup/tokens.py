"""Words and sentences of a document, each with its offsets in the original text.

Everything downstream (shingles, passages, sentence alignment) works on the normalized words
produced here; every position maps back through ``starts``/``ends`` to the original text, so
reports can quote exactly what the outlet printed.
"""

from __future__ import annotations

import functools
import re
from itertools import pairwise

import numpy as np

from .normalize import Replaced, fold_origins, normalize, plain_fold, plain_fold_marked
from .stopwords import STOPWORDS

_WORD = re.compile(r"\w+(?:'\w+)*")
# Between two words: the text that ends a sentence. A line break always does; ".", "!" or "?"
# does when followed by space (optionally after closing quotes or brackets).
_SENTENCE_END = re.compile(r"\n|[.!?…]+[\"')\]]*(?=\s)")
# Words and sentence ends in one scan (see plain_words).
_WORD_OR_END = re.compile(r"\w+(?:'\w+)*|\n|[.!?…]+[\"')\]]*(?=\s)")
_END_START = frozenset("\n.!?…")
# A period after these does not end a sentence: initials, ordinals ("am 6. Januar") and
# common abbreviations.
_ABBREVIATIONS = frozenset(
    ["dr", "prof", "nr", "bzw", "vgl", "ca", "usw", "etc", "mr", "mrs", "ms", "st", "jr", "sr", "inc", "co", "ltd", "str", "abs", "art", "jan", "feb", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez", "vs", "mio", "mrd"]
)


class Tokens:
    """The words of one document.

    ``words[i]`` is the i-th normalized word; ``text[starts[i]:ends[i]]`` is that word as it
    stands in the original. ``sentences`` are ``[first, last)`` word ranges in order, and
    ``sentence_of[i]`` is the sentence of word i. Tokens made with ``bounds`` (the
    sentences' first words and the words after their last, as arrays) make the list of
    ``sentences`` when first asked for: verifying most pairs only counts them.

    Tokens made by :func:`tokenize_lazily` find ``starts``/``ends`` only when first asked:
    most documents are compared without a passage ever being quoted, and the offset map is
    most of the cost of tokenizing.
    """

    __slots__ = ("_bounds", "_ends", "_fold", "_sentences", "_starts", "_text", "_words",
                 "sentence_of")

    def __init__(self, words: list[str] | None, starts: np.ndarray | None,
                 ends: np.ndarray | None, sentences: list[tuple[int, int]] | None,
                 sentence_of: np.ndarray, text: str | None = None,
                 fold: tuple[str, Replaced] | None = None,
                 bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        if starts is None and (text is None or fold is None):
            raise ValueError("Tokens without offsets need the text and its plain fold")
        if words is None and (text is None or starts is None):
            raise ValueError("Tokens without a word list need offsets and the (plain) text")
        # Without a word list, the words are found in the text when first asked for:
        # verifying a pair reads word hashes and offsets, never the strings (building them
        # was 8 us of the 100 us of preparing an article).
        self._words = words
        if sentences is None and bounds is None:
            raise ValueError("Tokens need their sentences or the sentences' bounds")
        self._sentences = sentences
        self._bounds = None if sentences is not None else bounds
        self.sentence_of = sentence_of
        self._starts = starts
        self._ends = ends
        self._text = text if starts is None or words is None else None
        # The plain fold the words came from (plain_fold_marked): finding the offsets then
        # does not fold the text a second time.
        self._fold = fold if starts is None else None

    def __len__(self) -> int:
        return len(self._words) if self._words is not None else len(self.starts)

    @property
    def sentences(self) -> list[tuple[int, int]]:
        if self._sentences is None:
            assert self._bounds is not None
            first, last = self._bounds
            self._sentences = list(zip(first.tolist(), last.tolist()))
            self._bounds = None
        return self._sentences

    @property
    def sentence_count(self) -> int:
        """``len(sentences)``, without making the list."""
        if self._sentences is None:
            assert self._bounds is not None
            return len(self._bounds[0])
        return len(self._sentences)

    @property
    def words(self) -> list[str]:
        if self._words is None:
            assert self._text is not None
            found = plain_words(self._text)
            if found is None:  # pragma: no cover - made so only of plainly folded texts
                raise AssertionError("Tokens without a word list of a text that is not plain")
            self._words = found[0]
            self._text = None
        return self._words

    def __getstate__(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def starts(self) -> np.ndarray:
        if self._starts is None:
            self._locate()
        assert self._starts is not None
        return self._starts

    @property
    def ends(self) -> np.ndarray:
        if self._ends is None:
            self._locate()
        assert self._ends is not None
        return self._ends

    def _locate(self) -> None:
        assert self._text is not None and self._fold is not None
        folded, replaced = self._fold
        origins = fold_origins(len(self._text), replaced)
        self._starts, self._ends = _fold_offsets(folded, origins, self.words)
        self._text = self._fold = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Original ``[start, end)`` of words ``first..last-1``."""
        return int(self.starts[first]), int(self.ends[last - 1])


def tokenize(text: str) -> Tokens:
    """Split ``text`` into normalized words and sentences, keeping original offsets.

    >>> t = tokenize("Er sagte: „Wir kommen.“ Dann ging er.")
    >>> t.words[:4], len(t.sentences)
    (['er', 'sagte', 'wir', 'kommen'], 2)
    """
    # Same result as _tokenize_reference; word offsets and the sentence-end lookups are done
    # as whole arrays rather than one Python call per word (tokenizing is the bottleneck).
    norm = normalize(text)
    matches = list(_WORD.finditer(norm.text))
    words = [m.group() for m in matches]
    n = len(words)
    if n:
        spans = np.array([m.span() for m in matches], dtype=np.int64)
        ns, ne = spans[:, 0].copy(), spans[:, 1]
        starts = norm.starts[ns]
        ends = norm.ends[ne - 1]
    else:
        ns = np.zeros(0, dtype=np.int64)
        starts = ends = np.zeros(0, dtype=np.int64)

    ends_found = [(m.end(), m.group()[0] == ".") for m in _SENTENCE_END.finditer(norm.text)]
    bounds: list[int] = [0]
    if ends_found and n:
        following_all = np.searchsorted(
            ns, np.array([e for e, _ in ends_found], dtype=np.int64), side="left").tolist()
        first = 0
        for following, period in zip(following_all, (p for _, p in ends_found)):
            if following <= first or following >= n:
                continue
            if period and _no_break_before(words, following - 1):
                continue
            bounds.append(following)
            first = following
    sentences: list[tuple[int, int]] = []
    if n:
        bounds.append(n)
        sentences = list(pairwise(bounds))
    lengths = np.diff(np.asarray(bounds, dtype=np.int64)) if n else np.zeros(0, np.int64)
    sentence_of = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths.astype(np.int64))
    return Tokens(words, np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                  sentences, sentence_of)


def tokenize_lazily(text: str) -> Tokens:
    """:func:`tokenize`, finding the words by :func:`plain_words` where the text allows and
    the offsets only when first asked for; equal to ``tokenize(text)`` in every field."""
    marked = plain_fold_marked(text)
    if marked is None:
        return tokenize(text)
    words, sentences = _plain_words(marked[0])
    lengths = sentence_lengths(sentences)
    sentence_of = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)
    return Tokens(words, None, None, sentences, sentence_of, text=text, fold=marked)


def sentence_lengths(sentences: list[tuple[int, int]]) -> np.ndarray:
    """Words per sentence (int64)."""
    if not sentences:
        return np.zeros(0, dtype=np.int64)
    bounds = np.asarray(sentences, dtype=np.int64)
    return bounds[:, 1] - bounds[:, 0]


def _fold_offsets(folded: str, origins: np.ndarray | None,
                  words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` in the original text of ``words`` (what :func:`plain_words` found
    in the plainly folded text ``folded``), as :func:`tokenize` gives them.

    Positions in ``folded`` are positions in the original, except where a character was
    replaced (``ß`` -> ``ss``, a soft hyphen dropped), which ``origins`` maps back (see
    :func:`dedup.normalize.fold_origins`; ``None``: nothing was); whitespace runs, the only
    other difference to ``normalize(text).text``, lie between words.
    """
    found = _word_spans(folded)  # plain_fold leaves no character beyond the table
    if found is None or len(found[0]) != len(words):  # pragma: no cover - same text
        raise AssertionError("_fold_offsets: words do not match the text")
    starts, ends = found
    if origins is None:
        return starts, ends
    if not len(words):
        return starts, ends
    return origins[starts], origins[ends - 1] + 1


@functools.cache
def _word_chars() -> np.ndarray:
    """Per character of the Basic Multilingual Plane: whether ``\\w`` matches it (what the
    regex engine tests: alphanumeric, or the underscore)."""
    return np.array([chr(c).isalnum() or c == 0x5F for c in range(0x10000)], dtype=bool)


def _word_spans(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``[start, end)`` of each match of :data:`_WORD` in ``text``, from a table of word
    characters rather than the regex (a quarter of its time on an article); ``None`` for text
    beyond the Basic Multilingual Plane (see :func:`in_words`)."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if len(points) and int(points.max()) > 0xFFFF:
        return None
    return runs(in_words(points))


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(mask, prepend=False, append=False))
    return edges[0::2], edges[1::2]


def in_words(points: np.ndarray) -> np.ndarray:
    """Per code point (all in the Basic Multilingual Plane): whether it is inside a match of
    :data:`_WORD`, which matches the maximal runs of word characters and of apostrophes
    that have a word character on both sides."""
    word = _word_chars()[points]
    inside: np.ndarray = word.copy()
    apostrophes = np.flatnonzero(points[1:-1] == 0x27) + 1
    if len(apostrophes):
        inside[apostrophes[word[apostrophes - 1] & word[apostrophes + 1]]] = True
    return inside


def plain_words(text: str) -> tuple[list[str], list[tuple[int, int]]] | None:
    """``(words, sentences)`` of ``tokenize(text)`` without offsets, or ``None`` when the text
    needs :func:`normalize`'s full treatment (see :func:`dedup.normalize.plain_fold`).

    Signing needs words and sentences, not where they stand in the original. No word
    contains a character a sentence end starts with, and a sentence end is followed by
    whitespace, so one scan for either finds the words and, between them, the sentence ends
    that :func:`tokenize` finds separately.
    """
    folded = plain_fold(text)
    return None if folded is None else _plain_words(folded)


def _plain_words(folded: str) -> tuple[list[str], list[tuple[int, int]]]:
    """:func:`plain_words` of the plainly folded text."""
    words: list[str] = []
    ends: list[tuple[int, bool]] = []
    for token in _WORD_OR_END.findall(folded):
        if token[0] in _END_START:
            ends.append((len(words), token[0] == "."))
        else:
            words.append(token)
    n = len(words)
    bounds = [0]
    first = 0
    for following, period in ends:
        if following <= first or following >= n:
            continue
        if period and _no_break_before(words, following - 1):
            continue
        bounds.append(following)
        first = following
    if not n:
        return words, []
    bounds.append(n)
    return words, list(pairwise(bounds))


def _tokenize_reference(text: str) -> Tokens:
    """The obvious, one-word-at-a-time :func:`tokenize`: the oracle its fast path is tested
    against (``tests/test_fast_paths.py``)."""
    norm = normalize(text)
    words: list[str] = []
    norm_starts: list[int] = []
    norm_ends: list[int] = []
    for match in _WORD.finditer(norm.text):
        words.append(match.group())
        norm_starts.append(match.start())
        norm_ends.append(match.end())
    n = len(words)
    ns = np.asarray(norm_starts, dtype=np.int64)
    ne = np.asarray(norm_ends, dtype=np.int64)
    starts = norm.starts[ns] if n else np.zeros(0, dtype=np.int64)
    ends = norm.ends[ne - 1] if n else np.zeros(0, dtype=np.int64)

    sentences: list[tuple[int, int]] = []
    first = 0
    for match in _SENTENCE_END.finditer(norm.text):
        # The sentence ends before the first word that starts after this punctuation.
        following = int(np.searchsorted(ns, match.end(), side="left"))
        if following <= first or following >= n:
            continue
        if match.group()[0] == "." and _no_break_before(words, following - 1):
            continue
        sentences.append((first, following))
        first = following
    if n:
        sentences.append((first, n))
    sentence_of = np.zeros(n, dtype=np.int64)
    for index, (s, e) in enumerate(sentences):
        sentence_of[s:e] = index
    return Tokens(words, np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                  sentences, sentence_of)


def _no_break_before(words: list[str], i: int) -> bool:
    """A period after word i is an abbreviation, initial or ordinal, not a sentence end."""
    word = words[i]
    if word.isdigit() and len(word) <= 2:  # "am 6. Januar"; a year like 2018. still ends
        return True
    return len(word) == 1 and word.isalpha() or word in _ABBREVIATIONS


def content_mask(words: list[str]) -> np.ndarray:
    """True for words that carry content (not a function word, not one letter)."""
    return np.fromiter(
        (len(w) > 1 and w not in STOPWORDS for w in words), dtype=bool, count=len(words)
    )
