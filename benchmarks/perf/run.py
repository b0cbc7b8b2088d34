"""Throughput per stage and end to end: dedup beside the plain datasketch pipeline.

    python -m benchmarks.perf.run --docs 10000 [--systems dedup,datasketch,scan] [--workers N]

Generates (once, cached under ``benchmarks/out/perf``) the seeded corpus of
:mod:`benchmarks.perf.corpus`, then runs each system in its own subprocess so that every
peak RSS is that system's alone:

- ``dedup``: the scan's stages called one by one in one process (read; prepare and sign,
  keeping signatures and sentence keys only; boilerplate; candidates; verify, which prepares
  the documents of each candidate pair again; cluster; report), so the time of each is
  visible. ``normalize`` (the full one, with offset maps) is timed as a separate pass for
  reference; the end-to-end figure leaves it out.
- ``scan``: ``dedup scan CORPUS --format json -q`` as a user runs it (default settings and
  ``--workers`` as given, else the CLI's default), end to end.
- ``datasketch``: the plain pipeline most tools run: lower-cased ``\\w+`` word 5-grams,
  ``MinHash.bulk`` (128 permutations), ``MinHashLSH`` at threshold 0.5, every candidate a
  duplicate, union-find clusters.
- ``textdedup`` (only when asked for): the text-dedup package's MinHash (word 5-grams, 128
  permutations, threshold 0.5, one process) run by ``benchmarks/quality/_textdedup_runner.py``
  in the Python that ``TEXT_DEDUP_PYTHON`` names, end to end (it reads the JSONL, saves a
  dataset and runs); text-dedup pulls about 1.3 GB, so it is not a dependency.

Each system starts with the corpus file just read once (:func:`read_through`): both read
it from the page cache, neither from the disk.

Prints a Markdown table (articles/s, MB/s, seconds per stage; peak RSS per system) on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .corpus import DEFAULT_DUP_RATE, DEFAULT_SEED, cached_corpus

T = TypeVar("T")
SYSTEMS = ("dedup", "scan", "datasketch", "textdedup")
#: What runs when ``--systems`` is not given: text-dedup needs an environment of its own.
DEFAULT_SYSTEMS = ("dedup", "scan", "datasketch")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def time(self, name: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = fn()
        self.seconds[name] = time.perf_counter() - started
        return value


def run_dedup(path: str) -> dict[str, Any]:
    from dedup.candidates import candidate_pairs
    from dedup.cluster import build_clusters
    from dedup.config import Config
    from dedup.engines import SerialEngine
    from dedup.io import read_corpus
    from dedup.models import Report
    from dedup.normalize import normalize
    from dedup.pipeline import (
        _assemble,
        _learn_boilerplate,
        _sign_blocks,
        _verify_chunk,
        sign_blocks,
    )
    from dedup.report import render
    from dedup.signatures import Signer

    config = Config()
    engine = SerialEngine()
    stages = Stages()
    docs = stages.time("read", lambda: sorted(read_corpus([path]).documents,
                                              key=lambda d: d.id))
    stages.time("normalize", lambda: [normalize(d.text) for d in docs])
    signer = Signer(config.lsh.num_perm, config.lsh.seed)
    # prepare + sign as the scan runs them: one pass, keeping signature and sentence keys.
    blocks = sign_blocks(len(docs))
    with tempfile.TemporaryDirectory(prefix="dedup-stems-") as folder:  # as build_corpus
        corpus, stems = stages.time("prepare and sign", lambda: _assemble(
            docs, engine.map(_sign_blocks, (config, signer, docs, folder, None), blocks), config,
            folder))
        documents = list(corpus.documents)
        boiler = stages.time("boilerplate", lambda: _learn_boilerplate(
            documents, corpus.sentence_keys, corpus.sentence_counts, config, engine,
            written=stems))
    pairs = stages.time("candidates", lambda: candidate_pairs(
        corpus.signatures, config.lsh.min_collisions, config.lsh.max_bucket))

    def verify_all() -> list[Any]:
        # Prepares the documents of each pair again, as the scan does (it keeps no tokens).
        corpus.boilerplate = boiler
        context = (documents, corpus.sentence_marks(), config, "benchmarks.perf.run")
        found = [m for m in engine.map(_verify_chunk, context, pairs.tolist())
                 if m is not None]
        found.sort(key=lambda m: (m.a, m.b))
        return found

    matches = stages.time("verify", verify_all)
    by_id = {d.id: d for d in documents}
    clusters = stages.time("cluster", lambda: build_clusters(matches, by_id))
    report = Report(documents=len(docs), params=config.to_dict(), clusters=clusters,
                    pairs=matches, skipped=[], stats={})
    texts = {d.id: d.text for d in docs}
    meta = {d.id: d.meta() for d in docs}
    stages.time("report", lambda: render(report, "json", texts, meta))
    total = sum(v for k, v in stages.seconds.items() if k != "normalize")
    return {"stages": stages.seconds, "total": total, "peak_rss_mb": _peak_rss_mb(),
            "candidates": len(pairs), "pairs": len(matches), "clusters": len(clusters)}


def run_datasketch(path: str) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    from benchmarks.quality.baselines import MINHASH5, UnionFind, shingles

    settings = MINHASH5
    stages = Stages()

    def read() -> list[dict[str, str]]:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    rows = stages.time("read", read)
    sets = stages.time("shingle", lambda: [list(shingles(r["text"], settings.ngram))
                                           for r in rows])
    signatures = stages.time("sign", lambda: MinHash.bulk(
        sets, num_perm=settings.num_perm, seed=settings.seed))
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)

    def candidates() -> set[tuple[str, str]]:
        with lsh.insertion_session() as session:
            for row, signature in zip(rows, signatures):
                session.insert(row["id"], signature)
        found: set[tuple[str, str]] = set()
        for row, signature in zip(rows, signatures):
            for other in lsh.query(signature):
                if other != row["id"]:
                    a, b = sorted((row["id"], other))
                    found.add((a, b))
        return found

    pairs = stages.time("candidates", candidates)

    def cluster() -> list[set[str]]:
        uf = UnionFind()
        for a, b in sorted(pairs):
            uf.union(a, b)
        return uf.groups()

    clusters = stages.time("cluster", cluster)
    stages.time("report", lambda: json.dumps(
        {"clusters": sorted(sorted(c) for c in clusters), "pairs": sorted(pairs)}))
    return {"stages": stages.seconds, "total": sum(stages.seconds.values()),
            "peak_rss_mb": _peak_rss_mb(), "candidates": len(pairs), "pairs": len(pairs),
            "clusters": len(clusters)}


def run_scan(path: str, workers: int | None) -> dict[str, Any]:
    """``dedup scan`` as a child process; its peak RSS from ``wait4`` (the largest of the
    process and, for a pool, its largest worker)."""
    cmd = [sys.executable, "-m", "dedup", "scan", path, "--format", "json", "-q"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"stages": {}, "total": seconds, "peak_rss_mb": max(usage.ru_maxrss / 1024, children),
            "command": " ".join(["dedup", *cmd[3:]])}


TEXT_DEDUP_RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "quality", "_textdedup_runner.py")


def run_textdedup(path: str, python: str) -> dict[str, Any]:
    """text-dedup's MinHash on the corpus with the datasketch system's settings (word
    5-grams, 128 permutations, threshold 0.5), as a child process of ``python``; its peak
    RSS from ``wait4``."""
    with tempfile.TemporaryDirectory(prefix="textdedup-") as workdir:
        cmd = [python, TEXT_DEDUP_RUNNER, path, workdir, "5", "0.5", "128"]
        started = time.perf_counter()
        with open(os.path.join(workdir, "clusters.json"), "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
        with open(os.path.join(workdir, "clusters.json"), encoding="utf-8") as f:
            clusters = json.load(f)["clusters"]
    return {"stages": {}, "total": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "clusters": len(clusters), "clustered": sum(map(len, clusters))}


def read_through(path: str) -> None:
    """Read the file once, so that the system run next finds it in the page cache. This
    kind of machine pages out file pages left idle for about 30 s (a third of the 100k
    corpus in 30 s, measured with fincore), so without it whichever system ran after the
    other's two minutes read much of the corpus from the disk, and the other did not."""
    with open(path, "rb") as stream:
        while stream.read(8 << 20):
            pass


