"""Text normalization that keeps a map back to offsets in the original text.

Agency copy is reprinted by many outlets, each with its own typography, markup and encoding
habits: „Zitat“ or "Zitat", ``&amp;`` or ``&``, NFD or NFC umlauts, soft hyphens, words
hyphenated at a line break. Comparison runs on the normalized text, but reports must show the
original, so :func:`normalize` returns a :class:`Normalized` whose ``starts``/``ends`` say
where every normalized character came from::

    >>> n = normalize("Er sagte: „Wir werden unser Bestes tun“.")
    >>> n.text
    'er sagte: "wir werden unser bestes tun".'
    >>> i = n.text.index("wir")
    >>> start, end = n.span(i, i + len("wir werden unser bestes tun"))
    >>> "Er sagte: „Wir werden unser Bestes tun“."[start:end]
    'Wir werden unser Bestes tun'

One pass runs five stages, each a map from its output back to its input; the maps are kept as
piecewise runs (copied run or one replaced block) and composed, so a 50 MB document costs a few
arrays of run boundaries, not a Python int per character, until the final two int64 arrays.

1. Unicode: drop invisible characters (soft hyphen, zero-width space/joiners, word joiner,
   BOM); map typographic quotes, dashes and Unicode spaces to ASCII; NFKC and case folding per
   grapheme-like cluster (a starter and the marks that compose with it), repeated to a fixed
   point, so NFC and NFD input, ligatures and full-width letters all agree and ß == ss.
2. HTML: remove tags (block-level ones become a line break), comments, and the content of
   ``<script>``/``<style>``; decode entities (``html.unescape`` semantics per entity; a named
   or numeric entity needs its ``;``).
3. Unicode again, where decoding put a combining mark next to other text (``e&#769;``).
4. Whitespace: CRLF/CR become ``\\n``; runs of spaces become one space; spaces around line
   breaks go; at most two line breaks in a row (a paragraph break); the ends are stripped.
5. Words hyphenated at a line break are joined (``Ver-\\nfügung`` -> ``verfügung``) when the
   next line starts with a lower-case letter; before an upper-case letter (``US-\\nPräsident``)
   the hyphen stays and only the line break goes.

Idempotence, ``normalize(normalize(x).text).text == normalize(x).text``, is by design:

* Entities and tags are reduced to a fixed point, not one level deep. Decoding can produce
  text that forms a new entity or tag together with its neighbours (double escaping:
  ``&amp;amp;``, ``&amp;lt;p&amp;gt;``; or ``&<b></b>amp;`` once the tags are gone). Every
  such construct is reduced as it forms, as if unescaping were repeated until nothing is left
  to unescape, so ``&amp;amp;``, ``&amp;`` and ``&`` all normalize to ``&`` and the output
  never contains an entity or a tag. Double-escaped copy then matches the clean copy.
* Decoded text is normalized (case, NFKC, quotes) before it is checked for new constructs,
  because the case-folded name is what a second pass would see (``&AUML;`` is read as
  ``&auml;``; where two entities differ only in case, such as ``&Dagger;``/``&dagger;``, the
  lower-case one wins).
* Joining a hyphenated word never creates an entity: ``&am-\\np;`` keeps its line break.
* As a safety net, a pass is repeated until it changes nothing (at most
  ``_MAX_PASSES`` times). For real text the second pass only confirms the first; it does work
  only where a stage's output feeds an earlier stage in pathological input, for example a
  decoded ``&#824;`` (combining long solidus) composing ``<`` into ``≮`` and so turning
  ``<a≮>`` into a tag.
"""

from __future__ import annotations

