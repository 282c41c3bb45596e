"""A wave's metadata sheet (CSV with ``,``/``;``, UTF-8 or cp1252; or XLSX) -> InterviewMeta.

Required columns: file, interview_id, wave, date, territory, structure_type, respondent_id,
role (French synonyms such as fichier, vague, territoire, rôle are accepted). Extra columns
go to ``attrs``; they may hold personal data (a name, a contact), so exports withhold them
unless ``--reveal``, except those the sheet declares safe with a ``public:`` prefix on the
header (``public:genre`` -> attribute ``genre``, exported). An optional ``interviewer`` column
names the interviewer's speaker label(s) (``;``-separated), or says ``none`` (no interviewer)
or ``auto``. ``file`` is relative to the sheet's folder; the resolved path is stored.
``sheet_line`` is the spreadsheet row number (header = 1). An empty or binary sheet, or a quote
left open in a CSV sheet, is E111 with the line.

An optional ``speakers`` sheet (a worksheet named ``speakers`` or ``locuteurs`` in the XLSX,
or a CSV/XLSX file given with ``--speakers``) gives roles per speaker: columns ``file,
speaker, role`` and optionally ``respondent_id``, one row per speaker label of a transcript
(several interviewees in one file, relatives, a second interviewer). Its rows are attached to
the metadata row of their file (:attr:`InterviewMeta.speakers`).
"""
from __future__ import annotations

import datetime as _dt
import difflib
import re
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import E, TextmineError
from ..french import fold_label
from ..records import INTERVIEWER, OTHER, RESPONDENT, InterviewMeta, SpeakerMeta
from ..safeio import SafeZip

#: sheet columns whose values are people's names: withheld (never exported without --reveal)
#: and given to the pseudonymiser as names to mask. The one list: :mod:`.iramuteq` adds the
#: variables that may hold names in an IRaMuTeQ corpus.
NAME_ATTRS = frozenset({"nom", "name", "prenom", "prénom", "enqueteur", "enquêteur"})
from ..vocabulary import ROLE_ALIASES
from .encoding import decode_text, read_bytes, sniff_binary
from .tabular import csv_rows

#: header prefix declaring an extra column safe to export (``public:genre``)
PUBLIC_RE = re.compile(r"^\s*publi(?:c|que)\s*:\s*", re.I)
REQUIRED = ["file", "interview_id", "wave", "date", "territory", "structure_type", "respondent_id", "role"]
_SYN = {
    "file": {"file", "fichier", "filename", "nom_fichier", "transcript", "transcription", "path", "chemin"},
    "interview_id": {"interview_id", "id_entretien", "entretien", "interview", "id"},
    "wave": {"wave", "vague"},
    "date": {"date", "date_entretien"},
    "territory": {"territory", "territoire"},
    "structure_type": {"structure_type", "type_structure", "type_de_structure", "structure"},
    "respondent_id": {"respondent_id", "id_repondant", "repondant", "enquete_id", "id_enquete"},
    "role": {"role", "role_repondant", "fonction"},
}
SPEAKER_REQUIRED = ["file", "speaker", "role"]
_SPEAKER_SYN = {
    "file": _SYN["file"],
    "speaker": {"speaker", "locuteur", "locutrice", "label", "etiquette", "tier", "intervenant", "speaker_label"},
    "role": _SYN["role"],
    "respondent_id": _SYN["respondent_id"],
}
SPEAKER_SHEETS = ("speakers", "locuteurs", "intervenants")


def _key(h) -> str:
    return fold_label(str(h or "")).replace(" ", "_").replace("-", "_")


def norm_role(v: str) -> str:
    return _key(v).strip("_")


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _sheet_bytes(path: Path) -> bytes:
    """The sheet's bytes; an empty or binary file is a bad sheet (E111), not a bad transcript."""
    try:
        data = read_bytes(path)
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            sniff_binary(data, path)
        return data
    except TextmineError as exc:
        if exc.code in ("E102", "E103"):
            raise TextmineError(E.E111, path=path, detail="the sheet is empty" if exc.code == "E102"
                                else f"the sheet is not text ({exc.detail})") from None
        raise