def _child(system: str, path: str, workers: int | None) -> dict[str, Any]:
    read_through(path)
    cmd = [sys.executable, "-m", "benchmarks.perf.run", "--child", system, "--path", path]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{system} failed:\n{out.stderr}")
    return dict(json.loads(out.stdout))


def _table(results: dict[str, dict[str, Any]], docs: int, megabytes: float) -> str:
    stage_names: list[str] = []
    for result in results.values():
        for name in result["stages"]:
            if name not in stage_names:
                stage_names.append(name)
    systems = list(results)
    lines = ["| stage | " + " | ".join(f"{s} s | {s} articles/s | {s} MB/s" for s in systems)
             + " |",
             "|---|" + "---:|" * (3 * len(systems))]

    def row(label: str, values: list[float | None]) -> str:
        cells = []
        for v in values:
            if v is None:
                cells += ["", "", ""]
            else:
                cells += [f"{v:.2f}", f"{docs / v:,.0f}" if v else "", f"{megabytes / v:,.1f}"
                          if v else ""]
        return f"| {label} | " + " | ".join(cells) + " |"

    for name in stage_names:
        lines.append(row(name, [r["stages"].get(name) for r in results.values()]))
    lines.append(row("**end to end**", [r["total"] for r in results.values()]))
    lines.append("| peak RSS MB | " + " | ".join(
        f"{r['peak_rss_mb']:,.0f} | | " for r in results.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Per-stage throughput of dedup and datasketch.")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dup-rate", type=float, default=DEFAULT_DUP_RATE)
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS))
    parser.add_argument("--workers", type=int, default=None,
                        help="--workers for the `scan` system (default: the CLI's)")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "dedup":
            result = run_dedup(args.path)
        elif args.child == "datasketch":
            result = run_datasketch(args.path)
        elif args.child == "textdedup":
            result = run_textdedup(args.path, os.environ["TEXT_DEDUP_PYTHON"])
        else:
            result = run_scan(args.path, args.workers)
        print(json.dumps(result))
        return

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(SYSTEMS)}")
    if "textdedup" in systems:
        python = os.environ.get("TEXT_DEDUP_PYTHON", "")
        if not python:
            parser.error("textdedup runs in the Python that TEXT_DEDUP_PYTHON names; set it to "
                         "that of a virtualenv with text-dedup installed (benchmarks/README.md)")
        if shutil.which(python) is None:
            parser.error(f"TEXT_DEDUP_PYTHON={python} is not a program that runs; name the "
                         "Python of the virtualenv text-dedup is installed in")
    path = cached_corpus(args.docs, args.seed, args.dup_rate)
    megabytes = path.stat().st_size / 1e6
    results: dict[str, dict[str, Any]] = {}
    for system in systems:
        print(f"running {system} on {args.docs:,} documents ...", file=sys.stderr)
        results[system] = _child(system, str(path), args.workers)
    print(f"{args.docs:,} documents, {megabytes:,.1f} MB ({path.name}); "
          f"{os.cpu_count()} CPUs, {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(_table(results, args.docs, megabytes))
    if "datasketch" in results:
        base = results["datasketch"]["total"]
        for system in ("dedup", "scan", "textdedup"):
            if system in results:
                print(f"\n{system} end to end vs datasketch: "
                      f"{base / results[system]['total']:.2f}x")
    if "textdedup" in results and "scan" in results:
        print(f"\nscan end to end vs textdedup: "
              f"{results['textdedup']['total'] / results['scan']['total']:.2f}x")
    print("\n" + json.dumps({s: {k: v for k, v in r.items()} for s, r in results.items()}))


if __name__ == "__main__":
    main()