import functools
import html
import html.entities
import re
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["Normalized", "Replaced", "fold_origins", "normalize", "plain_fold", "plain_fold_marked"]

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Normalized:
    """Normalized text and, per character, the original range it came from.

    ``original[starts[i]:ends[i]]`` is the piece of the original text that normalized character
    ``i`` came from. Both arrays are non-decreasing, so :meth:`span` of any slice is one
    contiguous original range. (``eq=False``: comparing numpy arrays with ``==`` has no single
    truth value; compare ``text`` and the arrays explicitly.)
    """

    text: str
    starts: Int64Array
    ends: Int64Array

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Original ``[start, end)`` of normalized ``text[i:j]`` (``j > i``).

        >>> normalize("Straße").span(4, 6)  # the "ss" came from one "ß"
        (4, 5)
        """
        if not 0 <= i < j <= len(self.text):
            raise ValueError(
                f"span({i}, {j}) is not a non-empty slice of a text of length {len(self.text)}"
            )
        return int(self.starts[i]), int(self.ends[j - 1])


# ---------------------------------------------------------------------------------------------
# Character tables

_DROP: Final = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")

_MAP: Final[dict[str, str]] = {
    **dict.fromkeys("\u201e\u201c\u201d\u201f\u00bb\u00ab\u203a\u2039\u2033", '"'),
    **dict.fromkeys("\u201a\u2018\u2019\u201b\u2032`\u00b4", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b", "-"),
    **dict.fromkeys(
        "\t\u00a0" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000", " "
    ),
    # Other line breaks; they are whitespace too, and a paragraph separator is a paragraph.
    **dict.fromkeys("\x0b\x0c\x85\u2028", "\n"),
    "\u2029": "\n\n",
}
_MAP_TABLE: Final = str.maketrans(_MAP)

#: Tags that end a line when removed; any other tag disappears without a trace.
_BLOCK_TAGS: Final = frozenset(
    {
        "p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote",
        "ul", "ol", "dl", "dt", "dd", "table", "td", "th", "hr", "pre", "section", "article",
        "header", "footer", "aside", "nav", "main", "figure", "figcaption", "address",
    }
)  # fmt: skip
#: Elements whose content is code, not text.
_RAW_TEXT_TAGS: Final = ("script", "style")

#: Safety net for idempotence; see the module docstring.
_MAX_PASSES: Final = 8
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class _Tables:
    simple: bytearray  # per BMP code point: 1 if the character needs no cluster treatment
    special: re.Pattern[str]  # runs of characters that do
    backward: frozenset[str]  # characters that compose with a preceding starter


@functools.cache
def _tables() -> _Tables:
    """Classify code points once (under a second, on first use).

    A "simple" character is its own NFKC cluster whatever its neighbours (a starter that does
    not compose with what precedes it), is NFKC-stable, case-folds to exactly one character
    that is simple in the same way, and is neither dropped nor mapped. Runs of simple characters
    are handled by one ``str.casefold`` call; everything else goes through :func:`_fold_cluster`.
    Characters outside the BMP are all treated as special: they are rare in news, and
    classifying them here would cost about as much time again.
    """
    backward: set[str] = set()
    for cp in range(0x30000):
        char = chr(cp)
        decomposition = unicodedata.decomposition(char)
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            # A two-part canonical decomposition that NFC recomposes is a primary composite:
            # its second part combines with the first.
            if len(parts) == 2 and unicodedata.normalize("NFC", char) == char:
                backward.add(chr(int(parts[1], 16)))
    # Hangul syllables compose algorithmically: L + V, LV + T.
    backward.update(map(chr, range(0x1161, 0x1176)))
    backward.update(map(chr, range(0x11A8, 0x11C3)))

    def stable(char: str) -> bool:
        return (
            char not in _DROP
            and char not in _MAP
            and unicodedata.combining(char) == 0
            and char not in backward
            and unicodedata.normalize("NFKC", char) == char
        )

    simple = bytearray(0x10000)
    for cp in range(0x10000):
        char = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or not stable(char):
            continue
        folded = char.casefold()
        if len(folded) == 1 and stable(folded) and folded.casefold() == folded:
            simple[cp] = 1

    ranges: list[str] = []
    cp = 0
    while cp < 0x10000:
        if simple[cp]:
            cp += 1
            continue
        start = cp
        while cp < 0x10000 and not simple[cp]:
            cp += 1
        ranges.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
    special = re.compile("[" + "".join(ranges) + "\\U00010000-\\U0010ffff]+")
    return _Tables(simple=simple, special=special, backward=frozenset(backward))


@functools.lru_cache(maxsize=8192)
def _is_boundary(char: str) -> bool:
    """Whether NFKC never combines ``char`` with what precedes it (a cluster starts here)."""
    if char in _MAP:
        return True
    tables = _tables()
    if ord(char) < 0x10000 and tables.simple[ord(char)]:
        return True
    first = unicodedata.normalize("NFKD", char)[0]
    return unicodedata.combining(first) == 0 and first not in tables.backward


@functools.lru_cache(maxsize=65536)
def _fold_cluster(cluster: str) -> str:
    """NFKC and case folding of one cluster, repeated until stable, then the ASCII mappings.

    NFKC first so that compatibility characters fold (``℃`` -> ``°C`` -> ``°c``), NFKC again
    because folding can decompose (``İ`` -> ``i`` + U+0307, ``ǰ`` -> ``j`` + U+030C, which NFKC
    composes again), and to a fixed point so that
    a second pass finds nothing to do. NFKC can produce characters that are mapped (``﹘`` ->
    ``—``), hence the mapping at the end; its results are ASCII and stable.
    """
    for _ in range(8):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cluster).casefold())
        if folded == cluster:
            break
        cluster = folded
    return cluster.translate(_MAP_TABLE)


# ---------------------------------------------------------------------------------------------
# Offset maps


@dataclass(frozen=True)
class _Map:
    """A monotone map from a stage's output positions to ranges of its input.

    Piece ``k`` covers output ``[out_start[k], out_start[k + 1])``. A copied piece
    (``src_end[k] == -1``) maps output ``p`` to input ``[q, q + 1)`` with
    ``q = src_start[k] + p - out_start[k]``; a block maps every output character to
    ``[src_start[k], src_end[k])``.
    """

    out_start: Int64Array
    src_start: Int64Array
    src_end: Int64Array
    length: int

    def locate(self, positions: Int64Array) -> tuple[Int64Array, Int64Array]:
        """Input ``[start, end)`` of each output position."""
        piece = np.searchsorted(self.out_start, positions, side="right") - 1
        src_start = self.src_start[piece]
        src_end = self.src_end[piece]
        copied = src_end < 0
        starts = src_start + np.where(copied, positions - self.out_start[piece], 0)
        ends = np.where(copied, starts + 1, src_end)
        return starts.astype(np.int64), ends.astype(np.int64)

    def locate_one(self, position: int) -> tuple[int, int]:
        starts, ends = self.locate(np.array([position], dtype=np.int64))
        return int(starts[0]), int(ends[0])


class _MapBuilder:
    """Accumulates the pieces of a :class:`_Map` while a stage writes its output."""

    def __init__(self) -> None:
        self.out_start = array("q")
        self.src_start = array("q")
        self.src_end = array("q")
        self.length = 0

    def copy(self, src: int, count: int) -> None:
        """Output ``count`` characters copied from input ``src``, ``src + 1``, ..."""
        if count <= 0:
            return
        if (
            self.out_start
            and self.src_end[-1] < 0
            and self.src_start[-1] + self.length - self.out_start[-1] == src
        ):
            self.length += count
            return
        self._append(src, -1, count)

    def block(self, start: int, end: int, count: int) -> None:
        """Output ``count`` characters that all come from input ``[start, end)``."""
        if count <= 0:
            return
        if self.out_start and self.src_start[-1] == start and self.src_end[-1] == end:
            self.length += count
            return
        self._append(start, end, count)

    def _append(self, start: int, end: int, count: int) -> None:
        self.out_start.append(self.length)
        self.src_start.append(start)
        self.src_end.append(end)
        self.length += count

    def truncate(self, length: int) -> None:
        """Forget the output from ``length`` on."""
        while self.out_start and self.out_start[-1] >= length:
            self.out_start.pop()
            self.src_start.pop()
            self.src_end.pop()
        self.length = length

    def locate(self, position: int) -> tuple[int, int]:
        piece = bisect_right(self.out_start, position) - 1
        if self.src_end[piece] < 0:
            src = self.src_start[piece] + position - self.out_start[piece]
            return src, src + 1
        return self.src_start[piece], self.src_end[piece]

    def build(self, input_length: int) -> _Map | None:
        """The map, or ``None`` where the output is a plain copy of the input."""
        if self.length == input_length and (
            not self.out_start
            or (len(self.out_start) == 1 and self.src_end[0] < 0 and self.src_start[0] == 0)
        ):
            return None
        return _Map(
            np.frombuffer(self.out_start, dtype=np.int64).copy(),
            np.frombuffer(self.src_start, dtype=np.int64).copy(),
            np.frombuffer(self.src_end, dtype=np.int64).copy(),
            self.length,
        )


def _chain(outer: _Map | None, inner: _Map | None) -> _Map | None:
    """The map of two stages in a row: ``outer`` (C -> B) after ``inner`` (B -> A)."""
    if outer is None:
        return inner
    if inner is None or outer.length == 0:
        return outer
    out_start, src_start, src_end = outer.out_start, outer.src_start, outer.src_end
    lengths = np.diff(np.append(out_start, outer.length))
    copied = src_end < 0

    # A copied piece of ``outer`` must be split where a piece of ``inner`` begins inside it.
    copy_pieces = np.flatnonzero(copied)
    copy_from = src_start[copy_pieces]
    copy_to = copy_from + lengths[copy_pieces]
    inner_bounds = inner.out_start[1:]
    owner = np.searchsorted(copy_from, inner_bounds, side="right") - 1
    has_owner = owner >= 0
    owner, inner_bounds = owner[has_owner], inner_bounds[has_owner]
    inside = (inner_bounds > copy_from[owner]) & (inner_bounds < copy_to[owner])
    owner, inner_bounds = owner[inside], inner_bounds[inside]
    splits = out_start[copy_pieces[owner]] + inner_bounds - copy_from[owner]
    bounds = np.union1d(out_start, splits).astype(np.int64)

    piece = np.searchsorted(out_start, bounds, side="right") - 1
    piece_copied = copied[piece]
    new_start = np.empty(len(bounds), dtype=np.int64)
    new_end = np.empty(len(bounds), dtype=np.int64)

    # Copied through ``outer``: whatever ``inner`` does at that position.
    through = np.flatnonzero(piece_copied)
    position = src_start[piece[through]] + bounds[through] - out_start[piece[through]]
    inner_piece = np.searchsorted(inner.out_start, position, side="right") - 1
    inner_copied = inner.src_end[inner_piece] < 0
    new_start[through] = inner.src_start[inner_piece] + np.where(
        inner_copied, position - inner.out_start[inner_piece], 0
    )
    new_end[through] = np.where(inner_copied, -1, inner.src_end[inner_piece])

    # A block of ``outer`` covers ``inner``'s ranges of its first and last input character.
    blocks = np.flatnonzero(~piece_copied)
    first, _ = inner.locate(src_start[piece[blocks]])
    _, last = inner.locate(src_end[piece[blocks]] - 1)
    new_start[blocks] = first
    new_end[blocks] = last

    # Merge neighbours that continue each other, to keep maps small over many stages.
    new_lengths = np.diff(np.append(bounds, outer.length))
    continues_copy = (
        (new_end[1:] < 0)
        & (new_end[:-1] < 0)
        & (new_start[1:] == new_start[:-1] + new_lengths[:-1])
    )
    same_block = (
        (new_end[1:] >= 0) & (new_end[1:] == new_end[:-1]) & (new_start[1:] == new_start[:-1])
    )
    keep = np.concatenate([[True], ~(continues_copy | same_block)])
    return _Map(bounds[keep], new_start[keep], new_end[keep], outer.length)


def _materialize(mapping: _Map | None, length: int) -> tuple[Int64Array, Int64Array]:
    """Per-character ``starts``/``ends``, built in chunks to bound temporary memory."""
    if mapping is None:
        starts = np.arange(length, dtype=np.int64)
        ends = starts + 1
    else:
        starts = np.empty(length, dtype=np.int64)
        ends = np.empty(length, dtype=np.int64)
        for low in range(0, length, _CHUNK):
            high = min(low + _CHUNK, length)
            starts[low:high], ends[low:high] = mapping.locate(np.arange(low, high, dtype=np.int64))
    starts.setflags(write=False)
    ends.setflags(write=False)
    return starts, ends


# ---------------------------------------------------------------------------------------------
# Stage 1 and 3: Unicode


def _fold_unicode(text: str) -> tuple[str, _Map | None]:
    """Drop invisibles, map typography to ASCII, NFKC and case-fold (see :func:`_tables`)."""
    special = _tables().special
    if special.search(text) is None:
        return text.casefold(), None
    out: list[str] = []
    builder = _MapBuilder()
    pending = 0  # start of the run of simple characters not yet written
    for match in special.finditer(text):
        start, end = match.span()
        first = start
        while first < end and text[first] in _DROP:
            first += 1
        # A leading mark composes with the simple character before it: one cluster.
        if first < end and start > pending and not _is_boundary(text[first]):
            start -= 1
        out.append(text[pending:start].casefold())
        builder.copy(pending, start - pending)
        _fold_region(text, start, end, out, builder)
        pending = end
    out.append(text[pending:].casefold())
    builder.copy(pending, len(text) - pending)
    return "".join(out), builder.build(len(text))


def _fold_region(text: str, start: int, end: int, out: list[str], builder: _MapBuilder) -> None:
    """Split ``text[start:end]`` into clusters and write each one folded."""
    parts: list[str] = []
    cluster_start = cluster_end = start

    def flush() -> None:
        if not parts:
            return
        folded = _fold_cluster("".join(parts))
        out.append(folded)
        if len(folded) == 1 and cluster_end - cluster_start == 1:
            builder.copy(cluster_start, 1)
        else:
            builder.block(cluster_start, cluster_end, len(folded))
        parts.clear()

    for position in range(start, end):
        char = text[position]
        if char in _DROP:
            continue
        char = _MAP.get(char, char)
        if parts and _is_boundary(char[0]):
            flush()
        if not parts:
            cluster_start = position
        parts.append(char)
        cluster_end = position + 1
    flush()


def _fold_text(text: str) -> str:
    return _fold_unicode(text)[0]


# ---------------------------------------------------------------------------------------------
# Stage 2: HTML

#: A comment opener, a raw tag (removed as a unit: attribute values are never decoded), or one
#: of the characters that can complete (``>``, ``;``) or open (``<``) a construct.
_HTML_EVENT: Final = re.compile(r"<!--|<(?:/?[a-z]|[!?])[^<>]*>|[<>;]")
_TAG: Final = re.compile(r"<(?:/?[a-z]|[!?])[^<>]*>")
_TAG_START: Final = re.compile(r"<(?:/?[a-z]|[!?])")
_TAG_NAME: Final = re.compile(r"<(/?)([a-z][a-z0-9]*)")
_CONSTRUCT_CHAR: Final = re.compile(r"[<>;]")
#: An entity name at the end of the output, up to the ``;`` that is arriving.
_ENTITY_TAIL: Final = re.compile(r"&([#0-9a-z]{1,33})\Z")
_NUMERIC_ENTITY: Final = re.compile(r"#(?:[0-9]{1,10}|x[0-9a-f]{1,8})\Z")
_ENTITY_LOOKBACK: Final = 34
_RAW_TEXT_END: Final = {
    name: re.compile(rf"</{name}(?![a-z0-9])[^<>]*>") for name in _RAW_TEXT_TAGS
}


@functools.cache
def _named_entities() -> dict[str, str]:
    """HTML5 named entities (with ``;``) by case-folded name; the lower-case one wins a tie."""
    table: dict[str, str] = {}
    names = sorted(name[:-1] for name in html.entities.html5 if name.endswith(";"))
    for name in names:
        if name != name.lower():
            table.setdefault(name.lower(), html.entities.html5[name + ";"])
    for name in names:
        if name == name.lower():
            table[name] = html.entities.html5[name + ";"]
    return table


def _entity_value(name: str) -> str | None:
    """Decoded text of ``&name;`` (``name`` case-folded), or ``None`` if it is no entity."""
    if name.startswith("#"):
        return html.unescape(f"&{name};") if _NUMERIC_ENTITY.match(name) else None
    return _named_entities().get(name)


class _HtmlReducer:
    """Removes tags and decodes entities of case-folded text, to a fixed point.

    The output is built left to right. Text from the input is copied; a construct is reduced
    when its last character (``>`` or ``;``) arrives, by looking back at the output, so a
    construct formed by earlier replacements (``&amp;`` + ``amp;``) is found like any other.
    The replacement is fed through the same machine. The output therefore never contains an
    entity or a tag: each ``>`` and ``;`` in it was checked when it arrived, and the text
    before it never changes afterwards.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.chunks: list[str] = []
        self.chunk_starts = array("q")
        self.map = _MapBuilder()
        self.open_tags = array("q")  # output positions of "<" with no ">" after them
        self.changed = False
        self.no_end: set[str] = set()  # constructs whose end is missing from the rest
        self.position = 0  # next input character to read

    # -- output buffer ------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if text:
            self.chunk_starts.append(self.map.length)
            self.chunks.append(text)

    def copy(self, start: int, end: int) -> None:
        if end > start:
            self._write(self.source[start:end])
            self.map.copy(start, end - start)

    def add(self, text: str, src_start: int, src_end: int) -> None:
        self._write(text)
        self.map.block(src_start, src_end, len(text))

    def truncate(self, length: int) -> None:
        while self.chunk_starts and self.chunk_starts[-1] >= length:
            self.chunk_starts.pop()
            self.chunks.pop()
        if self.chunks:
            self.chunks[-1] = self.chunks[-1][: length - self.chunk_starts[-1]]
        self.map.truncate(length)
        while self.open_tags and self.open_tags[-1] >= length:
            self.open_tags.pop()

    def text_at(self, position: int, count: int) -> str:
        """Up to ``count`` output characters from ``position``."""
        index = bisect_right(self.chunk_starts, position) - 1
        parts = [self.chunks[index][position - self.chunk_starts[index] :]]
        size = len(parts[0])
        while size < count and index + 1 < len(self.chunks):
            index += 1
            parts.append(self.chunks[index])
            size += len(self.chunks[index])
        return "".join(parts)[:count]

    def tail(self, count: int) -> str:
        return _tail(self.chunks, count)

    # -- the machine --------------------------------------------------------------------------

    def run(self) -> tuple[str, _Map | None]:
        source = self.source
        self.position = 0
        while True:
            match = _HTML_EVENT.search(source, self.position)
            if match is None:
                break
            start, end = match.span()
            self.copy(self.position, start)
            token = match.group()
            self.position = end
            if token == "<!--":
                close = -1 if "--" in self.no_end else source.find("-->", end)
                if close >= 0:
                    self.changed = True
                    self.position = close + 3
                    continue
                self.no_end.add("--")
                tag = _TAG.match(source, start)
                if tag is None:
                    token, self.position = "<", start + 1
                else:
                    token, self.position = tag.group(), tag.end()
            if len(token) > 1:
                self.changed = True
                self._tag(token, start, self.position)
            else:
                replacement = self._arrive(token, start, self.position, copied=True)
                if isinstance(replacement, tuple):
                    self._feed(*replacement)
        self.copy(self.position, len(source))
        if not self.changed:
            return source, None
        return "".join(self.chunks), self.map.build(len(source))

    def _tag(self, tag: str, src_start: int, src_end: int) -> bool:
        """Replace a tag (already out of the output).

        Returns whether it opened a script/style element whose content (up to its end tag in
        the input) was skipped; without an end tag the content stays, as text.
        """
        head = _TAG_NAME.match(tag)
        if head is None:
            return False
        closing, name = head.groups()
        if name in _BLOCK_TAGS:
            self.add("\n", src_start, src_end)
        if closing or name not in _RAW_TEXT_TAGS or name in self.no_end:
            return False
        end = _RAW_TEXT_END[name].search(self.source, self.position)
        if end is None:
            self.no_end.add(name)  # nor after any later start tag: search only once
            return False
        self.position = end.end()
        return True

    def _arrive(
        self, char: str, src_start: int, src_end: int, *, copied: bool
    ) -> tuple[str, int, int] | bool | None:
        """One ``<``, ``>`` or ``;`` arrives: write it, or reduce the construct it completes.

        Returns the replacement text still to be fed (with its source range) for an entity,
        :meth:`_tag`'s answer for a tag, ``None`` for a character that was written.
        """
        if char == ">" and self.open_tags:
            tag_start = self.open_tags[-1]
            head = self.text_at(tag_start, 16)
            if _TAG_START.match(head):
                first, _ = self.map.locate(tag_start)
                self.truncate(tag_start)
                self.changed = True
                return self._tag(head, first, src_end)
        elif char == ";":
            entity = _ENTITY_TAIL.search(self.tail(_ENTITY_LOOKBACK))
            if entity is not None:
                value = _entity_value(entity.group(1))
                if value is not None:
                    entity_start = self.map.length - len(entity.group(1)) - 1
                    first, _ = self.map.locate(entity_start)
                    self.truncate(entity_start)
                    self.changed = True
                    return _fold_text(value), first, src_end
        if char == "<":
            self.open_tags.append(self.map.length)
        elif char == ">":
            del self.open_tags[:]
        if copied:
            self.copy(src_start, src_end)
        else:
            self.add(char, src_start, src_end)
        return None

    def _feed(self, text: str, src_start: int, src_end: int) -> None:
        """Write replacement text, reducing what it completes.

        Iterative, not recursive: chains such as ``&amp&semi&semi&semi;`` nest arbitrarily
        deep. A nested replacement goes on top of the stack, so it is written before the rest
        of the text that produced it.
        """
        stack: list[tuple[str, int, int, int]] = [(text, 0, src_start, src_end)]
        while stack:
            text, index, src_start, src_end = stack.pop()
            special = _CONSTRUCT_CHAR.search(text, index)
            if special is None:
                self.add(text[index:], src_start, src_end)
                continue
            at = special.start()
            self.add(text[index:at], src_start, src_end)
            stack.append((text, at + 1, src_start, src_end))
            result = self._arrive(text[at], src_start, src_end, copied=False)
            if isinstance(result, tuple):
                stack.append((result[0], 0, result[1], result[2]))
            elif result:
                return  # the rest of the replacement is inside a script/style element


