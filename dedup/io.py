"""Read a corpus of articles: directories of text files, JSONL(.gz), CSV(.gz) or JSONL on stdin.

Every input becomes :class:`~dedup.models.Document` values with a stable id and an ``origin``
("batch.jsonl:17") that error messages and reports use to point at the place. Anything that
cannot be read raises :class:`~dedup.errors.InputError` with one line that names the file
(and line) and says what to do; nothing is ever skipped silently.

Decisions, so that callers and users can rely on them:

* **Ids.** A file inside a directory gets its path relative to that directory with ``/``
  separators (``sub/001.txt``); a file named on its own gets the path as the user typed it;
  JSONL and CSV records get their ``id`` field (a JSON number is accepted and turned into a
  string with ``str()``, so ``17`` becomes ``"17"``). Ids must be unique across all inputs.
* **Order.** :func:`read_corpus` sorts documents and skipped entries by id, so results never
  depend on the order of the inputs or of the files on disk.
* **Encoding.** Text is strict UTF-8. One UTF-8 byte-order mark at the very start of a file
  (or of stdin) is an encoding signature, not content, and is dropped in every format: a BOM'd
  JSONL first line and a BOM'd CSV header then parse, and offsets count characters as an
  editor shows them. A file starting with a UTF-16 byte-order mark is reported as UTF-16.
* **Binary files.** A NUL byte in the first 8 KiB of any input, or anywhere in a ``.txt`` or
  ``.md`` file, means the input is not text. That is an error even inside a directory scan:
  the user pointed us at the directory, so a binary ``.txt`` in it is a mistake to fix, not
  something to leave out of the comparison without being asked.
* **Empty documents.** An empty text file, or a record whose text is empty or whitespace,
  becomes ``Skipped(id, "empty text")`` with a warning, not an error.
* **Memory.** JSONL and CSV are streamed line by line, so a corpus never has to fit in memory
  at once; one very large document (tens of MB) is read normally.
* **Processes.** Read into a store with ``workers`` > 1, a large plain JSONL file is parsed
  by that many forked processes in ranges of lines (gzip, CSV, directories and stdin are
  read in one). The documents, their origins and the first error are those of reading it in
  one process (``tests/test_io.py``).
* **Side effects.** The reader only opens its inputs for reading; it never writes to,
  creates or touches them. With ``spool=True`` it writes the texts to an anonymous
  temporary file of its own (created already unlinked, so nothing remains however the process
  ends). Reading CSV raises the process-wide ``csv.field_size_limit`` so that a large article
  fits in one field.
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import json
import multiprocessing
import os
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import IO, Any, Literal, NamedTuple, Protocol, TypeVar, cast

import numpy as np
import orjson

from dedup.errors import InputError
from dedup.models import Document, Skipped
from dedup.pools import ending_pool
from dedup.store import NO_META, DocumentStore, meta_of

__all__ = ["Corpus", "iter_documents", "read_corpus"]

STDIN_PATH = "-"
"""The path that means "JSONL on standard input"."""

_STDIN_NAME = "<stdin>"
_TEXT_SUFFIXES = (".txt", ".md")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_CSV_SUFFIXES = (".csv", ".csv.gz")
_META_FIELDS = ("title", "source", "date", "url")
_EMPTY_TEXT = "empty text"

# Git and file(1) use the same test: text never contains NUL, binary formats almost always do
# within their first few KiB.
_SNIFF_BYTES = 8192
_UTF8_BOM = b"\xef\xbb\xbf"
# In UTF-8 the bytes 0xFF and 0xFE never occur, so a file starting with them is not UTF-8, and
# UTF-16 (a common Windows export) is by far the likeliest thing it is.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The largest value csv.field_size_limit accepts everywhere (it is a C long, 32 bits on Windows).
_CSV_FIELD_LIMIT = 2**31 - 1

_UTF8_HINT = "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"

Format = Literal["text", "jsonl", "csv"]
_Item = tuple[Document | Skipped, str]
"""A document or a skipped entry, with its origin (kept apart because Skipped has none)."""


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


#: An item :func:`_unique` passes through: a document, one written by a worker, or skipped.
T = TypeVar("T", bound=_HasId)


@dataclass
class Corpus:
    """Everything read from the inputs.

    ``documents`` are sorted by id (a :class:`~dedup.store.DocumentStore` when read with
    ``spool=True``). ``skipped`` are the documents left out, with the reason,
    also sorted by id. ``warnings`` are one-line messages for the user
    ("corpus/a.txt: empty text, skipped"), in the order of ``skipped`` followed by notes about
    inputs that held no documents.
    """

    documents: Sequence[Document]
    skipped: list[Skipped]
    warnings: list[str]


#: Documents between two calls of :func:`read_corpus`'s ``progress``.
PROGRESS_EVERY = 1000


def read_corpus(
    paths: Sequence[str],
    *,
    id_field: str = "id",
    text_field: str = "text",
    stdin: IO[bytes] | None = None,
    allow_empty: bool = False,
    spool: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    meanwhile: Callable[[], object] | None = None,
) -> Corpus:
    """Read every input in ``paths`` into one :class:`Corpus`.

    Each path is a directory (its ``.txt``/``.md`` files, recursively), a ``.txt``/``.md``
    file, a ``.jsonl``/``.ndjson`` file (optionally ``.gz``), a ``.csv`` file (optionally
    ``.gz``), or ``-`` for JSONL on ``stdin`` (default ``sys.stdin.buffer``). ``id_field`` and
    ``text_field`` name the JSONL fields or CSV columns holding the id and the text.

    Raises :class:`InputError` on the first input that cannot be read, on an id that appears
    twice (in one input or across inputs), and when no documents are found at all, unless
    ``allow_empty`` (e.g. for a batch that may legitimately be empty).

    ``spool=True`` keeps the texts in a temporary file instead of memory (a
    :class:`~dedup.store.DocumentStore`): for corpora too large to hold, since a scan reads
    each text once to sign it and again only if it is in a candidate pair.

    ``progress(count)`` is called with the number of documents read so far, every
    :data:`PROGRESS_EVERY` documents (reading a million articles takes about a minute).

    ``workers`` > 1 with ``spool`` parses a large plain JSONL file in that many processes
    (see :func:`_read_jsonl_parallel`); the corpus and any error are the same. This
    process then mostly waits for them, and calls ``meanwhile()`` (once, if given) while
    they parse the first file so read: e.g. to load what the work after reading needs.

    >>> corpus = read_corpus(["corpus/", "extra.jsonl"])  # doctest: +SKIP
    >>> [d.id for d in corpus.documents]  # doctest: +SKIP
    ['a.txt', 'sub/b.txt', 'wire-17']
    """
    if isinstance(paths, str):
        # A bare string is a Sequence[str] of characters: reading "c", "o", ... is never meant.
        raise TypeError("paths must be a list of paths, not a single string")
    documents: list[Document] | DocumentStore = DocumentStore() if spool else []
    skipped: list[tuple[Skipped, str]] = []
    input_warnings: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        found = 0
        if isinstance(documents, DocumentStore) and _splittable(path, workers):
            for first_line, parsed in _read_jsonl_parallel(
                    path, documents, workers, id_field=id_field, text_field=text_field,
                    meanwhile=meanwhile):
                before = len(documents)
                found += _add_parsed(path, first_line, parsed, documents, seen, skipped)
                if progress is not None and \
                        len(documents) // PROGRESS_EVERY > before // PROGRESS_EVERY:
                    progress(len(documents))
            meanwhile = None
        else:
            items = _iter_input(path, id_field=id_field, text_field=text_field, stdin=stdin)
            for item, origin in _unique(items, seen):
                found += 1
                if isinstance(item, Skipped):
                    skipped.append((item, origin))
                    continue
                documents.append(item)
                if progress is not None and len(documents) % PROGRESS_EVERY == 0:
                    progress(len(documents))
        if not found:
            input_warnings.append(_nothing_found(path))

    if not documents and not allow_empty:
        if not paths:
            raise InputError("no inputs given; give .txt/.md files, a directory, or .jsonl/.csv")
        raise InputError(
            f"no documents found in {', '.join(paths)}; "
            "give .txt/.md files, a directory, or .jsonl/.csv"
        )
    ordered: Sequence[Document]
    if isinstance(documents, DocumentStore):
        ordered = documents.seal().sorted_by_id()
    else:
        documents.sort(key=lambda document: document.id)
        ordered = documents
    skipped.sort(key=lambda entry: entry[0].id)
    warnings = [f"{origin}: {entry.reason}, skipped" for entry, origin in skipped]
    warnings.extend(sorted(input_warnings))
    return Corpus(
        documents=ordered,
        skipped=[entry for entry, _ in skipped],
        warnings=warnings,
    )


def iter_documents(
    path: str,
    *,
    id_field: str = "id",
    text_field: str = "text",
    stdin: IO[bytes] | None = None,
) -> Iterator[Document | Skipped]:
    """Yield the documents of one input, in file order, without holding them all in memory.

    Takes the same kinds of ``path`` and the same fields as :func:`read_corpus` and raises the
    same errors, including for an id that appears twice within this input; it does not sort
    and does not raise for an input without documents. An empty document is yielded as
    ``Skipped(id, "empty text")``.
    """
    items = _iter_input(path, id_field=id_field, text_field=text_field, stdin=stdin)
    for item, _origin in _unique(items, {}):
        yield item


# --- dispatch ---------------------------------------------------------------------------------


def _iter_input(
    path: str, *, id_field: str, text_field: str, stdin: IO[bytes] | None
) -> Iterator[_Item]:
    """The items of one input, each with its origin, after deciding what kind of input it is."""
    if path == STDIN_PATH:
        stream = stdin if stdin is not None else sys.stdin.buffer
        yield from _read_jsonl(stream, _STDIN_NAME, id_field=id_field, text_field=text_field)
        return
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        yield from _read_directory(path)
        return
    input_format = _input_format(path)
    if input_format is None:
        raise InputError(
            f"{path}: unknown input format; give a directory, .txt, .md, .jsonl, .jsonl.gz or "
            ".csv file, or - for JSONL on stdin"
        )
    if input_format == "text":
        yield _read_text_file(path, doc_id=path.replace(os.sep, "/"))
        return
    with _open_binary(path) as stream:
        if input_format == "jsonl":
            yield from _read_jsonl(stream, path, id_field=id_field, text_field=text_field)
        else:
            yield from _read_csv(stream, path, id_field=id_field, text_field=text_field)


def _input_format(path: str) -> Format | None:
    """The format a file name announces (case-insensitive), or None for one we do not read."""
    name = path.lower()
    if name.endswith(_TEXT_SUFFIXES):
        return "text"
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    return None


def _unique(items: Iterable[tuple[T, str]], seen: dict[str, str]) -> Iterator[tuple[T, str]]:
    """Pass items through, raising on an id already in ``seen`` (id -> origin), which grows."""
    for item, origin in items:
        first = seen.get(item.id)
        if first is not None:
            raise _twice(item.id, first, origin)
        seen[item.id] = origin
        yield item, origin


def _twice(doc_id: str, first: str, second: str) -> InputError:
    return InputError(f"document id '{doc_id}' appears twice: {first} and {second}; "
                      "ids must be unique (use --id-field to pick another field)")


def _nothing_found(path: str) -> str:
    if path == STDIN_PATH:
        return f"{_STDIN_NAME}: no documents found"
    if os.path.isdir(path):
        return f"{path}: no .txt or .md files found"
    return f"{path}: no documents found"


def _make(doc_id: str, text: str, origin: str, meta: dict[str, str | None]) -> _Item:
    """A Document, or a Skipped entry when there is no text to compare."""
    # isspace() stops at the first visible character, where strip() would copy a 50 MB text.
    if not text or text.isspace():
        return Skipped(doc_id, _EMPTY_TEXT), origin
    return Document(id=doc_id, text=text, origin=origin, **meta), origin


def _cannot_read(path: str, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot read ({exc.strerror or exc})")


def _not_binary(data: bytes, name: str) -> None:
    """Raise if ``data`` (the start of an input, or a whole text file) is not UTF-8 text."""
    if data.startswith(_UTF16_BOMS):
        raise InputError(
            f"{name}: looks like UTF-16 text, not UTF-8; "
            "convert it to UTF-8 (e.g. iconv -f utf-16 -t utf-8)"
        )
    if b"\0" in data:
        raise InputError(
            f"{name}: looks like a binary file, not text; remove it or give only text files"
        )


# --- text files -------------------------------------------------------------------------------


def _read_directory(top: str) -> Iterator[_Item]:
    """The ``.txt``/``.md`` files under ``top``, in sorted order, hidden entries left out.

    Symlinks to files are read; symlinks to directories are not descended into, so a link
    back to a parent cannot loop. Sockets, FIFOs and devices are passed over, since opening
    a FIFO would wait forever. A broken symlink or an unreadable entry is an error.
    """

    def fail(exc: OSError) -> None:
        raise _cannot_read(str(exc.filename or top), exc) from exc

    for dirpath, dirnames, filenames in os.walk(top, onerror=fail, followlinks=False):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith(".") or not filename.lower().endswith(_TEXT_SUFFIXES):
                continue
            path = os.path.join(dirpath, filename)
            if os.path.exists(path) and not os.path.isfile(path):
                continue
            doc_id = os.path.relpath(path, top).replace(os.sep, "/")
            if not doc_id.isascii() and _LONE_SURROGATE.search(doc_id):  # undecodable bytes
                raise InputError(f"{path}: the file's name is not valid UTF-8, and it would be "
                                 "the document's id; rename the file")
            yield _read_text_file(path, doc_id=doc_id)


def _read_text_file(path: str, *, doc_id: str) -> _Item:
    """One ``.txt``/``.md`` file as one document whose origin is ``path``."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    _not_binary(data, path)
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        # A memoryview slice skips the BOM without copying the file.
        text = str(memoryview(data)[start:], "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid UTF-8 at byte {start + exc.start}; {_UTF8_HINT}"
        ) from exc
    return _make(doc_id, text, path, {})


