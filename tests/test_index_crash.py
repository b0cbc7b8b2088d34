"""An add killed at any point leaves the index exactly as before, or holding the whole batch.

Each round copies a pristine index, starts a process that adds a batch, kills it with
SIGKILL after a random delay, and compares the index's logical content (documents, texts,
signatures, band and sentence rows) with the state before and the state after a complete
add; SQLite's integrity check must pass and the index must still work. Most rounds fork the
adder from a preloaded server and aim the kill at the write itself; a few run the real
command line and kill it anywhere from start-up to exit.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from dedup import Document
from dedup.check import check
from dedup.index import Entry, Signed, SQLiteIndex, build_index, open_index, sign_documents
from dedup.io import read_corpus

from .conftest import ROOT
from .corpus_text import ARTICLES, paragraphs
from .index_helpers import archive_docs, write_jsonl

ROUNDS = 36
CLI_ROUNDS = 6
SEED = int(os.environ.get("DEDUP_CRASH_SEED", "20261122"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def _batch() -> list[Document]:
    """Two hundred varied documents: enough that the write takes a while to kill inside."""
    rng = random.Random(7)
    docs = []
    for n in range(200):
        parts = paragraphs(ARTICLES[n % len(ARTICLES)])
        rng.shuffle(parts)
        docs.append(Document(f"batch/{n:03d}", "\n\n".join(parts) + f"\n\nMeldung Nummer {n}."))
    return docs


def logical_state(path: Path) -> tuple[str, str]:
    """(integrity check result, digest of everything the index means)."""
    db = sqlite3.connect(path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        digest = hashlib.sha256()
        queries = [
            "SELECT num, id, words, meta FROM documents ORDER BY num",
            "SELECT num, signature, sentence_keys, text FROM doc_data ORDER BY num",
            "SELECT key, doc FROM bands UNION ALL SELECT key, doc FROM bands_recent "
            "ORDER BY 1, 2",
            "SELECT key, doc FROM sentences ORDER BY key, doc",
            "SELECT key, value FROM meta WHERE key NOT IN ('updated', 'recent_documents') "
            "ORDER BY key",
        ]
        for sql in queries:
            for row in db.execute(sql):
                digest.update(repr(row).encode())
            digest.update(b"|")
    finally:
        db.close()
    return integrity, digest.hexdigest()


def _adder(path: str, entries: list[Entry], ready: Connection) -> None:
    with SQLiteIndex(path, merge_min_documents=50) as index:
        # A tiny page cache makes SQLite spill pages into the WAL all through the
        # transaction instead of only at commit, so that kills land amid WAL writes.
        index._db.execute("PRAGMA cache_size=16")
        ready.send("go")
        index.add(entries)
    ready.send("done")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Entry], Path, str,
                                                              str]:
    folder = tmp_path_factory.mktemp("crash")
    pristine = folder / "pristine.dedup"
    build_index(str(pristine), archive_docs())
    # Read back from the file, so that the documents carry the origins the command line
    # stores ("batch.jsonl:17") and both kinds of rounds share one complete state.
    jsonl = write_jsonl(folder / "batch.jsonl", _batch())
    batch = read_corpus([str(jsonl)]).documents
    with open_index(str(pristine)) as index:
        config = index.config
    entries = [item.entry for item in sign_documents(batch, config) if isinstance(item, Signed)]
    assert len(entries) == 200
    complete = folder / "complete.dedup"
    shutil.copy(pristine, complete)
    with SQLiteIndex(str(complete), merge_min_documents=50) as index:
        index.add(entries)
    return pristine, entries, jsonl, logical_state(pristine)[1], logical_state(complete)[1]


def _fresh_copy(pristine: Path, work: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        target = Path(f"{work}{suffix}")
        if target.exists():
            target.unlink()
    shutil.copy(pristine, work)


def _verify(work: Path, before: str, after: str, where: str) -> str:
    integrity, digest = logical_state(work)
    assert integrity == "ok", where
    assert digest in (before, after), f"{where}: the index is neither as before nor complete"
    return "before" if digest == before else "after"


def test_killed_adds_leave_the_index_as_before_or_complete(
    setup: tuple[Path, list[Entry], Path, str, str], tmp_path: Path,
) -> None:
    pristine, entries, _, before, after = setup
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dedup.index", "numpy", "sqlite3"])
    work = tmp_path / "work.dedup"

    # How long one complete add takes from "go", to aim the kills inside it.
    _fresh_copy(pristine, work)
    parent, child = context.Pipe()
    process = context.Process(target=_adder, args=(str(work), entries, child))
    process.start()
    assert parent.recv() == "go"
    started = time.perf_counter()
    assert parent.recv() == "done"
    duration = time.perf_counter() - started
    process.join()
    assert _verify(work, before, after, "uninterrupted add") == "after"

    rng = random.Random(SEED)
    outcomes = []
    for round_ in range(ROUNDS):
        _fresh_copy(pristine, work)
        parent, child = context.Pipe()
        process = context.Process(target=_adder, args=(str(work), entries, child))
        process.start()
        assert parent.recv() == "go"
        delay = rng.uniform(0, duration * 1.1)
        time.sleep(delay)
        try:
            process.kill()  # SIGKILL
        except ProcessLookupError:
            pass  # it finished first (forkserver children are reaped by the server)
        process.join()
        wal = Path(f"{work}-wal")
        amid_writes = wal.exists() and wal.stat().st_size > 0
        where = f"round {round_} (seed {SEED}), killed {delay * 1000:.0f} ms into the add"
        outcome = _verify(work, before, after, where)
        outcomes.append(f"{outcome}, wal written" if amid_writes else outcome)
    # Many kills landed amid the write: uncommitted pages in the WAL, and the index as before.
    assert outcomes.count("before, wal written") >= ROUNDS // 4, outcomes

    # A killed index is still a working index: the batch can be added after all.
    with SQLiteIndex(str(work)) as index:
        if outcomes[-1].startswith("before"):
            index.add(entries)
        assert check(index, [Document("copy", ARTICLES[3])]).pairs
    assert logical_state(work)[0] == "ok"


def test_killed_command_line_adds_leave_the_index_as_before_or_complete(
    setup: tuple[Path, list[Entry], Path, str, str], tmp_path: Path,
) -> None:
    pristine, _, jsonl, before, after = setup
    work = tmp_path / "work.dedup"
    command = [sys.executable, "-m", "dedup", "index", "add", str(jsonl), "-i", str(work)]
    _fresh_copy(pristine, work)
    started = time.perf_counter()
    assert subprocess.run(command, cwd=ROOT, capture_output=True, check=False).returncode == 0
    duration = time.perf_counter() - started
    assert _verify(work, before, after, "uninterrupted command") == "after"

    rng = random.Random(SEED + 1)
    for round_ in range(CLI_ROUNDS):
        _fresh_copy(pristine, work)
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        # From start-up to the end of the write, leaning towards the end where writing is.
        delay = duration * rng.uniform(0.3, 1.05)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        _verify(work, before, after, f"command round {round_} (seed {SEED}), killed after "
                                     f"{delay * 1000:.0f} ms")