def _strip_html(text: str) -> tuple[str, _Map | None]:
    """Stage 2 (see :class:`_HtmlReducer`); plain text passes untouched."""
    # Every tag has a "<", every entity an "&" and a ";".
    if "<" not in text and ("&" not in text or ";" not in text):
        return text, None
    return _HtmlReducer(text).run()


# ---------------------------------------------------------------------------------------------
# Stage 4: whitespace

_WHITESPACE: Final = " \r\n"
_WHITESPACE_RUN: Final = re.compile(r"[ \r\n]{2,}|\r")


def _whitespace_run(run: str) -> str:
    breaks = run.count("\n") + run.count("\r") - run.count("\r\n")
    return " " if breaks == 0 else "\n" if breaks == 1 else "\n\n"


def _collapse_whitespace(text: str) -> tuple[str, _Map | None]:
    body_start = len(text) - len(text.lstrip(_WHITESPACE))
    body_end = len(text.rstrip(_WHITESPACE))
    if body_end <= body_start:
        return "", (None if not text else _MapBuilder().build(len(text)))
    out: list[str] = []
    builder = _MapBuilder()
    pending = body_start
    for match in _WHITESPACE_RUN.finditer(text, body_start, body_end):
        run = match.group()
        replacement = _whitespace_run(run)
        if replacement == run:
            continue
        start, end = match.span()
        out.append(text[pending:start])
        builder.copy(pending, start - pending)
        out.append(replacement)
        builder.block(start, end, len(replacement))
        pending = end
    out.append(text[pending:body_end])
    builder.copy(pending, body_end - pending)
    return "".join(out), builder.build(len(text))


