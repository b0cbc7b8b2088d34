"""Errors a user can act on.

Every error the library raises is a :class:`DedupError`. Its message is one line that names
the place (file, line, field) and says what to do; its ``exit_code`` is what the CLI exits
with. The library never prints and never exits: the CLI turns these into ``Error: ...``.
"""

from __future__ import annotations


class DedupError(Exception):
    """Base class: an input or operational problem (exit code 3)."""

    exit_code = 3


class InputError(DedupError):
    """A corpus, batch or file that cannot be read as documents."""


class ConfigError(DedupError):
    """A setting out of range or inconsistent with another one (exit code 2)."""

    exit_code = 2
