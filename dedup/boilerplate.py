"""Boilerplate: stock sentences that many documents carry without sharing a story.

Agency credits, "Lesen Sie auch" teasers, legal notes ("Der Volltext dieses auf
Agenturmeldungen basierenden Artikels steht aus rechtlichen Gründen nicht mehr zur
Verfügung.") and newsletter footers recur across unrelated articles. Counting them as shared
text makes unrelated articles look like copies, and short articles the worst.

A sentence that many documents share is either boilerplate or a sentence of a widely copied
story. The difference is its company: the documents that copy a story are about the same
thing, so apart from that sentence they still share many content words; the documents under
a stock line are about anything. So a sentence carried by at least ``min_docs`` documents is
boilerplate when those documents, with the sentence itself taken out, are unrelated: the
median Jaccard of their content-word sets stays below ``max_relatedness``.

Measured (content-word stems): unrelated German news pairs have Jaccard 0.02 at the median
and 0.07 at the 99th percentile; the headlines of the 10kGNAD boilerplate stubs at most
0.06; answers written from one source text (Clough & Stevenson) 0.14 at the median; copies
of one wire story far more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from . import compiled
from .arrays import distinct, starts
from .config import BoilerplateConfig
from .shingle import run_hashes
from .tokens import Tokens

#: Key of a sentence too short to be judged (it is never boilerplate).
NO_KEY = 0

T = TypeVar("T")


@dataclass(frozen=True)
class SentenceProfile:
    """What boilerplate detection needs of one document."""

    keys: np.ndarray  # uint64 key per sentence (NO_KEY when too short)
    sentence_stems: list[np.ndarray]  # unique content-word stem hashes per sentence

    @staticmethod
    def of(keys: np.ndarray, stems: np.ndarray, per_sentence: np.ndarray) -> SentenceProfile:
        """The profile of a document whose sentences have ``keys`` and whose content words'
        stems are ``stems`` (in order), ``per_sentence[s]`` of them in sentence ``s``."""
        sentence_of_stem = np.repeat(np.arange(len(per_sentence), dtype=np.int64),
                                     per_sentence)
        # One sort by (sentence, stem) and one dedup for all sentences, instead of
        # np.unique per sentence: each slice below is exactly that sentence's np.unique.
        order = np.lexsort((stems, sentence_of_stem))
        by_sentence, ordered = sentence_of_stem[order], stems[order]
        keep = np.ones(len(ordered), dtype=bool)
        keep[1:] = (ordered[1:] != ordered[:-1]) | (by_sentence[1:] != by_sentence[:-1])
        by_sentence, ordered = by_sentence[keep], ordered[keep]
        bounds = np.searchsorted(by_sentence, np.arange(len(per_sentence) + 1)).tolist()
        return SentenceProfile(keys, [ordered[bounds[s] : bounds[s + 1]]
                                      for s in range(len(per_sentence))])

    def stems(self) -> np.ndarray:
        if not self.sentence_stems:
            return np.zeros(0, dtype=np.uint64)
        return distinct(np.concatenate(self.sentence_stems))


def sentence_keys(word_ids: np.ndarray, first: np.ndarray, last: np.ndarray,
                  min_words: int) -> np.ndarray:
    """A stable 64-bit key per sentence ``[first[k], last[k])`` (word indices): its words'
    hashes ``word_ids`` (xxh3 of each normalized word) hashed in order
    (:func:`dedup.shingle.run_hashes`); NO_KEY for a sentence of fewer than ``min_words``
    words."""
    first = np.asarray(first, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    keys = np.zeros(len(first), dtype=np.uint64)
    long = np.flatnonzero(last - first >= min_words)
    if len(long):
        keys[long] = run_hashes(word_ids, first[long], last[long])
    return keys


def token_sentence_keys(tokens: Tokens, word_ids: np.ndarray, min_words: int) -> np.ndarray:
    """:func:`sentence_keys` of the sentences of ``tokens``, whose words hash to
    ``word_ids``."""
    bounds = np.array(tokens.sentences, dtype=np.int64).reshape(-1, 2)
    return sentence_keys(word_ids, bounds[:, 0], bounds[:, 1], min_words)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two arrays of unique values (the oracle of :func:`median_jaccard`)."""
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 0.0


