"""Quality metrics: clusters against gold clusters, pairs against labelled pairs, reported
passage offsets against gold offsets.

Pure functions over :mod:`.shapes`; numpy for the contingency table, no scikit-learn.

Definitions
-----------
- *Pairwise precision / recall / F1* over same-cluster pairs: a pair of documents is
  predicted positive when the system puts both in one cluster, gold positive when the gold
  puts both in one cluster. Documents a system does not cluster are singletons.
- *Adjusted Rand index* (Hubert & Arabie 1985) of the two partitions of the corpus.
- *Recall per edit kind*: a labelled pair counts as found when both documents share a cluster
  (``clustered``) or, more leniently, when the system reports a non-``partial`` pair for them
  (``reported``); ``any`` also accepts a ``partial`` pair.
- *Passage recall*: a gold passage is found when a reported pair of those two documents has a
  passage that overlaps the gold span on both sides. Its *IoU* is computed per side between the
  union of the overlapping reported spans and the gold span, and averaged over the two sides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .shapes import Corpus, GoldPassage, PairResult, Span, SystemResult

# --------------------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------------------


def partition_labels(clusters: Iterable[Iterable[str]], universe: Sequence[str]) -> np.ndarray:
    """One integer label per document of ``universe``; documents outside every cluster get a
    label of their own. Overlapping clusters are merged (a document has one cluster)."""
    index = {doc: i for i, doc in enumerate(universe)}
    parent = list(range(len(universe)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for cluster in clusters:
        members = [index[d] for d in cluster if d in index]
        for other in members[1:]:
            ra, rb = find(members[0]), find(other)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.fromiter(
        (find(i) for i in range(len(universe))), dtype=np.int64, count=len(universe)
    )
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _contingency(
    labels_true: np.ndarray, labels_pred: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell counts n_ij (non-zero only), row sums a_i and column sums b_j."""
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.shape != labels_pred.shape:
        raise ValueError("label arrays differ in length")
    _, t = np.unique(labels_true, return_inverse=True)
    _, p = np.unique(labels_pred, return_inverse=True)
    cells = t.astype(np.int64) * (int(p.max(initial=0)) + 1) + p
    _, n_ij = np.unique(cells, return_counts=True)
    return n_ij, np.bincount(t), np.bincount(p)


@dataclass(frozen=True)
class PairwiseScores:
    precision: float | None  # None when the system put no two documents together
    recall: float | None  # None when the gold has no two documents together
    f1: float | None
    true_pairs: int
    predicted_pairs: int
    gold_pairs: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "gold_pairs": self.gold_pairs,
        }


def pairwise_scores(labels_true: np.ndarray, labels_pred: np.ndarray) -> PairwiseScores:
    """Precision, recall and F1 over same-cluster pairs, from the contingency table."""
    n_ij, a, b = _contingency(labels_true, labels_pred)
    tp, gold, predicted = _pairs(n_ij), _pairs(a), _pairs(b)
    precision = tp / predicted if predicted else None
    recall = tp / gold if gold else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, predicted, gold)


def adjusted_rand_index(
    labels_true: Sequence[int] | np.ndarray, labels_pred: Sequence[int] | np.ndarray
) -> float:
    """Adjusted Rand index: (index - expected) / (max - expected), 1.0 for identical partitions.

    As in scikit-learn, the degenerate cases where both partitions are all-singletons or
    one single cluster (max == expected) score 1.0.
    """
    n_ij, a, b = _contingency(np.asarray(labels_true), np.asarray(labels_pred))
    n = int(a.sum())
    if n < 2:
        return 1.0
    index = float(_pairs(n_ij))
    sum_a, sum_b = float(_pairs(a)), float(_pairs(b))
    expected = sum_a * sum_b / (n * (n - 1) / 2)
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


class Found:
    """What one system found in one corpus, indexed for lookups by document pair."""

    def __init__(self, corpus: Corpus, result: SystemResult) -> None:
        self.universe = corpus.ids
        self.labels = partition_labels(result.clusters, self.universe)
        self._label = dict(zip(self.universe, self.labels.tolist()))
        self.pairs: dict[frozenset[str], list[PairResult]] = defaultdict(list)
        for pair in result.pairs:
            self.pairs[pair.key].append(pair)

    def clustered(self, a: str, b: str) -> bool:
        return bool(self._label[a] == self._label[b])

    def reported(self, a: str, b: str, *, partial: bool) -> bool:
        """A pair reported for ``a`` and ``b``; ``partial=False`` ignores ``partial`` ones."""
        return any(
            partial or p.relation != "partial" for p in self.pairs.get(frozenset((a, b)), ())
        )

    def matched(self, a: str, b: str) -> bool:
        """Any sign that the system links ``a`` and ``b``: same cluster or any reported pair."""
        return self.clustered(a, b) or self.reported(a, b, partial=True)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def recall_by_kind(corpus: Corpus, found: Found) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, pairs in sorted(corpus.gold_pairs_by_kind.items()):
        clustered = reported = anything = 0
        missed: list[list[str]] = []
        for pair in pairs:
            a, b = sorted(pair)
            c = found.clustered(a, b)
            r = c or found.reported(a, b, partial=False)
            x = r or found.reported(a, b, partial=True)
            clustered += c
            reported += r
            anything += x
            if not r:
                missed.append([a, b])
        out[kind] = {
            "pairs": len(pairs),
            "clustered": _ratio(clustered, len(pairs)),
            "reported": _ratio(reported, len(pairs)),
            "any": _ratio(anything, len(pairs)),
            "missed": sorted(missed)[:20],
        }
    return out


