"""How large a 10,000-pair HTML report is, and how long headless Chromium takes to open it.

Run from the repository root (needs chromium, chromium-driver and selenium)::

    python -m benchmarks.html_load [--pairs 10000] [--words 450]

It prints the render time, the file size and Chromium's load timings (DOMContentLoaded and
the load event from Navigation Timing, plus the wall time of ``driver.get``), and the time a
link to the last pair takes to open it. A benchmark, not a test: the figures are printed and
recorded, never asserted.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Literal

from dedup.cluster import build_clusters
from dedup.models import Document, Match, Passage, Report
from dedup.report_html import to_html

_VOCABULARY = (
    "der die das und in zu den von mit sich des auf für ist im dem nicht ein eine als auch es "
    "an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so "
    "zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei Regierung Polizei "
    "Präsident Stadt Millionen Euro Montag Dienstag Sprecher Angaben Bericht Wahl Partei Gericht"
).split()


def synthetic_report(
    num_pairs: int, words: int = 450, seed: int = 0
) -> tuple[Report, dict[str, str]]:
    """``num_pairs`` pairs of ``words``-word articles, each pair sharing three verbatim
    passages and three reworded sentences, with 10% of pairs nesting a verbatim quote inside
    a reworded passage: the shape of a wire story copied and edited by many outlets."""
    rng = random.Random(seed)
    texts: dict[str, str] = {}
    matches: list[Match] = []
    for n in range(num_pairs):
        a_id, b_id = f"doc{2 * n:06d}.txt", f"doc{2 * n + 1:06d}.txt"
        a = " ".join(rng.choice(_VOCABULARY) for _ in range(words))
        b = " ".join(rng.choice(_VOCABULARY) for _ in range(words // 5)) + " " + a
        shift = len(b) - len(a)
        passages = []
        step = len(a) // 6
        for k in range(6):
            start = k * step + rng.randrange(step // 4)
            end = start + step // 2
            kind: Literal["verbatim", "reworded"] = "verbatim" if k % 2 == 0 else "reworded"
            passages.append(Passage(start, end, start + shift, end + shift, kind))
        if n % 10 == 0:
            outer = passages[1]
            passages.append(
                Passage(
                    outer.a_start + 10, outer.a_start + 60, outer.b_start + 10, outer.b_start + 60
                )
            )
        texts[a_id], texts[b_id] = a, b
        matches.append(Match(a_id, b_id, "contained", 0.8, 0.5, 0.4, tuple(passages)))
    documents = {i: Document(i, t) for i, t in texts.items()}
    return (
        Report(
            documents=len(texts),
            params={},
            clusters=build_clusters(matches, documents),
            pairs=matches,
        ),
        texts,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=450, help="words per article")
    args = parser.parse_args()

    from tests.browser import missing_browser, start_chromium

    problem = missing_browser()
    if problem:
        raise SystemExit(problem)
    report, texts = synthetic_report(args.pairs, args.words)
    started = time.perf_counter()
    page = to_html(report, texts)
    render_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, "utf-8")
        size = path.stat().st_size
        text_chars = sum(len(texts[m.a]) + len(texts[m.b]) for m in report.pairs)
        print(f"pairs: {args.pairs:,}, words per article: {args.words}")
        print(
            f"render: {render_s:.2f} s; file: {size / 1e6:.1f} MB "
            f"({size / text_chars:.2f} bytes per character of article text shown)"
        )
        driver = start_chromium(Path(tmp) / "profile")
        try:
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(path.as_uri())
            wall_s = time.perf_counter() - started
            timing = driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return [t.domContentLoadedEventEnd, t.loadEventEnd];"
            )
            print(
                f"chromium: DOMContentLoaded {timing[0] / 1000:.2f} s, load event "
                f"{timing[1] / 1000:.2f} s, driver.get {wall_s:.2f} s"
            )
            started = time.perf_counter()
            driver.get(f"{path.as_uri()}#pair-{args.pairs}")
            target = driver.find_element("id", f"pair-{args.pairs}")
            shown = target.is_displayed()
            print(f"link to the last pair: {time.perf_counter() - started:.2f} s (opened: {shown})")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
