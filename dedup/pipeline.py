"""The scan: documents in, a report of clusters, typed pairs and shared passages out.

Stages, each in its own module and each usable alone: tokenize and shingle
(:mod:`dedup.tokens`, :mod:`dedup.shingle`), sign (:mod:`dedup.signatures`), find candidates
(:mod:`dedup.candidates`), learn boilerplate (:mod:`dedup.boilerplate`), verify
(:mod:`dedup.align`) and cluster (:mod:`dedup.cluster`).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

import numpy as np

from .align import Prepared, Verdict, verify
from .boilerplate import SentenceProfile, boilerplate_keys, sentence_keys
from .candidates import candidate_pairs, collision_counts
from .cluster import build_clusters
from .config import AlignConfig, Config
from .engines import Engine, current_engine
from .errors import InputError
from .models import Document, Match, Report, Skipped
from .shingle import shingle_hashes
from .signatures import Signer
from .tokens import tokenize, tokenize_lazily
from .vocabulary import vocabulary

#: Called as ``progress(stage, done, total)``; the CLI draws bars with it, the library never.
Progress = Callable[[str, int, int], None]


@dataclass
class Corpus:
    """Prepared documents with their signatures (rows in id order) and boilerplate marked."""

    prepared: list[Prepared]
    signatures: np.ndarray
    skipped: list[Skipped]


def prepare(doc: Document, config: Config) -> Prepared:
    """Tokenize a document and compute what alignment needs from it."""
    tokens = tokenize_lazily(doc.text)
    words = vocabulary(config.align.stem_chars)
    numbers = words.lookup(tokens.words)
    ids = words.hashes[numbers]
    stem_pos = np.flatnonzero(words.content[numbers])
    stems = words.stems[numbers[stem_pos]]
    prepared = Prepared(doc, tokens, ids, stems, stem_pos, np.zeros(len(tokens), dtype=bool))
    prepared.mark_fragments(config.align.min_sentence_words)
    return prepared


def _mark_boilerplate(prepared: Sequence[Prepared], config: Config,
                      profiles: Sequence[SentenceProfile] | None = None) -> None:
    if profiles is None:
        profiles = [sentence_profile(p, config.boilerplate.min_words) for p in prepared]
    boiler = boilerplate_keys(profiles, config.boilerplate)
    if not boiler:
        return
    for p, profile in zip(prepared, profiles):
        mark_boilerplate(p, profile, boiler)


def mark_boilerplate(p: Prepared, profile: SentenceProfile, boiler: Container[int]) -> None:
    """Flag the words of ``p``'s sentences whose keys are in ``boiler`` (once per document:
    it drops their stems from ``p``, so compute profiles before marking)."""
    flagged = np.fromiter((int(k) in boiler for k in profile.keys.tolist()), dtype=bool,
                          count=len(profile.keys))
    if flagged.any():
        p.set_boilerplate(flagged[p.tokens.sentence_of])


def sentence_profile(p: Prepared, min_words: int) -> SentenceProfile:
    """Sentence keys and per-sentence content stems of a prepared (not yet marked) document."""
    sentence_of_stem = p.tokens.sentence_of[p.stem_pos]
    # One sort by (sentence, stem) and one dedup for all sentences, instead of np.unique per
    # sentence: each slice below is exactly that sentence's np.unique.
    order = np.lexsort((p.stems, sentence_of_stem))
    by_sentence, stems = sentence_of_stem[order], p.stems[order]
    keep = np.ones(len(stems), dtype=bool)
    keep[1:] = (stems[1:] != stems[:-1]) | (by_sentence[1:] != by_sentence[:-1])
    by_sentence, stems = by_sentence[keep], stems[keep]
    bounds = np.searchsorted(by_sentence, np.arange(len(p.tokens.sentences) + 1))
    per_sentence = [stems[bounds[s]:bounds[s + 1]]
                    for s in range(len(p.tokens.sentences))]
    return SentenceProfile(sentence_keys(p.tokens, min_words), per_sentence)


_Prepared = tuple[Prepared, "np.ndarray | None", "SentenceProfile | None"]


def _prepare_chunk(context: tuple[Config, Signer], docs: Sequence[Document]) -> list[_Prepared]:
    """Prepare, sign and profile a chunk of documents (signature and profile are None for a
    document too short to compare). Runs in an engine's worker."""
    config, signer = context
    out: list[_Prepared] = []
    for doc in docs:
        p = prepare(doc, config)
        if len(p.tokens) < config.shingle.min_words:
            out.append((p, None, None))
        else:
            signature = signer.sign(shingle_hashes(p.word_ids, config.shingle.size))
            out.append((p, signature, sentence_profile(p, config.boilerplate.min_words)))
    return out


def _verify_chunk(
    context: tuple[Sequence[Prepared], AlignConfig], pairs: Sequence[Sequence[int]]
) -> list[Match | None]:
    """Verify a chunk of candidate pairs (row numbers). Runs in an engine's worker."""
    prepared, align_config = context
    return [verify(prepared[i], prepared[j], align_config).match for i, j in pairs]


