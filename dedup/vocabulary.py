"""Per-word facts looked up once per distinct word, not computed once per occurrence.

Preparing an article needs three facts of each of its ~500 words: its xxh3 hash (word ids,
shingles), whether it carries content (not a function word, not one letter), and the hash of
its stem (its first ``stem_chars`` characters). Computing them word by word costs several
Python calls per word; news vocabulary repeats from article to article, so a
:class:`Vocabulary` gives each word seen a number once (one C-level dict lookup per word
afterwards) and keeps the facts in arrays indexed by that number. The values are exactly
those of :func:`dedup.shingle.word_hashes` and :func:`dedup.tokens.content_mask`
(``tests/test_fast_paths.py``).
"""

from __future__ import annotations

import functools

import numpy as np
import xxhash

from .stopwords import STOPWORDS


class _Numbers(dict[str, int]):
    """word -> number, given on first sight by :meth:`Vocabulary._add`."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        super().__init__()
        self.vocabulary = vocabulary

    def __missing__(self, word: str) -> int:
        return self.vocabulary._add(word)


class Vocabulary:
    """Word facts for one ``stem_chars``; starts over after ``limit`` distinct words, so a
    long run's memory stays bounded (about 60 MB at the default)."""

    def __init__(self, stem_chars: int, limit: int = 1 << 19) -> None:
        self.stem_chars = stem_chars
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.numbers = _Numbers(self)
        self.hashes = np.zeros(1024, dtype=np.uint64)
        self.stems = np.zeros(1024, dtype=np.uint64)
        self.content = np.zeros(1024, dtype=bool)

    def _add(self, word: str) -> int:
        number = len(self.numbers)
        if number == len(self.hashes):
            self.hashes = np.resize(self.hashes, 2 * number)
            self.stems = np.resize(self.stems, 2 * number)
            self.content = np.resize(self.content, 2 * number)
        digest = xxhash.xxh3_64_intdigest
        self.hashes[number] = digest(word.encode("utf-8"))
        self.stems[number] = digest(word[: self.stem_chars].encode("utf-8"))
        self.content[number] = len(word) > 1 and word not in STOPWORDS
        self.numbers[word] = number
        return number

    def lookup(self, words: list[str]) -> np.ndarray:
        """The numbers of ``words`` (int64), valid for this vocabulary's arrays until the next
        call: use them at once."""
        if len(self.numbers) + len(words) > self.limit:
            self._reset()
        return np.fromiter(map(self.numbers.__getitem__, words), dtype=np.int64,
                           count=len(words))


@functools.cache
def vocabulary(stem_chars: int) -> Vocabulary:
    """This process's vocabulary for ``stem_chars`` (each worker process has its own)."""
    return Vocabulary(stem_chars)
