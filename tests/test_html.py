"""The HTML report: segments of overlapping passages, escaping, CSP, size, and a real browser."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from benchmarks.html_load import synthetic_report
from dedup import Document, scan
from dedup.cli import cli
from dedup.models import Match, Passage, Report
from dedup.report import render
from dedup.report_html import CSP, Kind, Span, segments, to_html

from . import browser as browser_module
from .browser import missing_browser, start_chromium
from .conftest import SEED_001, SEED_002, SEEDS
from .corpus_text import ARTICLES
from .test_scan import QUOTES

# --- segments of overlapping passages ---------------------------------------------------------


def test_nested_and_overlapping_passages_split_into_segments() -> None:
    spans = [Span(0, 60, "reworded", 1), Span(20, 40, "verbatim", 2),
             Span(50, 80, "reworded", 3), Span(50, 80, "reworded", 4)]
    got = [(s.start, s.end, s.lead.number if s.lead else None, [o.number for o in s.opening])
           for s in segments(100, spans)]
    assert got == [(0, 20, 1, [1]), (20, 40, 2, [2]), (40, 50, 1, []), (50, 60, 3, [3, 4]),
                   (60, 80, 3, []), (80, 100, None, [])]


def test_passages_outside_the_text_are_clipped() -> None:
    got = [(s.start, s.end, len(s.covering)) for s in segments(10, [Span(-5, 3, "verbatim", 1),
                                                                   Span(8, 99, "verbatim", 2),
                                                                   Span(20, 30, "verbatim", 3)])]
    assert got == [(0, 3, 1), (3, 8, 0), (8, 10, 1)]


KINDS: list[Kind] = ["verbatim", "reworded"]


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n), st.integers(0, n), st.sampled_from(KINDS)), max_size=8))))
def test_segments_agree_with_a_character_by_character_reference(
        case: tuple[int, list[tuple[int, int, Kind]]]) -> None:
    length, raw = case
    spans = [Span(min(a, b), max(a, b), kind, n) for n, (a, b, kind) in enumerate(raw, 1)]
    result = segments(length, spans)
    assert [s.start for s in result] == [0, *[s.end for s in result][:-1]]
    assert result[-1].end == length
    for seg in result:
        for i in range(seg.start, seg.end):
            covering = {s.number for s in spans if s.start <= i < s.end}
            assert {s.number for s in seg.covering} == covering
            kinds = {s.kind for s in spans if s.number in covering}
            lead = seg.lead
            assert (lead.kind if lead else None) == (
                "verbatim" if "verbatim" in kinds else "reworded" if kinds else None)


# --- the page as written ----------------------------------------------------------------------


class _Marks(HTMLParser):
    """The article texts of a page (``div.text``), each as runs of (text, mark class or
    None), and every id and in-page link target."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.mark: str | None = None
        self.texts: list[list[tuple[str, str | None]]] = []
        self.ids: set[str] = set()
        self.hrefs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if values.get("id"):
            self.ids.add(values["id"])
        if values.get("href", "").startswith("#"):
            self.hrefs.add(values["href"][1:])
        if self.depth:
            self.depth += 1
        elif values.get("class") == "text":
            self.depth = 1
            self.texts.append([])
        if self.depth and tag == "mark":
            self.mark = values.get("class")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
        if tag == "mark":
            self.mark = None

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1].append((data, self.mark))


def _marked(page: str) -> _Marks:
    parser = _Marks()
    parser.feed(page)
    return parser


def test_nested_passages_render_each_character_once_with_the_strongest_kind() -> None:
    a = "Er sagte: Wir werden unser Bestes tun, um sofort zu wechseln. Ende."
    b = "Zitat: Wir werden unser Bestes tun, um sofort zu wechseln."
    quote_a, quote_b = a.index("Wir"), b.index("Wir")
    length = len("Wir werden unser Bestes tun")
    match = Match("a", "b", "partial", 0.5, 0.5, 0.5, (
        Passage(0, a.index(" Ende"), 0, len(b), "reworded", 0.5),
        Passage(quote_a, quote_a + length, quote_b, quote_b + length, "verbatim"),
    ))
    page = to_html(Report(2, {}, [], [match]), {"a": a, "b": b})
    runs_a, runs_b = _marked(page).texts
    assert "".join(t for t, _ in runs_a) == a and "".join(t for t, _ in runs_b) == b
    assert runs_a == [("Er sagte: ", "reworded"), ("Wir werden unser Bestes tun", "verbatim"),
                        (", um sofort zu wechseln.", "reworded"), (" Ende.", None)]
    assert 'id="p1-1-a"' in page and 'id="p1-2-a"' in page and 'href="#p1-2-b"' in page