# ---------------------------------------------------------------------------------------------
# Stage 5: words hyphenated at a line break

_NAME_BEFORE: Final = re.compile(r"&([#0-9a-z]*)\Z")
_NAME_AFTER: Final = re.compile(r"([0-9a-z]*);")


def _tail(chunks: list[str], count: int) -> str:
    """The last ``count`` characters of ``"".join(chunks)``, without joining them all."""
    parts: list[str] = []
    size = 0
    for chunk in reversed(chunks):
        if size >= count:
            break
        parts.append(chunk)
        size += len(chunk)
    return "".join(reversed(parts))[-count:] if count > 0 else ""


def _is_cased(char: str) -> bool:
    return char.islower() or char.isupper() or char.istitle()


def _join_hyphenated(text: str, original: str, to_original: _Map | None) -> tuple[str, _Map | None]:
    """Join ``letter-\\nletter`` (stage 5).

    Whether the next line starts with a capital is read from the *original* text, since the
    text here is already case-folded. A second pass reads its own (folded) input, but it never
    sees these line breaks again; the cases where the break stays (no letter before, an
    uncased letter or no letter after, an entity it would form) depend on the folded text
    only, so the second pass decides them the same way.
    """
    if "-\n" not in text:
        return text, None
    out: list[str] = []
    builder = _MapBuilder()
    pending = 0
    for match in re.finditer("-\n", text):
        hyphen = match.start()
        after = hyphen + 2
        if hyphen == 0 or after >= len(text):
            continue
        if not (text[hyphen - 1].isalpha() and text[after].isalpha() and _is_cased(text[after])):
            continue
        start, end = (after, after + 1) if to_original is None else to_original.locate_one(after)
        capital = any(c.isupper() or c.istitle() for c in original[start:end])
        if not capital:
            # Joining must not spell an entity that a second pass would decode.
            written = text[max(pending, hyphen - _ENTITY_LOOKBACK) : hyphen]
            if len(written) < _ENTITY_LOOKBACK:
                written = _tail(out, _ENTITY_LOOKBACK - len(written)) + written
            before = _NAME_BEFORE.search(written)
            rest = _NAME_AFTER.match(text, after, after + _ENTITY_LOOKBACK)
            if before and rest and _entity_value(before.group(1) + rest.group(1)) is not None:
                continue
        out.append(text[pending:hyphen] if not capital else text[pending : hyphen + 1])
        builder.copy(pending, len(out[-1]))
        pending = after
    out.append(text[pending:])
    builder.copy(pending, len(text) - pending)
    return "".join(out), builder.build(len(text))


