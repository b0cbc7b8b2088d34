"""Headless Chromium through selenium, for the HTML report's browser tests and benchmark.

The Debian packages ``chromium`` and ``chromium-driver`` provide both binaries;
``scripts/install-test-deps.sh`` installs them (CI runs it through the README's test
command). Without them the browser tests fail rather than skip: a skipped browser test is a
report that was never opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--no-first-run", "--window-size=1280,900"]


def missing_browser() -> str | None:
    """Why Chromium cannot be started here, or None when both binaries are installed."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return (f"{path} not found: run scripts/install-test-deps.sh (as root) to install "
                    "chromium and chromium-driver")
    return None


def start_chromium(profile: Path) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile in ``profile`` and its console log recorded."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
