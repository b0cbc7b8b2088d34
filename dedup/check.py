"""Check a new batch against an index: findings, a verdict, and optionally the add.

``check`` finds exactly what ``scan(archive + batch)`` would report for the pairs that
involve a batch document, with the same relations, scores and passages, while reading only
what those pairs need from the index:

* **Candidates.** The batch's band keys are looked up in the index; with the batch's own keys
  they give every band bucket a batch document is in, and the pairs a scan would take from
  it: all pairs of a bucket of up to ``lsh.max_bucket`` documents, and of a larger bucket
  only the pairs of its first member (smallest id). A pair that collides in at least
  ``lsh.min_collisions`` buckets is a candidate, as in a scan. A batch large against its
  archive instead reads every archived signature and runs the scan's own candidate search
  over both (:func:`candidate_pairs`: the same pairs, whichever costs less).
* **Boilerplate** is judged over archive and batch together, as in a scan, but only for the
  sentences of the documents in candidate pairs: their carriers come from the index's
  sentence table, and the content-word stems of the (at most ``boilerplate.sample_docs``)
  carriers the rule samples from the index's stems, stored for this.
* **Verification** is :func:`dedup.align.verify` on the documents as indexed, run as a scan
  runs it (:func:`dedup.pipeline.verify_rows`): documents prepared where they are verified.

Pairs of two archived documents are not reported (the archive was checked when it was
built). Batch documents whose id the index already holds are not compared: they are
reported as already indexed (with whether the text is the same), since checking a document
against itself would report it as its own duplicate.

Nothing here prints; renderers return strings (:func:`to_text`, :func:`to_json`,
:func:`dedup.junit.to_junit`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import candidates, compiled
from .arrays import distinct, starts
from .batch import document_features
from .boilerplate import NO_KEY, SentenceProfile, judge_many, sampled_carriers
from .config import Config
from .engines import Engine, SerialEngine
from .index import (
    AlreadyIndexed,
    Index,
    IndexStoreError,
    Progress,
    Session,
    Signed,
    band_keys,
    sign_documents,
)
from .models import Document, Match, Skipped
from .pipeline import SentenceMarks, verification_order, verify_rows
from .report import quote
from .vocabulary import vocabulary

#: Relations that fail a check unless told otherwise (``partial`` is reported, not failed).
DEFAULT_FAIL_ON: frozenset[str] = frozenset({"duplicate", "contains", "contained", "rewrite"})
AddPolicy = Literal["never", "pass", "always"]


@dataclass(frozen=True)
class AlreadyIndexedDocument:
    """A batch document whose id the index holds; ``same_text`` says if it is unchanged."""

    id: str
    same_text: bool


@dataclass
class CheckResult:
    """What a check found and did. ``pairs`` are sorted by ``(a, b)`` like a scan's."""

    index: str
    index_documents: int
    documents: int
    params: dict[str, Any]
    fail_on: frozenset[str]
    batch: list[str]
    pairs: list[Match]
    indexed: frozenset[str]
    already_indexed: list[AlreadyIndexedDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    add: AddPolicy = "never"
    texts: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def failing(self) -> list[Match]:
        """The findings the policy fails on."""
        return [m for m in self.pairs if m.relation in self.fail_on]

    @property
    def passed(self) -> bool:
        return not self.failing

    def findings_of(self, doc_id: str) -> list[Match]:
        """Pairs that involve batch document ``doc_id``."""
        return [m for m in self.pairs if doc_id in (m.a, m.b)]

    def findings_by_document(self) -> dict[str, list[Match]]:
        """:meth:`findings_of` every document with findings, found in one pass over the
        pairs (asking for each batch document in turn went over them all each time: 0.4-0.7
        s for a batch of 4,000 articles)."""
        found: dict[str, list[Match]] = {}
        for m in self.pairs:
            found.setdefault(m.a, []).append(m)
            found.setdefault(m.b, []).append(m)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "index_documents": self.index_documents,
            "documents": self.documents,
            "passed": self.passed,
            "fail_on": sorted(self.fail_on),
            "params": self.params,
            "pairs": [{**m.to_dict(),
                       "in_index": [x for x in (m.a, m.b) if x in self.indexed],
                       "fails": m.relation in self.fail_on} for m in self.pairs],
            "already_indexed": [{"id": d.id, "same_text": d.same_text}
                                for d in self.already_indexed],
            "skipped": [{"id": s.id, "reason": s.reason} for s in self.skipped],
            "added": self.added,
            "stats": self.stats,
        }


