"""Tests for dedup.stem_files: blocks appended by several threads read back row by row."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from dedup.stem_files import StemFiles, Written, write_block


def test_blocks_written_by_several_threads_read_back_as_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    # Six blocks of documents (one block empty); a document: its stems, and how many of them
    # each of its sentences has.
    sizes = [3, 0, 2, 4, 1, 2]
    docs = []
    for _ in range(sum(sizes)):
        per_sentence = rng.integers(0, 4, size=rng.integers(1, 4))
        docs.append((rng.integers(0, 2**63, size=int(per_sentence.sum()), dtype=np.uint64),
                     per_sentence.astype(np.int64)))
    firsts = np.cumsum([0, *sizes])
    written: list[Written | None] = [None] * len(sizes)

    # Both threads alive at once: a thread's ident may be reused once it has ended, and
    # then the second thread appends to the first one's files (as it may, but then there
    # is only one pair of them to look at).
    both = threading.Barrier(2)

    def write(blocks: list[int]) -> None:
        both.wait()
        for b in blocks:
            block = docs[firsts[b] : firsts[b + 1]]
            stems = np.concatenate([s for s, _ in block]) if block else np.zeros(0, np.uint64)
            counts = np.concatenate([c for _, c in block]) if block else np.zeros(0, np.int64)
            written[b] = write_block(str(tmp_path), stems, counts)

    threads = [threading.Thread(target=write, args=(blocks,)) for blocks in ([0, 2, 4],
                                                                            [1, 3, 5])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({w.name for w in written if w is not None}) == 2  # a file pair a thread
    assert len(list(tmp_path.iterdir())) == 4
    files = StemFiles.of(str(tmp_path), [w for w in written if w is not None], sizes,
                         np.array([len(s) for s, _ in docs]),
                         np.array([len(c) for _, c in docs]))
    rows = [5, 0, 11, 3, 7, 1]
    for row, (stems, counts) in zip(rows, files.read(rows)):
        assert stems.tolist() == docs[row][0].tolist()
        assert counts.tolist() == docs[row][1].tolist()
