"""dedup: find near-duplicate, rewritten and overlapping news articles, with the passages they
share and offsets into the original texts."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .config import AlignConfig, BoilerplateConfig, Config, LSHConfig, ShingleConfig
from .errors import ConfigError, DedupError, InputError
from .io import read_corpus
from .models import Cluster, Document, Match, Passage, Report, Skipped
from .pipeline import Explanation, explain, scan

try:
    __version__ = version("dedup")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "AlignConfig", "BoilerplateConfig", "Cluster", "Config", "ConfigError", "DedupError",
    "Document", "Explanation", "InputError", "LSHConfig", "Match", "Passage", "Report",
    "ShingleConfig", "Skipped", "explain", "read_corpus", "scan",
]
