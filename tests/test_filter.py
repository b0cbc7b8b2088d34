"""dedup filter: the corpus without copies, keep policies, the dropped list, inputs untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import cli
from dedup.cluster import cluster_id
from dedup.filter import Dropped, filter_copies
from dedup.io import read_corpus
from dedup.models import Cluster, Document, Match, Report

from .conftest import SEED_000, SEED_001, SEED_002, SEEDS
from .corpus_text import ARTICLES, paragraphs

# --- the library ------------------------------------------------------------------------------


def _cluster_report() -> tuple[list[Document], Report]:
    """Four documents given in the order d, b, a, x: a, b and d one story, x another.

    a (dated earliest) contains b; d duplicates a and is the longest; b and d are linked
    only through a.
    """
    docs = [
        Document("d", "d" * 300, date="2021-01-03"),
        Document("b", "b" * 100, date="2021-01-02"),
        Document("a", "a" * 200, date="2021-01-01"),
        Document("x", "x" * 200),
    ]
    pairs = [Match("a", "b", "contains", 0.6, 0.5, 1.0), Match("a", "d", "duplicate", 0.9, 0.9, 0.9),
             Match("a", "x", "partial", 0.1, 0.1, 0.1)]
    cluster = Cluster("c1", "a", ("a", "b", "d"))
    return docs, Report(4, {}, [cluster], pairs)


def test_earliest_keeps_the_canonical_member_in_input_order() -> None:
    docs, report = _cluster_report()
    result = filter_copies(docs, report, "earliest")
    assert [d.id for d in result.kept] == ["a", "x"]  # x is only a partial overlap: kept
    assert result.dropped == [Dropped("d", "a", "duplicate", 0.9, "c1"),
                              Dropped("b", "a", "contained", 0.6, "c1")]


def test_longest_keeps_the_longest_and_says_how_the_others_relate() -> None:
    docs, report = _cluster_report()
    result = filter_copies(docs, report, "longest")
    assert [d.id for d in result.kept] == ["d", "x"]
    assert result.dropped == [Dropped("b", "d", "linked", None, "c1"),
                              Dropped("a", "d", "duplicate", 0.9, "c1")]
    assert result.dropped[0].to_dict() == {"id": "b", "kept": "d", "relation": "linked",
                                           "similarity": None, "cluster": "c1"}


def test_first_keeps_the_first_in_the_order_given() -> None:
    docs, report = _cluster_report()
    assert [d.id for d in filter_copies(docs, report, "first").kept] == ["d", "x"]
    assert [d.id for d in filter_copies(docs[::-1], report, "first").kept] == ["x", "a"]


def test_a_cluster_member_missing_from_the_documents_is_an_error() -> None:
    docs, report = _cluster_report()
    with pytest.raises(ValueError, match="cluster c1 names 'b', which is not among"):
        filter_copies([d for d in docs if d.id != "b"], report)
    with pytest.raises(ValueError, match="unknown keep policy 'newest'"):
        filter_copies(docs, report, "newest")  # type: ignore[arg-type]


# --- the command ------------------------------------------------------------------------------


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_filter_seeds(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "clean.jsonl"
    result = runner.invoke(cli, ["filter", str(SEEDS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    kept = _lines(out)
    assert [d["id"] for d in kept] == [SEED_000, SEED_002]
    assert kept[1]["text"] == (SEEDS / SEED_002).read_text("utf-8")
    assert _lines(tmp_path / "clean.dropped.jsonl") == [
        {"id": SEED_001, "kept": SEED_002, "relation": "rewrite",
         "similarity": pytest.approx(0.53, abs=0.05),
         "cluster": cluster_id([SEED_001, SEED_002])}]
    assert result.stderr == (f"{out}: kept 2 of 3 documents; dropped 1 copy, listed in "
                             f"{tmp_path / 'clean.dropped.jsonl'}\n")
    assert sorted(os.listdir(tmp_path)) == ["clean.dropped.jsonl", "clean.jsonl"]  # no temp files


def test_filter_keeps_a_lone_surrogate_as_it_was(runner: CliRunner, tmp_path: Path) -> None:
    # JSON may escape a lone surrogate, which UTF-8 cannot hold: the kept text escapes it
    # again, so reading the output gives the text that was read.
    seed = (SEEDS / SEED_001).read_text("utf-8")
    records = [{"id": "a", "text": seed, "date": "2021-01-02"},
               {"id": "b", "text": f"\udfff {seed[:300]} \ud800{seed[300:]}",
                "date": "2021-01-01"}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), "ascii")
    out = tmp_path / "clean.jsonl"
    result = runner.invoke(cli, ["filter", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [d["text"] for d in _lines(out)] == [records[1]["text"]]
    assert "\\ud800" in out.read_text("utf-8")


def _story_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def test_keep_policies_on_jsonl_inputs_given_out_of_id_order(runner: CliRunner,
                                                            tmp_path: Path) -> None:
    story = paragraphs(ARTICLES[0])
    full, trimmed = "\n\n".join(story), "\n\n".join(story[: len(story) // 2])
    # Given first: the later, trimmed copy with a higher id, in the first input file.
    first = tmp_path / "late.jsonl"
    _story_jsonl(first, [{"id": "z-copy", "text": trimmed, "date": "2021-02-01",
                          "title": "Kopie"},
                         {"id": "m-other", "text": ARTICLES[1]}])
    second = tmp_path / "early.jsonl"
    _story_jsonl(second, [{"id": "a-original", "text": full, "date": "2021-01-01"}])
    kept: dict[str, list[object]] = {}
    for policy in ("earliest", "longest", "first"):
        out = tmp_path / "out" / f"{policy}.jsonl"
        out.parent.mkdir(exist_ok=True)
        result = runner.invoke(cli, ["filter", str(first), str(second), "--keep", policy,
                                     "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        kept[policy] = [d["id"] for d in _lines(out)]
    assert kept == {"earliest": ["m-other", "a-original"], "longest": ["m-other", "a-original"],
                    "first": ["z-copy", "m-other"]}
    assert _lines(tmp_path / "out" / "first.dropped.jsonl")[0]["relation"] == "contains"
    # The output is a corpus again, metadata included.
    copy = read_corpus([str(tmp_path / "out" / "first.jsonl")]).documents[1]
    assert (copy.id, copy.title, copy.date, copy.text) == ("z-copy", "Kopie", "2021-02-01",
                                                           trimmed)


def test_renamed_fields_are_written_back_under_their_names(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    _story_jsonl(batch, [{"key": "1", "body": ARTICLES[0]}, {"key": "2", "body": ARTICLES[0]}])
    out = tmp_path / "clean.jsonl"
    result = runner.invoke(cli, ["filter", str(batch), "-o", str(out), "--id-field", "key",
                                 "--text-field", "body"])
    assert result.exit_code == 0, result.output
    assert _lines(out) == [{"key": "1", "body": ARTICLES[0]}]


def test_standard_input_with_keep_first(tmp_path: Path) -> None:
    records = [{"id": "z", "text": ARTICLES[2]}, {"id": "a", "text": ARTICLES[2]},
               {"id": "q", "text": ARTICLES[3]}]
    out = tmp_path / "clean.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "dedup", "filter", "-", "--keep", "first", "-o", str(out)],
        input="".join(json.dumps(r) + "\n" for r in records), capture_output=True, text=True,
        check=False)
    assert result.returncode == 0, result.stderr
    assert [d["id"] for d in _lines(out)] == ["z", "q"]
    assert _lines(tmp_path / "clean.dropped.jsonl")[0]["id"] == "a"


def test_no_copies_still_writes_an_empty_dropped_list(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "clean"
    result = runner.invoke(cli, ["filter", str(SEEDS / SEED_000), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clean.dropped.jsonl").read_text() == ""
    assert [d["id"] for d in _lines(out)] == [str(SEEDS / SEED_000)]


# --- never touching the inputs, and bad input -------------------------------------------------


def _snapshot(folder: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("target", ["batch.jsonl", "corpus/clean.jsonl", "corpus/a.txt",
                                    "batch.dropped.jsonl"])
def test_output_onto_or_into_an_input_is_refused(runner: CliRunner, tmp_path: Path,
                                                 target: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLES[0])
    batch = tmp_path / "batch.jsonl"
    _story_jsonl(batch, [{"id": "b", "text": ARTICLES[0]}])
    dropped = tmp_path / "batch.dropped.jsonl"
    dropped.write_text("")
    before = _snapshot(tmp_path)
    out = "batch" if target == "batch.dropped.jsonl" else target
    inputs = [str(corpus), str(batch), str(dropped)]
    result = runner.invoke(cli, ["filter", *inputs, "-o", str(tmp_path / out)])
    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output': " in result.stderr
    assert "(inputs are never modified)" in result.stderr
    assert _snapshot(tmp_path) == before


def test_the_inputs_are_never_modified(runner: CliRunner, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in SEEDS.iterdir():
        (corpus / p.name).write_bytes(p.read_bytes())
    before = _snapshot(corpus)
    result = runner.invoke(cli, ["filter", str(corpus), "-o", str(tmp_path / "clean.jsonl")])
    assert result.exit_code == 0, result.output
    assert _snapshot(corpus) == before


def test_output_to_stdout_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["filter", str(SEEDS), "-o", "-"])
    assert result.exit_code == 2
    assert "give a file name: the dropped documents are listed in a second file" in result.stderr


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"id": "a", "body": "eins"}\n')
    out = tmp_path / "out" / "clean.jsonl"
    out.parent.mkdir()
    result = subprocess.run([sys.executable, "-m", "dedup", "filter", str(batch), "-o", str(out)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 3
    assert result.stderr == f"Error: {batch}:1: no field 'text'; use --text-field to name it\n"
    assert os.listdir(out.parent) == []


def test_unknown_keep_policy_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["filter", str(SEEDS), "--keep", "newest", "-o",
                                 str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert "Invalid value for '--keep': 'newest' is not one of 'earliest', 'longest', 'first'" \
        in result.stderr
