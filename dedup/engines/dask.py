# mypy: allow-untyped-calls
"""The pipeline's chunked stages on a dask.distributed cluster (``pip install dedup[dask]``).

The same chunk functions as the local engines run as dask tasks, a few chunks a worker
(:func:`dedup.engines.chunk_length`). Where a map says what part of its context a chunk
needs (``narrow``), each task is sent only that part: the documents of the blocks it signs
or of the pairs it verifies, the columns of the bands it counts, the stems of the sentences
it judges. The client reads them (from a :class:`dedup.store.DocumentStore`, from disk) as
tasks are submitted, a few tasks ahead of the results, so neither the client nor a worker
holds the whole corpus; each document goes to the cluster about once a stage. Other maps'
contexts are small and broadcast to every worker once. Results are concatenated in input
order, so the report is the one :class:`dedup.engines.SerialEngine` gives.

On the cluster: preparing and signing, profiling the documents the boilerplate rule samples
(from the stems signing wrote, on a LocalCluster, whose workers share this machine's
temporary directory; tokenized again on a remote cluster), judging frequent sentences,
finding candidate collisions (tasks partitioned by groups of bands, each given its bands'
columns of the signatures) and, on a LocalCluster, counting them from the temporary
directory, and verifying. On the client: clustering, and for a remote cluster writing the
collisions the workers found to its own temporary directory, a few groups of bands at a
time, and counting them there (:func:`dedup.candidates.candidate_pairs`). A task carries
its part, so a task whose worker dies runs again on another. The algorithm modules never
import this module.
"""

from __future__ import annotations

import pickle
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from . import Narrow, chunk_length

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

#: The dask setting that has a nanny set MALLOC_TRIM_THRESHOLD_ for its worker.
UNTRIMMED = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
#: The dask setting above which a task's data draws a warning.
LARGE_TASK = "distributed.admin.large-graph-warning-threshold"
#: What the part a task carries should weigh at most (pickled), where its items allow.
PART_BYTES = 8_000_000
#: Tasks submitted ahead of the results the client has taken, per worker thread: enough
#: that no worker waits for the client, few enough that the narrowed contexts in flight
#: stay a few chunks' worth.
TASKS_AHEAD = 4


def _run_chunk(fn: Callable[[Any, Sequence[Any]], list[Any]], shared: tuple[Any, Sequence[Any]],
               start: int, end: int) -> bytes:
    context, items = shared
    return _packed(list(fn(context, items[start:end])))


def _packed(value: object) -> bytes:
    """``value`` pickled into one buffer. Dask sends each numpy array of a result as a frame
    of its own: the stems of 9,528 profiled documents, thousands of small arrays, took 2-4 s
    to cross where their judging took 0.5 s."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _task_key(fn: Callable[..., Any]) -> str:
    """A task's key: unique, and named after its stage's function (as the dashboard and the
    task stream group tasks), e.g. ``dedup-verify_chunk-<uuid>``."""
    return f"dedup-{fn.__name__.strip('_')}-{uuid.uuid4().hex}"


def _trim_threshold() -> str | None:
    """MALLOC_TRIM_THRESHOLD_ as this worker process started with it (run on a worker)."""
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _run_part(fn: Callable[[Any, Sequence[Any]], list[Any]], part: bytes) -> bytes:
    context, chunk = pickle.loads(part)
    return _packed(list(fn(context, chunk)))


class DaskEngine:
    """Chunks as tasks on a ``distributed.Client`` (an existing cluster's scheduler address,
    or a ``LocalCluster`` started and closed with the engine)."""

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None,
                 chunk_size: int = 256) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the dask engine needs dask.distributed: pip install 'dedup[dask]'") from exc
        self._cluster = None
        #: A LocalCluster's workers run on this machine; an existing cluster's may not.
        self.shares_tempdir = scheduler is None
        self.shares_memory = False
        if scheduler is None:
            import dask

            # A worker's nanny sets MALLOC_TRIM_THRESHOLD_ before starting it, which stops
            # glibc from raising its mmap threshold: every numpy array of 128 KB or more is
            # then mapped and unmapped afresh, and signing took 2-2.6 times as long.
            with dask.config.set({UNTRIMMED: None}):
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None)
            self.client = Client(self._cluster)
        else:
            self.client = Client(scheduler)
        self.chunk_size = chunk_size

    def trimmed_workers(self) -> list[str]:
        """The workers that run with MALLOC_TRIM_THRESHOLD_ set, as a nanny sets it unless
        told not to (a LocalCluster's here never are): signing took 2-2.6 times as long
        on them."""
        found = self.client.run(_trim_threshold)
        return sorted(address for address, value in found.items() if value is not None)

    def threads(self) -> int:
        """Worker threads in the cluster now (a cluster may grow or shrink between maps)."""
        return max(1, int(sum(self.client.nthreads().values())))

    def map(self, fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
            progress: Callable[[int], None] | None = None, *,
            narrow: Narrow[C, T] | None = None) -> list[R]:
        if not items:
            return []
        import dask

        threads = self.threads()
        size = chunk_length(len(items), threads, self.chunk_size)
        if narrow is None:
            shared = self.client.scatter((context, items), broadcast=True)

        def submit(start: int) -> tuple[int, Any]:
            """The task of the chunk from ``start``; where it ends."""
            nonlocal size
            end = min(start + size, len(items))
            if narrow is None:
                return end, self.client.submit(_run_chunk, fn, shared, start, end,
                                               key=_task_key(fn))
            chunk = items[start:end]
            part = _packed((narrow(context, chunk), chunk))
            # Later chunks are cut to carry about PART_BYTES (signing a million articles in
            # the pool's chunks sent 54 MB a task); one item may carry more.
            size = max(1, min(size, (end - start) * PART_BYTES // max(len(part), 1)))
            # In the task, not scattered: a task whose worker dies runs again elsewhere,
            # where scattered data would be lost with the worker.
            return end, self.client.submit(_run_part, fn, part, key=_task_key(fn))

        out: list[R] = []
        pending: deque[tuple[int, Any]] = deque()
        ahead = TASKS_AHEAD * threads
        following = 0
        # Tasks are serialized on the client's event loop after submit returns, so dask's
        # warning about large tasks is raised for the whole map: a part is one chunk's, and
        # a single item (a group of bands at a million articles is 16 MB) may pass 10 MB.
        with dask.config.set({LARGE_TASK: "1 GiB"}):
            while following < len(items) or pending:
                while following < len(items) and len(pending) < ahead:
                    following, future = submit(following)
                    pending.append((following, future))
                end, future = pending.popleft()
                out.extend(pickle.loads(future.result()))
                future.release()
                if progress:
                    progress(end)
        return out

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskEngine:  # noqa: PYI034 (Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
