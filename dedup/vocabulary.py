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

import threading
from collections.abc import Callable

import numpy as np
import xxhash

from .stopwords import STOPWORDS
from .tokens import _no_break_before


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
        # Numbers by the polynomial key of dedup.batch, for words met there.
        self.keyed = _KeyTable(1 << 16)  # doubles as words come
        self.hashes = np.zeros(1024, dtype=np.uint64)
        self.stems = np.zeros(1024, dtype=np.uint64)
        self.content = np.zeros(1024, dtype=bool)
        self.no_break = np.zeros(1024, dtype=bool)

    def _add(self, word: str) -> int:
        number = len(self.numbers)
        if number == len(self.hashes):
            self.hashes = np.resize(self.hashes, 2 * number)
            self.stems = np.resize(self.stems, 2 * number)
            self.content = np.resize(self.content, 2 * number)
            self.no_break = np.resize(self.no_break, 2 * number)
        digest = xxhash.xxh3_64_intdigest
        self.hashes[number] = digest(word.encode("utf-8"))
        self.stems[number] = digest(word[: self.stem_chars].encode("utf-8"))
        self.content[number] = len(word) > 1 and word not in STOPWORDS
        self.no_break[number] = _no_break_before([word], 0)
        self.numbers[word] = number
        return number

    def lookup(self, words: list[str]) -> np.ndarray:
        """The numbers of ``words`` (int64), valid for this vocabulary's arrays until the next
        call: use them at once."""
        if len(self.numbers) + len(words) > self.limit:
            self._reset()
        return np.fromiter(map(self.numbers.__getitem__, words), dtype=np.int64,
                           count=len(words))

    def content_stems(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the words ``numbers`` (positions) carry content, and the hashes of their
        stems."""
        at = np.flatnonzero(self.content[numbers])
        return at, self.stems[numbers[at]]

    def lookup_keys(self, keys: np.ndarray, word_of: Callable[[int], str]) -> np.ndarray:
        """The numbers (int64) of words given by a 64-bit key each (:mod:`dedup.batch`);
        ``word_of(i)`` is word ``i``, asked for only when its key is new. Valid for this
        vocabulary's arrays until the next call, like :meth:`lookup`."""
        if len(self.numbers) + len(keys) > self.limit:
            self._reset()
        found = self.keyed.get(keys)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            new, first = np.unique(keys[missing], return_index=True)
            numbers = np.fromiter((self.numbers[word_of(i)] for i in missing[first].tolist()),
                                  dtype=np.int64, count=len(new))
            self.keyed.put(new, numbers)
            found[missing] = numbers[np.searchsorted(new, keys[missing])]
        return found


class _KeyTable:
    """uint64 key -> int64 number, looked up for a whole array of keys at once (open
    addressing, linear probing; 0 marks an empty slot, so key 0 is kept apart). A dict
    lookup per word cost about 60 us of an article's 500 words."""

    def __init__(self, slots: int) -> None:
        self._allocate(max(10, (slots - 1).bit_length()))

    def _allocate(self, bits: int) -> None:
        self.bits = bits
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.values = np.zeros(1 << bits, dtype=np.int64)
        self.count = 0
        self.zero = -1  # the value of key 0

    def _home(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            spread = keys * np.uint64(0x9E3779B97F4A7C15)
        return (spread >> np.uint64(64 - self.bits)).astype(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The number of each key, -1 where it is not in the table."""
        from .kernels import table_get  # numba: for the commands that look words up

        found: np.ndarray = table_get(np.ascontiguousarray(keys, dtype=np.uint64), self.keys,
                                      self.values, self.bits, self.zero)
        return found

    def put(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Store distinct keys that are not in the table yet (it doubles rather than be more
        than half full)."""
        zero = keys == 0
        if zero.any():
            self.zero = int(values[zero][0])
            keys, values = keys[~zero], values[~zero]
        if 2 * (self.count + len(keys)) > len(self.keys):
            held = np.flatnonzero(self.keys)
            old_keys, old_values, old_zero = self.keys[held], self.values[held], self.zero
            self._allocate((2 * (self.count + len(keys))).bit_length() + 1)
            self.put(old_keys, old_values)
            self.zero = old_zero
        self.count += len(keys)
        mask = (1 << self.bits) - 1
        for key, value, slot in zip(keys.tolist(), values.tolist(), self._home(keys).tolist()):
            while self.keys[slot] != 0:
                slot = (slot + 1) & mask
            self.keys[slot] = key
            self.values[slot] = value


_local = threading.local()


def vocabulary(stem_chars: int) -> Vocabulary:
    """This thread's vocabulary for ``stem_chars`` (each worker process and thread has its
    own: a vocabulary numbers new words as it meets them, and two threads adding words at
    once, as a dask worker's threads may, could give two words one number)."""
    mine: dict[int, Vocabulary] = _local.__dict__.setdefault("vocabularies", {})
    if stem_chars not in mine:
        mine[stem_chars] = Vocabulary(stem_chars)
    return mine[stem_chars]
