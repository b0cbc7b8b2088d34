"""The persistent index: an archive of documents that new batches are checked against.

An index holds what a scan would compute for each archived document and cannot cheaply
recompute for a whole archive: its MinHash signature and LSH band keys (to find candidates),
the keys of its sentences with their carriers and its content-word stems (to judge
boilerplate over archive and batch together, exactly as a scan does, without re-tokenizing
the carriers), its metadata, and its original text, compressed (so
passages can be shown and re-verified without the original files). It also holds the
parameters it was built with, and refuses to be used with others.

Backends share one interface (:class:`Index`, :class:`Session`) and are chosen by location:
a file path is an embedded SQLite file (this module); ``redis://host:port/db?prefix=name`` is
a Redis server shared by several workers (:mod:`dedup.index_redis`). The code that checks a
batch (:mod:`dedup.check`) only ever talks to :class:`Session`.

Band keys are one integer per band: ``band << 32 | minhash value``, so a candidate lookup is
one equality join on one indexed column. Sentence keys are the 64-bit keys of
:func:`dedup.boilerplate.sentence_keys`, stored as signed 64-bit integers.

SQLite layout (one file, WAL journal):

* ``meta``: schema version, parameters (JSON), created and updated times (UTC, ISO 8601);
* ``documents``: number, id, word count, metadata; ``doc_data``: signature, sentence keys,
  content-word stems and zlib-compressed text, kept apart so that lookups by id stay on
  small pages;
* ``bands`` and ``bands_recent`` (``key, doc``, clustered on the key): an add writes its band
  keys to the small ``bands_recent`` table, which is merged into ``bands`` once it holds an
  eighth of the documents. Inserting random keys into one big B-tree touches nearly every
  page of it (a 1,000-document add into 100,000 documents rewrote 390 MB of WAL); the
  two-level layout keeps an add's writes proportional to the recent table;
* ``sentences`` (``key, doc``): which documents carry which sentence.

Every add and remove is one transaction (``BEGIN IMMEDIATE``; concurrent writers wait for
each other up to ``timeout`` seconds instead of failing). A process killed mid-write leaves
the index as it was: SQLite ignores an uncommitted WAL tail when the file is next opened.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from typing_extensions import Self

from . import compiled
from .arrays import distinct
from .batch import document_features, warm_tables
from .boilerplate import NO_KEY, SentenceProfile
from .config import Config
from .engines import Engine, SerialEngine
from .errors import ConfigError, DedupError
from .models import Document, Skipped
from .shingle import shingle_ranges
from .signatures import Signer
from .store import in_id_order
from .vocabulary import vocabulary

T = TypeVar("T")
I = TypeVar("I", bound="Index")

#: Bumped whenever the stored layout changes; an index with another version is refused.
SCHEMA_VERSION = 3  # 2: content-word stems per document; 3: sentence keys from word hashes
_MAGIC = b"SQLite format 3\x00"
_META_FIELDS = ("title", "source", "date", "url")
# json_each() parameters are chunked so that one query's JSON stays a few MB.
_CHUNK = 100_000
# Rows of bucket members read as one text at most (about 30 bytes each).
_MEMBER_ROWS = 1_000_000


class IndexStoreError(DedupError):
    """An index that cannot be opened, read or written (exit code 3)."""


class ParameterMismatch(ConfigError):
    """The run's parameters differ from those the index was built with (exit code 2)."""


