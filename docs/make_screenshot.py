"""Regenerate docs/report.png, the HTML report of seeds/ as README.md shows it.

Run from the repository root (needs chromium, chromium-driver and selenium)::

    python -m docs.make_screenshot
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dedup import read_corpus, scan
from dedup.report import render
from tests.browser import start_chromium

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    documents = read_corpus([str(ROOT / "seeds")]).documents
    page = render(scan(documents), "html", {d.id: d.text for d in documents})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, "utf-8")
        driver = start_chromium(Path(tmp) / "profile")
        try:
            driver.set_window_size(1100, 1000)
            # The pair, texts side by side, rather than the tables above it.
            driver.get(f"{path.as_uri()}#texts")
            driver.save_screenshot(str(ROOT / "docs" / "report.png"))
        finally:
            driver.quit()
    print(f"docs/report.png: {(ROOT / 'docs' / 'report.png').stat().st_size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
