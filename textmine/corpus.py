"""Corpus building: files -> parsed transcripts -> roles -> segments -> pseudonyms -> store.

:func:`ingest_paths` is what ``textmine ingest`` and ``textmine run`` call. It works in
two phases so that bad input never half-changes a project:

1. *validate*: find the transcripts, read the metadata sheet, parse every new or changed
   file. Every unreadable file is listed at once (E117, or the file's own error when it is
   the only one) before the store is touched, unless ``skip_invalid`` (then they are
   skipped and named in the report).
2. *store*: each interview is segmented, pseudonymised and written in ONE transaction
   (interview, speakers, turns, segments and its new pseudonym mappings), so a killed
   process leaves every interview either fully stored or absent; re-running resumes.

Which files: with a metadata sheet, exactly the files it lists (under the paths given);
other files found there are named as skipped. Without one, every file of a supported
format; files of other formats, and names that are never transcripts (``README*``,
``metadata*``, ``speakers*``...), are named as skipped.

Refused unless ``replace=True``: an interview id already stored for another wave (E118), and
a file whose bytes are already stored under another id (E119: the same transcripts ingested
twice, e.g. once without a metadata sheet) or twice in one batch. Inside a folder, a link to a
file outside that folder is not followed (named as skipped).

Re-ingesting an unchanged file does nothing. An interview's stored rows depend on its
*inputs* (:class:`Inputs`): the file's bytes, its descriptive metadata, what decides its
speakers' roles (``roles`` settings, the sheet's role and interviewer columns, its
``speakers`` rows) and what shapes its texts (``segment`` and ``pseudonymise`` settings,
the user list, names in the sheet). When only descriptive metadata changed, the interview's
row is updated in place; when the role inputs changed, roles are decided again and the
interview is derived again only if a speaker's role changed; a changed file or text
setting replaces the interview, and every row derived from its old segments is dropped with
them (:data:`textmine.store.DERIVED_TABLES`). Downstream stages follow the stored segments
(:func:`textmine.pipeline.segments_hash`).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

import pandas as pd

from .errors import E, TextmineError
from .french import fold_label, load_nlp
from .ingest import FORMATS, bounded, count_words, match_metadata, parse_file, read_metadata
from .ingest.iramuteq import group_texts, is_iramuteq, parse_iramuteq, text_metadata, text_transcript
from .ingest.metadata import NAME_ATTRS, check_speakers
from .pseudonymise import Pseudonymiser, entity_spans
from . import pseudonymise_lex
from .pseudonymise_lex import names_from_filename
from .records import OTHER, InterviewMeta, Transcript
from .roles import NO_INTERVIEWER, assign_roles
from . import segment as segmenter
from .segment import marks_json, segment_interview
from .store import Store
from .workers import Pool, worker_count

#: file names never taken as transcripts when a folder is ingested
SKIP_PREFIXES = ("_", ".")
SKIP_STEMS = ("readme", "metadata", "metadonnees", "métadonnées", "answer_key", "licence", "license",
              "speakers", "locuteurs")
_INPUTS_KV = "ingest.inputs."
MAX_LISTED = 20          # unreadable files named one by one in E117 (then a count)
#: a transcript with more words than this gets a progress note (segmenting and NER take minutes)
LONG_WORDS = 200_000
#: from this many source words in the interviews to store, their segmentation and NER run in
#: worker processes (:mod:`textmine.workers`: spaCy loads in each; below this one process is as fast)
POOL_MIN_WORDS = 100_000


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)          # metadata changed, rows updated in place
    reasons: dict[str, str] = field(default_factory=dict)     # interview_id -> why it was replaced/updated
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, why)
    no_interviewer: list[str] = field(default_factory=list)   # interviews where nobody is the interviewer
    stale: list[str] = field(default_factory=list)            # other interviews derived with other settings
    segments: int = 0
    words: int = 0
    waves: list[str] = field(default_factory=list)            # the waves of the interviews read (sheet's or --wave)

    @property
    def changed(self) -> list[str]:
        return self.added + self.replaced + self.updated


def find_transcripts(paths: Sequence[str | Path], metadata: str | Path | None = None,
                     skipped: list[tuple[str, str]] | None = None,
                     exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Expand folders (recursively) into supported transcript files, sorted. Files passed
    over (other formats, names that are never transcripts, links to a file outside the folder,
    which are not followed) are appended to ``skipped``; a file named on the command line is
    read as given."""
    exts = {e.lower() for e in FORMATS}
    ignore = {Path(p).resolve() for p in [metadata, *exclude] if p}
    skipped = skipped if skipped is not None else []
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise TextmineError(E.E101, path=p, detail=f"{p} does not exist")
        if p.is_file():
            found.append(p)
            continue
        top = p.resolve()
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p)
            if not f.is_file() or f.resolve() in ignore:
                continue
            if not f.resolve().is_relative_to(top):
                skipped.append((str(f), f"a link to {f.resolve()}, outside {p}: not followed"))
                continue
            if any(part.startswith(".") for part in rel.parts):
                continue                                  # hidden files (.DS_Store, .~lock): silent
            if any(part.startswith(SKIP_PREFIXES) for part in rel.parts):
                skipped.append((str(f), "name starts with _ (skipped by convention)"))
            elif f.suffix.lower() not in exts:
                skipped.append((str(f), f"not a transcript format ({f.suffix or 'no extension'})"))
            elif f.stem.lower().startswith(SKIP_STEMS):
                skipped.append((str(f), "README/metadata/speakers file, not a transcript"))
            else:
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


