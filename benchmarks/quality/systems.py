"""The systems the benchmark compares; each is ``documents -> SystemResult``.

- ``dedup``: ``dedup.scan`` with default settings (a thin adapter).
- ``minhash5``, ``textdedup2``: plain MinHash + LSH baselines (:mod:`.baselines`).
- ``textdedup-pkg``: the text-dedup package itself, run in its own environment named by the
  ``TEXT_DEDUP_PYTHON`` environment variable (it is too heavy to install next to dedup).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

from dedup.models import Document

from . import baselines
from .shapes import PairResult, ReportedPassage, System, SystemResult


def run_dedup(documents: list[Document]) -> SystemResult:
    """dedup with its default settings: clusters and verified pairs with passage offsets."""
    from dedup import Config, scan

    started = time.perf_counter()
    report = scan(documents, Config())
    seconds = time.perf_counter() - started
    pairs = [
        PairResult(
            m.a,
            m.b,
            m.relation,
            tuple(ReportedPassage(p.a_start, p.a_end, p.b_start, p.b_end) for p in m.passages),
        )
        for m in report.pairs
    ]
    return SystemResult(
        clusters=[set(c.members) for c in report.clusters],
        pairs=pairs,
        reports_passages=True,
        seconds=seconds,
        info={"skipped": len(report.skipped), "stats": report.stats},
    )


TEXT_DEDUP_ENV = "TEXT_DEDUP_PYTHON"


def run_textdedup_package(documents: list[Document]) -> SystemResult:
    """text-dedup 0.4.0's ``text_dedup.minhash`` at its NEWS-COPY setting, in a subprocess."""
    python = os.environ.get(TEXT_DEDUP_ENV)
    if not python:
        raise SystemUnavailable(
            f"set {TEXT_DEDUP_ENV} to the python of an environment with text-dedup installed"
        )
    settings = baselines.TEXTDEDUP2
    runner = Path(__file__).with_name("_textdedup_runner.py")
    with tempfile.TemporaryDirectory(prefix="textdedup-") as workdir:
        path = Path(workdir) / "docs.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(
                json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n"
                for d in documents
            )
        started = time.perf_counter()
        completed = subprocess.run(
            [
                python,
                str(runner),
                str(path),
                workdir,
                str(settings.ngram),
                str(settings.threshold),
                str(settings.num_perm),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemUnavailable(f"text-dedup failed: {completed.stderr.strip()[-500:]}")
    clusters = [set(c) for c in json.loads(completed.stdout)["clusters"]]
    # text-dedup reports clusters only; every pair inside a cluster is its duplicate pair.
    pairs = [PairResult(a, b, "duplicate") for c in clusters for a, b in combinations(sorted(c), 2)]
    return SystemResult(
        clusters=clusters, pairs=pairs, seconds=seconds, info={"includes_process_start": True}
    )


class SystemUnavailable(RuntimeError):
    """A system that cannot run here (not installed, not configured)."""


SYSTEMS: dict[str, System] = {
    "dedup": run_dedup,
    "minhash5": baselines.minhash5,
    "textdedup2": baselines.textdedup2,
    "textdedup-pkg": run_textdedup_package,
}
DEFAULT_SYSTEMS = ("dedup", "minhash5", "textdedup2")


def dedup_available() -> str | None:
    """``None`` if ``dedup.scan`` can be imported, else the reason it cannot."""
    try:
        from dedup import Config, scan  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the state of the package
        return f"{type(error).__name__}: {error}"
    return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
