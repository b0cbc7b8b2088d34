"""A process pool that ends without ``Pool.terminate()`` when its caller fails.

``with Pool(...)`` terminates the pool on leaving, error or not, and once a test run hung
there: the pool's task handler waited forever for the lock of a queue whose readers were
gone. The workers are sound when the caller fails (a bad line, a chunk that raised), so
they are told by a shared flag to skip the tasks not begun, and the pool is closed and
joined as after its last task; only an interrupt, which the workers got too, terminates it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from multiprocessing.pool import Pool
from typing import Any


@contextmanager
def ending_pool(ctx: BaseContext, stop: Any, processes: int,
                initializer: Callable[..., object] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[Pool]:
    """A pool of ``processes`` made by ``ctx``; ``stop`` (a shared ``RawValue`` its tasks
    check before starting) is set when the block fails, and the pool closed and joined
    (terminated on an interrupt) when it ends."""
    pool = ctx.Pool(processes, initializer, initargs)
    try:
        yield pool
    except (Exception, GeneratorExit):  # GeneratorExit: a generator using it was closed
        stop.value = 1
        raise
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()
        pool.join()
