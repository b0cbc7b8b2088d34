"""The command line: exit codes, exact error lines, formats, and that inputs stay untouched."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import cli, entry, main

from .conftest import SEED_000, SEED_001, SEED_002, SEEDS
from .corpus_text import ARTICLES


def run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in a subprocess: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "dedup", *args], input=stdin.decode() if stdin
                          else None, capture_output=True, text=True, timeout=300)


def test_the_installed_command_runs_the_entry_point() -> None:
    """``dedup`` as installed is what ``python -m dedup`` runs (:func:`dedup.cli.entry`: the
    command, then an exit without the last garbage collection), not :func:`main` alone."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="dedup")
    assert script.load() is entry


def test_reports_write_a_lone_surrogate_as_utf8_can(tmp_path: Path) -> None:
    # JSON may escape a lone surrogate into a text, which UTF-8 cannot write: what quotes it
    # (an explanation, the HTML report, which holds the texts) writes U+FFFD in its place, to
    # a file and to stdout alike.
    seed = (SEEDS / SEED_001).read_text("utf-8")
    inside = seed.index("Parler") + 3  # in a passage the explanation quotes
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": seed}) + "\n"
                      + json.dumps({"id": "b", "text": f"{seed[:inside]}\ud800{seed[inside:]}"})
                      + "\n", "ascii")
    explained = run(["explain", "a", "b", "--corpus", str(source)])
    assert explained.returncode == 0, explained.stderr
    assert "Par\ufffdler" in explained.stdout
    for fmt in ("html", "text", "json"):
        to_file = run(["scan", str(source), "--format", fmt, "-o", str(tmp_path / fmt)])
        assert to_file.returncode == 0, to_file.stderr
        to_stdout = run(["scan", str(source), "--format", fmt])
        assert to_stdout.returncode == 0, to_stdout.stderr
        assert to_stdout.stdout == (tmp_path / fmt).read_text("utf-8")
    assert "\ufffd" in (tmp_path / "html").read_text("utf-8")
    assert json.loads((tmp_path / "json").read_text("utf-8"))["pairs"][0]["relation"] == \
        "duplicate"