def _h(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass
class Inputs:
    """What an interview's stored rows are derived from, one hash per kind of input."""

    file: str        # the file's bytes
    describe: str    # wave, date, territory, structure type, respondent ids, other attributes
    roles: str       # roles settings, the sheet's role and interviewer, the speakers rows' roles
    text: str        # segment and pseudonymise settings, the user list, names in the sheet

    def combined(self) -> str:
        return _h(asdict(self))


def _settings_parts(store: Store) -> tuple[str, str]:
    """(roles, text) hashes of the project settings an interview's rows depend on."""
    cfg = store.config
    user_list = None
    if cfg.pseudonymise.user_list:
        ul = Path(cfg.pseudonymise.user_list)
        ul = ul if ul.is_absolute() else store.root / ul
        user_list = hashlib.sha256(ul.read_bytes()).hexdigest() if ul.is_file() else str(ul)
    return (_h(cfg.roles.model_dump()),
            _h(cfg.segment.model_dump(), cfg.pseudonymise.model_dump(), user_list, pseudonymise_lex.RULES,
               segmenter.PROVENANCE))


def _inputs(data: bytes, meta: InterviewMeta | None, wave: str | None, settings: tuple[str, str]) -> Inputs:
    attrs = dict(meta.attrs) if meta is not None else {}
    names = {k: attrs.pop(k) for k in list(attrs) if k.lower() in NAME_ATTRS}
    itv = attrs.pop("interviewer", None)
    speakers = sorted((s.speaker, s.role, s.respondent_id) for s in (meta.speakers if meta else []))
    describe = _h(wave, None if meta is None else [meta.interview_id, meta.date, meta.territory,
                                                   meta.structure_type, meta.respondent_id, attrs]
                  + ([sorted(meta.public)] if meta.public else []),      # `public:` columns (when declared)
                  [(s, r) for s, _, r in speakers])
    roles = _h(settings[0], None if meta is None else [meta.role, itv], [(s, r) for s, r, _ in speakers])
    return Inputs(hashlib.sha256(data).hexdigest(), describe, roles, _h(settings[1], names))


def _legacy_hash(data: bytes, meta: InterviewMeta | None, wave: str | None) -> str:
    """``source_hash`` as stores written before :class:`Inputs` have it."""
    h = hashlib.sha256(data)
    if meta is not None:
        d = {k: v for k, v in meta.__dict__.items() if k not in ("file", "sheet", "sheet_line", "speakers")
             and not (k == "public" and not v)}
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
    transcript: Transcript | None
    inputs: Inputs | None = None
    update_only: bool = False          # descriptive metadata only: update the interview's row
    reason: str = ""
    settings: tuple[str, str] = ("", "")   # the (roles, text) settings hashes it is derived with
    decisions: dict | None = None          # roles decided again, when only their inputs changed
    drop: list[str] = field(default_factory=list)    # stored interviews this one replaces (--replace)


def _interview_fields(p: _Parsed) -> dict:
    meta = p.meta
    public = p.transcript.attrs.get("public") if p.transcript and isinstance(p.transcript.attrs.get("public"), dict) else {}
    return {"wave": p.wave, "date": meta.date if meta else None, "territory": meta.territory if meta else None,
            "structure_type": meta.structure_type if meta else None,
            "respondent_id": meta.respondent_id if meta else None, "role": meta.role if meta else None,
            "attrs_public": json.dumps(sorted({*public, *(meta.public if meta else [])}), ensure_ascii=False)}


def _stored(store: Store) -> pd.DataFrame:
    return store.interview_columns("interview_id", "wave", "source_file", "content_hash").set_index(
        "interview_id", drop=False)


def _text(v) -> str:
    return "" if v is None or v != v else str(v)


def _where(wave, file) -> str:
    return f"wave {wave if wave not in (None, '') else '(none)'}, file {Path(str(file)).name}"


@dataclass
class _Twins:
    """The stored interviews (id, wave, file, bytes), to refuse one stored twice."""

    known: pd.DataFrame
    by_content: dict[str, str]
    replace: bool
    batch: dict[str, tuple[Path, str]] = field(default_factory=dict)   # content -> (file, id) in this run

    @classmethod
    def of(cls, store: Store, replace: bool) -> "_Twins":
        known = _stored(store)
        return cls(known, {h: iid for iid, h in zip(known["interview_id"], known["content_hash"])
                           if isinstance(h, str)}, replace)

    def check(self, f: Path, iid: str, wave: str | None, content: str) -> list[str]:
        """Stored interviews ``f`` would duplicate: E118 when ``iid`` is stored for another wave,
        E119 when its bytes are stored under another id or appear twice in this batch (unless
        ``replace``: then the ids of the stored interviews it takes the place of)."""
        known = self.known
        if content in self.batch:
            other, other_id = self.batch[content]
            raise TextmineError(E.E119, path=f, detail=f"{iid!r} ({f}) has the same content as {other_id!r} ({other})",
                                fix="Leave one of the two copies out of the folder.")
        self.batch[content] = (f, iid)
        if iid in known.index and _text(known.at[iid, "wave"]) != _text(wave) and not self.replace:
            raise TextmineError(E.E118, path=f, detail=f"{iid!r} is stored for "
                                                       f"{_where(known.at[iid, 'wave'], known.at[iid, 'source_file'])}; "
                                                       f"this run gives it to {_where(wave, f)}")
        twin = self.by_content.get(content)
        if twin is None or twin == iid:
            return []
        if not self.replace:
            raise TextmineError(E.E119, path=f, detail=f"{f.name} is byte for byte interview {twin!r} "
                                                       f"({_where(known.at[twin, 'wave'], known.at[twin, 'source_file'])}); "
                                                       f"it would be stored twice, as {iid!r} too")
        return [twin]


def _files_and_metas(store: Store, paths: Sequence[str | Path], metadata: str | Path | None,
                     speakers: str | Path | None, skipped: list) -> tuple[list[Path], dict[Path, InterviewMeta]]:
    """The files to ingest and their metadata rows. With a sheet, exactly the files it lists
    under ``paths`` (files given one by one must have a row: E113); the others are skipped."""
    excl = [speakers] if speakers else []
    if not metadata:
        if speakers:
            raise TextmineError(E.E111, path=speakers, detail="a speakers sheet goes with a metadata sheet",
                                fix="Give the wave's metadata sheet with --metadata as well.")
        return find_transcripts(paths, None, skipped, excl), {}
    rows = read_metadata(metadata, known_roles=store.config.roles.known, speakers=speakers)
    listed = {Path(m.file).resolve(): m for m in rows}
    given = [Path(p) for p in paths]
    files = [p for p in given if p.is_file()]
    match_metadata(files, rows)                      # E113 for a file given by name without a row
    folders = [p.resolve() for p in given if p.is_dir()]
    passed_over: list[tuple[str, str]] = []
    for f in find_transcripts([p for p in given if p.is_dir()], metadata, passed_over, excl):
        if f.resolve() not in listed:
            skipped.append((str(f), f"not listed in {Path(metadata).name}"))
    skipped += [(f, why) for f, why in passed_over if Path(f).resolve() not in listed]   # the sheet decides
    files += sorted((f for f in listed if any(f.is_relative_to(d) for d in folders)
                     and not any(f == g.resolve() for g in files)), key=str)
    if not files and listed:    # every row names a file outside the folders given: say so, not "no transcript"
        first = min(listed.values(), key=lambda m: m.sheet_line or 0)
        raise TextmineError(E.E112, path=metadata, line=first.sheet_line,
                            detail=f"none of the {len(listed)} file(s) {Path(metadata).name} lists is under "
                                   f"{', '.join(str(p) for p in given)} (line {first.sheet_line}: {first.file})",
                            fix="Give the folder that holds the transcripts the sheet lists, or write their "
                                "`file` relative to the sheet's folder.")
    metas = {Path(k).resolve(): v for k, v in match_metadata(files, rows).items()}
    return files, metas


def _stored_roles(store: Store, iid: str) -> dict[str, str]:
    return store.speaker_values(iid, "role")


def _validate(store: Store, paths: Sequence[str | Path], wave: str | None,
              metadata: str | Path | None, speakers: str | Path | None = None, skip_invalid: bool = False,
              report: IngestReport | None = None, replace: bool = False) -> tuple[list[_Parsed], list[str]]:
    report = report if report is not None else IngestReport()
    files, metas = _files_and_metas(store, paths, metadata, speakers, report.skipped)
    if not files:
        kinds: dict[str, int] = {}
        for f, _ in report.skipped:
            ext = Path(f).suffix.lower() or "(no extension)"
            kinds[ext] = kinds.get(ext, 0) + 1
        seen = ", ".join(f"{n} {ext} file(s)" for ext, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:6])
        raise TextmineError(E.E006, detail=f"no transcript ({', '.join(sorted(FORMATS))}) under "
                                           f"{', '.join(str(p) for p in paths)}"
                                           + (f"; passed over: {seen}" if seen else ""),
                            fix="Give a folder of transcripts in one of the formats listed (README 'Formats'); "
                                "convert other files to CSV, one row per speaker turn (speaker,text columns), "
                                "or to an IRaMuTeQ corpus (one text per `****` line).")
    existing = store.interview_hashes()
    twins = _Twins.of(store, replace)
    settings = _settings_parts(store)
    parsed, unchanged, ids, errors = [], [], {}, []
    for f in files:
        try:
            items = _file_items(store, f, metas.get(f.resolve()), wave)
        except TextmineError as exc:
            errors.append(exc)
            continue
        for meta, iid, w, data, given in items:
            if iid in ids:
                raise TextmineError(E.E114, path=f, line=meta.sheet_line if given is not None else None,
                                    detail=f"{iid!r} is used by {ids[iid]} and {f}")
            ids[iid] = f
            if w is not None and str(w) not in report.waves:
                report.waves.append(str(w))
            p = _check_item(store, f, meta, iid, w, data, given, existing, settings, errors, twins)
            if p is None:
                unchanged.append(iid)
            elif p is not False:
                parsed.append(p)
    if errors:
        if not skip_invalid:
            raise _invalid_files(errors, n_files=len(files))
        report.skipped += [(e.path or "?", str(e).splitlines()[0]) for e in errors]
    return parsed, unchanged


