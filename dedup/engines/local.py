"""A local process pool: the pipeline's chunked stages on every core of one machine.

The context (the documents, the prepared corpus) reaches the workers by ``fork`` where the
platform has it: the pool is created after the context is set, so children inherit it
copy-on-write and only chunk bounds and results cross process boundaries. Elsewhere
(``spawn``) the context is pickled once per worker through the pool initializer.

Results come back in input order (``Pool.imap`` keeps it), so a report does not depend on
the number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from ..pools import ending_pool
from . import Narrow, chunk_bounds, chunk_length

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

# The context of the running map, inherited by forked workers (or set by _init when
# spawned), and a flag set when the chunks still to come are not wanted.
_CONTEXT: Any = None
_FN: Any = None
_STOP: Any = None


def _init(fn: Any, context: Any, stop: Any) -> None:
    global _FN, _CONTEXT, _STOP
    _FN, _CONTEXT, _STOP = fn, context, stop


def _run(bounds: tuple[int, int]) -> list[Any]:
    if _STOP.value:
        return []
    items = _CONTEXT[1]
    return list(_FN(_CONTEXT[0], items[bounds[0] : bounds[1]]))


class ProcessEngine:
    """``workers`` processes; items are split into chunks of at most ``chunk_size``, and
    into at least :data:`dedup.engines.CHUNKS_PER_WORKER` chunks a worker so that none
    idles long at the end (:func:`dedup.engines.chunk_bounds`). Forked workers share the
    context, so a map's ``narrow`` is not needed.

    Every chunk costs the parent a few milliseconds of CPU (sending the task, receiving and
    unpickling the results, waking up), time the workers lose on a machine with a core per
    worker: 217,000 articles profiled in chunks of 64 kept the parent busy for 8.8 s.

    Fewer than ``min_items`` items run in the calling process: starting a pool and sending
    results back costs more than it saves for a handful of documents (and a single 50 MB
    document would be pickled back whole for nothing).

    With ``min_seconds``, a map first runs small chunks here (:func:`_probe`) and stays
    here when the work they measure leaves less than that for the rest: a pool pays more
    than starting its processes (each learns the vocabulary again, its results are pickled
    back, its memory is fresh), and below about three quarters of a second of work that was
    more than the second process saved (:data:`dedup.engines.POOL_MIN_SECONDS`, the default
    of :func:`dedup.engines.make_engine`). Which way a map runs never changes its results.
    """

    shares_tempdir = True
    #: Forked workers inherit the parent's shared mappings; spawned ones do not.
    shares_memory = "fork" in multiprocessing.get_all_start_methods()

    def __init__(self, workers: int, chunk_size: int = 256, min_items: int = 32,
                 min_seconds: float = 0.0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.chunk_size = chunk_size
        self.min_items = min_items
        self.min_seconds = min_seconds

    def map(self, fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
            progress: Callable[[int], None] | None = None, *,
            narrow: Narrow[C, T] | None = None) -> list[R]:
        if len(items) < self.min_items or self.workers == 1:
            serial = list(fn(context, items))
            if progress:
                progress(len(items))
            return serial
        out: list[R] = []
        first = 0
        if self.min_seconds > 0:
            first = _probe(fn, context, items, progress, out, self.min_seconds,
                           chunk_length(len(items), self.workers, self.chunk_size))
            if first == len(items):
                return out
        chunks = [(start + first, end + first) for start, end in
                  chunk_bounds(len(items) - first, self.workers, self.chunk_size)]
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        global _FN, _CONTEXT, _STOP
        previous = _FN, _CONTEXT, _STOP
        stop = ctx.RawValue("b", 0)
        _FN, _CONTEXT, _STOP = fn, (context, items), stop
        # A forked worker shares the parent's pages until it writes to them, and a garbage
        # collection in the worker writes to every object it visits: at a million articles
        # that copied gigabytes of the parent's objects into each worker. Frozen objects are
        # left out of collections (here and, inherited, in the workers) until unfrozen.
        gc.freeze()
        try:
            initargs = (() if ctx.get_start_method() == "fork"
                        else (fn, (context, items), stop))
            initializer = None if not initargs else _init
            # A chunk that fails (or a progress callback) skips the chunks not begun.
            with ending_pool(ctx, stop, min(self.workers, len(chunks)), initializer,
                             initargs) as pool:
                for (_start, end), result in zip(chunks, pool.imap(_run, chunks)):
                    out.extend(result)
                    if progress:
                        progress(end)
        finally:
            gc.unfreeze()
            _FN, _CONTEXT, _STOP = previous
        return out

    def aside(self, fn: Callable[..., R], *args: Any) -> Aside[R] | None:
        """``fn(*args)`` started in a process of its own beside this one (:class:`Aside`),
        or None where processes are not forked: work of one core that need not wait for
        the map running meanwhile, whose pool keeps the other cores busy."""
        if "fork" not in multiprocessing.get_all_start_methods():
            return None
        return Aside(fn, *args)


class Aside(Generic[R]):
    """``fn(*args)`` running in a forked process: it sees this process's memory as it was
    at the fork (copy on write) and sends back only its result, which :meth:`result`
    waits for; an exception it raises is raised there. :meth:`close` ends the process if
    it still runs (when the caller failed meanwhile)."""

    def __init__(self, fn: Callable[..., R], *args: Any) -> None:
        ctx = multiprocessing.get_context("fork")
        self._results, sending = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_aside, args=(sending, fn, args), daemon=True)
        # As for a pool's workers: a collection in the child would copy what it visits.
        gc.freeze()
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        sending.close()

    def result(self) -> R:
        """What ``fn`` returned (waiting for it), or what it raised, raised here."""
        try:
            ok, value = self._results.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"a worker process ended without its result (exit code "
                               f"{self._process.exitcode})") from None
        self._process.join()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._results.close()


def _aside(sending: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The body of an :class:`Aside`'s process: ``fn(*args)`` or its exception, sent."""
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        outcome = (False, exc)
    try:
        sending.send(outcome)
    except Exception as exc:  # an exception or a result that does not pickle
        sending.send((False, RuntimeError(f"a worker process could not send back "
                                          f"{type(outcome[1]).__name__}: {exc}")))
    sending.close()


