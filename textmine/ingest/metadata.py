"""A wave's metadata sheet (CSV with ``,``/``;``, UTF-8 or cp1252; or XLSX) -> InterviewMeta.

Required columns: file, interview_id, wave, date, territory, structure_type, respondent_id,
role (French synonyms such as fichier, vague, territoire, rôle are accepted). Extra columns
go to ``attrs``. ``file`` is relative to the sheet's folder; the resolved path is stored.
``sheet_line`` is the spreadsheet row number (header = 1).
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import E, TextmineError
from ..records import INTERVIEWER, OTHER, RESPONDENT, InterviewMeta
from .encoding import decode_text, read_bytes
from .tabular import sniff_delimiter
from .tags import fold

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


def _key(h) -> str:
    return fold(str(h or "")).replace(" ", "_").replace("-", "_")


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


def _rows_csv(path: Path) -> tuple[list, list[tuple[int, list]]]:
    text, _ = decode_text(read_bytes(path), path)
    delim = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[tuple[int, list]] = []
    try:
        header = next(reader)
        line = reader.line_num + 1
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except StopIteration:
        raise TextmineError(E.E111, path=path, detail="the sheet is empty") from None
    except csv.Error as exc:
        raise TextmineError(E.E111, path=path, line=reader.line_num, detail=f"CSV syntax: {exc}") from exc
    return header, rows


def _rows_xlsx(path: Path) -> tuple[list, list[tuple[int, list]]]:
    import zipfile

    import openpyxl
    from .safezip import SafeZip
    SafeZip(read_bytes(path), path)   # zip-bomb / truncation checks before openpyxl inflates anything
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TextmineError(E.E111, path=path, detail=f"openpyxl cannot read it ({exc})") from exc
    try:
        ws = wb.active if wb.active is not None else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = list(next(it, None) or [])
        rows = [(i, list(r)) for i, r in enumerate(it, start=2)]
    finally:
        wb.close()
    return header, rows


def read_metadata(path: str | Path, *, known_roles: Iterable[str]) -> list[InterviewMeta]:
    """Read and validate a metadata sheet (see module docstring); errors E111/E112/E114/E115."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, rows = _rows_xlsx(path)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        header, rows = _rows_csv(path)
    else:
        raise TextmineError(E.E111, path=path, detail=f"unsupported sheet type {path.suffix!r} (use .csv or .xlsx)")
    keys = [_key(h) for h in header]
    col: dict[str, int] = {}
    for i, k in enumerate(keys):
        for field, names in _SYN.items():
            if k in names and field not in col:
                col[field] = i
                break
    missing = [c for c in REQUIRED if c not in col]
    if missing:
        raise TextmineError(E.E111, path=path, line=1, detail=f"missing column(s) {', '.join(missing)} "
                                                              f"(found: {', '.join(str(h) for h in header if h)})")
    valid = sorted({norm_role(r) for r in known_roles} | {INTERVIEWER, OTHER, RESPONDENT})
    extra = [(i, str(h).strip()) for i, h in enumerate(header) if i not in col.values() and _cell(h)]
    folder = path.resolve().parent
    out: list[InterviewMeta] = []
    seen: dict[str, int] = {}
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
        iid = get("interview_id")
        if not iid:
            raise TextmineError(E.E111, path=path, line=line, detail=f"{path.name} line {line}: empty interview_id")
        if iid in seen:
            raise TextmineError(E.E114, path=path, line=line,
                                detail=f"{iid!r} on lines {seen[iid]} and {line} of {path.name}")
        seen[iid] = line
        role = get("role")
        if role is not None:
            role = norm_role(role)
            if role not in valid:
                raise TextmineError(E.E115, path=path, line=line,
                                    detail=f"{get('role')!r} ({path.name} line {line}); valid roles: {', '.join(valid)}")
        attrs = {name: (vals[i] if i < len(vals) else None) for i, name in extra}
        out.append(InterviewMeta(file=str(fpath), interview_id=iid, wave=get("wave"), date=get("date"),
                                 territory=get("territory"), structure_type=get("structure_type"),
                                 respondent_id=get("respondent_id"), role=role, attrs=attrs,
                                 sheet=str(path), sheet_line=line))
    if not out:
        raise TextmineError(E.E111, path=path, detail="the sheet has a header but no data row")
    return out


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