def _file_items(store: Store, f: Path, meta: InterviewMeta | None, wave: str | None) -> list[tuple]:
    """``(meta, interview_id, wave, input bytes, transcript or None)`` of each interview a file
    holds: one for a transcript, one per text for an IRaMuTeQ corpus (which carries its own
    metadata in its starred variables)."""
    if is_iramuteq(f):
        return _iramuteq_items(store, f, wave)
    w = str(meta.wave) if meta is not None and meta.wave not in (None, "") else wave
    iid = meta.interview_id if meta is not None else default_interview_id(f, w)
    try:
        data = f.read_bytes()
    except OSError as exc:
        raise TextmineError(E.E101, path=f, detail=f"cannot read {f} ({exc})") from exc
    return [(meta, iid, w, data, None)]


def _iramuteq_items(store: Store, path: Path, wave: str | None) -> list[tuple]:
    """:func:`_file_items` of an IRaMuTeQ corpus: one per interview of
    :func:`~textmine.ingest.iramuteq.group_texts` (a text, or the texts of one interview's
    speakers). Without an ``*id_`` variable an interview is ``<default id of the file>-<n>``;
    its input bytes are its texts' variables and lines."""
    texts, enc = parse_iramuteq(path)
    out = []
    for n, group in enumerate(group_texts(texts), start=1):
        meta = text_metadata(path, group, known_roles=store.config.roles.known)
        w = str(meta.wave) if meta.wave not in (None, "") else wave
        meta.interview_id = meta.interview_id or f"{default_interview_id(path, w)}-{n:03d}"
        parts = [[item.variables, [t for _, t, _ in item.lines]] for item in group]
        data = json.dumps(parts[0] if len(parts) == 1 else parts, ensure_ascii=False).encode("utf-8")
        out.append((meta, meta.interview_id, w, data, bounded(text_transcript(path, group, enc), path, group[0].line)))
    return out


