"""Corpora and oracles for the index and check tests (real German text from tests/data)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from dedup import Config, Document, scan
from dedup.check import CheckResult
from dedup.cli import main

from .conftest import ROOT, SEEDS
from .corpus_text import ARTICLES, paragraphs

#: A stock line that three archived and one batch document carry: it is boilerplate only when
#: archive and batch are judged together (min_docs is 4).
STOCK = ("Lesen Sie auch: Alle Hintergründe und Analysen zu diesem Thema finden Sie "
         "jederzeit in unserem großen Dossier.")


def _seed(name: str) -> str:
    return next(p for p in SEEDS.iterdir() if p.name.startswith(name)).read_text("utf-8")


def archive_docs() -> list[Document]:
    """Twelve real articles, a trimmed copy, three carriers of STOCK, one short stub."""
    docs = [Document(f"arch/{n:02d}", text + (f"\n\n{STOCK}" if n in (1, 2, 6) else ""),
                     source="Der Standard", date=f"2016-01-{n + 1:02d}")
            for n, text in enumerate(ARTICLES[:10])]
    docs.append(Document("arch/10-trim", "\n\n".join(paragraphs(ARTICLES[0])[:2])))
    docs.append(Document("arch/11-seed000", _seed("000")))
    docs.append(Document("arch/12-seed001", _seed("001")))
    docs.append(Document("arch/short", "Zu kurz, um es zu vergleichen."))
    return docs


def batch_docs() -> list[Document]:
    """Copies, trims and extensions of archived articles, a rewrite of an archived seed, a
    pair that copies each other inside the batch, a fourth carrier of STOCK, a roundup, one
    document already indexed and one too short."""
    p3, p4, p5, p6 = (paragraphs(ARTICLES[n]) for n in (3, 4, 5, 6))
    p10, p11 = paragraphs(ARTICLES[10]), paragraphs(ARTICLES[11])
    return [
        Document("batch/copy-03", "WIEN (APA) – " + "\n\n".join(p3)
                 + "\n\n(APA, 12.3.2016)"),
        Document("batch/trim-04", p4[0]),
        Document("batch/update-05", "\n\n".join(p5) + "\n\nAktualisiert: " + p11[-1]),
        Document("batch/rewrite-002", _seed("002")),
        Document("batch/self-a", "\n\n".join(p10)),
        Document("batch/self-b", "\n\n".join(p10[:-1]) + "\n\nMehr in Kürze."),
        Document("batch/stock", "\n\n".join(p11[:2]) + f"\n\n{STOCK}"),
        Document("batch/roundup", "\n\n".join([p11[2] if len(p11) > 2 else p11[0], p6[1],
                                               "Weitere Meldungen folgen am Abend."])),
        Document("arch/00", ARTICLES[0]),  # already indexed, same text
        Document("batch/tiny", "Ja, genau so."),
    ]


def scan_pairs(archive: Sequence[Document], batch: Sequence[Document],
               config: Config | None = None) -> list[dict[str, Any]]:
    """The oracle: the pairs of scan(archive + batch) that involve a batch document, leaving
    out batch documents whose id the archive already has."""
    archived = {d.id for d in archive}
    fresh = [d for d in batch if d.id not in archived]
    ids = {d.id for d in fresh}
    report = scan([*archive, *fresh], config)
    return [m.to_dict() for m in report.pairs if m.a in ids or m.b in ids]


def check_pairs(result: CheckResult) -> list[dict[str, Any]]:
    return [m.to_dict() for m in result.pairs]


def write_jsonl(path: Path, docs: Sequence[Document]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text, **d.meta()}, ensure_ascii=False)
                    + "\n")
    return path


def invoke(args: list[str]) -> tuple[int, str, str]:
    """The command line in this process, through the same entry point as ``python -m dedup``
    (errors become ``Error: ...`` lines and exit codes): ``(exit code, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`invoke`, shaped like ``subprocess.run``; ``env`` is set for the call only."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        code, out, err = invoke(args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["dedup", *args], code, out, err)


def run_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The real ``python -m dedup`` in a subprocess: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "dedup", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, check=False)
