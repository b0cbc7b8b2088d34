"""Tests for dedup.io: every input format, and one test per bad input with its exact message."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.errors import InputError
from dedup.io import Corpus, _parse_range, iter_documents, read_corpus
from dedup.models import Document, Skipped
from dedup.store import DocumentStore

UTF8_HINT = "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path``, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def error_of(read: Callable[[], object]) -> str:
    """The message of the InputError that ``read`` raises."""
    with pytest.raises(InputError) as info:
        read()
    return str(info.value)


def ids(corpus: Corpus) -> list[str]:
    return [document.id for document in corpus.documents]


# --- directories and text files ---------------------------------------------------------------


def test_directory_is_read_recursively_with_relative_slash_ids(tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    write(corpus_dir / "b.txt", "Second story.")
    write(corpus_dir / "a.txt", "First story.")
    write(corpus_dir / "sub" / "001.txt", "Nested story.")
    write(corpus_dir / "sub" / "deeper" / "x.txt", "Deeply nested.")

    corpus = read_corpus([str(corpus_dir)])

    assert ids(corpus) == ["a.txt", "b.txt", "sub/001.txt", "sub/deeper/x.txt"]
    nested = corpus.documents[2]
    assert nested.text == "Nested story."
    assert nested.origin == str(corpus_dir / "sub" / "001.txt")
    assert corpus.skipped == [] and corpus.warnings == []


def test_directory_skips_hidden_entries_and_other_extensions(tmp_path: Path) -> None:
    write(tmp_path / "keep.txt", "Kept.")
    write(tmp_path / ".hidden.txt", "A hidden file.")
    write(tmp_path / ".git" / "notes.txt", "Inside a hidden directory.")
    write(tmp_path / "sub" / ".cache" / "x.md", "Hidden below a visible directory.")
    write(tmp_path / "data.jsonl", jsonl({"id": "j", "text": "Not read from a directory."}))
    write(tmp_path / "image.png", b"\x89PNG\r\n\x1a\n\x00\x00")

    assert ids(read_corpus([str(tmp_path)])) == ["keep.txt"]


def test_markdown_files_are_accepted_in_any_case(tmp_path: Path) -> None:
    write(tmp_path / "dir" / "post.md", "# A post\n\nBody.")
    write(tmp_path / "dir" / "LOUD.TXT", "Upper-case name.")
    single = write(tmp_path / "Notes.MD", "Single markdown file.")

    corpus = read_corpus([str(tmp_path / "dir"), str(single)])

    assert ids(corpus) == sorted(["LOUD.TXT", "post.md", str(single)])
    assert corpus.documents[-1].text == "# A post\n\nBody."


def test_single_file_id_is_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "notes" / "a.txt", "Some text.")

    document = read_corpus(["notes/a.txt"]).documents[0]

    assert document == Document(id="notes/a.txt", text="Some text.", origin="notes/a.txt")


def test_symlinked_files_are_read_and_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    target = write(tmp_path / "elsewhere" / "story.txt", "Linked story.")
    write(corpus_dir / "own.txt", "Own story.")
    (corpus_dir / "link.txt").symlink_to(target)
    (corpus_dir / "loop").symlink_to(corpus_dir, target_is_directory=True)

    corpus = read_corpus([str(corpus_dir)])

    assert ids(corpus) == ["link.txt", "own.txt"]
    assert corpus.documents[0].text == "Linked story."


def test_fifo_in_directory_is_passed_over(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    write(tmp_path / "a.txt", "Text.")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it would block forever

    assert ids(read_corpus([str(tmp_path)])) == ["a.txt"]


def test_utf8_bom_is_dropped_in_text_jsonl_and_csv(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    text_file = write(tmp_path / "bom.txt", bom + "Größe zählt.".encode())
    jsonl_file = write(tmp_path / "bom.jsonl", bom + jsonl({"id": "j", "text": "JSON."}).encode())
    csv_file = write(tmp_path / "bom.csv", bom + b"id,text\r\nc,CSV.\r\n")

    corpus = read_corpus([str(text_file), str(jsonl_file), str(csv_file)])

    assert {d.id: d.text for d in corpus.documents} == {
        str(text_file): "Größe zählt.",
        "j": "JSON.",
        "c": "CSV.",
    }


# --- JSONL ------------------------------------------------------------------------------------


def test_jsonl_with_renamed_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path / "batch.jsonl",
        jsonl(
            {"doc_id": "x1", "body": "Body one.", "text": "ignored"},
            {"doc_id": "x2", "body": "Two."},
        ),
    )

    corpus = read_corpus([str(path)], id_field="doc_id", text_field="body")

    assert [(d.id, d.text, d.origin) for d in corpus.documents] == [
        ("x1", "Body one.", f"{path}:1"),
        ("x2", "Two.", f"{path}:2"),
    ]


def test_jsonl_blank_lines_are_ignored_but_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "batch.ndjson",
        '\n{"id": "a", "text": "A."}\n   \n\r\n{"id": "b", "text": "B."}\r\n',
    )

    assert [d.origin for d in read_corpus([str(path)]).documents] == [f"{path}:2", f"{path}:5"]


def test_jsonl_gz(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl({"id": "g1", "text": "Zipped."}).encode()))

    corpus = read_corpus([str(path)])

    assert corpus.documents == [Document(id="g1", text="Zipped.", origin=f"{path}:1")]


def test_metadata_is_carried(tmp_path: Path) -> None:
    record = {
        "id": "m1",
        "text": "Story.",
        "title": "Headline",
        "source": "Wire",
        "date": "2024-05-01",
        "url": "https://example.org/m1",
        "extra": {"ignored": True},
    }
    path = write(
        tmp_path / "meta.jsonl", jsonl(record, {"id": "m2", "text": "No meta.", "title": None})
    )

    first, second = read_corpus([str(path)]).documents

    assert first.meta() == {
        "title": "Headline",
        "source": "Wire",
        "date": "2024-05-01",
        "url": "https://example.org/m1",
    }
    assert second.meta() == {}


def test_numeric_id_becomes_a_string(tmp_path: Path) -> None:
    path = write(
        tmp_path / "n.jsonl", jsonl({"id": 17, "text": "Seventeen."}, {"id": 2.5, "text": "x"})
    )

    assert ids(read_corpus([str(path)])) == ["17", "2.5"]


def test_stdin_jsonl(tmp_path: Path) -> None:
    stream = io.BytesIO(
        jsonl({"id": "s1", "text": "From a pipe."}, {"id": "s2", "text": " "}).encode()
    )

    corpus = read_corpus(["-"], stdin=stream)

    assert corpus.documents == [Document(id="s1", text="From a pipe.", origin="<stdin>:1")]
    assert corpus.skipped == [Skipped("s2", "empty text")]
    assert corpus.warnings == ["<stdin>:2: empty text, skipped"]


def test_a_50_mb_document_in_jsonl_reads_fine(tmp_path: Path) -> None:
    text = "word " * 10_000_000  # 50 MB
    path = write(
        tmp_path / "big.jsonl", jsonl({"id": "big", "text": text}, {"id": "small", "text": "x"})
    )

    started = time.perf_counter()
    corpus = read_corpus([str(path)])
    elapsed = time.perf_counter() - started

    assert ids(corpus) == ["big", "small"]
    assert corpus.documents[0].text == text
    assert elapsed < 5, f"reading 50 MB took {elapsed:.1f}s"


# --- CSV --------------------------------------------------------------------------------------


def test_csv_rows_with_line_numbers_and_metadata(tmp_path: Path) -> None:
    path = write(
        tmp_path / "batch.csv",
        'id,title,text\r\nc1,First,"Line one,\r\nline two."\r\n\r\nc2,,Plain.\r\n',
    )

    corpus = read_corpus([str(path)])

    assert corpus.documents == [
        Document(id="c1", text="Line one,\r\nline two.", title="First", origin=f"{path}:2"),
        Document(id="c2", text="Plain.", origin=f"{path}:5"),
    ]


def test_csv_gz_with_renamed_columns(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv.gz"
    path.write_bytes(gzip.compress(b"key,body\nk1,Zipped CSV.\n"))

    corpus = read_corpus([str(path)], id_field="key", text_field="body")

    assert corpus.documents == [Document(id="k1", text="Zipped CSV.", origin=f"{path}:2")]


def test_csv_field_of_50_mb_reads_fine(tmp_path: Path) -> None:
    text = "word " * 10_000_000
    path = write(tmp_path / "big.csv", f"id,text\nbig,{text}\n")

    assert read_corpus([str(path)]).documents[0].text == text


# --- skipped documents and empty corpora ------------------------------------------------------


def test_empty_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "a.txt", "")
    write(tmp_path / "corpus" / "b.txt", "  \n\t ")
    write(tmp_path / "corpus" / "c.txt", "Real text.")

    corpus = read_corpus([str(tmp_path / "corpus")])

    assert ids(corpus) == ["c.txt"]
    assert corpus.skipped == [Skipped("a.txt", "empty text"), Skipped("b.txt", "empty text")]
    assert corpus.warnings == [
        f"{tmp_path / 'corpus' / 'a.txt'}: empty text, skipped",
        f"{tmp_path / 'corpus' / 'b.txt'}: empty text, skipped",
    ]


def test_inputs_without_documents_get_a_warning(tmp_path: Path) -> None:
    empty_jsonl = write(tmp_path / "empty.jsonl", "\n\n")
    empty_dir = tmp_path / "empty_dir"
    empty_dir.mkdir()
    real = write(tmp_path / "real.txt", "Text.")

    corpus = read_corpus([str(real), str(empty_jsonl), str(empty_dir)])

    assert corpus.warnings == [
        f"{empty_jsonl}: no documents found",
        f"{empty_dir}: no .txt or .md files found",
    ]


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "empty.txt", "")
    empty_jsonl = write(tmp_path / "b.jsonl", "")
    paths = [str(tmp_path / "corpus"), str(empty_jsonl)]

    assert error_of(lambda: read_corpus(paths)) == (
        f"no documents found in {paths[0]}, {paths[1]}; "
        "give .txt/.md files, a directory, or .jsonl/.csv"
    )
    allowed = read_corpus(paths, allow_empty=True)
    assert allowed.documents == [] and allowed.skipped == [Skipped("empty.txt", "empty text")]


def test_iter_documents_streams_one_input_and_yields_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "b.jsonl", jsonl({"id": "z", "text": "Z."}, {"id": "a", "text": ""}))

    assert list(iter_documents(str(path))) == [
        Document(id="z", text="Z.", origin=f"{path}:1"),
        Skipped("a", "empty text"),
    ]


# --- errors: paths and formats ----------------------------------------------------------------


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.jsonl")

    assert error_of(lambda: read_corpus([missing])) == f"{missing}: no such file or directory"


def test_unknown_format(tmp_path: Path) -> None:
    path = str(write(tmp_path / "feed.xml", "<rss/>"))

    assert error_of(lambda: read_corpus([path])) == (
        f"{path}: unknown input format; give a directory, .txt, .md, .jsonl, .jsonl.gz or .csv "
        "file, or - for JSONL on stdin"
    )


def test_broken_symlink_in_directory_cannot_be_read(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Text.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")

    assert error_of(lambda: read_corpus([str(tmp_path)])) == (
        f"{tmp_path / 'gone.txt'}: cannot read (No such file or directory)"
    )


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.jsonl", jsonl({"id": "a", "text": "A."}))
    path.chmod(0)
    try:
        assert (
            error_of(lambda: read_corpus([str(path)])) == f"{path}: cannot read (Permission denied)"
        )
    finally:
        path.chmod(0o644)


# --- errors: encodings and binary files -------------------------------------------------------


def test_invalid_utf8_in_text_file_names_the_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", b"Gr\xfc\xdfe")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: not valid UTF-8 at byte 2; {UTF8_HINT}"
    )


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbfGr\xfc\xdfe")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: not valid UTF-8 at byte 5; {UTF8_HINT}"
    )


def test_invalid_utf8_in_jsonl_names_the_line(tmp_path: Path) -> None:
    good = jsonl({"id": "a", "text": "Fine."}).encode()
    path = write(tmp_path / "latin1.jsonl", good + b'{"id": "b", "text": "Gr\xfc\xdfe"}\n')

    assert error_of(lambda: read_corpus([str(path)])) == f"{path}:2: not valid UTF-8; {UTF8_HINT}"


def test_invalid_utf8_in_csv_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.csv", b"id,text\na,Fine.\nb,Gr\xfc\xdfe\n")

    assert error_of(lambda: read_corpus([str(path)])) == f"{path}:3: not valid UTF-8; {UTF8_HINT}"


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: looks like a binary file, not text; remove it or give only text files"
    )


def test_binary_file_inside_a_directory_is_an_error_not_a_skip(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Fine.")
    # The NUL is far past the first 8 KiB: a .txt is checked in full.
    binary = write(tmp_path / "b.txt", b"x" * 100_000 + b"\x00")

    assert error_of(lambda: read_corpus([str(tmp_path)])) == (
        f"{binary}: looks like a binary file, not text; remove it or give only text files"
    )


def test_binary_data_at_the_start_of_jsonl(tmp_path: Path) -> None:
    path = write(tmp_path / "data.jsonl", b"SQLite format 3\x00\x10\x00")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: looks like a binary file, not text; remove it or give only text files"
    )


def test_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path / "windows.txt", "Hello".encode("utf-16"))

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: looks like UTF-16 text, not UTF-8; "
        "convert it to UTF-8 (e.g. iconv -f utf-16 -t utf-8)"
    )


# --- errors: JSONL records --------------------------------------------------------------------


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.jsonl", jsonl({"id": "a", "text": "A."}) + '\n{"id": "b" "text": "B."}\n'
    )

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:3: not valid JSON (Expecting ',' delimiter at column 12); fix or remove the line"
    )


def test_nan_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path / "nan.jsonl", '{"id": NaN, "text": "x"}\n')

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:1: not valid JSON (NaN is not allowed in JSON); fix or remove the line"
    )


def test_numbers_and_escapes_read_as_the_json_module_reads_them(tmp_path: Path) -> None:
    # orjson parses the lines; it reads an integer beyond 64 bits as a double and refuses
    # escaped lone surrogates and numbers beyond a double, where the json module decides.
    lines = ['{"id": 123456789012345678901234567890, "text": "A."}',
             '{"id": -9223372036854775809, "text": "B."}',
             '{"id": 2.5, "text": "C."}',
             '{"id": "d", "text": "\\ud800 lone surrogate"}',
             '{"id": "e", "text": "E.", "extra": 1e400}']
    path = write(tmp_path / "numbers.jsonl", "\n".join(lines) + "\n")
    texts = {d.id: d.text for d in read_corpus([str(path)]).documents}
    assert texts == {"123456789012345678901234567890": "A.", "-9223372036854775809": "B.",
                     "2.5": "C.", "d": "\ud800 lone surrogate", "e": "E."}


@pytest.mark.parametrize("field_name", ["id", "title", "url"])
def test_a_lone_surrogate_names_no_document(tmp_path: Path, field_name: str) -> None:
    # A text may hold one (above); an id or metadata cannot: reports, hashes and indexes
    # write them as UTF-8.
    record = {"id": "a", "text": "Ein Text.", field_name: "x\udc80y"}
    path = write(tmp_path / "lone.jsonl", '{"id": "z", "text": "Z."}\n' + json.dumps(record))
    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:2: field '{field_name}' holds a lone surrogate (\\udc80), which no report or "
        "index can write; fix the value")


def test_a_file_name_that_is_not_utf8_names_no_document(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Ein Text.")
    (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_text("Noch ein Text.", "utf-8")
    path = os.path.join(tmp_path, os.fsdecode(b"caf\xe9.txt"))
    assert error_of(lambda: read_corpus([str(tmp_path)])) == (
        f"{path}: the file's name is not valid UTF-8, and it would be the document's id; "
        "rename the file")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8)


@settings(deadline=None, max_examples=300)
@given(st.one_of(
    st.fixed_dictionaries({"id": st.integers() | st.floats() | st.text(max_size=8),
                           "text": st.text(max_size=20) | _JSON},
                          optional={"title": _JSON, "date": st.text(max_size=5) | _JSON,
                                    "other": _JSON}),
    _JSON), st.booleans())
def test_a_line_means_what_the_json_module_reads_in_it(value: Any, ascii_only: bool) -> None:
    from dedup import io as dedup_io

    try:
        raw = (json.dumps(value, ensure_ascii=ascii_only) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, not written raw: escaped, it is read
        raw = (json.dumps(value, ensure_ascii=True) + "\n").encode("utf-8")

    def parsed(fast: bool) -> object:
        if not fast:
            original = dedup_io._fast_record
            dedup_io._fast_record = lambda raw, id_field: dedup_io._UNDECIDED
        try:
            return dedup_io._parse_line(raw, "x:1", id_field="id", text_field="text")
        except InputError as error:
            return str(error)
        finally:
            if not fast:
                dedup_io._fast_record = original

    assert parsed(True) == parsed(False)


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "list.jsonl", jsonl({"id": "a", "text": "A."}) + '["b", "B."]\n')

    assert (
        error_of(lambda: read_corpus([str(path)])) == f"{path}:2: expected a JSON object, got array"
    )


def test_missing_text_field(tmp_path: Path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl({"id": "a", "body": "A."}))

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:1: no field 'text'; use --text-field to name it"
    )


def test_missing_id_field(tmp_path: Path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl({"id": "a", "text": "A."}))

    assert error_of(lambda: read_corpus([str(path)], id_field="uid")) == (
        f"{path}:1: no field 'uid'; use --id-field to name it"
    )


def test_missing_csv_column(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "id,body\na,A.\n")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: no column 'text' in the header; use --text-field to name it"
    )
    assert error_of(lambda: read_corpus([str(path)], id_field="uid", text_field="body")) == (
        f"{path}: no column 'uid' in the header; use --id-field to name it"
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "a", "text": 42}, "field 'text' is number, expected a string"),
        ({"id": "a", "text": "A.", "title": ["x"]}, "field 'title' is array, expected a string"),
        ({"id": True, "text": "A."}, "field 'id' is boolean, expected a string"),
        ({"id": None, "text": "A."}, "field 'id' is null, expected a string"),
    ],
)
def test_wrong_field_type(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    path = write(tmp_path / "t.jsonl", jsonl(record))

    assert error_of(lambda: read_corpus([str(path)])) == f"{path}:1: {message}"


def test_empty_id(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", jsonl({"id": "", "text": "A."}))

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:1: field 'id' is empty; give every document an id"
    )


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "id,text\na,A.\nb,unquoted, comma\n")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:3: row has 3 fields but the header has 2; fix or remove the row"
    )


def test_csv_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'id,text\na,"never closed\nmore\n')

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}:2: not valid CSV (unexpected end of data); fix or remove the row"
    )


# --- errors: gzip -----------------------------------------------------------------------------


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.jsonl.gz", b"plain text, not gzip\n")

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: not a valid gzip file (Not a gzipped file (b'pl'))"
    )


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(
        jsonl(*({"id": str(i), "text": f"Story {i}."} for i in range(100))).encode()
    )
    path = write(tmp_path / "cut.jsonl.gz", data[: len(data) // 2])

    assert error_of(lambda: read_corpus([str(path)])) == (
        f"{path}: not a valid gzip file "
        "(Compressed file ended before the end-of-stream marker was reached)"
    )


# --- ids: uniqueness and order ----------------------------------------------------------------


def test_duplicate_id_within_one_input_names_both_origins(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.jsonl",
        jsonl({"id": "a", "text": "A."}, {"id": "b", "text": "B."}, {"id": "a", "text": "Again."}),
    )
    expected = (
        f"document id 'a' appears twice: {path}:1 and {path}:3; "
        "ids must be unique (use --id-field to pick another field)"
    )

    assert error_of(lambda: read_corpus([str(path)])) == expected
    assert error_of(lambda: list(iter_documents(str(path)))) == expected


def test_duplicate_id_across_inputs_names_both_origins(tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "story.txt", "One.")
    write(tmp_path / "two" / "story.txt", "Two.")
    second = tmp_path / "two" / "story.txt"

    assert error_of(lambda: read_corpus([str(tmp_path / "one"), str(tmp_path / "two")])) == (
        f"document id 'story.txt' appears twice: {first} and {second}; "
        "ids must be unique (use --id-field to pick another field)"
    )


def test_output_is_sorted_by_id_whatever_the_order_of_paths(tmp_path: Path) -> None:
    paths = [
        str(write(tmp_path / "c.jsonl", jsonl({"id": "z", "text": "Z."}, {"id": "m", "text": ""}))),
        str(write(tmp_path / "b.csv", "id,text\nb,B.\nk,\n")),
        str(write(tmp_path / "dir" / "a.txt", "A.").parent),
    ]

    results = [read_corpus(list(order)) for order in itertools.permutations(paths)]

    assert ids(results[0]) == ["a.txt", "b", "z"]
    assert all(result == results[0] for result in results)


# --- the reader leaves its inputs alone -------------------------------------------------------


def test_inputs_are_unchanged_after_reading(tmp_path: Path) -> None:
    write(tmp_path / "dir" / "a.txt", "\ufeffA story.")
    write(tmp_path / "dir" / "empty.md", "")
    write(tmp_path / "b.jsonl", jsonl({"id": "b", "text": "B."}))
    write(tmp_path / "c.csv", "id,text\nc,C.\n")
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress(jsonl({"id": "d", "text": "D."}).encode()))
    old = 1_000_000_000  # 2001: any write or touch would move the mtime
    for path in tmp_path.rglob("*"):
        os.utime(path, ns=(old * 10**9, old * 10**9))

    def snapshot() -> dict[Path, tuple[bytes, int]]:
        return {
            path: (path.read_bytes() if path.is_file() else b"", path.stat().st_mtime_ns)
            for path in sorted(tmp_path.rglob("*"))
        }

    before = snapshot()
    corpus = read_corpus(
        [str(tmp_path / "dir"), *(str(tmp_path / n) for n in ("b.jsonl", "c.csv", "d.jsonl.gz"))]
    )

    assert ids(corpus) == ["a.txt", "b", "c", "d"]
    assert snapshot() == before


@settings(deadline=None, max_examples=50)
@given(st.lists(st.text(min_size=1).filter(lambda t: not t.isspace()), min_size=1, max_size=8))
def test_jsonl_round_trips_across_the_8_kib_sniff_boundary(texts: list[str]) -> None:
    # Padding the texts to around 8 KiB puts line ends just before, at and after the point
    # where the reader stops sniffing the head of the stream and starts reading lines.
    records = [{"id": str(i), "text": text * (8190 // len(text))} for i, text in enumerate(texts)]
    stream = io.BytesIO(jsonl(*records).encode())

    documents = read_corpus(["-"], stdin=stream).documents

    assert {(d.id, d.text) for d in documents} == {(r["id"], r["text"]) for r in records}


@pytest.mark.parametrize("spool", [False, True])
def test_progress_counts_documents_as_they_are_read(tmp_path: Path, spool: bool) -> None:
    path = tmp_path / "many.jsonl"
    rows = [{"id": f"d{i}", "text": "" if i == 5 else f"Text {i}"} for i in range(2_501)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    counts: list[int] = []
    corpus = read_corpus([str(path)], spool=spool, progress=counts.append)
    assert counts == [1_000, 2_000]  # documents read, the empty one (skipped) not counted
    assert len(corpus.documents) == 2_500


# --- JSONL parsed by several processes (read_corpus(spool=True, workers=N)) -----------------

def _everything(corpus: Corpus) -> list[tuple[object, ...]]:
    """What a reader must give the same way: each document with its origin and metadata,
    the skipped entries, the warnings."""
    docs = [(d.id, d.text, d.origin, d.title, d.source, d.date, d.url)
            for d in corpus.documents]
    return [*docs, *((s.id, s.reason) for s in corpus.skipped), *corpus.warnings]


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse files of any size in parallel, in ranges of 40 bytes: most cut through a line,
    some hold no line start at all."""
    from dedup import io as dedup_io

    monkeypatch.setattr(dedup_io, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(dedup_io, "RANGE_BYTES", 40)


def _read_both(paths: list[str]) -> tuple[Corpus, Corpus]:
    return (read_corpus(paths, spool=True, workers=1),
            read_corpus(paths, spool=True, workers=3))


MIXED = (
    "\ufeff"  # a UTF-8 signature, then lines of every kind
    + json.dumps({"id": "a", "text": "Erste Meldung. „Zitat“ – Straße", "title": "T"}) + "\n"
    + "\n   \n"
    + json.dumps({"id": 7, "text": "\ud800 lone surrogate, escaped", "date": "2024-01-02"})
    + "\r\n"
    + json.dumps({"id": "b", "text": "   "}) + "\n"  # empty: skipped
    + json.dumps({"id": "c", "text": "x" * 300, "source": "dpa", "url": "u"}) + "\n"
    + json.dumps({"id": "d", "text": "é\u0301 Emoji \U0001f600 and \\ backslashes"},
                 ensure_ascii=False) + "\n"
    + json.dumps({"id": 8.0, "text": "a number as id"}) + "\n"
    + json.dumps({"id": "f", "text": "metadata null", "title": None, "url": "v"}) + "\n"
    + json.dumps({"id": "e", "text": "last line, no line break"})
)


def test_parallel_reading_gives_what_reading_in_one_process_gives(
        tmp_path: Path, small_ranges: None) -> None:
    path = write(tmp_path / "mixed.jsonl", MIXED)
    folder = tmp_path / "dir"
    write(folder / "z.txt", "a text file read after the JSONL")
    serial, parallel = _read_both([str(path), str(folder)])
    assert _everything(parallel) == _everything(serial)
    origins = {d.id: d.origin for d in parallel.documents}
    assert (origins["a"], origins["7"], origins["e"]) == (f"{path}:1", f"{path}:4",
                                                           f"{path}:10")
    assert len(parallel.documents) == 8 and len(parallel.skipped) == 1


@settings(deadline=None, max_examples=25)
@given(st.lists(st.tuples(st.text(max_size=90), st.sampled_from(["\n", "\r\n", "\n\n"])),
                min_size=1, max_size=12),
       st.integers(1, 120), st.booleans())
def test_parallel_reading_of_any_lines_and_ranges(rows: list[tuple[str, str]], size: int,
                                                  bom: bool) -> None:
    import tempfile

    from dedup import io as dedup_io

    content = ("\ufeff" if bom else "") + "".join(
        json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=i % 2 == 0) + end
        for i, (text, end) in enumerate(rows))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(dedup_io, "PARALLEL_MIN_BYTES", 0)
        patch.setattr(dedup_io, "RANGE_BYTES", size)
        path = write(Path(folder) / "rows.jsonl", content)
        before = path.read_bytes()
        found = []
        for workers in (1, 3):
            try:
                found.append(_everything(read_corpus([str(path)], spool=True,
                                                     workers=workers)))
            except InputError as exc:  # every text empty: no documents
                found.append([str(exc)])
        assert found[1] == found[0]
        assert path.read_bytes() == before


