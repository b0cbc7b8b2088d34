"""Compiled loops for the per-document arithmetic that numpy can only do in several passes.

Each kernel is plain Python compiled by numba on first use and cached beside this file (or,
where that is not writable, in numba's cache folder for the user, or in ``NUMBA_CACHE_DIR``),
so the first scan after installing compiles them (about 9 s) and later ones load them
(about 0.6 s of CPU a process with importing numba: why small work does without them,
:mod:`dedup.compiled`). Where no cache folder can be written the kernels compile in every
process instead of failing. The callers keep the reference in plain numpy or datasketch,
and the tests compare the two.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit
from numba.core.errors import NumbaWarning

# A cache that cannot be written costs a compilation per process, not a warning on every
# command.
warnings.filterwarnings("ignore", category=NumbaWarning, module=r"numba\..*")


def _load_array_math() -> None:
    """Import numba's array functions (which loading or compiling the first kernel does)
    without the BLAS check they run on import: it imports ``scipy.linalg`` (installed for
    datasketch), 0.2-0.3 s of CPU in every process that loads the kernels, for the linear
    algebra none of them does. A module set to None in ``sys.modules`` fails to import at
    once; the entry is removed again, so ``scipy.linalg`` imports as usual afterwards (a
    kernel calling ``np.dot`` would fail to compile with a typing error)."""
    name = "scipy.linalg.cython_blas"
    if "numba.np.arraymath" in sys.modules or name in sys.modules:
        return
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(name, 0) is None:
            del sys.modules[name]


_load_array_math()


def _kernel(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``njit`` with the cache, or without it where numba finds no folder to write it to
    (a read-only installation and no writable home: numba then raises at decoration)."""
    def compile_(fn: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError:
            return njit(nogil=True, **options)(fn)
    return compile_


_EMPTY32 = np.uint32(0xFFFFFFFF)
_MASK32 = np.uint64(0xFFFFFFFF)


@_kernel(inline="always")
def _home(key: np.uint64, shift: np.uint64) -> np.int64:  # pragma: no cover - compiled
    """A key's slot in a table of ``2**(64 - shift)`` slots: the top bits of its product
    with the golden ratio."""
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> shift)


