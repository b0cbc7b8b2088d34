"""The scan: documents in, a report of clusters, typed pairs and shared passages out.

Stages, each in its own module and each usable alone: tokenize and shingle
(:mod:`dedup.tokens`, :mod:`dedup.shingle`; :mod:`dedup.batch` for blocks of documents at
once), sign (:mod:`dedup.signatures`), find candidates (:mod:`dedup.candidates`), learn
boilerplate (:mod:`dedup.boilerplate`), verify (:mod:`dedup.align`) and cluster
(:mod:`dedup.cluster`).
"""

from __future__ import annotations

import gc
import mmap
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from . import candidates, compiled
from .align import Prepared, Verdict, fragment_words, verify
from .arrays import distinct, starts
from .batch import (
    block_words,
    document_features,
    document_words,
    plain_blocks,
    warm_tables,
)
from .boilerplate import (
    Frequent,
    SentenceProfile,
    documents_to_profile,
    frequent_sentences_flat,
    in_sorted,
    judge_sentences,
    token_sentence_keys,
)
from .candidates import candidate_pairs, collision_counts
from .cluster import build_clusters
from .config import BoilerplateConfig, Config
from .engines import Engine, Rows, SerialEngine, current_engine
from .errors import InputError
from .models import Document, Match, Report, Skipped
from .shingle import shingle_hashes64, shingle_ranges
from .signatures import Signer
from .stem_files import StemFiles, Written, write_block
from .store import ids_of, in_id_order, members_of, select, texts_of
from .tokens import Tokens, tokenize, tokenize_lazily
from .vocabulary import Vocabulary, vocabulary

T = TypeVar("T")
V = TypeVar("V")

#: Called as ``progress(stage, done, total)``; the CLI draws bars with it, the library never.
Progress = Callable[[str, int, int], None]


@dataclass
class Corpus:
    """What a scan keeps of each document it compares (rows in id order): the document, its
    signature, its sentence keys and their lengths; and the boilerplate sentences learned.

    Prepared documents (about 100 KB each) are not kept: verification prepares the
    documents of each candidate pair again where it runs (:meth:`prepare`), so memory grows
    with signatures, not with tokens.
    """

    documents: Sequence[Document]  # a DocumentStore view when scanning a store
    signatures: np.ndarray
    # Every compared document's sentences, one document after another (flat arrays: a
    # million articles have thirty million sentences, and two million small arrays would
    # cost 200 MB in headers alone).
    sentence_keys: np.ndarray  # uint64 per sentence, NO_KEY when too short to judge
    sentence_words: np.ndarray  # int32 words per sentence
    sentence_counts: np.ndarray  # int64 sentences per document
    boilerplate: frozenset[int]
    skipped: list[Skipped]
    config: Config
    _marks: tuple[frozenset[int], SentenceMarks] | None = field(default=None, repr=False)

    def prepare(self, row: int) -> Prepared:
        """Document ``row`` prepared for alignment, its boilerplate marked."""
        return self.sentence_marks().prepare(self.documents[row], row, self.config)

    def sentence_marks(self) -> SentenceMarks:
        """Which of every document's sentences are boilerplate (computed once per set of
        boilerplate sentences)."""
        if self._marks is not None and self._marks[0] is self.boilerplate:
            return self._marks[1]
        boiler = np.sort(np.fromiter(self.boilerplate, dtype=np.uint64,
                                     count=len(self.boilerplate)))
        flags = np.zeros(len(self.sentence_keys), dtype=bool)
        if len(boiler):
            for start in range(0, len(flags), 1 << 22):  # bounded temporaries
                flags[start : start + (1 << 22)] = in_sorted(
                    self.sentence_keys[start : start + (1 << 22)], boiler)
        self._marks = (self.boilerplate, SentenceMarks(flags, starts(self.sentence_counts)))
        return self._marks[1]

    @property
    def boilerplate_words(self) -> int:
        """Words in boilerplate sentences, over all compared documents."""
        if not self.boilerplate:
            return 0
        return int(self.sentence_words[self.sentence_marks().flags].sum())