# ---------------------------------------------------------------------------------------------
# Putting it together


def _one_pass(text: str) -> tuple[str, _Map | None]:
    """The five stages once; the map leads from the result back to ``text``."""
    folded, mapping = _fold_unicode(text)
    stripped, html_map = _strip_html(folded)
    if html_map is not None:
        # Decoded text is folded already; this composes it with its neighbours (e&#769; -> é).
        stripped, refold_map = _fold_unicode(stripped)
        html_map = _chain(refold_map, html_map)
    mapping = _chain(html_map, mapping)
    collapsed, space_map = _collapse_whitespace(stripped)
    mapping = _chain(space_map, mapping)
    joined, join_map = _join_hyphenated(collapsed, text, mapping)
    return joined, _chain(join_map, mapping)


_HYPHEN_BREAK: Final = re.compile(r"-[ \n]*\n")
# Where plain_fold also folds characters that are not simple: Latin-1 and Latin Extended
# (ß, ligatures), general punctuation (…), currency signs, Latin ligatures.
_PLAIN_RANGES: Final = ((0x80, 0x250), (0x2000, 0x2070), (0x20A0, 0x20D0), (0xFB00, 0xFB07))


@functools.cache
def _plain_table() -> dict[int, str | None]:
    """Stage 1 as one ``str.translate`` table, for text whose clusters are single characters:
    typography mapped, invisibles dropped, and each character of :data:`_PLAIN_RANGES` that
    starts a cluster and can never join one (not a mark, composes with nothing before it)
    replaced by its folded form when that is simple (``ß`` -> ``ss``, ``…`` -> ``...``). Next
    to simple characters such a character is a cluster of its own, which is how the full
    path folds it."""
    tables = _tables()
    table: dict[int, str | None] = {ord(k): v for k, v in _MAP.items()}
    table.update(dict.fromkeys(map(ord, _DROP)))
    for low, high in _PLAIN_RANGES:
        for cp in range(low, high):
            char = chr(cp)
            if tables.simple[cp] or cp in table:
                continue
            if (unicodedata.combining(char) or char in tables.backward
                    or not _is_boundary(char)):
                continue
            folded = _fold_cluster(char)
            if folded and all(ord(c) < 0x10000 and tables.simple[ord(c)] for c in folded):
                table[cp] = folded
    return table