def _check_item(store: Store, f: Path, meta: InterviewMeta | None, iid: str, w: str | None, data: bytes,
                given: Transcript | None, existing: dict, settings: tuple[str, str],
                errors: list, twins: "_Twins") -> "_Parsed | None | bool":
    """What to do with one interview: None when unchanged, False when it failed (the error
    is appended to ``errors``), else the :class:`_Parsed` to store or update. E118/E119 (an
    interview stored twice) are raised at once."""
    inputs = _inputs(data, meta, w, settings)
    drop = twins.check(f, iid, w, inputs.file)
    sh = inputs.combined()
    old = existing.get(iid)
    if old == sh and not drop:
        return None
    p = _Parsed(f, meta, iid, w, sh, None, inputs, settings=settings, drop=drop)
    before = store.get_kv(_INPUTS_KV + iid) if old is not None else None
    if before is None and old is not None and old == _legacy_hash(data, meta, w):
        before = {"file": inputs.file, "text": inputs.text}       # a store from before: bytes and text known
    diff = {k for k, v in asdict(inputs).items() if (before or {}).get(k) != v}
    if old is not None and before is not None and not diff & {"file", "text"} and not drop:
        p.update_only, p.reason = True, "metadata changed"
    elif old is not None:
        p.reason = "file changed" if "file" in diff or before is None else "segment/pseudonymise settings or rules changed"
    try:
        if not p.update_only or "roles" in diff:
            p.transcript = given if given is not None else parse_file(f)
        if meta is not None and meta.speakers:
            check_speakers(meta, [t.speaker for t in p.transcript.turns] if p.transcript else
                           list(_stored_roles(store, iid)))
    except TextmineError as exc:
        errors.append(exc)
        return False
    if p.update_only and "roles" in diff:
        p.decisions = assign_roles(p.transcript, meta, store.config.roles)
        if {lb: d.role for lb, d in p.decisions.items()} != _stored_roles(store, iid):
            p.update_only, p.reason = False, "speaker roles changed (roles settings or sheet)"
        else:
            p.reason = "role inputs changed, roles the same"
    return p


