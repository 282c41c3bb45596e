"""Corpus building: files -> parsed transcripts -> roles -> segments -> pseudonyms -> store.

:func:`ingest_paths` is what ``textmine ingest`` and ``textmine run`` call. It works in
two phases so that bad input never half-changes a project:

1. *validate*: find the transcripts, read the metadata sheet, parse every new or changed
   file. Any :class:`~textmine.errors.TextmineError` stops here, before the store is touched.
2. *store*: each interview is segmented, pseudonymised and written in ONE transaction
   (interview, speakers, turns, segments and its new pseudonym mappings), so a killed
   process leaves every interview either fully stored or absent; re-running resumes.

Re-ingesting an unchanged file (same bytes, same metadata row) does nothing; a changed
file replaces its interview's rows.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd

from .errors import E, TextmineError
from .ingest import FORMATS, count_words, match_metadata, parse_file, read_metadata
from .records import OTHER, InterviewMeta, Transcript
from .roles import assign_roles
from .records import sort_by_wave
from .store import Store

#: file names never taken as transcripts when a folder is ingested
SKIP_PREFIXES = ("_", ".")
SKIP_STEMS = ("readme", "metadata", "metadonnees", "métadonnées", "answer_key", "licence", "license")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    segments: int = 0
    words: int = 0

    @property
    def changed(self) -> list[str]:
        return self.added + self.replaced


def find_transcripts(paths: Sequence[str | Path], metadata: str | Path | None = None) -> list[Path]:
    """Expand folders (recursively) into supported transcript files, sorted."""
    exts = {e.lower() for e in FORMATS}
    meta = Path(metadata).resolve() if metadata else None
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise TextmineError(E.E101, path=p, detail=f"{p} does not exist")
        if p.is_file():
            found.append(p)
            continue
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p)
            if not f.is_file() or any(part.startswith(SKIP_PREFIXES) for part in rel.parts):
                continue
            if f.suffix.lower() not in exts or f.stem.lower().startswith(SKIP_STEMS):
                continue
            if meta is not None and f.resolve() == meta:
                continue
            found.append(f)
    out, seen = [], set()
    for f in found:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            out.append(f)
    return out


def default_interview_id(path: Path, wave: str | None) -> str:
    """Pseudonymous id for a file ingested without metadata (file names may hold names)."""
    key = f"{wave or ''}|{path.parent.name}/{path.name}"
    return "itv-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


def _source_hash(path: Path, meta: InterviewMeta | None, wave: str | None) -> str:
    h = hashlib.sha256(path.read_bytes())
    if meta is not None:
        d = {k: v for k, v in meta.__dict__.items() if k not in ("file", "sheet", "sheet_line")}
        h.update(json.dumps(d, sort_keys=True, default=str).encode())
    h.update(str(wave).encode())
    return h.hexdigest()


@dataclass
class _Parsed:
    path: Path
    meta: InterviewMeta | None
    interview_id: str
    wave: str | None
    source_hash: str
    transcript: Transcript


def _validate(store: Store, paths: Sequence[str | Path], wave: str | None,
              metadata: str | Path | None, advance: Callable[[int], None] | None) -> tuple[list[_Parsed], list[str]]:
    files = find_transcripts(paths, metadata)
    if not files:
        raise TextmineError(E.E006, detail=f"no transcript ({', '.join(sorted(FORMATS))}) under "
                                           f"{', '.join(str(p) for p in paths)}")
    metas: dict[Path, InterviewMeta] = {}
    if metadata:
        rows = read_metadata(metadata, known_roles=store.config.roles.known)
        metas = {Path(k).resolve(): v for k, v in match_metadata(files, rows).items()}
    existing = store.interview_hashes()
    parsed, unchanged, ids = [], [], {}
    for f in files:
        meta = metas.get(f.resolve())
        w = str(meta.wave) if meta is not None and meta.wave not in (None, "") else wave
        iid = meta.interview_id if meta is not None else default_interview_id(f, w)
        if iid in ids:
            raise TextmineError(E.E114, path=f, detail=f"{iid!r} is used by {ids[iid]} and {f}")
        ids[iid] = f
        sh = _source_hash(f, meta, w)
        if existing.get(iid) == sh:
            unchanged.append(iid)
        else:
            parsed.append(_Parsed(f, meta, iid, w, sh, parse_file(f)))
        if advance:
            advance(1)
    return parsed, unchanged


def _speaker_frames(p: _Parsed, roles: dict, pseudo) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    turns = p.transcript.turns
    rows = []
    for i, t in enumerate(turns):
        d = roles.get(t.speaker)
        rows.append({"interview_id": p.interview_id, "turn_index": i, "speaker": t.speaker,
                     "role": d.role if d else OTHER, "text": t.text, "start": t.start, "end": t.end,
                     "line": t.line, "char_start": t.char_start, "char_end": t.char_end,
                     "overlap": bool(t.overlap)})
    turns_df = pd.DataFrame(rows)
    # speakers in order of first appearance; pseudonymous labels numbered per role
    order = list(dict.fromkeys([t.speaker for t in turns] + [s.label for s in p.transcript.speakers]))
    per_role: dict[str, int] = {}
    labels: dict[str, str] = {}
    srows = []
    for spk in order:
        d = roles.get(spk)
        role = d.role if d else OTHER
        per_role[role] = per_role.get(role, 0) + 1
        labels[spk] = pseudo.speaker_pseudo(role, per_role[role])
        sub = turns_df[turns_df["speaker"] == spk] if not turns_df.empty else turns_df
        srows.append({"interview_id": p.interview_id, "speaker": spk, "role": role,
                      "role_method": d.method if d else "none", "role_confidence": d.confidence if d else 0.0,
                      "turns": int(len(sub)), "words": int(sum(count_words(x) for x in sub["text"])) if len(sub) else 0,
                      "speaker_pseudo": labels[spk]})
    return turns_df, pd.DataFrame(srows), labels


def _store_one(store: Store, p: _Parsed, nlp, pseudo, replaced: bool) -> tuple[int, int]:
    from .pseudonymise_lex import names_from_filename
    from .segment import segment_interview

    cfg = store.config
    pseudo.source = p.interview_id
    roles = assign_roles(p.transcript, p.meta, cfg.roles)
    # names the file itself tells us about: speaker names, tier labels, file-name tokens
    names = [s.name for s in p.transcript.speakers if s.name]
    names += [lbl for lbl, d in roles.items() if d.method != "config" and _looks_like_name(lbl)]
    names += names_from_filename(p.path)
    if p.meta is not None:
        names += [str(v) for k, v in p.meta.attrs.items() if k.lower() in ("nom", "name", "prenom", "prénom", "enqueteur", "enquêteur") and v]
    pseudo.add_names([n for n in names if n])
    turns_df, speakers_df, labels = _speaker_frames(p, roles, pseudo)
    segs = segment_interview(p.interview_id, turns_df, cfg.segment, nlp=nlp)
    if not segs.empty:
        segs["speaker_pseudo"] = segs["speaker"].map(labels)
        if cfg.pseudonymise.enabled:
            texts = segs["text"].fillna("").tolist()
            questions = segs["prev_question"].fillna("").tolist()
            uq = list(dict.fromkeys(q for q in questions if q))
            out = pseudo.pseudonymise(texts + uq)
            segs["text_pseudo"] = out[:len(texts)]
            qmap = dict(zip(uq, out[len(texts):]))
            segs["prev_question"] = [qmap.get(q, "") for q in questions]
        else:
            segs["text_pseudo"] = segs["text"]
    ext = p.path.suffix
    meta = p.meta
    interview = {
        "interview_id": p.interview_id, "source_file": str(p.path), "source_pseudo": f"{p.interview_id}{ext}",
        "source_hash": p.source_hash, "format": p.transcript.format, "encoding": p.transcript.encoding,
        "wave": p.wave, "date": meta.date if meta else None,
        "territory": meta.territory if meta else None, "structure_type": meta.structure_type if meta else None,
        "respondent_id": meta.respondent_id if meta else None, "role": meta.role if meta else None,
        "attrs": json.dumps({**(p.transcript.attrs.get("public", {}) if isinstance(p.transcript.attrs.get("public"), dict) else {}),
                             **(meta.attrs if meta else {})}, ensure_ascii=False, default=str),
        "n_turns": len(turns_df), "n_words": int(speakers_df["words"].sum()) if not speakers_df.empty else 0,
        "ingested_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    with store.transaction():
        store.replace_interview(interview, speakers_df, turns_df, segs)
        store.add_pseudonyms(pseudo.new_rows())
    return len(segs), interview["n_words"]


def _looks_like_name(label: str) -> bool:
    """A speaker label that is a person's name (not a code like ENQ, E, DE744, spk1)."""
    words = [w for w in label.replace("(", " ").replace(")", " ").split() if w]
    if not words or any(ch.isdigit() for ch in label):
        return False
    return all(w[:1].isupper() and w[1:].islower() for w in words if len(w) > 1 and w.isalpha()) \
        and any(len(w) > 2 and w.isalpha() for w in words)