class AlreadyIndexed(IndexStoreError):
    """Documents whose ids are already in the index; nothing was added."""

    def __init__(self, location: str, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        shown = ", ".join(self.ids[:5]) + (f" and {len(self.ids) - 5} more"
                                           if len(self.ids) > 5 else "")
        super().__init__(
            f"{location}: {_count(len(self.ids), 'id')} already indexed: {shown}; remove them "
            "first (dedup index remove) or use --skip-existing"
        )


class NotIndexed(IndexStoreError):
    """Ids to remove that the index does not hold; nothing was removed."""

    def __init__(self, location: str, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        shown = ", ".join(self.ids[:5]) + (f" and {len(self.ids) - 5} more"
                                           if len(self.ids) > 5 else "")
        super().__init__(f"{location}: not in the index: {shown}; nothing was removed "
                         "(dedup index info shows what it holds)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- what goes into an index ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One document ready to be indexed: what a scan computes for it that the index keeps."""

    doc: Document
    signature: np.ndarray  # uint32, (num_perm,)
    sentence_keys: np.ndarray  # uint64, unique, without NO_KEY
    words: int
    stems: np.ndarray  # uint64, unique content-word stems (what the boilerplate rule compares)


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """``band << 32 | value`` for each band of each signature (int64, same shape)."""
    sig = np.asarray(signatures, dtype=np.uint32).astype(np.int64)
    bands = np.arange(sig.shape[-1], dtype=np.int64)
    return (bands << np.int64(32)) | sig


def signed(keys: np.ndarray) -> np.ndarray:
    """uint64 sentence keys as the signed 64-bit integers databases store."""
    return np.asarray(keys, dtype=np.uint64).view(np.int64)


def document_meta(doc: Document) -> str:
    """A document's metadata and origin as compact JSON (what the index stores besides text)."""
    meta: dict[str, str] = dict(doc.meta())
    if doc.origin:
        meta["origin"] = doc.origin
    return json.dumps(meta, ensure_ascii=False, separators=(",", ":"))


def document_from(doc_id: str, text: str, meta_json: str) -> Document:
    meta = json.loads(meta_json)
    return Document(doc_id, text, origin=meta.pop("origin", ""),
                    **{k: meta.get(k) for k in _META_FIELDS})


def compress(text: str) -> bytes:
    # surrogatepass: a JSON batch may hold lone surrogates; the text must come back unchanged.
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def decompress(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8", "surrogatepass")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_schema_version(location: str, version: str) -> None:
    """Refuse an index whose schema this dedup cannot read, saying what to do."""
    if not version.isdigit():
        raise IndexStoreError(f"{location}: not a dedup index (no schema version)")
    if int(version) > SCHEMA_VERSION:
        raise IndexStoreError(
            f"{location}: index schema version {version} is newer than this dedup "
            f"supports ({SCHEMA_VERSION}); upgrade dedup")
    if int(version) < SCHEMA_VERSION:
        raise IndexStoreError(
            f"{location}: index schema version {version} is older than this dedup's "
            f"({SCHEMA_VERSION}); rebuild the index with dedup index build")


def check_parameters(location: str, built: Config, run: Config) -> None:
    """Raise :class:`ParameterMismatch` naming every parameter that differs.

    >>> check_parameters("a.dedup", Config(), Config())  # same: nothing happens
    """
    old, new = _flatten(built.to_dict()), _flatten(run.to_dict())
    differ = [k for k in old if old[k] != new.get(k)]
    if not differ:
        return
    if len(differ) == 1:
        (k,) = differ
        raise ParameterMismatch(f"{location}: built with {k}={old[k]}, this run uses {new[k]}; "
                                "rebuild the index or use its parameters")
    built_s = ", ".join(f"{k}={old[k]}" for k in differ)
    run_s = ", ".join(f"{k}={new[k]}" for k in differ)
    raise ParameterMismatch(f"{location}: built with {built_s}; this run uses {run_s}; "
                            "rebuild the index or use its parameters")


def _flatten(params: dict[str, Any]) -> dict[str, Any]:
    return {f"{section}.{key}": value
            for section, values in params.items() for key, value in values.items()}


def parse_params(location: str, text: str) -> Config:
    """The config stored in an index, or an error saying this dedup cannot read it."""
    try:
        return Config.from_dict(json.loads(text))
    except (ValueError, TypeError, AttributeError) as e:
        raise IndexStoreError(f"{location}: stored parameters are unreadable ({e}); rebuild "
                              "the index") from e
    except ConfigError as e:
        raise IndexStoreError(f"{location}: built with parameters this dedup does not know "
                              f"({e}); use the dedup version that built it, or rebuild") from e


# --- the interface ----------------------------------------------------------------------------


@dataclass
class IndexInfo:
    """What ``dedup index info`` shows."""

    location: str
    backend: str
    documents: int
    params: dict[str, Any]
    size_bytes: int
    created: str
    updated: str
    schema_version: int
    built_by: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location, "backend": self.backend, "documents": self.documents,
            "size_bytes": self.size_bytes, "created": self.created, "updated": self.updated,
            "schema_version": self.schema_version, "built_by": self.built_by,
            "params": self.params, **self.extra,
        }


def format_info(info: IndexInfo) -> str:
    """``dedup index info`` as text."""
    lines = [
        f"index:      {info.location} ({info.backend}, schema {info.schema_version})",
        f"documents:  {info.documents:,}",
        f"size:       {_size(info.size_bytes)}",
        f"created:    {info.created}",
        f"updated:    {info.updated}",
        f"built by:   dedup {info.built_by}",
        "parameters:",
    ]
    for key, value in _flatten(info.params).items():
        lines.append(f"  {key} = {value}")
    return "\n".join(lines) + "\n"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit} ({n:,} bytes)"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


class Session(ABC):
    """Reads and writes inside one consistent view of an index.

    Everything :mod:`dedup.check` needs, and nothing about how a backend stores it. Archived
    documents are named by backend-assigned integer handles (``num``) until their ids or
    texts are asked for. Key arrays are int64 (band keys) or uint64 (sentence keys).
    """

    location: str

    @abstractmethod
    def count(self) -> int:
        """Documents in the index."""

    @abstractmethod
    def existing(self, ids: Sequence[str]) -> dict[str, int]:
        """The ids among ``ids`` that the index holds, with their handles."""

    @abstractmethod
    def bucket_sizes(self, keys: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, sizes)`` for the buckets among ``keys`` that have members; a size over
        ``cap`` may be reported as ``cap + 1`` (large buckets need not be counted)."""

    @abstractmethod
    def bucket_members(self, keys: np.ndarray, most: int | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """``(key, num)`` rows: every document in each of the buckets ``keys``. ``most``, if
        given, is the size no bucket among them exceeds (a store may then read them in
        larger pieces)."""

    @abstractmethod
    def bucket_first(self, keys: np.ndarray) -> dict[int, tuple[str, int]]:
        """For each bucket in ``keys`` with members: the one with the smallest id, as
        ``(id, num)``."""

    @abstractmethod
    def id_ordered(self) -> bool:
        """True when handles increase with ids (then a bucket's first member by id is its
        smallest handle). Builds give this; adds keep it while their ids sort after every
        id already indexed, as time-based ids do."""

    @abstractmethod
    def carriers(self, keys: np.ndarray) -> dict[int, list[str]]:
        """For sentence keys (uint64) that archived documents carry: their ids, sorted."""

    @abstractmethod
    def ids(self, nums: Iterable[int]) -> dict[int, str]:
        """The ids of documents given by handle."""

    @abstractmethod
    def documents(self, nums: Iterable[int]) -> dict[int, Document]:
        """Documents (text and metadata, as indexed) given by handle."""

    @abstractmethod
    def add(self, entries: Sequence[Entry]) -> None:
        """Add documents; raises :class:`AlreadyIndexed` (adding nothing) if any id exists."""

    @abstractmethod
    def remove(self, ids: Sequence[str]) -> None:
        """Remove documents; raises :class:`NotIndexed` (removing nothing) for unknown ids."""

    @abstractmethod
    def stems(self, nums: Iterable[int]) -> dict[int, np.ndarray]:
        """Documents' unique content-word stems (uint64, sorted) given by handle."""

    def stems_by_id(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Documents' content-word stems given by id (unknown ids are left out)."""
        nums = self.existing(ids)
        stems = self.stems(nums.values())
        return {doc_id: stems[num] for doc_id, num in nums.items()}

    def signatures(self) -> tuple[np.ndarray, list[str], np.ndarray] | None:
        """Every archived document's handle, id and signature (a ``(documents, num_perm)``
        uint32 matrix), for finding a large batch's candidates the way a scan does; None
        where the backend cannot read them all at once (then buckets are looked up)."""
        return None

    def documents_by_id(self, ids: Sequence[str]) -> dict[str, Document]:
        """Documents given by id (unknown ids are left out)."""
        nums = self.existing(ids)
        docs = self.documents(nums.values())
        return {doc_id: docs[num] for doc_id, num in nums.items()}


class Index(ABC):
    """An open index. Use as a context manager, or call :meth:`close`."""

    location: str
    backend: str

    @property
    @abstractmethod
    def config(self) -> Config:
        """The parameters the index was built with."""

    @abstractmethod
    def transact(self, fn: Callable[[Session], T], *, write: bool) -> T:
        """Run ``fn`` in one consistent view of the index; with ``write``, its writes commit
        together when ``fn`` returns, or not at all if it raises. A backend may call ``fn``
        more than once (Redis retries when another worker wrote meanwhile), so ``fn`` must
        not have other side effects."""

    @abstractmethod
    def info(self) -> IndexInfo:
        """Documents, parameters, size, and when it was created and last updated."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def check_config(self, run: Config) -> None:
        """Refuse ``run`` parameters that differ from the index's (see
        :func:`check_parameters`)."""
        check_parameters(self.location, self.config, run)

    def add(self, entries: Sequence[Entry]) -> None:
        """Add documents in one transaction."""
        self.transact(lambda s: s.add(entries), write=True)

    def remove(self, ids: Sequence[str]) -> None:
        """Remove documents in one transaction."""
        self.transact(lambda s: s.remove(ids), write=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_redis_location(location: str) -> bool:
    return location.startswith(("redis://", "rediss://", "unix://"))


def open_index(location: str, **options: Any) -> Index:
    """Open an existing index: a file path (SQLite) or a ``redis://`` URL.

    Raises :class:`IndexStoreError` with one line when there is no index there, when it is
    not an index, has another schema version, or is damaged.
    """
    if is_redis_location(location):
        from .index_redis import RedisIndex

        return RedisIndex.open(location, **options)
    return SQLiteIndex(location, **options)


def create_index(location: str, config: Config, *, force: bool = False,
                 **options: Any) -> Index:
    """Create an empty index at ``location`` for ``config``; ``force`` replaces one there."""
    config.validate()
    if is_redis_location(location):
        from .index_redis import RedisIndex

        return RedisIndex.create(location, config, force=force, **options)
    return SQLiteIndex.create(location, config, force=force, **options)


# --- building and adding ----------------------------------------------------------------------

#: Called as ``progress(stage, done, total)``, like :data:`dedup.pipeline.Progress`.
Progress = Callable[[str, int, int], None]


@dataclass
class Signed:
    """A batch document made ready: its index entry, and what judging its sentences as
    boilerplate needs. Not what aligning it needs (offsets, fragments): a check prepares the
    documents of its candidate pairs where it verifies them, as a scan does."""

    entry: Entry
    sentence_keys: np.ndarray  # uint64 per sentence (NO_KEY when too short to judge)
    stems: np.ndarray  # uint64 the stems of its content words, in order
    sentence_stems: np.ndarray  # int64 how many of them each sentence has

    def profile(self) -> SentenceProfile:
        """What :func:`dedup.pipeline.sentence_profile` gives for the document."""
        return SentenceProfile.of(self.sentence_keys, self.stems, self.sentence_stems)


def sign_documents(
    documents: Sequence[Document], config: Config, progress: Progress | None = None,
    stage: str = "signing", *, engine: Engine | None = None,
) -> list[Signed | Skipped]:
    """Sign documents in id order, exactly as a scan does; documents too short to compare
    come out as :class:`Skipped` (a scan skips them too, and they are never indexed).
    Raises :class:`InputError` for an id given twice. ``engine`` runs the work (default:
    this process); the results do not depend on it."""
    ordered = in_id_order(documents)
    report = None if progress is None else (lambda done: progress(stage, done, len(ordered)))
    warm_tables()  # here, not in each worker of each stage
    return (engine or SerialEngine()).map(_sign_chunk, config, ordered, report)


def index_entries(
    documents: Sequence[Document], config: Config, progress: Progress | None = None, *,
    engine: Engine | None = None, slice_size: int = 5000,
) -> Iterator[Entry | Skipped]:
    """Like :func:`sign_documents`, but only the index entries (lighter across processes),
    produced a slice at a time so that a large build holds only its entries."""
    ordered = in_id_order(documents)
    engine = engine or SerialEngine()
    warm_tables()  # here, not in each worker of each slice
    for start in range(0, len(ordered), slice_size):
        part = ordered[start : start + slice_size]
        report = None if progress is None else (
            lambda done, start=start: progress("signing", start + done, len(ordered)))
        yield from engine.map(_entry_chunk, config, part, report)


def _sign_chunk(config: Config, docs: Sequence[Document]) -> list[Signed | Skipped]:
    """Sign ``docs`` as a scan signs them: their words, sentences and stems found for a
    block of texts at once (:func:`dedup.batch.document_features`), and the signatures of
    all of them in one call. Preparing and signing each document on its own (with the
    offsets and fragments that only aligning needs) took 280 us an article where a scan
    takes 60."""
    found = document_features([doc.text for doc in docs],
                              vocabulary(config.align.stem_chars),
                              config.boilerplate.min_words)
    need = config.shingle.min_words
    keep = found.words >= need
    kept = found if keep.all() else found.only(keep)
    key = (config.lsh.num_perm, config.lsh.seed)
    signer = _signers.get(key)
    if signer is None:
        signer = _signers[key] = Signer(*key)
    signatures = signer.sign_ranges(*shingle_ranges(kept.word_ids, kept.words,
                                                    config.shingle.size))
    out: list[Signed | Skipped] = []
    parts = iter(zip(signatures, kept.split()))
    for doc, words, long_enough in zip(docs, found.words.tolist(), keep.tolist()):
        if not long_enough:
            out.append(Skipped(doc.id, f"too short to compare ({words} words, need {need})"))
            continue
        signature, (_, _, keys, stems, per_sentence) = next(parts)
        entry = Entry(doc, signature, distinct(keys[keys != NO_KEY]), words, distinct(stems))
        out.append(Signed(entry, keys, stems, per_sentence))
    return out


def _entry_chunk(config: Config, docs: Sequence[Document]) -> list[Entry | Skipped]:
    return [item.entry if isinstance(item, Signed) else item
            for item in _sign_chunk(config, docs)]


_signers: dict[tuple[int, int], Signer] = {}


@dataclass
class AddResult:
    """What an add or build did: ids added, ids already there (left out), documents skipped."""

    added: list[str]
    existing: list[str]
    skipped: list[Skipped]


@compiled.sized("documents")
def build_index(
    location: str, documents: Sequence[Document], config: Config | None = None, *,
    force: bool = False, progress: Progress | None = None, engine: Engine | None = None,
    **options: Any,
) -> AddResult:
    """Build a new index at ``location`` from ``documents``.

    A file index is written to a temporary file and renamed when complete, so a failed or
    interrupted build never leaves a half index under the name. ``force`` replaces an index
    already there. ``engine`` runs preparing and signing (default: this process).
    """
    config = config or Config()
    config.validate()
    skipped: list[Skipped] = []
    added: list[str] = []

    def entries() -> Iterator[Entry]:
        for item in index_entries(documents, config, progress, engine=engine):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                added.append(item.doc.id)
                yield item

    if is_redis_location(location):
        index = create_index(location, config, force=force, **options)
        try:
            from .index_redis import RedisIndex

            assert isinstance(index, RedisIndex)
            index.bulk_load(entries())
        finally:
            index.close()
        return AddResult(added, [], skipped)
    tmp = SQLiteIndex.prepare_file(location, config, force=force)
    try:
        building = SQLiteIndex(tmp, **options)
        try:
            building.bulk_load(entries())
        finally:
            building.close()
        SQLiteIndex.finish_file(tmp, location)
    except BaseException:
        for leftover in (tmp, f"{tmp}-wal", f"{tmp}-shm", f"{tmp}-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise
    return AddResult(added, [], skipped)


@compiled.sized("documents")
def add_documents(
    index: Index, documents: Sequence[Document], config: Config | None = None, *,
    skip_existing: bool = False, progress: Progress | None = None,
    engine: Engine | None = None,
) -> AddResult:
    """Add ``documents`` to ``index`` in one transaction.

    Ids the index already holds are an error naming them (:class:`AlreadyIndexed`, nothing
    added) unless ``skip_existing``, which leaves them out. ``config`` is the run's
    parameters, refused when they differ from the index's (default: the index's).
    """
    if config is not None:
        index.check_config(config)
    config = index.config
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    for item in index_entries(documents, config, progress, engine=engine):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            entries.append(item)

    def add(session: Session) -> AddResult:
        taken = session.existing([e.doc.id for e in entries])
        if taken and not skip_existing:
            raise AlreadyIndexed(session.location, sorted(taken))
        fresh = [e for e in entries if e.doc.id not in taken]
        session.add(fresh)
        return AddResult([e.doc.id for e in fresh], sorted(taken), skipped)

    return index.transact(add, write=True)


# --- SQLite -----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents(
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    words INTEGER NOT NULL,
    meta TEXT NOT NULL,
    added TEXT NOT NULL
);
CREATE TABLE doc_data(
    num INTEGER PRIMARY KEY,
    signature BLOB NOT NULL,
    sentence_keys BLOB NOT NULL,
    stems BLOB NOT NULL,
    text BLOB NOT NULL
);
CREATE TABLE bands(key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY(key, doc))
    WITHOUT ROWID;
CREATE TABLE bands_recent(key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY(key, doc))
    WITHOUT ROWID;
CREATE TABLE sentences(key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY(key, doc))
    WITHOUT ROWID;
"""
_TABLES = frozenset({"meta", "documents", "doc_data", "bands", "bands_recent", "sentences"})


def _chunks(values: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert_rows(db: sqlite3.Connection, table: str, keys: np.ndarray, docs: np.ndarray,
                 chunk: int = 1 << 20) -> None:
    """Insert ``(key, doc)`` rows (already sorted) in slices, so that only a slice at a time
    becomes Python integers (25 million rows as two lists would take 2 GB)."""
    sql = f"INSERT INTO {table} VALUES (?, ?)"
    for start in range(0, len(keys), chunk):
        db.executemany(sql, zip(keys[start : start + chunk].tolist(),
                                docs[start : start + chunk].tolist()))


class SQLiteIndex(Index):
    """An index in one SQLite file (WAL journal). See the module docstring for the layout."""

    backend = "sqlite"

    def __init__(self, path: str, *, timeout: float = 600.0,
                 merge_min_documents: int = 2000) -> None:
        self.location = path
        self.timeout = timeout
        #: The recent band table is merged into the main one when it holds this many
        #: documents and at least an eighth of the index (tests lower it to exercise merges).
        self.merge_min_documents = merge_min_documents
        self._check_file(path)
        with self._errors():
            uri = Path(path).absolute().as_uri() + "?mode=rw"
            self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
        try:
            with self._errors():
                meta = self._read_meta()
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA cache_size=-65536")
                # Reads through a memory map: a check against a cold page cache touches most
                # of the band table, and mapped reads get the kernel's read-ahead (measured at
                # 100,000 articles: 8 s instead of 10-16 s cold, the same warm). Writes still
                # go through the WAL, so a killed writer leaves the file as it was.
                self._db.execute("PRAGMA mmap_size=17179869184")
        except BaseException:
            self._db.close()
            raise
        self._config = parse_params(path, meta["params"])
        self._meta = meta

    @classmethod
    def create(cls, path: str, config: Config, *, force: bool = False,
               **options: Any) -> SQLiteIndex:
        """A new empty index file (written aside and renamed, so it appears complete)."""
        tmp = cls.prepare_file(path, config, force=force)
        cls.finish_file(tmp, path)
        return cls(path, **options)

    @staticmethod
    def prepare_file(path: str, config: Config, *, force: bool) -> str:
        """Create the schema in a temporary file next to ``path`` (next to its target, if
        it is a symbolic link); returns its name."""
        if os.path.exists(path) and not force:
            raise IndexStoreError(f"{path}: already exists; add to it with dedup index add, "
                                  "or replace it with --force")
        real = os.path.realpath(path)
        if os.path.exists(real) and not os.path.isfile(real):
            # --force on /dev/null would otherwise put a regular file in the device's place.
            raise IndexStoreError(f"{path}: not a regular file; give the index a file of its "
                                  "own")
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise IndexStoreError(f"{path}: cannot create (No such file or directory)")
        tmp = f"{real}.building-{os.getpid()}"
        for leftover in (tmp, f"{tmp}-wal", f"{tmp}-shm", f"{tmp}-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        try:
            db = sqlite3.connect(tmp, isolation_level=None)
        except sqlite3.Error as e:
            raise IndexStoreError(f"{path}: cannot create ({e})") from e
        try:
            db.executescript(_SCHEMA)
            now = utc_now()
            from . import __version__

            db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)),
                ("params", json.dumps(config.to_dict(), sort_keys=True)),
                ("created", now), ("updated", now), ("built_by", __version__),
                ("recent_documents", "0"), ("id_ordered", "1"),
            ])
        except sqlite3.Error as e:
            db.close()
            os.unlink(tmp)
            raise IndexStoreError(f"{path}: cannot create ({e})") from e
        db.close()
        return tmp

    @staticmethod
    def finish_file(tmp: str, path: str) -> None:
        """Switch the finished temporary file to WAL and move it into place (a symbolic
        link's target replaced, the link kept)."""
        db = sqlite3.connect(tmp, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.close()  # the last connection checkpoints and removes the -wal file
        real = os.path.realpath(path)
        for stale in (f"{real}-wal", f"{real}-shm"):
            if os.path.exists(stale):
                os.unlink(stale)
        os.replace(tmp, real)

    # opening

    def _check_file(self, path: str) -> None:
        """Refuse what is not an index before SQLite touches it (it would write a header)."""
        try:
            with open(path, "rb") as f:
                head = f.read(len(_MAGIC))
        except FileNotFoundError:
            raise IndexStoreError(f"{path}: no such index; build one with dedup index build "
                                  "CORPUS -o " + path) from None
        except IsADirectoryError:
            raise IndexStoreError(f"{path}: is a directory, not an index file") from None
        except OSError as e:
            raise IndexStoreError(f"{path}: cannot read ({e.strerror})") from e
        if head != _MAGIC:
            what = "an empty file" if not head else "not an SQLite file"
            raise IndexStoreError(f"{path}: not a dedup index ({what}); give the file that "
                                  "dedup index build wrote")

    def _read_meta(self) -> dict[str, str]:
        tables = {r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            raise IndexStoreError(f"{self.location}: not a dedup index (an SQLite database "
                                  "without dedup's tables); give the file that dedup index "
                                  "build wrote")
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        check_schema_version(self.location, meta.get("schema_version", ""))
        missing = _TABLES - tables
        if missing or "params" not in meta:
            raise IndexStoreError(f"{self.location}: index is damaged (missing "
                                  f"{', '.join(sorted(missing)) or 'parameters'}); rebuild it")
        return meta

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """sqlite3 errors become one-line :class:`IndexStoreError` naming the file."""
        try:
            yield
        except sqlite3.OperationalError as e:
            message = str(e)
            if "locked" in message or "busy" in message:
                raise IndexStoreError(f"{self.location}: index is busy (another process held "
                                      f"it for more than {self.timeout:.0f} s); try again") from e
            raise IndexStoreError(f"{self.location}: cannot use the index ({message})") from e
        except sqlite3.DatabaseError as e:
            message = str(e)
            if "not a database" in message:
                raise IndexStoreError(f"{self.location}: not a dedup index ({message})") from e
            raise IndexStoreError(f"{self.location}: index is damaged ({message}); rebuild "
                                  "it with dedup index build") from e

    # the interface

    @property
    def config(self) -> Config:
        return self._config

    def transact(self, fn: Callable[[Session], T], *, write: bool) -> T:
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                session = _SQLiteSession(self, self._db, write)
                result = fn(session)
                if write:
                    session.finish()
                self._db.execute("COMMIT")
                return result
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def info(self) -> IndexInfo:
        with self._errors():
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            documents = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
        size = sum(os.path.getsize(p) for p in (self.location, f"{self.location}-wal")
                   if os.path.exists(p))
        return IndexInfo(self.location, self.backend, int(documents),
                         json.loads(meta["params"]), size, meta["created"], meta["updated"],
                         int(meta["schema_version"]), meta.get("built_by", "?"))

    def close(self) -> None:
        self._db.close()

    def bulk_load(self, entries: Iterable[Entry]) -> int:
        """Load many entries into a fresh index, fast (used by ``build``): band keys are
        sorted in memory (about 3 KB per document) and written to the main table in order."""
        keys: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        loaded = 0
        with self._errors():
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("BEGIN IMMEDIATE")
            session = _SQLiteSession(self, self._db, True)
            batch: list[Entry] = []
            for entry in entries:
                batch.append(entry)
                if len(batch) == 1000:
                    k, d = session.write_documents(batch)
                    keys.append(k)
                    docs.append(d)
                    loaded += len(batch)
                    batch = []
            if batch:
                k, d = session.write_documents(batch)
                keys.append(k)
                docs.append(d)
                loaded += len(batch)
            if keys:
                all_keys, all_docs = np.concatenate(keys), np.concatenate(docs)
                del keys, docs
                order = np.lexsort((all_docs, all_keys))
                all_keys, all_docs = all_keys[order], all_docs[order]
                del order
                _insert_rows(self._db, "bands", all_keys, all_docs)
            self._db.execute("UPDATE meta SET value=? WHERE key='updated'", (utc_now(),))
            self._db.execute("COMMIT")
        return loaded


class _SQLiteSession(Session):
    def __init__(self, index: SQLiteIndex, db: sqlite3.Connection, write: bool) -> None:
        self.index = index
        self.location = index.location
        self.db = db
        self.write = write
        self.changed = False
        self.added = 0

    def _rows(self, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for part in _chunks(values):
            rows.extend(self.db.execute(sql, (json.dumps(list(part)),)).fetchall())
        return rows

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def existing(self, ids: Sequence[str]) -> dict[str, int]:
        sql = ("SELECT d.id, d.num FROM json_each(?) j CROSS JOIN documents d "
               "ON d.id = j.value")
        return {doc_id: num for doc_id, num in self._rows(sql, list(ids))}

    def bucket_members(self, keys: np.ndarray, most: int | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
        members = ("SELECT b.key, b.doc FROM json_each(?1) j CROSS JOIN bands b "
                   "ON b.key = j.value UNION ALL "
                   "SELECT r.key, r.doc FROM json_each(?1) j CROSS JOIN bands_recent r "
                   "ON r.key = j.value")
        wanted = distinct(keys).tolist()
        parts: list[np.ndarray] = []
        if most is not None:
            # Buckets of known bounds come back as one text of numbers a piece of keys, which
            # numpy parses: a Python tuple a row was most of reading them (1,148,430 rows for
            # 1,000 articles against 90,000: 1.0 s as tuples, 0.55 s so). The pieces stay
            # far below SQLite's longest string.
            sql = f"SELECT group_concat(m.key || ',' || m.doc) FROM ({members}) m"
            for chunk in _chunks(wanted, max(1, _MEMBER_ROWS // max(most, 1))):
                text = self.db.execute(sql, (json.dumps(list(chunk)),)).fetchone()[0]
                if text:
                    parts.append(np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 2))
        else:
            # Streamed into arrays: a batch's buckets can hold millions of rows.
            for chunk in _chunks(wanted):
                cursor = self.db.execute(members, (json.dumps(list(chunk)),))
                while rows := cursor.fetchmany(200_000):
                    parts.append(np.asarray(rows, dtype=np.int64))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        table = np.concatenate(parts)
        return table[:, 0], table[:, 1]

    def bucket_sizes(self, keys: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        # Most of a batch's keys are in no bucket of the index: testing that first, and
        # counting only the others, took 0.56 s instead of 0.93-1.0 s for the 765,000 keys
        # of 4,000 articles against 6,000.
        sql = ("SELECT j.value, "
               "(SELECT count(*) FROM (SELECT 1 FROM bands WHERE key = j.value LIMIT ?2)) + "
               "(SELECT count(*) FROM (SELECT 1 FROM bands_recent WHERE key = j.value "
               "LIMIT ?2)) FROM json_each(?1) j "
               "WHERE EXISTS (SELECT 1 FROM bands WHERE key = j.value) "
               "OR EXISTS (SELECT 1 FROM bands_recent WHERE key = j.value)")
        parts = [np.asarray(self.db.execute(sql, (json.dumps(list(chunk)), cap + 1)).fetchall(),
                            dtype=np.int64).reshape(-1, 2)
                 for chunk in _chunks(distinct(keys).tolist())]
        table = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
        table = table[table[:, 1] > 0]
        return table[:, 0], table[:, 1]

    def bucket_first(self, keys: np.ndarray) -> dict[int, tuple[str, int]]:
        wanted = distinct(keys).tolist()
        if self.id_ordered():
            # Handles increase with ids: the first member is the smallest handle, found at
            # the start of the bucket's range of the (key, doc) primary key.
            sql = ("SELECT j.value, min(coalesce((SELECT min(doc) FROM bands WHERE key = "
                   "j.value), 9e18), coalesce((SELECT min(doc) FROM bands_recent WHERE key = "
                   "j.value), 9e18)) FROM json_each(?1) j")
            firsts = {int(k): int(n) for k, n in self._rows(sql, wanted) if n < 9e18}
            names = self.ids(firsts.values())
            return {k: (names[n], n) for k, n in firsts.items()}
        sql = ("SELECT m.key, min(d.id) FROM ("
               "SELECT b.key, b.doc FROM json_each(?1) j CROSS JOIN bands b ON b.key = j.value "
               "UNION ALL SELECT r.key, r.doc FROM json_each(?1) j CROSS JOIN bands_recent r "
               "ON r.key = j.value) m JOIN documents d ON d.num = m.doc GROUP BY m.key")
        first_ids = {int(k): doc_id for k, doc_id in self._rows(sql, wanted)}
        handles = self.existing(list(set(first_ids.values())))
        return {k: (doc_id, handles[doc_id]) for k, doc_id in first_ids.items()}

    def id_ordered(self) -> bool:
        return self._meta("id_ordered") == "1"

    def signatures(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        count = self.count()
        perms = self.index.config.lsh.num_perm
        handles = np.zeros(count, dtype=np.int64)
        ids: list[str] = []
        matrix = np.zeros((count, perms), dtype=np.uint32)
        cursor = self.db.execute("SELECT d.num, d.id, x.signature FROM documents d "
                                 "JOIN doc_data x ON x.num = d.num ORDER BY d.num")
        row = 0
        # A slice at a time: a million rows at once would be a gigabyte of Python objects.
        while rows := cursor.fetchmany(10_000):
            if row + len(rows) > count:  # pragma: no cover - one transaction's view
                raise IndexStoreError(f"{self.location}: index is damaged; rebuild it")
            nums, names, blobs = zip(*rows)
            data = b"".join(blobs)
            if len(data) != len(rows) * perms * 4:
                raise IndexStoreError(f"{self.location}: index is damaged (a signature is "
                                      f"not {perms} values); rebuild it")
            handles[row : row + len(rows)] = nums
            ids.extend(names)
            matrix[row : row + len(rows)] = np.frombuffer(data, dtype="<u4").reshape(
                len(rows), perms)
            row += len(rows)
        if row != count:  # pragma: no cover - one transaction's view
            raise IndexStoreError(f"{self.location}: index is damaged; rebuild it")
        return handles, ids, matrix

    def carriers(self, keys: np.ndarray) -> dict[int, list[str]]:
        sql = ("SELECT j.value, d.id FROM json_each(?) j CROSS JOIN sentences s "
               "ON s.key = j.value JOIN documents d ON d.num = s.doc")
        found: dict[int, list[str]] = {}
        wanted = signed(distinct(np.asarray(keys, dtype=np.uint64))).tolist()
        for key, doc_id in self._rows(sql, wanted):
            found.setdefault(key & 0xFFFFFFFFFFFFFFFF, []).append(doc_id)
        for ids in found.values():
            ids.sort()
        return found

    def ids(self, nums: Iterable[int]) -> dict[int, str]:
        sql = "SELECT d.num, d.id FROM json_each(?) j CROSS JOIN documents d ON d.num = j.value"
        return {num: doc_id for num, doc_id in self._rows(sql, sorted(set(nums)))}

    def documents(self, nums: Iterable[int]) -> dict[int, Document]:
        sql = ("SELECT d.num, d.id, d.meta, t.text FROM json_each(?) j CROSS JOIN documents d "
               "ON d.num = j.value JOIN doc_data t ON t.num = d.num")
        return {num: document_from(doc_id, decompress(text), meta)
                for num, doc_id, meta, text in self._rows(sql, sorted(set(nums)))}

    def stems(self, nums: Iterable[int]) -> dict[int, np.ndarray]:
        sql = ("SELECT t.num, t.stems FROM json_each(?) j CROSS JOIN doc_data t "
               "ON t.num = j.value")
        return {num: np.frombuffer(blob, dtype="<u8").astype(np.uint64)
                for num, blob in self._rows(sql, sorted(set(nums)))}

    # writes

    def write_documents(self, entries: Sequence[Entry]) -> tuple[np.ndarray, np.ndarray]:
        """Insert documents, their data and sentence keys; return their band rows."""
        if entries and self.id_ordered():
            ids = [e.doc.id for e in entries]
            last = self.db.execute("SELECT max(id) FROM documents").fetchone()[0]
            if ids != sorted(ids) or (last is not None and ids[0] <= last):
                self._set_meta("id_ordered", "0")
        start = int(self.db.execute("SELECT coalesce(max(num), 0) FROM documents").fetchone()[0])
        nums = np.arange(start + 1, start + 1 + len(entries), dtype=np.int64)
        now = utc_now()
        self.db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?)", [
            (int(num), e.doc.id, e.words, document_meta(e.doc), now)
            for num, e in zip(nums.tolist(), entries)])
        self.db.executemany("INSERT INTO doc_data VALUES (?, ?, ?, ?, ?)", [
            (int(num), np.asarray(e.signature, dtype="<u4").tobytes(),
             np.asarray(e.sentence_keys, dtype="<u8").tobytes(),
             np.asarray(e.stems, dtype="<u8").tobytes(), compress(e.doc.text))
            for num, e in zip(nums.tolist(), entries)])
        skeys = [signed(e.sentence_keys) for e in entries]
        sdocs = [np.full(len(k), n, dtype=np.int64) for k, n in zip(skeys, nums.tolist())]
        if skeys:
            k, d = np.concatenate(skeys), np.concatenate(sdocs)
            order = np.lexsort((d, k))
            _insert_rows(self.db, "sentences", k[order], d[order])
        signatures = np.stack([e.signature for e in entries]) if entries else None
        if signatures is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        keys = band_keys(signatures)
        docs = np.repeat(nums, keys.shape[1])
        return keys.ravel(), docs

    def add(self, entries: Sequence[Entry]) -> None:
        assert self.write, "add needs a write transaction"
        if not entries:
            return
        taken = self.existing([e.doc.id for e in entries])
        if taken:
            raise AlreadyIndexed(self.location, sorted(taken))
        keys, docs = self.write_documents(entries)
        order = np.lexsort((docs, keys))
        _insert_rows(self.db, "bands_recent", keys[order], docs[order])
        recent = int(self._meta("recent_documents") or 0) + len(entries)
        self._set_meta("recent_documents", str(recent))
        self.added += len(entries)
        self.changed = True

    def remove(self, ids: Sequence[str]) -> None:
        assert self.write, "remove needs a write transaction"
        found = self.existing(ids)
        missing = sorted(set(ids) - set(found))
        if missing:
            raise NotIndexed(self.location, missing)
        for num in found.values():
            signature, skeys = self.db.execute(
                "SELECT signature, sentence_keys FROM doc_data WHERE num = ?", (num,)).fetchone()
            sig = np.frombuffer(signature, dtype="<u4")
            rows = [(k, num) for k in band_keys(sig).tolist()]
            self.db.executemany("DELETE FROM bands WHERE key = ? AND doc = ?", rows)
            self.db.executemany("DELETE FROM bands_recent WHERE key = ? AND doc = ?", rows)
            srows = [(k, num) for k in signed(np.frombuffer(skeys, dtype="<u8")).tolist()]
            self.db.executemany("DELETE FROM sentences WHERE key = ? AND doc = ?", srows)
            self.db.execute("DELETE FROM doc_data WHERE num = ?", (num,))
            self.db.execute("DELETE FROM documents WHERE num = ?", (num,))
        self.changed = self.changed or bool(found)

    def finish(self) -> None:
        """Before commit: merge the recent band table when it has grown, stamp the time."""
        if not self.changed:
            return
        recent = int(self._meta("recent_documents") or 0)
        if recent >= self.index.merge_min_documents and recent * 8 >= self.count():
            self.db.execute("INSERT INTO bands SELECT key, doc FROM bands_recent")
            self.db.execute("DELETE FROM bands_recent")
            self._set_meta("recent_documents", "0")
        self._set_meta("updated", utc_now())

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
