"""The document store: texts on disk, everything else as a list of documents would give it."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.perf.corpus import generate
from dedup import Document, scan
from dedup.engines.local import ProcessEngine
from dedup.errors import InputError
from dedup.io import read_corpus
from dedup.kernels import utf8_points
from dedup.models import Member
from dedup.store import (
    _META,
    DocumentStore,
    ids_of,
    in_id_order,
    members_of,
    meta_of,
    select,
    texts_of,
)

DOCS = [
    Document("b", "Zweiter Text über die Straße.", title="B", date="2024-01-02",
             origin="x.jsonl:2"),
    Document("a", "Erster Text \u201eZitat\u201c \ud800 mit einem einsamen Surrogat.",
             source="dpa", url="https://example.org/a", origin="x.jsonl:1"),
    Document("c", "", origin="x.jsonl:3"),
    Document("d", "😀 außerhalb der BMP " * 500, origin="x.jsonl:4"),
]


def _spools() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("dedup-texts-")}


def test_documents_come_back_exactly() -> None:
    with DocumentStore() as store:
        store.extend(DOCS)
        assert len(store) == len(DOCS)
        assert list(store) == DOCS
        assert [store[i] for i in range(len(DOCS))] == DOCS
        assert store[1:3] == DOCS[1:3] and store[-1] == DOCS[-1]
        assert store.ids == ["b", "a", "c", "d"]
        assert list(store.texts(1, 4)) == texts_of(DOCS, 1, 4) == [d.text for d in DOCS[1:4]]
        assert [meta_of(d) for d in DOCS] == [tuple(getattr(d, f) for f in _META)
                                             for d in DOCS]


def test_views_sort_and_select_without_copying() -> None:
    store = DocumentStore()
    store.extend(DOCS)
    ordered = store.sorted_by_id()
    assert list(ordered) == sorted(DOCS, key=lambda d: d.id)
    picked = ordered.select([3, 0])
    assert list(picked) == [ordered[3], ordered[0]] and picked.ids == ["d", "a"]
    assert ids_of(picked) == ["d", "a"] and ids_of(DOCS) == ["b", "a", "c", "d"]
    assert list(select(DOCS, [2, 1])) == [DOCS[2], DOCS[1]]
    assert list(texts_of(picked, 0, 2)) == [DOCS[3].text, DOCS[1].text]
    with pytest.raises(TypeError, match="read-only"):
        ordered.add(DOCS[0])
    with pytest.raises(TypeError, match="read-only"):
        store.add(DOCS[0])  # sealed by making a view
    del store  # the views keep the file open
    assert list(picked) == [ordered[3], ordered[0]]


def test_texts_read_together_as_code_points_are_the_strings_encoded() -> None:
    # Lone surrogates, characters beyond the plane, an empty text; texts that lie together
    # in the file (read at once) and apart (a view in another order).
    store = DocumentStore()
    store.extend([*DOCS, Document("e", "Noch ein Text, nach dem letzten.")])
    for view in (store.texts(0, 5), store.sorted_by_id().texts(0, 5),
                 store.select([4, 1, 0, 3]).texts(0, 4)):
        assert view.lengths() == [len(text) for text in view]
        for picked in ([0, 1, 2, 3], [3, 1], [2], [], list(range(len(view)))):
            joined = "".join(view[i] for i in picked).encode("utf-32-le", "surrogatepass")
            assert view.code_points(picked).tolist() == list(memoryview(joined).cast("I"))
        assert view[1:3] == [view[1], view[2]]


@settings(deadline=None, max_examples=300)
@given(st.text(st.sampled_from("abcdefgh äß„\x00\ud800\U0001f600"), max_size=40)
       | st.text(st.characters(exclude_categories=()), max_size=40))
def test_the_utf8_kernel_decodes_what_python_encodes(text: str) -> None:
    # Runs of eight ASCII bytes take the kernel's short way; anything else one at a time.
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    want = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    assert utf8_points(data, len(text)).tolist() == want.tolist()
    for wrong in (len(text) - 1, len(text) + 1):
        if wrong >= 0:
            with pytest.raises(ValueError, match="another number of characters"):
                utf8_points(data, wrong)


def test_members_are_what_the_documents_say_without_reading_texts() -> None:
    store = DocumentStore()
    store.extend(DOCS)
    picked = store.sorted_by_id().select([3, 1, 0])
    expected = [Member(d.id, d.date, len(d.text)) for d in picked]
    assert members_of(picked) == expected == members_of(list(picked))
    assert expected[2] == Member("a", None, len(DOCS[1].text)) and expected[1].date == "2024-01-02"
    store.close()  # no text can be read now, and none is needed
    assert members_of(picked) == expected


def test_pickling_sends_the_documents() -> None:
    store = DocumentStore()
    store.extend(DOCS)
    assert pickle.loads(pickle.dumps(store.sorted_by_id())) == sorted(DOCS, key=lambda d: d.id)


def test_nothing_is_left_on_disk() -> None:
    before = _spools()
    store = DocumentStore()
    store.extend(DOCS)
    assert _spools() == before  # created already unlinked
    store.close()
    with pytest.raises(ValueError):
        store[0]


def test_duplicate_ids_name_both_places() -> None:
    store = DocumentStore()
    store.extend([*DOCS, Document("a", "again", origin="y.jsonl:9")])
    with pytest.raises(InputError, match="document id 'a' appears twice: x.jsonl:1 and "
                                         "y.jsonl:9; ids must be unique"):
        in_id_order(store)


def test_spooled_corpus_reads_like_a_list(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text or " ", "title": d.title})
                            + "\n" for d in DOCS), "utf-8")
    plain, spooled = read_corpus([str(path)]), read_corpus([str(path)], spool=True)
    assert isinstance(spooled.documents, DocumentStore)
    assert list(spooled.documents) == plain.documents
    assert (spooled.skipped, spooled.warnings) == (plain.skipped, plain.warnings)


def test_scan_of_a_store_equals_scan_of_a_list_also_in_worker_processes() -> None:
    docs = [Document(d.id, d.text) for d in generate(300, seed=3, dup_rate=0.3)]
    store = DocumentStore()
    store.extend(reversed(docs))
    expected = scan(docs).to_dict()
    assert expected["pairs"], "the corpus must contain copies for this test to mean anything"
    assert scan(store).to_dict() == expected
    assert scan(store, engine=ProcessEngine(2, chunk_size=16, min_items=1)).to_dict() == expected