@functools.cache
def _plain_pattern() -> re.Pattern[str]:
    """The characters :func:`_plain_table` replaces (a regex finds the few in an article
    faster than ``str.translate`` looks up every character)."""
    return re.compile("[" + re.escape("".join(map(chr, _plain_table()))) + "]")


def plain_fold(text: str) -> str | None:
    """Case-folded ``text`` with typography mapped, when that is all :func:`normalize` would do
    to it besides collapsing whitespace; otherwise ``None``.

    For such text (no character needing NFKC or cluster treatment once typography is mapped,
    no HTML construct, no carriage return, no word hyphenated at a line break), the words of
    the result and the line breaks and punctuation between them are those of
    ``normalize(text).text``: only runs of spaces and line breaks differ in length. It has no
    offset map, so it serves what needs words but no offsets (signing), at a fraction of the
    cost; ``tests/test_fast_paths.py`` checks the equivalence.
    """
    return _plain_fold(text, None)


#: Where :func:`plain_fold_marked` replaced characters: ``(position in the original, length
#: of what replaced it)``, in order.
Replaced = list[tuple[int, int]]


def plain_fold_marked(text: str) -> tuple[str, Replaced] | None:
    """:func:`plain_fold` and the characters it replaced, from which :func:`fold_origins`
    maps the result back to ``text`` later, if ever (for about what :func:`plain_fold`
    costs: only replaced characters are noted)."""
    replaced: Replaced = []
    folded = _plain_fold(text, replaced)
    return None if folded is None else (folded, replaced)