@dataclass
class SentenceMarks:
    """Per sentence of every compared document (one document after another, as in
    :class:`Corpus`): whether it is boilerplate; ``starts[row]`` is document ``row``'s first.

    Verification marks a document's boilerplate from these rather than hashing its sentences
    again (about a tenth of preparing it); a million articles take 30 MB of flags."""

    flags: np.ndarray  # bool per sentence
    starts: np.ndarray  # int64 per document, and the total at the end
    #: The rows held, ascending, when only some are (:meth:`part`): ``starts`` is then per
    #: row held; None when every document's are.
    rows: np.ndarray | None = None

    def part(self, rows: Sequence[int]) -> SentenceMarks:
        """The marks of ``rows`` only (what verifying a chunk of pairs needs of them)."""
        assert self.rows is None, "a part of a part"
        held = distinct(np.asarray(rows, dtype=np.int64))
        first, last = self.starts[held], self.starts[held + 1]
        flags = (np.concatenate([self.flags[a:b] for a, b in zip(first.tolist(), last.tolist())])
                 if len(held) else np.zeros(0, dtype=bool))
        return SentenceMarks(flags, starts(last - first), held)

    def flags_of(self, row: int) -> np.ndarray:
        """Whether each sentence of document ``row`` is boilerplate."""
        at = row
        if self.rows is not None:
            at = int(np.searchsorted(self.rows, row))
            if at == len(self.rows) or self.rows[at] != row:
                raise IndexError(f"row {row} is not among the {len(self.rows)} rows held")
        return self.flags[self.starts[at] : self.starts[at + 1]]

    def prepare(self, doc: Document, row: int, config: Config) -> Prepared:
        """Document ``doc`` (row ``row``) prepared for alignment, its boilerplate marked."""
        return self.prepare_many([doc], [row], config)[0]

    def prepare_many(self, docs: Sequence[Document], rows: Sequence[int],
                     config: Config) -> list[Prepared]:
        """:meth:`prepare` of each of ``docs`` (rows ``rows``), prepared together."""
        prepared = prepare_many(docs, config)
        for p, row in zip(prepared, rows):
            flags = self.flags_of(row)
            if len(flags) != p.tokens.sentence_count:  # pragma: no cover - same tokenizer
                raise AssertionError(f"'{p.doc.id}': sentences differ from when it was signed")
            if flags.any():
                p.set_boilerplate(flags[p.tokens.sentence_of])
        return prepared


def prepare(doc: Document, config: Config) -> Prepared:
    """Tokenize a document and compute what alignment needs from it."""
    tokens = tokenize_lazily(doc.text)
    vocab = vocabulary(config.align.stem_chars)
    return _prepared(doc, tokens, vocab.lookup(tokens.words), vocab, config)


def prepare_many(docs: Sequence[Document], config: Config) -> list[Prepared]:
    """:func:`prepare` of each document (equal to it): plainly folded texts in blocks
    (:func:`dedup.batch.block_words`, no regex scan or dict lookup per word, and each
    array found for the whole block before it is cut per document), the others one by
    one."""
    vocab = vocabulary(config.align.stem_chars)
    alone, blocks = plain_blocks([doc.text for doc in docs], origins=True)
    out: dict[int, Prepared] = {}
    for block in blocks:
        words = block_words(block.folds.points, block.folds.lengths, vocab)
        origin = block.folds.origin
        assert origin is not None
        # Where each word stands in its original text (the fold's origins are per text).
        starts = origin[words.starts]
        ends = origin[words.ends - 1] + 1 if len(words.ends) else words.ends
        ids = vocab.hashes[words.numbers]
        stem_pos, stems = vocab.content_stems(words.numbers)
        stem_at = np.searchsorted(stem_pos, words.first_word)
        lengths = words.last - words.first
        sentence_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        uncounted = fragment_words(lengths, sentence_of, config.align.min_sentence_words)
        # Word and sentence numbers within each document, for the whole block at once (four
        # subtractions a document were a tenth of preparing it).
        first_word, per_doc = words.first_word, words.per_doc
        own_sentence = sentence_of - np.repeat(per_doc[:-1], np.diff(first_word))
        sentence_low = np.repeat(first_word[:-1], np.diff(per_doc))
        first, last = words.first - sentence_low, words.last - sentence_low
        own_stem = stem_pos - np.repeat(first_word[:-1], np.diff(stem_at))
        # The seed runs' hashes of every document without boilerplate, hashed for the whole
        # block at once (a kernel call a document was a tenth of verifying): a document's
        # are those of the runs that lie inside it (set_boilerplate drops them).
        seed = config.align.seed_words
        seeds = shingle_hashes64(ids, seed)
        word_at, sentence_at, stem_in = (first_word.tolist(), per_doc.tolist(),
                                         stem_at.tolist())
        for d, i in enumerate(block.rows):
            low, high = word_at[d], word_at[d + 1]
            s, e = sentence_at[d], sentence_at[d + 1]
            # Views of the block's arrays, not copies: a document kept holds its block's
            # (about 5 MB) until every document of it is gone, a few blocks in the
            # verifying cache of 512 documents; copying them was 15 % of preparing.
            tokens = Tokens(None, starts[low:high], ends[low:high], None,
                            own_sentence[low:high], docs[i].text, bounds=(first[s:e], last[s:e]))
            p = Prepared(docs[i], tokens, ids[low:high], stems[stem_in[d] : stem_in[d + 1]],
                         own_stem[stem_in[d] : stem_in[d + 1]],
                         np.zeros(high - low, dtype=bool))
            p.uncounted = uncounted[low:high]
            p.seeds[(-1, seed)] = seeds[low : max(low, high - seed + 1)]
            out[i] = p
    for i in alone:
        out[i] = prepare(docs[i], config)
    return [out[i] for i in range(len(docs))]