@compiled.sized("documents")
def check(
    index: Index, documents: Sequence[Document], *, config: Config | None = None,
    fail_on: Iterable[str] = DEFAULT_FAIL_ON, add: AddPolicy = "never",
    skip_existing: bool = False, progress: Progress | None = None,
    engine: Engine | None = None,
) -> CheckResult:
    """Check ``documents`` (a batch) against ``index``.

    ``config`` is the run's parameters, refused when they differ from the index's (default:
    the index's). ``fail_on`` names the relations that fail the check (``contains`` implies
    ``contained``). ``add="pass"`` adds the batch in the same transaction when the check
    passes, ``"always"`` regardless; ids the index already holds are then an error
    (:class:`~dedup.index.AlreadyIndexed`) unless ``skip_existing``. ``engine`` runs
    preparing and verifying (default: this process; e.g. :func:`dedup.engines.make_engine`
    for a process pool); the results do not depend on it.

    >>> with open_index("archive.dedup") as index:  # doctest: +SKIP
    ...     result = check(index, read_corpus(["new_batch/"]).documents, add="pass")
    >>> result.passed, [(m.a, m.b, m.relation) for m in result.failing]  # doctest: +SKIP
    """
    started = time.perf_counter()
    if config is not None:
        index.check_config(config)
    config = index.config
    failing = set(fail_on)
    if "contains" in failing or "contained" in failing:
        failing |= {"contains", "contained"}
    signed: list[Signed] = []
    skipped: list[Skipped] = []
    engine = engine or SerialEngine()
    for item in sign_documents(documents, config, progress, "preparing", engine=engine):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            signed.append(item)
    prepared_at = time.perf_counter()

    def run(session: Session) -> CheckResult:
        return _check_in(session, documents, signed, skipped, config, frozenset(failing),
                         add, skip_existing, progress, engine)

    result = index.transact(run, write=add != "never")
    result.stats["seconds"] = round(time.perf_counter() - started, 3)
    result.stats["seconds_preparing"] = round(prepared_at - started, 3)
    return result


def _check_in(
    session: Session, documents: Sequence[Document], signed: list[Signed],
    skipped: list[Skipped], config: Config, fail_on: frozenset[str], add: AddPolicy,
    skip_existing: bool, progress: Progress | None, engine: Engine,
) -> CheckResult:
    """The check inside one transaction (may run more than once: see Index.transact)."""
    index_documents = session.count()
    existing = session.existing([s.entry.doc.id for s in signed])
    if existing and add != "never" and not skip_existing:
        raise AlreadyIndexed(session.location, sorted(existing))
    already: list[AlreadyIndexedDocument] = []
    if existing:
        stored = session.documents(existing.values())
        for s in signed:
            num = existing.get(s.entry.doc.id)
            if num is not None:
                already.append(AlreadyIndexedDocument(
                    s.entry.doc.id, stored[num].text == s.entry.doc.text))
    batch = [s for s in signed if s.entry.doc.id not in existing]
    docs = [s.entry.doc for s in batch]

    pairs = candidate_pairs(session, np.stack([s.entry.signature for s in batch])
                            if batch else np.zeros((0, config.lsh.num_perm), dtype=np.uint32),
                            [doc.id for doc in docs], config, engine)
    judge = _Boilerplate(session, batch, config)
    in_batch = sorted({i for i, _, _ in pairs} | {o for _, o, a in pairs if not a})
    flags = dict(zip(in_batch, judge.flags([batch[i].profile() for i in in_batch])))
    matches = _verify(docs, flags, {}, [p for p in pairs if not p[2]], config, engine)

    # Archived candidates a chunk at a time: memory stays bounded by the batch and a chunk,
    # however many chance candidates a large archive yields.
    by_archived: dict[int, list[tuple[int, int, bool]]] = {}
    for pair in pairs:
        if pair[2]:
            by_archived.setdefault(pair[1], []).append(pair)
    nums = sorted(by_archived)
    indexed: set[str] = set()
    kept: dict[str, Document] = {}
    done = len(pairs) - sum(len(v) for v in by_archived.values())
    for start in range(0, len(nums), ARCHIVED_CHUNK):
        chunk = nums[start : start + ARCHIVED_CHUNK]
        stored_docs = session.documents(chunk)
        present = [n for n in chunk if n in stored_docs]
        profiles = engine.map(_profile_chunk, config, [stored_docs[n] for n in present])
        archived = dict(zip(present, zip((stored_docs[n] for n in present),
                                         judge.flags(profiles))))
        chunk_pairs = [pair for n in present for pair in by_archived[n]]
        found = _verify(docs, flags, archived, chunk_pairs, config, engine)
        matches.extend(found)
        indexed.update(d.id for d in stored_docs.values())
        matched = {x for m in found for x in (m.a, m.b)}
        kept.update((d.id, d) for d in stored_docs.values() if d.id in matched)
        done += len(chunk_pairs)
        if progress:
            progress("verifying", done, len(pairs))
    matches.sort(key=lambda m: (m.a, m.b))

    result = CheckResult(
        index=session.location, index_documents=index_documents, documents=len(documents),
        params=config.to_dict(), fail_on=fail_on, batch=[doc.id for doc in docs],
        pairs=matches, indexed=frozenset(indexed),
        already_indexed=already, skipped=sorted(skipped, key=lambda s: s.id), add=add,
        stats={"compared": len(docs), "candidates": len(pairs),
               "archived_candidates": len(nums)},
    )
    result.texts = {doc.id: doc.text for doc in docs}
    for doc in kept.values():
        result.texts[doc.id] = doc.text
        if doc.origin:
            result.origins[doc.id] = doc.origin
    if add == "always" or (add == "pass" and result.passed):
        session.add([s.entry for s in batch])
        result.added = [s.entry.doc.id for s in batch]
    return result


