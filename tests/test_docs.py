"""The README is part of the product: its commands must be the ones that work."""

from __future__ import annotations

import re
import subprocess

from dedup.cli import cli

from .conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def _block_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+?)\n```", README, re.S)
    assert match, marker
    return match.group(1)


def test_readme_first_screen_has_the_two_fresh_machine_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:40])
    assert "<!-- scan-command -->" in first_screen and "<!-- test-command -->" in first_screen
    assert "dedup scan seeds/" in _block_after("scan-command")
    assert "pytest" in _block_after("test-command")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    extracted = subprocess.run(
        ["bash", "-c", "awk '/<!-- test-command -->/{found=1; next} found && /^```sh/"
                       "{getline; print; exit}' README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == _block_after("test-command")
    assert "README.md" in (ROOT / ".ci" / "run").read_text("utf-8")


def test_every_command_is_documented_in_the_readme() -> None:
    for name in cli.commands:
        assert f"dedup {name}" in README, name


def test_json_contract_fields_are_documented() -> None:
    for field in ["documents", "params", "clusters", "canonical", "members", "pairs",
                  "relation", "similarity", "coverage_a", "coverage_b", "passages"]:
        assert f'"{field}"' in README, field