def median_jaccard(sets: Sequence[np.ndarray]) -> float:
    """The median Jaccard of every two of ``sets`` (arrays of unique values)."""
    sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    values = np.concatenate(sets) if len(sets) else np.zeros(0, dtype=np.uint64)
    return _median_jaccard(values, np.repeat(np.arange(len(sets)), sizes), len(sets))


def _median_jaccard(values: np.ndarray, owners: np.ndarray, count: int) -> float:
    """:func:`median_jaccard` of ``count`` sets given as one array of ``values`` and the set
    each belongs to (``owners``; no value twice in one set).

    One matrix product for all pairs, not a set intersection per pair: with 12 carriers a
    sentence has 66 pairs, and a million articles 66,891 frequent sentences to judge (27 s
    in the parent with Python sets, one at a time)."""
    order = np.argsort(values, kind="stable")
    values, owners = values[order], owners[order]
    distinct = np.cumsum(np.concatenate(([False], values[1:] != values[:-1])))
    # Which sets hold each distinct value; shared counts are exact in float64 (< 2**53).
    member = np.zeros((int(distinct[-1]) + 1 if len(values) else 0, count), dtype=np.float64)
    member[distinct, owners] = 1.0
    shared = (member.T @ member).astype(np.int64)
    sizes = np.diag(shared)
    first, second = _pairs_of(count)
    both = shared[first, second]
    union = sizes[first] + sizes[second] - both
    scores = np.zeros(len(both), dtype=np.float64)
    np.divide(both, union, out=scores, where=union > 0)
    return _median(scores)


