"""A progress line for long runs, drawn on a terminal and nowhere else.

:func:`dedup.scan` reports ``progress(stage, done, total)`` per document and per candidate
pair; :class:`ProgressLine` turns those calls into one line per stage on a stream
(stderr in the CLI)::

    reading      12,345 documents
    signing      1,234/10,000
    boilerplate  40/96          (documents carrying a frequent sentence, profiled)
    candidates   12/64          (groups of bands counted, then ranges of pairs summed)
    verifying    500/812

The line is redrawn in place with ``\\r`` at most a few times per second, since drawing on
every call would cost more than the work it reports. When the stream is not a terminal
(a file, a pipe, a CI log) nothing is written at all: a log is no place for carriage
returns, and stderr then carries only warnings and errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between redraws of one stage; the first and the last state are always drawn.
INTERVAL = 0.2


class ProgressLine:
    """A ``progress(stage, done, total)`` callback drawing one line per stage on ``stream``.

    ``total`` 0 means unknown (e.g. documents still being read): the count is drawn alone,
    or ``...`` while it is 0.
    A stage is finished, and its line ended, when ``done`` reaches ``total`` or another stage
    starts; call :meth:`close` (or use the object as a context manager) to end a line that is
    still open, e.g. before an error message.

    >>> import io
    >>> ProgressLine(io.StringIO()).enabled  # not a terminal: draws nothing
    False
    """

    def __init__(self, stream: TextIO, *, enabled: bool | None = None,
                 interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.enabled = _isatty(stream) if enabled is None else enabled
        self.interval = interval
        self.clock = clock
        self._stage: str | None = None
        self._last_draw = 0.0
        self._width = 0
        self._pending: tuple[int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
        now = self.clock()
        finished = total > 0 and done >= total
        if not finished and self._width and now - self._last_draw < self.interval:
            self._pending = (done, total)
            return
        self._draw(stage, done, total)
        self._last_draw = now
        if finished:
            self._end_line()

    def close(self) -> None:
        """End the current line, drawing its last state first; nothing if none is open."""
        if not self.enabled or self._stage is None:
            return
        if self._pending is not None:
            self._draw(self._stage, *self._pending)
        if self._width:
            self._end_line()
        self._stage = None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, stage: str, done: int, total: int) -> None:
        if total > 0:
            count = f"{done:,}/{total:,}"
        else:
            count = f"{done:,} documents" if done else "..."
        line = f"{stage:<12} {count}"
        # Spaces wipe what is left of a longer previous state.
        self.stream.write(f"\r{line}{' ' * max(0, self._width - len(line))}")
        self.stream.flush()
        self._width = len(line)
        self._pending = None

    def _end_line(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
        self._width = 0
        self._pending = None
        self._stage = None


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
