"""Regression guard: detection quality on the quick subset of the quality benchmark.

Thresholds sit a few points under the figures measured on 2026-11-22 (benchmarks/README.md),
so a change that makes detection clearly worse fails here; the full benchmark
(``python -m benchmarks.quality.run``) measures the real figures.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.quality.run import run_quality


@pytest.fixture(scope="module")
def quality() -> dict[str, Any]:
    result = run_quality(quick=True, systems=["dedup"])
    return {name: entry["systems"]["dedup"] for name, entry in result["corpora"].items()}


def test_syndication_copies_are_clustered(quality: dict[str, Any]) -> None:
    syndication = quality["syndication"]
    assert syndication["pairwise"]["f1"] >= 0.96  # measured 0.991
    assert syndication["ari"] >= 0.96  # measured 0.991
    for kind, recall in syndication["recall_by_kind"].items():
        assert recall["clustered"] >= 0.9, kind  # measured 1.000 for every kind


def test_roundup_passages_are_found_with_accurate_offsets(quality: dict[str, Any]) -> None:
    roundup = quality["syndication"]["passages"]["roundup"]
    assert roundup["recall"] >= 0.95  # measured 1.000
    assert roundup["iou_found"] >= 0.9  # measured 0.990


def test_boilerplate_stubs_never_match(quality: dict[str, Any]) -> None:
    assert quality["syndication"]["negatives"]["boilerplate_stub"]["matched"] == 0


def test_clough_reuse_levels_and_hard_negatives(quality: dict[str, Any]) -> None:
    recall = quality["clough"]["recall_by_kind"]
    assert recall["cut"]["clustered"] >= 0.85  # measured 0.895 (2 of 19 answers use another source)
    assert recall["light"]["clustered"] >= 0.95  # measured 1.000
    assert recall["heavy"]["clustered"] >= 0.85  # measured 0.947
    assert quality["clough"]["negatives"]["clough_non"]["rate"] <= 0.05  # measured 0.026


def test_vroniplag_passages_are_found(quality: dict[str, Any]) -> None:
    passages = quality["vroniplag"]["passages"]
    assert passages["verbatim"]["recall"] >= 0.72  # measured 0.791
    assert passages["disguised"]["recall"] >= 0.7  # measured 0.773


def test_same_story_in_other_words_does_not_match(quality: dict[str, Any]) -> None:
    assert quality["lee"]["negatives"]["lee_same_story"]["matched"] == 0
    assert quality["seeds"]["negatives"]["same_story_other_source"]["matched"] == 0
    # Known weakness (benchmarks/README.md): successive updates of one ongoing story are
    # sometimes called rewrites; measured 22 such pairs among 300 Lee background items.
    rewrites = quality["lee"]["unlabelled_pairs"]["by_relation"].get("rewrite", 0)
    assert rewrites <= 25


def test_seed_rewrite_is_found(quality: dict[str, Any]) -> None:
    assert quality["seeds"]["recall_by_kind"]["heavy_seed"]["clustered"] == 1.0
