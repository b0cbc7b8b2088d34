"""Execution engines: how the pipeline's chunked stages run (in-process, a process pool, ...).

An engine has one method, :meth:`Engine.map`: apply a function to consecutive chunks of a
sequence, given a read-only context, and return the results concatenated in input order. The
algorithm modules never import an engine; :func:`dedup.pipeline.scan` takes one as an
argument, and every engine must give the same report as :class:`SerialEngine`.

A map may say which part of its context a chunk needs (``narrow``): an engine whose workers
share this process's memory ignores it, one that ships data to other machines (dask) sends
each task only that part, not the whole context to every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar, overload

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

#: ``chunk_fn(context, items)`` -> one result per item, in order.
ChunkFn = Callable[[C, Sequence[T]], list[R]]
#: ``narrow(context, chunk)`` -> the part of ``context`` that ``chunk_fn`` needs for
#: ``chunk``: ``chunk_fn(narrow(context, chunk), chunk) == chunk_fn(context, chunk)``.
Narrow = Callable[[C, Sequence[T]], C]
#: Chunks a worker gets at the least (fewer only when there are fewer items).
CHUNKS_PER_WORKER = 32
#: Seconds of work (as this process does it) below which the default process pool keeps a
#: map in this process (:class:`dedup.engines.local.ProcessEngine`'s ``min_seconds``). On
#: two cores a pool cost about 0.3 s more than half the work (a check of 4,000 articles
#: against 6,000: signing 0.45 s here, 0.56 s on the pool; verifying 1,274 pairs 0.16 s
#: against 0.40 s), so it gains only from about 0.6-0.75 s of work on.
POOL_MIN_SECONDS = 0.75


def chunk_length(count: int, workers: int, chunk_size: int) -> int:
    """Items a chunk of ``count`` holds: at most ``chunk_size``, and few enough for at least
    :data:`CHUNKS_PER_WORKER` chunks a worker (when there are that many items) so that none
    idles long at the end."""
    return max(1, min(chunk_size, count // (max(workers, 1) * CHUNKS_PER_WORKER)))


def chunk_bounds(count: int, workers: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[start, end)`` of consecutive chunks of ``count`` items, each of
    :func:`chunk_length` (the last may be shorter)."""
    size = chunk_length(count, workers, chunk_size)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


class Rows(Sequence[T]):
    """Some items of a sequence, at their places in it: what a narrowed context carries
    instead of the whole sequence. ``len()`` is the whole sequence's; reading an item it
    does not hold raises ``IndexError``."""

    def __init__(self, items: Sequence[T], rows: Iterable[int]) -> None:
        self._length = len(items)
        self._items = {row: items[row] for row in sorted(set(rows))}

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        try:
            return self._items[index + self._length if index < 0 else index]
        except KeyError:
            raise IndexError(f"row {index} is not among the {len(self._items)} rows "
                             f"this part holds") from None


class Engine(Protocol):
    #: Whether every worker sees this machine's temporary directory (then stages may hand
    #: data over through files there instead of memory).
    shares_tempdir: bool
    #: Whether every worker shares this process's memory mappings (forked processes, or
    #: this process itself): then a stage may write its results into a shared array.
    shares_memory: bool

    def map(self, fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
            progress: Callable[[int], None] | None = None, *,
            narrow: Narrow[C, T] | None = None) -> list[R]:
        """``fn`` over chunks of ``items``; results in input order. ``progress(done)`` is
        called with the number of items finished so far. ``narrow``, if given, tells the
        part of ``context`` a chunk needs (an engine may send only that)."""
        ...


class SerialEngine:
    """Everything in the calling process, in order (the reference for every other engine)."""

    shares_tempdir = True
    shares_memory = True

    def __init__(self, chunk_size: int = 256) -> None:
        self.chunk_size = chunk_size

    def map(self, fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
            progress: Callable[[int], None] | None = None, *,
            narrow: Narrow[C, T] | None = None) -> list[R]:
        out: list[R] = []
        for start in range(0, len(items), self.chunk_size):
            out.extend(fn(context, items[start : start + self.chunk_size]))
            if progress:
                progress(min(start + self.chunk_size, len(items)))
        return out


def default_workers() -> int:
    """Worker processes by default: every CPU this process may run on."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


ENGINES = ("local", "dask")


def make_engine(workers: int | None = None, *, kind: str = "local",
                scheduler: str | None = None) -> Engine:
    """The engine for ``--workers``/``--engine``/``--scheduler``.

    ``local``: a :class:`SerialEngine` for one worker, else a local process pool of
    ``workers`` (default: :func:`default_workers`), with this process's allocator keeping
    freed memory for reuse (:func:`dedup.engines.memory.keep_freed_memory`). ``dask``: a
    :class:`dedup.engines.dask.DaskEngine` on the cluster at ``scheduler``, or on a new
    LocalCluster of ``workers`` processes; close it (``engine.close()``) when done.
    """
    if kind not in ENGINES:
        raise ValueError(f"unknown engine '{kind}'; choose one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if kind == "dask":
        from .dask import DaskEngine

        return DaskEngine(scheduler, workers=workers)
    if scheduler is not None:
        raise ValueError("--scheduler needs --engine dask")
    count = default_workers() if workers is None else workers
    from .memory import keep_freed_memory

    keep_freed_memory()
    if count == 1:
        return SerialEngine()
    from .local import ProcessEngine

    return ProcessEngine(count, min_seconds=POOL_MIN_SECONDS)


_CURRENT: ContextVar[Engine | None] = ContextVar("dedup_engine", default=None)


def current_engine() -> Engine:
    """The engine set by :func:`using_engine`, else an in-process :class:`SerialEngine`
    (what :func:`dedup.pipeline.scan` runs on when not given one)."""
    return _CURRENT.get() or SerialEngine(chunk_size=1)


@contextmanager
def using_engine(engine: Engine) -> Iterator[Engine]:
    """Run every scan inside the ``with`` block on ``engine`` (the CLI's ``--workers``)::

        with using_engine(make_engine(2)):
            report = scan(documents)
    """
    token = _CURRENT.set(engine)
    try:
        yield engine
    finally:
        _CURRENT.reset(token)