def stale_interviews(store: Store, exclude: Iterable[str] = ()) -> list[str]:
    """Interviews (other than ``exclude``) whose rows were derived with other ``roles``,
    ``segment`` or ``pseudonymise`` settings than the project's current ones: ingesting their
    wave again brings them up to date (an ingest only reads the files it is given)."""
    now = list(_settings_parts(store))
    have = set(store.interview_hashes()) - set(exclude)
    out = []
    for key, value in store.kv_items(_INPUTS_KV):
        iid = key[len(_INPUTS_KV):]
        if iid in have and value.get("settings") not in (None, now):
            out.append(iid)
    return sorted(out)


def _invalid_files(errors: list[TextmineError], n_files: int) -> TextmineError:
    """The one error of a lone bad file (its fix says how to ingest the others), or E117
    listing every unreadable file."""
    if len(errors) == 1:
        err = errors[0]
        if n_files > 1:
            err.fix += " Or pass --skip-invalid to ingest the other files."
        return err
    listing = "".join(f"\n  {e.where() or '?'}: [{e.code}] {e.message}" for e in errors[:MAX_LISTED])
    more = f"\n  and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
    return TextmineError(E.E117, detail=f"{len(errors)} of {n_files} files:{listing}{more}")


def _speaker_frames(p: _Parsed, roles: dict, pseudo) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    turns = p.transcript.turns
    rows = []
    for i, t in enumerate(turns):
        d = roles.get(t.speaker)
        rows.append({"interview_id": p.interview_id, "turn_index": i, "speaker": t.speaker,
                     "role": d.role if d else OTHER, "text": t.text, "start": t.start, "end": t.end,
                     "line": t.line, "char_start": t.char_start, "char_end": t.char_end,
                     "overlap": bool(t.overlap), "marks": marks_json(t.marks, t.start, t.line)})
    turns_df = pd.DataFrame(rows)
    # speakers in order of first appearance; pseudonymous labels numbered per role
    order = list(dict.fromkeys([t.speaker for t in turns] + [s.label for s in p.transcript.speakers]))
    per_role: dict[str, int] = {}
    labels: dict[str, str] = {}
    srows = []
    own_ids = {fold_label(sp.speaker): sp.respondent_id for sp in (p.meta.speakers if p.meta else [])}
    for spk in order:
        d = roles.get(spk)
        role = d.role if d else OTHER
        per_role[role] = per_role.get(role, 0) + 1
        labels[spk] = pseudo.speaker_pseudo(role, per_role[role])
    for spk in order:
        d = roles.get(spk)
        role = d.role if d else OTHER
        sub = turns_df[turns_df["speaker"] == spk] if not turns_df.empty else turns_df
        srows.append({"interview_id": p.interview_id, "speaker": spk, "role": role,
                      "role_method": d.method if d else "none", "role_confidence": d.confidence if d else 0.0,
                      "turns": int(len(sub)), "words": int(sum(count_words(x) for x in sub["text"])) if len(sub) else 0,
                      "speaker_pseudo": labels[spk], "role_evidence": _pseudo_evidence(d.evidence if d else "", labels),
                      "respondent_id": own_ids.get(fold_label(spk))})
    return turns_df, pd.DataFrame(srows), labels