@_kernel(inline="always")
def _mix64(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """The splitmix64 finalizer (:func:`dedup.shingle.mix64`)."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


@_kernel(inline="always")
def _murmur_finish32(value: np.uint32) -> np.uint32:  # pragma: no cover - compiled
    """The murmur3 finalizer of a 32-bit hash (in 64 bits with the high half cleared: numba
    widens 32-bit products)."""
    h = np.uint64(value)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MASK32
    h ^= h >> np.uint64(16)
    return np.uint32(h)


@_kernel()
def minhash_affine32(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, a: np.ndarray,
                     b: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[d]``: the MinHash of the 32-bit hashes ``values[starts[d]:ends[d]]``
    under datasketch's ``affine32`` scheme: the murmur3 finalizer, then ``a * h + b`` modulo
    2**32 per permutation, the minimum of each (all ones for an empty set).

    One pass over a document's hashes with the permutations innermost, which the compiler
    turns into vector instructions; numpy needs a temporary of hashes times permutations and
    a reduction over it. Four hashes a pass over the permutations: the row of minima is
    loaded and stored a quarter as often (12-13 -> 4-5 us an article of 500 shingles; eight
    a pass were no faster)."""
    perms = len(a)
    for d in range(len(starts)):
        row = out[d]
        for p in range(perms):
            row[p] = _EMPTY32
        i = starts[d]
        end = ends[d]
        while i + 4 <= end:
            m0 = _murmur_finish32(values[i])
            m1 = _murmur_finish32(values[i + 1])
            m2 = _murmur_finish32(values[i + 2])
            m3 = _murmur_finish32(values[i + 3])
            for p in range(perms):
                ap = a[p]
                bp = b[p]
                low = min(np.uint32(ap * m0 + bp), np.uint32(ap * m1 + bp))
                high = min(np.uint32(ap * m2 + bp), np.uint32(ap * m3 + bp))
                row[p] = min(row[p], min(low, high))
            i += 4
        while i < end:
            m0 = _murmur_finish32(values[i])
            for p in range(perms):
                row[p] = min(row[p], np.uint32(a[p] * m0 + b[p]))
            i += 1


@_kernel()
def words(points: np.ndarray, word_chars: np.ndarray, base: np.uint64, ends: np.ndarray,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """The words of ``points`` (code points of the Basic Multilingual Plane) in one pass:
    ``(starts, ends, keys, marks)``.

    A word is a maximal run of characters that ``word_chars`` marks, joined across an
    apostrophe (0x27) that has a word character on both sides, as the regex
    ``\\w+(?:'\\w+)*`` finds them. Its key is the polynomial of its characters in ``base``
    modulo 2**64 (character ``j`` times ``base**j``) with its length in bits 48 and up (see
    :mod:`dedup.batch`). ``marks`` are the positions of the characters outside words that
    ``ends`` marks (where a sentence may end: :func:`sentence_bounds` looks only there)."""
    n = len(points)
    most = (n + 1) // 2  # words are separated by at least one character
    starts = np.empty(most, dtype=np.int64)
    stops = np.empty(most, dtype=np.int64)
    keys = np.empty(most, dtype=np.uint64)
    marks = np.empty(n, dtype=np.int64)
    w = -1
    m = 0
    inside = False
    key = np.uint64(0)
    power = np.uint64(1)
    for i in range(n):
        c = points[i]
        now = word_chars[c] or (c == 0x27 and 0 < i < n - 1 and word_chars[points[i - 1]]
                                and word_chars[points[i + 1]])
        if now:
            if not inside:
                w += 1
                starts[w] = i
                key = np.uint64(0)
                power = np.uint64(1)
            key += np.uint64(c) * power
            power *= base
        else:
            if inside:
                stops[w] = i
                keys[w] = key ^ (np.uint64(i - starts[w]) << np.uint64(48))
            if ends[c]:
                marks[m] = i
                m += 1
        inside = now
    if inside:
        stops[w] = n
        keys[w] = key ^ (np.uint64(n - starts[w]) << np.uint64(48))
    count = w + 1
    return starts[:count].copy(), stops[:count].copy(), keys[:count].copy(), marks[:m].copy()


@_kernel()
def table_get(keys: np.ndarray, slots: np.ndarray, values: np.ndarray, bits: int,
              zero: int) -> np.ndarray:  # pragma: no cover - compiled
    """The value of each key in an open-addressing table with linear probing (``slots``
    holds the keys, 0 for empty, a key's home slot the top ``bits`` bits of its product
    with the golden ratio; key 0 is kept apart, its value ``zero``); -1 where a key is
    absent (see :class:`dedup.vocabulary._KeyTable`)."""
    out = np.empty(len(keys), dtype=np.int64)
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    for i in range(len(keys)):
        key = keys[i]
        if key == 0:
            out[i] = zero
            continue
        slot = _home(key, shift)
        out[i] = -1
        while slots[slot] != 0:
            if slots[slot] == key:
                out[i] = values[slot]
                break
            slot = (slot + 1) & mask
    return out


@_kernel()
def table_put(keys: np.ndarray, values: np.ndarray, slots: np.ndarray,
              slot_values: np.ndarray, bits: int) -> None:  # pragma: no cover - compiled
    """Store distinct keys, none of them 0 or in the table yet, with their values in the
    table of :func:`table_get` (which must have room for them)."""
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    for i in range(len(keys)):
        slot = _home(keys[i], shift)
        while slots[slot] != 0:
            slot = (slot + 1) & mask
        slots[slot] = keys[i]
        slot_values[slot] = values[i]


@_kernel()
def sentence_bounds(points: np.ndarray, marks: np.ndarray, punct: np.ndarray,
                    closer: np.ndarray, space: np.ndarray, starts: np.ndarray,
                    doc_starts: np.ndarray, first_word: np.ndarray,
                    no_break: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The word indices at which the sentences of a block of documents start, and the
    number of words after the last (see :func:`dedup.batch._sentences`, which documents the
    rule): ``points`` are the documents' code points, ``marks`` the positions of their line
    breaks and sentence-end punctuation in order (as :func:`words` gives them: every place
    a sentence may end), ``doc_starts`` where each begins (and where the block ends),
    ``starts`` where each word begins, ``first_word`` each document's first word (and the
    number of words), ``no_break[w]`` whether a period after word ``w`` does not end a
    sentence; ``punct``, ``closer`` and ``space`` mark sentence-end punctuation, closing
    quotes and brackets, and white space."""
    n = len(points)
    docs = len(doc_starts) - 1
    out = np.empty(len(starts) + len(first_word), dtype=np.int64)
    out[0] = first_word[0]
    count = 1
    doc = 0
    word = 0  # the first word starting at or after position i
    following = 0  # where the search goes on: the punctuation of a run is one end
    for m in range(len(marks)):
        i = marks[m]
        if i < following:
            continue
        c = points[i]
        end = False
        period = False
        following = i + 1
        if c == 0x0A:
            end = True
        elif punct[c]:
            j = i + 1
            while j < n and punct[points[j]]:
                j += 1
            k = j
            while k < n and closer[points[k]]:
                k += 1
            end = k < n and space[points[k]]
            period = c == 0x2E
            following = j
        if end:
            while doc + 1 < docs and doc_starts[doc + 1] <= i:
                doc += 1
                if first_word[doc] != out[count - 1]:
                    out[count] = first_word[doc]
                    count += 1
            while word < len(starts) and starts[word] < i:
                word += 1
            if (first_word[doc] < word < first_word[doc + 1]
                    and not (period and no_break[word - 1]) and word != out[count - 1]):
                out[count] = word
                count += 1
    for d in range(doc + 1, len(first_word)):
        if first_word[d] != out[count - 1]:
            out[count] = first_word[d]
            count += 1
    return out[:count].copy()


@_kernel(inline="always")
def _entity_step(name: int, kind: np.int8) -> tuple[int, bool]:  # pragma: no cover - compiled
    """The next state of :func:`plain_fold`'s search for ``&name;`` (``name`` characters of a
    name since an ``&``, -1 for none) after a character of ``kind`` (its ``entity`` class),
    and whether that character completed one."""
    if kind == 2:
        return 0, False
    if name < 0:
        return -1, False
    if kind == 1:
        return (name + 1 if name < 33 else -1), False
    return -1, kind == 3 and name > 0


@_kernel()
def plain_fold(raw: np.ndarray, sizes: np.ndarray, replace_length: np.ndarray,
               replace_start: np.ndarray, replace_chars: np.ndarray, checks: np.ndarray,
               entity: np.ndarray, simple: np.ndarray, direct: np.ndarray, origins: bool,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """:func:`dedup.normalize.plain_fold` of texts given as their code points one after
    another (``sizes`` of them each): ``(plain, points, mapped, origin)``.

    A character ``c`` of the Basic Multilingual Plane becomes ``replace_chars[
    replace_start[c]:][:replace_length[c]]`` when ``replace_length[c] >= 0`` (typography,
    dropped invisibles), else stays itself. A text is plain when, once so mapped, none of its
    characters is beyond the plane or flagged ``1`` in ``checks`` (bits 16 and up), no
    hyphen is followed by spaces and then a line break, and no character of class 2 in
    ``entity`` (``&``) is followed by 1 to 33 of class 1 (entity names) and one of class 3
    (``;``). ``points`` are the plain texts' mapped
    characters casefolded through ``checks`` (its low 16 bits), each text followed by a NUL;
    ``mapped`` per plain text how many characters mapping gave (0 for the others); with
    ``origins``, ``origin`` gives each character of ``points`` its index in its text (NULs
    -1). ``simple`` marks the characters that none of this concerns (kept, no flag, no
    hyphen, line break or ``&``; 2 for a space, 1 for the others): most of them, and
    ``direct`` what such a character folds to.

    One pass: each text is folded as it is checked, and what it wrote is dropped if it
    turns out not plain (a pass to check and one to fold took 2.6-2.7 ns a character of
    the perf corpus, this 2.0-2.1). The output starts with room for every character, a
    NUL each and a sixteenth more for typography mapped to several; where that is too
    little, the texts are folded again into twice the room."""
    count = len(sizes)
    plain = np.zeros(count, dtype=np.bool_)
    mapped = np.zeros(count, dtype=np.int64)
    room = len(raw) + count + len(raw) // 16 + 16
    while True:
        # Arrays of a fixed size for each try: one that grows in the loop made it 10x slower.
        points = np.empty(room, dtype=np.uint32)
        origin = np.empty(room if origins else 0, dtype=np.int64)
        out = _fold_into(raw, sizes, replace_length, replace_start, replace_chars, checks,
                         entity, simple, direct, origins, plain, mapped, points, origin)
        if out >= 0:
            return plain, points[:out], mapped, origin[:out] if origins else origin
        room *= 2


@_kernel()
def _fold_into(raw: np.ndarray, sizes: np.ndarray, replace_length: np.ndarray,
               replace_start: np.ndarray, replace_chars: np.ndarray, checks: np.ndarray,
               entity: np.ndarray, simple: np.ndarray, direct: np.ndarray, origins: bool,
               plain: np.ndarray, mapped: np.ndarray, points: np.ndarray,
               origin: np.ndarray) -> int:  # pragma: no cover - compiled
    """:func:`plain_fold` into ``points`` (and ``origin``): how many it wrote, or -1 where
    they have too little room."""
    count = len(sizes)
    room = len(points)
    at = 0
    out = 0
    for t in range(count):
        begin = out
        bad = False
        hyphen = False
        name = -1  # characters of an entity's name since the last "&"; -1: none
        end = at + sizes[t]
        for i in range(at, end):
            c = raw[i]
            if c > 0xFFFF:
                bad = True
                break
            kind = simple[c]
            if kind:
                points[out] = direct[c]
                if origins:
                    origin[out] = i - at
                out += 1
                hyphen = hyphen and kind == 2  # a space keeps a hyphen before it
                if name >= 0:
                    name, found = _entity_step(name, entity[c])
                    if found:
                        bad = True
                        break
                continue
            first = -1
            k = replace_length[c]
            if k >= 0:
                first = replace_start[c]
            else:
                k = 1
            # Room for these, one a character still to come and a NUL a text.
            if out + k + (len(raw) - i - 1) + (count - t) > room:
                return -1
            for j in range(k):
                m = c if first < 0 else replace_chars[first + j]
                bad |= (checks[m] >> 16 & 1) != 0
                name, found = _entity_step(name, entity[m])
                bad |= found
                if m == 0x2D:
                    hyphen = True
                elif m == 0x0A and hyphen:
                    bad = True
                elif m != 0x20:
                    hyphen = False
                points[out] = checks[m] & 0xFFFF
                if origins:
                    origin[out] = i - at
                out += 1
            if bad:
                break
        if bad:
            out = begin
        else:
            plain[t] = True
            mapped[t] = out - begin
            points[out] = 0
            if origins:
                origin[out] = -1
            out += 1
        at = end
    return out


@_kernel(inline="always")
def _slot(slot_key: np.ndarray, head: np.ndarray, key: np.uint64, shift: np.uint64,
          mask: int) -> np.int64:  # pragma: no cover - compiled
    """Where ``key`` is or would go in an open-addressing table (linear probing) whose
    used slots have ``head`` >= 0."""
    slot: np.int64 = _home(key, shift)
    while head[slot] >= 0 and slot_key[slot] != key:
        slot = (slot + 1) & mask
    return slot


@_kernel()
def exact_runs(ka: np.ndarray, kb: np.ndarray, len_a: int, len_b: int, seed: int,
               cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """The verbatim runs of two documents whose runs of ``seed`` words hash to ``ka`` and
    ``kb``, as ``(a, b, length)`` sorted by ``(a, b)`` (see :func:`dedup.align.exact_runs`):
    seed ``i`` of a matches the first ``cap`` seeds of b with its hash; matches on one
    diagonal at consecutive ``i`` are one run; runs compete for words longest first, a run
    partly taken being cut to its first longest free stretch and kept if that is still
    ``seed`` words long."""
    # b's seeds in a hash table, each distinct hash heading the list of its positions in
    # order (sorting b and searching it was 40 us of an article pair's 50).
    bits = 4
    while (1 << bits) < 2 * len(kb):
        bits += 1
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    slot_key = np.zeros(1 << bits, dtype=np.uint64)
    head = np.full(1 << bits, -1, dtype=np.int64)
    after = np.empty(len(kb), dtype=np.int64)
    for j in range(len(kb) - 1, -1, -1):
        slot = _slot(slot_key, head, kb[j], shift, mask)
        after[j] = head[slot]
        slot_key[slot] = kb[j]
        head[slot] = j
    first = np.empty(len(ka), dtype=np.int64)
    found = 0
    for i in range(len(ka)):
        first[i] = head[_slot(slot_key, head, ka[i], shift, mask)]
        j, taken = first[i], 0
        while j >= 0 and taken < cap:
            j, taken = after[j], taken + 1
        found += taken
    # Per diagonal j - i (shifted by len(ka)): where its open run starts, and its last i.
    diagonals = len(ka) + len(kb)
    start = np.empty(diagonals, dtype=np.int64)
    last = np.full(diagonals, -2, dtype=np.int64)
    run_a = np.empty(found, dtype=np.int64)
    run_d = np.empty(found, dtype=np.int64)
    run_n = np.empty(found, dtype=np.int64)
    runs = 0
    for i in range(len(ka)):
        j, taken = first[i], 0
        while j >= 0 and taken < cap:
            d = j - i + len(ka)
            j, taken = after[j], taken + 1
            if last[d] == i - 1:
                last[d] = i
                continue
            if last[d] >= 0:
                run_a[runs], run_d[runs], run_n[runs] = start[d], d, last[d] - start[d] + seed
                runs += 1
            start[d] = i
            last[d] = i
    for d in range(diagonals):
        if last[d] >= 0:
            run_a[runs], run_d[runs], run_n[runs] = start[d], d, last[d] - start[d] + seed
            runs += 1
    run_a, run_n = run_a[:runs], run_n[:runs]
    run_b = run_d[:runs] + run_a - len(ka)
    # Longest first, then by a, then by b: stable sorts from the last key to the first.
    order = np.argsort(run_b, kind="mergesort")
    order = order[np.argsort(run_a[order], kind="mergesort")]
    order = order[np.argsort(-run_n[order], kind="mergesort")]
    used_a = np.zeros(len_a, dtype=np.bool_)
    used_b = np.zeros(len_b, dtype=np.bool_)
    kept_a = np.empty(runs, dtype=np.int64)
    kept_b = np.empty(runs, dtype=np.int64)
    kept_n = np.empty(runs, dtype=np.int64)
    kept = 0
    for r in order:
        a, b, n = run_a[r], run_b[r], run_n[r]
        best_start, best_len, current_start, current_len = 0, 0, 0, 0
        for offset in range(n):
            if used_a[a + offset] or used_b[b + offset]:
                current_len = 0
                continue
            if current_len == 0:
                current_start = offset
            current_len += 1
            if current_len > best_len:
                best_start, best_len = current_start, current_len
        if best_len < seed:
            continue
        a, b, n = a + best_start, b + best_start, best_len
        kept_a[kept], kept_b[kept], kept_n[kept] = a, b, n
        kept += 1
        used_a[a : a + n] = True
        used_b[b : b + n] = True
    kept_a, kept_b, kept_n = kept_a[:kept], kept_b[:kept], kept_n[:kept]
    order = np.argsort(kept_b, kind="mergesort")
    order = order[np.argsort(kept_a[order], kind="mergesort")]
    return kept_a[order], kept_b[order], kept_n[order]


@_kernel()
def band_codes(order: np.ndarray, values: np.ndarray,
               max_bucket: int) -> np.ndarray:  # pragma: no cover - compiled
    """The pairs ``i < j`` of rows with equal values in one band, as ``i * n + j`` codes in
    ascending order, given the rows in stable order of their values (``order``) and those
    values (``values``, the column). A bucket of more than ``max_bucket`` rows gives the
    pairs of its smallest row only (see :func:`dedup.candidates.band_pairs`).

    Each row's pairs come from its own bucket, rows in ascending order and, the order being
    stable, each bucket's rows too: the codes come out sorted, so the pairs of a group of
    bands merge rather than sort."""
    n = len(order)
    position = np.empty(n, dtype=np.int64)  # of each row in order
    end = np.empty(n, dtype=np.int64)  # of the bucket, by position
    first = np.empty(n, dtype=np.int64)
    count = 0
    p = 0
    while p < n:
        q = p + 1
        while q < n and values[order[q]] == values[order[p]]:
            q += 1
        size = q - p
        if size > 1:
            count += size - 1 if size > max_bucket else size * (size - 1) // 2
        for k in range(p, q):
            position[order[k]] = k
            end[k] = q
            first[k] = p
        p = q
    codes = np.empty(count, dtype=np.int64)
    at = 0
    for i in range(n):
        p = position[i]
        q = end[p]
        if q - first[p] > max_bucket and p != first[p]:
            continue
        for k in range(p + 1, q):
            codes[at] = i * n + order[k]
            at += 1
    return codes


@_kernel()
def shingle_hashes64(hashes: np.ndarray, size: int,
                     multipliers: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The 64-bit hash of every run of ``size`` consecutive words (see
    :func:`dedup.shingle.shingle_hashes64`): the word hashes times their position's
    multiplier, summed, through the splitmix64 finalizer (all modulo 2**64)."""
    count = max(len(hashes) - size + 1, 0)
    out = np.empty(count, dtype=np.uint64)
    for i in range(count):
        z = np.uint64(0)
        for k in range(size):
            z += hashes[i + k] * multipliers[k]
        out[i] = _mix64(z)
    return out


@_kernel()
def run_hashes(hashes: np.ndarray, first: np.ndarray, last: np.ndarray, base: np.uint64,
               ) -> np.ndarray:  # pragma: no cover - compiled
    """The hash of each run ``hashes[first[k]:last[k]]`` (see
    :func:`dedup.shingle.run_hashes`): Horner's rule from 1 with ``base``, through the
    splitmix64 finalizer, 1 where that gives 0 (all modulo 2**64)."""
    out = np.empty(len(first), dtype=np.uint64)
    for k in range(len(first)):
        z = np.uint64(1)
        for t in range(first[k], last[k]):
            z = z * base + hashes[t]
        z = _mix64(z)
        out[k] = z if z != np.uint64(0) else np.uint64(1)
    return out


@_kernel()
def median_jaccards(values: np.ndarray, bounds: np.ndarray, picks: np.ndarray,
                    pick_bounds: np.ndarray, own: np.ndarray, own_bounds: np.ndarray,
                    ) -> np.ndarray:  # pragma: no cover - compiled
    """For each group ``g``: the median Jaccard of every two of the sets ``picks[
    pick_bounds[g]:pick_bounds[g + 1]]`` (set ``p`` holds ``values[bounds[p]:bounds[p +
    1]]``), each without the values ``own[own_bounds[g]:own_bounds[g + 1]]``; NaN for a
    group of fewer than two sets (see :func:`dedup.boilerplate.median_jaccard`). A value
    twice in a set counts once; a pair of empty sets scores 0."""
    groups = len(pick_bounds) - 1
    out = np.empty(groups, dtype=np.float64)
    ordered = values.copy()
    longest = 0
    for p in range(len(bounds) - 1):
        ordered[bounds[p] : bounds[p + 1]].sort()
        longest = max(longest, bounds[p + 1] - bounds[p])
    most = 0
    for g in range(groups):
        most = max(most, pick_bounds[g + 1] - pick_bounds[g])
    rest = np.empty((most, longest), dtype=np.uint64)
    sizes = np.empty(most, dtype=np.int64)
    scores = np.empty(most * (most - 1) // 2, dtype=np.float64)
    for g in range(groups):
        count = pick_bounds[g + 1] - pick_bounds[g]
        mine = np.sort(own[own_bounds[g] : own_bounds[g + 1]])
        for j in range(count):
            p = picks[pick_bounds[g] + j]
            o = 0
            m = 0
            for i in range(bounds[p], bounds[p + 1]):
                v = ordered[i]
                if m and rest[j, m - 1] == v:
                    continue
                while o < len(mine) and mine[o] < v:
                    o += 1
                if o < len(mine) and mine[o] == v:
                    continue
                rest[j, m] = v
                m += 1
            sizes[j] = m
        pairs = 0
        for j in range(count):
            for k in range(j + 1, count):
                both = 0
                x = 0
                y = 0
                while x < sizes[j] and y < sizes[k]:
                    a = rest[j, x]
                    b = rest[k, y]
                    if a == b:
                        both += 1
                        x += 1
                        y += 1
                    elif a < b:
                        x += 1
                    else:
                        y += 1
                union = sizes[j] + sizes[k] - both
                scores[pairs] = both / union if union > 0 else 0.0
                pairs += 1
        if pairs == 0:
            out[g] = np.nan
            continue
        ranked = np.sort(scores[:pairs])
        middle = pairs // 2
        out[g] = (ranked[middle] if pairs % 2
                  else (ranked[middle - 1] + ranked[middle]) / 2)
    return out


@_kernel()
def maybe_often(codes: np.ndarray, min_count: int, bits: int, positions: bool,
                ignore: int) -> np.ndarray:  # pragma: no cover - compiled
    """The codes other than ``ignore`` whose slot, of ``2**bits`` (a multiplicative hash of
    the code), holds ``min_count`` codes or more, in their order (with ``positions``, where
    they are in ``codes`` instead): every such code occurring ``min_count`` times is among
    them (its occurrences share a slot), and with about as many slots as codes few others
    are."""
    shift = np.uint64(64 - bits)
    counts = np.zeros(1 << bits, dtype=np.uint8)
    need = min(min_count, 255)  # a count stops at 255
    for i in range(len(codes)):
        if codes[i] == ignore:
            continue
        slot = _home(np.uint64(codes[i]), shift)
        if counts[slot] < 255:
            counts[slot] += 1
    kept = np.empty(len(codes), dtype=np.int64)
    at = 0
    for i in range(len(codes)):
        if codes[i] != ignore and counts[_home(np.uint64(codes[i]), shift)] >= need:
            kept[at] = i if positions else codes[i]
            at += 1
    return kept[:at].copy()


@_kernel()
def pack_codes(codes: np.ndarray, block: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """:func:`dedup.candidates.pack_codes` in one pass over each block (its widest gap, then
    its gaps)."""
    n = len(codes)
    blocks = (n + block - 1) // block
    fence = np.empty(blocks, dtype=np.int64)
    offsets = np.empty(blocks + 1, dtype=np.int64)
    words = np.zeros(n + blocks, dtype=np.uint64)  # a gap takes at most a word
    at = 0
    for b in range(blocks):
        first = b * block
        last = min(first + block, n)
        fence[b] = codes[first]
        offsets[b] = 8 * at
        widest = np.uint64(0)
        for i in range(first + 1, last):
            widest |= np.uint64(codes[i] - codes[i - 1])
        width = 0
        while widest:
            width += 1
            widest >>= np.uint64(1)
        words[at] = np.uint64(width) | (np.uint64(last - first) << np.uint64(8))
        at += 1
        bit = 0
        for i in range(first + 1, last):
            gap = np.uint64(codes[i] - codes[i - 1])
            w = at + (bit >> 6)
            shift = bit & 63
            words[w] |= gap << np.uint64(shift)
            if shift + width > 64:
                words[w + 1] |= gap >> np.uint64(64 - shift)
            bit += width
        at += (bit + 63) >> 6
    offsets[blocks] = 8 * at
    return words[:at].view(np.uint8), fence, offsets


@_kernel()
def unpack_codes(data: np.ndarray, fence: np.ndarray, offsets: np.ndarray, low: int,
                 high: int) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`dedup.candidates.unpack_codes`, one pass over the words (``data`` holds whole
    words, from a multiple of 8 bytes)."""
    words = data.view(np.uint64)
    total = np.int64(0)
    for b in range(len(fence)):
        total += np.int64(words[offsets[b] >> 3] >> np.uint64(8))
    out = np.empty(total, dtype=np.int64)
    k = 0
    for b in range(len(fence)):
        value = fence[b]
        at = offsets[b] >> 3
        last = (offsets[b + 1] >> 3) - 1
        head = words[at]
        width = head & np.uint64(255)
        count = np.int64(head >> np.uint64(8))
        mask = (np.uint64(1) << width) - np.uint64(1)  # 0 for width 0
        at += 1
        if low <= value < high:
            out[k] = value
            k += 1
        if width == 0:  # no gaps stored: the first code again and again
            for _ in range(1, count):
                if low <= value < high:
                    out[k] = value
                    k += 1
            continue
        bit = 0
        for _ in range(1, count):
            w = at + (bit >> 6)
            shift = np.uint64(bit & 63)
            # The next word's low bits hold the rest of a gap that crosses into it; past
            # the block's last word they are masked off (that gap ends in this word).
            upper = words[min(w + 1, last)]
            gap = ((words[w] >> shift) | ((upper << np.uint64(1)) << (np.uint64(63) - shift)))
            value += np.int64(gap & mask)
            bit += width
            if low <= value < high:
                out[k] = value
                k += 1
    return out[:k].copy()


@_kernel()
def utf8_points(data: np.ndarray, count: int) -> np.ndarray:  # pragma: no cover - compiled
    """The code points of ``data`` (uint8: UTF-8 as Python writes it with
    ``surrogatepass``, so a lone surrogate is three bytes like any other character of the
    plane), ``count`` of them; :class:`ValueError` if it holds another number. What
    ``np.frombuffer(data.decode("utf-8", "surrogatepass").encode("utf-32-le"), np.uint32)``
    gives, without the string between (``tests/test_store.py``). Eight bytes at a time where
    all eight are ASCII (0.7 against 1.1 ns a byte of news one at a time)."""
    points = np.empty(count, dtype=np.uint32)
    n = len(data)
    eights = data[: n - n % 8].view(np.uint64)
    high = np.uint64(0x8080808080808080)
    i = 0
    k = 0
    while i < n:
        if i % 8 == 0 and i + 8 <= n and k + 8 <= count:
            w = eights[i // 8]
            if w & high == 0:
                for j in range(8):
                    points[k + j] = np.uint32((w >> np.uint64(8 * j)) & np.uint64(0xFF))
                i += 8
                k += 8
                continue
        if k == count:
            break
        b = np.uint32(data[i])
        if b < 0x80:
            points[k] = b
            i += 1
            k += 1
            continue
        width = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
        if i + width > n:
            break  # cut off: not what Python writes
        if width == 2:
            points[k] = (b & 0x1F) << 6 | (data[i + 1] & 0x3F)
        elif width == 3:
            points[k] = (b & 0x0F) << 12 | (data[i + 1] & 0x3F) << 6 | (data[i + 2] & 0x3F)
        else:
            points[k] = ((b & 0x07) << 18 | (data[i + 1] & 0x3F) << 12
                         | (data[i + 2] & 0x3F) << 6 | (data[i + 3] & 0x3F))
        i += width
        k += 1
    if k != count or i != n:
        raise ValueError("utf8_points: the data holds another number of characters")
    return points


def warm() -> None:
    """Load every kernel for the argument types the pipeline passes (from the cache, or by
    compiling it), so that the workers an engine forks afterwards inherit them rather than
    each loading them again at every stage."""
    points = np.array([0x61, 0x2E, 0x20, 0x0A], dtype=np.uint32)
    table = np.zeros(0x10000, dtype=bool)
    one = np.ones(1, dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    flags = np.zeros(1, dtype=bool)
    minhash_affine32(points, zero, one, points, points, np.empty((1, 4), dtype=np.uint32))
    words(points, table, np.uint64(3), table)
    table_get(np.ones(1, dtype=np.uint64), np.zeros(4, dtype=np.uint64),
              np.zeros(4, dtype=np.int64), 2, -1)
    table_put(np.ones(1, dtype=np.uint64), one, np.zeros(4, dtype=np.uint64),
              np.zeros(4, dtype=np.int64), 2)
    sentence_bounds(points, zero, table, table, table, zero,
                    np.array([0, 5], dtype=np.int64), np.array([0, 1], dtype=np.int64), flags)
    lengths = np.full(0x10000, -1, dtype=np.int64)
    codes = np.zeros(0x10000, dtype=np.uint32)
    keys = np.array([1, 2], dtype=np.uint64)
    exact_runs(keys, keys, 3, 3, 2, 32)
    band_codes(np.arange(2, dtype=np.int64), np.zeros(2, dtype=np.uint32), 50)
    shingle_hashes64(keys, 1, keys)
    for positions in (False, True):
        maybe_often(one, 2, 10, positions, -1)
    packed = pack_codes(one, 2)
    unpack_codes(*packed, 0, 2)
    run_hashes(keys, zero, one, np.uint64(3))
    median_jaccards(keys, np.array([0, 1, 2], dtype=np.int64), np.array([0, 1], dtype=np.int64),
                    np.array([0, 2], dtype=np.int64), keys, np.array([0, 1], dtype=np.int64))
    utf8_points(np.zeros(1, dtype=np.uint8), 1)
    for origins in (False, True):
        plain_fold(points, np.array([4], dtype=np.int64), lengths, lengths, points, codes,
                   np.zeros(0x10000, dtype=np.int8), np.zeros(0x10000, dtype=np.uint8), codes,
                   origins)
