"""Progress lines: drawn on a terminal only, throttled, one line per stage, off with --quiet."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from dedup.cli import main
from dedup.progress import ProgressLine

from .conftest import SEEDS


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream)
    progress("signing", 1, 10)
    progress("signing", 10, 10)
    progress.close()
    assert not progress.enabled and stream.getvalue() == ""


def test_one_line_per_stage_redrawn_in_place_and_throttled() -> None:
    stream, clock = FakeTerminal(), FakeClock()
    progress = ProgressLine(stream, clock=clock, interval=0.2)
    progress("signing", 1, 1000)
    for done in range(2, 1000):
        clock.now += 0.001  # 1,000 calls within one second
        progress("signing", done, 1000)
    progress("signing", 1000, 1000)
    progress("verifying", 1, 2)
    progress("verifying", 2, 2)
    out = stream.getvalue()
    assert out.endswith("\rsigning      1,000/1,000\n\rverifying    1/2\rverifying    2/2\n")
    assert out.startswith("\rsigning      1/1,000\r")
    # At most one redraw per 0.2 s: the first, four in ~1 s, and the last.
    assert 4 <= out.count("\rsigning") <= 7


def test_a_shorter_state_wipes_the_longer_one() -> None:
    stream = FakeTerminal()
    progress = ProgressLine(stream, interval=0)
    progress("reading", 0, 0)
    progress("reading", 12345, 0)
    progress.close()
    assert stream.getvalue() == "\rreading      ...\rreading      12,345 documents\n"


def test_close_draws_the_last_state_and_ends_the_line() -> None:
    stream, clock = FakeTerminal(), FakeClock()
    with ProgressLine(stream, clock=clock) as progress:
        progress("verifying", 1, 50)
        progress("verifying", 7, 50)  # within the interval: not drawn yet
    assert stream.getvalue() == "\rverifying    1/50\rverifying    7/50\n"


def test_quiet_turns_progress_off_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    main(["scan", str(SEEDS), "-o", str(tmp_path / "report.txt")])
    drawn = terminal.getvalue()
    assert "\rreading      3 documents\n" in drawn
    assert "\rsigning      3/3\n" in drawn
    # 64 groups of 4 bands, then as many ranges of pairs as there are pairs to cut into.
    assert re.search(r"\rcandidates   (\d+)/\1\n", drawn)
    assert "\rverifying    1/1\n" in drawn

    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    main(["scan", str(SEEDS), "-o", str(tmp_path / "report.txt"), "--quiet"])
    assert quiet.getvalue() == ""


def test_an_error_starts_on_a_fresh_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def failing_scan(documents: object, config: object, progress: ProgressLine) -> None:
        progress("signing", 1, 3)
        raise RuntimeError("kaputt")

    monkeypatch.setattr("dedup.cli.scan", failing_scan)
    monkeypatch.delenv("DEDUP_DEBUG", raising=False)
    with pytest.raises(SystemExit):
        main(["scan", str(SEEDS)])
    assert "\rsigning      1/3\nError: internal error (RuntimeError: kaputt)" in terminal.getvalue()
