"""A seeded synthetic news corpus of any size with a known share of copies.

Originals are 400-600 words of German-like news prose: sentences drawn from a word bigram
chain over the 10kGNAD test split (real vocabulary, word frequencies and punctuation, but new
sentences, so unrelated originals share only common short phrases, as real articles do;
recombining whole 10kGNAD sentences instead would make every sentence recur in hundreds of
unrelated documents at 100k articles and look like boilerplate). A known share of documents (``dup_rate``,
default 20 %) are copies of an earlier original, dealt out evenly over three kinds:

- ``exact``: the original's text, byte for byte;
- ``trimmed``: the first 50-80 % of the original's sentences;
- ``edited``: 2-5 words replaced by words from elsewhere in the pool and one sentence
  dropped (a light edit).

Document ``i`` depends only on ``(seed, i)``, so a 10k corpus is the first tenth of the 100k
one, and any size can be generated in one streaming pass (nothing but the sentence pool is
held in memory).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from benchmarks.quality.corpora import gnad_rows
from benchmarks.quality.german import split_sentences

KINDS = ("exact", "trimmed", "edited")
DEFAULT_SEED = 20261122
DEFAULT_DUP_RATE = 0.2
# A copy's source is an original among the previous ``_WINDOW`` documents (copies of a wire
# story appear close together in a feed).
_WINDOW = 2000


@dataclass(frozen=True)
class Generated:
    id: str
    text: str
    kind: str  # "original" or one of KINDS
    source: str | None  # id of the copied original


_TOKEN = re.compile(r"\w+|[^\w\s]")
_ENDS = frozenset(".!?")


@lru_cache(maxsize=1)
def chain() -> tuple[list[str], list[list[int]], list[int]]:
    """Word bigram successors: ``(vocabulary, successors[word], sentence starters)``."""
    vocab: dict[str, int] = {}
    successors: list[list[int]] = []
    starters: list[int] = []
    for sentence in sentence_pool():
        tokens = [vocab.setdefault(t, len(vocab)) for t in _TOKEN.findall(sentence)]
        while len(successors) < len(vocab):
            successors.append([])
        if not tokens or sentence[-1] not in _ENDS:
            continue
        starters.append(tokens[0])
        for a, b in pairwise(tokens):
            successors[a].append(b)
    return list(vocab), successors, starters


def _sentence(rng: random.Random) -> str:
    words, successors, starters = chain()
    token = starters[rng.randrange(len(starters))]
    out = [words[token]]
    while words[token] not in _ENDS or len(out) < 4:
        following = successors[token]
        if not following or len(out) > 60:
            out.append(".")
            break
        token = following[rng.randrange(len(following))]
        out.append(words[token])
    text = " ".join(out)
    return _NO_SPACE_BEFORE.sub(r"\1", text)


_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?)])")


@lru_cache(maxsize=1)
def sentence_pool() -> tuple[str, ...]:
    """Sentences of 10kGNAD (5-60 words, deduplicated, in file order)."""
    seen: set[str] = set()
    pool: list[str] = []
    for _topic, text in gnad_rows():
        for sentence in split_sentences(text):
            words = len(sentence.split())
            if 5 <= words <= 60 and sentence not in seen:
                seen.add(sentence)
                pool.append(sentence)
    return tuple(pool)


def doc_id(i: int) -> str:
    return f"p{i:08d}"


def _rng(seed: int, i: int, salt: int = 0) -> random.Random:
    return random.Random(seed * 1_000_003 + i * 7 + salt)


def kind_of(seed: int, i: int, dup_rate: float) -> str:
    rng = _rng(seed, i, 1)
    if i == 0 or rng.random() >= dup_rate:
        return "original"
    return KINDS[rng.randrange(len(KINDS))]


def original_sentences(seed: int, i: int) -> list[str]:
    rng = _rng(seed, i, 2)
    target = rng.randint(400, 600)
    sentences: list[str] = []
    words = 0
    while words < target:
        sentence = _sentence(rng)
        sentences.append(sentence)
        words += len(sentence.split())
    return sentences


def _paragraphs(sentences: list[str]) -> str:
    return "\n\n".join(" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4))


def source_of(seed: int, i: int, dup_rate: float) -> int:
    rng = _rng(seed, i, 3)
    while True:
        j = max(0, i - rng.randint(1, _WINDOW))
        if kind_of(seed, j, dup_rate) == "original":
            return j


def document(seed: int, i: int, dup_rate: float = DEFAULT_DUP_RATE) -> Generated:
    kind = kind_of(seed, i, dup_rate)
    if kind == "original":
        return Generated(doc_id(i), _paragraphs(original_sentences(seed, i)), kind, None)
    j = source_of(seed, i, dup_rate)
    sentences = original_sentences(seed, j)
    rng = _rng(seed, i, 4)
    if kind == "trimmed":
        sentences = sentences[: max(3, int(len(sentences) * rng.uniform(0.5, 0.8)))]
    elif kind == "edited":
        sentences = list(sentences)
        del sentences[rng.randrange(1, len(sentences))]
        pool = sentence_pool()
        for _ in range(rng.randint(2, 5)):
            k = rng.randrange(len(sentences))
            words = sentences[k].split()
            donor = pool[rng.randrange(len(pool))].split()
            words[rng.randrange(len(words))] = donor[rng.randrange(len(donor))]
            sentences[k] = " ".join(words)
    return Generated(doc_id(i), _paragraphs(sentences), kind, doc_id(j))


def generate(count: int, seed: int = DEFAULT_SEED,
             dup_rate: float = DEFAULT_DUP_RATE) -> Iterator[Generated]:
    for i in range(count):
        yield document(seed, i, dup_rate)


def _documents(job: tuple[int, int, int, float]) -> list[Generated]:
    start, end, seed, dup_rate = job
    return [document(seed, i, dup_rate) for i in range(start, end)]


def write_corpus(path: Path, count: int, seed: int = DEFAULT_SEED,
                 dup_rate: float = DEFAULT_DUP_RATE, *, jobs: int = 1,
                 prefix: Path | None = None) -> dict[str, int]:
    """Write ``count`` documents as JSONL to ``path`` (and the gold copies to
    ``path.gold.jsonl``); returns the number of documents per kind.

    Document ``i`` depends only on ``(seed, i)``, so ``prefix`` (a smaller corpus of the same
    seed and rate, with its gold file) is copied as the first documents, and ``jobs``
    processes generate the rest in order."""
    counts: dict[str, int] = {}
    done = 0
    with open(path, "w", encoding="utf-8") as out, \
            open(str(path) + ".gold.jsonl", "w", encoding="utf-8") as gold:
        if prefix is not None:
            copied = {json.loads(line)["id"]: json.loads(line)
                      for line in Path(str(prefix) + ".gold.jsonl").read_text("utf-8")
                      .splitlines()}
            with open(prefix, encoding="utf-8") as f:
                for line in f:
                    if done == count:
                        break
                    out.write(line)
                    doc_id = json.loads(line)["id"]
                    kind = copied[doc_id]["kind"] if doc_id in copied else "original"
                    counts[kind] = counts.get(kind, 0) + 1
                    if doc_id in copied:
                        gold.write(json.dumps(copied[doc_id]) + "\n")
                    done += 1
        chunk = 5000
        work = [(start, min(start + chunk, count), seed, dup_rate)
                for start in range(done, count, chunk)]
        if jobs > 1 and len(work) > 1:
            import multiprocessing

            chain()  # built once, inherited by the forked workers
            pool = multiprocessing.get_context("fork").Pool(jobs)
            parts: Iterator[list[Generated]] = pool.imap(_documents, work)
        else:
            pool = None
            parts = map(_documents, work)
        try:
            for part in parts:
                for g in part:
                    out.write(json.dumps({"id": g.id, "text": g.text}, ensure_ascii=False)
                              + "\n")
                    counts[g.kind] = counts.get(g.kind, 0) + 1
                    if g.source is not None:
                        gold.write(json.dumps({"id": g.id, "source": g.source, "kind": g.kind})
                                   + "\n")
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    return counts


def cached_corpus(count: int, seed: int = DEFAULT_SEED,
                  dup_rate: float = DEFAULT_DUP_RATE, jobs: int = 1) -> Path:
    """The corpus file under benchmarks/out/perf, generated on first use (starting from the
    largest smaller one already there)."""
    folder = Path(__file__).resolve().parent.parent / "out" / "perf"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"corpus-{count}-{seed}-{dup_rate}.jsonl"
    if not path.exists():
        smaller = [p for p in folder.glob(f"corpus-*-{seed}-{dup_rate}.jsonl")
                   if int(p.name.split("-")[1]) < count
                   and Path(str(p) + ".gold.jsonl").exists()]
        prefix = max(smaller, key=lambda p: int(p.name.split("-")[1]), default=None)
        tmp = path.with_suffix(".tmp")
        write_corpus(tmp, count, seed, dup_rate, jobs=jobs, prefix=prefix)
        Path(str(tmp) + ".gold.jsonl").replace(str(path) + ".gold.jsonl")
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dup-rate", type=float, default=DEFAULT_DUP_RATE)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=1, help="processes generating (default 1)")
    args = parser.parse_args(argv)
    counts = write_corpus(args.output, args.docs, args.seed, args.dup_rate, jobs=args.jobs)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
