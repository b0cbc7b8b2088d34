"""Every engine gives the report of the serial, in-process run."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks.perf.corpus import generate
from dedup import Document, candidates, scan
from dedup.cli import cli
from dedup.engines import (
    CHUNKS_PER_WORKER,
    POOL_MIN_SECONDS,
    Rows,
    SerialEngine,
    chunk_bounds,
    make_engine,
)
from dedup.engines.local import ProcessEngine


@pytest.fixture(scope="module")
def mixed_docs(seed_docs: list[Document]) -> list[Document]:
    generated = [Document(g.id, g.text) for g in generate(300, seed=7, dup_rate=0.3)]
    # A too-short document, so the skipped list crosses the process boundary too.
    return [*seed_docs, *generated, Document("zz-short", "Zu kurz.")]


def test_process_pool_report_is_identical_to_one_process(
        mixed_docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> None:
    # Candidates spilled and found on the pool, as for a large corpus.
    monkeypatch.setattr(candidates, "SPILL_MIN_DOCUMENTS", 0)
    serial = scan(mixed_docs, engine=SerialEngine()).to_dict()
    pooled = scan(mixed_docs, engine=ProcessEngine(2, chunk_size=7, min_items=1)).to_dict()
    assert pooled == serial
    assert serial["pairs"], "the corpus must contain copies for this test to mean anything"


def test_a_scan_learning_boilerplate_aside_is_the_scan_without(
        mixed_docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import pipeline

    monkeypatch.setattr(candidates, "SPILL_MIN_DOCUMENTS", 0)
    monkeypatch.setattr(pipeline, "ASIDE_MIN_DOCUMENTS", 1)
    engine = ProcessEngine(2, chunk_size=7, min_items=1)
    started = []
    real_aside = engine.aside

    def aside(*args: Any) -> Any:
        started.append(args[0].__name__)
        return real_aside(*args)

    monkeypatch.setattr(engine, "aside", aside)
    # A stock line under unrelated leads: boilerplate to learn.
    note = ("Der Volltext dieses auf Agenturmeldungen basierenden Artikels steht aus "
            "rechtlichen Gründen nicht mehr zur Verfügung.")
    leads = [d.text.split(". ")[0] for d in mixed_docs[3:9]]
    docs = [*mixed_docs, *(Document(f"stub{i}", f"{lead}. {note}")
                           for i, lead in enumerate(leads))]
    calls: list[tuple[str, int, int]] = []
    pooled = scan(docs, engine=engine, progress=lambda *call: calls.append(call))
    serial = scan(docs, engine=SerialEngine())
    assert started == ["_learn_boilerplate"]
    assert pooled.to_dict() == serial.to_dict()
    assert serial.stats["boilerplate_words"] > 0, "the corpus must hold boilerplate"
    # Boilerplate is waited for once candidates are found, and said so.
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["signing", "candidates", "boilerplate", "verifying"]
    assert calls[calls.index(("boilerplate", 0, 0)) + 1] == ("boilerplate", 1, 1)


def _fail(message: str) -> None:
    from dedup.errors import InputError

    raise InputError(message)


def test_an_aside_gives_what_its_function_returns_or_raises() -> None:
    import os

    engine = ProcessEngine(2)
    aside = engine.aside(sum, [1, 2, 3])
    assert aside is not None and aside.result() == 6
    aside.close()
    from dedup.errors import InputError

    failing = engine.aside(_fail, "batch.jsonl:3: no field 'text'")
    assert failing is not None
    with pytest.raises(InputError, match="^batch.jsonl:3: no field 'text'$"):
        failing.result()
    failing.close()
    gone = engine.aside(os._exit, 3)
    assert gone is not None
    with pytest.raises(RuntimeError, match="exit code 3"):
        gone.result()
    gone.close()


def test_an_aside_closed_before_its_end_is_ended() -> None:
    aside = ProcessEngine(2).aside(time.sleep, 60)
    assert aside is not None
    began = time.monotonic()
    aside.close()
    assert time.monotonic() - began < 10
    assert not aside._process.is_alive()


def test_progress_reaches_the_total_with_a_pool(seed_docs: list[Document]) -> None:
    calls: list[tuple[str, int, int]] = []
    scan(seed_docs, progress=lambda *a: calls.append(a), engine=ProcessEngine(2, chunk_size=1, min_items=1))
    assert ("signing", len(seed_docs), len(seed_docs)) in calls


def test_make_engine() -> None:
    assert isinstance(make_engine(1), SerialEngine)
    pool = make_engine(2)
    assert isinstance(pool, ProcessEngine)
    assert pool.min_seconds == POOL_MIN_SECONDS  # a small map stays in this process
    with pytest.raises(ValueError, match="at least 1"):
        make_engine(0)


def test_cli_workers_give_the_same_report(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": g.id, "text": g.text}, ensure_ascii=False) + "\n"
                            for g in generate(120, seed=11, dup_rate=0.3)), "utf-8")
    one = runner.invoke(cli, ["scan", str(path), "--format", "json", "-q", "--workers", "1"])
    two = runner.invoke(cli, ["scan", str(path), "--format", "json", "-q", "--workers", "2"])
    assert one.exit_code == two.exit_code == 0, (one.output, two.output)
    assert one.stdout == two.stdout
    bad = runner.invoke(cli, ["scan", str(path), "--workers", "0"])
    assert bad.exit_code == 2


def test_using_engine_sets_the_engine_of_every_scan_inside(seed_docs: list[Document]) -> None:
    from dedup.engines import current_engine, using_engine

    pool = ProcessEngine(2, min_items=1)
    with using_engine(pool):
        assert current_engine() is pool
        pooled = scan(seed_docs).to_dict()
    assert isinstance(current_engine(), SerialEngine)
    assert pooled == scan(seed_docs).to_dict()


def _where(slow_from: int, items: Sequence[int]) -> list[tuple[int, int]]:
    """Each item with the process that ran it; 2 ms an item from ``slow_from`` on."""
    import os

    time.sleep(0.002 * sum(1 for item in items if item >= slow_from))
    return [(item, os.getpid()) for item in items]


def test_a_pool_takes_a_map_only_when_its_work_is_worth_it() -> None:
    import os

    items = list(range(1000))
    done: list[int] = []
    # Quick items throughout: all of them here, progress reported to the end (a bound far
    # above their pace, so that a busy machine pausing this process cannot hand them over).
    quick = ProcessEngine(2, min_items=1, min_seconds=60.0).map(_where, len(items), items,
                                                                done.append)
    assert [item for item, _ in quick] == items
    assert {pid for _, pid in quick} == {os.getpid()}
    assert done[-1] == len(items) and done == sorted(done)
    # Quick at first, slow later (1.4 s here in all): the probe hands the rest to the pool.
    mixed = ProcessEngine(2, min_items=1, min_seconds=0.5).map(_where, 300, items)
    assert [item for item, _ in mixed] == items
    assert {pid for item, pid in mixed if item >= 300} - {os.getpid()}
    # Without min_seconds every map of enough items goes to the pool.
    pooled = ProcessEngine(2, min_items=1).map(_where, len(items), items)
    assert os.getpid() not in {pid for _, pid in pooled}


def test_a_probed_map_is_the_serial_map() -> None:
    engine = ProcessEngine(2, chunk_size=7, min_items=1, min_seconds=1e9)
    items = list(range(500))
    assert engine.map(_fail_on_second, None, items[3:]) == items[3:]
    with pytest.raises(ValueError, match="kaputt"):
        engine.map(_fail_on_second, None, items)


def _fail_on_second(context: None, items: Sequence[int]) -> list[int]:
    if 2 in items:
        raise ValueError("kaputt")
    return list(items)


def test_pool_freezes_the_parents_objects_only_while_it_runs() -> None:
    import gc

    engine = ProcessEngine(2, chunk_size=1, min_items=1)
    assert engine.map(_fail_on_second, None, [0, 1]) == [0, 1]
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError, match="kaputt"):
        engine.map(_fail_on_second, None, [0, 1, 2, 3])
    assert gc.get_freeze_count() == 0


def _fail_first_then_log(log: Path, items: Sequence[int]) -> list[int]:
    """Fails on the chunk holding item 0; notes each other chunk in ``log``, 10 ms each."""
    if 0 in items:
        raise ValueError("kaputt")
    time.sleep(0.01)
    with open(log, "a") as out:
        out.write(f"{list(items)}\n")
    return list(items)


def test_a_failed_chunk_ends_the_pool_without_running_the_rest(tmp_path: Path) -> None:
    import multiprocessing

    log = tmp_path / "ran.log"
    log.touch()
    engine = ProcessEngine(2, chunk_size=1, min_items=1)
    with pytest.raises(ValueError, match="kaputt"):
        engine.map(_fail_first_then_log, log, list(range(300)))
    assert len(log.read_text().splitlines()) < 75  # about 300 chunks; those begun ran
    assert multiprocessing.active_children() == []
    assert engine.map(_fail_first_then_log, log, [1, 2]) == [1, 2]  # the next map runs


class Shipping(SerialEngine):
    """Runs each chunk here as a dask cluster would elsewhere: given only the part of the
    context its map's ``narrow`` names, after a round trip through pickle (so nothing is
    shared by identity). Records what each chunk was sent."""

    def __init__(self, shares_tempdir: bool) -> None:
        super().__init__(chunk_size=5)
        self.shares_tempdir = shares_tempdir
        self.sent: list[tuple[str, int, int]] = []  # function, bytes of the part, of all

    def map(self, fn: Any, context: Any, items: Any, progress: Any = None, *,
            narrow: Any = None) -> list[Any]:
        out: list[Any] = []
        whole = len(pickle.dumps(context))
        for start, end in chunk_bounds(len(items), 2, self.chunk_size):
            chunk = items[start:end]
            part = pickle.dumps(context if narrow is None else narrow(context, chunk))
            self.sent.append((fn.__name__, len(part), whole))
            out.extend(fn(pickle.loads(part), chunk))
            if progress:
                progress(end)
        return out


NOTE = "Der Volltext dieses Artikels steht aus rechtlichen Gründen nicht mehr zur Verfügung."


@pytest.mark.parametrize("shares_tempdir", [True, False])
def test_chunks_given_only_their_part_of_the_context_give_the_same_report(
        mixed_docs: list[Document], shares_tempdir: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(candidates, "SPILL_MIN_DOCUMENTS", 0)  # as for a large corpus
    # Boilerplate in a tenth of the documents, so that judging it is shipped too.
    docs = [Document(d.id, f"{d.text}\n{NOTE}") if k % 10 == 0 else d
            for k, d in enumerate(mixed_docs)]
    serial = scan(docs, engine=SerialEngine()).to_dict()
    engine = Shipping(shares_tempdir)
    assert scan(docs, engine=engine).to_dict() == serial
    assert serial["pairs"] and serial["stats"]["boilerplate_words"] > 0

    sent: dict[str, list[tuple[int, int]]] = {}
    for name, part, whole in engine.sent:
        sent.setdefault(name, []).append((part, whole))
    narrowed = {"_sign_blocks", "_judge_chunk", "_verify_chunk",
                "_spill_groups" if shares_tempdir else "_group_codes",
                *(() if shares_tempdir else ("_stems_chunk",))}
    assert narrowed <= set(sent)
    for name in narrowed:
        # Every chunk gets less than the whole context; together the chunks of signing and
        # of counting bands get about one copy of it (each document, each band once).
        assert all(part < whole for part, whole in sent[name]), name
    for name in ("_sign_blocks", "_spill_groups" if shares_tempdir else "_group_codes"):
        total, whole = sum(p for p, _ in sent[name]), sent[name][0][1]
        assert len(sent[name]) > 4 and total < 1.5 * whole, (name, total, whole)


def test_chunk_bounds() -> None:
    # At least CHUNKS_PER_WORKER chunks a worker, none above the chunk size, all items once.
    for count, workers, size in [(1000, 2, 256), (10, 2, 256), (100_000, 4, 256), (0, 2, 9)]:
        bounds = chunk_bounds(count, workers, size)
        assert [i for s, e in bounds for i in range(s, e)] == list(range(count))
        assert all(0 < e - s <= size for s, e in bounds)
        assert len(bounds) >= min(count, workers * CHUNKS_PER_WORKER)


def test_rows_hold_only_the_rows_asked_for() -> None:
    rows = Rows(["a", "b", "c", "d", "e"], [3, 1, 3])
    assert len(rows) == 5
    assert (rows[1], rows[3], rows[-2]) == ("b", "d", "d")
    assert rows[1:2] == ["b"]
    with pytest.raises(IndexError, match="row 2 is not among the 2 rows"):
        rows[2]
    with pytest.raises(IndexError):
        rows[0:2]


def test_local_engines_keep_freed_memory_where_glibc_allows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    from dedup.engines import memory

    memory.keep_freed_memory.cache_clear()
    calls: list[bool] = []
    real = memory.keep_freed_memory.__wrapped__

    def counted() -> bool:
        calls.append(True)
        return real()

    monkeypatch.setattr(memory, "keep_freed_memory", counted)
    make_engine(1)
    assert calls and real() is (ctypes.util.find_library("c") is not None)
    # Without a C library to ask (another platform), nothing is set and nothing fails.
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert real() is False


def test_small_and_large_corpora_find_the_same_candidates(
        mixed_docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> None:
    # A small corpus finds its candidates in this process, in memory; a large one spills
    # them and finds them on the engine. Either way, the same report.
    engine = ProcessEngine(2, chunk_size=7, min_items=1)
    in_memory = scan(mixed_docs, engine=engine).to_dict()
    monkeypatch.setattr(candidates, "SPILL_MIN_DOCUMENTS", 0)
    assert scan(mixed_docs, engine=engine).to_dict() == in_memory
    assert in_memory["stats"]["candidates"] > 0