#: Archived candidates prepared and verified at a time (bounds the memory of a check).
ARCHIVED_CHUNK = 2000


def _verify(
    batch: list[Document], flags: dict[int, np.ndarray],
    archived: dict[int, tuple[Document, np.ndarray]], pairs: list[tuple[int, int, bool]],
    config: Config, engine: Engine,
) -> list[Match]:
    """Verify candidate pairs (``(batch row, other, archived)``) as a scan does, each pair
    ordered by id; matches by ``(a, b)``. ``flags`` are the boilerplate flags of the batch
    rows' sentences, ``archived`` the archived documents (by handle) with theirs.

    The documents are prepared where the pairs are verified
    (:func:`dedup.pipeline.verify_rows`): a pool's workers send back matches, not prepared
    documents (sending those was more than a second process saved)."""
    documents = list(batch)
    rows = sorted(flags)
    marks = [flags[row] for row in rows]
    row_of: dict[int, int] = {}
    for num, (doc, doc_flags) in archived.items():
        row_of[num] = len(documents)
        rows.append(len(documents))
        documents.append(doc)
        marks.append(doc_flags)
    ordered: list[tuple[int, int]] = []
    for i, other, is_archived in pairs:
        j = row_of[other] if is_archived else other
        ordered.append((i, j) if documents[i].id < documents[j].id else (j, i))
    if not ordered:
        return []
    sentence_marks = SentenceMarks(np.concatenate(marks).astype(bool),
                                   starts([len(m) for m in marks]),
                                   np.asarray(rows, dtype=np.int64))
    order = verification_order(np.asarray(ordered, dtype=np.int64)).tolist()
    found = verify_rows(documents, sentence_marks, config, order, engine)
    return sorted((m for m in found if m is not None), key=lambda m: (m.a, m.b))


def _profile_chunk(config: Config, docs: Sequence[Document]) -> list[SentenceProfile]:
    """The sentence profiles of archived documents (what marking their boilerplate needs),
    found as signing finds them (:func:`dedup.batch.document_features`)."""
    found = document_features([doc.text for doc in docs], vocabulary(config.align.stem_chars),
                              config.boilerplate.min_words)
    return [SentenceProfile.of(keys, stems, per_sentence)
            for _, _, keys, stems, per_sentence in found.split()]


