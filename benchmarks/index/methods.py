"""A check's two ways to its candidates, side by side: looking the batch's band keys up in
the index, and scanning every archived signature with the batch.

    python -m benchmarks.index.methods [--cases 1000/9000,4000/6000,100/90000,...] [--rounds 2]
        [--redis redis://HOST:PORT/DB]

Each case ``B/A`` indexes the first ``A`` articles of the perf corpus (:mod:`benchmarks.perf.
corpus`, the 10k one when ``A + B`` fits in it, else the 100k one; indexes are cached in
``benchmarks/out/index-methods/``) and takes the ``B`` articles after them as the batch. In
one process, the batch is signed once, then :func:`dedup.check.candidate_pairs` runs with
``method="lookup"`` and ``method="scan"`` in alternating order, ``--rounds`` times each, on
the CLI's default engine (a pool of every CPU), inside a read transaction as a check runs
it. Both ways must give the same pairs, and are checked; what :func:`dedup.check.
scan_is_cheaper` would choose is printed beside them.

With ``--redis``, each archive is indexed in that Redis server (under the prefix
``methods-A``, built once and kept there) and the two ways read it instead of the SQLite
file.

Times are the candidate step's alone: not reading the batch, signing it, verifying or the
report (``dedup check`` end to end is timed in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.perf.corpus import cached_corpus
from dedup import compiled
from dedup.check import candidate_pairs, scan_is_cheaper
from dedup.config import Config
from dedup.engines import Engine, make_engine
from dedup.index import (
    IndexStoreError,
    Session,
    Signed,
    build_index,
    open_index,
    sign_documents,
)
from dedup.io import read_corpus

OUT = Path(__file__).resolve().parent.parent / "out" / "index-methods"
CASES = "100/90000,1000/90000,10000/90000,1000/9000,4000/6000"


def _lines(path: Path, start: int, end: int) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [line for k, line in enumerate(f) if start <= k < end]


def _case(batch: int, archive: int, redis: str | None = None) -> tuple[str, Path]:
    """The index of ``archive`` articles (a file, or in the Redis server at ``redis``) and
    the file of the ``batch`` after them."""
    corpus = cached_corpus(10_000 if archive + batch <= 10_000 else 100_000)
    OUT.mkdir(parents=True, exist_ok=True)
    archive_file = OUT / f"archive-{archive}.jsonl"
    batch_file = OUT / f"batch-{batch}-after-{archive}.jsonl"
    index = OUT / f"archive-{archive}.dedup"
    if not archive_file.exists():
        archive_file.write_text("".join(_lines(corpus, 0, archive)), encoding="utf-8")
    if not batch_file.exists():
        batch_file.write_text("".join(_lines(corpus, archive, archive + batch)),
                              encoding="utf-8")
    location = str(index) if redis is None else f"{redis}?prefix=methods-{archive}"
    if redis is not None:
        try:
            with open_index(location) as opened:
                if opened.info().documents == archive:
                    return location, batch_file
        except IndexStoreError:  # not built there yet (or not to the end)
            pass
    elif index.exists():
        return location, batch_file
    started = time.perf_counter()
    build_index(location, read_corpus([str(archive_file)]).documents, engine=make_engine(),
                force=redis is not None)
    print(f"built {location} in {time.perf_counter() - started:.1f} s", flush=True)
    return location, batch_file


def _finder(signatures: np.ndarray, ids: list[str], config: Config, engine: Engine,
            method: str) -> Callable[[Session], list[tuple[int, int, bool]]]:
    def find(session: Session) -> list[tuple[int, int, bool]]:
        return candidate_pairs(session, signatures, ids, config, engine, method=method)
    return find


def _cases(text: str) -> list[tuple[int, int]]:
    """``B/A,B/A,...`` as (batch, archive) pairs of positive sizes."""
    out = []
    for case in text.split(","):
        batch, _, archive = case.partition("/")
        if not (batch.strip().isdigit() and archive.strip().isdigit()
                and int(batch) > 0 and int(archive) > 0):
            raise argparse.ArgumentTypeError(
                f"'{case}' is not BATCH/ARCHIVE (two positive article counts, e.g. 1000/9000)")
        out.append((int(batch), int(archive)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=_cases, default=_cases(CASES),
                        help="BATCH/ARCHIVE, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", metavar="URL",
                        help="index the archives in this Redis server instead of SQLite files")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        _run(args.cases, args.rounds, args.redis)
    except IndexStoreError as error:  # e.g. no Redis server at --redis
        parser.exit(1, f"error: {error}\n")


def _run(cases: list[tuple[int, int]], rounds: int, redis: str | None) -> None:
    engine = make_engine()
    print("| batch | archive | lookup | scan | pairs | auto chooses |")
    print("|---:|---:|---|---|---:|---|")
    for batch, archive in cases:
        location, batch_file = _case(batch, archive, redis)
        docs = read_corpus([str(batch_file)]).documents
        with compiled.using(True), open_index(location) as index:
            config = index.config
            signed = [s for s in sign_documents(docs, config) if isinstance(s, Signed)]
            signatures = np.stack([s.entry.signature for s in signed])
            ids = [s.entry.doc.id for s in signed]
            seconds: dict[str, list[float]] = {"lookup": [], "scan": []}
            found: dict[str, list[tuple[int, int, bool]]] = {}
            for _ in range(rounds):
                for method, times in seconds.items():
                    started = time.perf_counter()
                    found[method] = index.transact(
                        _finder(signatures, ids, config, engine, method), write=False)
                    times.append(time.perf_counter() - started)
            if found["lookup"] != found["scan"]:
                raise SystemExit(f"{batch}/{archive}: the two ways found different pairs")
            held = index.transact(lambda session: session.count(), write=False)
            chosen = "scan" if scan_is_cheaper(len(signed), held) else "lookup"
            print(f"| {batch:,} | {archive:,} | "
                  + " | ".join(", ".join(f"{s:.2f} s" for s in seconds[m]) for m in seconds)
                  + f" | {len(found['scan']):,} | {chosen} |", flush=True)


if __name__ == "__main__":
    main()
