"""Small work: a whole ``dedup scan`` of a few hundred to a few thousand articles, with the
compiled kernels and without them, to see where loading them starts to pay.

    python -m benchmarks.perf.small [--docs 250,500,1000,2000,4000] [--rounds 3] [--workers N]

For each size, the first ``N`` articles of the 10k perf corpus (:mod:`.corpus`) are scanned
as a user runs it (``dedup scan FILE --format json -q -o /dev/null``), each run a new
process, once with the kernels (:func:`dedup.compiled.using` ``True``) and once on numpy and
the per-document tokenizer (``False``), in alternating order, ``--rounds`` times. A run's
seconds are from starting the process to its end (Python's start and imports included);
its CPU seconds are the process's and its workers'. The reports of the two ways must be
byte-identical, and are checked.

:data:`dedup.compiled.MIN_DOCUMENTS` is where the scan chooses the kernels by itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dedup import compiled

from .corpus import DEFAULT_DUP_RATE, DEFAULT_SEED, cached_corpus

_CHILD = """
import sys
from dedup import compiled
from dedup.cli import entry
on, argv = sys.argv[1] == "on", sys.argv[2:]
sys.argv = ["dedup", *argv]
with compiled.using(on):
    entry()
"""


def run_once(path: Path, on: bool, workers: int | None, output: Path) -> tuple[float, float]:
    """Seconds and CPU seconds of one scan of ``path`` in a new process."""
    argv = ["scan", str(path), "--format", "json", "-q", "-o", str(output)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    before = os.times()
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CHILD, "on" if on else "off", *argv], check=True)
    seconds = time.perf_counter() - began
    after = os.times()
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return seconds, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="250,500,1000,2000,4000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.docs.split(",")]
    source = cached_corpus(10_000, DEFAULT_SEED, DEFAULT_DUP_RATE)
    with source.open("rb") as f:
        lines = f.readlines()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Loaded (or compiled) once, so that no timed run compiles them.
        warm = folder / "warm.jsonl"
        warm.write_bytes(b"".join(lines[:50]))
        run_once(warm, True, 1, folder / "warm.json")
        print(f"dedup scan of the first N articles of {source.name}; {os.cpu_count()} CPUs, "
              f"Python {sys.version.split()[0]}; MIN_DOCUMENTS = {compiled.MIN_DOCUMENTS}; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print("median of", args.rounds, "alternating rounds: seconds (CPU seconds)\n")
        print("| articles | kernels | numpy | numpy / kernels |")
        print("|---:|---:|---:|---:|")
        for size in sizes:
            path = folder / f"first-{size}.jsonl"
            path.write_bytes(b"".join(lines[:size]))
            times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
            digests: dict[bool, str] = {}
            for round_ in range(args.rounds):
                for on in ((True, False) if round_ % 2 == 0 else (False, True)):
                    output = folder / f"report-{on}.json"
                    times[on].append(run_once(path, on, args.workers, output))
                    digests[on] = hashlib.md5(output.read_bytes()).hexdigest()
            if digests[True] != digests[False]:
                raise SystemExit(f"{size} articles: the reports differ with and without "
                                 "the kernels")
            wall = {on: statistics.median(t for t, _ in runs) for on, runs in times.items()}
            cpu = {on: statistics.median(c for _, c in runs) for on, runs in times.items()}
            print(f"| {size:,} | {wall[True]:.2f} ({cpu[True]:.2f}) | "
                  f"{wall[False]:.2f} ({cpu[False]:.2f}) | {wall[False] / wall[True]:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
