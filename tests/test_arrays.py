"""dedup.arrays: numpy's results, found faster."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.arrays import distinct, starts


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=60),
       st.sampled_from([np.uint64, np.int64, np.int32, np.uint8, np.bool_]))
def test_distinct_is_numpys_unique(values: list[int], dtype: type[np.generic]) -> None:
    array = np.asarray(values, dtype=np.uint64).astype(dtype)  # wraps into the dtype
    found = distinct(array)
    expected = np.unique(array)
    assert found.dtype == expected.dtype
    assert found.tolist() == expected.tolist()


def test_distinct_flattens_and_leaves_its_input_alone() -> None:
    grid = np.array([[3, 1], [3, 2]], dtype=np.int64)
    assert distinct(grid).tolist() == [1, 2, 3]
    assert grid.tolist() == [[3, 1], [3, 2]]
    assert distinct([]).tolist() == []
    assert distinct([5, 5, 5]).tolist() == [5]


def test_distinct_of_floats_keeps_numpys_rules() -> None:
    assert np.isnan(distinct(np.array([np.nan, 1.0, np.nan]))[-1])
    assert len(distinct(np.array([np.nan, 1.0, np.nan]))) == 2


@given(st.lists(st.integers(0, 1000), max_size=20))
def test_starts_are_where_each_run_of_counts_begins(counts: list[int]) -> None:
    found = starts(counts)
    assert found.dtype == np.int64
    assert found.tolist() == [sum(counts[:k]) for k in range(len(counts) + 1)]
