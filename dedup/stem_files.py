"""Content-word stems written while signing, read back when judging boilerplate.

Judging a frequent sentence compares the content words of the documents carrying it (a
dozen sampled); at a million articles 216,951 documents are asked for, and tokenizing them
again took 28-30 s of the boilerplate stage's 37-41 s (0.26-0.28 ms of CPU a document).
Signing tokenizes every document anyway, so it writes the stem hashes of each block's
content words, and how many each sentence has, to a temporary folder, and judging reads
them back (12.4 s at a million): 2.4 KB an article, 2.4 GB at a million, on disk rather
than in memory.

The folder must be one the engine's workers see (local processes, a dask LocalCluster);
without one, judging tokenizes the documents again, with the same result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def write_block(folder: str, name: str, stems: np.ndarray, sentence_stems: np.ndarray) -> None:
    """Write one block's documents' stems (uint64, in order) and how many of them each of
    their sentences has (int64), one document after another."""
    base = os.path.join(folder, name)
    stems.astype(np.uint64, copy=False).tofile(base + ".stems")
    sentence_stems.astype(np.int64, copy=False).tofile(base + ".counts")


@dataclass
class StemFiles:
    """Where each document's (row's) stems lie among the blocks written by
    :func:`write_block`: the blocks hold consecutive rows, ``firsts[b]`` the first of block
    ``b`` (file ``names[b]``; a block may hold none)."""

    folder: str
    names: list[str]
    firsts: np.ndarray  # int64 per block, ascending
    stem_at: np.ndarray  # int64 per row and the total: its first stem, over all blocks
    sentence_at: np.ndarray  # int64 per row and the total: its first sentence, likewise

    @classmethod
    def of(cls, folder: str, names: list[str], rows: Sequence[int], stem_counts: np.ndarray,
           sentence_counts: np.ndarray) -> StemFiles:
        """The files ``names`` of blocks of ``rows[b]`` documents each, whose documents have
        ``stem_counts`` stems and ``sentence_counts`` sentences (one per document, all
        blocks' documents one after another)."""
        firsts = np.zeros(len(rows), dtype=np.int64)
        np.cumsum(np.asarray(rows[:-1], dtype=np.int64), out=firsts[1:])
        return cls(folder, names, firsts, _starts(stem_counts), _starts(sentence_counts))

    def read(self, rows: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Of each of ``rows``: the stems of its content words (uint64, in order) and how
        many of them each of its sentences has (int64). Each block file asked for is read
        once, whole: rows near each other share blocks."""
        blocks = np.searchsorted(self.firsts, np.asarray(rows, dtype=np.int64),
                                 side="right") - 1
        read: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        out = []
        for row, block in zip(rows, blocks.tolist()):
            if block not in read:
                base = os.path.join(self.folder, self.names[block])
                read[block] = (np.fromfile(base + ".stems", dtype=np.uint64),
                               np.fromfile(base + ".counts", dtype=np.int64))
            stems, counts = read[block]
            first = int(self.firsts[block])
            stem = self.stem_at[row] - self.stem_at[first]
            sentence = self.sentence_at[row] - self.sentence_at[first]
            out.append((stems[stem : stem + self.stem_at[row + 1] - self.stem_at[row]],
                        counts[sentence : sentence + self.sentence_at[row + 1]
                               - self.sentence_at[row]]))
        return out


def _starts(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out
