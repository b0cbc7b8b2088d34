"""Run the quality benchmark: every system on every corpus, one table, JSON beside it.

    python -m benchmarks.quality.run [--quick] [--seed N] [--systems dedup,minhash5,textdedup2]

The table goes to stdout, progress to stderr, the full results (with missed pairs and
examples) to ``benchmarks/out/quality.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from . import corpora as corpora_module
from .metrics import evaluate
from .shapes import Corpus
from .syndication import EDIT_KINDS, overlap_by_kind
from .systems import DEFAULT_SYSTEMS, SYSTEMS, SystemUnavailable, dedup_available, log

OUT = Path(__file__).resolve().parent.parent / "out" / "quality.json"
DEFAULT_SEED = 20261122


def run_quality(
    quick: bool = False, seed: int = DEFAULT_SEED, systems: Sequence[str] = DEFAULT_SYSTEMS
) -> dict[str, Any]:
    """Build the corpora, run ``systems`` on each, and return all metrics.

    ``result["corpora"][corpus]["systems"][system]`` holds the metrics of :func:`evaluate`, or
    ``{"unavailable": reason}`` when a system cannot run here. Deterministic given ``seed``
    (up to the systems themselves).
    """
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; choose from {sorted(SYSTEMS)}")
    started = time.perf_counter()
    corpora = corpora_module.build_corpora(quick=quick, seed=seed)
    log(f"built {len(corpora)} corpora in {time.perf_counter() - started:.1f} s")
    result: dict[str, Any] = {
        "meta": {
            "quick": quick,
            "seed": seed,
            "systems": list(systems),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
        },
        "corpora": {},
    }
    for corpus in corpora:
        entry: dict[str, Any] = {"summary": corpora_module.describe(corpus), "systems": {}}
        if corpus.name == "syndication":
            entry["overlap_by_kind"] = overlap_by_kind(corpus)
        for name in systems:
            log(f"{corpus.name}: {name} on {len(corpus.documents)} documents ...")
            try:
                if name == "dedup" and (reason := dedup_available()):
                    raise SystemUnavailable(reason)
                outcome = SYSTEMS[name](list(corpus.documents))
            except SystemUnavailable as error:
                entry["systems"][name] = {"unavailable": str(error)}
                log(f"  unavailable: {error}")
                continue
            metrics = evaluate(corpus, outcome)
            if corpus.name == "gnad":
                metrics["other_pairs"] = judged_pairs(corpus, metrics)
            metrics["info"] = outcome.info
            entry["systems"][name] = metrics
            log(f"  {outcome.seconds:.1f} s")
        result["corpora"][corpus.name] = entry
    result["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    return result


def judged_pairs(corpus: Corpus, metrics: dict[str, Any]) -> list[dict[str, str]]:
    """Pairs found in 10kGNAD other than stub pairs, with the judgement recorded for them."""
    known = corpus.notes["known_pairs"]
    out = []
    for example in metrics["unlabelled_pairs"]["examples"]:
        key = f"{example['a']} {example['b']}"
        out.append({**example, "judgement": known.get(key, "not judged: read the two articles")})
    return out


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

Row = tuple[str, str, str, Callable[[dict[str, Any]], Any]]


def _get(*path: str | int) -> Callable[[dict[str, Any]], Any]:
    def read(metrics: dict[str, Any]) -> Any:
        value: Any = metrics
        for key in path:
            if value is None:
                return None
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


def _kind_recall(kind: str) -> Callable[[dict[str, Any]], Any]:
    def read(metrics: dict[str, Any]) -> Any:
        entry = metrics.get("recall_by_kind", {}).get(kind)
        if not entry:
            return None
        reported, clustered = entry["reported"], entry["clustered"]
        if reported is not None and clustered is not None and abs(reported - clustered) > 1e-9:
            return f"{reported:.3f} (c {clustered:.3f})"
        return reported

    return read


def _matched_of(kind: str) -> Callable[[dict[str, Any]], Any]:
    def read(metrics: dict[str, Any]) -> Any:
        entry = metrics.get("negatives", {}).get(kind)
        return f"{entry['matched']} / {entry['pairs']}" if entry else None

    return read


def _yes_no(read: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def convert(metrics: dict[str, Any]) -> Any:
        value = read(metrics)
        return None if value is None else bool(value)

    return convert


def _rows_for(corpus: str) -> list[Row]:
    common_tail: list[Row] = [
        (corpus, "unlabelled pairs reported", "", _get("unlabelled_pairs", "count")),
        (corpus, "seconds", "", _get("seconds")),
    ]
    if corpus == "syndication":
        return [
            (corpus, "pairwise precision", "", _get("pairwise", "precision")),
            (corpus, "pairwise recall", "", _get("pairwise", "recall")),
            (corpus, "pairwise F1", ">= 0.97", _get("pairwise", "f1")),
            (corpus, "adjusted Rand index", ">= 0.97", _get("ari")),
            *[(corpus, f"recall: {kind}", ">= 0.95", _kind_recall(kind)) for kind in EDIT_KINDS],
            (corpus, "roundup: pair found", "", _get("passages", "roundup", "pair_found")),
            (corpus, "roundup: passage recall", ">= 0.95", _get("passages", "roundup", "recall")),
            (
                corpus,
                "roundup: mean IoU (found)",
                ">= 0.8",
                _get("passages", "roundup", "iou_found"),
            ),
            (corpus, "roundup: clustered (wrong)", "0", _get("passages", "roundup", "clustered")),
            (corpus, "stub pairs matched", "0", _matched_of("boilerplate_stub")),
            *common_tail,
        ]
    if corpus == "clough":
        return [
            (corpus, "pairwise F1", "", _get("pairwise", "f1")),
            (corpus, "adjusted Rand index", "", _get("ari")),
            (corpus, "recall: cut", ">= 0.95", _kind_recall("cut")),
            (corpus, "recall: light", ">= 0.95", _kind_recall("light")),
            (corpus, "recall: heavy", ">= 0.8", _kind_recall("heavy")),
            (corpus, "recall: heavy, incl. partial", "", _get("recall_by_kind", "heavy", "any")),
            (corpus, "non answers matched", "<= 5%", _get("negatives", "clough_non", "rate")),
            *common_tail,
        ]
    if corpus == "vroniplag":
        rows: list[Row] = []
        for kind in ("verbatim", "disguised"):
            rows += [
                (corpus, f"{kind}: pair found", "", _get("passages", kind, "pair_found")),
                (corpus, f"{kind}: passage recall", "", _get("passages", kind, "recall")),
                (corpus, f"{kind}: mean IoU (found)", "", _get("passages", kind, "iou_found")),
            ]
        return rows + [
            (corpus, "host pairs clustered (wrong)", "0", _get("clustered_pairs")),
            *common_tail,
        ]
    if corpus == "lee":
        return [
            (corpus, "same-story pairs matched", "0", _matched_of("lee_same_story")),
            (corpus, "repeated items found", "", _kind_recall("repeated_item")),
            *common_tail,
        ]
    if corpus == "gnad":
        return [
            (corpus, "stub pairs matched", "0", _matched_of("boilerplate_stub")),
            (corpus, "other pairs reported", "", _get("unlabelled_pairs", "count")),
            (corpus, "seconds", "", _get("seconds")),
        ]
    if corpus == "seeds":
        return [
            (
                corpus,
                "002 found as rewrite of 001",
                "yes",
                _yes_no(_get("recall_by_kind", "heavy_seed", "reported")),
            ),
            (corpus, "000 (same story) matched", "0", _matched_of("same_story_other_source")),
        ]
    return common_tail


def _format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_table(result: dict[str, Any]) -> str:
    """One Markdown table: rows are metrics per corpus, columns the systems."""
    systems = result["meta"]["systems"]
    header = ["corpus", "metric", "target", *systems]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * len(systems)) + "|",
    ]
    for corpus, entry in result["corpora"].items():
        docs = entry["summary"]["documents"]
        lines.append(
            f"| **{corpus}** | documents | | " + " | ".join(str(docs) for _ in systems) + " |"
        )
        for _, label, target, read in _rows_for(corpus):
            cells = []
            for system in systems:
                metrics = entry["systems"].get(system, {})
                cells.append("n/a" if "unavailable" in metrics else _format(read(metrics)))
            lines.append(f"| | {label} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_notes(result: dict[str, Any]) -> str:
    lines = []
    for system, metrics in result["corpora"].get("gnad", {}).get("systems", {}).items():
        for pair in metrics.get("other_pairs", []):
            lines.append(
                f"- 10kGNAD, {system}: {pair['a']} ~ {pair['b']} ({pair['relation']}): {pair['judgement']}"
            )
    for corpus, entry in result["corpora"].items():
        for system, metrics in entry["systems"].items():
            if "unavailable" in metrics:
                lines.append(f"- {system} did not run on {corpus}: {metrics['unavailable']}")
    return "\n".join(dict.fromkeys(lines))


@click.command()
@click.option("--quick", is_flag=True, help="The subset the test suite runs (under a minute).")
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Seed of the generated corpora.",
)
@click.option(
    "--systems",
    default=",".join(DEFAULT_SYSTEMS),
    show_default=True,
    help=f"Comma-separated systems out of: {', '.join(SYSTEMS)}.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=OUT,
    show_default=True,
    help="Where to write the JSON results.",
)
def main(quick: bool, seed: int, systems: str, out: Path) -> None:
    """Detection quality of dedup and MinHash baselines on labeled corpora."""
    chosen = [s.strip() for s in systems.split(",") if s.strip()]
    try:
        result = run_quality(quick=quick, seed=seed, systems=chosen)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(result, indent=1, ensure_ascii=False, default=_json_default) + "\n",
        encoding="utf-8",
    )
    click.echo(format_table(result))
    notes = format_notes(result)
    if notes:
        click.echo("\n" + notes)
    log(f"results written to {out} ({result['meta']['seconds']} s)")


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
