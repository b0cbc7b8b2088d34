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

Each process (each thread of one, as a dask worker runs several tasks at once) appends its
blocks to one pair of files: a pair of files a block were 782 files at 100,000 articles,
and creating a file took 0.5-0.7 ms of system time here (0.15 s for 800 blocks written to
one file against 0.54-1.45 s to one file each).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .arrays import starts


def write_block(folder: str, stems: np.ndarray, sentence_stems: np.ndarray) -> Written:
    """Write one block's documents' stems (uint64, in order) and how many of them each of
    their sentences has (int64), one document after another, after the blocks this thread
    wrote before; where they are."""
    name = f"{os.getpid()}-{threading.get_ident()}"
    base = os.path.join(folder, name)
    with open(base + ".stems", "ab") as out:
        stems_at = out.tell()
        stems.astype(np.uint64, copy=False).tofile(out)
    with open(base + ".counts", "ab") as out:
        counts_at = out.tell()
        sentence_stems.astype(np.int64, copy=False).tofile(out)
    return Written(name, stems_at, counts_at)


class Written(NamedTuple):
    """Where :func:`write_block` wrote a block: the files' name and the bytes before it in
    each."""

    name: str
    stems_at: int
    counts_at: int


@dataclass
class StemFiles:
    """Where each document's (row's) stems lie among the blocks written by
    :func:`write_block`: the blocks hold consecutive rows, ``firsts[b]`` the first of block
    ``b`` (written at ``blocks[b]``; a block may hold none)."""

    folder: str
    blocks: list[Written]
    firsts: np.ndarray  # int64 per block, ascending, and the number of rows
    stem_at: np.ndarray  # int64 per row and the total: its first stem, over all blocks
    sentence_at: np.ndarray  # int64 per row and the total: its first sentence, likewise

    @classmethod
    def of(cls, folder: str, blocks: list[Written], rows: Sequence[int],
           stem_counts: np.ndarray, sentence_counts: np.ndarray) -> StemFiles:
        """The blocks written at ``blocks``, of ``rows[b]`` documents each, whose documents
        have ``stem_counts`` stems and ``sentence_counts`` sentences (one per document, all
        blocks' documents one after another)."""
        return cls(folder, blocks, starts(np.asarray(rows, dtype=np.int64)),
                   starts(stem_counts), starts(sentence_counts))

    def read(self, rows: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Of each of ``rows``: the stems of its content words (uint64, in order) and how
        many of them each of its sentences has (int64). Each block asked for is read once,
        whole: rows near each other share blocks."""
        blocks = np.searchsorted(self.firsts[:-1], np.asarray(rows, dtype=np.int64),
                                 side="right") - 1
        read: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        out = []
        for row, block in zip(rows, blocks.tolist()):
            first, end = int(self.firsts[block]), int(self.firsts[block + 1])
            if block not in read:
                name, stems_at, counts_at = self.blocks[block]
                base = os.path.join(self.folder, name)
                read[block] = (
                    np.fromfile(base + ".stems", dtype=np.uint64, offset=stems_at,
                                count=int(self.stem_at[end] - self.stem_at[first])),
                    np.fromfile(base + ".counts", dtype=np.int64, offset=counts_at,
                                count=int(self.sentence_at[end] - self.sentence_at[first])))
            stems, counts = read[block]
            stem = self.stem_at[row] - self.stem_at[first]
            sentence = self.sentence_at[row] - self.sentence_at[first]
            out.append((stems[stem : stem + self.stem_at[row + 1] - self.stem_at[row]],
                        counts[sentence : sentence + self.sentence_at[row + 1]
                               - self.sentence_at[row]]))
        return out