def ingest_paths(store: Store, paths: Sequence[str | Path], *, wave: str | None = None,
                 metadata: str | Path | None = None,
                 advance: Callable[[int], None] | None = None) -> IngestReport:
    """Ingest transcripts (files or folders) into ``store``. See the module docstring."""
    from .pseudonymise import Pseudonymiser
    from .segment import load_nlp

    report = IngestReport()
    parsed, report.unchanged = _validate(store, paths, wave, metadata, None)
    if not parsed:
        return report
    cfg = store.config
    nlp = load_nlp(cfg.segment.spacy_model)
    pseudo = Pseudonymiser(store.pseudonym_map(), cfg.pseudonymise)
    existing = store.interview_hashes()
    for p in parsed:
        n_seg, n_words = _store_one(store, p, nlp, pseudo, p.interview_id in existing)
        (report.replaced if p.interview_id in existing else report.added).append(p.interview_id)
        report.segments += n_seg
        report.words += n_words
        if advance is not None:
            advance(1)
    return report


def corpus_stats(store: Store) -> pd.DataFrame:
    """Interviews, turns, words and segments per wave x role."""
    df = store.query("""
        WITH t AS (SELECT i.wave, tu.role, count(DISTINCT tu.interview_id) AS interviews,
                          count(*) AS turns FROM turns tu JOIN interviews i USING (interview_id)
                   GROUP BY 1, 2),
             w AS (SELECT i.wave, sp.role, sum(sp.words)::BIGINT AS words FROM speakers sp
                   JOIN interviews i USING (interview_id) GROUP BY 1, 2),
             s AS (SELECT i.wave, se.role, count(*) AS segments, sum(se.n_words)::BIGINT AS segment_words
                   FROM segments se JOIN interviews i USING (interview_id) GROUP BY 1, 2)
        SELECT t.wave, t.role, t.interviews, t.turns, coalesce(w.words, 0) AS words,
               coalesce(s.segments, 0) AS segments, coalesce(s.segment_words, 0) AS segment_words
        FROM t LEFT JOIN w USING (wave, role) LEFT JOIN s USING (wave, role)
        ORDER BY t.wave NULLS FIRST, t.role""")
    return sort_by_wave(df)