def test_every_passage_link_has_its_target(seed_docs: list[Document],
                                           seed_texts: dict[str, str]) -> None:
    page = render(scan(seed_docs), "html", seed_texts)
    parsed = _marked(page)
    assert parsed.hrefs <= parsed.ids
    assert {f"p1-{k}-{side}" for k in range(1, 4) for side in "ab"} <= parsed.ids


def test_the_three_seed_quotes_are_marked_in_both_texts(seed_docs: list[Document],
                                                        seed_texts: dict[str, str]) -> None:
    page = render(scan(seed_docs), "html", seed_texts)
    texts = _marked(page).texts
    assert len(texts) == 2
    for runs in texts:
        # Unmarked characters blanked out: a quote must survive whole.
        marked = "".join(t if kind else "\0" * len(t) for t, kind in runs)
        for q in QUOTES:
            assert q in marked, q


def test_article_text_ids_and_metadata_are_escaped() -> None:
    evil = "<script>alert(1)</script> <img src=x onerror=alert(2)> & </div></details>"
    match = Match('"><script>a</script>', "b<b>", "duplicate", 1.0, 1.0, 1.0,
                  (Passage(0, len(evil), 0, len(evil)),))
    texts = {match.a: evil, match.b: evil}
    meta = {match.a: {"title": "<em>T</em>", "url": "javascript:alert(3)"},
            match.b: {"url": "https://example.org/?a=1&b=\"2\""}}
    page = to_html(Report(2, {}, [], [match]), texts, meta)
    assert "<script" not in page and "<img" not in page and "<em>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &lt;/div&gt;&lt;/details&gt;" in page
    assert "url: javascript:alert(3)" in page and 'href="javascript' not in page
    assert 'href="https://example.org/?a=1&amp;b=&quot;2&quot;"' in page


def test_csp_allows_no_script_and_only_the_inline_style() -> None:
    page = to_html(Report(0, {}), {})
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy and policy.group(1).replace("&#x27;", "'") == CSP
    assert "default-src 'none'" in CSP and "script-src 'none'" in CSP
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CSP
    # Nothing to load: no src, no stylesheet link, no url() in the style.
    assert not re.search(r"\ssrc=|<link|url\(|@import", page)


