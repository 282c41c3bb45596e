"""Typed records passed between stages, and the documented DataFrame schemas.

Stages exchange either these dataclasses (ingest -> segment) or pandas DataFrames
whose columns are those of a stored table's :class:`TableSchema` in :data:`TABLES` (segment ->
store -> embed/topics/themes/track/search/export): the one definition of every stored table,
from which the store writes its DDL.

Roles
-----
``interviewer`` | a respondent role (``conum``, ``responsable_structure``,
``coordinateur``, ``elu``, ``agent_france_services``, ``travailleur_social``,
``partenaire``, ... or ``respondent`` when metadata gives none) | ``other``
(relatives, unidentified voices, phone partners).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .french import strip_accents
from .vocabulary import INTERVIEWER, KNOWN_ROLES, OTHER, RESPONDENT  # noqa: F401 - the role vocabulary, re-exported


@dataclass
class Turn:
    """One speaker turn as found in the source file.

    ``text`` is the raw transcribed text (noise marks included). ``start``/``end`` are
    seconds from the start of the recording (None when the format has no time), ``line``
    is the 1-based line of the source file where the turn starts (None for XML/binary
    formats), ``char_start``/``char_end`` are offsets of the turn text in the decoded
    source text (None when not meaningful, e.g. .docx paragraphs: then ``line`` is the
    paragraph number).

    ``marks`` are the time points and source lines the file gives *inside* the turn, in text
    order: ``(offset, time, line)`` says that the turn's text from character ``offset`` on was
    spoken from ``time`` seconds and is written from source line ``line`` (either may be None).
    Transcriber ``<Sync>`` points and the lines of a ``.trs`` turn, the cues and lines of a
    subtitle turn made of several cues. Empty when the turn has none beyond ``start``/``line``
    (segments then take the turn's). :func:`textmine.segment.segment_interview` gives each
    segment the time and line of the mark at or before its first character.
    """

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    line: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    overlap: bool = False  # spoken over another speaker (Transcriber <Who>, overlapping TextGrid intervals)
    marks: list[tuple[int, float | None, int | None]] = field(default_factory=list)


@dataclass
class Speaker:
    """A speaker declared by the file (Transcriber Speakers table, TextGrid tier...)."""

    label: str                      # label as it appears in the turns (tier name, spk id resolved to name)
    name: str | None = None         # full name if the file gives one (personal data!)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transcript:
    """Result of parsing one file (``textmine.ingest.parse_file``)."""

    source_file: str                # path as given (absolute or relative to cwd)
    format: str                     # txt | docx | odt | trs | textgrid | srt | vtt | csv
    encoding: str | None
    turns: list[Turn]
    speakers: list[Speaker] = field(default_factory=list)
    source_words: int = 0           # word count of the source's speech text, for the no-word-lost check
    attrs: dict[str, Any] = field(default_factory=dict)   # file-level metadata (Transcriber topics, date...)


@dataclass
class SpeakerMeta:
    """One row of a wave's ``speakers`` sheet: the role (and respondent id) of one speaker
    label of one transcript, for files with several interviewees or no interviewer."""

    file: str
    speaker: str                    # the label as it appears in the transcript (tier, speaker tag)
    role: str | None = None         # interviewer | other | a respondent role
    respondent_id: str | None = None
    sheet: str | None = None
    sheet_line: int | None = None


@dataclass
class InterviewMeta:
    """One row of a wave's metadata sheet (or defaults when ingesting without a sheet).

    ``attrs["interviewer"]`` (the sheet's optional ``interviewer`` column) names the
    interviewer's speaker label(s) (``;``-separated), or says ``none`` (no interviewer:
    every speaker is a respondent) or ``auto`` (detect it). ``speakers`` are the rows of the
    ``speakers`` sheet for this file."""

    file: str
    interview_id: str
    wave: str | None = None
    date: str | None = None
    territory: str | None = None
    structure_type: str | None = None
    respondent_id: str | None = None
    role: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    public: list[str] = field(default_factory=list)   # keys of ``attrs`` the sheet declares safe to export
    sheet: str | None = None
    sheet_line: int | None = None
    speakers: list[SpeakerMeta] = field(default_factory=list)


# ---------------------------------------------------------------- table schemas
@dataclass(frozen=True)
class TableSchema:
    """A stored table: its columns in order with their DuckDB types, and its primary key.

    The ONE definition of the table: :class:`textmine.store.Store` creates it from :meth:`ddl`
    (the ingest tables when a store is opened, the others on their owner's first write through
    :meth:`~textmine.store.Store.write_frame` or :meth:`~textmine.store.Store.ensure_tables`), and
    its owner module's writer fills these columns. Each table's owner module is named in the
    comment above its entry in :data:`TABLES`; no other module reads or writes it (the test
    ``tests/test_ownership.py`` holds that map)."""

    name: str
    columns: dict[str, str]
    primary_key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def ddl(self) -> str:
        cols = [f'"{c}" {t}' for c, t in self.columns.items()]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(cols)});"


def _table(name: str, columns: str, primary_key: tuple[str, ...] = ()) -> TableSchema:
    """``columns``: ``"name TYPE, name TYPE ..."``."""
    pairs = [c.split() for c in columns.split(",")]
    return TableSchema(name, {c: t for c, t in pairs}, primary_key)


_V, _I, _B, _D, _L = "VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN"

#: every stored table, by name (owner module in the comment; ``tests/test_ownership.py``)
TABLES: dict[str, TableSchema] = {t.name: t for t in (
    # ---- textmine.store (ingest)
    #: one row per interview. ``source_file`` is the real path (may carry real names: never exported
    #: by default); ``source_pseudo`` is ``<interview_id><ext>``, the source reference shown in exports.
    #: Without a metadata sheet, ``interview_id`` is ``itv-<8 hex of the file name>`` so that names in
    #: file names never leak. ``content_hash``: sha256 of the file's bytes alone (``source_hash`` also
    #: covers its metadata row and wave), to find the same transcript stored twice. ``attrs``: the
    #: sheet's extra columns as JSON; ``attrs_public``: JSON list of those the sheet declared safe to
    #: export (``public:`` header prefix) — the others are withheld from every export without ``--reveal``.
    _table("interviews", f"interview_id {_V}, source_file {_V}, source_pseudo {_V}, source_hash {_V}, format {_V}, "
                         f"encoding {_V}, wave {_V}, date {_V}, territory {_V}, structure_type {_V}, respondent_id {_V}, "
                         f"role {_V}, attrs {_V}, n_turns {_I}, n_words {_I}, ingested_at {_V}, content_hash {_V}, "
                         f"attrs_public {_V}", ("interview_id",)),
    #: one row per speaker and interview. ``role_evidence``: why the role was given (sheet line, label
    #: pattern, the discourse figures behind an interviewer, or why none was found). ``respondent_id``:
    #: the speaker's own id from the ``speakers`` sheet (segments take it over the interview's).
    _table("speakers", f"interview_id {_V}, speaker {_V}, role {_V}, role_method {_V}, role_confidence {_D}, "
                       f"turns {_I}, words {_I}, speaker_pseudo {_V}, role_evidence {_V}, respondent_id {_V}"),
    #: one row per turn as the file gives it. ``marks``: JSON list of the turn's internal time points
    #: and source lines, ``[[offset, time, line], ...]`` (:attr:`Turn.marks`), or NULL when it has none.
    _table("turns", f"interview_id {_V}, turn_index {_I}, speaker {_V}, role {_V}, text {_V}, start {_D}, end {_D}, "
                    f"line {_I}, char_start {_I}, char_end {_I}, overlap {_L}, marks {_V}"),
    #: the analysis unit. ``text_raw``: as transcribed; ``text``: analysis text (noise, fillers and
    #: backchannels removed); ``text_pseudo``: ``text`` pseudonymised (what every export shows by
    #: default). ``prev_question``: pseudonymised text of the interviewer turn just before (or ""),
    #: for quote context and classifier features.
    _table("segments", f"segment_id {_V}, interview_id {_V}, turn_index {_I}, seg_index {_I}, speaker {_V}, "
                       f"speaker_pseudo {_V}, role {_V}, text_raw {_V}, text {_V}, text_pseudo {_V}, n_words {_I}, "
                       f"start {_D}, end {_D}, line {_I}, char_start {_I}, char_end {_I}, prev_question {_V}",
           ("segment_id",)),
    #: kept apart from the text tables: the only place real names are linked to placeholders
    _table("pseudonym_map", f"kind {_V}, key {_V}, original {_V}, placeholder {_V}, first_seen {_V}", ("kind", "key")),
    #: cache of vectors by encoder id and text hash
    _table("embeddings", f"encoder_id {_V}, text_hash {_V}, vector FLOAT[]", ("encoder_id", "text_hash")),
    #: settings and state, JSON values; each key has one owner module (``tests/test_ownership.py``)
    _table("kv", f"key {_V}, value {_V}", ("key",)),
    # ---- textmine.topics.query
    _table("topic_models", f"model_id {_V}, encoder {_V}, encoder_name {_V}, config_hash {_V}, n_docs {_B}, n_fit {_B}, "
                           f"n_topics {_B}, outlier_share {_D}, outlier_share_before {_D}, min_cluster_size {_B}, "
                           f"roles {_V}, representation {_V}, created_at {_V}"),
    #: ``similarity``: cosine similarity of the segment's embedding to its topic's centroid; the same
    #: measure for every row (fitted, reassigned outliers, short segments, later waves), so it compares
    #: across waves. ``probability``: HDBSCAN's membership strength, defined only for the segments
    #: HDBSCAN clustered during the fit (NULL for segments assigned by nearest centroid: reassigned
    #: outliers, short segments, segments applied later).
    _table("topic_assignments", f"model_id {_V}, segment_id {_V}, topic {_B}, similarity {_D}, probability {_D}"),
    #: ``words``, ``representative_ids``: JSON lists
    _table("topic_info", f"model_id {_V}, topic {_B}, count {_B}, label {_V}, words {_V}, representative_ids {_V}"),
    # ---- textmine.themes.codings
    #: long format; one row per segment x theme of the latest apply
    _table("theme_codings", f"run_id {_V}, model_id {_V}, segment_id {_V}, theme {_V}, score {_D}, assigned {_L}, "
                            f"posture {_V}"),
    #: the fold models' codes of a coder trained on calibration codes (corrected estimates read them)
    _table("theme_codings_crossfit", f"run_id {_V}, segment_id {_V}, theme {_V}, assigned {_L}, posture {_V}"),
    # ---- textmine.calibrate.tables (columns documented there)
    _table("calibration_samples", f"sample_id {_V}, unit {_V}, strata {_V}, seed {_B}, created {_V}, waves {_V}, "
                                  f"params {_V}, frames {_V}, project_id {_V}, codebook_hash {_V}", ("sample_id",)),
    _table("calibration_units", f"sample_id {_V}, unit {_V}, unit_id {_V}, segment_id {_V}, interview_id {_V}, wave {_V}, "
                                f"role {_V}, stratum {_V}, inclusion_prob {_D}, n_stratum {_I}, n_drawn {_I}, "
                                f"text_hash {_V}, seed {_B}, created {_V}"),
    _table("calibration_codes", f"sample_id {_V}, segment_id {_V}, coder {_V}, coded_at {_V}, themes {_V}, posture {_V}, "
                                f"text_hash {_V}, source {_V}, row {_V}"),
    # ---- textmine.search.index (documented there)
    _table("search_lemmas", f"segment_id {_V}, text_hash {_V}, lemmas {_V}", ("segment_id",)),
    _table("search_forms", f"form {_V}, lemma {_V}, keep {_L}, n {_B}", ("form", "lemma", "keep")),
    _table("search_form_counts", f"interview_id {_V}, form {_V}, lemma {_V}, keep {_L}, n {_B}",
           ("interview_id", "form", "lemma", "keep")),
    # ---- textmine.search.bm25_store
    _table("search_bm25", f"key {_V}, params {_V}, vocab {_V}, data BLOB, indices BLOB, indptr BLOB"),
    # ---- textmine.lexicon.tokens
    _table("lexicon_tokens", f"segment_id {_V}, text_hash {_V}, forms {_V}, lemmas {_V}, pos {_V}", ("segment_id",)),
    # ---- textmine.lexicon.classes
    _table("lexicon_class_runs", f"run_id {_V}, created_at {_V}, n_classes {_B}, k {_B}, params {_V}, tree {_V}, "
                                 f"n_segments {_B}, n_classified {_B}"),
    _table("lexicon_classes", f"run_id {_V}, segment_id {_V}, class {_I}"),
    # ---- textmine.track.cache
    #: a computed result (``frame``: JSON) and the fingerprint of the store it was computed from
    _table("track_cache", f"name {_V}, fingerprint {_V}, created_at {_V}, frame {_V}", ("name",)),
    # ---- textmine.runs
    _table("runs", f"run_id {_V}, wave {_V}, started_at {_V}, finished_at {_V}, corpus_hash {_V}, manifest {_V}"),
)}
#: the tables every store has from its creation (the others appear with their stage)
INGEST_TABLES = ("interviews", "speakers", "turns", "segments", "pseudonym_map", "embeddings", "kv")

INTERVIEW_COLUMNS = TABLES["interviews"].names
SPEAKER_COLUMNS = TABLES["speakers"].names
TURN_COLUMNS = TABLES["turns"].names
SEGMENT_COLUMNS = TABLES["segments"].names
THEME_CODING_COLUMNS = TABLES["theme_codings"].names
TOPIC_ASSIGNMENT_COLUMNS = TABLES["topic_assignments"].names

#: columns joined from ``interviews`` by :meth:`textmine.store.Store.segments_frame`
SEGMENT_META_COLUMNS = ["wave", "date", "territory", "structure_type", "respondent_id",
                        "source_file", "source_pseudo", "format", "attrs", "attrs_public"]


def safe_name(label, max_len: int = 80) -> str:
    """A file-name-safe slug of a label (wave, run id, figure name): letters, digits, ``.-_`` and
    ``+`` kept, anything else (``/``, spaces, quotes, ``=``...) becomes ``_``; never empty, never a
    dot file, at most ``max_len`` characters plus an 8-character hash when shortened or changed,
    so two labels never share a slug. The label itself stays as data (tables, JSON, titles)."""
    text = str(label)
    slug = re.sub(r"[^0-9A-Za-z.+_-]+", "_", strip_accents(text).encode("ascii", "ignore")
                  .decode("ascii")).strip("._") or "x"
    if slug != text or len(slug) > max_len:
        slug = f"{slug[:max_len]}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"
    return slug


def wave_key(w) -> list:
    """Natural sort key of a wave label: ``vague2`` < ``vague10``; ``2022`` < ``2023``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", str(w))]


def sort_waves(waves: Iterable) -> list[str]:
    """Distinct wave labels in natural order (see :func:`wave_key`)."""
    return sorted({str(w) for w in waves}, key=wave_key)


def sort_by_wave(df, then: tuple[str, ...] = ("role",), col: str = "wave"):
    """``df`` with its rows in natural wave order (missing waves first), then by the columns
    ``then``; index reset."""
    order = {w: k for k, w in enumerate(sort_waves(df[col].dropna()))}
    rank = df[col].map(lambda w: -1 if w is None or w != w else order[str(w)])
    return (df.assign(_rank=rank).sort_values(["_rank", *then], kind="stable")
            .drop(columns="_rank").reset_index(drop=True))