def test_a_report_reaches_stdout_in_few_large_writes(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from dedup import output

    monkeypatch.setattr(output, "_ECHO_CHARS", 100)
    pieces = [f"{n:03d}-" * (1 + n % 7) for n in range(200)]
    written: list[str] = []
    real_echo = output.click.echo

    def echo(message: str, nl: bool = True) -> None:
        written.append(message)
        real_echo(message, nl=nl)

    monkeypatch.setattr(output.click, "echo", echo)
    output.write(None, iter(pieces), json_text=True)
    assert capsys.readouterr().out == "".join(pieces)
    assert len(written) < len(pieces) // 3
    assert all(100 <= len(w) < 100 + 4 * 7 for w in written[:-1])


def test_scan_seeds_text_report() -> None:
    result = run(["scan", str(SEEDS)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 documents: 1 cluster of copies (2 documents), "
                                    "0 partial overlaps, 0 skipped")
    assert SEED_001 in result.stdout and SEED_002 in result.stdout
    assert SEED_000 not in result.stdout
    assert "Wir werden unser Bestes tun" in result.stdout
    assert result.stderr == ""


def test_scan_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run(["scan", str(SEEDS), "--format", "json", "-o", str(out)])
    assert result.returncode == 0 and result.stdout == ""
    data = json.loads(out.read_text("utf-8"))
    assert set(data) >= {"documents", "params", "clusters", "pairs"}
    assert data["documents"] == 3
    assert data["params"]["lsh"]["num_perm"] == 256
    (cluster,) = data["clusters"]
    assert set(cluster) >= {"id", "canonical", "members"}
    assert cluster["members"] == [SEED_001, SEED_002]
    (pair,) = data["pairs"]
    assert set(pair) >= {"a", "b", "relation", "similarity", "coverage_a", "coverage_b",
                         "passages"}
    texts = {p.name: p.read_text("utf-8") for p in SEEDS.iterdir()}
    for passage in pair["passages"]:
        (a0, a1), (b0, b1) = passage["a"], passage["b"]
        assert 0 <= a0 < a1 <= len(texts[pair["a"]]) and 0 <= b0 < b1 <= len(texts[pair["b"]])


def test_scan_csv_has_one_row_per_pair() -> None:
    result = run(["scan", str(SEEDS), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["a"], r["b"], r["relation"]) for r in rows] == [(SEED_001, SEED_002, "rewrite")]
    assert json.loads(rows[0]["passage_offsets"])


def test_fail_on_exits_1_only_for_named_relations() -> None:
    assert run(["scan", str(SEEDS), "--fail-on", "rewrite"]).returncode == 1
    assert run(["scan", str(SEEDS), "--fail-on", "duplicate,partial"]).returncode == 0


def test_unknown_fail_on_relation_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["scan", str(SEEDS), "--fail-on", "copy"])
    assert result.exit_code == 2
    assert "Invalid value for --fail-on: unknown relation 'copy'; choose from duplicate, " \
           "contains, contained, rewrite, partial" in result.output


def test_jsonl_from_stdin() -> None:
    lines = [json.dumps({"id": p.name, "text": p.read_text("utf-8")}) for p in SEEDS.iterdir()]
    result = run(["scan", "-", "--format", "json"], stdin="\n".join(lines).encode())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["clusters"][0]["members"] == [SEED_001, SEED_002]


def test_explain_two_files() -> None:
    result = run(["explain", str(SEEDS / SEED_001), str(SEEDS / SEED_002)])
    assert result.returncode == 0, result.stderr
    assert "verdict: rewrite" in result.stdout
    assert "Wir werden unser Bestes tun" in result.stdout


def test_explain_ids_in_a_corpus_says_why_not() -> None:
    result = run(["explain", SEED_000, SEED_001, "--corpus", str(SEEDS)])
    assert result.returncode == 0, result.stderr
    assert "verdict: no match (no verbatim passage of 10+ words; content alignment" in result.stdout
    assert "candidate: no" in result.stdout


def test_explain_unknown_id() -> None:
    result = run(["explain", "nope.txt", SEED_001, "--corpus", str(SEEDS)])
    assert result.returncode == 3
    assert result.stderr == (f"Error: no document with id 'nope.txt' in {SEEDS}; ids are paths "
                             "relative to a directory, or the id field of JSONL/CSV\n")


# Bad input: one line on stderr naming the place, a non-zero exit, never a traceback.

def _error(args: list[str], stdin: bytes | None = None) -> tuple[int, str]:
    result = run(args, stdin)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert _error(["scan", str(missing)]) == (3, f"Error: {missing}: no such file or directory\n")


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text("<rss/>")
    assert _error(["scan", str(path)]) == (
        3, f"Error: {path}: unknown input format; give a directory, .txt, .md, .jsonl, "
           ".jsonl.gz or .csv file, or - for JSONL on stdin\n")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Große Grüße aus Köln, sagte er am Montag in Wien.".encode("latin-1"))
    code, err = _error(["scan", str(path)])
    assert code == 3
    assert err == (f"Error: {path}: not valid UTF-8 at byte 3; convert it to UTF-8 "
                   "(e.g. iconv -f latin1 -t utf-8)\n")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert _error(["scan", str(path)]) == (
        3, f"Error: {path}: looks like a binary file, not text; remove it or give only text "
           "files\n")


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text('{"id": "a", "text": "eins zwei"}\n{"id": "b", "text": \n')
    code, err = _error(["scan", str(path)])
    assert code == 3
    assert err.startswith(f"Error: {path}:2: not valid JSON (")
    assert err.endswith("); fix or remove the line\n") and err.count("\n") == 1


def test_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text('{"id": "a", "body": "eins zwei drei"}\n')
    assert _error(["scan", str(path)]) == (
        3, f"Error: {path}:1: no field 'text'; use --text-field to name it\n")
    result = run(["scan", str(path), "--text-field", "body"])
    assert result.returncode == 0, result.stderr


def test_empty_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    (corpus / "story.txt").write_text(ARTICLES[0])
    result = run(["scan", str(corpus)])
    assert result.returncode == 0
    assert result.stderr == f"Warning: {corpus / 'empty.txt'}: empty text, skipped\n"
    assert "1 skipped" in result.stdout


def test_empty_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    code, err = _error(["scan", str(corpus)])
    assert code == 3
    assert err.splitlines()[-1] == (f"Error: no documents found in {corpus}; give .txt/.md "
                                    "files, a directory, or .jsonl/.csv")


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text('{"id": "x", "text": "eins"}\n{"id": "x", "text": "zwei"}\n')
    assert _error(["scan", str(path)]) == (
        3, f"Error: document id 'x' appears twice: {path}:1 and {path}:2; ids must be unique "
           "(use --id-field to pick another field)\n")


def test_no_arguments_is_a_usage_error() -> None:
    code, err = _error(["scan"])
    assert code == 2
    assert "Error: Missing argument 'PATHS...'." in err


def test_unwritable_output(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "report.json"
    code, err = _error(["scan", str(SEEDS), "-o", str(target)])
    assert code == 3
    assert err == f"Error: {target}: cannot write (No such file or directory)\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_output_into_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    # What `-o /dev/null` is too: replacing it with a regular file (as root, on /dev/null
    # itself) broke the machine's /dev/null.
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run(["scan", str(SEEDS), "--format", "json", "-o", str(fifo)])
    reader.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received, "nothing was written into the FIFO"
    assert json.loads(received[0])["documents"] == 3
    assert sorted(os.listdir(tmp_path)) == ["report.pipe"]  # no temporary file left


def test_output_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "latest.json"
    target.write_text("old", "utf-8")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    result = run(["scan", str(SEEDS), "--format", "json", "-o", str(link)])
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert json.loads(target.read_text("utf-8"))["documents"] == 3
    assert sorted(os.listdir(tmp_path / "reports")) == ["latest.json"]


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in SEEDS.iterdir():
        (corpus / p.name).write_bytes(p.read_bytes())
    gz = tmp_path / "batch.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "g", "text": ARTICLES[0]}) + "\n")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [*corpus.iterdir(), gz]}
    listing = sorted(os.listdir(tmp_path))
    assert run(["scan", str(corpus), str(gz), "--format", "json"]).returncode == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_internal_errors_never_show_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaputt")

    monkeypatch.setattr("dedup.cli.scan", boom)
    monkeypatch.delenv("DEDUP_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(SEEDS)])
    assert exit_info.value.code == 3
    assert capsys.readouterr().err == ("Error: internal error (RuntimeError: kaputt); rerun with "
                                       "DEDUP_DEBUG=1 for the traceback and please report it\n")


def test_every_command_has_help_with_an_example(runner: CliRunner) -> None:
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output, name
        assert command.help


def test_a_fifty_megabyte_document_is_scanned(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    block = "\n\n".join(ARTICLES) + "\n\n"
    (corpus / "huge.txt").write_text((block * (50_000_000 // len(block) + 1))[:50_000_000])
    (corpus / "story.txt").write_text(ARTICLES[3])
    result = run(["scan", str(corpus), "--format", "json"])
    assert result.returncode == 0, result.stderr
    pairs = json.loads(result.stdout)["pairs"]
    assert [(p["a"], p["b"], p["relation"]) for p in pairs] == [
        ("huge.txt", "story.txt", "contains")]
