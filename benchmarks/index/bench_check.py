"""Benchmark: check a batch against an index, side by side with scanning archive and batch.

    python -m benchmarks.index.bench_check                 # 100,000 + 1,000, and 10,000 + 1,000
    python -m benchmarks.index.bench_check --sizes 10000   # a quicker run

For each archive size: build the index, check the 1,000-article batch against it, scan
archive + batch together, and verify that the check's findings equal the scan's pairs that
involve a batch article (relations, scores and passages). Every step runs in a fresh child
process, so its time and peak RSS are its own (times exclude interpreter start-up and
imports, include reading the JSONL input). Prints a Markdown table; writes everything to
``benchmarks/out/index/results.json``.

The corpus (:mod:`benchmarks.index.corpus`) is generated once per seed and size and cached
under ``benchmarks/out/index/``. Its rate of chance candidates between unrelated articles is
measured on every run and printed next to the rate of real 10kGNAD articles, since that rate
decides how much verification a check against a large archive does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "out" / "index"
ROOT = Path(__file__).resolve().parent.parent.parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_now_mb() -> dict[str, float]:
    """Resident memory now, split into private (anonymous) and file-backed pages: the SQLite
    index is read through a memory map, and mapped pages of the file count towards RSS
    although they are the shared, reclaimable page cache."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile"):
            out[f"{name.lower()}_mb"] = int(value.split()[0]) / 1024
    return out


