"""Every engine gives the report of the serial, in-process run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.perf.corpus import generate
from dedup import Document, scan
from dedup.cli import cli
from dedup.engines import SerialEngine, make_engine
from dedup.engines.local import ProcessEngine


@pytest.fixture(scope="module")
def mixed_docs(seed_docs: list[Document]) -> list[Document]:
    generated = [Document(g.id, g.text) for g in generate(300, seed=7, dup_rate=0.3)]
    # A too-short document, so the skipped list crosses the process boundary too.
    return [*seed_docs, *generated, Document("zz-short", "Zu kurz.")]


def test_process_pool_report_is_identical_to_one_process(mixed_docs: list[Document]) -> None:
    serial = scan(mixed_docs, engine=SerialEngine()).to_dict()
    pooled = scan(mixed_docs, engine=ProcessEngine(2, chunk_size=7, min_items=1)).to_dict()
    assert pooled == serial
    assert serial["pairs"], "the corpus must contain copies for this test to mean anything"


def test_progress_reaches_the_total_with_a_pool(seed_docs: list[Document]) -> None:
    calls: list[tuple[str, int, int]] = []
    scan(seed_docs, progress=lambda *a: calls.append(a), engine=ProcessEngine(2, chunk_size=1, min_items=1))
    assert ("signing", len(seed_docs), len(seed_docs)) in calls


def test_make_engine() -> None:
    assert isinstance(make_engine(1), SerialEngine)
    assert isinstance(make_engine(2), ProcessEngine)
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


def _fail_on_second(context: None, items: list[int]) -> list[int]:
    if 2 in items:
        raise ValueError("kaputt")
    return items


def test_pool_freezes_the_parents_objects_only_while_it_runs() -> None:
    import gc

    engine = ProcessEngine(2, chunk_size=1, min_items=1)
    assert engine.map(_fail_on_second, None, [0, 1]) == [0, 1]
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError, match="kaputt"):
        engine.map(_fail_on_second, None, [0, 1, 2, 3])
    assert gc.get_freeze_count() == 0
