"""A whole scan, stage by stage: where the time and the memory go at 100k or 1M articles.

    python -m benchmarks.perf.stages --docs 1000000 [--workers N] [--engine dask] [--interval 2]

Runs in a child process what ``dedup scan CORPUS --format json`` runs (read the corpus into
a document store, :func:`dedup.scan` on the CLI's default engine, write the JSON report to
``/dev/null``) and times each stage from the scan's own progress calls (reading, signing,
boilerplate, candidates, verifying; "cluster and report" is what follows the last call).
From 10,000 articles on a local pool, boilerplate is learned in a process of its own while
the pool finds candidates: its stage is then only the wait for it once they are found, and
its CPU seconds land in the stage during which its process is found ended (candidates,
where the pool's workers start after it has).
Meanwhile a sampler reads ``/proc`` every ``--interval`` seconds for the process and its
workers: the largest resident set (what the 6 GB target is about; a forked worker counts
the parent's pages it shares), the proportional set size of all of them together (PSS:
shared pages counted once, so the memory the scan really takes), the parent's resident set
and the largest private memory of a worker, each the peak seen while the stage ran.

With ``--engine dask`` the scan runs on a dask LocalCluster of ``--workers`` processes (the
CLI's ``--engine dask``); starting and closing the cluster are stages of their own, and its
worker processes (children of this one) are sampled like a pool's.

Each stage's CPU seconds are this process's and those of its children that ended during
the stage (a process pool's workers end with the stage that made the pool): against the
stage's seconds they show how busy the two cores were. A dask cluster's workers end when it
closes, so with ``--engine dask`` their time lands there.

The corpus file is read once first (:func:`benchmarks.perf.run.read_through`), so that the
scan finds it in the page cache however long ago it was last read.

Prints a Markdown table and the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from .corpus import DEFAULT_DUP_RATE, DEFAULT_SEED, cached_corpus
from .run import read_through


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its children that have ended (a
    pool's workers end with the pool, at the end of the stage that made it)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _memory_mb(pid: int) -> tuple[float, float, float]:
    """(resident set, proportional set, private pages) of one process in MB; zeros if it is
    gone."""
    fields = {"Rss:": 0.0, "Pss:": 0.0, "Private_Clean:": 0.0, "Private_Dirty:": 0.0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                name = line.split(maxsplit=1)[0]
                if name in fields:
                    fields[name] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return fields["Rss:"], fields["Pss:"], fields["Private_Clean:"] + fields["Private_Dirty:"]


class Stages:
    """Progress calls in, seconds and sampled memory per stage out."""

    def __init__(self) -> None:
        self.current = "start"
        self.started: dict[str, float] = {}
        self.totals: dict[str, int] = {}
        self.memory: dict[str, dict[str, float]] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds used when each stage started
        self.lock = threading.Lock()

    def enter(self, stage: str) -> None:
        with self.lock:
            if stage != self.current:
                self.current = stage
                if stage not in self.started:
                    self.started[stage] = time.perf_counter()
                    self.cpu[stage] = _cpu_seconds()

    def progress(self, stage: str, done: int, total: int) -> None:
        self.enter(stage)
        self.totals[stage] = total or done

    def sample(self) -> None:
        parent, *workers = [_memory_mb(pid) for pid in _tree(os.getpid())]
        now = {"largest_rss_mb": max(m[0] for m in (parent, *workers)),
               "pss_mb": sum(m[1] for m in (parent, *workers)),
               "parent_rss_mb": parent[0],
               "worker_private_mb": max((m[2] for m in workers), default=0.0)}
        with self.lock:
            seen = self.memory.setdefault(self.current, dict.fromkeys(now, 0.0))
            for name, value in now.items():
                seen[name] = max(seen[name], value)


def run_child(path: str, workers: int | None, interval: float,
              engine_kind: str = "local") -> dict[str, Any]:
    from dedup.batch import warm_tables
    from dedup.config import Config
    from dedup.engines import default_workers, make_engine
    from dedup.io import read_corpus
    from dedup.pipeline import scan
    from dedup.report import json_pieces

    stages = Stages()
    done = threading.Event()

    def sampler() -> None:
        while not done.wait(interval):
            stages.sample()

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    began = time.perf_counter()
    stages.enter("reading")
    corpus = read_corpus([path], spool=True, workers=workers or default_workers(),
                         meanwhile=warm_tables)  # as the CLI: the kernels load while reading
    if engine_kind != "local":
        stages.enter("starting the cluster")
    engine = make_engine(workers, kind=engine_kind)
    report = scan(corpus.documents, Config(), stages.progress, engine=engine)
    stages.enter("cluster and report")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sink.writelines(json_pieces(report))
    close = getattr(engine, "close", None)
    if close is not None:
        stages.enter("closing the cluster")
        close()
    ended = time.perf_counter()
    cpu_end = _cpu_seconds()
    done.set()
    thread.join()
    stages.sample()
    order = sorted(stages.started, key=stages.started.__getitem__)
    bounds = [stages.started[s] for s in order] + [ended]
    cpu = [stages.cpu[s] for s in order] + [cpu_end]
    return {
        "documents": report.documents,
        "candidates": report.stats["candidates"],
        "pairs": len(report.pairs),
        "clusters": len(report.clusters),
        "total_seconds": ended - began,
        "total_cpu_seconds": cpu_end,
        "stages": {stage: {"seconds": bounds[k + 1] - bounds[k],
                           "cpu_seconds": cpu[k + 1] - cpu[k],
                           "items": stages.totals.get(stage),
                           **stages.memory.get(stage, {})}
                   for k, stage in enumerate(order)},
    }


def _table(result: dict[str, Any]) -> str:
    lines = [("| stage | seconds | CPU seconds | items | largest process RSS "
              "| all processes PSS | parent RSS | largest worker private |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    def mb(value: float | None) -> str:
        return "not sampled" if value is None else f"{value:,.0f} MB"

    for stage, row in result["stages"].items():
        items = f"{row['items']:,}" if row.get("items") is not None else ""
        lines.append(f"| {stage} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | {items} | "
                     f"{mb(row.get('largest_rss_mb'))} | {mb(row.get('pss_mb'))} | "
                     f"{mb(row.get('parent_rss_mb'))} | {mb(row.get('worker_private_mb'))} |")
    lines.append(f"| **end to end** | **{result['total_seconds']:.1f}** | "
                 f"{result['total_cpu_seconds']:.1f} | {result['documents']:,} articles "
                 "| | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.workers, args.interval, args.engine)))
        return 0
    path = cached_corpus(args.docs, DEFAULT_SEED, DEFAULT_DUP_RATE)
    read_through(str(path))
    cmd = [sys.executable, "-m", "benchmarks.perf.stages", "--child", str(path),
           "--interval", str(args.interval), "--engine", args.engine]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    print(_table(result))
    print()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
