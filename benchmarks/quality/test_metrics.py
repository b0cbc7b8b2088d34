"""Metrics on hand-made examples, and against brute-force pair counting."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.models import Document

from .metrics import (
    Found,
    adjusted_rand_index,
    negatives,
    pairwise_scores,
    partition_labels,
    passage_match,
    passage_scores,
    recall_by_kind,
    span_iou,
)
from .shapes import Corpus, GoldPassage, PairResult, ReportedPassage, SystemResult


def test_ari_matches_known_values() -> None:
    # The values scikit-learn documents for adjusted_rand_score.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(0.5714285714)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    assert adjusted_rand_index([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)


def test_ari_by_hand() -> None:
    # Contingency [[2, 1, 0], [0, 1, 2]]: index 2, expected 6 * 3 / 15 = 1.2, max 4.5.
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.8 / 3.3)


def test_ari_degenerate_partitions_score_one() -> None:
    assert adjusted_rand_index([0, 1, 2], [5, 6, 7]) == 1.0
    assert adjusted_rand_index([0, 0, 0], [1, 1, 1]) == 1.0
    assert adjusted_rand_index([0], [0]) == 1.0


def test_pairwise_scores_by_hand() -> None:
    universe = ["a", "b", "c", "d", "e", "f"]
    gold = partition_labels([{"a", "b", "c"}, {"d", "e"}], universe)
    predicted = partition_labels([{"a", "b"}, {"c", "d", "e"}], universe)
    scores = pairwise_scores(gold, predicted)
    # gold pairs ab ac bc de; predicted ab cd ce de; both agree on ab and de.
    assert (scores.true_pairs, scores.predicted_pairs, scores.gold_pairs) == (2, 4, 4)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.5)
    assert scores.f1 == pytest.approx(0.5)


def test_pairwise_scores_undefined_without_pairs() -> None:
    universe = ["a", "b", "c"]
    scores = pairwise_scores(partition_labels([], universe), partition_labels([], universe))
    assert scores.precision is None and scores.recall is None and scores.f1 is None


def test_partition_merges_overlapping_clusters_and_ignores_unknown_ids() -> None:
    labels = partition_labels([{"a", "b"}, {"b", "c"}, {"x", "d"}], ["a", "b", "c", "d", "e"])
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def _brute_force(labels_true: list[int], labels_pred: list[int]) -> tuple[float, int, int, int]:
    pairs = list(combinations(range(len(labels_true)), 2))
    same_true = {p for p in pairs if labels_true[p[0]] == labels_true[p[1]]}
    same_pred = {p for p in pairs if labels_pred[p[0]] == labels_pred[p[1]]}
    index, total = len(same_true & same_pred), len(pairs)
    expected = len(same_true) * len(same_pred) / total
    maximum = (len(same_true) + len(same_pred)) / 2
    ari = 1.0 if maximum == expected else (index - expected) / (maximum - expected)
    return ari, index, len(same_pred), len(same_true)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=30))
def test_metrics_agree_with_brute_force_pair_counting(labels: list[tuple[int, int]]) -> None:
    labels_true = [t for t, _ in labels]
    labels_pred = [p for _, p in labels]
    ari, index, predicted, gold = _brute_force(labels_true, labels_pred)
    assert adjusted_rand_index(labels_true, labels_pred) == pytest.approx(ari)
    scores = pairwise_scores(np.array(labels_true), np.array(labels_pred))
    assert (scores.true_pairs, scores.predicted_pairs, scores.gold_pairs) == (
        index,
        predicted,
        gold,
    )


def test_span_iou() -> None:
    assert span_iou([(0, 10)], (5, 15)) == pytest.approx(5 / 15)
    assert span_iou([(0, 5), (5, 10)], (0, 10)) == pytest.approx(1.0)
    assert span_iou([(0, 4), (6, 10)], (0, 10)) == pytest.approx(0.8)
    assert span_iou([(20, 30)], (0, 10)) == 0.0
    assert span_iou([], (0, 10)) == 0.0


def test_passage_match_orients_pairs_and_ignores_other_passages() -> None:
    gold = GoldPassage("x", "y", (100, 200), (0, 100), "roundup")
    # The system names the pair the other way round: its "a" is gold's "b".
    pair = PairResult(
        "y",
        "x",
        "partial",
        (
            ReportedPassage(0, 50, 100, 150),
            ReportedPassage(50, 100, 150, 200),
            ReportedPassage(300, 400, 500, 600),
        ),
    )
    assert passage_match(gold, [pair]) == pytest.approx((1.0, 1.0))
    shifted = PairResult("x", "y", "partial", (ReportedPassage(150, 250, 50, 150),))
    assert passage_match(gold, [shifted]) == pytest.approx((50 / 150, 50 / 150))
    elsewhere = PairResult("x", "y", "partial", (ReportedPassage(150, 250, 300, 400),))
    assert passage_match(gold, [elsewhere]) is None


def _corpus() -> Corpus:
    docs = [Document(id=i, text=i * 50) for i in ("o", "c1", "c2", "r", "n")]
    return Corpus(
        name="toy",
        documents=docs,
        gold_clusters=[{"o", "c1", "c2"}],
        gold_pairs_by_kind={"light": {frozenset(("o", "c1"))}, "heavy": {frozenset(("o", "c2"))}},
        gold_passages=[GoldPassage("r", "o", (0, 10), (20, 30), "roundup")],
        negative_pairs={"stub": {frozenset(("n", "o"))}},
    )


def test_recall_by_kind_counts_clusters_and_pairs_separately() -> None:
    corpus = _corpus()
    result = SystemResult(
        clusters=[{"o", "c1"}],
        pairs=[PairResult("c1", "o", "duplicate"), PairResult("c2", "o", "partial")],
        reports_passages=True,
    )
    recall = recall_by_kind(corpus, Found(corpus, result))
    assert recall["light"]["clustered"] == recall["light"]["reported"] == 1.0
    # A partial pair is not a found copy, but it is "any" relation.
    assert recall["heavy"]["clustered"] == 0.0
    assert recall["heavy"]["reported"] == 0.0
    assert recall["heavy"]["any"] == 1.0


def test_negatives_and_passages() -> None:
    corpus = _corpus()
    result = SystemResult(
        clusters=[],
        pairs=[
            PairResult("n", "o", "partial"),
            PairResult("o", "r", "partial", (ReportedPassage(20, 30, 0, 5),)),
        ],
        reports_passages=True,
    )
    found = Found(corpus, result)
    assert negatives(corpus, found)["stub"]["matched"] == 1
    passages = passage_scores(corpus, found, result)["roundup"]
    assert passages["recall"] == 1.0
    assert passages["iou_found"] == pytest.approx((1.0 + 0.5) / 2)
    assert passages["clustered"] == 0