@functools.cache
def _pairs_of(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(count, k=1)``: every two of ``count`` sets (13 us to build, and a
    million articles judge 66,891 sentences of about a dozen carriers each)."""
    return np.triu_indices(count, k=1)


def _median(scores: np.ndarray) -> float:
    """``np.median(scores)`` (the mean of the two middle values when their number is even),
    without its overhead for a few dozen values."""
    if not len(scores):
        return float("nan")
    ordered = np.sort(scores)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def _spread(indices: Sequence[T], most: int) -> list[T]:
    """At most ``most`` of ``indices``, evenly spaced (deterministic sampling)."""
    if len(indices) <= most:
        return list(indices)
    step = len(indices) / most
    return [indices[int(i * step)] for i in range(most)]


def sampled_carriers(carriers: Sequence[T], config: BoilerplateConfig) -> list[T]:
    """The carriers :func:`is_boilerplate` looks at (none when there are too few to judge)."""
    if len(carriers) < config.min_docs:
        return []
    return _spread(carriers, config.sample_docs)


def is_boilerplate(
    carriers: Sequence[T], own: np.ndarray, stems_of: Callable[[T], np.ndarray],
    config: BoilerplateConfig,
) -> bool:
    """The boilerplate rule for one sentence, given everything that decides it.

    ``carriers`` are all the documents carrying the sentence, in id order (any handle:
    a row number in a scan, an id when checking against an index); ``own`` is the sentence's
    unique content-word stems; ``stems_of(carrier)`` gives a carrier's unique content-word
    stems. Only up to ``sample_docs`` carriers, evenly spaced in id order, are looked at, so
    a caller holding the documents elsewhere (an index) fetches just those.
    """
    if len(carriers) < config.min_docs:
        return False
    sampled = [stems_of(d) for d in sampled_carriers(carriers, config)]
    sizes = np.fromiter(map(len, sampled), dtype=np.int64, count=len(sampled))
    values = np.concatenate(sampled)
    owners = np.repeat(np.arange(len(sampled)), sizes)
    rest = ~in_sorted(values, np.sort(own))  # each carrier's stems without the sentence's own
    return _median_jaccard(values[rest], owners[rest], len(sampled)) < config.max_relatedness


def judge_many(sentences: Sequence[tuple[Sequence[T], np.ndarray]],
               stems_of: Callable[[T], np.ndarray], config: BoilerplateConfig) -> list[bool]:
    """:func:`is_boilerplate` of each ``(carriers, own)`` of ``sentences``, with the same
    ``stems_of`` and ``config``: with the compiled kernels, for all of them in one call
    (each carrier's stems fetched once). One at a time, a sentence cost about 100 us of
    numpy calls on a dozen small arrays: 0.47 s of a 100k scan, in one process while the
    other core waited, and 7 s at a million articles."""
    if not compiled.enabled():
        return [is_boilerplate(carriers, own, stems_of, config) for carriers, own in sentences]
    from .kernels import median_jaccards  # numba: for the commands that judge boilerplate

    where: dict[T, int] = {}
    picks: list[int] = []
    pick_bounds = [0]
    for carriers, _ in sentences:
        picks += [where.setdefault(d, len(where)) for d in sampled_carriers(carriers, config)]
        pick_bounds.append(len(picks))
    sets = [stems_of(d) for d in where]
    owns = [own for _, own in sentences]
    medians = median_jaccards(_joined(sets), starts(list(map(len, sets))),
                              np.asarray(picks, dtype=np.int64),
                              np.asarray(pick_bounds, dtype=np.int64), _joined(owns),
                              starts(list(map(len, owns))))
    # NaN (fewer than two carriers looked at) is not below anything: not boilerplate.
    verdicts: list[bool] = (medians < config.max_relatedness).tolist()
    return verdicts


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return (np.concatenate(arrays).astype(np.uint64, copy=False) if arrays
            else np.zeros(0, dtype=np.uint64))


@dataclass(frozen=True)
class Frequent:
    """A sentence carried by at least ``min_docs`` documents."""

    key: int
    carriers: list[int]  # the documents carrying it (rows, ascending)
    first: tuple[int, int]  # where it first occurs: (row, sentence index)


def in_sorted(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``np.isin(values, members)`` for sorted unique ``members``, in one int64 array of
    temporary memory (``np.isin`` sorts both: 1 GB at thirty million sentence keys).

    Many values against few members (every sentence key against the boilerplate ones): a
    table of the members' low 16 bits rules out almost every value with one lookup, and
    only the rest is searched: 7-14 ms instead of 114-158 ms for 2.6 million keys (a 100k
    scan's) against 300."""
    if not len(members):
        return np.zeros(len(values), dtype=bool)
    if len(values) >= 1 << 16 and len(members) <= 1 << 12:
        table = np.zeros(1 << 16, dtype=bool)
        table[np.bitwise_and(members, 0xFFFF).astype(np.intp)] = True
        maybe = np.flatnonzero(table[np.bitwise_and(values, 0xFFFF).astype(np.intp)])
        found = np.zeros(len(values), dtype=bool)
        found[maybe] = _searched(values[maybe], members)
        return found
    return _searched(values, members)


def _searched(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    slot = np.searchsorted(members, values)
    slot[slot == len(members)] = 0
    found: np.ndarray = members[slot] == values
    return found


def frequent_sentences(keys_per_doc: Sequence[np.ndarray], min_docs: int) -> list[Frequent]:
    """The sentences that ``min_docs`` or more documents carry, by key.

    ``keys_per_doc[row]`` holds a document's sentence keys in order (:data:`NO_KEY` for a
    sentence too short to judge).
    """
    lengths = np.fromiter(map(len, keys_per_doc), dtype=np.int64, count=len(keys_per_doc))
    if not lengths.sum():
        return []
    return frequent_sentences_flat(np.concatenate(keys_per_doc), lengths, min_docs)


def frequent_sentences_flat(keys: np.ndarray, lengths: np.ndarray,
                            min_docs: int) -> list[Frequent]:
    """:func:`frequent_sentences` of the documents' keys one after another (``keys``), the
    first ``lengths[0]`` of them the first document's, and so on. Sorted arrays, not a dict
    per sentence: a million articles have some thirty million sentences, and almost all of
    them occur once.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(keys):
        return []
    keys = keys.astype(np.uint64, copy=False)
    # Almost every key occurs once: find the keys occurring min_docs times or more (counting
    # repeats within a document, so a superset), then sort only their occurrences. Sorting
    # every (key, row, sentence) triple at once held 2 GB at a million articles.
    reach = max(min_docs, 1) - 1
    if len(keys) <= reach:
        return []
    # Only keys whose slot (a hash of the key) holds min_docs keys or more can occur that
    # often: a count per slot spares sorting all of them, some thirty million at a million
    # articles. Compiled, a byte per slot, twice as many slots as keys and NO_KEY left out
    # (a key passes by chance about one time in twenty); with numpy, a count per value of
    # the low bits (about as many values as keys; at a million articles 7.2 of the 29.6
    # million keys passed, against 1.7 million, and this function took the parent, while
    # the other core waited, 2.0-4.5 s against 1.4-1.8 s).
    if compiled.enabled():
        from .kernels import maybe_often  # numba: for the commands that judge boilerplate

        maybe = maybe_often(np.ascontiguousarray(keys).view(np.int64), min_docs,
                            max(10, len(keys).bit_length() + 1), True, NO_KEY)
    else:
        bits = max(10, (len(keys) - 1).bit_length())
        slot = (keys & np.uint64((1 << bits) - 1)).astype(np.intp)
        maybe = np.flatnonzero((np.bincount(slot, minlength=1 << bits) >= min_docs)[slot])
        del slot
    # In sorted keys, a key occurs min_docs times if it is also `reach` places further on.
    ordered = np.sort(keys[maybe])
    heads = ordered[: max(len(ordered) - reach, 0)]
    common = distinct(heads[heads == ordered[reach:]])
    del ordered, heads
    common = common[common != np.uint64(NO_KEY)]
    if not len(common):
        return []
    positions = maybe[in_sorted(keys[maybe], common)]
    keys = keys[positions]
    ends = np.cumsum(lengths)
    rows = np.searchsorted(ends, positions, side="right")
    sentences = positions - (ends - lengths)[rows]
    order = np.lexsort((sentences, rows, keys))
    keys, rows, sentences = keys[order], rows[order], sentences[order]
    # One entry per (key, document): its first sentence with that key.
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
    keys, rows, sentences = keys[new], rows[new], sentences[new]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    counts = np.diff(np.append(starts, len(keys)))
    out: list[Frequent] = []
    for start, count in zip(starts[counts >= min_docs].tolist(),
                            counts[counts >= min_docs].tolist()):
        out.append(Frequent(int(keys[start]), rows[start : start + count].tolist(),
                            (int(rows[start]), int(sentences[start]))))
    return out


def judge_sentences(
    frequent: Sequence[Frequent], own_of: Callable[[Frequent], np.ndarray],
    stems_of: Callable[[int], np.ndarray], config: BoilerplateConfig,
) -> frozenset[int]:
    """Keys of the frequent sentences that are boilerplate (:func:`is_boilerplate` on each);
    ``own_of(sentence)`` gives its content stems, ``stems_of(row)`` a carrier's."""
    verdicts = judge_many([(f.carriers, own_of(f)) for f in frequent], stems_of, config)
    return frozenset(f.key for f, boiler in zip(frequent, verdicts) if boiler)


def documents_to_profile(frequent: Sequence[Frequent], config: BoilerplateConfig) -> list[int]:
    """The rows :func:`judge_sentences` will ask about: first carriers and sampled ones."""
    rows = {f.first[0] for f in frequent}
    for f in frequent:
        rows.update(sampled_carriers(f.carriers, config))
    return sorted(rows)


def boilerplate_keys(
    documents: Sequence[SentenceProfile], config: BoilerplateConfig
) -> frozenset[int]:
    """Keys of the boilerplate sentences of a corpus whose profiles are all at hand."""
    frequent = frequent_sentences([p.keys for p in documents], config.min_docs)
    stems_cache: dict[int, np.ndarray] = {}

    def stems_of(d: int) -> np.ndarray:
        if d not in stems_cache:
            stems_cache[d] = documents[d].stems()
        return stems_cache[d]

    def own_of(f: Frequent) -> np.ndarray:
        return documents[f.first[0]].sentence_stems[f.first[1]]

    return judge_sentences(frequent, own_of, stems_of, config)