def candidate_pairs(
    session: Session, signatures: np.ndarray, batch_ids: Sequence[str], config: Config,
    engine: Engine | None = None, *, method: str = "auto",
) -> list[tuple[int, int, bool]]:
    """The candidate pairs a scan of archive + batch has that involve a batch document.

    Returns ``(i, other, archived)``: batch row ``i`` with archived document ``other`` (a
    handle) when ``archived``, else with batch row ``other > i``, sorted. ``batch_ids`` must
    be sorted, as the batch rows are.

    Two ways, the same pairs: ``lookup`` asks the index for the buckets of the batch's band
    keys (:func:`_looked_up_pairs`); ``scan`` reads every archived signature and finds the
    candidates of archive and batch together as a scan does
    (:func:`dedup.candidates.candidate_pairs`, on ``engine``), keeping those that involve
    the batch (:func:`_scanned_pairs`). Looking up costs per batch article and grows with
    the archive (its buckets hold chance collisions); scanning costs per article of both.
    ``auto`` picks the cheaper by :func:`scan_is_cheaper`.
    """
    if len(signatures) == 0:
        return []
    if method == "auto":
        method = "scan" if scan_is_cheaper(len(signatures), session.count()) else "lookup"
    if method == "scan":
        found = _scanned_pairs(session, signatures, batch_ids, config, engine)
        if found is not None:
            return found
    elif method != "lookup":
        raise ValueError(f"unknown method '{method}'; choose auto, lookup or scan")
    return _looked_up_pairs(session, signatures, batch_ids, config)


def scan_is_cheaper(batch: int, archive: int) -> bool:
    """Whether finding the candidates of ``batch`` articles against an index of ``archive``
    as a scan would (:func:`_scanned_pairs`) is cheaper than looking their buckets up."""
    return batch * (LOOKUP_PER_ARTICLE + archive * LOOKUP_PER_PAIR) > (
        (batch + archive) * SCAN_PER_ARTICLE)


#: Seconds per batch article of looking buckets up, and per (batch, archived) article pair
#: (the chance collisions to fetch and join); seconds per article of scanning: fitted to
#: both ways timed on the perf corpus (benchmarks/README.md, "Index and check"). Session
#: 17: 100, 1,000 and 10,000 articles against 90,000 looked up in 0.21-0.23, 1.6-1.9 and
#: 12.1 s, scanned in 1.95-1.98, 2.2-2.35 and 2.4-2.9 s; 1,000 against 9,000 and 4,000
#: against 6,000 looked up in 0.61-0.72 and 1.5-1.9 s, scanned in 0.18-0.22 and 0.17 s.
#: Session 18, the small buckets' members read as text: 1,000 against 90,000 looked up in
#: 1.29-1.33 s, 10,000 in 10.4-10.7 s (the per-pair cost refitted from 1.2e-8).
LOOKUP_PER_ARTICLE = 4.1e-4
LOOKUP_PER_PAIR = 1.0e-8
SCAN_PER_ARTICLE = 2.2e-5