#: A probe's chunks are this share of a map's items (at least one item each).
PROBE_SHARE = 1 / 256
#: Probing stops once it has taken this long: a large map then loses about half of it (the
#: other core idles while this process probes), a small one has shown its size by then.
PROBE_SECONDS = 0.05


def _probe(fn: Callable[[C, Sequence[T]], list[R]], context: C, items: Sequence[T],
           progress: Callable[[int], None] | None, out: list[R], min_seconds: float,
           chunk_size: int) -> int:
    """Run chunks of ``items`` here, results into ``out``, while the work left looks too
    small for a pool: how many items ran (all of them, or where a pool should take over).

    Small chunks first, until they have taken :data:`PROBE_SECONDS`; as soon as one's pace
    says that the rest would take less than ``min_seconds`` here, chunks of ``chunk_size``
    go on here, each judged again: items are not all alike (a scan verifies the pairs of
    identical texts first, almost free), so a pace that grows hands the rest to a pool. The
    pace is the last chunk's, not the mean: the first chunks are the slowest (a new word
    costs the vocabulary several microseconds once)."""
    size = max(1, min(chunk_size, int(len(items) * PROBE_SHARE)))
    done = 0
    spent = 0.0
    here = False
    while done < len(items) and (here or spent < PROBE_SECONDS):
        began = time.perf_counter()
        end = min(done + size, len(items))
        out.extend(fn(context, items[done:end]))
        took = time.perf_counter() - began
        spent += took
        small = took / (end - done) * (len(items) - end) < min_seconds
        done = end
        if progress:
            progress(done)
        if here and not small:
            break
        if small:
            here, size = True, chunk_size
    return done