def _pseudo_evidence(text: str, labels: dict[str, str]) -> str:
    """Role evidence with its «speaker labels» replaced by the pseudonymous labels (stored so)."""
    return re.sub(r"«([^«»]*)»", lambda m: labels.get(m.group(1), "?"), text or "")


class _Turns(NamedTuple):
    """An interview's speakers and turns, ready to segment: what the file tells (no spaCy yet)."""

    turns: pd.DataFrame
    speakers: pd.DataFrame
    labels: dict[str, str]
    names: list[str]           # names the file itself tells about (speaker names, tier labels, file name...)
    no_interviewer: bool


def _turns_of(p: _Parsed, cfg, pseudo) -> _Turns:
    roles = assign_roles(p.transcript, p.meta, cfg.roles)
    names = [s.name for s in p.transcript.speakers if s.name]
    names += [lbl for lbl, d in roles.items() if d.method != "config" and _looks_like_name(lbl)]
    names += names_from_filename(p.path)
    if p.meta is not None:
        names += [str(v) for k, v in p.meta.attrs.items() if k.lower() in NAME_ATTRS and v]
    turns_df, speakers_df, labels = _speaker_frames(p, roles, pseudo)
    return _Turns(turns_df, speakers_df, labels, [n for n in names if n],
                  any(d.method == NO_INTERVIEWER for d in roles.values()))