def _rows_csv(path: Path) -> tuple[list, list[tuple[int, list]]]:
    text, _ = decode_text(_sheet_bytes(path), path)
    _, header, rows = csv_rows(text, path, E.E111)
    for line, row in rows:      # a metadata cell never spans lines: a quote left open swallowed rows
        for cell in row:
            if "\n" in cell:
                raise TextmineError(E.E111, path=path, line=line,
                                    detail=f"the cell {cell.splitlines()[0][:40]!r}... starting on line {line} runs "
                                           "over several lines: a quote \" is not closed",
                                    fix="Close the quote on that line, or remove it.")
    return header, rows


def _rows_xlsx(path: Path, sheets: Sequence[str] | None = None) -> tuple[list, list[tuple[int, list]]] | None:
    """Header and rows of the workbook's active sheet, or of the first sheet named in
    ``sheets`` (case-insensitive; None when there is none)."""
    import zipfile

    import openpyxl
    SafeZip(_sheet_bytes(path), path)   # zip-bomb / truncation checks before openpyxl inflates anything
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TextmineError(E.E111, path=path, detail=f"openpyxl cannot read it ({exc})") from exc
    try:
        if sheets is not None:
            named = {_key(n): n for n in wb.sheetnames}
            name = next((named[k] for k in sheets if k in named), None)
            if name is None:
                return None
            ws = wb[name]
        else:
            ws = wb.active if wb.active is not None else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = list(next(it, None) or [])
        rows = [(i, list(r)) for i, r in enumerate(it, start=2)]
    finally:
        wb.close()
    return header, rows


def _read_rows(path: Path, sheets: Sequence[str] | None = None) -> tuple[list, list[tuple[int, list]]] | None:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _rows_xlsx(path, sheets)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _rows_csv(path)
    raise TextmineError(E.E111, path=path, detail=f"unsupported sheet type {path.suffix!r} (use .csv or .xlsx)")


def _columns(path: Path, header: list, synonyms: dict[str, set[str]], required: list[str]) -> dict[str, int]:
    col: dict[str, int] = {}
    for i, k in enumerate(_key(h) for h in header):
        for field, names in synonyms.items():
            if k in names and field not in col:
                col[field] = i
                break
    missing = [c for c in required if c not in col]
    if missing:
        unused = {_key(h): str(h) for i, h in enumerate(header) if h and i not in col.values()}
        near = []
        for c in missing:       # a header one or two letters off: "teritory", "strucure_type"
            close = difflib.get_close_matches(c, list(unused), n=1, cutoff=0.8)
            if close:
                near.append(f"is {unused[close[0]]!r} meant to be {c!r}?")
        raise TextmineError(E.E111, path=path, line=1, detail=f"missing column(s) {', '.join(missing)} "
                                                              f"(found: {', '.join(str(h) for h in header if h)})"
                                                              + (f"; {'; '.join(near)}" if near else ""))
    return col


def _valid_roles(known_roles: Iterable[str]) -> list[str]:
    return sorted({norm_role(r) for r in known_roles} | {INTERVIEWER, OTHER, RESPONDENT})


def _role(value: str | None, valid: list[str], path: Path, line: int) -> str | None:
    if value is None:
        return None
    role = norm_role(value)
    if role not in valid:
        role = ROLE_ALIASES.get(role, role)        # "usagère", "élue", "coordinatrice" ...
    if role not in valid:
        raise TextmineError(E.E115, path=path, line=line,
                            detail=f"{value!r} ({path.name} line {line}); valid roles: {', '.join(valid)}")
    return role


_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def norm_date(value: str | None) -> str | None:
    """A sheet's date as ISO text: ``2023-05-02``, ``2023-05`` or ``2023`` as written (a time
    is dropped), ``02/05/2023`` (day first, as written in France; also ``.`` or ``-``) ->
    ``2023-05-02``. ValueError for anything else or an impossible date."""
    if value is None or not str(value).strip():
        return None
    v = str(value).strip()
    m = _ISO_DATE.fullmatch(v)
    if m:
        y, mo, d = m.group(1), m.group(2), m.group(3)
    else:
        m = _DAY_FIRST.fullmatch(v)
        if not m:
            raise ValueError(v)
        d, mo, y = m.groups()
    if d is not None:
        return _dt.date(int(y), int(mo), int(d)).isoformat()      # ValueError: day 45, month 13 ...
    if mo is not None:
        if not 1 <= int(mo) <= 12:
            raise ValueError(v)
        return f"{int(y):04d}-{int(mo):02d}"
    return f"{int(y):04d}"


