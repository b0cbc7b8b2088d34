"""Boilerplate: stock sentences that many documents carry without sharing a story.

Agency credits, "Lesen Sie auch" teasers, legal notes ("Der Volltext dieses auf
Agenturmeldungen basierenden Artikels steht aus rechtlichen Gründen nicht mehr zur
Verfügung.") and newsletter footers recur across unrelated articles. Counting them as shared
text makes unrelated articles look like copies, and short articles the worst.

A sentence that many documents share is either boilerplate or a sentence of a widely copied
story. The difference is its company: a copied story's sentences travel together, so in the
copies they stand in long runs of shared sentences that make up most of the document. A stock
line travels alone, or in a short footer under otherwise unrelated text. See
:class:`dedup.config.BoilerplateConfig` for the exact rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import xxhash

from .config import BoilerplateConfig
from .tokens import Tokens

#: Key of a sentence too short to be judged (it never counts as boilerplate or as shared).
NO_KEY = 0


def sentence_keys(tokens: Tokens, min_words: int) -> np.ndarray:
    """A stable 64-bit key per sentence: its normalized words, hashed (0 if too short)."""
    keys = np.zeros(len(tokens.sentences), dtype=np.uint64)
    for index, (first, last) in enumerate(tokens.sentences):
        if last - first >= min_words:
            digest = xxhash.xxh3_64_intdigest(" ".join(tokens.words[first:last]).encode("utf-8"))
            keys[index] = digest or 1
    return keys


def boilerplate_keys(
    documents: Sequence[tuple[np.ndarray, np.ndarray]], config: BoilerplateConfig
) -> frozenset[int]:
    """Keys of boilerplate sentences in a corpus.

    ``documents`` holds, per document, its sentence keys and the word count of each sentence.
    """
    frequency: Counter[int] = Counter()
    for keys, _ in documents:
        frequency.update(int(k) for k in set(keys.tolist()) if k != NO_KEY)
    frequent = {k for k, c in frequency.items() if c >= config.min_docs}
    if not frequent:
        return frozenset()

    story_hits: Counter[int] = Counter()
    for keys, lengths in documents:
        total = int(lengths.sum())
        for first, last in _shared_runs(keys, frequency):
            run = [int(k) for k in keys[first:last].tolist() if k != NO_KEY]
            if len(run) >= config.story_sentences and int(lengths[first:last].sum()) * 2 >= total:
                story_hits.update(k for k in set(run) if k in frequent)
    return frozenset(k for k in frequent if story_hits[k] < 2)


def _shared_runs(keys: np.ndarray, frequency: Counter[int]) -> list[tuple[int, int]]:
    """Maximal ``[first, last)`` runs of sentences that other documents share too.

    Sentences too short to have a key do not break a run.
    """
    runs: list[tuple[int, int]] = []
    first = -1
    last = -1
    for position, key in enumerate(keys.tolist()):
        if key == NO_KEY:
            continue
        if frequency[key] >= 2:
            if first < 0:
                first = position
            last = position + 1
            continue
        if first >= 0:
            runs.append((first, last))
        first = -1
    if first >= 0:
        runs.append((first, last))
    return runs
