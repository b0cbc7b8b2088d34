"""dedup check: a batch against an index finds exactly what a scan of both would, and fails,
reports and adds as the policy says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup.check
from dedup import Config, Document
from dedup.check import CheckResult, candidate_pairs, check, scan_is_cheaper, to_text
from dedup.cli import cli
from dedup.config import BoilerplateConfig, LSHConfig
from dedup.index import (
    AlreadyIndexed,
    Index,
    Session,
    SQLiteIndex,
    build_index,
    open_index,
)
from dedup.junit import to_junit

from .conftest import ROOT
from .index_helpers import (
    STOCK,
    archive_docs,
    batch_docs,
    check_pairs,
    run,
    run_process,
    scan_pairs,
    write_jsonl,
)

CONFIGS = {
    "defaults": Config(),
    # Buckets over two documents keep only their first member's pairs: exercises that rule.
    "small-buckets": Config(lsh=LSHConfig(max_bucket=2)),
    # More candidates, and boilerplate judged from fewer carriers and samples.
    "loose": Config(lsh=LSHConfig(min_collisions=3),
                    boilerplate=BoilerplateConfig(min_docs=3, sample_docs=3)),
}


def forced(method: str) -> mock._patch[object]:
    """Find a check's candidates by ``method`` (lookup or scan) whatever the sizes."""
    return mock.patch.object(dedup.check, "scan_is_cheaper",
                             lambda batch, archive: method == "scan")