def _prepared(doc: Document, tokens: Tokens, numbers: np.ndarray, vocab: Vocabulary,
              config: Config) -> Prepared:
    """The document prepared from its tokens and their vocabulary numbers (read at once:
    they hold until the vocabulary's next lookup)."""
    ids = vocab.hashes[numbers]
    stem_pos, stems = vocab.content_stems(numbers)
    prepared = Prepared(doc, tokens, ids, stems, stem_pos, np.zeros(len(tokens), dtype=bool))
    prepared.mark_fragments(config.align.min_sentence_words)
    return prepared


def sentence_profile(p: Prepared, min_words: int) -> SentenceProfile:
    """Sentence keys and per-sentence content stems of a prepared (not yet marked) document."""
    per_sentence = np.bincount(p.tokens.sentence_of[p.stem_pos],
                               minlength=len(p.tokens.sentences))
    return SentenceProfile.of(token_sentence_keys(p.tokens, p.word_ids, min_words), p.stems,
                              per_sentence)


@dataclass
class _Signed:
    """What signing keeps of a block of documents, packed: a handful of arrays per block
    rather than three small arrays per document (a million articles made three million
    arrays, in the parent and in every message back from a worker)."""

    words: np.ndarray  # int64 words per document of the block
    kept: np.ndarray  # bool per document: long enough to compare
    signatures: np.ndarray | None  # uint32 (kept documents, num_perm); None: in the matrix
    sentence_keys: np.ndarray  # uint64, the kept documents' sentences one after another
    sentence_words: np.ndarray  # int32 words per sentence, likewise
    sentence_counts: np.ndarray  # int64 sentences per kept document
    stem_counts: np.ndarray  # int64 content-word stems per kept document
    written: Written | None  # where its stems are, when written


_SignContext = tuple[Config, Signer, Sequence[Document], str | None, np.ndarray | None]


def _sign_blocks(context: _SignContext, blocks: Sequence[tuple[int, int]]) -> list[_Signed]:
    """Sign blocks ``[start, end)`` of documents, keeping only what the later stages need,
    and write the kept documents' content-word stems to ``folder`` (unless None) for judging
    boilerplate (:mod:`dedup.stem_files`). Runs in an engine's worker: only these packed
    results cross back. Given a ``matrix`` (shared with the caller, a row per document),
    the signatures go there, at each document's row, and not back.

    Signing needs a document's word hashes and sentences, not its fragments or offsets, so
    it does not :func:`prepare` the document: :func:`dedup.batch.document_features` finds
    them for a block of documents at once."""
    config, signer, documents, folder, matrix = context
    vocab = vocabulary(config.align.stem_chars)
    out: list[_Signed] = []
    for start, end in blocks:
        found = document_features(texts_of(documents, start, end), vocab,
                                  config.boilerplate.min_words)
        counts = found.words
        keep = counts >= config.shingle.min_words
        kept = found if keep.all() else found.only(keep)
        written = (None if folder is None
                   else write_block(folder, kept.stems, kept.sentence_stems))
        signatures: np.ndarray | None = signer.sign_ranges(
            *shingle_ranges(kept.word_ids, kept.words, config.shingle.size))
        if matrix is not None:
            matrix[start:end][keep] = signatures
            signatures = None
        out.append(_Signed(counts, keep, signatures, kept.sentence_keys,
                           kept.sentence_words.astype(np.int32), kept.sentences,
                           kept.stem_counts, written))
    return out


def _sign_part(context: _SignContext, blocks: Sequence[tuple[int, int]]) -> _SignContext:
    """What :func:`_sign_blocks` needs for ``blocks``: their documents (an engine that
    narrows sends its results back, not into a shared matrix)."""
    config, signer, documents, folder, _ = context
    rows = range(min(start for start, _ in blocks), max(end for _, end in blocks))
    return config, signer, Rows(documents, rows), folder, None


