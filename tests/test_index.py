"""The SQLite index: build, add, remove, info, and the one-line errors for everything that
is not a usable index (wrong parameters, schema, damaged, not an index, busy)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dedup import Config, Document, compiled
from dedup.boilerplate import NO_KEY
from dedup.check import check
from dedup.config import LSHConfig
from dedup.index import (
    SCHEMA_VERSION,
    AlreadyIndexed,
    IndexStoreError,
    NotIndexed,
    ParameterMismatch,
    Signed,
    SQLiteIndex,
    add_documents,
    build_index,
    check_parameters,
    open_index,
    sign_documents,
)
from dedup.models import Skipped
from dedup.pipeline import prepare, sentence_profile
from dedup.shingle import shingle_hashes
from dedup.signatures import Signer

from .conftest import ROOT
from .corpus_text import ARTICLES
from .index_helpers import (
    archive_docs,
    batch_docs,
    check_pairs,
    run,
    run_process,
    scan_pairs,
    write_jsonl,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _error(args: list[str]) -> tuple[int, str]:
    result = run(args)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    path = tmp_path / "archive.dedup"
    build_index(str(path), archive_docs())
    return path


def test_build_and_info(index_path: Path) -> None:
    with open_index(str(index_path)) as index:
        info = index.info()
        assert index.config == Config()
    assert info.documents == 13  # the short stub is not indexed
    assert info.params == Config().to_dict()
    assert info.schema_version == SCHEMA_VERSION
    assert ISO_UTC.match(info.created) and ISO_UTC.match(info.updated)
    assert info.size_bytes == os.path.getsize(index_path)
    assert not list(index_path.parent.glob("*.building-*"))


def test_index_keeps_text_and_metadata_exactly(index_path: Path) -> None:
    originals = {d.id: d for d in archive_docs()}
    with open_index(str(index_path)) as index:
        stored = index.transact(lambda s: s.documents_by_id(sorted(originals)), write=False)
    assert sorted(stored) == sorted(set(originals) - {"arch/short"})
    for doc_id, doc in stored.items():
        assert doc.text == originals[doc_id].text
        assert doc.meta() == originals[doc_id].meta()


def test_index_keeps_the_stems_the_boilerplate_rule_compares(index_path: Path) -> None:
    # A check judges boilerplate from stored stems instead of re-tokenizing carriers: they
    # must be exactly the stems a scan's sentence profile gives.
    originals = {d.id: d for d in archive_docs() if d.id != "arch/short"}
    with open_index(str(index_path)) as index:
        stored = index.transact(lambda s: s.stems_by_id(sorted(originals)), write=False)
        config = index.config
    assert sorted(stored) == sorted(originals)
    for doc_id, stems in stored.items():
        profile = sentence_profile(prepare(originals[doc_id], config),
                                   config.boilerplate.min_words)
        assert stems.dtype == np.uint64 and len(stems) > 0
        assert stems.tolist() == profile.stems().tolist()


@pytest.mark.parametrize("kernels", [True, False])
def test_signing_a_batch_in_blocks_equals_preparing_each_document(kernels: bool) -> None:
    # A check and an index sign documents in blocks, without preparing them for alignment:
    # entries and profiles must be what preparing each document on its own gives.
    config = Config()
    texts = [*ARTICLES[:6],
             "&bdquo;Stra\u00dfe&ldquo; \u2013 " + ARTICLES[6],  # typography: not plain
             "Zu kurz.", "", ARTICLES[7] + "\n\n" + ARTICLES[8]]
    docs = [Document(f"d{i:02d}", text) for i, text in enumerate(texts)]
    signer = Signer(config.lsh.num_perm, config.lsh.seed)
    with compiled.using(kernels):
        items = sign_documents(docs, config)
        expected = [prepare(doc, config) for doc in docs]
    assert [item.entry.doc.id if isinstance(item, Signed) else item.id
            for item in items] == [doc.id for doc in docs]
    min_words = config.boilerplate.min_words
    for item, p in zip(items, expected):
        if len(p.tokens) < config.shingle.min_words:
            assert isinstance(item, Skipped) and f"({len(p.tokens)} words" in item.reason
            continue
        assert isinstance(item, Signed)
        profile = sentence_profile(p, min_words)
        keys = profile.keys
        assert item.entry.words == len(p.tokens)
        assert item.entry.signature.tolist() == signer.sign(
            shingle_hashes(p.word_ids, config.shingle.size)).tolist()
        assert item.entry.sentence_keys.tolist() == sorted(set(keys[keys != NO_KEY].tolist()))
        assert item.entry.stems.tolist() == profile.stems().tolist()
        got = item.profile()
        assert got.keys.tolist() == keys.tolist()
        assert [s.tolist() for s in got.sentence_stems] == [
            s.tolist() for s in profile.sentence_stems]
    assert sum(isinstance(item, Skipped) for item in items) == 2


def test_bucket_members_read_as_text_are_the_rows(index_path: Path) -> None:
    # Buckets of bounded size come back from SQLite as one text of numbers: every row, the
    # extreme 64-bit keys exactly, the same as reading the rows one by one.
    with sqlite3.connect(index_path) as db:
        db.executemany("INSERT INTO bands_recent VALUES (?, 1)", [(-(2**63),), (2**63 - 1,)])
        keys = np.array([k for (k,) in db.execute("SELECT DISTINCT key FROM bands")]
                        + [-(2**63), 2**63 - 1, 12345], dtype=np.int64)
        largest = db.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM bands "
                             "GROUP BY key)").fetchone()[0]
    db.close()
    with open_index(str(index_path)) as index:
        rows, text = index.transact(lambda s: (s.bucket_members(keys),
                                               s.bucket_members(keys, most=largest + 1)),
                                    write=False)

    def table(found: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int]]:
        return sorted(zip(found[0].tolist(), found[1].tolist()))

    assert table(text) == table(rows)
    assert {(-(2**63), 1), (2**63 - 1, 1)} <= set(table(text))
    assert len(table(text)) > len(keys)


def test_wal_journal_and_one_file(index_path: Path) -> None:
    db = sqlite3.connect(index_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_cli_build_add_remove_info(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "archive.jsonl", archive_docs())
    path = tmp_path / "a.dedup"
    result = run(["index", "build", str(corpus), "-o", str(path)])
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: indexed 13 documents (1 skipped: empty or too short to " \
                            "compare)\n"
    batch = [d for d in batch_docs() if d.id.startswith("batch/self")]
    added = run(["index", "add", str(write_jsonl(tmp_path / "b.jsonl", batch)), "-i", str(path)])
    assert added.stdout == f"{path}: added 2 documents\n", added.stderr
    info = json.loads(run(["index", "info", "-i", str(path), "--format", "json"]).stdout)
    assert info["documents"] == 15 and info["backend"] == "sqlite"
    assert info["params"]["lsh"]["num_perm"] == 256
    assert ISO_UTC.match(info["created"]) and ISO_UTC.match(info["updated"])
    text = run(["index", "info", "-i", str(path)]).stdout
    assert text.startswith(f"index:      {path} (sqlite, schema {SCHEMA_VERSION})\n"
                           "documents:  15\nsize:       ")
    assert "  lsh.num_perm = 256\n" in text and "created:    " in text
    removed = run(["index", "remove", "batch/self-a", "batch/self-b", "-i", str(path)])
    assert removed.stdout == f"{path}: removed 2 documents\n"
    assert json.loads(run(["index", "info", "-i", str(path), "--format",
                           "json"]).stdout)["documents"] == 13


def test_build_refuses_to_overwrite_without_force(index_path: Path, tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", archive_docs()[:3])
    code, err = _error(["index", "build", str(corpus), "-o", str(index_path)])
    assert (code, err) == (3, f"Error: {index_path}: already exists; add to it with dedup index "
                              "add, or replace it with --force\n")
    assert run(["index", "build", str(corpus), "-o", str(index_path), "--force"]).returncode == 0
    with open_index(str(index_path)) as index:
        assert index.info().documents == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_build_with_force_never_replaces_what_is_not_a_file(tmp_path: Path) -> None:
    # /dev/null is the case that matters (as root, --force put a regular file in its place);
    # a FIFO stands in for it here.
    corpus = write_jsonl(tmp_path / "c.jsonl", archive_docs()[:3])
    fifo = tmp_path / "index.pipe"
    os.mkfifo(fifo)
    code, err = _error(["index", "build", str(corpus), "-o", str(fifo), "--force"])
    assert (code, err) == (3, f"Error: {fifo}: not a regular file; give the index a file of "
                              "its own\n")
    assert fifo.is_fifo()


def test_build_through_a_symlink_keeps_the_link(index_path: Path, tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", archive_docs()[:3])
    link = tmp_path / "current.dedup"
    link.symlink_to(index_path)
    assert run(["index", "build", str(corpus), "-o", str(link), "--force"]).returncode == 0
    assert link.is_symlink()
    with open_index(str(index_path)) as index:
        assert index.info().documents == 3


def test_add_refuses_ids_already_indexed(index_path: Path) -> None:
    batch = [Document("arch/03", ARTICLES[3]), Document("arch/04", ARTICLES[4]),
             Document("new", ARTICLES[11])]
    with open_index(str(index_path)) as index:
        with pytest.raises(AlreadyIndexed) as error:
            add_documents(index, batch)
        assert str(error.value) == (f"{index_path}: 2 ids already indexed: arch/03, arch/04; "
                                    "remove them first (dedup index remove) or use "
                                    "--skip-existing")
        assert index.info().documents == 13
        result = add_documents(index, batch, skip_existing=True)
        assert (result.added, result.existing) == (["new"], ["arch/03", "arch/04"])
        assert index.info().documents == 14


def test_cli_add_existing_ids_exits_3_naming_them(index_path: Path, tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "b.jsonl", [Document("arch/03", ARTICLES[3])])
    assert _error(["index", "add", str(batch), "-i", str(index_path)]) == (
        3, f"Error: {index_path}: 1 id already indexed: arch/03; remove them first "
           "(dedup index remove) or use --skip-existing\n")
    result = run(["index", "add", str(batch), "-i", str(index_path), "--skip-existing"])
    assert result.stdout == f"{index_path}: added 0 documents (1 already indexed, left out)\n"


def test_removed_documents_no_longer_match(index_path: Path) -> None:
    copy = [d for d in batch_docs() if d.id == "batch/copy-03"]
    with open_index(str(index_path)) as index:
        assert [m.b for m in check(index, copy).pairs] == ["batch/copy-03"]
        index.remove(["arch/03"])
        assert check(index, copy).pairs == []
        rows = index.transact(lambda s: s.existing(["arch/03"]), write=False)
        assert rows == {}
    db = sqlite3.connect(index_path)
    for table in ("bands", "bands_recent", "sentences", "doc_data"):
        column = "num" if table == "doc_data" else "doc"
        orphans = db.execute(f"SELECT count(*) FROM {table} WHERE {column} NOT IN "
                             "(SELECT num FROM documents)").fetchone()[0]
        assert orphans == 0, table
    db.close()


def test_remove_unknown_ids_removes_nothing(index_path: Path) -> None:
    assert _error(["index", "remove", "arch/03", "nope", "-i", str(index_path)]) == (
        3, f"Error: {index_path}: not in the index: nope; nothing was removed (dedup index "
           "info shows what it holds)\n")
    with open_index(str(index_path)) as index:
        assert index.info().documents == 13
        with pytest.raises(NotIndexed):
            index.remove(["nope"])


def test_recent_band_table_merges_without_changing_findings(tmp_path: Path) -> None:
    archive, batch = archive_docs(), batch_docs()
    path = str(tmp_path / "a.dedup")
    build_index(path, archive[:4])
    with SQLiteIndex(path, merge_min_documents=3) as index:
        for start in range(4, len(archive), 3):  # adds of 3: the recent table merges on some
            add_documents(index, archive[start : start + 3])
        db = sqlite3.connect(path)
        recent = db.execute("SELECT count(*) FROM bands_recent").fetchone()[0]
        main = db.execute("SELECT count(*) FROM bands").fetchone()[0]
        db.close()
        assert main > 4 * 256 and recent < main
        assert check_pairs(check(index, batch)) == scan_pairs(archive, batch)


# --- parameters -------------------------------------------------------------------------------


def test_parameter_mismatch_is_one_line_naming_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "a.dedup"
    build_index(str(path), archive_docs()[:3], Config(lsh=LSHConfig(num_perm=128,
                                                                     min_collisions=3)))
    with open_index(str(path)) as index, pytest.raises(ParameterMismatch) as error:
        check(index, batch_docs(), config=Config(lsh=LSHConfig(num_perm=128)))
    default = LSHConfig().min_collisions
    assert str(error.value) == (f"{path}: built with lsh.min_collisions=3, this run uses "
                                f"{default}; rebuild the index or use its parameters")
    batch = write_jsonl(tmp_path / "b.jsonl", batch_docs())
    expected = (f"Error: {path}: built with lsh.num_perm=128, lsh.min_collisions=3; this run "
                f"uses lsh.num_perm=256, lsh.min_collisions={default}; rebuild the index or use "
                "its parameters\n")
    assert _error(["check", str(batch), "-i", str(path)]) == (2, expected)
    assert _error(["index", "add", str(batch), "-i", str(path)]) == (2, expected)


def test_check_parameters_single_difference_message() -> None:
    with pytest.raises(ParameterMismatch, match=r"^archive.dedup: built with lsh.num_perm=256, "
                                                r"this run uses 128; rebuild the index or use "
                                                r"its parameters$"):
        check_parameters("archive.dedup", Config(),
                         Config(lsh=replace(LSHConfig(), num_perm=128)))


def test_settings_file_gives_a_run_the_index_parameters(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[lsh]\nmin_collisions = 3\n", "utf-8")
    corpus = write_jsonl(tmp_path / "archive.jsonl", archive_docs())
    path = tmp_path / "a.dedup"
    assert run(["index", "build", str(corpus), "-o", str(path), "--config",
                str(settings)]).returncode == 0
    batch = write_jsonl(tmp_path / "b.jsonl", batch_docs())
    code, err = _error(["check", str(batch), "-i", str(path)])
    assert code == 2 and "built with lsh.min_collisions=3, this run uses" in err
    result = run(["check", str(batch), "-i", str(path), "--config", str(settings)])
    assert result.returncode == 1 and "FAIL duplicate of archived arch/03" in result.stdout


# --- not a usable index: one line each --------------------------------------------------------


def test_missing_index(tmp_path: Path) -> None:
    path = tmp_path / "nope.dedup"
    assert _error(["index", "info", "-i", str(path)]) == (
        3, f"Error: {path}: no such index; build one with dedup index build CORPUS -o {path}\n")


def test_not_an_index_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.dedup"
    path.write_bytes(b"these are my notes, not an index\n" * 10)
    before = path.read_bytes()
    result = run_process(["index", "info", "-i", str(path)])  # the real command, end to end
    assert (result.returncode, result.stderr) == (
        3, f"Error: {path}: not a dedup index (not an SQLite file); give the file that dedup "
           "index build wrote\n")
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["notes.dedup"]
    empty = tmp_path / "empty.dedup"
    empty.write_bytes(b"")
    assert _error(["index", "info", "-i", str(empty)])[1] == (
        f"Error: {empty}: not a dedup index (an empty file); give the file that dedup index "
        "build wrote\n")
    assert _error(["index", "info", "-i", str(tmp_path)])[1] == (
        f"Error: {tmp_path}: is a directory, not an index file\n")


def test_other_sqlite_database_is_not_an_index(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    assert _error(["index", "info", "-i", str(path)]) == (
        3, f"Error: {path}: not a dedup index (an SQLite database without dedup's tables); give "
           "the file that dedup index build wrote\n")


@pytest.mark.parametrize("version,expected", [
    (SCHEMA_VERSION + 1, "index schema version {v} is newer than this dedup supports ({s}); "
                         "upgrade dedup"),
    (SCHEMA_VERSION - 1, "index schema version {v} is older than this dedup's ({s}); rebuild "
                         "the index with dedup index build"),
])
def test_schema_version_mismatch(index_path: Path, version: int, expected: str) -> None:
    db = sqlite3.connect(index_path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    db.commit()
    db.close()
    message = expected.format(v=version, s=SCHEMA_VERSION)
    assert _error(["index", "info", "-i", str(index_path)]) == (
        3, f"Error: {index_path}: {message}\n")


def test_damaged_index_is_one_line(index_path: Path, tmp_path: Path) -> None:
    size = index_path.stat().st_size
    with index_path.open("r+b") as f:  # keep the header and schema, lose the rest
        f.truncate(size // 3)
    batch = write_jsonl(tmp_path / "b.jsonl", batch_docs())
    code, err = _error(["check", str(batch), "-i", str(index_path)])
    assert code == 3 and err.count("\n") == 1
    assert err.startswith(f"Error: {index_path}: index is damaged (")
    assert err.endswith("; rebuild it with dedup index build\n")


def test_garbage_inside_an_index_is_one_line(index_path: Path, tmp_path: Path) -> None:
    size = index_path.stat().st_size
    with index_path.open("r+b") as f:
        f.seek(4096 * 2)
        f.write(os.urandom(size - 4096 * 2))
    batch = write_jsonl(tmp_path / "b.jsonl", batch_docs())
    code, err = _error(["check", str(batch), "-i", str(index_path)])
    assert code == 3 and err.count("\n") == 1 and err.startswith(f"Error: {index_path}: ")


def test_a_busy_index_is_one_line(index_path: Path) -> None:
    blocker = sqlite3.connect(index_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with SQLiteIndex(str(index_path), timeout=0.2) as index:
            with pytest.raises(IndexStoreError, match=r"index is busy \(another process held "
                                                      r"it for more than 0 s\); try again$"):
                add_documents(index, [Document("x", ARTICLES[11])])
            # Reading still works while another process writes (WAL).
            assert check(index, [Document("y", ARTICLES[3])]).pairs
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


# --- concurrency ------------------------------------------------------------------------------


def _batch_file(tmp_path: Path, name: str, start: int, count: int) -> Path:
    docs = [Document(f"{name}/{n}", f"{ARTICLES[n % 12]}\n\nMeldung {name} Nummer {n}.")
            for n in range(start, start + count)]
    return write_jsonl(tmp_path / f"{name}.jsonl", docs)


def test_two_concurrent_adds_both_land(tmp_path: Path) -> None:
    path = tmp_path / "a.dedup"
    build_index(str(path), archive_docs())
    files = [_batch_file(tmp_path, name, 0, 40) for name in ("one", "two")]
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", "index", "add", str(f), "-i",
                               str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with open_index(str(path)) as index:
        assert index.info().documents == 13 + 80
        held = index.transact(lambda s: s.existing([f"{n}/{i}" for n in ("one", "two")
                                                    for i in range(40)]), write=False)
    assert len(held) == 80


def test_concurrent_checks_with_add_see_each_other(tmp_path: Path) -> None:
    """Two workers each check --add a copy of the same new story: the check and the add are
    one transaction, so whichever goes second finds the first one's copy and fails."""
    path = tmp_path / "a.dedup"
    build_index(str(path), archive_docs())
    story = ARTICLES[11]
    files = [write_jsonl(tmp_path / f"w{n}.jsonl", [Document(f"worker{n}/story", story)])
             for n in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", "check", str(f), "-i", str(path),
                               "--add", "--format", "json"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 1], outputs
    failed = json.loads(outputs[[p.returncode for p in procs].index(1)][0])
    assert [(p["a"], p["b"], p["relation"]) for p in failed["pairs"]] == [
        ("worker1/story", "worker2/story", "duplicate")]
    with open_index(str(path)) as index:
        assert index.info().documents == 14