@pytest.fixture(params=["lookup", "scan"])
def method(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test that takes it runs with the candidates looked up, then scanned."""
    with forced(request.param):
        yield request.param


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Index]:
    path = str(tmp_path / "archive.dedup")
    build_index(path, archive_docs())
    with open_index(path) as index:
        yield index


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_check_finds_exactly_what_scan_of_archive_and_batch_finds(tmp_path: Path, name: str,
                                                                  method: str) -> None:
    config = CONFIGS[name]
    archive, batch = archive_docs(), batch_docs()
    build_index(str(tmp_path / "a.dedup"), archive, config)
    with open_index(str(tmp_path / "a.dedup")) as index:
        result = check(index, batch)
    expected = scan_pairs(archive, batch, config)
    assert check_pairs(result) == expected
    relations = {(p["a"], p["b"]): p["relation"] for p in expected}
    assert relations[("arch/03", "batch/copy-03")] == "duplicate"
    assert relations[("batch/self-a", "batch/self-b")] == "duplicate"  # the batch copies itself
    assert relations[("arch/12-seed001", "batch/rewrite-002")] == "rewrite"
    by_document = result.findings_by_document()
    assert sorted(by_document) == sorted({x for m in result.pairs for x in (m.a, m.b)})
    assert all(by_document.get(d.id, []) == result.findings_of(d.id) for d in batch)


def test_boilerplate_is_judged_over_archive_and_batch_together(tmp_path: Path,
                                                                method: str) -> None:
    # STOCK has three archived carriers and one in the batch. With min_docs=4 it is
    # boilerplate only when both are counted, and then batch/stock shares nothing with
    # arch/06; with min_docs=5 it is not, and the shared stock line is a partial overlap.
    archive, batch = archive_docs(), batch_docs()
    pair = ("arch/06", "batch/stock")
    for min_docs, expect_pair in ((4, False), (5, True)):
        config = Config(lsh=LSHConfig(min_collisions=3),
                        boilerplate=BoilerplateConfig(min_docs=min_docs))
        path = str(tmp_path / f"a{min_docs}.dedup")
        build_index(path, archive, config)
        with open_index(path) as index:
            result = check(index, batch)
        assert check_pairs(result) == scan_pairs(archive, batch, config)
        assert (pair in {(m.a, m.b) for m in result.pairs}) is expect_pair
    assert sum(STOCK in d.text for d in archive) == 3


@settings(deadline=None, max_examples=12)
@given(in_batch=st.lists(st.booleans(), min_size=23, max_size=23),
       config=st.sampled_from(sorted(CONFIGS)))
def test_any_split_into_archive_and_batch_gives_scans_findings(in_batch: list[bool],
                                                                config: str) -> None:
    pool = [d for d in archive_docs() + batch_docs() if d.id != "arch/00" or d.source]
    assert len(pool) == len(in_batch)
    archive = [d for d, b in zip(pool, in_batch) if not b]
    batch = [d for d, b in zip(pool, in_batch) if b]
    expected = scan_pairs(archive, batch, CONFIGS[config])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "a.dedup")
        build_index(path, archive, CONFIGS[config])
        with open_index(path) as index:
            for method in ("lookup", "scan"):
                with forced(method):
                    assert check_pairs(check(index, batch)) == expected, method


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_looking_up_and_scanning_give_the_same_candidates(tmp_path: Path, name: str) -> None:
    # After adds (the recent band table) and removals, both ways see the same index.
    from dedup.index import Signed, add_documents, sign_documents

    config = CONFIGS[name]
    archive, batch = archive_docs(), batch_docs()
    path = str(tmp_path / "a.dedup")
    build_index(path, archive[:12], config)
    signed = [s for s in sign_documents(batch, config) if isinstance(s, Signed)]
    signatures = np.stack([s.entry.signature for s in signed])
    ids = [s.entry.doc.id for s in signed]
    with open_index(path) as index:
        add_documents(index, archive[12:])
        index.remove([archive[5].id])
        found = {}
        for method in ("lookup", "scan"):
            def pairs(session: Session, method: str = method) -> list[tuple[int, int, bool]]:
                return candidate_pairs(session, signatures, ids, config, method=method)
            found[method] = index.transact(pairs, write=False)
    assert found["lookup"] == found["scan"]
    assert any(archived for _, _, archived in found["scan"])
    assert any(not archived for _, _, archived in found["scan"])
    with pytest.raises(ValueError, match="unknown method"):
        candidate_pairs(mock.Mock(), signatures, ids, config, method="guess")


def test_a_small_batch_against_a_large_archive_is_looked_up() -> None:
    # The choice follows measured costs (benchmarks/README.md, "Index and check").
    assert not scan_is_cheaper(100, 90_000) and not scan_is_cheaper(1_000, 1_000_000)
    assert scan_is_cheaper(10_000, 90_000) and scan_is_cheaper(1_000, 9_000)
    assert scan_is_cheaper(12, 0)


def test_check_against_an_empty_index_finds_copies_inside_the_batch(tmp_path: Path,
                                                                      method: str) -> None:
    path = str(tmp_path / "empty.dedup")
    build_index(path, [])
    with open_index(path) as index:
        result = check(index, batch_docs())
    assert [(m.a, m.b, m.relation) for m in result.pairs] == [
        ("batch/self-a", "batch/self-b", "duplicate")]
    assert not result.passed and result.indexed == frozenset()


def test_documents_already_indexed_are_reported_not_compared(archive: Index) -> None:
    changed = Document("arch/01", "Ein ganz anderer Text mit genug Wörtern, um ihn zu prüfen.")
    result = check(archive, [*batch_docs(), changed])
    assert [(d.id, d.same_text) for d in result.already_indexed] == [
        ("arch/00", True), ("arch/01", False)]
    assert "arch/00" not in result.batch
    assert all("arch/00" not in (m.a, m.b) for m in result.pairs)
    text = to_text(result)
    assert "already indexed (not compared):\n  arch/00\n  arch/01  (indexed with a different " \
           "text)" in text


def test_partial_overlaps_are_reported_but_fail_only_when_asked(archive: Index) -> None:
    roundup = [d for d in batch_docs() if d.id == "batch/roundup"]
    result = check(archive, roundup)
    assert [m.relation for m in result.pairs] == ["partial"] and result.passed
    assert not check(archive, roundup, fail_on={"partial"}).passed


def test_contains_in_the_policy_also_fails_contained(archive: Index) -> None:
    trim = [d for d in batch_docs() if d.id == "batch/trim-04"]
    result = check(archive, trim, fail_on={"contains"})
    assert [m.relation for m in result.pairs] == ["contains"]  # arch/04 contains the trim
    assert not result.passed


def test_add_only_when_the_check_passes(archive: Index) -> None:
    clean = [Document("new/clean", " ".join(ARTICLE_WORDS))]
    failing = [d for d in batch_docs() if d.id == "batch/copy-03"]
    before = archive.info().documents
    result = check(archive, failing, add="pass")
    assert not result.passed and result.added == []
    assert archive.info().documents == before
    result = check(archive, clean, add="pass")
    assert result.passed and result.added == ["new/clean"]
    assert archive.info().documents == before + 1
    result = check(archive, failing, add="always")
    assert not result.passed and result.added == ["batch/copy-03"]
    assert archive.info().documents == before + 2
    # Now in the index: the same document again is already indexed, not its own duplicate.
    again = check(archive, failing)
    assert again.pairs == [] and [d.id for d in again.already_indexed] == ["batch/copy-03"]


ARTICLE_WORDS = ["Die", "Gemeinde", "am", "See", "hat", "am", "Dienstag", "beschlossen", "die", "alte", "Fähre", "durch", "ein", "elektrisch", "betriebenes", "Boot", "zu", "ersetzen", "das", "ab", "dem", "kommenden", "Frühjahr", "im", "Stundentakt", "zwischen", "den", "beiden", "Ufern", "verkehren", "soll"]


def test_adding_ids_already_indexed_is_an_error_unless_skipped(archive: Index) -> None:
    batch = batch_docs()
    before = archive.info().documents
    with pytest.raises(AlreadyIndexed, match=r"1 id already indexed: arch/00; remove them "
                                             r"first \(dedup index remove\) or use "
                                             r"--skip-existing"):
        check(archive, batch, add="always")
    assert archive.info().documents == before
    result = check(archive, batch, add="always", skip_existing=True)
    assert "arch/00" not in result.added and len(result.added) == 8
    assert archive.info().documents == before + 8


def test_check_reads_only_what_its_pairs_need(archive: Index, monkeypatch:
                                              pytest.MonkeyPatch) -> None:
    """Memory stays bounded: documents are fetched for candidates and sampled carriers only."""
    from dedup import index as index_module

    fetched: list[int] = []
    original = index_module._SQLiteSession.documents

    def counting(self: index_module._SQLiteSession, nums: object) -> dict[int, Document]:
        docs = original(self, nums)  # type: ignore[arg-type]
        fetched.extend(docs)
        return docs

    monkeypatch.setattr(index_module._SQLiteSession, "documents", counting)
    batch = [d for d in batch_docs() if d.id == "batch/copy-03"]
    result = check(archive, batch)
    assert result.stats["archived_candidates"] == 1
    assert len(fetched) == 1


# --- reports --------------------------------------------------------------------------------


def _result(archive: Index) -> CheckResult:
    result = check(archive, batch_docs())
    return result


def test_json_report_names_archived_matches_and_failures(archive: Index) -> None:
    from dedup.check import to_json

    data = json.loads(to_json(_result(archive)))
    assert data["passed"] is False
    assert data["fail_on"] == ["contained", "contains", "duplicate", "rewrite"]
    pairs = {(p["a"], p["b"]): p for p in data["pairs"]}
    copy = pairs[("arch/03", "batch/copy-03")]
    assert copy["in_index"] == ["arch/03"] and copy["fails"] is True
    assert pairs[("batch/self-a", "batch/self-b")]["in_index"] == []
    assert pairs[("arch/06", "batch/roundup")]["fails"] is False
    assert data["already_indexed"] == [{"id": "arch/00", "same_text": True}]
    assert data["skipped"] == [{"id": "batch/tiny",
                                "reason": "too short to compare (3 words, need 8)"}]
    assert set(data) >= {"index", "index_documents", "documents", "params", "stats", "added"}


def test_text_report_quotes_the_shared_passages(archive: Index) -> None:
    text = to_text(_result(archive))
    assert text.startswith("FAILED: 10 documents checked against ")
    assert "batch/copy-03\n  FAIL duplicate of archived arch/03 (" in text
    assert "  note shares passages with archived arch/06" in text
    assert "verbatim [" in text


def test_junit_has_one_test_case_per_batch_document(archive: Index) -> None:
    root = ET.fromstring(to_junit(_result(archive)))
    assert root.tag == "testsuites"
    (suite,) = root
    cases = {c.get("name", ""): c for c in suite.iter("testcase")}
    assert sorted(cases) == sorted(d.id for d in batch_docs())
    assert suite.get("tests") == "10" and suite.get("failures") == "6"  # both sides of self-a/b
    assert suite.get("skipped") == "2"
    failure = cases["batch/copy-03"].find("failure")
    assert failure is not None and failure.get("type") == "duplicate"
    assert failure.get("message", "").startswith("duplicate of archived arch/03 (")
    assert "verbatim [" in (failure.text or "")
    assert cases["batch/stock"].find("failure") is None
    roundup = cases["batch/roundup"]
    assert roundup.find("failure") is None
    assert "shares passages with archived arch/06" in (roundup.findtext("system-out") or "")
    skipped = cases["arch/00"].find("skipped")
    assert skipped is not None and skipped.get("message") == "already indexed"
    tiny = cases["batch/tiny"].find("skipped")
    assert tiny is not None and (tiny.get("message") or "").startswith("too short")


def test_junit_drops_characters_xml_cannot_hold(tmp_path: Path) -> None:
    path = str(tmp_path / "a.dedup")
    story = "\n\n".join(batch_docs()[0].text.split("\n\n")[1:-1])
    build_index(path, [Document("orig", story)])
    with open_index(path) as index:
        result = check(index, [Document("copy\x07", story + "\x0b")])
    ET.fromstring(to_junit(result))  # parses


# --- command line ---------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    index = tmp_path / "archive.dedup"
    build_index(str(index), archive_docs())
    batch = write_jsonl(tmp_path / "batch.jsonl", batch_docs())
    return index, batch


def test_cli_check_fails_with_exit_1_and_names_archived_articles(files: tuple[Path, Path]) -> None:
    index, batch = files
    result = run_process(["check", str(batch), "--index", str(index)])  # the real command
    assert result.returncode == 1, result.stderr
    assert "FAIL duplicate of archived arch/03" in result.stdout
    assert result.stderr == ""


def test_cli_check_passes_with_exit_0(files: tuple[Path, Path], tmp_path: Path) -> None:
    index, _ = files
    clean = write_jsonl(tmp_path / "clean.jsonl", [Document("new/1", " ".join(ARTICLE_WORDS))])
    result = run(["check", str(clean), "--index", str(index)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PASSED: 1 document checked against ")
    roundup = write_jsonl(tmp_path / "roundup.jsonl",
                          [d for d in batch_docs() if d.id == "batch/roundup"])
    assert run(["check", str(roundup), "--index", str(index)]).returncode == 0
    assert run(["check", str(roundup), "--index", str(index),
                "--fail-on", "partial"]).returncode == 1
    batch = files[1]
    assert run(["check", str(batch), "--index", str(index), "--fail-on", "none"]).returncode == 0


def test_cli_check_junit_and_json_to_files(files: tuple[Path, Path], tmp_path: Path) -> None:
    index, batch = files
    out = tmp_path / "dedup.xml"
    result = run(["check", str(batch), "-i", str(index), "--format", "junit", "-o", str(out)])
    assert result.returncode == 1 and result.stdout == ""
    root = ET.parse(out).getroot()
    assert root.get("failures") == "6"
    out_json = tmp_path / "dedup.json"
    run(["check", str(batch), "-i", str(index), "--format", "json", "-o", str(out_json)])
    assert json.loads(out_json.read_text("utf-8"))["passed"] is False


def test_cli_check_add_and_add_always(files: tuple[Path, Path], tmp_path: Path) -> None:
    index, batch = files
    result = run(["check", str(batch), "-i", str(index), "--add"])
    assert result.returncode == 3
    assert result.stderr == (f"Error: {index}: 1 id already indexed: arch/00; remove them "
                             "first (dedup index remove) or use --skip-existing\n")
    result = run(["check", str(batch), "-i", str(index), "--add", "--skip-existing"])
    assert result.returncode == 1
    assert "added nothing to" in result.stdout
    result = run(["check", str(batch), "-i", str(index), "--add-always", "--skip-existing"])
    assert result.returncode == 1
    assert f"added 8 documents to {index}" in result.stdout
    with open_index(str(index)) as opened:
        assert opened.info().documents == 13 + 8


def test_cli_check_usage_errors(files: tuple[Path, Path]) -> None:
    index, batch = files
    result = run(["check", str(batch), "-i", str(index), "--add", "--add-always"])
    assert result.returncode == 2
    assert "Error: give --add or --add-always, not both" in result.stderr
    result = run(["check", str(batch)], env={"DEDUP_INDEX": ""})
    assert result.returncode == 2 and "Missing option '-i' / '--index'" in result.stderr
    result = run(["check", str(batch), "-i", str(index), "--fail-on", "copy"])
    assert result.returncode == 2 and "unknown relation 'copy'" in result.stderr


def test_cli_check_takes_the_index_from_the_environment(files: tuple[Path, Path]) -> None:
    index, batch = files
    result = run(["check", str(batch), "--format", "json"], env={"DEDUP_INDEX": str(index)})
    assert result.returncode == 1
    assert json.loads(result.stdout)["index"] == str(index)


def test_index_and_check_help_have_examples(runner: CliRunner) -> None:
    for args in (["check"], ["index"], ["index", "build"], ["index", "add"],
                 ["index", "remove"], ["index", "info"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, args
        assert "Example" in result.output, args
        assert "Exit codes" in result.output, args


def test_sqlite_index_is_the_default_backend(files: tuple[Path, Path]) -> None:
    with open_index(str(files[0])) as index:
        assert isinstance(index, SQLiteIndex)


def test_worker_processes_give_the_same_findings(tmp_path: Path) -> None:
    from dedup.engines.local import ProcessEngine

    engine = ProcessEngine(2, chunk_size=2, min_items=1)  # a pool even for a few items
    config = CONFIGS["loose"]
    archive, batch = archive_docs(), batch_docs()
    path = str(tmp_path / "a.dedup")
    build_index(path, archive, config, engine=engine)
    with open_index(path) as index:
        result = check(index, batch, engine=engine)
    assert check_pairs(result) == scan_pairs(archive, batch, config)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_archived_candidates_in_chunks_give_the_same_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
) -> None:
    from dedup import check as check_module

    monkeypatch.setattr(check_module, "ARCHIVED_CHUNK", 1)  # one archived document at a time
    archive, batch = archive_docs(), batch_docs()
    path = str(tmp_path / "a.dedup")
    build_index(path, archive, CONFIGS[name])
    with open_index(path) as index:
        assert check_pairs(check(index, batch)) == scan_pairs(archive, batch, CONFIGS[name])


def test_readme_ci_example_is_real_output(tmp_path: Path) -> None:
    """The transcript in README's "CI check" section is what those commands print."""
    import re
    import shutil

    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## CI check"):]
    transcript = section[section.index("```\n") + 4 : section.index("\n```", section.index("```\n") + 4)]
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    steps = re.split(r"^\$ ", transcript, flags=re.MULTILINE)[1:]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for step in steps:
        command, _, expected = step.partition("\n")
        script = f'dedup() {{ "{sys.executable}" -m dedup "$@"; }}\n{command}'
        if command == "echo $?":
            continue  # checked with the command before it
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, env=env, check=False)
        assert done.stdout == expected, command
    assert transcript.endswith("$ echo $?\n1") and done.returncode == 1


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_ids_added_out_of_order_give_the_same_findings(tmp_path: Path, name: str,
                                                        method: str) -> None:
    """Handles no longer increase with ids, so first members of large buckets are found by
    comparing ids instead of handles."""
    from dedup.index import add_documents

    config = CONFIGS[name]
    archive, batch = archive_docs(), batch_docs()
    later = archive[::3]  # added afterwards: their ids sort among the others'
    path = str(tmp_path / "a.dedup")
    build_index(path, [d for d in archive if d not in later], config)
    with open_index(path) as index:
        assert index.transact(lambda s: s.id_ordered(), write=False)
        add_documents(index, later)
        assert not index.transact(lambda s: s.id_ordered(), write=False)
        assert check_pairs(check(index, batch)) == scan_pairs(archive, batch, config)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_batch_ids_sorting_first_lead_large_buckets(tmp_path: Path, name: str,
                                                     method: str) -> None:
    """Batch documents whose ids sort before the archive's are the first members of large
    buckets, which then pair them with every archived member (as a scan does)."""
    from dataclasses import replace

    config = CONFIGS[name]
    archive = archive_docs()
    batch = [replace(d, id="0/" + d.id) for d in batch_docs()]
    path = str(tmp_path / "a.dedup")
    build_index(path, archive, config)
    with open_index(path) as index:
        result = check(index, batch)
    assert check_pairs(result) == scan_pairs(archive, batch, config)
    assert ("0/arch/00", "arch/00", "duplicate") in {(m.a, m.b, m.relation)
                                                    for m in result.pairs}


def test_an_empty_batch_passes(files: tuple[Path, Path], tmp_path: Path) -> None:
    index, _ = files
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(["check", str(empty), "-i", str(index), "--add"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PASSED: 0 documents checked against ")
    short = write_jsonl(tmp_path / "short.jsonl", [Document("s1", "Viel zu kurz.")])
    result = run(["check", str(short), "-i", str(index), "--format", "json"])
    data = json.loads(result.stdout)
    assert result.returncode == 0 and data["passed"] is True and data["pairs"] == []
    assert data["skipped"] == [{"id": "s1", "reason": "too short to compare (3 words, need 8)"}]


def test_a_damaged_signature_is_one_line_when_scanning(tmp_path: Path) -> None:
    import sqlite3

    from dedup.index import IndexStoreError

    path = str(tmp_path / "a.dedup")
    build_index(path, archive_docs())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE doc_data SET signature = x'0102' WHERE num = 3")
    db.close()
    with open_index(path) as index, forced("scan"), pytest.raises(
            IndexStoreError, match=r"a\.dedup: index is damaged \(a signature is not 256 "
                                   r"values\); rebuild it"):
        check(index, batch_docs())
