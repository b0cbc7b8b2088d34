"""The ``dedup`` command: parse options, call the library, print, map errors to exit codes.

Exit codes: 0 done (findings are not failures unless --fail-on says so), 1 findings that
--fail-on names, 2 usage error, 3 input or operational error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from . import __version__
from .config import Config
from .errors import DedupError
from .io import Corpus, read_corpus
from .models import Document
from .pipeline import Explanation, explain, scan
from .report import FORMATS, quote, render

F = TypeVar("F", bound=Callable[..., Any])
RELATIONS = ("duplicate", "contains", "contained", "rewrite", "partial")

EXIT_CODES = """\b
Exit codes: 0 done, 1 findings named by --fail-on,
2 usage error, 3 input or operational error."""


def input_options(fn: F) -> F:
    """Options shared by every command that reads documents."""
    fn = click.option("--text-field", default="text", show_default=True,
                      help="JSONL/CSV field holding the article text.")(fn)
    fn = click.option("--id-field", default="id", show_default=True,
                      help="JSONL/CSV field holding the document id.")(fn)
    return fn


def _read(paths: Sequence[str], id_field: str, text_field: str, quiet: bool) -> Corpus:
    corpus = read_corpus(paths, id_field=id_field, text_field=text_field)
    if not quiet:
        for warning in corpus.warnings:
            click.echo(f"Warning: {warning}", err=True)
    return corpus


def _check_writable(output: str | None) -> None:
    """Fail before a long scan, not after it, when the report cannot be written."""
    if output is None or output == "-":
        return
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise DedupError(f"{output}: cannot write (No such file or directory)")
    if not os.access(folder, os.W_OK):
        raise DedupError(f"{output}: cannot write (Permission denied)")


def _write(output: str | None, content: str) -> None:
    """Write the report; a file is replaced atomically, so a crash never leaves half of one."""
    if output is None or output == "-":
        click.echo(content, nl=False)
        return
    tmp = f"{output}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(content)
        os.replace(tmp, output)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise DedupError(f"{output}: cannot write ({e.strerror})") from e


def _parse_fail_on(value: str | None) -> set[str]:
    if not value:
        return set()
    wanted = {v.strip() for v in value.split(",") if v.strip()}
    unknown = wanted - set(RELATIONS)
    if unknown:
        raise click.BadParameter(
            f"unknown relation '{sorted(unknown)[0]}'; choose from {', '.join(RELATIONS)}",
            param_hint="--fail-on",
        )
    if "contains" in wanted:
        wanted.add("contained")
    return wanted


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dedup")
def cli() -> None:
    """Find near-duplicate, rewritten and overlapping news articles.

    \b
    Example:
      dedup scan seeds/
    """


@cli.command(epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", default=None, metavar="RELATIONS",
              help="Exit 1 when a pair has one of these relations, comma-separated: "
                   "duplicate,contains,rewrite,partial.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings or progress on stderr.")
@input_options
def scan_command(paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None,
                 quiet: bool, id_field: str, text_field: str) -> None:
    """Report which documents in PATHS copy, rewrite or share passages with each other.

    PATHS are directories (*.txt and *.md, recursively), .jsonl/.jsonl.gz, .csv files,
    or - for JSONL on standard input.

    \b
    Examples:
      dedup scan seeds/
      dedup scan archive/ --format json -o report.json
      dedup scan batch.jsonl --text-field body --fail-on duplicate,rewrite
    """
    failing = _parse_fail_on(fail_on)
    _check_writable(output)
    corpus = _read(paths, id_field, text_field, quiet)
    report = scan(corpus.documents)
    report.skipped = sorted([*corpus.skipped, *report.skipped], key=lambda s: s.id)
    texts = {d.id: d.text for d in corpus.documents}
    _write(output, render(report, fmt, texts))
    if any(m.relation in failing for m in report.pairs):
        sys.exit(1)


cli.add_command(scan_command, name="scan")


@cli.command("explain")
@click.argument("first")
@click.argument("second")
@click.option("--corpus", "corpus_paths", multiple=True, metavar="PATH",
              help="Read FIRST and SECOND as ids in this corpus (repeatable); the corpus also "
                   "teaches which sentences are boilerplate.")
@input_options
def explain_command(first: str, second: str, corpus_paths: tuple[str, ...], id_field: str,
                    text_field: str) -> None:
    """Explain why two documents match, or why not: scores, the shared passages side by
    side, and the rule that decided.

    \b
    Examples:
      dedup explain seeds/001_04969d61eb285417.txt seeds/002_76bda65fef475bd2.txt
      dedup explain 001_04969d61eb285417.txt 002_76bda65fef475bd2.txt --corpus seeds/
    """
    if corpus_paths:
        corpus = read_corpus(corpus_paths, id_field=id_field, text_field=text_field)
        by_id = {d.id: d for d in corpus.documents}
        missing = [i for i in (first, second) if i not in by_id]
        if missing:
            raise DedupError(f"no document with id '{missing[0]}' in {', '.join(corpus_paths)}; "
                             "ids are paths relative to a directory, or the id field of JSONL/CSV")
        a, b, context = by_id[first], by_id[second], corpus.documents
    else:
        a, b = (_single_document(p) for p in (first, second))
        context = []
    click.echo(format_explanation(explain(a, b, Config(), context)), nl=False)


def _single_document(path: str) -> Document:
    corpus = read_corpus([path])
    if len(corpus.documents) != 1:
        raise DedupError(f"{path}: holds {len(corpus.documents)} documents; give one file per "
                         "document, or ids with --corpus")
    return corpus.documents[0]


def format_explanation(e: Explanation) -> str:
    v = e.verdict
    lines = [f"a: {e.a.id}", f"b: {e.b.id}", ""]
    verdict = v.match.relation if v.match else "no match"
    lines.append(f"verdict: {verdict} ({v.reason})")
    lines.append(f"candidate: {'yes' if e.candidate else 'no'} "
                 f"({e.collisions} of {e.num_perm} MinHash bands collide)")
    if not e.candidate:
        lines.append("  (a scan would not compare this pair; the verdict below is what "
                     "verification would say)")
    lines.append(f"verbatim coverage: a {v.verbatim_coverage_a:.0%}, b {v.verbatim_coverage_b:.0%}"
                 f"; longest verbatim passage {v.longest_passage_words} words")
    lines.append(f"aligned coverage (verbatim + reworded sentences): a {v.aligned_coverage_a:.0%}"
                 f", b {v.aligned_coverage_b:.0%}")
    lines.append(f"content words aligned in order: {v.content_alignment:.2f} of the shorter; "
                 f"{v.order_excess:.2f} beyond chance outside verbatim passages")
    if v.passages:
        lines.append("")
        lines.append("shared passages:")
        for p in v.passages:
            lines.append(f"  {p.kind} a[{p.a_start}:{p.a_end}] b[{p.b_start}:{p.b_end}] "
                         f"similarity {p.similarity:.2f}")
            lines.append(f"    a: {quote(e.a.text, p.a_start, p.a_end, 160)}")
            lines.append(f"    b: {quote(e.b.text, p.b_start, p.b_end, 160)}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: library errors become ``Error: ...`` lines, never tracebacks."""
    try:
        cli.main(args=argv, prog_name="dedup", standalone_mode=False)
    except DedupError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("DEDUP_DEBUG"):
            raise
        click.echo(f"Error: internal error ({type(e).__name__}: {e}); rerun with DEDUP_DEBUG=1 "
                   "for the traceback and please report it", err=True)
        sys.exit(3)
