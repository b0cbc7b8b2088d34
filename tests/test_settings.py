"""Settings from dedup.toml, [tool.dedup] in pyproject.toml or --config, and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import cli
from dedup.config import Config
from dedup.errors import ConfigError
from dedup.settings import load_settings

from .conftest import ROOT, SEED_001, SEED_002, SEEDS


def _error(path: Path, text: str, **kwargs: object) -> str:
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_defaults_when_there_is_no_settings_file(tmp_path: Path) -> None:
    settings = load_settings(directory=tmp_path)
    assert settings.config == Config() and settings.source is None


def test_dedup_toml_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "dedup.toml").write_text("[lsh]\nmin_collisions = 8\n\n[align]\n"
                                         "duplicate_coverage = 1\n")
    settings = load_settings(directory=tmp_path)
    assert settings.source == tmp_path / "dedup.toml"
    assert settings.config.lsh.min_collisions == 8
    assert settings.config.align.duplicate_coverage == 1  # TOML's 1 where a float is due
    assert settings.config.lsh.num_perm == Config().lsh.num_perm


def test_tool_dedup_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.dedup.lsh]\n'
                                             "min_collisions = 9\n")
    settings = load_settings(directory=tmp_path)
    assert settings.config.lsh.min_collisions == 9
    assert settings.source == tmp_path / "pyproject.toml"


def test_pyproject_without_tool_dedup_means_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(directory=tmp_path).source is None


def test_dedup_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dedup.lsh]\nmin_collisions = 9\n")
    (tmp_path / "dedup.toml").write_text("[lsh]\nmin_collisions = 7\n")
    assert load_settings(directory=tmp_path).config.lsh.min_collisions == 7


def test_parent_directories_are_not_searched(tmp_path: Path) -> None:
    (tmp_path / "dedup.toml").write_text("[lsh]\nmin_collisions = 7\n")
    (tmp_path / "sub").mkdir()
    assert load_settings(directory=tmp_path / "sub").config == Config()


def test_config_file_given_explicitly(tmp_path: Path) -> None:
    (tmp_path / "dedup.toml").write_text("[lsh]\nmin_collisions = 7\n")
    other = tmp_path / "strict.toml"
    other.write_text("[align]\nmin_passage_words = 12\n")
    settings = load_settings(other, directory=tmp_path)
    assert settings.config.align.min_passage_words == 12
    assert settings.config.lsh.min_collisions == Config().lsh.min_collisions


def test_explicit_pyproject_needs_its_tool_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    assert _error(path, "[project]\n", config_file=path) == (
        f"{path}: no [tool.dedup] table; put the settings under [tool.dedup.lsh], "
        "[tool.dedup.align], ...")


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "dedup.toml"
    message = _error(path, "[lsh]\nmin_collisions = 8\nnum_perm = \n", directory=tmp_path)
    assert message.startswith(f"{path}:3: not valid TOML (") and message.endswith(")")
    assert "\n" not in message


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dedup.toml"
    assert _error(path, "[lsh]\nmin_collision = 8\n", directory=tmp_path) == (
        f"{path}:2: unknown setting 'lsh.min_collision'; known: max_bucket, min_collisions, "
        "num_perm, seed")


def test_unknown_section_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    assert _error(path, "[tool.dedup.lhs]\nmin_collisions = 8\n", directory=tmp_path) == (
        f"{path}:1: unknown config section 'lhs'; known: shingle, lsh, boilerplate, align")


def test_wrong_type_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dedup.toml"
    assert _error(path, '[shingle]\nsize = 3\n\n[boilerplate]\nmin_words = "4"\n',
                  directory=tmp_path) == (
        f"{path}:5: setting 'boilerplate.min_words' must be a whole number, got '4'")
    assert _error(path, "lsh = 3\n", directory=tmp_path) == (
        f"{path}:1: config section 'lsh' must be a table of settings")


def test_value_out_of_range_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    assert _error(path, "[tool.dedup]\nlsh.min_collisions = 0\n", directory=tmp_path) == (
        f"{path}:2: lsh.min_collisions must be between 1 and lsh.num_perm")


def test_scan_uses_the_settings_of_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "dedup.toml").write_text("[align]\nmin_passage_words = 12\n")
    result = subprocess.run([sys.executable, "-m", "dedup", "scan", str(SEEDS), "--format",
                             "json"], cwd=tmp_path, capture_output=True, text=True,
                            env=_env_with_source(), check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"]["align"]["min_passage_words"] == 12


def _env_with_source() -> dict[str, str]:
    """The environment, with this source tree importable from another directory."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def test_config_option_on_scan_filter_and_explain(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "strict.toml"
    config.write_text("[lsh]\nmin_collisions = 250\n")
    result = runner.invoke(cli, ["scan", str(SEEDS), "--format", "json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["params"]["lsh"]["min_collisions"] == 250 and data["pairs"] == []
    result = runner.invoke(cli, ["explain", str(SEEDS / SEED_001), str(SEEDS / SEED_002),
                                 "--config", str(config)])
    assert "candidate: no" in result.stdout
    out = tmp_path / "clean.jsonl"
    result = runner.invoke(cli, ["filter", str(SEEDS), "-o", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text("utf-8").splitlines()) == 3


def test_bad_settings_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "dedup.toml"
    config.write_text("[align]\nmin_pasage_words = 12\n")
    result = subprocess.run([sys.executable, "-m", "dedup", "scan", str(SEEDS)], cwd=tmp_path,
                            capture_output=True, text=True, env=_env_with_source(), check=False)
    assert result.returncode == 2
    assert result.stderr == ("Error: dedup.toml:2: unknown setting 'align.min_pasage_words'; "
                             "known: " + ", ".join(sorted(Config().align.__dataclass_fields__))
                             + "\n")


def test_missing_config_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["scan", str(SEEDS), "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "Invalid value for '--config'" in result.output
