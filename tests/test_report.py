"""The JSON report written piece by piece is the text json.dumps writes, for any content."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.models import Cluster, Match, Passage, Report
from dedup.report import json_pieces, to_json

# Ids and names with quotes, backslashes, control characters, non-ASCII and astral characters.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NUMBER = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, 1e-05, 0.00005, 123456789.123456, 5e-324, 1e300, 0, 1])
OFFSET = st.integers(0, 2**40)

PASSAGES = st.builds(Passage, OFFSET, OFFSET, OFFSET, OFFSET,
                     st.sampled_from(["verbatim", "reworded"]), NUMBER)
MATCHES = st.builds(Match, TEXT, TEXT, st.sampled_from(["duplicate", "contains", "rewrite"]),
                    NUMBER, NUMBER, NUMBER, st.lists(PASSAGES, max_size=3).map(tuple))
CLUSTERS = st.builds(Cluster, TEXT, TEXT, st.lists(TEXT, max_size=4).map(tuple))


@settings(max_examples=300)
@given(st.lists(MATCHES, max_size=4), st.lists(CLUSTERS, max_size=4), st.integers(0, 10))
def test_json_pieces_are_json_dumps(pairs: list[Match], clusters: list[Cluster],
                                    documents: int) -> None:
    report = Report(documents=documents, params={"lsh": {"num_perm": 256}}, clusters=clusters,
                    pairs=pairs, stats={"candidates": len(pairs)})
    text = "".join(json_pieces(report))
    assert text == to_json(report)
    assert text == json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