def _texts_to_pseudonymise(segs: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(segment texts, their interviewer questions, the distinct questions): what an
    interview's pseudonymisation reads, segment texts first."""
    texts = segs["text"].fillna("").tolist()
    questions = segs["prev_question"].fillna("").tolist()
    return texts, questions, list(dict.fromkeys(q for q in questions if q))


def analyse_interviews(items: list[tuple[str, pd.DataFrame]], seg_cfg, ner_model: str | None
                       ) -> list[tuple[pd.DataFrame, dict | None]]:
    """Each interview's segments (:func:`~textmine.segment.segment_interview` of its turns) and
    NER's hits in the texts its pseudonymisation will read (:func:`~textmine.pseudonymise.entity_spans`;
    None without ``ner_model``): the spaCy work of ingest, done by worker processes
    (:mod:`textmine.workers`) when the new interviews are long, else here."""
    nlp = load_nlp(seg_cfg.spacy_model)
    ner = load_nlp(ner_model, only=["ner"]) if ner_model else None
    out = []
    for interview_id, turns in items:
        segs = segment_interview(interview_id, turns, seg_cfg, nlp=nlp)
        ents = None
        if ner is not None and not segs.empty:
            texts, _, uq = _texts_to_pseudonymise(segs)
            ents = entity_spans(ner, texts + uq)
        out.append((segs, ents))
    return out


def _analysed(store: Store, parsed: list[_Parsed], turns: list[_Turns],
              note: Callable[[str], None] | None) -> Iterator[tuple[pd.DataFrame, dict | None]]:
    """:func:`analyse_interviews` of each parsed interview, in order: by worker processes when
    they hold :data:`POOL_MIN_WORDS` words or more (the parent waits: its spaCy is never loaded),
    else here, one interview at a time (memory stays that of one interview). A worker that fails
    has its interviews analysed here: the results are the same."""
    cfg = store.config
    ner_model = cfg.pseudonymise.spacy_model if cfg.pseudonymise.enabled else None
    items = [(p.interview_id, t.turns) for p, t in zip(parsed, turns)]
    sizes = [p.transcript.source_words for p in parsed]
    n = worker_count(sum(sizes) >= POOL_MIN_WORDS and len(parsed) > 1)
    if n < 1:
        for k, (p, item) in enumerate(zip(parsed, items), 1):
            if note is not None and p.transcript.source_words > LONG_WORDS:
                note(f"{p.interview_id} ({k}/{len(parsed)}): {p.transcript.source_words:,} words, segmenting and "
                     "pseudonymising; a file this long takes minutes")
            yield analyse_interviews([item], cfg.segment, ner_model)[0]
        return
    shares: list[list[int]] = [[] for _ in range(min(n, len(parsed)))]
    load = [0] * len(shares)
    for i in sorted(range(len(parsed)), key=lambda i: -sizes[i]):      # longest first, to the least loaded
        j = load.index(min(load))
        shares[j].append(i)
        load[j] += sizes[i]
    if note is not None:
        note(f"{len(parsed)} interviews ({sum(sizes):,} words): segmenting and finding names in "
             f"{len(shares)} worker processes")
    results, stats = Pool("ingest", [[items[i] for i in share] for share in shares],
                          (cfg.segment, ner_model)).results()
    if stats["failed"] and note is not None:
        note(f"{stats['failed']} of {stats['workers']} worker processes failed ({stats['errors'][0]}): their "
             "interviews are analysed in this process instead (same results, more time)")
    done: dict[int, tuple] = {}
    for share, res in zip(shares, results):
        if res is None or len(res) != len(share):
            res = analyse_interviews([items[i] for i in share], cfg.segment, ner_model)   # the worker failed
        done.update(zip(share, res))
    for i in range(len(parsed)):
        yield done.pop(i)


def _store_one(store: Store, p: _Parsed, t: _Turns, segs: pd.DataFrame, ents: dict | None, pseudo,
               report: IngestReport) -> tuple[int, int]:
    cfg = store.config
    pseudo.source = p.interview_id
    if t.no_interviewer:
        report.no_interviewer.append(p.interview_id)
    pseudo.add_names(t.names)
    turns_df, speakers_df, labels = t.turns, t.speakers, t.labels
    if not segs.empty:
        segs["speaker_pseudo"] = segs["speaker"].map(labels)
        if cfg.pseudonymise.enabled:
            texts, questions, uq = _texts_to_pseudonymise(segs)
            out = pseudo.pseudonymise(texts + uq, entities=ents)
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
        **_interview_fields(p),
        "attrs": json.dumps({**(p.transcript.attrs.get("public", {}) if isinstance(p.transcript.attrs.get("public"), dict) else {}),
                             **(meta.attrs if meta else {})}, ensure_ascii=False, default=str),
        "n_turns": len(turns_df), "n_words": int(speakers_df["words"].sum()) if not speakers_df.empty else 0,
        "ingested_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "content_hash": p.inputs.file,
    }
    with store.transaction():
        for other in p.drop:
            store.delete_interview(other)
        store.replace_interview(interview, speakers_df, turns_df, segs)
        store.add_pseudonyms(pseudo.new_rows())
        store.set_kv(_INPUTS_KV + p.interview_id, {**asdict(p.inputs), "settings": p.settings})
    return len(segs), interview["n_words"]