def fold_origins(length: int, replaced: Replaced) -> np.ndarray | None:
    """Per character of a plainly folded text, the index of the character of the original
    (``length`` characters) it came from; ``None`` when nothing was replaced.

    A replaced character is its own cluster, so every character it became maps back to it,
    as in :func:`normalize`'s offsets; dropped characters map from nothing.
    """
    if not replaced:
        return None
    lengths = np.ones(length, dtype=np.int64)
    where, sizes = zip(*replaced)
    lengths[list(where)] = sizes
    return np.repeat(np.arange(length, dtype=np.int64), lengths)


def _plain_map(text: str, replaced: Replaced | None) -> str:
    """``text`` with :func:`_plain_table` applied, noting what was replaced if asked."""
    table = _plain_table()

    def replace(match: re.Match[str]) -> str:
        out = table[ord(match.group())] or ""
        if replaced is not None:
            replaced.append((match.start(), len(out)))
        return out

    return _plain_pattern().sub(replace, text)


#: What the HTML stage would decode in folded text (:data:`_ENTITY_TAIL` with its ``;``),
#: whether or not it names an entity. Text without one has no entity, and decoding cannot
#: make one: an "&" and a ";" apart ("S&P 500; ...", "Merlicek & Saatchi; ...") are text
#: like any other. ("AT&T;" has the form, so it is refused though "&t;" names nothing.)
_ENTITY_LIKE: Final = re.compile(r"&[#0-9a-z]{1,33};")


def _plain_fold(text: str, replaced: Replaced | None) -> str | None:
    mapped = _plain_map(text, replaced)
    if (_tables().special.search(mapped) is not None or "\r" in mapped or "<" in mapped
            or _HYPHEN_BREAK.search(mapped) is not None):
        return None
    folded = mapped.casefold()
    return None if "&" in folded and _ENTITY_LIKE.search(folded) else folded


_BAD = 1