# --- line-oriented inputs ---------------------------------------------------------------------


def _open_binary(path: str) -> IO[bytes]:
    try:
        if path.lower().endswith(".gz"):
            return cast(IO[bytes], gzip.open(path, "rb"))
        return open(path, "rb")
    except OSError as exc:
        raise _cannot_read(path, exc) from exc


def _read_head(stream: IO[bytes]) -> bytes:
    """Up to ``_SNIFF_BYTES`` from the start of ``stream`` (a pipe may return less per read)."""
    chunks: list[bytes] = []
    size = 0
    while size < _SNIFF_BYTES:
        chunk = stream.read(_SNIFF_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _raw_lines(stream: IO[bytes], name: str) -> Iterator[bytes]:
    """The lines of ``stream`` as bytes, after checking that it starts like UTF-8 text.

    Read errors become :class:`InputError`: a damaged gzip stream names the gzip problem,
    anything else says the file cannot be read.
    """
    try:
        head = _read_head(stream)
        _not_binary(head, name)
        head = head.removeprefix(_UTF8_BOM)
        # The sniffed head is split here; its unfinished last line is completed from the stream.
        rest = b""
        for line in io.BytesIO(head):
            if line.endswith(b"\n"):
                yield line
            else:
                rest = line
        for line in stream:
            if rest:
                line, rest = rest + line, b""
            yield line
        if rest:
            yield rest
    except gzip.BadGzipFile as exc:
        raise InputError(f"{name}: not a valid gzip file ({exc})") from exc
    except (EOFError, zlib.error) as exc:
        # Only gzip streams raise these: a truncated stream or damaged deflate data.
        raise InputError(f"{name}: not a valid gzip file ({exc})") from exc
    except OSError as exc:
        raise _cannot_read(name, exc) from exc


def _decode_line(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not valid UTF-8; {_UTF8_HINT}") from exc


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, as the user sees it in the file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and make no sense as ids.
    raise ValueError(f"{name} is not allowed in JSON")


# One decoder for every line: json.loads with an argument builds a new one each call (2-3 us
# of the 9-12 us a 3 KB line takes).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _read_jsonl(stream: IO[bytes], name: str, *, id_field: str, text_field: str) -> Iterator[_Item]:
    """One document per non-blank line, each a JSON object; ``name`` is used in messages."""
    for line_number, raw in enumerate(_raw_lines(stream, name), start=1):
        item = _parse_line(raw, f"{name}:{line_number}", id_field=id_field,
                           text_field=text_field)
        if item is not None:
            yield item


_UNDECIDED = object()


def _fast_record(raw: bytes, id_field: str) -> Any:
    """The JSON value of a line as orjson parses it (half the time of the json module's
    parser, which was a third of reading), or :data:`_UNDECIDED` where only the json module
    gives what a line means: orjson refuses what json accepts in places (an escaped lone
    surrogate, a number too large for a double, a blank line), which json then parses or
    names the error of, and reads an integer beyond 64 bits as a double, so a record whose
    id came out a double is parsed again (its other fields read as strings or not at all;
    any number is refused the same way)."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _UNDECIDED
    if isinstance(record, dict) and isinstance(record.get(id_field), float):
        return _UNDECIDED
    return record


def _parse_line(raw: bytes, where: str, *, id_field: str, text_field: str) -> _Item | None:
    """The document (or skipped entry) of one JSONL line (``raw``, its line break kept), or
    None for a blank line; ``where`` names the line in messages."""
    record = _fast_record(raw, id_field)
    if record is _UNDECIDED:
        line = _decode_line(raw, where)
        if not line or line.isspace():
            return None
        try:
            record = _DECODER.decode(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); "
                             "fix or remove the line") from exc
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise InputError(
                f"{where}: not valid JSON ({reason}); fix or remove the line") from exc
        if isinstance(record, dict):
            _no_lone_surrogates(record, where, id_field)
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {_json_type(record)}")
    return _from_json_record(record, where, id_field=id_field, text_field=text_field)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_lone_surrogates(record: dict[str, Any], where: str, id_field: str) -> None:
    """Refuse a lone surrogate (JSON may escape one, as ``\\ud800``) in the id or the
    metadata: they name documents in reports, hashes and indexes, and UTF-8 cannot write
    one. A text may hold one: it is kept as it is. Only lines the json module parses can
    hold one (orjson refuses them)."""
    for field_name in (id_field, *_META_FIELDS):
        value = record.get(field_name)
        if isinstance(value, str) and not value.isascii():
            found = _LONE_SURROGATE.search(value)
            if found is not None:
                raise InputError(
                    f"{where}: field '{field_name}' holds a lone surrogate "
                    f"(\\u{ord(found.group()):04x}), which no report or index can write; "
                    "fix the value")


# --- JSONL in parallel --------------------------------------------------------------------

#: A plain (not gzipped) JSONL file at least this large, read into a store with more than one
#: worker, is parsed by worker processes in ranges of about :data:`RANGE_BYTES`.
PARALLEL_MIN_BYTES = 16 << 20
RANGE_BYTES = 32 << 20


class _Parsed(NamedTuple):
    """What a worker found in one range of lines (line numbers counted from the range's
    first line, 0-based): the documents whose texts it wrote into the store's file, a
    column per field (a tuple per document took longer to send and receive, 57 ms a range
    of 9,500 articles, than the parent took to store them), and the entries it skipped."""

    lines: int  # lines the range holds
    failed: tuple[int, bytes] | None  # the first line that did not parse, and its bytes
    line: np.ndarray  # int64 per document written: its line
    ids: list[str]
    metas: list[tuple[str | None, ...]] | None  # None: no document has any
    offset: np.ndarray  # int64 per document: where its text is in the store's file
    size: np.ndarray  # int64: its bytes
    length: np.ndarray  # int64: its characters
    skipped: list[tuple[int, Skipped]]


def _add_parsed(path: str, first_line: int, parsed: _Parsed, store: DocumentStore,
                seen: dict[str, str], skipped: list[tuple[Skipped, str]]) -> int:
    """Put a range's documents into ``store`` and its skipped entries into ``skipped``,
    raising as :func:`_unique` does, in line order, on an id already in ``seen``; how many
    there were."""
    origins = [f"{path}:{first_line + line}" for line in parsed.line.tolist()]
    gone = [(entry, f"{path}:{first_line + line}") for line, entry in parsed.skipped]
    # Ids are checked in line order, so the first id given twice is the one named.
    order: Iterable[tuple[str, str]] = zip(parsed.ids, origins)
    if gone:
        lines = [*parsed.line.tolist(), *(line for line, _ in parsed.skipped)]
        ids = [*parsed.ids, *(entry.id for entry, _ in gone)]
        places = [*origins, *(origin for _, origin in gone)]
        order = [(ids[k], places[k]) for k in sorted(range(len(ids)), key=lines.__getitem__)]
    for doc_id, origin in order:
        first = seen.get(doc_id)
        if first is not None:
            raise _twice(doc_id, first, origin)
        seen[doc_id] = origin
    store.add_written_many(parsed.ids, origins, parsed.metas, parsed.offset, parsed.size,
                           parsed.length)
    skipped += gone
    return len(parsed.ids) + len(gone)


def _splittable(path: str, workers: int) -> bool:
    """Whether :func:`_read_jsonl_parallel` may read ``path``: a plain JSONL file large enough
    to share, and worker processes that inherit the store's file (``fork``)."""
    return (workers > 1 and path != STDIN_PATH and _input_format(path) == "jsonl"
            and not path.lower().endswith(".gz") and os.path.isfile(path)
            and os.path.getsize(path) >= PARALLEL_MIN_BYTES
            and "fork" in multiprocessing.get_all_start_methods())


def _read_jsonl_parallel(path: str, store: DocumentStore, workers: int, *, id_field: str,
                         text_field: str, meanwhile: Callable[[], object] | None = None,
                         ) -> Generator[tuple[int, _Parsed], None, None]:
    """What :func:`_read_jsonl` finds in the file ``path``, range by range (each with the
    number of its first line), in the same order and with the same first error, parsed by
    ``workers`` processes.

    Reading a million articles in one process took about a minute while the other cores
    waited. Here the file is cut into ranges of bytes; a worker parses the lines that start
    in its range (the same :func:`_parse_line`) and writes their texts into the store's file
    itself, one after another from where its range starts in the input (a text's UTF-8 is
    never longer than its JSON line, so a range's texts fit in its bytes), so only ids,
    metadata and offsets come back. A line that fails is parsed
    again here, with its line number, to raise the error :func:`_read_jsonl` raises.
    ``meanwhile()`` is called once the workers have started."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            head = _read_head(stream)
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    _not_binary(head, path)
    skip = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    count = max(workers, -(-(size - skip) // RANGE_BYTES))
    bounds = [skip + (size - skip) * k // count for k in range(count + 1)]
    fd, base = store.reserve(size)
    first_line = 1
    global _RANGE_CONTEXT
    # As in the process engine: a forked worker's garbage collection would copy the parent's
    # objects it visits.
    gc.freeze()
    context = multiprocessing.get_context("fork")
    stop = context.RawValue("b", 0)
    _RANGE_CONTEXT = (path, skip, fd, base, id_field, text_field, stop)
    try:
        with ending_pool(context, stop, min(workers, count)) as pool:
            ranges = pool.imap(_parse_range, list(pairwise(bounds)))
            if meanwhile is not None:
                meanwhile()
            for parsed in ranges:
                yield first_line, parsed
                if parsed.failed is not None:
                    line, raw = parsed.failed
                    _parse_line(raw, f"{path}:{first_line + line}", id_field=id_field,
                                text_field=text_field)
                    raise AssertionError(f"{path}:{first_line + line} failed in a worker only")
                first_line += parsed.lines
    finally:
        gc.unfreeze()
        _RANGE_CONTEXT = None


# What the workers of _read_jsonl_parallel read (inherited by fork): the path, the bytes of
# its UTF-8 signature, the store's file descriptor and room in it, the two field names, and
# a flag set when the ranges still to come are not wanted.
_RANGE_CONTEXT: tuple[str, int, int, int, str, str, Any] | None = None


def _parse_range(bounds: tuple[int, int]) -> _Parsed:
    """The lines starting in bytes ``[start, end)`` of the file, parsed; their texts written
    into the store's file. Runs in a worker of :func:`_read_jsonl_parallel`."""
    assert _RANGE_CONTEXT is not None
    path, skip, fd, base, id_field, text_field, stop = _RANGE_CONTEXT
    start, end = bounds
    if stop.value:
        return _parsed(0, None, [], [], [], [], [], [], [])
    with open(path, "rb") as stream:
        stream.seek(max(start - 1, 0))
        if start > skip and stream.read(1) != b"\n":
            stream.readline()  # the end of a line that started in the range before
        first = stream.tell() if start > skip else start
        if first >= end:
            return _parsed(0, None, [], [], [], [], [], [], [])
        stream.seek(first)
        size = _read_into(stream, end - first)
        if size and _RANGE_BUFFER[size - 1] != 0x0A:
            tail = stream.readline()  # the line running past the end of the range
            _RANGE_BUFFER[size : size + len(tail)] = tail
            size += len(tail)
    # The range is read into one buffer that the worker keeps, and its texts go one after
    # another into its room (each no longer than its line), written a batch at a time:
    # buffers as large as a range, new for every range, cost the workers as much time in
    # page faults as parsing (a million articles: 19 s of system time against 20 s of user).
    texts: list[bytes] = []
    failed = None
    written = at = lines = 0
    numbers: list[int] = []
    ids: list[str] = []
    metas: list[tuple[str | None, ...]] = []
    offsets: list[int] = []
    sizes: list[int] = []
    lengths: list[int] = []
    skipped: list[tuple[int, Skipped]] = []
    for line, raw in enumerate(_lines(_RANGE_BUFFER, size)):
        lines = line + 1
        plain = _plain_record(raw, id_field, text_field)
        if plain is None:
            try:
                found = _parse_line(raw, "", id_field=id_field, text_field=text_field)
            except InputError:
                failed = (line, raw)
                break
            if found is None:
                continue
            item = found[0]
            if not isinstance(item, Document):
                skipped.append((line, item))
                continue
            plain = item.id, item.text, meta_of(item)
        doc_id, text, meta = plain
        encoded = text.encode("utf-8", "surrogatepass")
        numbers.append(line)
        ids.append(doc_id)
        metas.append(meta)
        offsets.append(base + first + at)
        sizes.append(len(encoded))
        lengths.append(len(text))
        texts.append(encoded)
        at += len(encoded)
        if len(texts) == _WRITE_BATCH:
            written += _write_all(fd, texts, base + first + written)
            texts = []
    _write_all(fd, texts, base + first + written)
    return _parsed(lines, failed, numbers, ids, metas, offsets, sizes, lengths, skipped)


def _plain_record(raw: bytes, id_field: str, text_field: str,
                  ) -> tuple[str, str, tuple[str | None, ...]] | None:
    """The id, text and metadata (:func:`dedup.store.meta_of`'s order) of a line holding
    an ordinary document, as :func:`_parse_line` reads it: a JSON object that orjson
    parses, with a string id and a text with something besides spaces, its metadata strings
    or absent. None for any other line, which :func:`_parse_line` then reads (an error, an
    empty text, a number for an id). Most lines are ordinary, and going the whole way for
    each (the checks field by field, a Document made and taken apart) was a third of
    parsing one in a worker."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(record) is not dict:
        return None
    doc_id, text = record.get(id_field), record.get(text_field)
    if (type(doc_id) is not str or not doc_id or type(text) is not str or not text
            or text.isspace()):
        return None
    meta = tuple(map(record.get, _META_FIELDS))
    if meta != NO_META and any(value is not None and type(value) is not str
                               for value in meta):
        return None
    return doc_id, text, meta


def _parsed(lines: int, failed: tuple[int, bytes] | None, numbers: list[int], ids: list[str],
            metas: list[tuple[str | None, ...]], offsets: list[int], sizes: list[int],
            lengths: list[int], skipped: list[tuple[int, Skipped]]) -> _Parsed:
    """A :class:`_Parsed` of what a worker gathered, a list per field."""
    def column(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    plain = all(meta == NO_META for meta in metas)
    return _Parsed(lines, failed, column(numbers), ids, None if plain else metas,
                   column(offsets), column(sizes), column(lengths), skipped)


#: Texts a worker of :func:`_read_jsonl_parallel` writes with one system call.
_WRITE_BATCH = 256
#: The range a worker of :func:`_read_jsonl_parallel` parses (each worker its own, kept).
_RANGE_BUFFER = bytearray()


def _read_into(stream: io.BufferedReader, size: int) -> int:
    """Read up to ``size`` bytes of ``stream`` into the start of :data:`_RANGE_BUFFER`
    (grown if need be); how many were read."""
    if len(_RANGE_BUFFER) < size:
        _RANGE_BUFFER.extend(bytes(size - len(_RANGE_BUFFER)))
    at = 0
    view = memoryview(_RANGE_BUFFER)
    try:
        while size:
            got = stream.readinto(view[at : at + size])
            if not got:
                break
            at += got
            size -= got
    finally:
        view.release()  # a bytearray with a view cannot grow
    return at


def _lines(buffer: bytearray, size: int) -> Iterator[bytes]:
    """The lines of ``buffer[:size]``, each with its line break (the last may have none)."""
    start = 0
    while start < size:
        end = buffer.find(b"\n", start, size)
        end = size if end < 0 else end + 1
        yield bytes(buffer[start:end])
        start = end


def _write_all(fd: int, parts: list[bytes], offset: int) -> int:
    """Write ``parts`` one after another at ``offset`` of ``fd``; how many bytes."""
    total = sum(map(len, parts))
    view = memoryview(b"".join(parts))
    done = 0
    while done < total:  # a write may be short
        done += os.pwrite(fd, view[done:], offset + done)
    return total


def _from_json_record(
    record: dict[str, Any], where: str, *, id_field: str, text_field: str
) -> _Item:
    for field_name, option in ((id_field, "--id-field"), (text_field, "--text-field")):
        if field_name not in record:
            raise InputError(f"{where}: no field '{field_name}'; use {option} to name it")
    raw_id = record[id_field]
    if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        doc_id = str(raw_id)
    elif isinstance(raw_id, str):
        doc_id = raw_id
    else:
        raise _wrong_type(where, id_field, raw_id)
    if not doc_id:
        raise InputError(f"{where}: field '{id_field}' is empty; give every document an id")
    text = record[text_field]
    if not isinstance(text, str):
        raise _wrong_type(where, text_field, text)
    meta: dict[str, str | None] = {}
    for field_name in _META_FIELDS:
        value = record.get(field_name)
        if value is not None and not isinstance(value, str):
            raise _wrong_type(where, field_name, value)
        meta[field_name] = value
    return _make(doc_id, text, where, meta)


def _wrong_type(where: str, field_name: str, value: object) -> InputError:
    return InputError(f"{where}: field '{field_name}' is {_json_type(value)}, expected a string")


def _read_csv(stream: IO[bytes], name: str, *, id_field: str, text_field: str) -> Iterator[_Item]:
    """One document per row after a header row; origins carry the row's first line number."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    line_number = 0

    def lines() -> Iterator[str]:
        # Decoding per line (rather than through a TextIOWrapper) lets a UTF-8 error name its line.
        nonlocal line_number
        for raw in _raw_lines(stream, name):
            line_number += 1
            yield _decode_line(raw, f"{name}:{line_number}")

    # strict: an unclosed quote is an error, not a field that silently swallows the file.
    reader = csv.reader(lines(), strict=True)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    while True:
        row_start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{name}:{row_start}: not valid CSV ({exc}); fix or remove the row"
            ) from exc
        if not row:
            continue
        if header is None:
            header = row
            columns = _csv_columns(header, name, id_field=id_field, text_field=text_field)
            continue
        if len(row) != len(header):
            raise InputError(
                f"{name}:{row_start}: row has {len(row)} fields but the header has "
                f"{len(header)}; fix or remove the row"
            )
        where = f"{name}:{row_start}"
        doc_id = row[columns[id_field]]
        if not doc_id:
            raise InputError(f"{where}: field '{id_field}' is empty; give every document an id")
        # CSV has no null: an empty cell means the metadata is not known.
        meta = {
            field_name: (row[columns[field_name]] or None) if field_name in columns else None
            for field_name in _META_FIELDS
        }
        yield _make(doc_id, row[columns[text_field]], where, meta)


def _csv_columns(header: list[str], name: str, *, id_field: str, text_field: str) -> dict[str, int]:
    """Column name -> index, after checking that the header is usable."""
    columns: dict[str, int] = {}
    for index, column in enumerate(header):
        if column in columns:
            raise InputError(
                f"{name}: column '{column}' appears twice in the header; rename one of them"
            )
        columns[column] = index
    for field_name, option in ((id_field, "--id-field"), (text_field, "--text-field")):
        if field_name not in columns:
            raise InputError(
                f"{name}: no column '{field_name}' in the header; use {option} to name it"
            )
    return columns
