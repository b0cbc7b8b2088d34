"""Settings files: the defaults of :class:`~dedup.config.Config`, overridden per project.

Where settings come from, first found wins:

1. ``--config FILE``: a TOML file whose top level holds the sections (or, for a file named
   ``pyproject.toml``, its ``[tool.dedup]`` table);
2. ``dedup.toml`` in the current directory;
3. the ``[tool.dedup]`` table of ``pyproject.toml`` in the current directory;
4. the built-in defaults.

Only the current directory is searched, never its parents: a scan run from a subfolder
should not silently pick up settings from somewhere up the tree. The sections are those of
:class:`~dedup.config.Config` (``shingle``, ``lsh``, ``boilerplate``, ``align``)::

    # dedup.toml
    [lsh]
    min_collisions = 8

    [align]
    min_passage_words = 12

Every mistake is one line naming the file and, where it can be found, the line: TOML that
does not parse, an unknown section or key (never silently ignored), a value of the wrong
type or out of range. The settings used are echoed in every JSON report (``params``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .errors import ConfigError, InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SETTINGS_FILE = "dedup.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Settings:
    """The config to run with and where it came from (``None``: the built-in defaults)."""

    config: Config
    source: Path | None = None


def load_settings(config_file: str | Path | None = None, *,
                  directory: str | Path = ".") -> Settings:
    """The settings for a run: from ``config_file`` if given, else found in ``directory``.

    Raises :class:`ConfigError` for a file that does not parse or holds settings dedup does
    not know or cannot use, :class:`InputError` for one that cannot be read.

    >>> load_settings(directory="/nonexistent").source is None
    True
    """
    if config_file is not None:
        path = Path(config_file)
        return Settings(_from_file(path, tool_table=path.name == PYPROJECT), path)
    own = Path(directory) / SETTINGS_FILE
    if own.is_file():
        return Settings(_from_file(own, tool_table=False), own)
    pyproject = Path(directory) / PYPROJECT
    if pyproject.is_file():
        text = _text(pyproject)
        tool = _parse(pyproject, text).get("tool")
        if isinstance(tool, dict) and "dedup" in tool:
            return Settings(_from_table(pyproject, text, tool["dedup"], "tool.dedup."),
                            pyproject)
    return Settings(Config())


def _from_file(path: Path, *, tool_table: bool) -> Config:
    text = _text(path)
    data = _parse(path, text)
    if not tool_table:
        return _from_table(path, text, data, "")
    tool = data.get("tool")
    if not isinstance(tool, dict) or "dedup" not in tool:
        raise ConfigError(f"{path}: no [tool.dedup] table; put the settings under "
                          "[tool.dedup.lsh], [tool.dedup.align], ...")
    return _from_table(path, text, tool["dedup"], "tool.dedup.")


def _from_table(path: Path, text: str, table: object, prefix: str) -> Config:
    """The config a TOML table describes; ``prefix`` is where the table sits in the file.

    :meth:`Config.from_dict` checks names, types and ranges; its message names the section
    or ``section.key``, which is looked up in the file to point at the line.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: '{prefix.rstrip('.')}' must be a table")
    try:
        return Config.from_dict(table)
    except ConfigError as e:
        dotted = re.search(r"\b([a-z_]+)\.([a-z_]+)\b", str(e))
        quoted = re.search(r"'([^']+)'", str(e))
        if dotted:
            where = _where(path, text, prefix, dotted.group(1), dotted.group(2))
        else:
            where = _where(path, text, prefix, quoted.group(1) if quoted else "")
        raise ConfigError(f"{where}: {e}") from e


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not valid UTF-8 at byte {e.start}; TOML files are UTF-8") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if at:
            raise ConfigError(f"{path}:{at.group(1)}: not valid TOML "
                              f"({message[:at.start()]} at column {at.group(2)})") from e
        raise ConfigError(f"{path}: not valid TOML ({message})") from e


def _where(path: Path, text: str, prefix: str, section: str, key: str | None = None) -> str:
    """``path:line`` of the table ``[prefix+section]`` or of ``key`` inside it, each as a
    header or as a (dotted) key; just ``path`` when it cannot be found."""
    current = ""
    wanted = f"{prefix}{section}" if key is None else f"{prefix}{section}.{key}"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.fullmatch(r"\[([^\[\]]+)\]\s*(#.*)?", line)
        if header:
            current = header.group(1).replace(" ", "")
            if key is None and current == wanted:
                return f"{path}:{number}"
            continue
        assignment = re.match(r"([\w.\- ]+?)\s*=", line)
        if assignment:
            name = assignment.group(1).replace(" ", "")
            if f"{current}.{name}".lstrip(".") == wanted:
                return f"{path}:{number}"
    return str(path)
