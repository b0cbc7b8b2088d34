from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from dedup import Document
from dedup.io import read_corpus

# Tests check behaviour, not time: a busy CI machine must not fail a property test on
# Hypothesis's 200 ms deadline per example.
settings.register_profile("dedup", deadline=None)
settings.load_profile("dedup")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_001 = "001_04969d61eb285417.txt"
SEED_002 = "002_76bda65fef475bd2.txt"
SEED_000 = "000_04f86b0bdd28ede2.txt"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def seed_docs() -> list[Document]:
    return read_corpus([str(SEEDS)]).documents


@pytest.fixture(scope="session")
def seed_texts(seed_docs: list[Document]) -> dict[str, str]:
    return {d.id: d.text for d in seed_docs}