@functools.cache
def _plain_checks() -> np.ndarray:
    """Per BMP character of a mapped text (:func:`_plain_table` applied): its casefold in the
    low 16 bits and, above them, the flag ``_BAD`` for what :func:`plain_fold` refuses
    (special, a carriage return, ``<``)."""
    special = _tables().special
    out = np.zeros(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        char = chr(cp)
        folded = char.casefold()
        if special.match(char) or char in "\r<" or len(folded) != 1:
            out[cp] = cp | _BAD << 16  # casefolding to several characters is special too
        else:
            out[cp] = ord(folded)
    return out


#: Classes of :func:`_plain_entity`: what a character folds to, for finding
#: :data:`_ENTITY_LIKE`.
_NAME, _AMP, _SEMI = 1, 2, 3


@functools.cache
def _plain_entity() -> np.ndarray:
    """Per BMP character: ``_AMP`` if it folds to ``&``, ``_SEMI`` to ``;``, ``_NAME`` to a
    character of an entity's name (``[#0-9a-z]``), else 0 (as one character; one folding to
    several is refused anyway)."""
    out = np.zeros(0x10000, dtype=np.int8)
    name = set("#0123456789abcdefghijklmnopqrstuvwxyz")
    for cp in range(0x10000):
        folded = chr(cp).casefold()
        if folded == "&":
            out[cp] = _AMP
        elif folded == ";":
            out[cp] = _SEMI
        elif folded in name:
            out[cp] = _NAME
    return out


@dataclass
class PlainFolds:
    """:func:`plain_fold` of several texts at once (see :func:`plain_fold_points`)."""

    plain: np.ndarray  # bool per text: plain_fold(text) is not None
    points: np.ndarray  # uint32: the plain texts' folds, each followed by a NUL
    lengths: np.ndarray  # int64 per plain text: the length of its fold
    #: If asked for: per character of ``points``, its index in its text (what
    #: :func:`fold_origins` gives, or the identity where nothing was replaced; -1 at NULs).
    origin: np.ndarray | None


def plain_fold_points(texts: Sequence[str], origins: bool = False) -> PlainFolds:
    """:func:`plain_fold` of each of ``texts``, as code points: the typography mapped, the
    checks and the casefold in one compiled pass over all of them
    (:func:`dedup.kernels.plain_fold`, with :func:`_plain_replacements` and
    :func:`_plain_checks`; for text that passes the checks, the casefold maps one character
    to one). With ``origins``, where each character of the folds came from in its text, as
    :func:`fold_origins` gives it for each plain text's :func:`plain_fold_marked`. Equal to
    them one by one (``tests/test_batch.py``); a regex substitution, two regex searches and
    the casefold per article were most of what folding it cost."""
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # surrogatepass: a lone surrogate (JSON may escape one) is a code point like any other.
    raw = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return plain_fold_code_points(raw, sizes, origins)


def plain_fold_code_points(raw: np.ndarray, sizes: np.ndarray,
                           origins: bool = False) -> PlainFolds:
    """:func:`plain_fold_points` of texts given as their code points (uint32), ``sizes``
    (int64) of them each, one text after another."""
    from . import kernels  # numba: for the commands that fold many texts

    replace_length, replace_start, replace_chars = _plain_replacements()
    plain, points, mapped, origin = kernels.plain_fold(
        raw, sizes, replace_length, replace_start, replace_chars, _plain_checks(),
        _plain_entity(), _plain_simple(), _plain_direct(), origins)
    return PlainFolds(plain, points, mapped[plain], origin if origins else None)


@functools.cache
def _plain_simple() -> np.ndarray:
    """Per BMP character: whether :func:`dedup.kernels.plain_fold` need not look at it
    closely (not replaced, no check flag, not a hyphen, line break or ``&``): 1, or 2 for a
    space, which keeps a hyphen's state (spaces taking the slow path were a third of the
    check's time); else 0."""
    length = _plain_replacements()[0]
    simple: np.ndarray = ((length < 0) & ((_plain_checks() >> 16) == 0)
                          & (_plain_entity() != _AMP)).astype(np.uint8)
    simple[[0x2D, 0x0A]] = 0
    simple[0x20] *= 2
    return simple


@functools.cache
def _plain_direct() -> np.ndarray:
    """Per BMP character: what :func:`dedup.kernels.plain_fold` writes for it when it is not
    replaced (its casefold), 0xFFFFFFFF where it is."""
    length = _plain_replacements()[0]
    direct: np.ndarray = np.where(length < 0, _plain_checks() & 0xFFFF,
                                  0xFFFFFFFF).astype(np.uint32)
    return direct


@functools.cache
def _plain_replacements() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_plain_table` as arrays for :func:`dedup.kernels.plain_fold`: per BMP
    character the length of what replaces it (-1: not replaced, 0: dropped) and where that
    starts in the third array, the replacements' code points one after another."""
    table = _plain_table()
    length = np.full(0x10000, -1, dtype=np.int64)
    start = np.zeros(0x10000, dtype=np.int64)
    chars: list[int] = []
    for cp, replacement in sorted(table.items()):
        codes = [ord(c) for c in replacement or ""]
        if cp > 0xFFFF or any(code > 0xFFFF for code in codes):  # pragma: no cover - table
            raise AssertionError("the plain table maps only within the BMP")
        length[cp], start[cp] = len(codes), len(chars)
        chars += codes
    return length, start, np.array(chars, dtype=np.uint32)


def normalize(text: str) -> Normalized:
    """Normalize news text for comparison, keeping where each character came from.

    See the module docstring for the rules and why they are idempotent. Example::

        >>> normalize("&bdquo;Stra\\u00dfe&ldquo;").text
        '"strasse"'
    """
    current, mapping = _one_pass(text)
    for _ in range(_MAX_PASSES - 1):
        again, again_map = _one_pass(current)
        if again == current:
            break
        current, mapping = again, _chain(again_map, mapping)
    starts, ends = _materialize(mapping, len(current))
    return Normalized(current, starts, ends)
