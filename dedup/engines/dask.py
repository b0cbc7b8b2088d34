# mypy: allow-untyped-calls
"""The pipeline's chunked stages on a dask.distributed cluster (``pip install dedup[dask]``).

The same chunk functions as the local engines run as dask tasks: a map's context (the
documents; the signature matrix) and items are scattered to the workers once, and each task
gets chunk bounds and returns its chunk's results; the client concatenates them in input
order, so the report is the one :class:`dedup.engines.SerialEngine` gives.

On the cluster: preparing and signing, profiling the documents the boilerplate rule samples
(from the stems signing wrote, on a LocalCluster, whose workers share this machine's
temporary directory; tokenized again on a remote cluster), judging frequent sentences,
finding and counting candidate collisions (tasks partitioned by groups of bands: only
``(pair, count)`` arrays come back, to be summed by the client), and verifying. On the
client: summing collision counts, clustering. The scatter is a broadcast, so every worker
receives the whole context of a map (all documents to sign; the whole signature matrix to
count bands of). The algorithm modules never import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")


def _run_chunk(fn: Callable[[Any, Sequence[Any]], list[Any]], shared: tuple[Any, Sequence[Any]],
               start: int, end: int) -> list[Any]:
    context, items = shared
    return list(fn(context, items[start:end]))


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
        if scheduler is None:
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None)
            self.client = Client(self._cluster)
        else:
            self.client = Client(scheduler)
        self.chunk_size = chunk_size

    def map(self, fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
            progress: Callable[[int], None] | None = None) -> list[R]:
        if not items:
            return []
        shared = self.client.scatter((context, items), broadcast=True)
        bounds = [(start, min(start + self.chunk_size, len(items)))
                  for start in range(0, len(items), self.chunk_size)]
        futures = [self.client.submit(_run_chunk, fn, shared, start, end, pure=False)
                   for start, end in bounds]
        out: list[R] = []
        for (_start, end), future in zip(bounds, futures):
            out.extend(future.result())
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
