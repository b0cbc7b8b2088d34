"""The dask engine on a real LocalCluster (loopback) gives the local engine's report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.perf.corpus import generate
from dedup import Document, scan


@pytest.mark.filterwarnings("ignore")
def test_local_cluster_report_is_identical(seed_docs: list[Document],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import candidates
    from dedup.engines.dask import DaskEngine

    # Candidates found on the cluster, as for a large corpus.
    monkeypatch.setattr(candidates, "SPILL_MIN_DOCUMENTS", 0)

    note = "Der Volltext dieses Artikels steht aus rechtlichen Gründen nicht mehr zur Verfügung."
    docs = [*seed_docs, *(Document(g.id, f"{g.text}\n{note}" if k % 10 == 0 else g.text)
                          for k, g in enumerate(generate(120, seed=5, dup_rate=0.3)))]
    serial = scan(docs).to_dict()
    with DaskEngine(workers=2, chunk_size=16) as engine:
        distributed = scan(docs, engine=engine).to_dict()
        # Not set by the nanny: it made every large numpy array a fresh mapping. (A lambda,
        # so that the worker's environment is read, not this process's pickled.)
        trims = engine.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        # The same cluster by its address, as an existing one: its workers are taken not to
        # see this machine's temporary directory, so stems are found again and candidate
        # codes come back here to be counted.
        with DaskEngine(engine.client.scheduler.address, chunk_size=16) as remote:
            assert not remote.shares_tempdir
            assert remote.trimmed_workers() == []
            remotely = scan(docs, engine=remote).to_dict()
    assert distributed == remotely == serial
    assert serial["pairs"] and serial["stats"]["boilerplate_words"] > 0
    assert len(trims) == 2 and set(trims.values()) == {None}


@pytest.mark.filterwarnings("ignore")
def test_cli_engine_dask_gives_the_local_report() -> None:
    import subprocess
    import sys

    from .conftest import SEEDS

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dedup", "scan", str(SEEDS), "--format",
                               "json", "-q", *extra], capture_output=True, text=True,
                              check=False)

    local = run("--workers", "1")
    dask = run("--engine", "dask", "--workers", "2")
    assert local.returncode == dask.returncode == 0, dask.stderr
    assert dask.stdout == local.stdout
    misuse = run("--scheduler", "tcp://127.0.0.1:1")
    assert misuse.returncode == 2
    assert "Error: --scheduler needs --engine dask" in misuse.stderr


@pytest.mark.filterwarnings("ignore")
def test_cli_says_when_the_scheduler_cannot_be_reached() -> None:
    import socket
    import subprocess
    import sys

    from .conftest import SEEDS

    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    # dask's connect timeout (30 s by default), shortened through dask's own setting
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    out = subprocess.run([sys.executable, "-m", "dedup", "scan", str(SEEDS), "-q", "--engine",
                          "dask", "--scheduler", address], capture_output=True, text=True,
                         check=False, env=env)
    assert out.returncode == 3  # an operational error, not findings (1)
    [line] = out.stderr.splitlines()
    assert line.startswith(f"Error: cannot reach the dask scheduler {address}: ")
    assert line.endswith("check the address and that 'dask scheduler' runs there")


@pytest.mark.filterwarnings("ignore")
def test_cli_notes_workers_that_a_nanny_set_to_trim() -> None:
    import subprocess
    import sys

    from distributed import LocalCluster

    from .conftest import SEEDS

    # A cluster as `dask worker` starts one: nannies set MALLOC_TRIM_THRESHOLD_ (in this
    # process's environment too, which is restored afterwards).
    saved = dict(os.environ)
    try:
        with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
            scan = [sys.executable, "-m", "dedup", "scan", str(SEEDS), "--format", "json",
                    "--engine", "dask", "--scheduler", cluster.scheduler_address]
            noted = subprocess.run(scan, capture_output=True, text=True, check=False)
            quiet = subprocess.run([*scan, "-q"], capture_output=True, text=True, check=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert noted.returncode == quiet.returncode == 0, noted.stderr
    assert noted.stdout == quiet.stdout
    assert ("note: 1 dask worker(s) run with MALLOC_TRIM_THRESHOLD_ set by their nanny"
            in noted.stderr)
    assert "MALLOC_TRIM" not in quiet.stderr


def test_cli_says_how_to_install_dask_when_it_is_missing(tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import SEEDS

    # A distributed package that cannot be imported, ahead of the real one.
    (tmp_path / "distributed").mkdir()
    (tmp_path / "distributed" / "__init__.py").write_text("raise ImportError('absent')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "dedup", "scan", str(SEEDS), "-q", "--engine",
                          "dask"], capture_output=True, text=True, check=False, env=env)
    assert out.returncode == 3
    assert out.stderr.splitlines() == [
        "Error: the dask engine needs dask.distributed: pip install 'dedup[dask]'"]


def _exit_once(marker: str, items: list[int]) -> list[int]:
    """A chunk function whose first run ends its worker process, as a crash would."""
    if 3 in items and not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8"):
            pass
        os._exit(1)
    return [i * i for i in items]


def _whole(context: str, items: list[int]) -> str:
    return context


@pytest.mark.filterwarnings("ignore")
def test_a_task_whose_worker_dies_runs_again_elsewhere(tmp_path: Path) -> None:
    from dedup.engines.dask import DaskEngine

    marker = str(tmp_path / "died")
    with DaskEngine(workers=2, chunk_size=2) as engine:
        squares = engine.map(_exit_once, marker, list(range(10)), narrow=_whole)
    assert os.path.exists(marker)  # a worker did die
    assert squares == [i * i for i in range(10)]


def _sizes(context: bytes, items: list[int]) -> list[int]:
    return [len(items)] * len(items)


def _slices(context: bytes, items: list[int]) -> bytes:
    return context[items[0] * 20_000 : (items[-1] + 1) * 20_000]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_parts_are_cut_to_about_part_bytes_without_warnings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from dedup.engines import dask as engines_dask
    from dedup.engines.dask import DaskEngine

    monkeypatch.setattr(engines_dask, "PART_BYTES", 100_000)
    data = os.urandom(640 * 20_000)  # 20 KB an item
    with DaskEngine(workers=2) as engine, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sizes = engine.map(_sizes, data, list(range(640)), narrow=_slices)
        # One item of 12 MB: more than dask's 10 MB for a task, which is warned about.
        whole = engine.map(_sizes, os.urandom(12_000_000), [0], narrow=_whole)
    # The first chunk as the pool cuts it (10 items, 200 KB), the others to about 100 KB
    # (4 items and the pickle's own bytes).
    assert sizes[:10] == [10] * 10 and sizes[10] == 4 and max(sizes[10:]) == 4
    assert whole == [1]
    assert not [w for w in caught if "large graph" in str(w.message)]