def _date(value: str | None, path: Path, line: int) -> str | None:
    try:
        return norm_date(value)
    except ValueError:
        raise TextmineError(E.E111, path=path, line=line,
                            detail=f"{path.name} line {line}: date {value!r} is not a date",
                            fix="Write the date as YYYY-MM-DD (or DD/MM/YYYY, YYYY-MM, YYYY), or leave the cell "
                                "empty.") from None


def read_metadata(path: str | Path, *, known_roles: Iterable[str],
                  speakers: str | Path | None = None) -> list[InterviewMeta]:
    """Read and validate a metadata sheet (see module docstring), with its ``speakers`` sheet
    (the workbook's ``speakers`` worksheet, or the file ``speakers``); errors E111/E112/E114/E115."""
    path = Path(path)
    header, rows = _read_rows(path)
    col = _columns(path, header, _SYN, REQUIRED)
    valid = _valid_roles(known_roles)
    extra = [(i, str(h).strip()) for i, h in enumerate(header) if i not in col.values() and _cell(h)]
    public = [name for _, name in extra if PUBLIC_RE.match(name)]
    extra = [(i, PUBLIC_RE.sub("", name).strip()) for i, name in extra]
    public = [PUBLIC_RE.sub("", name).strip() for name in public]
    folder = path.resolve().parent
    out: list[InterviewMeta] = []
    seen: dict[str, int] = {}
    files: dict[Path, int] = {}
    for line, row in rows:
        vals = [_cell(v) for v in row]
        if not any(vals):
            continue
        get = (lambda f: vals[col[f]] if col[f] < len(vals) else None)
        file = get("file")
        if not file:
            raise TextmineError(E.E112, path=path, line=line, detail=f"{path.name} line {line}: empty `file`")
        fpath = (folder / file).resolve()
        if not fpath.is_file():
            raise TextmineError(E.E112, path=path, line=line,
                                detail=f"{path.name} line {line}: {file} not found in {folder}")
        if fpath in files:     # one row per transcript: a second would silently drop the first's interview
            raise TextmineError(E.E111, path=path, line=line,
                                detail=f"{path.name}: {file} is listed on lines {files[fpath]} and {line}",
                                fix="Give each transcript one row (one file per interview); remove or correct "
                                    "the other row.")
        files[fpath] = line
        iid = get("interview_id")
        if not iid:
            raise TextmineError(E.E111, path=path, line=line, detail=f"{path.name} line {line}: empty interview_id")
        if iid in seen:
            raise TextmineError(E.E114, path=path, line=line,
                                detail=f"{iid!r} on lines {seen[iid]} and {line} of {path.name}")
        seen[iid] = line
        role = _role(get("role"), valid, path, line)
        date = _date(get("date"), path, line)
        attrs = {name: (vals[i] if i < len(vals) else None) for i, name in extra}
        out.append(InterviewMeta(file=str(fpath), interview_id=iid, wave=get("wave"), date=date,
                                 territory=get("territory"), structure_type=get("structure_type"),
                                 respondent_id=get("respondent_id"), role=role, attrs=attrs,
                                 public=public, sheet=str(path), sheet_line=line))
    if not out:
        raise TextmineError(E.E111, path=path, detail="the sheet has a header but no data row")
    if speakers is not None:
        _attach_speakers(out, read_speakers(speakers, known_roles=known_roles))
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        _attach_speakers(out, read_speakers(path, known_roles=known_roles, sheets=SPEAKER_SHEETS))
    return out


