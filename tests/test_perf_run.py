"""The perf harness refuses a text-dedup run it cannot make, in one line, before any work."""

from __future__ import annotations

import pytest

from benchmarks.perf import run


@pytest.mark.parametrize(("python", "says"), [
    (None, "textdedup runs in the Python that TEXT_DEDUP_PYTHON names"),
    ("/nowhere/python", "TEXT_DEDUP_PYTHON=/nowhere/python is not a program that runs"),
])
def test_textdedup_without_its_python_is_a_usage_error(
        python: str | None, says: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if python is None:
        monkeypatch.delenv("TEXT_DEDUP_PYTHON", raising=False)
    else:
        monkeypatch.setenv("TEXT_DEDUP_PYTHON", python)
    made: list[int] = []
    monkeypatch.setattr(run, "cached_corpus", lambda *args: made.append(1))
    with pytest.raises(SystemExit) as exit_:
        run.main(["--docs", "10", "--systems", "scan,textdedup"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert says in err[-1] and "Traceback" not in "".join(err)
    assert made == []  # no corpus generated