def speakers_table(store: Store, reveal: bool = False) -> pd.DataFrame:
    """One row per speaker and interview: ``interview_id,source_file,speaker,role,turns,words,...``."""
    df = store.speakers_frame()
    if df.empty:
        return pd.DataFrame(columns=["interview_id", "source_file", "speaker", "role", "turns", "words",
                                     "role_method", "role_confidence"])
    src = store.query("SELECT interview_id, source_file, source_pseudo FROM interviews")
    df = df.drop(columns=["source_file"]).merge(src, on="interview_id", how="left")
    if not reveal:
        df["source_file"] = df["source_pseudo"]
        df["speaker"] = df["speaker_pseudo"]
    else:
        df["source_file"] = df["source_file"].map(lambda s: Path(str(s)).name)
    return df[["interview_id", "source_file", "speaker", "role", "turns", "words",
               "role_method", "role_confidence"]]


def export_segments(store: Store, *, reveal: bool = False, roles: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Segments with metadata for export; pseudonymised unless ``reveal``."""
    df = store.segments_frame(roles=roles)
    if reveal:
        df["source_file"] = df["source_file"].map(lambda s: Path(str(s)).name)
        return df
    df = df.drop(columns=["text", "text_raw", "speaker", "source_file"])
    return df.rename(columns={"text_pseudo": "text", "speaker_pseudo": "speaker", "source_pseudo": "source_file"})