@pytest.mark.parametrize("bad", [
    b'{"id": "x", "text": "no end"\n',  # not valid JSON
    b'{"id": "x", "text": "\xff"}\n',  # not UTF-8
    b'{"text": "no id"}\n',
    b'["not", "an", "object"]\n',
    b'{"id": "a", "text": "the first id again"}\n',
    b'{"id": "a", "text": "  "}\n',  # skipped (empty), but its id is the first's
    b'{"id": "x", "text": "a text", "date": 20240102}\n',  # metadata not a string
    b'{"id": "", "text": "an empty id"}\n',
    b'{"id": "x", "text": ["not", "a", "string"]}\n',
])
@pytest.mark.parametrize("where", [0, 3, 7])
def test_parallel_reading_raises_the_first_error_as_one_process_does(
        tmp_path: Path, small_ranges: None, bad: bytes, where: int) -> None:
    lines = [json.dumps({"id": f"d{i}", "text": f"Text {i}"}).encode() + b"\n"
             for i in range(8)]
    lines[0] = b'{"id": "a", "text": "first"}\n'
    lines.insert(where + 1, bad)
    lines.insert(where + 3, b"{broken too\n")  # a later error must not win
    path = write(tmp_path / "bad.jsonl", b"".join(lines))
    serial = error_of(lambda: read_corpus([str(path)], spool=True, workers=1))
    parallel = error_of(lambda: read_corpus([str(path)], spool=True, workers=3))
    assert parallel == serial
    assert f"bad.jsonl:{where + 2}" in parallel