def _update_one(store: Store, p: _Parsed) -> None:
    """Descriptive metadata (or role inputs that give the same roles) changed: update the
    interview's row and its speakers' respondent ids in place, nothing else."""
    meta = p.meta
    row = store.interview_columns("attrs", interview_id=p.interview_id)
    attrs = json.loads(row["attrs"].iloc[0] or "{}") if len(row) else {}
    attrs.update(meta.attrs if meta else {})
    pseudo = store.speaker_values(p.interview_id, "speaker_pseudo")
    own_ids = {fold_label(sp.speaker): sp.respondent_id for sp in (meta.speakers if meta else [])}
    speakers = {lb: {"respondent_id": own_ids.get(fold_label(lb))} for lb in pseudo}
    for lb, d in (p.decisions or {}).items():     # same roles, decided another way: say how
        if lb in speakers:
            speakers[lb].update(role_method=d.method, role_confidence=d.confidence,
                                role_evidence=_pseudo_evidence(d.evidence, pseudo))
    with store.transaction():
        store.update_interview_meta(p.interview_id, {**_interview_fields(p), "source_hash": p.source_hash,
                                                     "attrs": json.dumps(attrs, ensure_ascii=False, default=str)},
                                    speakers)
        store.set_kv(_INPUTS_KV + p.interview_id, {**asdict(p.inputs), "settings": p.settings})


def _looks_like_name(label: str) -> bool:
    """A speaker label that is a person's name (not a code like ENQ, E, DE744, spk1)."""
    words = [w for w in label.replace("(", " ").replace(")", " ").split() if w]
    if not words or any(ch.isdigit() for ch in label):
        return False
    return all(w[:1].isupper() and w[1:].islower() for w in words if len(w) > 1 and w.isalpha()) \
        and any(len(w) > 2 and w.isalpha() for w in words)


def ingest_paths(store: Store, paths: Sequence[str | Path], *, wave: str | None = None,
                 metadata: str | Path | None = None, speakers: str | Path | None = None,
                 skip_invalid: bool = False, advance: Callable[[int], None] | None = None,
                 on_start: Callable[[int], None] | None = None, replace: bool = False,
                 note: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest transcripts (files or folders) into ``store``. See the module docstring.
    ``on_start(n)`` is called with the number of interviews to store, ``advance(1)`` after each;
    ``note(message)`` hears about long files before their segmentation and NER start."""

    report = IngestReport()
    parsed, report.unchanged = _validate(store, paths, wave, metadata, speakers, skip_invalid, report, replace)
    other = [w for w in report.waves if w != str(wave)]
    if wave is not None and other and note is not None:
        note(f"--wave {wave}: the metadata sheet gives wave {', '.join(other)} to "
             f"{'some' if str(wave) in report.waves else 'all'} of these interviews, and the sheet's wave wins "
             f"(fix the sheet's `wave` column or --wave if that is not what you meant)")
    report.stale = stale_interviews(store, {p.interview_id for p in parsed} | set(report.unchanged))
    if on_start is not None:
        on_start(len(parsed))
    for p in [p for p in parsed if p.update_only]:
        _update_one(store, p)
        report.updated.append(p.interview_id)
        report.reasons[p.interview_id] = p.reason
        if advance is not None:
            advance(1)
    parsed = [p for p in parsed if not p.update_only]
    if not parsed:
        return report
    cfg = store.config
    pseudo = Pseudonymiser(store.pseudonym_map(), cfg.pseudonymise)
    existing = store.interview_hashes()
    turns = [_turns_of(p, cfg, pseudo) for p in parsed]
    for p, t, (segs, ents) in zip(parsed, turns, _analysed(store, parsed, turns, note)):
        n_seg, n_words = _store_one(store, p, t, segs, ents, pseudo, report)
        if p.interview_id in existing or p.drop:
            report.replaced.append(p.interview_id)
            report.reasons[p.interview_id] = p.reason
        else:
            report.added.append(p.interview_id)
        report.segments += n_seg
        report.words += n_words
        if advance is not None:
            advance(1)
    return report
