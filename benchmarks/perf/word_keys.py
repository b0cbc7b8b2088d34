"""Do distinct words get distinct keys in dedup.batch's vocabulary lookup?

    python -m benchmarks.perf.word_keys [--random 400000]

Keys the distinct words of the German and English data sets in ``benchmarks/data``, then
every string of up to 3 characters over 42 letters, digits and marks and ``--random`` random
strings of each length from 4 to 24 (seeded), and prints how many distinct words or strings
and distinct keys there were: equal counts mean no two share a key.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from dedup.batch import word_keys
from dedup.tokens import tokenize

ALPHABET = "abcdefghijklmnopqrstuvwxyzäöüß0123456789'é"


def strings(random: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    out = ["".join(p) for size in (1, 2, 3) for p in itertools.product(ALPHABET, repeat=size)]
    letters = np.array(list(ALPHABET))
    for size in range(4, 25):
        picks = np.unique(rng.integers(0, len(ALPHABET), (random, size)), axis=0)
        out += ["".join(row) for row in letters[picks]]
    return out


def real_words() -> list[str]:
    """The distinct words of the German and English data sets (10kGNAD test split, Clough &
    Stevenson, Lee, VroniPlag)."""
    from benchmarks.quality.corpora import clough, gnad_rows, lee, vroniplag

    texts = [text for _, text in gnad_rows()]
    for corpus in (clough(), lee(), vroniplag(seed=0)):
        texts += [doc.text for doc in corpus.documents]
    words: set[str] = set()
    for text in texts:
        words.update(tokenize(text).words)
    return sorted(w for w in words if all(ord(c) <= 0xFFFF for c in w))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=400_000)
    args = parser.parse_args()
    for name, words in (("real words", real_words()), ("strings", strings(args.random))):
        keys = word_keys(words)
        print(f"{name}: {len(set(words)):,} distinct, {len(np.unique(keys)):,} distinct keys")


if __name__ == "__main__":
    main()
