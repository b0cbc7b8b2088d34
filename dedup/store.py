"""Documents whose texts wait on disk: what lets a scan's memory grow with signatures.

A million news articles are about 3.5 GB of text, and a scan needs each text twice: once to
sign it, and again for the few documents in candidate pairs, to align them. A
:class:`DocumentStore` keeps each document's id, origin and metadata in memory and writes its
text to one anonymous temporary file (created already unlinked, so nothing is left behind
whatever happens to the process), from where :meth:`DocumentStore.__getitem__` reads it back.
It is a ``Sequence[Document]``, so everything that takes documents takes a store.

Worker processes forked from the one holding the store read the same file (``pread``, no
shared file position). Pickling a store, as an engine does to send work to another machine,
sends its documents themselves.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import IO, Any, overload

import numpy as np

from .errors import InputError
from .models import Document, Member

_META = ("title", "source", "date", "url")
#: The metadata of a document that has none.
NO_META: tuple[str | None, ...] = (None,) * len(_META)


class _Spool:
    """The temporary file, shared by a store and its views; closed when the last of them is
    gone (or by :meth:`DocumentStore.close`)."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="dedup-texts-")
        self._closer = weakref.finalize(self, self.file.close)

    def close(self) -> None:
        self._closer()


def meta_of(doc: Document) -> tuple[str | None, ...]:
    """What a store keeps of ``doc`` besides its id, origin and text (:data:`_META`, in
    that order; spelled out, for this runs once an article: a generator of ``getattr``
    was a sixth of parsing a JSONL line)."""
    return doc.title, doc.source, doc.date, doc.url