def build_corpus(
    documents: Sequence[Document], config: Config, progress: Progress | None = None,
    engine: Engine | None = None,
) -> Corpus:
    """Prepare, sign and mark boilerplate for every document long enough to compare.

    ``engine`` runs the per-document work (default: in this process, in order); the corpus
    is the same whatever runs it."""
    ordered = sorted(documents, key=lambda d: d.id)
    seen: dict[str, Document] = {}
    for doc in ordered:
        if doc.id in seen:
            raise InputError(
                f"document id '{doc.id}' appears twice: {seen[doc.id].origin or '?'} and "
                f"{doc.origin or '?'}; ids must be unique"
            )
        seen[doc.id] = doc
    signer = Signer(config.lsh.num_perm, config.lsh.seed)
    prepared: list[Prepared] = []
    rows: list[np.ndarray] = []
    profiles: list[SentenceProfile] = []
    skipped: list[Skipped] = []
    engine = engine or current_engine()
    signing = None if progress is None else (
        lambda done: progress("signing", done, len(ordered)))
    for p, signature, profile in engine.map(_prepare_chunk, (config, signer), ordered, signing):
        if signature is None or profile is None:
            skipped.append(Skipped(p.doc.id, f"too short to compare ({len(p.tokens)} words, "
                                             f"need {config.shingle.min_words})"))
        else:
            prepared.append(p)
            rows.append(signature)
            profiles.append(profile)
    signatures = (np.vstack(rows) if rows
                  else np.zeros((0, config.lsh.num_perm), dtype=np.uint32))
    _mark_boilerplate(prepared, config, profiles)
    return Corpus(prepared, signatures, skipped)


def scan(
    documents: Sequence[Document], config: Config | None = None,
    progress: Progress | None = None, *, engine: Engine | None = None,
) -> Report:
    """Find every copy, rewrite and shared passage among ``documents``.

    The result does not depend on the order of ``documents``: they are processed in id order
    and every tie is broken by id. Nor does it depend on ``engine`` (what runs preparing and
    verifying: by default :func:`dedup.engines.current_engine`, this process unless set by
    :func:`dedup.engines.using_engine`; or e.g. :func:`dedup.engines.make_engine`'s pool).
    """
    config = config or Config()
    config.validate()
    engine = engine or current_engine()
    corpus = build_corpus(documents, config, progress, engine)
    pairs = candidate_pairs(corpus.signatures, config.lsh.min_collisions, config.lsh.max_bucket)
    verifying = None if progress is None else (
        lambda done: progress("verifying", done, len(pairs)))
    verdicts = engine.map(_verify_chunk, (corpus.prepared, config.align), pairs.tolist(),
                          verifying)
    matches = [match for match in verdicts if match is not None]
    matches.sort(key=lambda m: (m.a, m.b))
    by_id = {p.doc.id: p.doc for p in corpus.prepared}
    clusters = build_clusters(matches, by_id)
    return Report(
        documents=len(documents),
        params=config.to_dict(),
        clusters=clusters,
        pairs=matches,
        skipped=sorted(corpus.skipped, key=lambda s: s.id),
        stats={"compared": len(corpus.prepared), "candidates": len(pairs),
               "boilerplate_words": int(sum(int(p.boiler.sum()) for p in corpus.prepared))},
    )


@dataclass
class Explanation:
    """Why two documents match or not: candidate evidence and the verifier's verdict."""

    a: Document
    b: Document
    collisions: int
    num_perm: int
    candidate: bool
    verdict: Verdict


def explain(
    a: Document, b: Document, config: Config | None = None,
    context: Sequence[Document] = (),
) -> Explanation:
    """Explain the relation of ``a`` and ``b``; ``context`` is the rest of the corpus, used to
    learn boilerplate (without it, nothing counts as boilerplate)."""
    config = config or Config()
    config.validate()
    if a.id == b.id:
        raise InputError(f"cannot explain '{a.id}' against itself; give two different documents")
    if a.id > b.id:
        a, b = b, a
    others = [d for d in context if d.id not in (a.id, b.id)]
    corpus = build_corpus([a, b, *others], config)
    index = {p.doc.id: n for n, p in enumerate(corpus.prepared)}
    for doc in (a, b):
        if doc.id not in index:
            words = len(tokenize(doc.text))
            raise InputError(f"'{doc.id}' is too short to compare ({words} words, need "
                             f"{config.shingle.min_words})")
    i, j = index[a.id], index[b.id]
    collisions = collision_counts(corpus.signatures, i, j)
    verdict = verify(corpus.prepared[i], corpus.prepared[j], config.align)
    return Explanation(a, b, collisions, config.lsh.num_perm,
                       collisions >= config.lsh.min_collisions, verdict)
