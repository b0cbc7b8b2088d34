"""Where the commands' reports and outputs go: a file replaced atomically, or stdout, in
UTF-8 whatever the texts hold."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator

import click

from .errors import DedupError


def check_writable(output: str | None) -> None:
    """Fail before a long scan, not after it, when the report cannot be written."""
    if output is None or output == "-":
        return
    target = os.path.realpath(output)
    if is_special(target):
        if not os.access(target, os.W_OK):
            raise DedupError(f"{output}: cannot write (Permission denied)")
        return
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise DedupError(f"{output}: cannot write (No such file or directory)")
    if not os.access(folder, os.W_OK):
        raise DedupError(f"{output}: cannot write (Permission denied)")


def is_special(path: str) -> bool:
    """Whether ``path`` exists and is not a regular file (a device such as /dev/null, a
    FIFO): what a report is written into as it is, never replaced."""
    return os.path.exists(path) and not os.path.isfile(path)


# UTF-8 has no way to write a lone surrogate (a JSON text may escape one into a document).
# In its place: JSON's own escape in JSON output (read again, the text is what it was), else
# U+FFFD (one character for one, so a report's offsets still count the text's characters).
_LONE = re.compile("[\ud800-\udfff]")
_IN_PLACE_OF_LONE: dict[bool, Callable[[str], str]] = {
    True: lambda char: f"\\u{ord(char):04x}",
    False: lambda char: "\ufffd",
}


def _lone_surrogates(json_text: bool) -> str:
    """The name of the encoding error handler that writes lone surrogates as above."""
    name = f"dedup-lone-surrogates-{'json' if json_text else 'text'}"
    replace = _IN_PLACE_OF_LONE[json_text]

    def handle(error: UnicodeError) -> tuple[bytes, int]:
        # Bytes: the UTF-8 encoder takes a replacement string only in ASCII.
        if not isinstance(error, UnicodeEncodeError):
            raise error
        bad = error.object[error.start : error.end]
        if _LONE.sub("", bad):
            raise error
        return "".join(map(replace, bad)).encode(), error.end

    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, handle)
    return name


#: Characters of report written to standard output at once.
_ECHO_CHARS = 1 << 20


def _gathered(pieces: Iterable[str]) -> Iterator[str]:
    """``pieces`` joined into strings of about :data:`_ECHO_CHARS`: each ``click.echo``
    asks whether the stream is a terminal, looks for colour codes and flushes, and a
    100,000-article report comes in 41,000 pieces (0.15 s against 0.05 s)."""
    gathered: list[str] = []
    size = 0
    for piece in pieces:
        gathered.append(piece)
        size += len(piece)
        if size >= _ECHO_CHARS:
            yield "".join(gathered)
            gathered, size = [], 0
    if gathered:
        yield "".join(gathered)


def write(output: str | None, content: str | Iterable[str], *, json_text: bool = False,
          ) -> None:
    """Write the report (a string, or pieces of one; ``json_text``: JSON); a file is
    replaced atomically, so a crash or an interrupt never leaves half of one. A symbolic
    link is written through (its target replaced, not the link), and a device or FIFO
    (``-o /dev/null``) is written into: replacing it would put a regular file in its place.
    Lone surrogates are written as :data:`_IN_PLACE_OF_LONE` says."""
    pieces = [content] if isinstance(content, str) else content
    errors = _lone_surrogates(json_text)
    if output is None or output == "-":
        replace = _IN_PLACE_OF_LONE[json_text]
        for piece in _gathered(pieces):
            try:
                click.echo(piece, nl=False)
            except UnicodeEncodeError:  # the stream encodes the whole piece before writing
                click.echo(_LONE.sub(lambda m: replace(m.group()), piece), nl=False)
        return
    target = os.path.realpath(output)
    if is_special(target):
        try:
            with open(target, "w", encoding="utf-8", errors=errors, newline="") as f:
                f.writelines(pieces)
        except OSError as e:
            raise DedupError(f"{output}: cannot write ({e.strerror})") from e
        return
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", errors=errors, newline="") as f:
            f.writelines(pieces)
        os.replace(tmp, target)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise DedupError(f"{output}: cannot write ({e.strerror})") from e
        raise
