"""Every knob of dedup, in frozen dataclasses, with the reasoning behind each default.

A :class:`Config` is stored with every index and echoed in every report (``params``), so a
result can always be traced to the settings that produced it.

The pipeline has two stages with different jobs:

* **Candidates** (MinHash + LSH) must not miss a copy, at a cost that stays linear in the
  corpus. It may let through pairs that are only on the same topic.
* **Verification** (alignment with rapidfuzz) decides. It must reject same-topic pairs,
  boilerplate and stock phrases, and type what it accepts.

Defaults were chosen from measurements on real text (see benchmarks/README.md), never on
the seed articles alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class ShingleConfig:
    #: Words per shingle. Reworded wire copy keeps short phrases, not long ones: seeds 001/002
    #: share 10% of their word 3-grams but only 6% of their 5-grams, while unrelated German
    #: news pairs almost never share a 3-gram run beyond stock phrases. 3 keeps the signal of
    #: rewrites at a noise level the collision count below filters out.
    size: int = 3
    #: Documents with fewer words than this are reported as skipped: with so few words a match
    #: cannot be told from a coincidence, and empty shingle sets all share one MinHash
    #: signature (the classic failure where every short document joins one cluster).
    min_words: int = 8


@dataclass(frozen=True)
class LSHConfig:
    """MinHash with ``num_perm`` permutations, banded one row per band.

    With one row per band, the number of bands in which two documents collide is
    Binomial(num_perm, J) for word-shingle Jaccard J, and a pair becomes a candidate when at
    least ``min_collisions`` bands collide. The S-curve is therefore
    ``P(candidate | J) = P(Binomial(256, J) >= 5)``:

    ==========  =====  =====  =====  =====  =====  =====
    J           0.005  0.01   0.02   0.03   0.05   0.10
    P           0.010  0.116  0.582  0.884  0.996  1.000
    ==========  =====  =====  =====  =====  =====  =====

    Rewritten copies sit at J ~ 0.05-0.35 (seeds 001/002: 0.10; NEWS-COPY wire duplicates
    average 0.30) and are found with near certainty; same-topic articles sit at J < 0.01
    and rarely pass. Classic banding (b bands of r > 1 rows) cannot reach this: to pass
    J = 0.1 with 99% it needs r = 2 and ~460 bands, and then admits far more noise.

    A passage shared by two long articles is a small J (30 words in two 400-word articles:
    about 0.03). Measured on the VroniPlag passages embedded in news articles, 5 collisions
    find 79% of them as candidates where 6 found 67%, with 14% more candidates on the
    syndication corpus and no new false match among Clough's independent answers; 4 finds
    85% but lets through pairs that verification wrongly accepts (Clough ``non`` 7.9%).
    Signatures per passage-sized window would find short passages regardless of document
    length (not built yet).
    """

    num_perm: int = 256
    min_collisions: int = 5
    seed: int = 1
    #: A band bucket with more documents than this (a wire story run by many outlets, or a
    #: stock phrase) links its members to its first member only, instead of all pairs, so the
    #: number of candidates stays linear: 200 copies give 199 pairs, not 19,900.
    max_bucket: int = 50


@dataclass(frozen=True)
class BoilerplateConfig:
    """Stock sentences (agency credits, "Lesen Sie auch", legal footers) are not evidence.

    A sentence is boilerplate when at least ``min_docs`` documents carry it and, with that
    sentence taken out, those documents are unrelated: the median Jaccard of their
    content-word sets (over up to ``sample_docs`` of them) is below ``max_relatedness``.
    Copies of one story stay related once a sentence is removed; articles under a stock line
    do not. See :mod:`dedup.boilerplate` for the measurements behind 0.1.
    """

    min_docs: int = 4
    min_words: int = 4
    max_relatedness: float = 0.1
    sample_docs: int = 12


@dataclass(frozen=True)
class AlignConfig:
    #: Exact word runs of this length seed the alignment of a pair.
    seed_words: int = 4
    #: Runs on one diagonal separated by at most this many words on each side are one passage
    #: (a word changed, a name shortened, an adjective dropped).
    max_gap_words: int = 3
    #: A verbatim passage must have at least this many matching words. Ten words is a full
    #: clause: shorter shared runs are mostly stock phrases and names.
    min_passage_words: int = 10
    #: Share of each document inside verbatim passages for ``duplicate`` (both sides) and
    #: ``contains`` (the shorter side): 0.8 keeps a copy with a sentence or two dropped or
    #: added a duplicate.
    duplicate_coverage: float = 0.8
    #: ``rewrite`` needs two things. First, the ordered alignment of content words (LCS of
    #: non-stopword stems) covers this share of the shorter document...
    rewrite_lcs: float = 0.25
    #: ...second, outside verbatim passages the content words align in order by at least
    #: this share of the shorter remainder more than the same words shuffled do. Chance
    #: order between related texts stays below it: measured maxima 0.066 for Clough &
    #: Stevenson answers written independently from the same source, 0.065 for the Lee
    #: same-story pairs, 0.045 at the 99.9th percentile of random 10kGNAD pairs; rewrites
    #: measured 0.08-0.67 (Clough heavy), 0.26 (seeds 001/002).
    rewrite_order_excess: float = 0.08
    #: Shuffles that estimate chance order, their seed (fixed: results are deterministic),
    #: and the least remainder (content words) worth judging.
    order_shuffles: int = 4
    order_seed: int = 0
    order_min_words: int = 10
    #: ``rewrite`` also when, with ``rewrite_lcs`` reached, the texts are mostly one story
    #: edited (trimmed, with sentences added and changed): at least this share of
    #: the shorter and ``mostly_shared_longer`` of the longer lie in shared passages
    #: (verbatim or reworded sentences). Below it a pair is ``partial``: each text keeps
    #: most of its own (a roundup that borrows a paragraph or two).
    mostly_shared: float = 0.6
    mostly_shared_longer: float = 0.3
    #: Sentences shorter than this (captions, credits, "Jetzt Newsletter abonnieren",
    #: "Kommentare (172)") do not count for coverage: outlets wrap copies in such chrome.
    min_sentence_words: int = 4
    #: Two sentences count as one statement reworded when they share this many content words
    #: in order, and this share of the shorter sentence's content words.
    reworded_min_words: int = 3
    reworded_min_share: float = 0.4
    #: Letters of a content word that are compared: a crude stem that makes inflections
    #: ("gewalttätigen", "gewalttätige") equal in German and English.
    stem_chars: int = 6


@dataclass(frozen=True)
class Config:
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    lsh: LSHConfig = field(default_factory=LSHConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    align: AlignConfig = field(default_factory=AlignConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build a config from nested dicts, e.g. a stored index's parameters or a TOML table.

        Unknown sections or keys are an error naming them, so a typo never silently
        falls back to a default.
        """
        defaults = cls()
        sections = [f.name for f in fields(cls)]
        parts: dict[str, Any] = {}
        for section, values in data.items():
            if section not in sections:
                raise ConfigError(
                    f"unknown config section '{section}'; known: {', '.join(sections)}"
                )
            if not isinstance(values, dict):
                raise ConfigError(f"config section '{section}' must be a table of settings")
            default = getattr(defaults, section)
            known = {f.name for f in fields(default)}
            unknown = set(values) - known
            if unknown:
                raise ConfigError(
                    f"unknown setting '{section}.{min(unknown)}'; "
                    f"known: {', '.join(sorted(known))}"
                )
            for key, value in values.items():
                _check_type(f"{section}.{key}", getattr(default, key), value)
            parts[section] = replace(default, **values)
        config = cls(**parts)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that cannot work."""
        checks = [
            (self.shingle.size >= 1, "shingle.size must be at least 1"),
            (self.shingle.min_words >= self.shingle.size, "shingle.min_words must be >= shingle.size"),
            (1 <= self.lsh.num_perm <= 4096, "lsh.num_perm must be between 1 and 4096"),
            (
                1 <= self.lsh.min_collisions <= self.lsh.num_perm,
                "lsh.min_collisions must be between 1 and lsh.num_perm",
            ),
            (self.lsh.max_bucket >= 2, "lsh.max_bucket must be at least 2"),
            (self.boilerplate.min_docs >= 2, "boilerplate.min_docs must be at least 2"),
            (self.boilerplate.sample_docs >= 2, "boilerplate.sample_docs must be at least 2"),
            (self.align.seed_words >= 2, "align.seed_words must be at least 2"),
            (
                self.align.min_passage_words >= self.align.seed_words,
                "align.min_passage_words must be >= align.seed_words",
            ),
            (0 < self.align.duplicate_coverage <= 1, "align.duplicate_coverage must be in (0, 1]"),
            (0 < self.align.rewrite_lcs <= 1, "align.rewrite_lcs must be in (0, 1]"),
            (self.align.order_shuffles >= 1, "align.order_shuffles must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def _check_type(name: str, default: object, value: object) -> None:
    """A setting must have its default's type (an int is accepted where a float is)."""
    expected = type(default)
    ok = isinstance(value, expected) and not isinstance(value, bool)
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        kind = {int: "a whole number", float: "a number"}.get(expected, expected.__name__)
        raise ConfigError(f"setting '{name}' must be {kind}, got {value!r}")
