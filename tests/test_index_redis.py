"""The Redis backend against a real redis-server: same findings as SQLite, atomic adds, and
several workers sharing one index.

The server is started on 127.0.0.1 on a free port for this session (no persistence) and
stopped afterwards. Without redis-server the tests fail: run scripts/install-test-deps.sh.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import redis

from dedup import Config, Document
from dedup.check import check
from dedup.index import (
    AlreadyIndexed,
    Entry,
    Index,
    IndexStoreError,
    SCHEMA_VERSION,
    ParameterMismatch,
    Session,
    Signed,
    add_documents,
    band_keys,
    build_index,
    create_index,
    open_index,
    sign_documents,
)
from dedup.index_redis import SHARDS, RedisIndex

from .conftest import ROOT
from .corpus_text import ARTICLES, paragraphs
from .index_helpers import (
    archive_docs,
    batch_docs,
    check_pairs,
    run,
    scan_pairs,
    write_jsonl,
)
from .test_check import CONFIGS, forced


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed; run scripts/install-test-deps.sh (as root) "
                    "to install it", pytrace=False)
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    log = folder / "redis.log"
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder), "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = log.read_text() if log.exists() else ""
                    pytest.fail(f"redis-server did not start: {err}", pytrace=False)
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def url(redis_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh prefix per test."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[-60:]
    return f"{redis_server}?prefix=t-{name}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_findings_as_sqlite_and_scan(url: str, tmp_path: Path, name: str) -> None:
    config = CONFIGS[name]
    archive, batch = archive_docs(), batch_docs()
    build_index(url, archive, config)
    build_index(str(tmp_path / "a.dedup"), archive, config)
    with open_index(url) as shared, open_index(str(tmp_path / "a.dedup")) as local:
        assert isinstance(shared, RedisIndex)
        from_redis, from_sqlite = check(shared, batch), check(local, batch)
    assert check_pairs(from_redis) == check_pairs(from_sqlite) == scan_pairs(archive, batch,
                                                                             config)
    assert from_redis.already_indexed == from_sqlite.already_indexed
    assert from_redis.indexed == from_sqlite.indexed


def test_a_large_batch_scans_the_signatures_redis_holds(url: str, tmp_path: Path) -> None:
    # A check may read every archived signature and search as a scan does instead of
    # looking its buckets up: from Redis as from SQLite, after adds and a removal, the same
    # signatures and the same findings either way.
    archive, batch = archive_docs(), batch_docs()
    local = str(tmp_path / "a.dedup")
    for location in (url, local):
        build_index(location, archive[:8])
        with open_index(location) as index:
            add_documents(index, archive[8:])
            index.remove(["arch/05"])
    with open_index(url) as shared, open_index(local) as sqlite:
        held = [_signatures(index) for index in (shared, sqlite)]
        by_id = [dict(zip(ids, matrix.tolist())) for _, ids, matrix in held]
        assert by_id[0] == by_id[1]
        handles, ids, _ = held[0]
        assert "arch/05" not in ids and len(ids) == 12
        assert handles.tolist() == sorted(handles.tolist())
        for method in ("lookup", "scan"):
            with forced(method):
                assert check_pairs(check(shared, batch)) == check_pairs(check(sqlite, batch))


def _signatures(index: Index) -> tuple[np.ndarray, list[str], np.ndarray]:
    held = index.transact(lambda s: s.signatures(), write=False)
    assert held is not None
    return held


def test_signatures_include_the_sessions_own_writes(url: str) -> None:
    archive = archive_docs()
    build_index(url, archive[:6])
    entries = [s.entry for s in sign_documents(archive[6:9], Config()) if isinstance(s, Signed)]

    def held_ids(session: Session) -> list[str]:
        held = session.signatures()
        assert held is not None
        return held[1]

    def add_then_read(session: Session) -> tuple[list[str], list[str]]:
        session.add(entries)
        added = held_ids(session)
        session.remove([archive[0].id])
        return added, held_ids(session)

    with open_index(url) as index:
        added, removed = index.transact(add_then_read, write=True)
    ids = [e.doc.id for e in entries]
    assert set(ids) <= set(added) and archive[0].id in added
    assert set(ids) <= set(removed) and archive[0].id not in removed


def test_a_damaged_redis_signature_is_one_line_when_scanning(url: str) -> None:
    build_index(url, archive_docs())
    client = redis.Redis.from_url(url.split("?")[0])
    client.hset(f"{url.split('=')[-1]}:sig", "3", b"\x01\x02")
    client.close()
    with open_index(url) as index, forced("scan"), pytest.raises(
            IndexStoreError, match=r"index is damaged \(a signature is not 256 values\); "
                                   r"rebuild it"):
        check(index, batch_docs())


def test_ids_added_out_of_order_same_findings(url: str) -> None:
    config = CONFIGS["small-buckets"]
    archive, batch = archive_docs(), batch_docs()
    later = archive[::3]
    build_index(url, [d for d in archive if d not in later], config)
    with open_index(url) as index:
        assert index.transact(lambda s: s.id_ordered(), write=False)
        add_documents(index, later)
        assert not index.transact(lambda s: s.id_ordered(), write=False)
        assert check_pairs(check(index, batch)) == scan_pairs(archive, batch, config)


def test_add_remove_info_and_texts(url: str) -> None:
    archive = archive_docs()
    build_index(url, archive[:5])
    with open_index(url) as index:
        info = index.info()
        assert (info.documents, info.backend, info.extra) == (5, "redis",
                                                              {"prefix": url.split("=")[-1]})
        assert info.params == Config().to_dict() and info.size_bytes > 0
        add_documents(index, archive[5:])
        assert index.info().documents == 13
        with pytest.raises(AlreadyIndexed, match="1 id already indexed: arch/03"):
            add_documents(index, [Document("arch/03", ARTICLES[3])])
        copy = [d for d in batch_docs() if d.id == "batch/copy-03"]
        assert [m.a for m in check(index, copy).pairs] == ["arch/03"]
        index.remove(["arch/03"])
        assert check(index, copy).pairs == [] and index.info().documents == 12
        stored = index.transact(lambda s: s.documents_by_id([d.id for d in archive]),
                                write=False)
    originals = {d.id: d for d in archive}
    assert sorted(stored) == sorted(set(originals) - {"arch/03", "arch/short"})
    for doc_id, doc in stored.items():
        assert (doc.text, doc.meta()) == (originals[doc_id].text, originals[doc_id].meta())
    _assert_consistent(url)


def test_a_document_without_sentence_keys_is_stored_and_removed(url: str) -> None:
    # Every sentence too short to be a boilerplate candidate: its sentence keys are empty,
    # which must be stored as empty, not read back as missing (a damaged index).
    terse = Document("terse", "Ja. Nein. Vielleicht doch. Morgen früh. Sicher nicht. Oder "
                              "doch. Gut so. Ende gut.")
    build_index(url, [terse, *archive_docs()[:3]])
    with open_index(url) as index:
        assert index.info().documents == 4
        index.remove(["terse"])
        assert index.info().documents == 3
    _assert_consistent(url)


def test_command_line_with_a_redis_url(url: str, tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "archive.jsonl", archive_docs())
    assert run(["index", "build", str(corpus), "-o", url]).stdout == (
        f"{url}: indexed 13 documents (1 skipped: empty or too short to compare)\n")
    batch = write_jsonl(tmp_path / "batch.jsonl", batch_docs())
    result = run(["check", str(batch), "-i", url, "--format", "json"])
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["index"] == url
    assert ("arch/03", "batch/copy-03") in {(p["a"], p["b"]) for p in data["pairs"]}
    info = json.loads(run(["index", "info", "-i", url, "--format", "json"]).stdout)
    assert info["documents"] == 13 and info["backend"] == "redis"
    result = run(["index", "build", str(corpus), "-o", url])
    assert (result.returncode, result.stderr) == (
        3, f"Error: {url}: an index with prefix '{url.split('=')[-1]}' already exists; add to "
           "it with dedup index add, or replace it with --force\n")


def test_errors_are_one_line(url: str, redis_server: str) -> None:
    missing = f"{redis_server}?prefix=nothing-here"
    result = run(["index", "info", "-i", missing])
    assert (result.returncode, result.stderr) == (
        3, f"Error: {missing}: no dedup index with prefix 'nothing-here' there; build one with "
           f"dedup index build CORPUS -o '{missing}'\n")
    refused = f"redis://127.0.0.1:{_free_port()}/0?prefix=x"
    result = run(["index", "info", "-i", refused])
    assert result.returncode == 3 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {refused}: cannot connect to Redis (")
    assert result.stderr.endswith("); is redis-server running there?\n")
    bad = f"{redis_server}?prefix=a:b"
    result = run(["index", "info", "-i", bad])
    assert result.stderr == (f"Error: {bad}: prefix 'a:b' may hold only letters, digits, '_', "
                             "'.' and '-'\n")


def test_parameter_mismatch_and_schema_version(url: str) -> None:
    build_index(url, archive_docs()[:3], Config())
    from dedup.config import ShingleConfig

    with open_index(url) as index, pytest.raises(
            ParameterMismatch, match=r"built with shingle.size=3, this run uses 5; rebuild the "
                                     r"index or use its"):
        check(index, batch_docs(), config=Config(shingle=ShingleConfig(size=5)))
    client = redis.Redis.from_url(url.split("?")[0])
    prefix = url.split("=")[-1]
    client.hset(f"{prefix}:meta", "schema_version", "99")
    with pytest.raises(IndexStoreError, match=r"index schema version 99 is newer than this "
                                              rf"dedup supports \({SCHEMA_VERSION}\); upgrade "
                                              r"dedup$"):
        open_index(url)
    client.hset(f"{prefix}:meta", mapping={"schema_version": str(SCHEMA_VERSION),
                                           "state": "building"})
    with pytest.raises(IndexStoreError, match=r"the build of this index did not finish; build "
                                              r"it again with --force$"):
        open_index(url)
    client.close()


# --- several workers --------------------------------------------------------------------------


def _worker_docs(worker: int, count: int) -> list[Document]:
    rng = random.Random(worker)
    docs = []
    for n in range(count):
        parts = paragraphs(ARTICLES[(worker * 5 + n) % len(ARTICLES)])
        rng.shuffle(parts)
        docs.append(Document(f"w{worker}/{n:02d}", "\n\n".join(parts) + f"\n\nNotiz {worker}-{n}."))
    return docs


def test_several_workers_adding_at_once_all_land(url: str, tmp_path: Path) -> None:
    create_index(url, Config()).close()
    workers = 4
    files = [write_jsonl(tmp_path / f"w{w}.jsonl", _worker_docs(w, 24)) for w in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", "index", "add", str(f), "-i", url],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    with open_index(url) as index:
        assert index.info().documents == workers * 24
    _assert_consistent(url)


def test_concurrent_checks_with_add_see_each_other(url: str, tmp_path: Path) -> None:
    build_index(url, archive_docs())
    files = [write_jsonl(tmp_path / f"w{n}.jsonl", [Document(f"worker{n}/story", ARTICLES[11])])
             for n in (1, 2, 3)]
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", "check", str(f), "-i", url,
                               "--add"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    # Exactly one worker's copy is first; the others find it (and each other) and fail.
    assert sorted(p.returncode for p in procs) == [0, 1, 1], outputs
    with open_index(url) as index:
        assert index.info().documents == 14


def _adder(url: str, entries: list[Entry], ready: Connection) -> None:
    with open_index(url) as index:
        ready.send("go")
        index.add(entries)
    ready.send("done")


def _state(url: str) -> str:
    client = redis.Redis.from_url(url.split("?")[0])
    prefix = url.split("=")[-1]
    digest = hashlib.sha256()
    index = RedisIndex(url)
    for key in index.all_keys():
        values = client.hgetall(key)
        if key.endswith(":meta"):
            values.pop(b"updated", None)
        digest.update(repr(sorted(values.items())).encode())
    index.close()
    client.close()
    assert prefix
    return digest.hexdigest()


def test_a_killed_add_is_all_or_nothing(url: str) -> None:
    build_index(url, archive_docs())
    with open_index(url) as index:
        config = index.config
    batch = _worker_docs(9, 60)
    entries = [i.entry for i in sign_documents(batch, config) if isinstance(i, Signed)]
    before = _state(url)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dedup.index_redis", "numpy", "redis"])
    parent, child = context.Pipe()
    process = context.Process(target=_adder, args=(url, entries, child))
    process.start()
    assert parent.recv() == "go"
    started = time.perf_counter()
    assert parent.recv() == "done"
    duration = time.perf_counter() - started
    process.join()
    after = _state(url)
    with open_index(url) as index:
        index.remove([e.doc.id for e in entries])
    rng = random.Random(3)
    seen = set()
    for round_ in range(10):
        # Undo a complete add from the previous round, so every round starts from `before`.
        with open_index(url) as index:
            held = index.transact(lambda s: s.existing([e.doc.id for e in entries]), write=False)
            if held:
                index.remove(sorted(held))
        parent, child = context.Pipe()
        process = context.Process(target=_adder, args=(url, entries, child))
        process.start()
        assert parent.recv() == "go"
        time.sleep(rng.uniform(0, duration * 1.1))
        try:
            process.kill()
        except ProcessLookupError:
            pass
        process.join()
        with open_index(url) as index:
            held = index.transact(lambda s: s.existing([e.doc.id for e in entries]), write=False)
        assert len(held) in (0, len(entries)), f"round {round_}: {len(held)} of {len(entries)}"
        seen.add(len(held))
        _assert_consistent(url)
    assert 0 in seen
    assert before != after


def _hash(client: redis.Redis, key: str) -> dict[bytes, bytes]:
    return cast("dict[bytes, bytes]", client.hgetall(key))


def _assert_consistent(url: str) -> None:
    """Every document is in each of its band buckets and sentence entries exactly once, and
    no bucket or sentence entry names a document that is not there."""
    client = redis.Redis.from_url(url.split("?")[0])
    prefix = url.split("=")[-1]
    ids = {int(v): k.decode() for k, v in _hash(client, f"{prefix}:ids").items()}
    docs = {int(k): v.decode() for k, v in _hash(client, f"{prefix}:doc").items()}
    assert ids == docs
    for kind, column, dtype in (("b", "sig", "<u4"), ("s", "skeys", "<u8")):
        expected: dict[bytes, list[int]] = {}
        for num_raw, packed_keys in _hash(client, f"{prefix}:{column}").items():
            keys = np.frombuffer(packed_keys, dtype=dtype)
            values = band_keys(keys).tolist() if kind == "b" else keys.tolist()
            for key in values:
                expected.setdefault(int(key).to_bytes(8, "little"), []).append(int(num_raw))
        found: dict[bytes, list[int]] = {}
        for shard in range(SHARDS):
            for field, packed in _hash(client, f"{prefix}:{kind}:{shard}").items():
                found[field] = np.frombuffer(packed, dtype="<u4").tolist()
        assert {k: sorted(v) for k, v in found.items()} == {k: sorted(v) for k, v in
                                                            expected.items()}, kind
        assert {int(k) for k in _hash(client, f"{prefix}:{column}")} == set(docs)
    client.close()
