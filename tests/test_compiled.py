"""The compiled kernels and the numpy path give the same results (dedup.compiled)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.perf.corpus import generate
from dedup import Document, compiled, scan
from dedup._reference import exact_runs_reference, reference_signature
from dedup.align import exact_runs
from dedup.candidates import _band_pairs_reference, band_pairs
from dedup.check import check
from dedup.index import build_index, open_index
from dedup.signatures import Signer

from .conftest import ROOT


@pytest.fixture(scope="module")
def corpus(seed_docs: list[Document]) -> list[Document]:
    generated = [Document(g.id, g.text) for g in generate(400, seed=11, dup_rate=0.3)]
    # Lone surrogates, as a JSON text may escape them: copies of a seed holding them.
    text = seed_docs[0].text
    half = text.index(" ", len(text) // 2)
    lone = [Document("zz-lone-a", f"{text[:half]} \ud800{text[half:]}"),
            Document("zz-lone-b", f"\udfff {text}")]
    return [*seed_docs, *generated, *lone, Document("zz-short", "Zu kurz.")]


def test_a_scan_is_the_same_with_and_without_the_kernels(corpus: list[Document]) -> None:
    with compiled.using(True):
        fast = scan(corpus).to_dict()
    with compiled.using(False):
        plain = scan(corpus).to_dict()
    assert fast == plain
    assert fast["pairs"] and fast["clusters"], "the corpus must hold copies to mean anything"
    assert any(p["a"] == "zz-lone-a" and p["b"] == "zz-lone-b" for p in fast["pairs"])


def test_an_index_check_is_the_same_with_and_without_the_kernels(
        corpus: list[Document], tmp_path: Path) -> None:
    archive, batch = corpus[::2], corpus[1::2]
    found = []
    for on in (True, False):
        with compiled.using(on):
            location = str(tmp_path / f"archive-{on}.dedup")
            build_index(location, archive)
            with open_index(location) as index:
                result = check(index, batch)
        found.append(result.pairs)
    assert found[0] == found[1] and found[0]


def test_small_work_does_not_load_numba() -> None:
    # A few articles run faster without importing numba and loading the kernels (0.8 s).
    code = ("import sys\nfrom click.testing import CliRunner\nfrom dedup.cli import cli\n"
            f"r = CliRunner().invoke(cli, ['scan', {str(ROOT / 'seeds')!r}])\n"
            "print(r.exit_code, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["0", "False"]


def test_warming_loads_every_kernel_for_the_types_a_scan_passes() -> None:
    # Workers forked after warm_tables() inherit the loaded kernels; a call with other
    # argument types (a read-only array, say) makes every worker of every scan load that
    # kernel again: 0.6 s of CPU a worker, at 100k articles, for counting collisions.
    code = (
        "from benchmarks.perf.corpus import generate\n"
        "from dedup import Document, compiled, kernels, scan\n"
        "from dedup.batch import warm_tables\n"
        "def loaded():\n"
        "    return {name: len(fn.signatures) for name, fn in vars(kernels).items()\n"
        "            if hasattr(fn, 'signatures') and hasattr(fn, 'py_func')}\n"
        "docs = [Document(g.id, g.text) for g in generate(300, seed=5, dup_rate=0.3)]\n"
        "with compiled.using(True):\n"
        "    warm_tables()\n"
        "    before = loaded()\n"
        "    report = scan(docs)\n"
        "after = loaded()\n"
        "print(len(report.pairs) > 0, sorted(k for k in after if after[k] != before[k]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=1) == ["True", "[]\n"]


def test_loading_the_kernels_leaves_scipy_linalg_alone_and_importable() -> None:
    # numba's BLAS check would import scipy.linalg (0.2-0.3 s of every process's start);
    # the kernels skip it, and must not leave scipy.linalg unimportable for anyone else.
    code = ("import sys\nfrom dedup.batch import warm_tables\nwarm_tables()\n"
            "print('scipy.linalg' in sys.modules)\n"
            "import scipy.linalg, scipy.linalg.cython_blas\n"
            "import numpy as np\n"
            "print(float(scipy.linalg.det(np.eye(2))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "1.0"]


def test_the_size_chooses_unless_chosen() -> None:
    with compiled.for_documents(compiled.MIN_DOCUMENTS - 1):
        assert not compiled.enabled()
    with compiled.for_documents(compiled.MIN_DOCUMENTS):
        assert compiled.enabled()
    with compiled.using(False), compiled.for_documents(10**9):
        assert not compiled.enabled()
    assert compiled.enabled()


@settings(deadline=None, max_examples=40)
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=300), max_size=5),
       st.sampled_from([1, 16, 256]))
def test_numpy_signatures_are_datasketchs(sets: list[list[int]], num_perm: int) -> None:
    signer = Signer(num_perm, 1)
    with compiled.using(False):
        signed = signer.sign_many([np.asarray(s, dtype=np.uint32) for s in sets])
    expected = [reference_signature(s, num_perm, 1).tolist() if s else [2**32 - 1] * num_perm
                for s in sets]
    assert signed.tolist() == expected


repeated_ids = st.tuples(st.lists(st.integers(0, 2), min_size=1, max_size=12),
                         st.integers(1, 60), st.lists(st.integers(0, 2), max_size=30)).map(
    lambda t: np.asarray(t[0] * t[1] + t[2], np.uint64))


@settings(deadline=None, max_examples=150)
@given(repeated_ids, repeated_ids, st.integers(1, 3))
def test_numpy_exact_runs_are_the_references(a: np.ndarray, b: np.ndarray, seed: int) -> None:
    with compiled.using(False):
        assert exact_runs(a, b, seed) == exact_runs_reference(a, b, seed)


@settings(deadline=None, max_examples=100)
@given(st.lists(st.integers(0, 12), max_size=80), st.integers(2, 8))
def test_numpy_band_pairs_are_the_references_sorted(values: list[int], max_bucket: int) -> None:
    column = np.asarray(values, dtype=np.uint32)
    with compiled.using(False):
        plain = band_pairs(column, max_bucket)
    assert plain.tolist() == sorted(_band_pairs_reference(column, max_bucket).tolist())
    assert plain.tolist() == band_pairs(column, max_bucket).tolist()


def test_kernels_compile_without_a_cache_where_none_can_be_written() -> None:
    # numba raises when it finds no folder for its cache (a read-only installation and no
    # writable home); the kernels then compile in each process instead.
    code = ("import numba\nreal = numba.njit\n"
            "def refusing(*args, **options):\n"
            "    if options.get('cache'):\n"
            "        raise RuntimeError('cannot cache function: no locator available')\n"
            "    return real(*args, **options)\n"
            "numba.njit = refusing\n"
            "import numpy as np\nfrom dedup import kernels\n"
            "from dedup.shingle import _shingle_hashes64_numpy, _POSITION_MULTIPLIERS\n"
            "words = np.arange(1, 9, dtype=np.uint64)\n"
            "print(kernels.shingle_hashes64(words, 3, _POSITION_MULTIPLIERS).tolist()"
            " == _shingle_hashes64_numpy(words, 3).tolist(),"
            " type(kernels.shingle_hashes64._cache).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["True", "NullCache"]