def evict(path: Path) -> None:
    """Drop a file's pages from the page cache (a cold-cache run without root)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (worker pools)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _corpus_files(seed: int, size: int, batch: int, share: float) -> tuple[Path, Path]:
    from . import corpus

    corpus.SECTION_SHARE = share
    OUT.mkdir(parents=True, exist_ok=True)
    tag = f"{seed}-{share}"
    archive = OUT / f"archive-{size}-{tag}.jsonl"
    batch_path = OUT / f"batch-{batch}-for-{size}-{tag}.jsonl"
    if not archive.exists():
        bigger = sorted(OUT.glob(f"archive-*-{tag}.jsonl"),
                        key=lambda p: int(p.name.split("-")[1]))
        source = next((p for p in bigger if int(p.name.split("-")[1]) > size), None)
        tmp = archive.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            if source is not None:  # document i depends only on (seed, i): reuse a prefix
                with source.open(encoding="utf-8") as f:
                    for _, line in zip(range(size), f):
                        out.write(line)
            else:
                for i in range(size):
                    g = corpus.archive_doc(seed, i)
                    out.write(json.dumps({"id": g.id, "text": g.text}, ensure_ascii=False)
                              + "\n")
        tmp.replace(archive)
    if not batch_path.exists():
        tmp = batch_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for i in range(batch):
                g = corpus.batch_doc(seed, i, size)
                out.write(json.dumps({"id": g.id, "text": g.text}, ensure_ascii=False) + "\n")
        tmp.replace(batch_path)
    return archive, batch_path


# --- steps, each run in a child process ------------------------------------------------------


def step_build(archive: str, index: str, workers: str) -> dict[str, Any]:
    from dedup.engines import make_engine
    from dedup.index import build_index, open_index
    from dedup.io import read_corpus

    started, cpu = time.perf_counter(), _cpu_seconds()
    docs = read_corpus([archive]).documents
    build_index(index, docs, force=True, engine=make_engine(int(workers)))
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    with open_index(index) as opened:
        size = opened.info().size_bytes  # file size, or Redis memory
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_rss_mb(),
            "index_bytes": size, "documents": len(docs)}


def step_check(batch: str, index: str, findings: str, workers: str) -> dict[str, Any]:
    from dedup.check import check
    from dedup.engines import make_engine
    from dedup.index import open_index
    from dedup.io import read_corpus

    started, cpu = time.perf_counter(), _cpu_seconds()
    docs = read_corpus([batch]).documents
    with open_index(index) as opened:
        result = check(opened, docs, engine=make_engine(int(workers)))
        memory = _memory_now_mb()  # before closing: the index is still mapped
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    Path(findings).write_text(json.dumps([m.to_dict() for m in result.pairs]), "utf-8")
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_rss_mb(), **memory,
            "workers": int(workers), "findings": len(result.pairs),
            "failing": len(result.failing), "stats": result.stats}


def step_scan(archive: str, batch: str, pairs: str, workers: str) -> dict[str, Any]:
    from dedup import scan
    from dedup.engines import make_engine
    from dedup.io import read_corpus

    started, cpu = time.perf_counter(), _cpu_seconds()
    docs = read_corpus([archive, batch]).documents
    report = scan(docs, engine=make_engine(int(workers)))
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    batch_ids = {d.id for d in read_corpus([batch]).documents}
    involved = [m.to_dict() for m in report.pairs if m.a in batch_ids or m.b in batch_ids]
    Path(pairs).write_text(json.dumps(involved), "utf-8")
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_rss_mb(),
            "workers": int(workers), "pairs": len(report.pairs),
            "pairs_with_batch": len(involved), "stats": report.stats}


def step_noise(archive: str, sample: str, seed: str, share: str) -> dict[str, Any]:
    """Chance candidates per pair of unrelated articles: generated sample vs real 10kGNAD."""
    import csv

    from dedup import Config, Document
    from dedup.candidates import candidate_pairs
    from dedup.io import read_corpus
    from dedup.pipeline import build_corpus

    from . import corpus

    corpus.SECTION_SHARE = float(share)
    config = Config()

    def rate(docs: list[Document]) -> tuple[float, int, int]:
        built = build_corpus(docs, config)
        n = len(built.documents)
        found = candidate_pairs(built.signatures, config.lsh.min_collisions,
                                config.lsh.max_bucket)
        return len(found) / (n * (n - 1) / 2), len(found), n

    originals = [d for d in read_corpus([archive]).documents[: int(sample)]
                 if "Volltext dieses" not in d.text]
    # Copies are candidates on purpose: keep only articles no other sampled one copies.
    generated = [d for d in originals
                 if corpus.archive_doc(int(seed), int(d.id[1:])).kind == "original"]
    with corpus.DATA.open(encoding="utf-8") as f:
        real = [Document(f"g{i}", text) for i, (_label, text)
                in enumerate(csv.reader(f, delimiter=";", quotechar="'"))
                if "Volltext dieses" not in text]
    return {"generated": rate(generated), "real_10kgnad": rate(real)}


STEPS = {"build": step_build, "check": step_check, "scan": step_scan, "noise": step_noise}


def _child(step: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.index.bench_check", "--step", step, *args]
    print(f"  running {step} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {step}: {result.get('seconds', 0):.1f} s", file=sys.stderr, flush=True)
    return result


def redis_run(seed: int, size: int, batch: int, share: float, workers: int) -> dict[str, Any]:
    """Build and check in a redis-server started on a free loopback port (no persistence);
    the findings must equal the SQLite index's."""
    import shutil
    import socket
    import tempfile

    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server not found; run scripts/install-test-deps.sh")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    archive, batch_path = _corpus_files(seed, size, batch, share)
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--dir", folder],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            url = f"redis://127.0.0.1:{port}/0?prefix=bench"
            print(f"redis: archive {size:,} + batch {batch:,}", file=sys.stderr, flush=True)
            out: dict[str, Any] = {"build": _child("build", str(archive), url, str(workers))}
            findings = OUT / f"redis-check-{size}.json"
            out["check"] = _child("check", str(batch_path), url, str(findings), "1")
            sqlite_findings = OUT / f"check-{size}-1.json"
            out["same_findings_as_sqlite"] = (json.loads(findings.read_text("utf-8"))
                                              == json.loads(sqlite_findings.read_text("utf-8")))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return out


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text()
                          .splitlines() if line.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gib": round(mem_kb / 1024 ** 2, 1),
            "python": platform.python_version(), "load_before": os.getloadavg()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="archive sizes, comma-separated (default 10000,100000)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--section-share", type=float, default=None,
                        help="corpus.SECTION_SHARE: lower means fewer chance candidates")
    parser.add_argument("--no-scan", action="store_true", help="skip the scans")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for the parallel runs (default: one per CPU); every "
                             "step also runs with one process")
    parser.add_argument("--pooled-scan-max", type=int, default=20000,
                        help="largest archive also scanned with a process pool (default 20000)")
    parser.add_argument("--redis", action="store_true",
                        help="also build and check the smallest size in a private redis-server")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.step:
        print(json.dumps(STEPS[options.step](*options.args)))  # type: ignore[operator]
        return

    from . import corpus

    share = corpus.SECTION_SHARE if options.section_share is None else options.section_share
    from dedup.engines import default_workers

    workers = options.workers or default_workers()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit + " + working tree",
        "command": "python -m benchmarks.index.bench_check " + " ".join(argv or sys.argv[1:]),
        "machine": machine(), "seed": options.seed, "section_share": share,
        "batch": options.batch, "workers": workers, "runs": {},
    }
    sizes = [int(s) for s in options.sizes.split(",")]
    for size in sizes:
        print(f"archive {size:,} + batch {options.batch:,}", file=sys.stderr, flush=True)
        archive, batch = _corpus_files(options.seed, size, options.batch, share)
        index = OUT / f"archive-{size}.dedup"
        run: dict[str, Any] = {"build": _child("build", str(archive), str(index), str(workers))}
        for n in sorted({1, workers}):
            findings = OUT / f"check-{size}-{n}.json"
            run[f"check_{n}"] = _child("check", str(batch), str(index), str(findings), str(n))
        # Again, with the index now in the page cache (the first run may have read it cold).
        run["check_warm"] = _child("check", str(batch), str(index),
                                   str(OUT / f"check-{size}-warm.json"), "1")
        # And with none of it in the page cache, as on a CI runner that just fetched it.
        evict(index)
        run["check_cold"] = _child("check", str(batch), str(index),
                                   str(OUT / f"check-{size}-cold.json"), "1")
        if not options.no_scan:
            # A pooled scan of 100k articles forks a ~10 GB process: only on small archives.
            for n in sorted({1, workers} if size <= options.pooled_scan_max else {1}):
                pairs = OUT / f"scan-{size}-{n}.json"
                run[f"scan_{n}"] = _child("scan", str(archive), str(batch), str(pairs), str(n))
            found = {json.dumps(json.loads(p.read_text("utf-8")), sort_keys=True)
                     for p in OUT.glob(f"*-{size}-*.json")
                     if p.name.startswith(("check-", "scan-"))}
            run["same_findings"] = len(found) == 1
            for n in sorted({1, workers}):
                scan_n = run.get(f"scan_{n}", run["scan_1"])
                run[f"ratio_{n}"] = scan_n["seconds"] / run[f"check_{n}"]["seconds"]
            for label in ("warm", "cold"):
                run[f"ratio_{label}"] = run["scan_1"]["seconds"] / run[f"check_{label}"]["seconds"]
        results["runs"][str(size)] = run
        results["machine"]["load_after"] = os.getloadavg()
        (OUT / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    if options.redis:
        results["redis"] = redis_run(options.seed, min(sizes), options.batch, share, workers)
        (OUT / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    noise_size = min(sizes)
    archive, _ = _corpus_files(options.seed, noise_size, options.batch, share)
    results["noise"] = _child("noise", str(archive), "3000", str(options.seed), str(share))
    (OUT / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    print(table(results))


def table(results: dict[str, Any]) -> str:
    workers = results["workers"]
    lines = ["| archive + batch | processes | check | check CPU | check peak RSS | of it private "
             "at the end | scan | scan CPU | scan peak RSS | scan / check | same findings |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for size, run in results["runs"].items():
        for n in [*sorted({1, workers}), "warm", "cold"]:
            c, s = run[f"check_{n}"], run.get(f"scan_{n}")
            if s is None and f"ratio_{n}" in run:
                s = run["scan_1"]  # compared with the one-process scan (not run pooled)
            label = {"warm": "1, again (warm cache)",
                     "cold": "1, index evicted from the page cache"}.get(str(n), str(n))
            lines.append(
                f"| {int(size):,} + {results['batch']:,} | {label} | {c['seconds']:.1f} s | "
                f"{c['cpu_seconds']:.1f} s | {c['peak_rss_mb']:,.0f} MB | "
                f"{c.get('rssanon_mb', 0):,.0f} MB | "
                + (f"{s['seconds']:.0f} s | {s['cpu_seconds']:.0f} s | "
                   f"{s['peak_rss_mb']:,.0f} MB | {run[f'ratio_{n}']:.0f}x | "
                   f"{'yes' if run['same_findings'] else 'NO'} ({c['findings']} pairs) |"
                   if s else "- | - | - | - | - |"))
    lines.append("")
    lines.append("| archive | build index | build CPU | build peak RSS | index size | candidates "
                 "checked | archived candidates |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for size, run in results["runs"].items():
        b, c = run["build"], run["check_1"]
        lines.append(f"| {int(size):,} | {b['seconds']:.0f} s | {b['cpu_seconds']:.0f} s | "
                     f"{b['peak_rss_mb']:,.0f} MB | {b['index_bytes'] / 1e6:,.0f} MB | "
                     f"{c['stats']['candidates']:,} | {c['stats']['archived_candidates']:,} |")
    redis = results.get("redis")
    if redis:
        b, c = redis["build"], redis["check"]
        lines.append("")
        lines.append(f"Redis ({b['documents']:,} archived): build {b['seconds']:.0f} s, "
                     f"{b['index_bytes'] / 1e6:,.0f} MB in Redis; check {c['seconds']:.1f} s "
                     f"({c['cpu_seconds']:.1f} s CPU); same findings as SQLite: "
                     f"{'yes' if redis['same_findings_as_sqlite'] else 'NO'}.")
    noise = results.get("noise", {})
    if noise:
        g, r = noise["generated"], noise["real_10kgnad"]
        lines.append("")
        lines.append(f"Chance candidates per unrelated pair: generated {g[0]:.2e} ({g[1]} of "
                     f"{g[2]:,} articles), real 10kGNAD {r[0]:.2e} ({r[1]} of {r[2]:,}).")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
