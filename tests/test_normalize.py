"""Tests for dedup.normalize: the rules, the offset map, and the invariants they promise."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.normalize import Normalized, _entity_value, _fold_unicode, normalize

# Pieces that exercise every rule and their interactions: entities that decode into new
# entities or tags, tags that vanish between the halves of an entity, marks that compose
# across a decoded entity, invisibles inside entity names, hyphenation at line breaks.
# fmt: off
FRAGMENTS = [
    "&", ";", "#", "x", "<", ">", "/", "!", "-", "--", "amp", "lt", "gt",
    "&amp;", "&amp", "amp;", "&lt;", "&gt;", "&LT;", "&AMP;", "&quot;", "&nbsp;", "&shy;",
    "&bdquo;", "&ldquo;", "&Auml;", "&AUML;", "&auml;", "&semi;", "&#", "&#x", "&#59;",
    "&#8222;", "&#x201E;", "&#x201e;", "&#38;", "&#60;", "&#62;", "&#65;", "&#769;",
    "&#824;", "&#xFF06;", "&#13;", "&#10;", "&#173;", "&Dagger;", "&Prime;",
    "<p>", "</p>", "<b>", "</b>", "<br/>", "<BR>", "<div class='x'>", "<a href=\"?a=1&amp;b=2\">",
    "<script>", "</script>", "<style>", "</style>", "<!--", "-->", "<!DOCTYPE html>", "<?xml?>",
    "\r\n", "\r", "\n", "\n\n\n", " ", "  ", "\t", "\u00a0", "\u2009", "\u3000", "\u2028",
    "\u2029", "\x0c", "\u00ad", "\ufeff", "\u200b", "\u200d", "\u2060",
    "\u0301", "\u0308", "\u0338", "\u0345", "\u0307", "e", "E", "a", "A", "u", "p", "P", "m", "M",
    "ß", "ẞ", "İ", "ǰ", "ﬁ", "℃", "Ａ", "＆", "＜", "＞", "；", "ｐ", "ᄀ", "ㅏ", "\u1161",
    "„", "“", "”", "‚", "‘", "’", "»", "«", "›", "‹", "″", "′", "`", "´", "'", '"',
    "‐", "–", "—", "−", "⸻", "﹘", "Ver-\nfügung", "US-\nPräsident", "Ver- \n fügung",
    "Zu\u00adsam\u00admen", "Mu\u0308nchen", "Straße", "3", "中", "ꭰ", "Ꭰ", "ǅ",
]
# fmt: on

fragment_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=24
).map("".join)
any_text = st.one_of(st.text(), fragment_text)

TAG = re.compile(r"<(?:/?[a-z]|[!?])[^<>]*>")
ENTITY = re.compile(r"&(#[0-9]{1,10}|#x[0-9a-f]{1,8}|[a-z][a-z0-9]*);")


def norm(text: str) -> str:
    return normalize(text).text


# ---------------------------------------------------------------------------------------------
# The rules, one by one, with German examples


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("„Zitat“", '"Zitat"'),
        ("»Zitat«", '"Zitat"'),
        ("›Zitat‹", '"Zitat"'),
        ("‚Zitat‘", "'Zitat'"),
        ("Merkel’s", "Merkel's"),
        ("Mu\u0308nchen", "München"),
        ("Straße", "STRASSE"),
        ("Straße", "Strasse"),
        ("STRAẞE", "strasse"),
        ("Ofﬁzier", "Offizier"),
        ("ＡＢＣ", "abc"),
        ("Nord–Süd", "Nord-Süd"),
        ("Nord—Süd", "Nord-Süd"),
        ("−5 Grad", "-5 Grad"),
        ("a\u00a0b", "a b"),
        ("a\u202fb", "a b"),
        ("a\tb", "a b"),
        ("&bdquo;Hallo&ldquo;", "„Hallo“"),
        ("&#8222;Hallo&#8220;", '"Hallo"'),
        ("&#x201E;Hallo&#x201C;", '"Hallo"'),
        ("Rock&nbsp;am&nbsp;Ring", "Rock am Ring"),
        ("AT&amp;T", "AT&T"),
        ("&quot;Zitat&quot;", '"Zitat"'),
        ("Zu\u00adsam\u00admen", "Zusammen"),
        ("Zu&shy;sam&shy;men", "Zusammen"),
        ("\ufeffText", "Text"),
        ("Wort\u200bwort", "Wortwort"),
        ("Zeile\r\nZeile", "Zeile\nZeile"),
        ("Zeile\rZeile", "Zeile\nZeile"),
        ("Ver-\nfügung", "Verfügung"),
        ("Ver-  \n  fügung", "Verfügung"),
        ("Ver-\r\nfügung", "Verfügung"),
        ("Ver-<br>fügung", "Verfügung"),
        ("<b>fett</b> und <i>kursiv</i>", "fett und kursiv"),
        ("<p>Eins</p><p>Zwei</p>", "Eins\n\nZwei"),
        ("Eins<br>Zwei", "Eins\nZwei"),
        ("<script>alert(1)</script>Text", "Text"),
        ("<style>p { color: red }</style>Text", "Text"),
        ("<!-- Werbung: <b>kauf</b> -->Text", "Text"),
    ],
)
def test_equal_after_normalization(left: str, right: str) -> None:
    assert norm(left) == norm(right)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("„Zitat“", '"zitat"'),
        ("Mu\u0308nchen", "münchen"),
        ("Straße", "strasse"),
        ("Ver-\nfügung", "verfügung"),
        ("US-\nPräsident", "us-präsident"),
        ("US-\n&Auml;rger", "us-ärger"),
        ("3-\nteilig", "3-\nteilig"),  # no letter before the hyphen
        ("Ver-\n\nfügung", "ver-\n\nfügung"),  # a paragraph break is not a line break
        ("&bdquo;Hallo&ldquo;", '"hallo"'),
        ("<p>Eins</p><p>Zwei</p>", "eins\n\nzwei"),
        ("<div>Eins</div>\n\n\n<div>Zwei</div>", "eins\n\nzwei"),
        ("a\u00a0b", "a b"),
        ("Zu\u00adsam\u00admen", "zusammen"),
        ("\ufeffText", "text"),
        ("Zeile\r\nZeile", "zeile\nzeile"),
        ("<script>alert(1)</script>Text", "text"),
        ("<SCRIPT type='x'>if (a < b) {}</SCRIPT>Text", "text"),
        ("<script>kein Ende", "kein ende"),
        ("&lt;script&gt;x</script>Text", "text"),  # a script tag spelled by entities
        # ... whose content stays without an end tag, even the rest of "&nvgt;" (">\u20d2")
        ("&lt;script&nvgt;kein Ende", "\u20d2kein ende"),
        ("<script>a</script>b<script>c", "bc"),
        ("a < b", "a < b"),
        ("a <b", "a <b"),
        ("Preis <10 Euro>", "preis <10 euro>"),
        ("  viel   Platz \t hier  ", "viel platz hier"),
        ("Absatz \n \n \n \n Absatz", "absatz\n\nabsatz"),
        ("Zeile \n Zeile", "zeile\nzeile"),
        ("Fa\u00e7ade", "façade"),
        ("℃", "°c"),
        ("&amp;", "&"),
        ("&amp", "&amp"),  # without ";" an entity is text
        ("&unbekannt;", "&unbekannt;"),
        ("&#x41;&#66;", "ab"),
        ("&#0;", "\ufffd"),  # html.unescape semantics
        ("&#x80;", "€"),  # ... including the Windows-1252 fix-ups
        ("e&#769;", "é"),
        ("&AUML;", "ä"),
        ("„Wort” ‚Wort‘ «Wort» ″", '"wort" \'wort\' "wort" "'),
        ("a\u2029b", "a\n\nb"),
    ],
)
def test_rules(raw: str, expected: str) -> None:
    assert norm(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Double escaping is undone completely: the output never holds an entity or a tag.
        ("&amp;amp;", "&"),
        ("&amp;amp;amp;amp;", "&"),
        ("&amp;lt;b&amp;gt;fett", "fett"),
        ("&lt;p&gt;Absatz", "absatz"),
        ("&<i></i>amp;", "&"),
        ("&amp&semi;", "&"),
        ("&amp" + "&semi" * 50 + ";", "&"),
        ("&#xFF06;amp;", "&"),
        ("&a\u00admp;", "&"),
        # Joining a hyphenated word must not spell an entity.
        ("&am-\np;", "&am-\np;"),
        ("&a-\nm-\np;", "&am-\np;"),
    ],
)
def test_html_reduces_to_a_fixed_point(raw: str, expected: str) -> None:
    assert norm(raw) == expected
    assert norm(expected) == expected


def test_empty_and_blank() -> None:
    for raw in ["", " ", "\r\n\t\u00a0", "<p></p>", "\u00ad"]:
        result = normalize(raw)
        assert result.text == ""
        assert result.starts.dtype == np.int64 and len(result.starts) == 0
        assert len(result.ends) == 0


# ---------------------------------------------------------------------------------------------
# Mapping back to the original


def test_span_maps_a_quote_back_to_the_original() -> None:
    original = "Er sagte: „Wir werden unser Bestes tun“."
    result = normalize(original)
    needle = "wir werden unser bestes tun"
    i = result.text.index(needle)
    start, end = result.span(i, i + len(needle))
    assert original[start:end] == "Wir werden unser Bestes tun"


def test_span_through_entities_tags_and_expansions() -> None:
    original = "<p>Die Stra&szlig;e &bdquo;Am&nbsp;Markt&ldquo;</p>"
    result = normalize(original)
    assert result.text == 'die strasse "am markt"'
    i = result.text.index("strasse")
    assert original[slice(*result.span(i, i + len("strasse")))] == "Stra&szlig;e"
    j = result.text.index('"am markt"')
    assert original[slice(*result.span(j, j + len('"am markt"')))] == (
        "&bdquo;Am&nbsp;Markt&ldquo;"
    )


def test_one_char_to_many_and_many_to_one() -> None:
    result = normalize("Maß")
    assert result.text == "mass"
    assert [result.span(k, k + 1) for k in range(4)] == [(0, 1), (1, 2), (2, 3), (2, 3)]
    result = normalize("a&amp;b")
    assert result.text == "a&b"
    assert result.span(1, 2) == (1, 6)
    result = normalize("a \r\n  b")
    assert result.text == "a\nb"
    assert result.span(1, 2) == (1, 6)


def test_span_rejects_empty_or_out_of_range_slices() -> None:
    result = normalize("abc")
    for i, j in [(1, 1), (2, 1), (-1, 2), (0, 4)]:
        with pytest.raises(ValueError, match="not a non-empty slice"):
            result.span(i, j)


def test_offsets_are_read_only() -> None:
    result = normalize("abc")
    with pytest.raises(ValueError):
        result.starts[0] = 5


# ---------------------------------------------------------------------------------------------
# Properties


@settings(deadline=None, max_examples=600)
@given(any_text)
@example("&amp;amp;")
@example("&lt;p&gt;")
@example("<a&lt;&#824;>")
@example("&lt;!-- a < b --&gt;")
@example("a-\n\u0345")
@example("&am-\np;")
def test_idempotent(text: str) -> None:
    once = norm(text)
    assert norm(once) == once


@settings(deadline=None, max_examples=400)
@given(any_text)
def test_offsets_are_valid_and_monotone(text: str) -> None:
    result = normalize(text)
    n = len(result.text)
    assert result.starts.dtype == np.int64 and result.ends.dtype == np.int64
    assert len(result.starts) == len(result.ends) == n
    if n == 0:
        return
    assert (result.starts >= 0).all()
    assert (result.starts < result.ends).all()
    assert (result.ends <= len(text)).all()
    assert (np.diff(result.starts) >= 0).all()
    assert (np.diff(result.ends) >= 0).all()


@settings(deadline=None, max_examples=300)
@given(any_text)
def test_each_char_comes_from_its_source(text: str) -> None:
    """Every normalized character is in the normalization of the original piece it maps to,
    except spaces and line breaks, which stand for whitespace or tags around them (a piece
    that is only whitespace normalizes to "")."""
    result = normalize(text)
    for i, char in enumerate(result.text):
        if char in " \n":
            continue
        piece = text[result.starts[i] : result.ends[i]]
        assert char in norm(piece), (i, char, piece)


@settings(deadline=None, max_examples=300)
@given(any_text)
def test_nfc_and_nfd_agree(text: str) -> None:
    nfc = norm(unicodedata.normalize("NFC", text))
    assert norm(unicodedata.normalize("NFD", text)) == nfc


@settings(deadline=None, max_examples=300)
@given(any_text)
def test_output_is_clean(text: str) -> None:
    """What every normalized text looks like, whatever the input."""
    out = norm(text)
    assert unicodedata.is_normalized("NFKC", out)
    assert not TAG.search(out)
    assert not re.search(r"[\u00ad\u200b-\u200d\u2060\ufeff\r\t\u00a0\u2000-\u200a„“”»«‚‘’–—]", out)
    assert "  " not in out and " \n" not in out and "\n " not in out and "\n\n\n" not in out
    assert out == out.strip(" \n")
    for entity in ENTITY.finditer(out):
        # Entity-shaped text is fine as long as it decodes to nothing ("&unbekannt;").
        assert _entity_value(entity.group(1)) is None, out


def _reference_fold(text: str) -> str:
    """The obvious Unicode stage: the whole string at once, no clusters."""
    from dedup.normalize import _DROP, _MAP_TABLE

    text = "".join(c for c in text if c not in _DROP).translate(_MAP_TABLE)
    for _ in range(8):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text.translate(_MAP_TABLE)


@settings(deadline=None, max_examples=600)
@given(any_text)
@example("e\u00ad\u0301")
@example("\u1100\u314f")
@example("a\u0301\u00ad\u0316")
def test_unicode_stage_matches_whole_string_normalization(text: str) -> None:
    """Folding cluster by cluster (fast) equals folding the whole string (obvious)."""
    assert _fold_unicode(text)[0] == _reference_fold(text)


def test_normalized_is_a_frozen_dataclass() -> None:
    result = normalize("x")
    assert isinstance(result, Normalized)
    with pytest.raises(AttributeError):
        result.text = "y"  # type: ignore[misc]