def read_speakers(path: str | Path, *, known_roles: Iterable[str],
                  sheets: Sequence[str] | None = None) -> list[SpeakerMeta]:
    """Rows of a ``speakers`` sheet (``file, speaker, role[, respondent_id]``); with ``sheets``,
    the first worksheet of an XLSX with one of these names ([] when it has none)."""
    path = Path(path)
    if sheets is not None and path.suffix.lower() in (".xlsx", ".xlsm"):
        found = _read_rows(path, sheets)
        if found is None:
            return []
    else:
        found = _read_rows(path, SPEAKER_SHEETS if path.suffix.lower() in (".xlsx", ".xlsm") else None)
        if found is None:   # a workbook given with --speakers: its first sheet
            found = _rows_xlsx(path)
    header, rows = found
    col = _columns(path, header, _SPEAKER_SYN, SPEAKER_REQUIRED)
    valid = _valid_roles(known_roles)
    folder = path.resolve().parent
    out, seen = [], {}
    for line, row in rows:
        vals = [_cell(v) for v in row]
        if not any(vals):
            continue
        get = (lambda f: vals[col[f]] if f in col and col[f] < len(vals) else None)
        file, speaker = get("file"), get("speaker")
        if not file or not speaker:
            raise TextmineError(E.E111, path=path, line=line,
                                detail=f"{path.name} line {line}: empty `{'file' if not file else 'speaker'}`")
        key = (str((folder / file).resolve()), fold_label(speaker))
        if key in seen:
            raise TextmineError(E.E111, path=path, line=line,
                                detail=f"{path.name}: speaker {speaker!r} of {file} on lines {seen[key]} and {line}")
        seen[key] = line
        out.append(SpeakerMeta(file=file, speaker=speaker, role=_role(get("role"), valid, path, line),
                               respondent_id=get("respondent_id"), sheet=str(path), sheet_line=line))
    return out


def _attach_speakers(metas: list[InterviewMeta], speakers: list[SpeakerMeta]) -> None:
    """Give each metadata row the ``speakers`` rows of its file (by path from the speakers
    sheet's folder, else by unique file name); E112 for a row whose file has no metadata row."""
    by_path = {str(Path(m.file).resolve()): m for m in metas}
    by_name: dict[str, list[InterviewMeta]] = {}
    for m in metas:
        by_name.setdefault(Path(m.file).name.casefold(), []).append(m)
    for sp in speakers:
        folder = Path(sp.sheet).resolve().parent if sp.sheet else Path.cwd()
        m = by_path.get(str((folder / sp.file).resolve()))
        if m is None:
            cands = by_name.get(Path(sp.file).name.casefold(), [])
            m = cands[0] if len(cands) == 1 else None
        if m is None:
            raise TextmineError(E.E112, path=sp.sheet, line=sp.sheet_line,
                                detail=f"speakers sheet line {sp.sheet_line}: {sp.file} has no row in the metadata sheet")
        m.speakers.append(sp)


def check_speakers(meta: InterviewMeta, labels: Iterable[str]) -> None:
    """E116 when a ``speakers`` row names a label the transcript does not have."""
    have = {fold_label(lb): lb for lb in labels}
    for sp in meta.speakers:
        if fold_label(sp.speaker) not in have:
            raise TextmineError(E.E116, path=sp.sheet, line=sp.sheet_line,
                                detail=f"speaker {sp.speaker!r} (line {sp.sheet_line}) is not in {Path(meta.file).name}; "
                                       f"its speakers: {', '.join(sorted(have.values()))}")


def match_metadata(paths: Sequence[str | Path], metas: Sequence[InterviewMeta]) -> dict:
    """Map each transcript path (as given) to its metadata row; E113 for a file with no row.

    Matching is by resolved path, then by file name when that name is unique in the sheet.
    """
    by_path = {str(Path(m.file).resolve()): m for m in metas}
    by_name: dict[str, list[InterviewMeta]] = {}
    for m in metas:
        by_name.setdefault(Path(m.file).name.casefold(), []).append(m)
    out = {}
    for p in paths:
        m = by_path.get(str(Path(p).resolve()))
        if m is None:
            cands = by_name.get(Path(p).name.casefold(), [])
            m = cands[0] if len(cands) == 1 else None
        if m is None:
            sheets = sorted({m.sheet for m in metas if m.sheet})
            raise TextmineError(E.E113, path=p, detail=f"{Path(p).name} is not listed in "
                                                       f"{', '.join(sheets) or 'the metadata sheet'}")
        out[p] = m
    return out
