"""Whether a piece of work runs on the compiled kernels (:mod:`dedup.kernels`) or on numpy.

The kernels pay for themselves on a corpus, not on a handful of articles: importing numba
and loading the kernels costs a process about 0.6 s of CPU, and the first run after
installing compiles them (about 10 s), where they save about 0.8 ms of CPU an article. So
:func:`dedup.scan`, index builds and checks of fewer than :data:`MIN_DOCUMENTS` documents
run without them, on numpy and the per-document tokenizer, which are also the kernels'
references in the tests: the results are the same either way (``tests/test_compiled.py``).

The choice holds for the current context (a ``ContextVar``), and forked workers inherit
it; anything that does not choose, a dask worker for one, uses the kernels.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sized
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: Documents from which a scan, an index build or a check uses the compiled kernels: where
#: a whole ``dedup scan`` takes no longer with them (``benchmarks/perf/small.py``, session
#: 16, medians of 7 runs), kernels against numpy, seconds (CPU seconds): 500 articles 1.10
#: (1.34) against 1.01 (1.69), 750 0.97 (1.22) against 0.91 (1.51), 1,000 1.08 (1.38)
#: against 1.13 (1.87); 2,000 1.63 (2.13) against 2.47 (4.10) (5 runs). Below, they save CPU
#: but not time.
MIN_DOCUMENTS = 1000

#: True or False once chosen; None: not chosen, the kernels are used.
_ENABLED: ContextVar[bool | None] = ContextVar("dedup_compiled", default=None)


def enabled() -> bool:
    """Whether the current work uses the compiled kernels."""
    return _ENABLED.get() is not False


@contextmanager
def using(on: bool) -> Iterator[None]:
    """Use the compiled kernels (or not) inside the ``with`` block, whatever the work's
    size (the tests run both ways)."""
    token = _ENABLED.set(on)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def for_documents(count: int) -> AbstractContextManager[None]:
    """:func:`using` the kernels when ``count`` documents make them worth loading, unless
    an enclosing :func:`using` chose already."""
    if _ENABLED.get() is not None:
        return nullcontext()
    return using(count >= MIN_DOCUMENTS)


def sized(parameter: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function to run :func:`for_documents` as many documents as its argument
    ``parameter`` holds."""
    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            documents: Sized = signature.bind(*args, **kwargs).arguments.get(parameter, ())
            with for_documents(len(documents)):
                return fn(*args, **kwargs)
        return run
    return decorate