def test_large_reports_are_paged_and_stay_small(tmp_path: Path) -> None:
    report, texts = synthetic_report(10_000, words=60)
    page = to_html(report, texts)
    shown = sum(len(texts[m.a].encode()) + len(texts[m.b].encode()) for m in report.pairs)
    size = len(page.encode())
    # Markup beyond the texts themselves: under 2.5 KB per pair (rows, links, marks).
    assert size - shown < 2_500 * len(report.pairs), size
    assert page.count('<details class="pair" open>') == 20
    assert page.count('<details class="page" open>') == 3  # clusters, pair list, texts
    assert page.count('<details class="page">') == 3 * (10_000 // 200 - 1)


def test_scan_writes_an_html_report(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["scan", str(SEEDS), "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and SEED_001 in page and SEED_002 in page


# --- in a real browser ------------------------------------------------------------------------


def test_a_missing_browser_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_module, "CHROMIUM", "/nonexistent/chromium")
    assert missing_browser() == ("/nonexistent/chromium not found: run "
                                 "scripts/install-test-deps.sh (as root) to install chromium and "
                                 "chromium-driver")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    problem = missing_browser()
    if problem:
        pytest.fail(problem)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


_MARKED_TEXT = """
const out = [];
const walk = (node, marked) => {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) out.push([child.data, marked]);
    else walk(child, marked || child.tagName === 'MARK');
  }
};
walk(arguments[0], false);
return out;
"""


def _open(browser: Chrome, page: str, path: Path) -> None:
    path.write_text(page, "utf-8")
    browser.get(path.as_uri())


def test_browser_shows_the_quotes_highlighted_and_links_navigate(
        browser: Chrome, tmp_path: Path, seed_docs: list[Document],
        seed_texts: dict[str, str]) -> None:
    _open(browser, render(scan(seed_docs), "html", seed_texts), tmp_path / "report.html")
    sides = browser.find_elements(By.CSS_SELECTOR, "#pair-1 .text")
    assert len(sides) == 2
    for side in sides:
        runs = browser.execute_script(_MARKED_TEXT, side)
        marked = "".join(text if is_marked else "\0" * len(text) for text, is_marked in runs)
        for q in QUOTES:
            assert q in marked, q
    # Highlighted for real, verbatim and reworded apart: the page's stylesheet was applied.
    colors = {mark.get_attribute("class"): mark.value_of_css_property("background-color")
              for mark in browser.find_elements(By.CSS_SELECTOR, "#pair-1 mark")}
    assert colors["verbatim"] != colors["reworded"]
    assert not any(c in ("rgba(0, 0, 0, 0)", "transparent") for c in colors.values())
    log = browser.get_log("browser")  # type: ignore[no-untyped-call]  # untyped in selenium
    assert not [e for e in log if e["level"] == "SEVERE"], log

    # A quote in text a links to the same quote in text b.
    link = next(a for a in sides[0].find_elements(By.CSS_SELECTOR, "mark a")
                if a.text.startswith("Wir werden unser Bestes tun"))
    link.click()
    target_id = browser.execute_script("return location.hash.slice(1)")
    assert target_id.endswith("-b")
    target = browser.find_element(By.ID, target_id)
    assert target.is_displayed() and "Wir werden unser Bestes tun" in target.text
    assert _inside(target, sides[1])
    # The pair list links to the pair.
    browser.find_element(By.CSS_SELECTOR, "table.pairs a[href='#pair-1']").click()
    assert browser.execute_script("return location.hash") == "#pair-1"
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _inside(element: WebElement, container: WebElement) -> bool:
    return bool(element.parent.execute_script(
        "return arguments[1].contains(arguments[0])", element, container))


def test_browser_opens_a_collapsed_pair_when_a_link_points_into_it(browser: Chrome,
                                                                   tmp_path: Path) -> None:
    report, texts = synthetic_report(30, words=40)
    _open(browser, to_html(report, texts, open_pairs=2, page_size=10), tmp_path / "r.html")
    assert not browser.find_element(By.ID, "pair-5").is_displayed()
    browser.find_element(By.CSS_SELECTOR, "table.pairs a[href='#pair-5']").click()
    assert browser.find_element(By.ID, "pair-5").is_displayed()
    # Pair 25 sits in a closed pair, on a closed page: both open.
    browser.get(f"{(tmp_path / 'r.html').as_uri()}#pair-25")
    assert browser.find_element(By.ID, "pair-25").is_displayed()


def test_browser_renders_article_markup_as_text(browser: Chrome, tmp_path: Path) -> None:
    evil = (" <script>document.title = 'pwned'</script> <img src=x "
            "onerror=\"document.title = 'pwned'\"> ")
    text = ARTICLES[0][:400] + evil + ARTICLES[0][400:]
    docs = [Document("evil-1", text), Document("evil-2", text)]
    report = scan(docs)
    assert report.pairs, "the two copies must form a pair for their texts to be shown"
    _open(browser, render(report, "html", {d.id: d.text for d in docs}), tmp_path / "evil.html")
    assert browser.title.startswith("dedup report")
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "script") == []
    shown = browser.find_element(By.ID, "pair-1").text
    assert shown.count("<script>document.title = 'pwned'</script>") == 2
    assert shown.count("<img src=x onerror=\"document.title = 'pwned'\">") == 2
