"""How the scan's stages grow with the corpus: 10k, 100k, 1M articles of the perf corpus.

    python -m benchmarks.perf.scale --docs 10000,100000,1000000 [--workers N]

For each size, in a fresh child process: read the corpus into a document store (texts in a
temporary file), prepare + sign + learn boilerplate with the scan's engine (``build_corpus``,
``--workers`` processes, default one per CPU), and then measure what the candidate stage
faces without running it: the colliding pairs per band ("codes") on 8 of the 256 bands,
split into pairs from buckets of 3..``max_bucket`` documents (every pair of the bucket) and
the rest. Those codes are what the candidate stage has to count, and their number per band
is what decides whether it fits in memory. Prints seconds, articles/s and peak RSS per stage
as a Markdown table and the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from .corpus import DEFAULT_DUP_RATE, DEFAULT_SEED, cached_corpus


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    now = peak = 0.0
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return now, peak


def run_child(path: str, workers: int | None) -> dict[str, Any]:
    import numpy as np

    from dedup.candidates import _buckets, band_pairs
    from dedup.config import Config
    from dedup.engines import make_engine
    from dedup.io import read_corpus
    from dedup.pipeline import build_corpus

    config = Config()
    out: dict[str, Any] = {"stages": {}}
    started = time.perf_counter()
    corpus = read_corpus([path], spool=True)
    out["stages"]["read (spooled)"] = {"seconds": time.perf_counter() - started,
                                       "rss_mb": _rss_mb()}
    engine = make_engine(workers)
    started = time.perf_counter()
    built = build_corpus(corpus.documents, config, engine=engine)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["stages"]["prepare, sign, boilerplate"] = {
        "seconds": time.perf_counter() - started, "rss_mb": _rss_mb(),
        "worker_peak_rss_mb": cpu.ru_maxrss / 1024}
    n = len(built.documents)
    sampled = range(0, config.lsh.num_perm, config.lsh.num_perm // 8)
    started = time.perf_counter()
    codes = medium = 0
    for band in sampled:
        column = built.signatures[:, band]
        _, _, sizes = _buckets(column)
        codes += len(band_pairs(column, config.lsh.max_bucket))
        mid = sizes[(sizes > 2) & (sizes <= config.lsh.max_bucket)].astype(np.int64)
        medium += int((mid * (mid - 1) // 2).sum())
    out["codes_per_band"] = codes / len(sampled)
    out["codes_from_buckets_3_to_max_per_band"] = medium / len(sampled)
    out["codes_estimated_total"] = codes / len(sampled) * config.lsh.num_perm
    out["stages"]["codes on 8 bands"] = {"seconds": time.perf_counter() - started,
                                         "rss_mb": _rss_mb()}
    out["documents"] = n
    out["boilerplate_sentences"] = len(built.boilerplate)
    out["signatures_mb"] = built.signatures.nbytes / 1e6
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", default="10000,100000,1000000")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.workers)))
        return
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "cpus": os.cpu_count(), "runs": {}}
    for size in [int(s) for s in args.docs.split(",")]:
        path = cached_corpus(size, DEFAULT_SEED, DEFAULT_DUP_RATE, jobs=os.cpu_count() or 1)
        print(f"{size:,} documents ...", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", "benchmarks.perf.scale", "--child", str(path)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{size}: failed\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["megabytes"] = path.stat().st_size / 1e6
        results["runs"][str(size)] = result
    lines = ["| articles | stage | seconds | articles/s | RSS after | peak RSS |",
             "|---:|---|---:|---:|---:|---:|"]
    for size, run in results["runs"].items():
        for stage, figures in run["stages"].items():
            now, peak = figures["rss_mb"]
            lines.append(f"| {int(size):,} | {stage} | {figures['seconds']:.1f} | "
                         f"{int(size) / figures['seconds']:,.0f} | {now:,.0f} MB | "
                         f"{peak:,.0f} MB |")
    lines.append("")
    lines.append("| articles | colliding pairs per band | of them from buckets of 3..max_bucket "
                 "| estimated for 256 bands |")
    lines.append("|---:|---:|---:|---:|")
    for size, run in results["runs"].items():
        lines.append(f"| {int(size):,} | {run['codes_per_band']:,.0f} | "
                     f"{run['codes_from_buckets_3_to_max_per_band']:,.0f} | "
                     f"{run['codes_estimated_total']:,.0f} |")
    print("\n".join(lines))
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