_PARSED_LOG: Path | None = None


def _slow_parse_range(bounds: tuple[int, int]) -> Any:
    """dedup.io._parse_range, 10 ms slower for a range it parses, noting each such range in
    _PARSED_LOG (runs in a worker)."""
    parsed = _parse_range(bounds)  # the module's own, not the monkeypatched one
    if parsed.lines:
        time.sleep(0.01)
        assert _PARSED_LOG is not None
        with open(_PARSED_LOG, "a") as out:
            out.write(f"{bounds}\n")
    return parsed


def test_parallel_reading_stops_parsing_after_the_first_error(
        tmp_path: Path, small_ranges: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import io as dedup_io

    log = tmp_path / "parsed.log"
    monkeypatch.setattr(sys.modules[__name__], "_PARSED_LOG", log)
    monkeypatch.setattr(dedup_io, "_parse_range", _slow_parse_range)
    lines = [b"{broken\n"] + [json.dumps({"id": f"d{i}", "text": "x"}).encode() + b"\n"
                               for i in range(300)]
    path = write(tmp_path / "bad.jsonl", b"".join(lines))
    assert "bad.jsonl:1" in error_of(lambda: read_corpus([str(path)], spool=True, workers=2))
    parsed = log.read_text().splitlines()
    assert 1 <= len(parsed) < len(lines) // 4  # about 300 ranges; only those begun parsed
    assert multiprocessing.active_children() == []


def test_an_abandoned_parallel_read_leaves_no_worker(tmp_path: Path,
                                                     small_ranges: None) -> None:
    from dedup import io as dedup_io

    path = write(tmp_path / "a.jsonl", jsonl(*({"id": f"d{i}", "text": f"Text {i}"}
                                                for i in range(200))))
    ranges = dedup_io._read_jsonl_parallel(str(path), DocumentStore(), 2, id_field="id",
                                           text_field="text")
    assert next(ranges)[0] == 1
    ranges.close()
    assert multiprocessing.active_children() == []


def test_parallel_reading_is_used_for_large_files_only(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import io as dedup_io

    calls: list[str] = []
    real = dedup_io._read_jsonl_parallel
    monkeypatch.setattr(dedup_io, "_read_jsonl_parallel",
                        lambda path, *a, **k: calls.append(path) or real(path, *a, **k))
    monkeypatch.setattr(dedup_io, "PARALLEL_MIN_BYTES", 200)
    small = write(tmp_path / "small.jsonl", jsonl({"id": "s", "text": "short"}))
    large = write(tmp_path / "large.jsonl", jsonl(*({"id": f"l{i}", "text": "long " * 9}
                                                    for i in range(9))))
    packed = tmp_path / "large.jsonl.gz"
    packed.write_bytes(gzip.compress(large.read_bytes().replace(b'"l', b'"g')))
    corpus = read_corpus([str(small), str(large), str(packed)], spool=True, workers=2)
    assert calls == [str(large)]  # not the small file, not gzip
    assert len(corpus.documents) == 19
    read_corpus([str(large)], spool=True, workers=1)
    read_corpus([str(large)], workers=2)  # texts in memory: nothing to share
    assert calls == [str(large)]


def test_meanwhile_runs_once_while_workers_parse(tmp_path: Path, small_ranges: None) -> None:
    first = write(tmp_path / "a.jsonl", jsonl(*({"id": f"a{i}", "text": "Text " * 9}
                                                for i in range(9))))
    second = write(tmp_path / "b.jsonl", jsonl({"id": "b", "text": "more"}))
    seen: list[int] = []
    corpus = read_corpus([str(first), str(second)], spool=True, workers=2,
                         meanwhile=lambda: seen.append(len(multiprocessing.active_children())))
    assert len(seen) == 1 and seen[0] >= 1  # once, with the workers running
    assert len(corpus.documents) == 10
    read_corpus([str(second)], spool=True, workers=1, meanwhile=lambda: seen.append(0))
    assert len(seen) == 1  # no workers, nothing to overlap


@pytest.mark.parametrize("content", [
    b"\xff\xfe" + '{"id": "a", "text": "x"}\n'.encode("utf-16-le"),  # UTF-16
    b'{"id": "a", "text": "x"}\n\x00\x01binary\n',  # a NUL in the head
])
def test_parallel_reading_refuses_what_one_process_refuses(
        tmp_path: Path, small_ranges: None, content: bytes) -> None:
    path = write(tmp_path / "odd.jsonl", content)
    serial = error_of(lambda: read_corpus([str(path)], spool=True, workers=1))
    assert error_of(lambda: read_corpus([str(path)], spool=True, workers=3)) == serial
    assert serial.startswith(f"{path}: looks like")
