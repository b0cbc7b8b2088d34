"""Verify one candidate pair: shared passages, coverage, and a typed relation.

Two kinds of evidence, both with offsets into the original texts:

* **Verbatim passages**: exact word runs (seeded by ``seed_words``-grams, found in any order,
  so moved paragraphs are found) chained along a diagonal across small edits. This finds
  copies, trimmed and updated copies, shared paragraphs and quotes.
* **Reworded sentences**: an ordered alignment of content words (non-stopword stems, by
  rapidfuzz's LCS). A rewrite changes words and clause order inside sentences but keeps the
  story's sequence of names, facts and quotes; two articles that merely report one event
  share names in no particular order. Sentence pairs that share enough of that alignment are
  reported as reworded passages.

Boilerplate words (see :mod:`dedup.boilerplate`) can never match and do not count in
coverage, so a stock sentence neither creates a passage nor dilutes a real one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import LCSseq

from . import compiled
from .config import AlignConfig
from .models import Document, Match, Passage, Relation
from .shingle import shingle_hashes64
from .tokens import Tokens


def fragment_words(lengths: np.ndarray, sentence_of: np.ndarray,
                   min_sentence_words: int) -> np.ndarray:
    """Per word (``sentence_of`` its sentence): whether it is in a fragment, a sentence of
    fewer than ``min_sentence_words`` words (sentences of ``lengths`` words each)."""
    short: np.ndarray = (lengths < min_sentence_words)[sentence_of]
    return short


@dataclass
class Prepared:
    """A document made ready for alignment (computed once, used for every pair)."""

    doc: Document
    tokens: Tokens
    word_ids: np.ndarray  # uint64 hash per word
    stems: np.ndarray  # uint64 hash of the stem of each content word
    stem_pos: np.ndarray  # word index of each content word
    boiler: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Words that do not count for coverage: boilerplate, and fragments (sentences shorter
    #: than ``AlignConfig.min_sentence_words``: captions, credits, "Kommentare (172)").
    uncounted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Hashes of the seed runs of :func:`exact_runs` by (side, seed words): a document is
    #: verified against each of its candidates, and hashing them was a tenth of a pair.
    seeds: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False,
                                                     compare=False)
    #: Whether any word is boilerplate (``boiler.any()``, asked for every pair).
    marked: bool = field(default=False, repr=False, compare=False)

    @property
    def counted(self) -> int:
        """Words that count for coverage."""
        return int(len(self.tokens) - np.count_nonzero(self.uncounted))

    def mark_fragments(self, min_sentence_words: int) -> None:
        # Sentences are consecutive runs of words: counting each one's words is its length.
        lengths = np.bincount(self.tokens.sentence_of, minlength=self.tokens.sentence_count)
        self.uncounted = fragment_words(lengths, self.tokens.sentence_of, min_sentence_words)
        if len(self.boiler):
            self.uncounted = self.uncounted | self.boiler

    def set_boilerplate(self, mask: np.ndarray) -> None:
        self.boiler = mask
        self.marked = bool(mask.any())
        self.seeds.clear()
        self.uncounted = self.uncounted | mask
        keep = ~mask[self.stem_pos] if len(self.stem_pos) else np.zeros(0, dtype=bool)
        self.stems = self.stems[keep]
        self.stem_pos = self.stem_pos[keep]


@dataclass(frozen=True)
class Run:
    """``length`` equal words at ``a`` in one document and ``b`` in the other."""

    a: int
    b: int
    length: int


@dataclass
class Verdict:
    """Everything measured about a pair, and what decided (for ``explain``)."""

    match: Match | None
    reason: str
    verbatim_coverage_a: float = 0.0
    verbatim_coverage_b: float = 0.0
    aligned_coverage_a: float = 0.0
    aligned_coverage_b: float = 0.0
    content_alignment: float = 0.0
    order_excess: float = 0.0
    longest_passage_words: int = 0
    passages: tuple[Passage, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def exact_runs(a_ids: np.ndarray, b_ids: np.ndarray, seed: int) -> list[Run]:
    """Maximal runs of equal words, each at least ``seed`` long, in any order.

    Runs compete for words: the longest are kept first and a word of either document
    belongs to at most one run, so a repeated phrase is not counted twice.
    """
    return _exact_runs(shingle_hashes64(a_ids, seed), shingle_hashes64(b_ids, seed),
                       len(a_ids), len(b_ids), seed)


def _exact_runs(ka: np.ndarray, kb: np.ndarray, len_a: int, len_b: int,
                seed: int) -> list[Run]:
    """:func:`exact_runs` of documents of ``len_a`` and ``len_b`` words whose seeds (runs of
    ``seed`` words) hash to ``ka`` and ``kb``."""
    # Same runs as _reference.exact_runs_reference, in one compiled pass (a dozen numpy
    # calls and a Python loop over the runs were about 150 us a pair).
    if len(ka) == 0 or len(kb) == 0:
        return []
    if not compiled.enabled():
        return _exact_runs_numpy(ka, kb, len_a, len_b, seed)
    from .kernels import exact_runs as found_runs  # numba: for the commands that verify

    a, b, length = found_runs(ka, kb, len_a, len_b, seed, 32)
    return [Run(*run) for run in zip(a.tolist(), b.tolist(), length.tolist())]


def _exact_runs_numpy(ka: np.ndarray, kb: np.ndarray, len_a: int, len_b: int,
                      seed: int) -> list[Run]:
    """:func:`_exact_runs` in numpy, for work too small for the kernels: the seed matches
    (the first 32 positions in b of each seed of a) found and strung into runs as whole
    arrays, then :func:`keep_free_runs`."""
    order_b = np.argsort(kb, kind="stable")
    sorted_b = kb[order_b]
    lo = np.searchsorted(sorted_b, ka, side="left")
    count = np.minimum(np.searchsorted(sorted_b, ka, side="right") - lo, 32)
    total = int(count.sum())
    if total == 0:
        return []
    i = np.repeat(np.arange(len(ka), dtype=np.int64), count)
    j = order_b[np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
                + np.repeat(lo, count)].astype(np.int64)
    diag = j - i
    order = np.lexsort((i, diag))
    diag, i = diag[order], i[order]
    starts = np.flatnonzero(np.concatenate(
        [[True], (diag[1:] != diag[:-1]) | (i[1:] != i[:-1] + 1)]))
    ends = np.append(starts[1:], total) - 1
    runs = [Run(a, a + d, last - a + seed) for a, d, last
            in zip(i[starts].tolist(), diag[starts].tolist(), i[ends].tolist())]
    return keep_free_runs(runs, len_a, len_b, seed)


def keep_free_runs(runs: list[Run], len_a: int, len_b: int, seed: int) -> list[Run]:
    """(The numpy path's, and the reference for :func:`dedup.kernels.exact_runs`.) The runs
    that compete for words: longest first, each word of either document in at
    most one run (a run partly taken is trimmed to its longest free stretch, kept if it is
    still ``seed`` words long); sorted by position."""
    runs.sort(key=lambda r: (-r.length, r.a, r.b))
    used_a = np.zeros(len_a, dtype=bool)
    used_b = np.zeros(len_b, dtype=bool)
    kept: list[Run] = []
    for run in runs:
        free = ~used_a[run.a : run.a + run.length] & ~used_b[run.b : run.b + run.length]
        if free.all():
            kept.append(run)
        elif free.sum() >= seed:
            # Trim to the longest free stretch (another run took part of this one).
            best_start, best_len, cur_start, cur_len = 0, 0, 0, 0
            for offset, ok in enumerate(free.tolist()):
                if ok:
                    cur_start = offset if cur_len == 0 else cur_start
                    cur_len += 1
                    if cur_len > best_len:
                        best_start, best_len = cur_start, cur_len
                else:
                    cur_len = 0
            if best_len < seed:
                continue
            run = Run(run.a + best_start, run.b + best_start, best_len)
            kept.append(run)
        else:
            continue
        used_a[run.a : run.a + run.length] = True
        used_b[run.b : run.b + run.length] = True
    kept.sort(key=lambda r: (r.a, r.b))
    return kept


def chain_runs(runs: list[Run], max_gap: int) -> list[list[Run]]:
    """Group runs into passages: consecutive runs in order in both documents with gaps of at
    most ``max_gap`` words on each side (small edits inside one passage)."""
    chains: list[list[Run]] = []
    for run in runs:  # sorted by position in a
        for chain in chains:
            last = chain[-1]
            gap_a = run.a - (last.a + last.length)
            gap_b = run.b - (last.b + last.length)
            if 0 <= gap_a <= max_gap and 0 <= gap_b <= max_gap:
                chain.append(run)
                break
        else:
            chains.append([run])
    return chains


def _seed_hashes(prepared: Prepared, side: int, seed: int) -> np.ndarray:
    """The hashes of ``prepared``'s runs of ``seed`` words as side ``side`` of a pair
    (boilerplate masked), computed once per document, and once for both sides when it has
    no boilerplate (the sides differ only in how boilerplate is masked)."""
    key = (side if prepared.marked else -1, seed)
    if key not in prepared.seeds:
        prepared.seeds[key] = shingle_hashes64(_masked_ids(prepared, side), seed)
    return prepared.seeds[key]


def _masked_ids(prepared: Prepared, side: int) -> np.ndarray:
    """Word ids where boilerplate words are replaced by values that match nothing.

    The placeholders are distinct per position and per side (bit 62), so two boilerplate
    words never match each other either.
    """
    ids = prepared.word_ids
    if not prepared.marked:
        return ids
    ids = ids.copy()
    where = np.flatnonzero(prepared.boiler)
    marker = (np.uint64(1) << np.uint64(63)) | (np.uint64(side) << np.uint64(62))
    ids[where] = marker | where.astype(np.uint64)
    return ids


def verify(a: Prepared, b: Prepared, config: AlignConfig, *, all_scores: bool = True) -> Verdict:
    """Align documents ``a`` and ``b`` and decide their relation (``a.doc.id < b.doc.id``).

    With ``all_scores=False`` (what scans and checks use: they keep only the match), the
    costly measurements are made only when the decision needs them: no content-word
    alignment for a copy (verbatim coverage decides it), and the aligned sentence pairs and
    the order excess (``order_shuffles`` LCS runs) only where content words align at least
    ``rewrite_lcs``. What is not measured is NaN in the verdict. The match is the same
    either way."""
    counted_a, counted_b = a.counted, b.counted
    if counted_a == 0 or counted_b == 0:
        return Verdict(None, "nothing but boilerplate and fragments to compare")

    seed = config.seed_words
    runs = _exact_runs(_seed_hashes(a, 0, seed), _seed_hashes(b, 1, seed), len(a.tokens),
                       len(b.tokens), seed)
    chains = [
        chain for chain in chain_runs(runs, config.max_gap_words)
        if sum(r.length for r in chain) >= config.min_passage_words
    ]
    covered_a = np.zeros(len(a.tokens), dtype=bool)
    covered_b = np.zeros(len(b.tokens), dtype=bool)
    passages: list[Passage] = []
    longest = 0
    for chain in chains:
        first, last = chain[0], chain[-1]
        a_first, a_last = first.a, last.a + last.length
        b_first, b_last = first.b, last.b + last.length
        matched = sum(r.length for r in chain)
        longest = max(longest, matched)
        covered_a[a_first:a_last] = True
        covered_b[b_first:b_last] = True
        a_start, a_end = a.tokens.span(a_first, a_last)
        b_start, b_end = b.tokens.span(b_first, b_last)
        similarity = 2 * matched / ((a_last - a_first) + (b_last - b_first))
        passages.append(Passage(a_start, a_end, b_start, b_end, "verbatim", similarity))
    covered_a &= ~a.uncounted
    covered_b &= ~b.uncounted
    shared_a, shared_b = np.count_nonzero(covered_a), np.count_nonzero(covered_b)
    verbatim_a = shared_a / counted_a
    verbatim_b = shared_b / counted_b
    verbatim = (shared_a + shared_b) / (counted_a + counted_b)
    if not all_scores:
        nan = float("nan")
        copied = _copy_relation(verbatim_a, verbatim_b, config.duplicate_coverage)
        if copied is not None:
            # A copy needs no content-word alignment (a third of verifying a pair, and most
            # candidate pairs are copies): the match takes verbatim coverage only.
            verdict = Verdict(None, copied[1], verbatim_a, verbatim_b, nan, nan, nan, nan,
                              longest)
            return _matched(verdict, a, b, copied[0], verbatim_a, verbatim_b, verbatim,
                            passages)
        content = _content_share(a, b)
        if content < config.rewrite_lcs:
            # Too little aligns for a rewrite or an edited copy: the pair shares a verbatim
            # passage or nothing, and needs neither the aligned sentence pairs (most of the
            # content alignment's cost) nor the order excess.
            relation, reason = _decide(verbatim_a, verbatim_b, nan, nan, True, content,
                                       lambda: nan, longest, config)
            verdict = Verdict(None, reason, verbatim_a, verbatim_b, nan, nan, content, nan,
                              longest)
            if relation is None:
                return verdict
            return _matched(verdict, a, b, relation, verbatim_a, verbatim_b, verbatim,
                            passages)

    content, reworded = _content_alignment(a, b, covered_a, covered_b, config)
    measured: list[float] = []

    def excess() -> float:
        if not measured:
            measured.append(order_excess(a, b, covered_a, covered_b, config))
        return measured[0]

    if all_scores:
        excess()
    aligned_a_mask = covered_a.copy()
    aligned_b_mask = covered_b.copy()
    for (sa, sb), _share in reworded:
        fa, la = a.tokens.sentences[sa]
        fb, lb = b.tokens.sentences[sb]
        aligned_a_mask[fa:la] = True
        aligned_b_mask[fb:lb] = True
    aligned_a_mask &= ~a.uncounted
    aligned_b_mask &= ~b.uncounted
    aligned_a = np.count_nonzero(aligned_a_mask) / counted_a
    aligned_b = np.count_nonzero(aligned_b_mask) / counted_b

    scores = {
        "verbatim_coverage_a": verbatim_a,
        "verbatim_coverage_b": verbatim_b,
        "aligned_coverage_a": aligned_a,
        "aligned_coverage_b": aligned_b,
        "content_alignment": content,
        "order_excess": measured[0] if measured else float("nan"),
        "longest_passage_words": float(longest),
    }
    shorter_first = counted_a <= counted_b
    relation, reason = _decide(verbatim_a, verbatim_b, aligned_a, aligned_b, shorter_first,
                               content, excess, longest, config)
    scores["order_excess"] = measured[0] if measured else float("nan")
    verdict = Verdict(None, reason, verbatim_a, verbatim_b, aligned_a, aligned_b, content,
                      scores["order_excess"], longest, scores=scores)
    if relation is None:
        return verdict

    if relation == "rewrite":
        for (sa, sb), share in reworded:
            a_start, a_end = a.tokens.span(*a.tokens.sentences[sa])
            b_start, b_end = b.tokens.span(*b.tokens.sentences[sb])
            passages.append(Passage(a_start, a_end, b_start, b_end, "reworded", share))
        return _matched(verdict, a, b, relation, aligned_a, aligned_b,
                        (np.count_nonzero(aligned_a_mask) + np.count_nonzero(aligned_b_mask))
                        / (counted_a + counted_b), passages)
    return _matched(verdict, a, b, relation, verbatim_a, verbatim_b, verbatim, passages)


def _matched(verdict: Verdict, a: Prepared, b: Prepared, relation: Relation, coverage_a: float,
             coverage_b: float, similarity: float, passages: list[Passage]) -> Verdict:
    """``verdict`` with the match of ``a`` and ``b`` as ``relation``, of these coverages,
    similarity (the share of both sides' counted words that are shared) and passages."""
    passages.sort(key=lambda p: (p.a_start, p.b_start, p.a_end, p.b_end))
    verdict.passages = tuple(passages)
    verdict.match = Match(a.doc.id, b.doc.id, relation, float(similarity), float(coverage_a),
                          float(coverage_b), tuple(passages))
    return verdict


def _content_alignment(
    a: Prepared, b: Prepared, covered_a: np.ndarray, covered_b: np.ndarray, config: AlignConfig
) -> tuple[float, list[tuple[tuple[int, int], float]]]:
    """Ordered content-word alignment: its share of the shorter document's content words,
    and the sentence pairs it aligns as reworded (not already inside verbatim passages)."""
    if len(a.stems) == 0 or len(b.stems) == 0:
        return 0.0, []
    # Same as _reference.content_alignment_reference, with the aligned words counted per
    # sentence pair as arrays rather than one word at a time.
    blocks = [block for block in
              LCSseq.editops(a.stems.tolist(), b.stems.tolist()).as_matching_blocks()
              if block.size]
    sizes = np.fromiter((block.size for block in blocks), dtype=np.int64, count=len(blocks))
    matched = int(sizes.sum())
    share = matched / min(len(a.stems), len(b.stems))
    if matched == 0:
        return share, []
    within = np.arange(matched, dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    at_a = np.repeat(np.fromiter((block.a for block in blocks), dtype=np.int64,
                                 count=len(blocks)), sizes) + within
    at_b = np.repeat(np.fromiter((block.b for block in blocks), dtype=np.int64,
                                 count=len(blocks)), sizes) + within
    sentence_a = a.tokens.sentence_of[a.stem_pos[at_a]]
    sentence_b = b.tokens.sentence_of[b.stem_pos[at_b]]
    width = len(b.tokens.sentences)
    pairs, counts = np.unique(sentence_a * width + sentence_b, return_counts=True)

    content_per_sentence_a = np.bincount(a.tokens.sentence_of[a.stem_pos],
                                         minlength=len(a.tokens.sentences))
    content_per_sentence_b = np.bincount(b.tokens.sentence_of[b.stem_pos],
                                         minlength=len(b.tokens.sentences))
    # Share of each sentence inside verbatim passages (what covered[first:last].mean() gives).
    inside_a = _covered_share(covered_a, a.tokens)
    inside_b = _covered_share(covered_b, b.tokens)
    reworded: list[tuple[tuple[int, int], float]] = []
    for code, count in zip(pairs.tolist(), counts.tolist()):
        if count < config.reworded_min_words:
            continue
        sa, sb = divmod(code, width)
        smaller = min(content_per_sentence_a[sa], content_per_sentence_b[sb])
        sentence_share = count / max(1, smaller)
        if sentence_share < config.reworded_min_share:
            continue
        if inside_a[sa] > 0.5 and inside_b[sb] > 0.5:
            continue  # already a verbatim passage
        reworded.append(((sa, sb), min(1.0, sentence_share)))
    return share, reworded


def _content_share(a: Prepared, b: Prepared) -> float:
    """The share of :func:`_content_alignment` alone: the length of the content words' LCS
    over the shorter document's content words, without finding the aligned words."""
    if len(a.stems) == 0 or len(b.stems) == 0:
        return 0.0
    return LCSseq.similarity(a.stems.tolist(), b.stems.tolist()) / min(len(a.stems),
                                                                        len(b.stems))


def _covered_share(covered: np.ndarray, tokens: Tokens) -> list[float]:
    """Per sentence, the share of its words that are ``covered``."""
    if not tokens.sentences:
        return []
    firsts = np.fromiter((first for first, _ in tokens.sentences), dtype=np.int64,
                         count=len(tokens.sentences))
    sizes = np.diff(np.append(firsts, len(covered)))
    counts = np.add.reduceat(covered.astype(np.int64), firsts)
    shares: list[float] = (counts / sizes).tolist()
    return shares


def order_excess(
    a: Prepared, b: Prepared, covered_a: np.ndarray, covered_b: np.ndarray, config: AlignConfig
) -> float:
    """How much more of the content words outside verbatim passages align in order than the
    same words would in random order.

    Two articles on one event share names and terms, and some of them line up by chance; a
    rewrite keeps the *sequence* of its statements. The LCS of the content words outside
    verbatim passages is compared with its mean over ``order_shuffles`` random orders of
    ``b``'s words (a fixed seed, so the result is deterministic), and the difference is taken
    as a share of the shorter remainder. Verbatim passages are left out so that a borrowed
    paragraph alone (a roundup) does not make a rewrite.
    """
    rest_a = a.stems[~covered_a[a.stem_pos]].tolist()
    rest_b = b.stems[~covered_b[b.stem_pos]].tolist()
    shorter = min(len(rest_a), len(rest_b))
    if shorter < config.order_min_words:
        return 0.0
    observed = LCSseq.similarity(rest_a, rest_b)
    rng = random.Random(config.order_seed)
    chance = 0
    for _ in range(config.order_shuffles):
        rng.shuffle(rest_b)
        chance += LCSseq.similarity(rest_a, rest_b)
    return (observed - chance / config.order_shuffles) / shorter


def _copy_relation(verbatim_a: float, verbatim_b: float,
                   threshold: float) -> tuple[Relation, str] | None:
    """The relation verbatim coverage alone decides (a copy of either side, or both), and
    why; None when it takes the other measurements."""
    if verbatim_a >= threshold and verbatim_b >= threshold:
        return "duplicate", f"both sides >= {threshold:.0%} inside shared passages"
    if verbatim_b >= threshold:
        return "contains", f"b is >= {threshold:.0%} inside a"
    if verbatim_a >= threshold:
        return "contained", f"a is >= {threshold:.0%} inside b"
    return None


def _decide(
    verbatim_a: float, verbatim_b: float, aligned_a: float, aligned_b: float,
    shorter_first: bool, content: float, excess_of: Callable[[], float], longest: int,
    config: AlignConfig,
) -> tuple[Relation | None, str]:
    """The relation the measurements support, and the rule that decided, in words
    (``excess_of()`` measures the order excess, asked for only where a rule needs it)."""
    threshold = config.duplicate_coverage
    copied = _copy_relation(verbatim_a, verbatim_b, threshold)
    if copied is not None:
        return copied
    shorter, longer = (aligned_a, aligned_b) if shorter_first else (aligned_b, aligned_a)
    if content >= config.rewrite_lcs and shorter >= threshold:
        # Nearly all of the shorter is inside the longer once edited sentences count too.
        relation: Relation = "contained" if shorter_first else "contains"
        side = "a" if shorter_first else "b"
        return relation, (f"{side} is >= {threshold:.0%} inside the other, counting edited "
                          f"sentences (content words align {content:.2f} >= {config.rewrite_lcs})")
    if content < config.rewrite_lcs:
        if longest >= config.min_passage_words:
            return "partial", f"shares a verbatim passage of {longest} words"
        return None, (f"no verbatim passage of {config.min_passage_words}+ words; content "
                      f"alignment {content:.2f} < {config.rewrite_lcs}")
    excess = excess_of()
    if excess >= config.rewrite_order_excess:
        return "rewrite", (
            f"content words align in order: {content:.2f} of the shorter document "
            f"(>= {config.rewrite_lcs}), {excess:.2f} beyond chance outside verbatim passages "
            f"(>= {config.rewrite_order_excess})"
        )
    if shorter >= config.mostly_shared and longer >= config.mostly_shared_longer:
        return "rewrite", (
            f"mostly shared: {shorter:.0%} of the shorter and {longer:.0%} of the longer "
            f"document lie in shared passages (>= {config.mostly_shared:.0%} and "
            f">= {config.mostly_shared_longer:.0%})"
        )
    if longest >= config.min_passage_words:
        return "partial", f"shares a verbatim passage of {longest} words"
    return None, (f"no verbatim passage of {config.min_passage_words}+ words; word order "
                  f"beyond chance {excess:.2f} < {config.rewrite_order_excess} and shared "
                  f"{shorter:.0%} / {longer:.0%} < {config.mostly_shared:.0%} / "
                  f"{config.mostly_shared_longer:.0%}")
