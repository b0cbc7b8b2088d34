"""Real German news text for tests (see tests/data/README.md for source and license)."""

from __future__ import annotations

import json
import re
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "gnad_sample.jsonl"
ARTICLES: list[str] = [json.loads(line)["text"] for line in _DATA.read_text("utf-8").splitlines()]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])")


def paragraphs(article: str, sentences_per_paragraph: int = 3) -> list[str]:
    """The article cut into paragraphs of a few sentences (the corpus has no breaks)."""
    sentences = _SENTENCE.split(article)
    return [" ".join(sentences[i : i + sentences_per_paragraph])
            for i in range(0, len(sentences), sentences_per_paragraph)]
