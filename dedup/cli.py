"""The ``dedup`` command: parse options, call the library, print, map errors to exit codes.

Exit codes: 0 done (findings are not failures unless --fail-on says so), 1 findings that
--fail-on names, 2 usage error, 3 input or operational error.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

import click

from . import __version__
from .batch import warm_tables
from .engines import ENGINES, Engine, default_workers, make_engine, using_engine
from .errors import DedupError
from .filter import KEEP_POLICIES, KeepPolicy, filter_copies
from .io import STDIN_PATH, Corpus, iter_documents, read_corpus
from .models import Document
from .output import check_writable, write
from .pipeline import Explanation, explain, scan
from .progress import ProgressLine
from .report import FORMATS, json_pieces, quote, render
from .settings import load_settings
from .store import ids_of, select

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


def workers_option(fn: F) -> F:
    """``--workers N``: processes for preparing and verifying (same report for any N)."""
    return click.option(
        "--workers", type=click.IntRange(min=1), default=None, metavar="N",
        help="Worker processes for preparing and verifying documents; the report is the same "
             "for any N. Default: one per CPU.")(fn)


def _engine(workers: int | None, kind: str, scheduler: str | None) -> Engine:
    if scheduler is not None and kind != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    try:
        return make_engine(workers, kind=kind, scheduler=scheduler)
    except ImportError as exc:
        raise DedupError(str(exc)) from exc
    except OSError as exc:
        raise DedupError(f"cannot reach the dask scheduler {scheduler}: {exc}; check the "
                         "address and that 'dask scheduler' runs there") from exc


def _note_trimmed_workers(engine: Engine) -> None:
    trimmed: list[str] = getattr(engine, "trimmed_workers", list)()
    if trimmed:
        click.echo(f"note: {len(trimmed)} dask worker(s) run with MALLOC_TRIM_THRESHOLD_ set by "
                   "their nanny, which makes signing take 2-2.6x as long on them; start workers "
                   "with --no-nanny, or set MALLOC_TRIM_THRESHOLD_: null under "
                   "distributed.nanny.pre-spawn-environ in their dask config", err=True)


def config_option(fn: F) -> F:
    """``--config FILE`` for every command whose results depend on the settings."""
    return click.option(
        "--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
        metavar="FILE",
        help="Settings (TOML) overriding the defaults. Default: dedup.toml, else [tool.dedup] "
             "in pyproject.toml, in the current directory.")(fn)


def _progress_line(quiet: bool) -> ProgressLine:
    """Progress on stderr: drawn only on a terminal, never with --quiet."""
    return ProgressLine(sys.stderr, enabled=False if quiet else None)


def _read(paths: Sequence[str], id_field: str, text_field: str, quiet: bool,
          progress: ProgressLine | None = None, stdin: IO[bytes] | None = None, *,
          spool: bool = False, workers: int | None = None) -> Corpus:
    """The documents in ``paths``, with warnings on stderr unless ``quiet``; with ``spool``,
    their texts wait in a temporary file (see :class:`dedup.store.DocumentStore`), and a
    large JSONL file is parsed by ``workers`` processes (default: one per CPU) while this
    one loads the compiled kernels signing will need."""
    if progress:
        progress("reading", 0, 0)
    corpus = read_corpus(paths, id_field=id_field, text_field=text_field, stdin=stdin,
                         spool=spool, workers=workers or default_workers(),
                         meanwhile=warm_tables,
                         progress=None if progress is None else (
                             lambda count: progress("reading", count, 0)))
    if progress:
        progress("reading", len(corpus.documents), 0)
        progress.close()
    if not quiet:
        for warning in corpus.warnings:
            click.echo(f"Warning: {warning}", err=True)
    return corpus


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
@workers_option
@click.option("--engine", "engine_kind", type=click.Choice(ENGINES), default="local",
              show_default=True,
              help="Where preparing and verifying run: local processes, or a dask.distributed "
                   "cluster (pip install 'dedup[dask]'); the report is the same.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --engine dask: the scheduler of an existing cluster "
                   "(tcp://host:8786). Default: a LocalCluster of --workers processes.")
@config_option
@input_options
def scan_command(paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None,
                 quiet: bool, workers: int | None, engine_kind: str, scheduler: str | None,
                 config_file: str | None, id_field: str, text_field: str) -> None:
    """Report which documents in PATHS copy, rewrite or share passages with each other.

    PATHS are directories (*.txt and *.md, recursively), .jsonl/.jsonl.gz, .csv files,
    or - for JSONL on standard input.

    \b
    Examples:
      dedup scan seeds/
      dedup scan archive/ --format json -o report.json
      dedup scan archive/ --format html -o report.html
      dedup scan batch.jsonl --text-field body --fail-on duplicate,rewrite
    """
    failing = _parse_fail_on(fail_on)
    config = load_settings(config_file).config
    check_writable(output)
    with _progress_line(quiet) as progress:
        corpus = _read(paths, id_field, text_field, quiet, progress, spool=True,
                       workers=workers)
        engine = _engine(workers, engine_kind, scheduler)
        if scheduler is not None and not quiet:
            progress.close()  # the note on a line of its own
            _note_trimmed_workers(engine)
        try:
            with using_engine(engine):
                report = scan(corpus.documents, config, progress)
        finally:
            close = getattr(engine, "close", None)
            if close is not None:
                close()
    report.skipped = sorted([*corpus.skipped, *report.skipped], key=lambda s: s.id)
    # The text and HTML reports quote documents in pairs: read just those texts again (JSON
    # and CSV give offsets only, and a million-article scan has hundreds of thousands).
    texts: dict[str, str] = {}
    meta: dict[str, dict[str, str]] = {}
    if fmt in ("text", "html"):
        involved = {x for m in report.pairs for x in (m.a, m.b)}
        shown = select(corpus.documents, [n for n, doc_id in enumerate(ids_of(corpus.documents))
                                          if doc_id in involved])
        texts = {d.id: d.text for d in shown}
        meta = {d.id: d.meta() for d in shown}
    write(output, json_pieces(report) if fmt == "json" else render(report, fmt, texts, meta),
          json_text=fmt == "json")
    if any(m.relation in failing for m in report.pairs):
        sys.exit(1)


cli.add_command(scan_command, name="scan")


@cli.command("explain")
@click.argument("first")
@click.argument("second")
@click.option("--corpus", "corpus_paths", multiple=True, metavar="PATH",
              help="Read FIRST and SECOND as ids in this corpus (repeatable); the corpus also "
                   "teaches which sentences are boilerplate.")
@config_option
@input_options
def explain_command(first: str, second: str, corpus_paths: tuple[str, ...],
                    config_file: str | None, id_field: str, text_field: str) -> None:
    """Explain why two documents match, or why not: scores, the shared passages side by
    side, and the rule that decided.

    \b
    Examples:
      dedup explain seeds/001_04969d61eb285417.txt seeds/002_76bda65fef475bd2.txt
      dedup explain 001_04969d61eb285417.txt 002_76bda65fef475bd2.txt --corpus seeds/
    """
    config = load_settings(config_file).config
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
    write(None, format_explanation(explain(a, b, config, context)))


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


# --- filter (issue 6) -------------------------------------------------------------------------

FILTER_EXIT_CODES = """\b
Exit codes: 0 done, 2 usage error (e.g. OUT would
overwrite an input), 3 input or operational error."""


@cli.command("filter", epilog=FILTER_EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              metavar="OUT.jsonl",
              help="Write the kept documents to this JSONL file; the dropped ones are listed "
                   "in OUT.dropped.jsonl beside it.")
@click.option("--keep", type=click.Choice(KEEP_POLICIES), default="earliest", show_default=True,
              help="Which member of a cluster to keep: earliest (the canonical member: earliest "
                   "date, else longest text), longest, or first in the order of PATHS and of "
                   "the lines within them.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings, progress or summary on stderr.")
@config_option
@input_options
def filter_command(paths: tuple[str, ...], output: str, keep: KeepPolicy, quiet: bool,
                   config_file: str | None, id_field: str, text_field: str) -> None:
    """Write the documents in PATHS without their copies: one member of each cluster, and
    every document that copies nothing.

    OUT.jsonl holds one JSON object per kept document, in input order, with the id, the text
    and any title, source, date and url (other fields of JSONL/CSV inputs are not carried
    over; use the dropped ids to filter the originals). OUT.dropped.jsonl has one line per
    dropped document: id, kept (the id of the document it copies), relation (from the
    dropped document's side; "linked" for a copy of a copy), similarity and cluster. Empty
    documents are left out with a warning. The inputs are never modified.

    \b
    Examples:
      dedup filter archive/ -o clean.jsonl
      dedup filter 2024.jsonl 2025.jsonl --keep first -o clean.jsonl
    """
    dropped_file = _dropped_path(output)
    _refuse_overwriting_inputs(paths, output, dropped_file)
    config = load_settings(config_file).config
    check_writable(output)
    # Standard input can be read once; held in memory, it can be read again for the order.
    stdin = io.BytesIO(sys.stdin.buffer.read()) if STDIN_PATH in paths else None
    with _progress_line(quiet) as progress:
        corpus = _read(paths, id_field, text_field, quiet, progress, stdin)
        report = scan(corpus.documents, config, progress)
    order = _input_order(paths, id_field, text_field, stdin)
    result = filter_copies(sorted(corpus.documents, key=lambda d: order[d.id]), report, keep)
    write(dropped_file, (json.dumps(d.to_dict(), ensure_ascii=False) + "\n"
                         for d in result.dropped), json_text=True)
    write(output, (json.dumps({id_field: d.id, text_field: d.text, **d.meta()},
                              ensure_ascii=False) + "\n" for d in result.kept),
          json_text=True)
    if not quiet:
        copies = f"{len(result.dropped):,} {'copy' if len(result.dropped) == 1 else 'copies'}"
        click.echo(f"{output}: kept {len(result.kept):,} of {len(corpus.documents):,} documents; "
                   f"dropped {copies}, listed in {dropped_file}", err=True)


def _dropped_path(output: str) -> str:
    """Where filter lists the dropped documents: ``clean.jsonl`` -> ``clean.dropped.jsonl``."""
    stem = output[: -len(".jsonl")] if output.lower().endswith(".jsonl") else output
    return f"{stem}.dropped.jsonl"


def _refuse_overwriting_inputs(paths: Sequence[str], *outputs: str) -> None:
    """A usage error when an output is one of the inputs or lies inside an input directory:
    the inputs are never modified, not even by adding a file to them."""
    for output in outputs:
        if output == STDIN_PATH:
            raise click.BadParameter("give a file name: the dropped documents are listed in a "
                                     "second file beside it", param_hint="'-o' / '--output'")
        target = os.path.realpath(output)
        for path in paths:
            if path == STDIN_PATH:
                continue
            source = os.path.realpath(path)
            inside = os.path.isdir(source) and target.startswith(os.path.join(source, ""))
            if target == source or inside:
                raise click.BadParameter(
                    f"{output} would {'be written inside' if inside else 'overwrite'} the input "
                    f"{path}; write it elsewhere (inputs are never modified)",
                    param_hint="'-o' / '--output'")


def _input_order(paths: Sequence[str], id_field: str, text_field: str,
                 stdin: IO[bytes] | None) -> dict[str, int]:
    """Each id's position in the inputs as given (read_corpus returns them sorted by id)."""
    order: dict[str, int] = {}
    for path in paths:
        if path == STDIN_PATH and stdin is not None:
            stdin.seek(0)
        for item in iter_documents(path, id_field=id_field, text_field=text_field, stdin=stdin):
            order.setdefault(item.id, len(order))
    return order


# --- index and check (issue 4) ----------------------------------------------------------------

CHECK_FORMATS = ("text", "json", "junit")
DEFAULT_CHECK_FAIL_ON = "duplicate,contains,rewrite"
INDEX_EXIT_CODES = """\b
Exit codes: 0 done, 2 usage error or parameters that
differ from the index's, 3 input or operational error
(no index, not an index, damaged, busy)."""
CHECK_EXIT_CODES = """\b
Exit codes: 0 the check passed, 1 a finding fails
--fail-on, 2 usage error or parameters that differ
from the index's, 3 input or operational error."""


def index_option(fn: F) -> F:
    return click.option(
        "-i", "--index", "location", required=True, envvar="DEDUP_INDEX", metavar="PATH|URL",
        help="The index: a file (SQLite), or redis://HOST:PORT/DB?prefix=NAME for a shared "
             "Redis index. Default: $DEDUP_INDEX.")(fn)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


@cli.group("index", epilog=INDEX_EXIT_CODES)
def index_group() -> None:
    """Build and maintain an index of archived articles that batches are checked against.

    An index is one SQLite file (or a Redis server shared by several workers) holding the
    parameters it was built with, signatures, band keys, sentence keys, metadata and each
    article's text (compressed), so matches can be shown without the original files.

    \b
    Examples:
      dedup index build archive/ -o archive.dedup
      dedup index add new_batch/ --index archive.dedup
      dedup index info --index archive.dedup
    """


@index_group.command("build", epilog=INDEX_EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", "location", required=True, metavar="PATH|URL",
              help="Where to write the index: a file, or a redis:// URL.")
@click.option("--force", is_flag=True, help="Replace an index already there.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings or progress on stderr.")
@workers_option
@config_option
@input_options
def index_build_command(paths: tuple[str, ...], location: str, force: bool, quiet: bool,
                        workers: int | None, config_file: str | None, id_field: str,
                        text_field: str) -> None:
    """Build a new index from the documents in PATHS (same inputs as scan).

    \b
    Examples:
      dedup index build archive/ -o archive.dedup
      dedup index build 2024.jsonl.gz 2025.jsonl.gz --text-field body -o archive.dedup
      dedup index build archive/ -o 'redis://127.0.0.1:6379/0?prefix=archive'
    """
    from .index import build_index

    config = load_settings(config_file).config
    with _progress_line(quiet) as progress:
        corpus = _read(paths, id_field, text_field, quiet, progress, spool=True,
                       workers=workers)
        result = build_index(location, corpus.documents, config, force=force,
                             progress=progress, engine=make_engine(workers))
    skipped = len(corpus.skipped) + len(result.skipped)
    click.echo(f"{location}: indexed {_plural(len(result.added), 'document')}"
               + (f" ({skipped:,} skipped: empty or too short to compare)" if skipped else ""))


@index_group.command("add", epilog=INDEX_EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@index_option
@click.option("--skip-existing", is_flag=True,
              help="Leave out documents whose id the index already holds, instead of failing.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings or progress on stderr.")
@workers_option
@config_option
@input_options
def index_add_command(paths: tuple[str, ...], location: str, skip_existing: bool, quiet: bool,
                      workers: int | None, config_file: str | None, id_field: str,
                      text_field: str) -> None:
    """Add the documents in PATHS to an index, in one transaction.

    Ids the index already holds are an error naming them (nothing is added) unless
    --skip-existing. Several processes may add to one index at once: they take turns.

    \b
    Examples:
      dedup index add new_batch/ --index archive.dedup
      dedup index add feed.jsonl --index archive.dedup --skip-existing
    """
    from .index import add_documents, open_index

    config = load_settings(config_file).config
    with _progress_line(quiet) as progress:
        corpus = _read(paths, id_field, text_field, quiet, progress)
        with open_index(location) as index:
            result = add_documents(index, corpus.documents, config,
                                   skip_existing=skip_existing, progress=progress,
                                   engine=make_engine(workers))
    notes = []
    if result.existing:
        notes.append(f"{len(result.existing):,} already indexed, left out")
    skipped = len(corpus.skipped) + len(result.skipped)
    if skipped:
        notes.append(f"{skipped:,} skipped: empty or too short to compare")
    click.echo(f"{location}: added {_plural(len(result.added), 'document')}"
               + (f" ({'; '.join(notes)})" if notes else ""))


@index_group.command("remove", epilog=INDEX_EXIT_CODES)
@click.argument("ids", nargs=-1, required=True)
@index_option
def index_remove_command(ids: tuple[str, ...], location: str) -> None:
    """Remove the documents with these IDS from an index, in one transaction.

    An id the index does not hold is an error naming it, and nothing is removed.

    \b
    Example:
      dedup index remove 2024/0815.txt 2024/0816.txt --index archive.dedup
    """
    from .index import open_index

    unique = sorted(set(ids))
    with open_index(location) as index:
        index.remove(unique)
    click.echo(f"{location}: removed {_plural(len(unique), 'document')}")


@index_group.command("info", epilog=INDEX_EXIT_CODES)
@index_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="Output format.")
def index_info_command(location: str, fmt: str) -> None:
    """Show what an index holds: documents, parameters, size, created and updated (UTC).

    \b
    Example:
      dedup index info --index archive.dedup
    """
    import json

    from .index import format_info, open_index

    with open_index(location) as index:
        info = index.info()
    if fmt == "json":
        click.echo(json.dumps(info.to_dict(), indent=2))
    else:
        click.echo(format_info(info), nl=False)


@cli.command("check", epilog=CHECK_EXIT_CODES)
@click.argument("paths", nargs=-1, required=True)
@index_option
@click.option("--format", "fmt", type=click.Choice(CHECK_FORMATS), default="text",
              show_default=True, help="Report format; junit is JUnit XML for CI systems.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", default=DEFAULT_CHECK_FAIL_ON, show_default=True, metavar="RELATIONS",
              help="Fail (exit 1) when a batch document has one of these relations, "
                   "comma-separated: duplicate,contains,rewrite,partial, or none.")
@click.option("--add", "add_pass", is_flag=True,
              help="Add the batch to the index, in the same transaction, if the check passes.")
@click.option("--add-always", is_flag=True, help="Add the batch to the index regardless.")
@click.option("--skip-existing", is_flag=True,
              help="With --add: leave out documents the index already holds instead of failing.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings or progress on stderr.")
@workers_option
@config_option
@input_options
def check_command(paths: tuple[str, ...], location: str, fmt: str, output: str | None,
                  fail_on: str, add_pass: bool, add_always: bool, skip_existing: bool,
                  quiet: bool, workers: int | None, config_file: str | None, id_field: str,
                  text_field: str) -> None:
    """Check a batch (PATHS) against an index: fail when it copies, contains or rewrites
    archived articles, or copies itself.

    Candidates come from the index and from within the batch and are verified exactly as
    scan verifies them; the report names the archived articles and quotes the shared
    passages. Documents whose id the index already holds are reported as already indexed,
    not compared.

    \b
    Examples:
      dedup check new_batch/ --index archive.dedup
      dedup check new_batch/ --index archive.dedup --add
      dedup check batch.jsonl --index archive.dedup --format junit -o dedup.xml
    """
    from .check import RENDERERS, check
    from .index import open_index
    from .junit import to_junit

    failing = set() if fail_on.strip().lower() == "none" else _parse_fail_on(fail_on)
    if add_pass and add_always:
        raise click.UsageError("give --add or --add-always, not both")
    check_writable(output)
    config = load_settings(config_file).config
    corpus = read_corpus(paths, id_field=id_field, text_field=text_field, allow_empty=True)
    if not quiet:
        for warning in corpus.warnings:
            click.echo(f"Warning: {warning}", err=True)
    with _progress_line(quiet) as progress, open_index(location) as index:
        result = check(index, corpus.documents, config=config, fail_on=failing,
                       add="always" if add_always else "pass" if add_pass else "never",
                       skip_existing=skip_existing, progress=progress,
                       engine=make_engine(workers))
    result.skipped = sorted([*corpus.skipped, *result.skipped], key=lambda s: s.id)
    result.documents = len(corpus.documents) + len(corpus.skipped)
    render_check = to_junit if fmt == "junit" else RENDERERS[fmt]
    write(output, render_check(result), json_text=fmt == "json")
    if not result.passed:
        sys.exit(1)


def entry() -> None:
    """The ``dedup`` command: :func:`main`, and then the process ends without Python's last
    garbage collection. The collection Python runs as it exits walked every object a scan
    left (0.2-0.3 s after a 100k scan had written its report, 2-3 % of the scan) only for
    the system to free them all a moment later; frozen objects it leaves alone. Open files
    are closed by then (stdout is flushed whatever), and the temporary files' finalizers run
    before it, at exit."""
    try:
        main()
    finally:
        gc.freeze()


def main(argv: Sequence[str] | None = None) -> None:
    """Library errors become ``Error: ...`` lines, never tracebacks (what tests call: a
    command in this process)."""
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
    except Exception as e:  # the promise is: never a traceback
        if os.environ.get("DEDUP_DEBUG"):
            raise
        click.echo(f"Error: internal error ({type(e).__name__}: {e}); rerun with DEDUP_DEBUG=1 "
                   "for the traceback and please report it", err=True)
        sys.exit(3)
