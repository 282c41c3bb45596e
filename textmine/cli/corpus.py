"""Corpus commands: ``ingest``, ``corpus``, ``speakers``, ``segments export``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import E, TextmineError
from ..export.cells import to_csv
from ..overview import corpus_stats, export_segments, speakers_table
from .common import (FormatOpt, RevealOpt, SkipInvalidOpt, SpeakersOpt, check_format, emit, info, ingest_lines,
                     records, require_project, stage_progress, state)

segments_app = typer.Typer(help="Analysis segments: export them.", no_args_is_help=True)


def init(
    codebook: str = typer.Option("conum", "--codebook", "-c", help="The project's codebook: a YAML file of your "
                                 "own (see README, 'Your own codebook'), or `conum`, the packaged codebook of the "
                                 "Conseiller numérique study."),
) -> None:
    """Create a project (the global --project DIR) and choose its codebook."""
    from ..config import codebook_file
    from ..store import init_project
    from ..themes.codebook import load_codebook

    if state.project is None:
        raise TextmineError(E.E002, detail="no --project DIR given",
                            fix="Put --project DIR before the command: `textmine --project mon_projet init`.")
    cb = load_codebook(codebook_file(codebook))          # E401 before anything is created
    path = init_project(state.project, config_path=state.config, codebook=codebook)
    info(f"project created: {path}")
    info(f"codebook: {codebook} ({len(cb.themes)} themes: {', '.join(cb.ids[:6])}{', ...' if len(cb.ids) > 6 else ''})")


def ingest(
    paths: List[Path] = typer.Argument(..., help="Transcript files or folders (searched recursively)."),
    wave: Optional[str] = typer.Option(None, "--wave", "-w", help="Wave of these interviews (a metadata sheet's `wave` column wins)."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", "-m", help="Metadata sheet (CSV or XLSX) of this "
                                            "wave: exactly the files it lists are ingested."),
    speakers: Optional[Path] = SpeakersOpt,
    skip_invalid: bool = SkipInvalidOpt,
    replace: bool = typer.Option(False, "--replace", help="Let these files replace stored interviews with the same "
                                 "id in another wave, or with the same content under another id."),
) -> None:
    """Ingest transcripts into the project (created if needed). Unchanged files are skipped."""
    from ..corpus import ingest_paths

    with require_project(create=True) as store:
        with stage_progress("ingest") as bar:
            rep = ingest_paths(store, paths, wave=wave, metadata=metadata, speakers=speakers,
                               skip_invalid=skip_invalid, replace=replace, note=info, **bar)
        lines = ingest_lines({**rep.__dict__, "unchanged": len(rep.unchanged), "skipped_files": rep.skipped})
        info(f"{lines[0]} -> {store.db_path}")
        for line in lines[1:]:
            info(line)


def corpus(fmt: str = FormatOpt) -> None:
    """Interviews, turns, words and segments per wave x role."""
    with require_project(read_only=True) as store:
        emit(corpus_stats(store), check_format(fmt), title="Corpus")


def speakers(fmt: str = FormatOpt, reveal: bool = RevealOpt) -> None:
    """One row per speaker and interview (interview_id, source_file, speaker, role, turns, words...)."""
    with require_project(read_only=True) as store:
        emit(speakers_table(store, reveal=reveal), check_format(fmt), title="Speakers")


@segments_app.command("export")
def segments_export(
    output: Path = typer.Option(..., "--output", "-o", help="Output file."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, jsonl, parquet or iramuteq (an IRaMuTeQ/Alceste "
                            "corpus: one **** line of starred variables per interview, one per speaker's run of turns "
                            "when it has several respondents, then its respondent text)."),
    all_roles: bool = typer.Option(False, "--all-roles", help="Include interviewer and other speakers "
                                   "(not with --format iramuteq, which holds respondent text only)."),
    reveal: bool = RevealOpt,
) -> None:
    """Export analysis segments with their metadata (pseudonymised unless --reveal)."""
    from ..export.files import atomic_write, check_writable

    check_format(fmt, ("csv", "jsonl", "parquet", "iramuteq"))
    check_writable(output)
    if fmt == "iramuteq":
        from ..export.iramuteq import write_iramuteq
        if all_roles:
            raise TextmineError(E.E005, detail="--all-roles with --format iramuteq (the corpus holds respondent text)",
                                fix="Leave out --all-roles for an IRaMuTeQ corpus, or export every speaker's "
                                    "segments with --format csv, jsonl or parquet.")
        with require_project(read_only=True) as store:
            n_itv, n_seg = write_iramuteq(store, output, reveal=reveal)
        info(f"{n_itv} interviews ({n_seg} segments) -> {output} (IRaMuTeQ corpus, UTF-8)")
        return
    with require_project(read_only=True) as store:
        df = export_segments(store, reveal=reveal, roles=None if all_roles else "respondents")
    if df.empty:
        raise TextmineError(E.E006, detail="no segments in the project")

    def write(tmp: Path) -> None:
        if fmt == "csv":
            to_csv(df, tmp)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                for rec in records(df):      # a missing time or number is null: NaN is not JSON
                    fh.write(json.dumps(rec, ensure_ascii=False, default=str, allow_nan=False) + "\n")

    atomic_write(output, write)
    info(f"{len(df)} segments -> {output}")


def check(fmt: str = FormatOpt) -> None:
    """Check the store: orphan rows, counts, derived rows (topics, codings, lemmas) computed on
    text no longer stored, work pending. Exit status 1 (E010) when the store is inconsistent."""
    from ..integrity import check_store

    check_format(fmt)
    with require_project(read_only=True) as store:
        df = check_store(store)
    emit(df, fmt, title="Store check")
    bad = df[df["status"] == "problem"]
    if len(bad):
        raise TextmineError(E.E010, path=state.project,
                            detail=f"{len(bad)} check(s) failed: {', '.join(bad['check'] + ' (' + bad['table'] + ')')}")
    pending = df[df["status"] == "pending"]
    info("store consistent" + (f"; pending: {', '.join(pending['check'])}" if len(pending) else ""))


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)
    app.command("ingest")(ingest)
    app.command("corpus")(corpus)
    app.command("speakers")(speakers)
    app.add_typer(segments_app, name="segments")