class DocumentStore(Sequence[Document]):
    """Documents in the order they were added (or as :meth:`sorted_by_id` / :meth:`select`
    arrange them); texts on disk, everything else in memory (about 250 bytes a document)."""

    def __init__(self) -> None:
        self._spool = _Spool()
        self._file = self._spool.file
        self._heads: list[tuple[str, str, tuple[str | None, ...]]] = []
        self._offsets = array("q")
        self._sizes = array("q")
        self._lengths = array("q")  # characters (a Member's length, without reading)
        self._end = 0
        self._rows: Sequence[int] | None = None  # a view's rows into the records
        self._sealed = False

    # building

    def add(self, doc: Document) -> None:
        """Append a document (only to a store that is not a view)."""
        if self._sealed:
            raise TypeError("a sealed document store (or a view of one) is read-only")
        data = doc.text.encode("utf-8", "surrogatepass")
        self._file.write(data)
        self.add_written(doc.id, doc.origin, meta_of(doc), self._end, len(data), len(doc.text))
        self._end += len(data)

    append = add

    def reserve(self, size: int) -> tuple[int, int]:
        """Room for ``size`` bytes of texts that processes forked from this one write into
        the file themselves (``os.pwrite``): the file descriptor and where the room starts.
        Documents added afterwards go after it; :meth:`add_written` records those texts."""
        if self._sealed:
            raise TypeError("a sealed document store (or a view of one) is read-only")
        self._file.flush()
        start = self._end
        self._end += size
        self._file.seek(self._end)
        return self._file.fileno(), start

    def add_written(self, doc_id: str, origin: str, meta: tuple[str | None, ...],
                    offset: int, size: int, length: int) -> None:
        """Append a document whose text (``size`` bytes of UTF-8, ``length`` characters) was
        written at ``offset`` into room from :meth:`reserve`."""
        if self._sealed:
            raise TypeError("a sealed document store (or a view of one) is read-only")
        self._heads.append((doc_id, origin, meta))
        self._offsets.append(offset)
        self._sizes.append(size)
        self._lengths.append(length)

    def add_written_many(self, ids: list[str], origins: list[str],
                         metas: list[tuple[str | None, ...]] | None, offsets: np.ndarray,
                         sizes: np.ndarray, lengths: np.ndarray) -> None:
        """:meth:`add_written` of each document of a column per field (``metas`` None: no
        metadata at all)."""
        if self._sealed:
            raise TypeError("a sealed document store (or a view of one) is read-only")
        self._heads.extend(zip(ids, origins, metas if metas is not None
                               else repeat(NO_META, len(ids))))
        for column, values in ((self._offsets, offsets), (self._sizes, sizes),
                               (self._lengths, lengths)):
            column.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())

    def extend(self, docs: Iterable[Document]) -> None:
        for doc in docs:
            self.add(doc)

    def seal(self) -> DocumentStore:
        """Finish adding: flush the texts to the file, so that reads (and worker processes
        forked from now on, which share the file) see all of them. Returns the store."""
        if not self._sealed:
            self._file.flush()
            self._sealed = True
        return self

    def _view(self, rows: Sequence[int]) -> DocumentStore:
        self.seal()
        view = DocumentStore.__new__(DocumentStore)
        view._spool, view._file, view._heads = self._spool, self._file, self._heads
        view._offsets, view._sizes, view._end = self._offsets, self._sizes, self._end
        view._lengths = self._lengths
        view._rows = rows
        view._sealed = True
        return view

    def sorted_by_id(self) -> DocumentStore:
        """The same documents in id order (a view; no text is read)."""
        rows = self._record_rows()
        order = sorted(range(len(rows)), key=lambda i: self._heads[rows[i]][0])
        return self._view(array("q", (rows[i] for i in order)))

    def select(self, positions: Iterable[int]) -> DocumentStore:
        """The documents at ``positions`` of this store, in that order (a view)."""
        rows = self._record_rows()
        return self._view(array("q", (rows[p] for p in positions)))

    @property
    def ids(self) -> list[str]:
        """The ids, in order (no text is read)."""
        return [self._heads[r][0] for r in self._record_rows()]

    def members(self) -> list[Member]:
        """What choosing a canonical member needs of each document, in order (no text is
        read)."""
        date = _META.index("date")
        return [Member(self._heads[r][0], self._heads[r][2][date], self._lengths[r])
                for r in self._record_rows()]

    # reading

    def _record_rows(self) -> Sequence[int]:
        return range(len(self._heads)) if self._rows is None else self._rows

    def _text(self, record: int) -> str:
        size = self._sizes[record]
        data = os.pread(self._file.fileno(), size, self._offsets[record]) if size else b""
        if len(data) != size:  # pragma: no cover - the file is ours and unlinked
            raise OSError(f"document store: short read for '{self._heads[record][0]}'")
        return data.decode("utf-8", "surrogatepass")

    def _document(self, record: int) -> Document:
        self.seal()
        doc_id, origin, meta = self._heads[record]
        title, source, date, url = meta
        return Document(doc_id, self._text(record), title=title, source=source, date=date,
                        url=url, origin=origin)

    def texts(self, start: int, end: int) -> StoredTexts:
        """The texts of documents ``start`` to ``end - 1``, without the documents: what
        signing reads of each (making a :class:`Document` was a fifth of reading one)."""
        self.seal()
        return StoredTexts(self, self._record_rows()[start:end])

    def _utf8(self, records: Sequence[int]) -> np.ndarray:
        """The UTF-8 of the texts of ``records``, one after another (uint8): a read for
        each run of them that lies together in the file, as a store read in id order does
        (not a read for each)."""
        offsets = [self._offsets[r] for r in records]
        sizes = [self._sizes[r] for r in records]
        data = np.empty(sum(sizes), dtype=np.uint8)
        fd = self._file.fileno()
        at = k = 0
        with data.data as view:
            while k < len(records):
                first, size = offsets[k], sizes[k]
                k += 1
                while k < len(records) and offsets[k] == first + size:
                    size += sizes[k]
                    k += 1
                got = os.preadv(fd, [view[at : at + size]], first) if size else 0
                if got != size:  # pragma: no cover - the file is ours and unlinked
                    raise OSError("document store: short read")
                at += size
        return data

    def __len__(self) -> int:
        return len(self._record_rows())

    @overload
    def __getitem__(self, index: int) -> Document: ...

    @overload
    def __getitem__(self, index: slice) -> list[Document]: ...

    def __getitem__(self, index: int | slice) -> Document | list[Document]:
        rows = self._record_rows()
        if isinstance(index, slice):
            return [self._document(r) for r in rows[index]]
        return self._document(rows[index])

    def __iter__(self) -> Iterator[Document]:
        for record in self._record_rows():
            yield self._document(record)

    def __reduce__(self) -> tuple[Any, ...]:
        # Another process may not see this file (a remote dask worker): send the documents.
        return (list, (list(self),))

    def close(self) -> None:
        """Release the file now (the store and its views cannot be read afterwards)."""
        self._spool.close()

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoredTexts(Sequence[str]):
    """Some texts of a store, each read when asked for; :meth:`code_points` reads many at
    once as the code points folding takes, without making strings of them (decoding each
    text, joining them and encoding them to UTF-32 took 7 us an article of signing's 60)."""

    def __init__(self, store: DocumentStore, records: Sequence[int]) -> None:
        self._store = store
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._store._text(r) for r in self._records[index]]
        return self._store._text(self._records[index])

    def lengths(self) -> list[int]:
        """Each text's length in characters (nothing is read)."""
        return [self._store._lengths[r] for r in self._records]

    def code_points(self, indices: Sequence[int]) -> np.ndarray:
        """The code points (uint32) of texts ``indices``, one after another: what encoding
        their strings, joined, to UTF-32 gives (:func:`dedup.kernels.utf8_points`)."""
        from .kernels import utf8_points  # numba: for the commands that fold many texts

        records = [self._records[i] for i in indices]
        points: np.ndarray = utf8_points(self._store._utf8(records),
                                         sum(self._store._lengths[r] for r in records))
        return points