def _concatenate(arrays: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def sign_blocks(count: int) -> list[tuple[int, int]]:
    """How :func:`build_corpus` cuts ``count`` documents into blocks to sign: 16 to 256
    documents each, so that a thousand documents still make enough blocks for a pool."""
    size = max(16, min(256, count // 128))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


#: What judging frequent sentences needs of one document: its unique content stems, and the
#: stems of those of its sentences that are the first occurrence of a frequent sentence.
_Stems = tuple[np.ndarray, dict[int, np.ndarray]]


def _stems_chunk(context: tuple[Config, Sequence[Document]],
                 items: Sequence[tuple[int, tuple[int, ...]]]) -> list[_Stems]:
    """Content stems of documents (rows) and of some of their sentences, as
    :func:`sentence_profile` gives them. Runs in an engine's worker; only the stems cross
    back, not profiles (a million articles can ask for hundreds of thousands).

    Only the words' numbers and sentences are found, not what alignment needs (offsets,
    fragments) nor sentence keys: at a million articles, preparing the documents in full
    made most of the boilerplate stage's minute of profiling."""
    config, documents = context
    vocab = vocabulary(config.align.stem_chars)
    found = document_words([documents[row].text for row, _ in items], vocab, None,
                           lambda numbers: None)
    out: list[_Stems] = []
    for (_, f), (_, sentences) in zip(found, items):
        out.append(_stems_of(f.stems, f.sentence_stems, sentences))
    return out


def _stems_part(context: tuple[Config, Sequence[Document]],
                items: Sequence[tuple[int, tuple[int, ...]]]) -> tuple[Config, Sequence[Document]]:
    """What :func:`_stems_chunk` needs for ``items``: their documents."""
    config, documents = context
    return config, Rows(documents, [row for row, _ in items])


def _written_stems_chunk(files: StemFiles,
                         items: Sequence[tuple[int, tuple[int, ...]]]) -> list[_Stems]:
    """What :func:`_stems_chunk` finds, read from the stems signing wrote. Runs in an
    engine's worker."""
    return [_stems_of(stems, counts, sentences) for (stems, counts), (_, sentences)
            in zip(files.read([row for row, _ in items]), items)]


def _stems_of(stems: np.ndarray, per_sentence: np.ndarray, sentences: Sequence[int]) -> _Stems:
    """A document's unique content stems and those of its ``sentences``, from its stems in
    order and how many of them each of its sentences has."""
    at = starts(per_sentence)
    return distinct(stems), {s: distinct(stems[at[s] : at[s + 1]]) for s in sentences}


class _PreparedCache:
    """The documents a verifying worker prepared lately. Pairs come group by group
    (:func:`verification_order`) and a document recurs in the pairs of its copies, so the
    documents of about one chunk of pairs spare the re-preparing: at 100,000 articles 34,689
    documents were prepared for 29,966 pairs whether 128 or 2,048 were kept. More only grew
    each worker's memory (by 100 MB at 2,048, about 100 KB a document), and with it the
    time: verifying in one process took 4.8 s keeping 128 or 256, 5.1-5.9 s keeping 2,048.

    A document whose text is byte for byte that of one prepared lately (wire copy run
    unchanged) shares its preparation: same text, same words, sentences and boilerplate.
    Likewise a pair whose two texts are those of a pair verified lately shares its match,
    under its own ids: ten outlets running one story unchanged make 45 pairs of one text,
    and at 100,000 articles 12 % of the candidate pairs repeat an earlier pair's texts.
    """

    #: Documents (texts, pairs) kept: a chunk of 256 pairs holds at most 512 documents.
    size = 512

    def __init__(self, token: str) -> None:
        self.token = token
        self.entries: OrderedDict[int, Prepared] = OrderedDict()
        self.by_text: OrderedDict[str, Prepared] = OrderedDict()
        self.matches: OrderedDict[tuple[str, str], Match | None] = OrderedDict()

    def match(self, a: Prepared, b: Prepared, config: Config) -> Match | None:
        """``verify(a, b).match``, or that of a pair of the same texts verified lately with
        the ids of ``a`` and ``b``: a verdict depends on the two texts only (their
        boilerplate too follows from their sentences)."""
        key = (a.doc.text, b.doc.text)
        if key in self.matches:
            self.matches.move_to_end(key)
            known = self.matches[key]
            return None if known is None else replace(known, a=a.doc.id, b=b.doc.id)
        found = verify(a, b, config.align, all_scores=False).match
        self._remember(self.matches, key, found)
        return found

    def get(self, rows: Sequence[int], documents: Sequence[Document],
            make: Callable[[list[int], list[Document]], list[Prepared]]) -> dict[int, Prepared]:
        """The documents ``rows`` prepared: from the cache, from a prepared document of the
        same text, or by ``make(rows, documents)`` for the others, all at once."""
        ready: dict[int, Prepared] = {}
        making: dict[str, list[tuple[int, Document]]] = {}
        for row in dict.fromkeys(rows):
            p = self.entries.get(row)
            if p is not None:
                self.entries.move_to_end(row)
                ready[row] = p
                continue
            doc = documents[row]
            same = self.by_text.get(doc.text)
            if same is not None:
                self.by_text.move_to_end(doc.text)
                ready[row] = replace(same, doc=doc)
            else:
                making.setdefault(doc.text, []).append((row, doc))
        firsts = [copies[0] for copies in making.values()]
        made = make([row for row, _ in firsts], [doc for _, doc in firsts])
        for (text, copies), p in zip(making.items(), made):
            self._remember(self.by_text, text, p)
            for row, doc in copies:
                ready[row] = p if doc is p.doc else replace(p, doc=doc)
        for row in rows:
            if row not in self.entries:
                self._remember(self.entries, row, ready[row])
        return ready

    def _remember(self, entries: OrderedDict[T, V], key: T, p: V) -> None:
        entries[key] = p
        if len(entries) > self.size:
            entries.popitem(last=False)


# Each thread its own cache (a dask worker may run several verifying tasks at once).
_caches = threading.local()


def _verify_chunk(
    context: tuple[Sequence[Document], SentenceMarks, Config, str],
    pairs: Sequence[Sequence[int]],
) -> list[Match | None]:
    """Verify a chunk of candidate pairs (row numbers), preparing their documents here.
    Runs in an engine's worker; ``token`` tells one scan's rows from another's (a string, not
    an object's identity: a narrowed context arrives anew with each task)."""
    documents, marks, config, token = context
    cache = getattr(_caches, "cache", None)
    if cache is None or cache.token != token:
        cache = _caches.cache = _PreparedCache(token)

    # A chunk's documents are prepared together (in blocks), then its pairs verified.
    ready = cache.get([row for pair in pairs for row in pair], documents,
                      lambda rows, docs: marks.prepare_many(docs, rows, config))
    return [cache.match(ready[i], ready[j], config) for i, j in pairs]


def _verify_part(context: tuple[Sequence[Document], SentenceMarks, Config, str],
                 pairs: Sequence[Sequence[int]],
                 ) -> tuple[Sequence[Document], SentenceMarks, Config, str]:
    """What :func:`_verify_chunk` needs for ``pairs``: their documents and their marks."""
    documents, marks, config, token = context
    rows = sorted({row for pair in pairs for row in pair})
    return Rows(documents, rows), marks.part(rows), config, token


def verify_rows(documents: Sequence[Document], marks: SentenceMarks, config: Config,
                pairs: Sequence[Sequence[int]], engine: Engine,
                progress: Callable[[int], None] | None = None) -> list[Match | None]:
    """Verify pairs of rows of ``documents``, ``(i, j)`` matching ``documents[i]`` against
    ``documents[j]``: each pair's match, or None. The documents are prepared where the pairs
    are verified (their boilerplate marked from ``marks``), so that only matches come back
    from an engine's workers; pairs of one group of documents one after another
    (:func:`verification_order`) prepare each document about once."""
    try:
        return engine.map(_verify_chunk, (documents, marks, config, uuid.uuid4().hex), pairs,
                          progress, narrow=_verify_part)
    finally:
        # What this process prepared (a serial run, or a pool's first chunks) is not
        # wanted again: the next verifying has a token of its own.
        _caches.cache = None


@contextmanager
def without_collections() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) while building many objects that
    stay and hold no cycles. With a large corpus alive in this process, the full collections
    that their allocations set off each walked all of it: a third of a second of the 100k
    scan's clustering, while the other cores waited."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def verification_order(pairs: np.ndarray) -> np.ndarray:
    """Candidate ``pairs`` (rows, sorted) reordered for verifying: the pairs of one connected
    group of documents one after another, groups by their first row, pairs by rows within.

    Sorted by first row, a document's pairs lie far apart (its copies' rows are anywhere),
    and a worker's cache of prepared documents forgets it in between: at 100,000 articles
    1.57 documents were prepared per pair where 1.38 are distinct. Grouped, each chunk of
    pairs reuses what the chunk before it prepared."""
    if len(pairs) == 0:
        return pairs
    nodes, inverse = np.unique(pairs, return_inverse=True)
    inverse = inverse.reshape(pairs.shape)
    a, b = inverse[:, 0], inverse[:, 1]
    # Connected components by hooking and pointer jumping: each node's label falls to the
    # smallest node of its group (labels only decrease, so this ends).
    label = np.arange(len(nodes))
    while True:
        la, lb = label[a], label[b]
        if np.array_equal(la, lb):
            break
        low = np.minimum(la, lb)
        np.minimum.at(label, la, low)
        np.minimum.at(label, lb, low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
    order = np.lexsort((pairs[:, 1], pairs[:, 0], label[a]))
    return pairs[order]


def build_corpus(
    documents: Sequence[Document], config: Config, progress: Progress | None = None,
    engine: Engine | None = None,
) -> Corpus:
    """Sign every document long enough to compare and learn the corpus's boilerplate.

    ``engine`` runs the per-document work (default: in this process, in order); the corpus
    is the same whatever runs it."""
    engine = engine or current_engine()
    with _signed(documents, config, progress, engine) as (corpus, stems):
        corpus.boilerplate = _learn_boilerplate(
            corpus.documents, corpus.sentence_keys, corpus.sentence_counts, config, engine,
            _judging(progress), stems)
    return corpus


def _judging(progress: Progress | None) -> Callable[[int, int], None] | None:
    return None if progress is None else (
        lambda done, total: progress("boilerplate", done, total))


@contextmanager
def _signed(documents: Sequence[Document], config: Config, progress: Progress | None,
            engine: Engine) -> Iterator[tuple[Corpus, StemFiles | None]]:
    """Every document long enough to compare signed (boilerplate not learned yet), and
    where signing wrote their stems (kept until the ``with`` block ends), if it did."""
    ordered = in_id_order(documents)
    signer = Signer(config.lsh.num_perm, config.lsh.seed)
    blocks = sign_blocks(len(ordered))
    signing = None if progress is None else (
        lambda done: progress("signing", blocks[done - 1][1] if done else 0, len(ordered)))
    # Every stage is reported from its start too: the first chunk of work takes a while.
    if signing is not None:
        signing(0)
    warm_tables()  # here, not in each worker of each stage
    # Where signing writes the stems that judging boilerplate reads back, when the engine's
    # workers see this machine's temporary directory.
    with tempfile.TemporaryDirectory(prefix="dedup-stems-") as folder:
        where = folder if getattr(engine, "shares_tempdir", False) else None
        # Workers that share this process's memory write the signatures into one matrix:
        # sending them back and copying them together was 100 MB at 100k articles.
        matrix = (_shared_matrix(len(ordered), config.lsh.num_perm)
                  if getattr(engine, "shares_memory", False) else None)
        signed = engine.map(_sign_blocks, (config, signer, ordered, where, matrix), blocks,
                            signing, narrow=_sign_part)
        yield _assemble(ordered, signed, config, where, matrix)


def _shared_matrix(rows: int, columns: int) -> np.ndarray:
    """A uint32 ``(rows, columns)`` array in anonymous shared memory: what a forked worker
    writes there, this process sees."""
    buffer = mmap.mmap(-1, max(rows * columns * 4, 1))  # anonymous maps are shared
    return np.frombuffer(buffer, dtype=np.uint32, count=rows * columns).reshape(rows, columns)


def _assemble(ordered: Sequence[Document], signed: list[_Signed], config: Config,
              folder: str | None = None,
              matrix: np.ndarray | None = None) -> tuple[Corpus, StemFiles | None]:
    """The corpus of the signed blocks of ``ordered``, in order (boilerplate not learned
    yet), and where the stems of its documents are if signing wrote them to ``folder``.
    The signatures are the blocks' (copied into ``matrix``, a row per document, if given)
    or, where signing wrote them into ``matrix`` itself, already there. ``signed`` is
    emptied: each block is let go once its signatures are copied."""
    ids = ids_of(ordered)
    kept = np.concatenate([b.kept for b in signed]) if signed else np.zeros(0, dtype=bool)
    words = np.concatenate([b.words for b in signed]) if signed else np.zeros(0, np.int64)
    into = (matrix if matrix is not None
            else np.empty((int(kept.sum()), config.lsh.num_perm), dtype=np.uint32))
    keys, lengths, counts, stem_counts = [], [], [], []
    written: list[Written] = []
    row = 0
    signed.reverse()
    while signed:
        block = signed.pop()
        if matrix is None:
            assert block.signatures is not None
            into[row : row + len(block.signatures)] = block.signatures
            row += len(block.signatures)
        else:
            if block.signatures is not None:  # sent back, not written into the matrix
                into[row : row + len(block.kept)][block.kept] = block.signatures
            row += len(block.kept)
        keys.append(block.sentence_keys)
        lengths.append(block.sentence_words)
        counts.append(block.sentence_counts)
        stem_counts.append(block.stem_counts)
        if block.written is not None:
            written.append(block.written)
    skipped = [Skipped(ids[p], f"too short to compare ({words[p]} words, need "
                               f"{config.shingle.min_words})")
               for p in np.flatnonzero(~kept).tolist()]
    signatures = into if matrix is None or kept.all() else matrix[kept]
    corpus = Corpus(select(ordered, np.flatnonzero(kept).tolist()), signatures,
                    _concatenate(keys, np.uint64), _concatenate(lengths, np.int32),
                    _concatenate(counts, np.int64), frozenset(), skipped, config)
    stems = None if folder is None else StemFiles.of(
        folder, written, [len(c) for c in counts], _concatenate(stem_counts, np.int64),
        corpus.sentence_counts)
    return corpus, stems


def _learn_boilerplate(documents: Sequence[Document], keys: np.ndarray, counts: np.ndarray,
                       config: Config, engine: Engine,
                       progress: Callable[[int, int], None] | None = None,
                       written: StemFiles | None = None) -> frozenset[int]:
    """The boilerplate rule over the corpus (``keys`` of every document's sentences, one
    document after another, ``counts[row]`` of them document ``row``'s): profiles only of
    the documents it looks at, read from the stems signing ``written`` if given, else
    tokenized again; ``progress(done, total)`` counts them."""
    if progress is not None:
        progress(0, 0)
    frequent = frequent_sentences_flat(keys, counts, config.boilerplate.min_docs)
    if not frequent:
        return frozenset()
    firsts: dict[int, set[int]] = {}
    for f in frequent:
        firsts.setdefault(f.first[0], set()).add(f.first[1])
    needed = documents_to_profile(frequent, config.boilerplate)
    items = [(row, tuple(sorted(firsts.get(row, ())))) for row in needed]
    profiling = None if progress is None else lambda done: progress(done, len(items))
    found = (engine.map(_stems_chunk, (config, documents), items, profiling,
                        narrow=_stems_part) if written is None
             else engine.map(_written_stems_chunk, written, items, profiling))
    stems = dict(zip(needed, found))
    judging: tuple[Sequence[Frequent], dict[int, _Stems], BoilerplateConfig] = (
        frequent, stems, config.boilerplate)
    verdicts = engine.map(_judge_chunk, judging, range(len(frequent)), narrow=_judge_part)
    return frozenset(f.key for f, boiler in zip(frequent, verdicts) if boiler)


def _judge_chunk(context: tuple[Sequence[Frequent], dict[int, _Stems], BoilerplateConfig],
                 indices: Sequence[int]) -> list[bool]:
    """Whether each of the frequent sentences ``indices`` is boilerplate
    (:func:`dedup.boilerplate.judge_sentences`), from the stems profiled. Runs in an
    engine's worker: a million articles have 66,891 sentences to judge, 7 s in one process."""
    frequent, stems, config = context
    chunk = [frequent[i] for i in indices]
    boiler = judge_sentences(chunk, lambda f: stems[f.first[0]][1][f.first[1]],
                             lambda row: stems[row][0], config)
    return [f.key in boiler for f in chunk]


def _judge_part(context: tuple[Sequence[Frequent], dict[int, _Stems], BoilerplateConfig],
                indices: Sequence[int],
                ) -> tuple[Sequence[Frequent], dict[int, _Stems], BoilerplateConfig]:
    """What :func:`_judge_chunk` needs for ``indices``: their sentences and the stems of the
    documents judging them looks at."""
    frequent, stems, config = context
    part = Rows(frequent, indices)
    rows = documents_to_profile([part[i] for i in indices], config)
    return part, {row: stems[row] for row in rows}, config


#: Documents from which a scan on a local pool learns boilerplate in a process of its own
#: while the pool finds candidates (:meth:`dedup.engines.local.ProcessEngine.aside`).
#: ``dedup scan`` on the perf corpus, two processes, aside against before (session 19):
#: 4,000 articles 1.38-1.46 s against 1.39-1.50 s, 10,000 1.88-2.13 against 2.01-2.13,
#: 30,000 3.85-3.96 against 3.91-4.07, 100,000 9.3-9.4 against 9.8.
ASIDE_MIN_DOCUMENTS = 10_000


@compiled.sized("documents")
def scan(
    documents: Sequence[Document], config: Config | None = None,
    progress: Progress | None = None, *, engine: Engine | None = None,
) -> Report:
    """Find every copy, rewrite and shared passage among ``documents``.

    The result does not depend on the order of ``documents``: they are processed in id order
    and every tie is broken by id. Nor does it depend on ``engine`` (what runs preparing and
    verifying: by default :func:`dedup.engines.current_engine`, this process unless set by
    :func:`dedup.engines.using_engine`; or e.g. :func:`dedup.engines.make_engine`'s pool).
    """
    config = config or Config()
    config.validate()
    engine = engine or current_engine()
    with _signed(documents, config, progress, engine) as (corpus, stems):
        # Learning boilerplate takes one core, and candidates do not need it: beside a pool
        # finding them, it runs in a process of its own (the pool's workers then share the
        # cores with it), else before them on the engine.
        learn = (corpus.documents, corpus.sentence_keys, corpus.sentence_counts, config)
        aside = getattr(engine, "aside", None)
        learning = (aside(_learn_boilerplate, *learn, SerialEngine(), None, stems)
                    if aside is not None and len(corpus.documents) >= ASIDE_MIN_DOCUMENTS
                    else None)
        try:
            if learning is None:
                corpus.boilerplate = _learn_boilerplate(*learn, engine, _judging(progress),
                                                        stems)
            large = len(corpus.signatures) >= candidates.SPILL_MIN_DOCUMENTS
            pairs = candidate_pairs(
                corpus.signatures, config.lsh.min_collisions, config.lsh.max_bucket,
                engine if large else None, spill=large,
                progress=None if progress is None else (
                    lambda done, total: progress("candidates", done, total)))
            if learning is not None:
                if progress is not None:
                    progress("boilerplate", 0, 0)
                corpus.boilerplate = learning.result()
                if progress is not None:
                    progress("boilerplate", 1, 1)
        finally:
            if learning is not None:
                learning.close()
    verifying = None if progress is None else (
        lambda done: progress("verifying", done, len(pairs)))
    if verifying is not None:
        verifying(0)
    pair_rows = verification_order(pairs).tolist()
    verdicts = verify_rows(corpus.documents, corpus.sentence_marks(), config, pair_rows, engine,
                           verifying)
    matches = [match for match in verdicts if match is not None]
    matches.sort(key=lambda m: (m.a, m.b))
    # Clusters need of their members an id, a date and a length, not texts (a store keeps
    # them on disk, and a million articles have hundreds of thousands of copies).
    matched = sorted({row for (i, j), verdict in zip(pair_rows, verdicts)
                      if verdict is not None for row in (i, j)})
    with without_collections():
        clusters = build_clusters(matches, {m.id: m for m in
                                            members_of(select(corpus.documents, matched))})
    return Report(
        documents=len(documents),
        params=config.to_dict(),
        clusters=clusters,
        pairs=matches,
        skipped=sorted(corpus.skipped, key=lambda s: s.id),
        stats={"compared": len(corpus.documents), "candidates": len(pairs),
               "boilerplate_words": corpus.boilerplate_words},
    )


@dataclass
class Explanation:
    """Why two documents match or not: candidate evidence and the verifier's verdict."""

    a: Document
    b: Document
    collisions: int
    num_perm: int
    candidate: bool
    verdict: Verdict


@compiled.sized("context")
def explain(
    a: Document, b: Document, config: Config | None = None,
    context: Sequence[Document] = (),
) -> Explanation:
    """Explain the relation of ``a`` and ``b``; ``context`` is the rest of the corpus, used to
    learn boilerplate (without it, nothing counts as boilerplate)."""
    config = config or Config()
    config.validate()
    if a.id == b.id:
        raise InputError(f"cannot explain '{a.id}' against itself; give two different documents")
    if a.id > b.id:
        a, b = b, a
    others = [d for d in context if d.id not in (a.id, b.id)]
    corpus = build_corpus([a, b, *others], config)
    index = {doc.id: n for n, doc in enumerate(corpus.documents)}
    for doc in (a, b):
        if doc.id not in index:
            words = len(tokenize(doc.text))
            raise InputError(f"'{doc.id}' is too short to compare ({words} words, need "
                             f"{config.shingle.min_words})")
    i, j = index[a.id], index[b.id]
    collisions = collision_counts(corpus.signatures, i, j)
    verdict = verify(corpus.prepare(i), corpus.prepare(j), config.align)
    return Explanation(a, b, collisions, config.lsh.num_perm,
                       collisions >= config.lsh.min_collisions, verdict)
