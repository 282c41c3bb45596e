"""Typed records passed between stages, and the documented DataFrame schemas.

Stages exchange either these dataclasses (ingest -> segment) or pandas DataFrames
whose columns are listed in the ``*_COLUMNS`` constants below (segment -> store ->
embed/topics/themes/track/search/export).

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
    """

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    line: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    overlap: bool = False  # spoken over another speaker (Transcriber <Who>, overlapping TextGrid intervals)


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


# ---------------------------------------------------------------- DataFrame schemas
#: table ``interviews`` (one row per interview). ``source_file`` is the real path (may carry
#: real names: never exported by default); ``source_pseudo`` is ``<interview_id><ext>``, the
#: source reference shown in exports. Without a metadata sheet, ``interview_id`` is
#: ``itv-<8 hex of the file name>`` so that names in file names never leak.
#: ``content_hash``: sha256 of the file's bytes alone (``source_hash`` also covers its metadata
#: row and wave), to find the same transcript stored twice. ``attrs``: the sheet's extra
#: columns as JSON; ``attrs_public``: JSON list of those the sheet declared safe to export
#: (``public:`` header prefix) — the others are withheld from every export without ``--reveal``.
INTERVIEW_COLUMNS = [
    "interview_id", "source_file", "source_pseudo", "source_hash", "format", "encoding", "wave", "date",
    "territory", "structure_type", "respondent_id", "role", "attrs",  # attrs: JSON text
    "n_turns", "n_words", "ingested_at", "content_hash", "attrs_public",
]

#: table ``speakers`` (one row per speaker and interview). ``role_evidence``: why the role was
#: given (sheet line, label pattern, the discourse figures behind an interviewer, or why none
#: was found). ``respondent_id``: the speaker's own id from the ``speakers`` sheet (segments
#: take it over the interview's ``respondent_id``).
SPEAKER_COLUMNS = [
    "interview_id", "speaker", "role", "role_method", "role_confidence", "turns", "words",
    "speaker_pseudo", "role_evidence", "respondent_id",
]

#: table ``turns``
TURN_COLUMNS = [
    "interview_id", "turn_index", "speaker", "role", "text", "start", "end", "line",
    "char_start", "char_end", "overlap",
]

#: table ``segments`` — the analysis unit. ``text_raw``: as transcribed; ``text``: analysis
#: text (noise, fillers and backchannels removed); ``text_pseudo``: ``text`` pseudonymised
#: (what every export shows by default). ``prev_question``: pseudonymised text of the
#: interviewer turn just before (or ""), for quote context and classifier features.
SEGMENT_COLUMNS = [
    "segment_id", "interview_id", "turn_index", "seg_index", "speaker", "speaker_pseudo", "role",
    "text_raw", "text", "text_pseudo", "n_words", "start", "end", "line",
    "char_start", "char_end", "prev_question",
]

#: columns joined from ``interviews`` by :meth:`textmine.store.Store.segments_frame`
SEGMENT_META_COLUMNS = ["wave", "date", "territory", "structure_type", "respondent_id",
                        "source_file", "source_pseudo", "format", "attrs", "attrs_public"]

#: table ``theme_codings`` (long format; one row per segment x theme of the latest apply)
THEME_CODING_COLUMNS = ["run_id", "model_id", "segment_id", "theme", "score", "assigned", "posture"]

#: table ``topic_assignments``. ``similarity``: cosine similarity of the segment's embedding
#: to its topic's centroid; the same measure for every row (fitted, reassigned outliers, short
#: segments, later waves), so it compares across waves. ``probability``: HDBSCAN's membership
#: strength, defined only for the segments HDBSCAN clustered during the fit (NULL for segments
#: assigned by nearest centroid: reassigned outliers, short segments, segments applied later).
TOPIC_ASSIGNMENT_COLUMNS = ["model_id", "segment_id", "topic", "similarity", "probability"]


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
