"""What getting a block's texts to the folding kernel costs: as strings, or as code points.

    python -m benchmarks.perf.texts [--docs 100000] [--rounds 3]

Reads the perf corpus of ``--docs`` articles into a document store in id order (what ``dedup
scan`` signs from) and, for blocks of 256 articles, times the two ways the code points of a
block reach :func:`dedup.normalize.plain_fold_code_points`, in alternating rounds:

* ``strings``: each text read and decoded (``DocumentStore.texts``, one at a time), the block
  joined and encoded to UTF-32: what signing did until session 15;
* ``code points``: :meth:`dedup.store.StoredTexts.code_points`, the block's UTF-8 read at once
  and decoded by a compiled kernel, no string made.

Prints microseconds an article for each, and checks that both give the same code points.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dedup.io import read_corpus
from dedup.store import StoredTexts, in_id_order

from .corpus import DEFAULT_DUP_RATE, DEFAULT_SEED, cached_corpus

BLOCK = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = cached_corpus(args.docs, DEFAULT_SEED, DEFAULT_DUP_RATE)
    store = in_id_order(read_corpus([str(path)], spool=True).documents)
    blocks = [(start, min(start + BLOCK, len(store))) for start in range(0, len(store), BLOCK)]

    def strings(start: int, end: int) -> np.ndarray:
        texts = [store._text(r) for r in store._record_rows()[start:end]]  # type: ignore[attr-defined]
        return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"),
                             dtype=np.uint32)

    def code_points(start: int, end: int) -> np.ndarray:
        texts: StoredTexts = store.texts(start, end)  # type: ignore[attr-defined]
        return texts.code_points(range(end - start))

    for start, end in blocks[:4]:  # the kernel loaded, and the same points
        assert np.array_equal(strings(start, end), code_points(start, end))
    timings: dict[str, list[float]] = {"strings": [], "code points": []}
    for _ in range(args.rounds):
        for name, way in (("strings", strings), ("code points", code_points)):
            began = time.perf_counter()
            for start, end in blocks:
                way(start, end)
            timings[name].append((time.perf_counter() - began) / len(store) * 1e6)
    print(f"{len(store):,} articles ({path.name}), blocks of {BLOCK}; us an article, "
          f"{args.rounds} alternating rounds")
    for name, values in timings.items():
        print(f"  {name:12s} " + "  ".join(f"{v:5.2f}" for v in values))
    ratios = [s / c for s, c in zip(timings["strings"], timings["code points"])]
    print("  strings / code points: " + "  ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