def negatives(corpus: Corpus, found: Found) -> dict[str, dict[str, Any]]:
    """Pairs that must not match: how many the system clustered or reported anyway."""
    out: dict[str, dict[str, Any]] = {}
    for kind, pairs in sorted(corpus.negative_pairs.items()):
        hits = sorted(sorted(p) for p in pairs if found.matched(*sorted(p)))
        clustered = sum(1 for p in pairs if found.clustered(*sorted(p)))
        out[kind] = {
            "pairs": len(pairs),
            "matched": len(hits),
            "clustered": clustered,
            "rate": _ratio(len(hits), len(pairs)),
            "examples": hits[:20],
        }
    return out


def unlabelled_pairs(corpus: Corpus, found: Found, result: SystemResult) -> dict[str, Any]:
    """Reported pairs that no label explains: false positives of the pair output.

    Explained are: pairs inside one gold cluster, pairs with a gold passage, pairs that share a
    passage without offsets (``expected_partial``) and negative pairs (counted on their own).
    """
    gold_labels = partition_labels(corpus.gold_clusters, corpus.ids)
    gold_label = dict(zip(corpus.ids, gold_labels.tolist()))
    explained = {frozenset((p.a, p.b)) for p in corpus.gold_passages} | corpus.expected_partial
    for negative in corpus.negative_pairs.values():
        explained |= negative
    by_relation: dict[str, int] = defaultdict(int)
    examples: list[dict[str, Any]] = []
    for key, pairs in sorted(found.pairs.items(), key=lambda kv: sorted(kv[0])):
        a, b = sorted(key)
        if gold_label.get(a) == gold_label.get(b) or key in explained:
            continue
        relation = pairs[0].relation
        by_relation[relation] += 1
        if len(examples) < 25:
            examples.append({"a": a, "b": b, "relation": relation})
    return {
        "count": sum(by_relation.values()),
        "by_relation": dict(by_relation),
        "examples": examples,
    }


# --------------------------------------------------------------------------------------------
# Passages
# --------------------------------------------------------------------------------------------


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def span_iou(spans: Iterable[Span], gold: Span) -> float:
    """IoU of the union of ``spans`` with the ``gold`` span, in characters."""
    union = _union(spans)
    g_start, g_end = gold
    inter = sum(max(0, min(e, g_end) - max(s, g_start)) for s, e in union)
    covered = sum(e - s for s, e in union) + (g_end - g_start) - inter
    return inter / covered if covered else 0.0


def _overlaps(span: Span, gold: Span) -> bool:
    return span[0] < gold[1] and gold[0] < span[1]


def passage_match(gold: GoldPassage, pairs: Sequence[PairResult]) -> tuple[float, float] | None:
    """IoU on the ``a`` and ``b`` side of the reported passages that overlap ``gold`` on both
    sides, or ``None`` if no reported passage does."""
    a_spans: list[Span] = []
    b_spans: list[Span] = []
    for pair in pairs:
        swap = pair.a != gold.a
        for p in pair.passages:
            a_span, b_span = ((p.a_start, p.a_end), (p.b_start, p.b_end))
            if swap:
                a_span, b_span = b_span, a_span
            if _overlaps(a_span, gold.a_span) and _overlaps(b_span, gold.b_span):
                a_spans.append(a_span)
                b_spans.append(b_span)
    if not a_spans:
        return None
    return span_iou(a_spans, gold.a_span), span_iou(b_spans, gold.b_span)


def passage_scores(corpus: Corpus, found: Found, result: SystemResult) -> dict[str, dict[str, Any]]:
    by_kind: dict[str, list[GoldPassage]] = defaultdict(list)
    for gold in corpus.gold_passages:
        by_kind[gold.kind].append(gold)
    out: dict[str, dict[str, Any]] = {}
    for kind, golds in sorted(by_kind.items()):
        pair_found = clustered = 0
        ious: list[float] = []
        missed: list[list[str]] = []
        for gold in golds:
            pair_found += found.matched(gold.a, gold.b)
            clustered += found.clustered(gold.a, gold.b)
            match = passage_match(gold, found.pairs.get(frozenset((gold.a, gold.b)), ()))
            if match is None:
                missed.append([gold.a, gold.b])
            else:
                ious.append(sum(match) / 2)
        n = len(golds)
        out[kind] = {
            "passages": n,
            "pair_found": _ratio(pair_found, n),
            "clustered": clustered,
            "recall": _ratio(len(ious), n) if result.reports_passages else None,
            "iou_found": float(np.mean(ious)) if ious else None,
            "iou_all": float(np.sum(ious) / n) if n and result.reports_passages else None,
            "missed": missed[:20],
        }
    return out


# --------------------------------------------------------------------------------------------
# Everything for one corpus
# --------------------------------------------------------------------------------------------


def evaluate(corpus: Corpus, result: SystemResult) -> dict[str, Any]:
    """All metrics of one system on one corpus, as a JSON-ready dict."""
    found = Found(corpus, result)
    gold = partition_labels(corpus.gold_clusters, corpus.ids)
    metrics: dict[str, Any] = {"seconds": round(result.seconds, 2)}
    if corpus.gold_clusters:
        metrics["pairwise"] = pairwise_scores(gold, found.labels).to_dict()
        metrics["ari"] = adjusted_rand_index(gold, found.labels)
    else:
        scores = pairwise_scores(gold, found.labels)
        metrics["clustered_pairs"] = scores.predicted_pairs
    if corpus.gold_pairs_by_kind:
        metrics["recall_by_kind"] = recall_by_kind(corpus, found)
    if corpus.gold_passages:
        metrics["passages"] = passage_scores(corpus, found, result)
    if corpus.negative_pairs:
        metrics["negatives"] = negatives(corpus, found)
    metrics["unlabelled_pairs"] = unlabelled_pairs(corpus, found, result)
    metrics["reported_pairs"] = len(found.pairs)
    return metrics