def _scanned_pairs(session: Session, signatures: np.ndarray, batch_ids: Sequence[str],
                   config: Config, engine: Engine | None,
                   ) -> list[tuple[int, int, bool]] | None:
    """:func:`candidate_pairs` from every archived signature: archive and batch in id
    order, as a scan of both would hold them, through the scan's own candidate search.
    None if the index cannot give its signatures at once."""
    archived = session.signatures()
    if archived is None:
        return None
    handles, ids, matrix = archived
    del archived
    batch = len(signatures)
    names = [*batch_ids, *ids]
    order = np.asarray(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
    del names, ids
    # Row `at[k]` of the scan holds batch row k, or archived document k - batch.
    at = np.empty(len(order), dtype=np.int64)
    at[order] = np.arange(len(order), dtype=np.int64)
    together = np.empty((len(order), signatures.shape[1]), dtype=np.uint32)
    together[at[:batch]] = signatures
    together[at[batch:]] = matrix
    del matrix, at
    large = len(together) >= candidates.SPILL_MIN_DOCUMENTS
    pairs = candidates.candidate_pairs(together, config.lsh.min_collisions,
                                       config.lsh.max_bucket, engine if large else None,
                                       spill=large)
    del together
    first, second = order[pairs[:, 0]], order[pairs[:, 1]]
    in_batch = (first < batch) | (second < batch)
    first, second = first[in_batch], second[in_batch]
    # (batch row, other): a batch-batch pair by its smaller row, else the archived handle.
    row = np.where(first < batch, first, second)
    other = np.where(first < batch, second, first)
    archived = other >= batch
    row, other = np.where(archived, row, np.minimum(row, other)), np.where(
        archived, other, np.maximum(row, other))
    other[archived] = handles[other[archived] - batch]
    return _triples(np.sort(_pair_codes(row, other, archived)))


def _looked_up_pairs(
    session: Session, signatures: np.ndarray, batch_ids: Sequence[str], config: Config,
) -> list[tuple[int, int, bool]]:
    """:func:`candidate_pairs` by looking up the buckets of the batch's band keys. Follows
    :func:`dedup.candidates.band_pairs` bucket by bucket, including its rule for buckets
    over ``max_bucket`` (only the first member's pairs)."""
    rows, perms = signatures.shape
    max_bucket, min_collisions = config.lsh.max_bucket, config.lsh.min_collisions
    keys = band_keys(signatures).ravel()
    owner = np.repeat(np.arange(rows, dtype=np.int64), perms)
    unique, inverse, batch_count = np.unique(keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    found_keys, found_sizes = session.bucket_sizes(unique, max_bucket)
    archive_count = np.zeros(len(unique), dtype=np.int64)
    archive_count[np.searchsorted(unique, found_keys)] = found_sizes
    small = archive_count + batch_count <= max_bucket

    # Emissions are (batch row, other, other is archived) triples, one per bucket and pair.
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    archived_flag: list[np.ndarray] = []

    def emit(lhs: np.ndarray, rhs: np.ndarray, is_archived: bool) -> None:
        left.append(lhs)
        right.append(rhs)
        archived_flag.append(np.full(len(lhs), is_archived))

    # Small buckets: every pair.
    member_keys, member_nums = session.bucket_members(unique[small & (archive_count > 0)],
                                                      most=max_bucket)
    in_small = small[inverse]
    lhs, rhs = _join(keys[in_small], owner[in_small], member_keys, member_nums)
    emit(lhs, rhs, True)
    shared = in_small & (batch_count[inverse] > 1)
    lhs, rhs = _join(keys[shared], owner[shared], keys[shared], owner[shared])
    keep = lhs < rhs
    emit(lhs[keep], rhs[keep], False)

    # Large buckets: the pairs of their first member (smallest id) only.
    big = np.flatnonzero(~small)
    if len(big):
        firsts = session.bucket_first(unique[big[archive_count[big] > 0]])
        batch_order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[batch_order], big)
        ends = np.searchsorted(inverse[batch_order], big, side="right")
        first_in_batch: list[tuple[int, int]] = []
        for k, s, e in zip(big.tolist(), starts.tolist(), ends.tolist()):
            batch_rows = sorted(owner[batch_order[s:e]].tolist())
            first_archived = firsts.get(int(unique[k]))
            if first_archived is not None and first_archived[0] < batch_ids[batch_rows[0]]:
                emit(np.asarray(batch_rows, dtype=np.int64),
                     np.full(len(batch_rows), first_archived[1], dtype=np.int64), True)
            else:
                first = batch_rows[0]
                emit(np.full(len(batch_rows) - 1, first, dtype=np.int64),
                     np.asarray(batch_rows[1:], dtype=np.int64), False)
                if first_archived is not None:
                    first_in_batch.append((int(unique[k]), first))
        if first_in_batch:
            # A batch document leads a large bucket: it pairs with every archived member.
            mk, mn = session.bucket_members(np.asarray([k for k, _ in first_in_batch]))
            for key, first in first_in_batch:
                nums = mn[mk == key]
                emit(np.full(len(nums), first, dtype=np.int64), nums, True)

    lhs_all = np.concatenate(left)
    rhs_all = np.concatenate(right)
    arch_all = np.concatenate(archived_flag)
    codes = _pair_codes(lhs_all, rhs_all, arch_all)
    found, counts = np.unique(codes, return_counts=True)
    kept = found[counts >= min_collisions]
    return _triples(kept)


def _pair_codes(rows: np.ndarray, others: np.ndarray, archived: np.ndarray) -> np.ndarray:
    """One int64 code per ``(batch row, other, archived)``, ordered as the triples sort
    (archived handles placed past batch rows)."""
    codes: np.ndarray = ((rows << np.int64(40)) | (archived.astype(np.int64) << np.int64(39))
                         | others)
    return codes


def _triples(codes: np.ndarray) -> list[tuple[int, int, bool]]:
    """The ``(batch row, other, archived)`` triples of :func:`_pair_codes`' codes."""
    mask39 = np.int64((1 << 39) - 1)
    return [(int(c >> 40), int(c & mask39), bool((c >> 39) & 1)) for c in codes.tolist()]


def _join(left_keys: np.ndarray, left_values: np.ndarray, right_keys: np.ndarray,
          right_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ``(left value, right value)`` pairs with equal keys (an equi-join in numpy)."""
    if len(left_keys) == 0 or len(right_keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(right_keys, kind="stable")
    rk, rv = right_keys[order], right_values[order]
    # Searched for in order: numpy's binary search starts where the last key was found when
    # the keys ascend, and a million keys in a batch's order took 0.4-0.5 s, sorted 0.1 s.
    order = np.argsort(left_keys, kind="stable")
    left_keys, left_values = left_keys[order], left_values[order]
    lo = np.searchsorted(rk, left_keys, side="left")
    hi = np.searchsorted(rk, left_keys, side="right")
    n = hi - lo
    total = int(n.sum())
    lhs = np.repeat(left_values, n)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    return lhs.astype(np.int64), rv[offsets].astype(np.int64)


class _Boilerplate:
    """Marks boilerplate in documents as they come, judging each sentence key once over the
    index and the batch together (see :func:`dedup.boilerplate.is_boilerplate`).

    A key's verdict depends only on its carriers, never on which documents are being
    verified, so documents can be marked a chunk at a time with the same result as a scan.
    """

    def __init__(self, session: Session, batch: list[Signed], config: Config) -> None:
        self.session = session
        self.config = config
        # Content stems by id: the batch's as signed (before any marking), then archived
        # documents' as the index stores them; both are what the rule compares.
        self.stems: dict[str, np.ndarray] = {s.entry.doc.id: s.entry.stems for s in batch}
        self.batch_carriers: dict[int, list[str]] = {}
        for s in batch:  # in id order, so the lists stay sorted
            for key in s.entry.sentence_keys.tolist():
                self.batch_carriers.setdefault(key, []).append(s.entry.doc.id)
        self.verdicts: dict[int, bool] = {}

    def flags(self, profiles: list[SentenceProfile]) -> list[np.ndarray]:
        """Which sentences of each document are boilerplate (bool per sentence), from the
        documents' ``profiles``."""
        if not profiles:
            return []
        config = self.config
        wanted = distinct(np.concatenate([profile.keys for profile in profiles]))
        wanted = np.asarray([k for k in wanted.tolist() if k != NO_KEY and
                             k not in self.verdicts], dtype=np.uint64)
        archived = self.session.carriers(wanted) if len(wanted) else {}
        carriers: dict[int, list[str]] = {}
        for key in wanted.tolist():
            ids = sorted(archived.get(key, []) + self.batch_carriers.get(key, []))
            if len(ids) >= config.boilerplate.min_docs:
                carriers[key] = ids
            else:
                self.verdicts[key] = False
        needed = {d for ids in carriers.values()
                  for d in sampled_carriers(ids, config.boilerplate)}
        fetch = sorted(d for d in needed if d not in self.stems)
        self.stems.update(self.session.stems_by_id(fetch))
        lost = [d for d in fetch if d not in self.stems]
        if lost:
            raise IndexStoreError(f"{self.session.location}: index is damaged (no stems for "
                                  f"'{lost[0]}'); rebuild it")
        own = _own_stems(carriers, profiles)
        judged = judge_many([(ids, own[key]) for key, ids in carriers.items()],
                            self.stems.__getitem__, config.boilerplate)
        self.verdicts.update(zip(carriers, judged))
        verdicts = self.verdicts
        return [np.fromiter((verdicts.get(k, False) for k in profile.keys.tolist()),
                            dtype=bool, count=len(profile.keys)) for profile in profiles]


def _own_stems(keys: Container[int], profiles: Iterable[SentenceProfile],
               ) -> dict[int, np.ndarray]:
    """The content stems of the first sentence with each of ``keys`` (equal words give equal
    stems), in one pass over the profiles (a pass for each key was 0.3-0.7 s of a check of
    4,000 articles)."""
    own: dict[int, np.ndarray] = {}
    for profile in profiles:
        for at, key in enumerate(profile.keys.tolist()):
            if key in keys and key not in own:
                own[key] = profile.sentence_stems[at]
    return own


# --- rendering --------------------------------------------------------------------------------


def to_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


_PHRASES = {"duplicate": "duplicate of", "contains": "contains", "contained": "contained in",
            "rewrite": "rewrite of", "partial": "shares passages with"}


def relation_from(match: Match, doc_id: str) -> str:
    """The relation of ``match`` read from ``doc_id``'s side."""
    if doc_id == match.a:
        return match.relation
    return {"contains": "contained", "contained": "contains"}.get(match.relation, match.relation)


def describe(result: CheckResult, match: Match, doc_id: str) -> str:
    """One line: "duplicate of archived 2021/x.txt (98% of it shared, 97% of the other)"."""
    other = match.b if doc_id == match.a else match.a
    mine, theirs = ((match.coverage_a, match.coverage_b) if doc_id == match.a
                    else (match.coverage_b, match.coverage_a))
    where = "archived" if other in result.indexed else "batch"
    return (f"{_PHRASES[relation_from(match, doc_id)]} {where} {other} "
            f"({mine:.0%} of it shared, {theirs:.0%} of the other)")


def passage_lines(result: CheckResult, match: Match, doc_id: str, limit: int = 3,
                  indent: str = "      ") -> list[str]:
    """The longest shared passages, quoted from both documents."""
    mine_a = doc_id == match.a
    other = match.b if mine_a else match.a
    own_text, other_text = result.texts.get(doc_id), result.texts.get(other)
    chosen = sorted(match.passages,
                    key=lambda p: (p.kind != "verbatim", -(p.a_end - p.a_start)))
    lines: list[str] = []
    for p in chosen[:limit]:
        own = (p.a_start, p.a_end) if mine_a else (p.b_start, p.b_end)
        theirs = (p.b_start, p.b_end) if mine_a else (p.a_start, p.a_end)
        lines.append(f"{indent}{p.kind} [{own[0]}:{own[1]}] ~ {other} [{theirs[0]}:{theirs[1]}]")
        if own_text is not None:
            lines.append(f"{indent}  \"{quote(own_text, *own)}\"")
        if p.kind == "reworded" and other_text is not None:
            lines.append(f"{indent}  \"{quote(other_text, *theirs)}\"")
    if len(chosen) > limit:
        lines.append(f"{indent}... and {len(chosen) - limit} more passages")
    return lines


def to_text(result: CheckResult) -> str:
    """The human report: verdict first, then each batch document's findings with passages."""
    failing = result.failing
    verdict = "PASSED" if result.passed else "FAILED"
    lines = [
        f"{verdict}: {_count(result.documents, 'document')} checked against {result.index} "
        f"({_count(result.index_documents, 'document')}): {_count(len(result.pairs), 'finding')}"
        f", {len(failing)} failing (--fail-on {','.join(_policy(result.fail_on)) or 'none'})",
    ]
    by_document = result.findings_by_document()
    for doc_id in result.batch:
        findings = by_document.get(doc_id, [])
        if not findings:
            continue
        lines.append("")
        lines.append(doc_id)
        for m in findings:
            mark = "FAIL" if m.relation in result.fail_on else "note"
            lines.append(f"  {mark} {describe(result, m, doc_id)}")
            other = m.b if doc_id == m.a else m.a
            if other in result.origins:
                lines.append(f"      from {result.origins[other]}")
            lines.extend(passage_lines(result, m, doc_id))
    if result.already_indexed:
        lines.append("")
        lines.append("already indexed (not compared):")
        for d in result.already_indexed:
            lines.append(f"  {d.id}" + ("" if d.same_text else "  (indexed with a different "
                                                                 "text)"))
    if result.skipped:
        lines.append("")
        lines.append("skipped:")
        lines.extend(f"  {s.id}: {s.reason}" for s in result.skipped)
    if result.add != "never":
        lines.append("")
        if result.added:
            lines.append(f"added {_count(len(result.added), 'document')} to {result.index}")
        elif result.batch:
            lines.append(f"added nothing to {result.index} (the check failed; --add-always "
                         "adds regardless)")
    return "\n".join(lines) + "\n"


def _policy(fail_on: frozenset[str]) -> list[str]:
    shown = set(fail_on)
    if "contains" in shown:
        shown.discard("contained")
    order = ["duplicate", "contains", "contained", "rewrite", "partial"]
    return [r for r in order if r in shown]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


RENDERERS: dict[str, Callable[[CheckResult], str]] = {"text": to_text, "json": to_json}