def in_id_order(documents: Sequence[Document]) -> Sequence[Document]:
    """``documents`` sorted by id (a store stays a store, its texts unread); raises
    :class:`InputError` naming both places of an id given twice."""
    if isinstance(documents, DocumentStore):
        ordered: Sequence[Document] = documents.sorted_by_id()
        ids = ordered.ids  # type: ignore[attr-defined]
    else:
        ordered = sorted(documents, key=lambda d: d.id)
        ids = [d.id for d in ordered]
    for k in range(1, len(ids)):
        if ids[k] == ids[k - 1]:
            first, second = ordered[k - 1], ordered[k]
            raise InputError(f"document id '{second.id}' appears twice: {first.origin or '?'} "
                             f"and {second.origin or '?'}; ids must be unique")
    return ordered


def texts_of(documents: Sequence[Document], start: int, end: int) -> Sequence[str]:
    """The texts of ``documents[start:end]`` (a store reads only them, when asked)."""
    if isinstance(documents, DocumentStore):
        return documents.texts(start, end)
    return [doc.text for doc in documents[start:end]]


def select(documents: Sequence[Document], positions: Sequence[int]) -> Sequence[Document]:
    """The documents at ``positions``: a view of a store, else a list."""
    if isinstance(documents, DocumentStore):
        return documents.select(positions)
    return [documents[p] for p in positions]


def members_of(documents: Sequence[Document]) -> list[Member]:
    """The :class:`Member` of each of ``documents`` (a store reads no text for them)."""
    if isinstance(documents, DocumentStore):
        return documents.members()
    return [Member(d.id, d.date, d.length) for d in documents]


def ids_of(documents: Sequence[Document]) -> list[str]:
    """The ids of ``documents`` in order (a store reads no text for them)."""
    if isinstance(documents, DocumentStore):
        return documents.ids
    return [d.id for d in documents]
