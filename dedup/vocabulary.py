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
from itertools import repeat

import numpy as np
import xxhash

from .stopwords import STOPWORDS
from .tokens import _no_break_before


class Vocabulary:
    """Word facts for one ``stem_chars``; starts over after ``limit`` distinct words, so a
    long run's memory stays bounded (about 60 MB at the default)."""

    def __init__(self, stem_chars: int, limit: int = 1 << 19) -> None:
        self.stem_chars = stem_chars
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.numbers: dict[str, int] = {}
        # Numbers by the polynomial key of dedup.batch, for words met there.
        self.keyed = _KeyTable(1 << 16)  # doubles as words come
        self.hashes = np.zeros(1024, dtype=np.uint64)
        self.stems = np.zeros(1024, dtype=np.uint64)
        self.content = np.zeros(1024, dtype=bool)
        self.no_break = np.zeros(1024, dtype=bool)

    def _add_many(self, words: list[str]) -> np.ndarray:
        """Number distinct words not seen yet, in order, and record their facts: for all
        of them at once (one at a time, a new word cost about 5 us, and each worker of a
        scan meets tens of thousands)."""
        first = len(self.numbers)
        end = first + len(words)
        if end > len(self.hashes):
            size = max(2 * len(self.hashes), end)
            self.hashes = np.resize(self.hashes, size)
            self.stems = np.resize(self.stems, size)
            self.content = np.resize(self.content, size)
            self.no_break = np.resize(self.no_break, size)
        digest = xxhash.xxh3_64_intdigest
        count = len(words)
        self.hashes[first:end] = np.fromiter((digest(w.encode("utf-8")) for w in words),
                                             dtype=np.uint64, count=count)
        stem = self.stem_chars
        self.stems[first:end] = np.fromiter((digest(w[:stem].encode("utf-8")) for w in words),
                                            dtype=np.uint64, count=count)
        self.content[first:end] = np.fromiter((len(w) > 1 and w not in STOPWORDS
                                               for w in words), dtype=bool, count=count)
        self.no_break[first:end] = np.fromiter((_no_break_before([w], 0) for w in words),
                                               dtype=bool, count=count)
        self.numbers.update(zip(words, range(first, end)))
        return np.arange(first, end, dtype=np.int64)

    def lookup(self, words: list[str]) -> np.ndarray:
        """The numbers of ``words`` (int64), valid for this vocabulary's arrays until the next
        call: use them at once."""
        if len(self.numbers) + len(words) > self.limit:
            self._reset()
        try:  # most often every word is known
            return np.fromiter(map(self.numbers.__getitem__, words), dtype=np.int64,
                               count=len(words))
        except KeyError:
            return self._numbers_of(words)

    def content_stems(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the words ``numbers`` (positions) carry content, and the hashes of their
        stems."""
        at = np.flatnonzero(self.content[numbers])
        return at, self.stems[numbers[at]]

    def lookup_keys(self, keys: np.ndarray,
                    words_at: Callable[[np.ndarray], list[str]]) -> np.ndarray:
        """The numbers (int64) of words given by a 64-bit key each (:mod:`dedup.batch`);
        ``words_at(indices)`` are the words at those indices, asked for only where a key is
        new. Valid for this vocabulary's arrays until the next call, like :meth:`lookup`."""
        if len(self.numbers) + len(keys) > self.limit:
            self._reset()
        found = self.keyed.get(keys)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            new, first = np.unique(keys[missing], return_index=True)
            numbers = self._numbers_of(words_at(missing[first]))
            self.keyed.put(new, numbers)
            found[missing] = numbers[np.searchsorted(new, keys[missing])]
        return found

    def _numbers_of(self, words: list[str]) -> np.ndarray:
        """The numbers of ``words``, those not seen yet added together, in the order first
        met."""
        found = np.fromiter(map(self.numbers.get, words, repeat(-1)), dtype=np.int64,
                            count=len(words))
        new = np.flatnonzero(found < 0)
        if len(new):
            self._add_many(list(dict.fromkeys([words[i] for i in new.tolist()])))
            number = self.numbers.__getitem__
            found[new] = [number(words[i]) for i in new.tolist()]
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
        from .kernels import table_put

        table_put(np.ascontiguousarray(keys, dtype=np.uint64),
                  np.ascontiguousarray(values, dtype=np.int64), self.keys, self.values,
                  self.bits)


_local = threading.local()


def vocabulary(stem_chars: int) -> Vocabulary:
    """This thread's vocabulary for ``stem_chars`` (each worker process and thread has its
    own: a vocabulary numbers new words as it meets them, and two threads adding words at
    once, as a dask worker's threads may, could give two words one number)."""
    mine: dict[int, Vocabulary] = _local.__dict__.setdefault("vocabularies", {})
    if stem_chars not in mine:
        mine[stem_chars] = Vocabulary(stem_chars)
    return mine[stem_chars]
