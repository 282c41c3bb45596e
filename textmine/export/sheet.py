"""Coding sheets of a calibration sample: written as ``.xlsx``, ``.csv`` or ``.qdpx``, read back
from ``.xlsx`` or ``.csv`` as they come out of Excel or LibreOffice.

The contract (CSV and the XLSX coding sheet): columns ``segment_id, interview_id, wave, role,
text, themes, posture``; ``themes`` holds ``;``-separated theme ids (empty = none of them),
``posture`` a posture sub-label or nothing. When some rows come pre-filled with a human code
(the sample's units already coded through another sample's sheet) a ``prefilled`` column after
``posture`` names the coder and that sample on those rows (their themes are in ``themes`` in
the CSV, in the 1/0 theme columns in the XLSX, where these rows are also shaded). The XLSX adds one column per theme to fill with
1/0 (either way of coding is read), a drop-down for ``posture``, a frozen header, wrapped
text, a ``consignes`` sheet with the codebook's definitions and a hidden ``textmine`` sheet
naming the project and the sample.

:func:`read_sheet` returns the rows as they are (strings, stripped), with where each came from
(``line 12`` or ``codage!F12``); checking them is :mod:`textmine.calibrate.codes`'s job. Cells
holding a formula are refused (E408 naming the cell): their value is not in the file.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import E, TextmineError
from ..themes.codebook import POSTURE_LABELS, Codebook
from .cells import append_row, from_csv_cell, to_csv, xlsx_value
from .files import atomic_write
from .qdpx_export import write_qdpx

SHEET_COLUMNS = ["segment_id", "interview_id", "wave", "role", "text", "themes", "posture"]
#: added after ``posture`` when some rows come pre-filled with a human code of another sample's sheet
PREFILL_COLUMN = "prefilled"
_PREFILL_RE = re.compile(r"codes de (.+?) \(échantillon (\S+)\)")
SHEET_NAME, HELP_NAME, META_NAME = "codage", "consignes", "textmine"
QDPX_PREFIX = "textmine calibration sample "
MAX_ROWS = 100_000
MAX_BYTES = 50 * 1024 * 1024
WIDTHS = {"segment_id": 24, "interview_id": 18, "wave": 8, "role": 14, "text": 90, "themes": 30, "posture": 18,
          PREFILL_COLUMN: 40}
HELP_FR = [
    "Codez chaque segment de la feuille « codage » comme vous le feriez dans votre logiciel d'analyse, "
    "sans chercher à deviner le codage automatique.",
    "Pour chaque thème présent dans le segment : mettez 1 dans la colonne du thème (0 ou vide = absent), "
    "ou écrivez les identifiants des thèmes dans la colonne « themes », séparés par « ; ». Les deux façons "
    "sont lues. Un segment sans aucun thème : mettez 0 dans les colonnes des thèmes (un seul 0 suffit).",
    "Posture (thème posture_faire_avec_vs_a_la_place) : choisissez faire_avec, faire_a_la_place ou mixte "
    "dans la liste, ou laissez vide.",
    "Une ligne présente dans la feuille est une ligne codée. Si vous n'avez pas fini, supprimez les lignes "
    "non codées avant l'import (vous importerez la suite plus tard). Si vous codez avec des 1 et des 0, une "
    "ligne laissée entièrement vide arrête l'import (elle n'est pas codée). Sans 0 (des 1 seuls, ou la "
    "colonne « themes »), une ligne vide compte comme « aucun thème ».",
    "Ne modifiez pas la colonne segment_id. Vous pouvez trier, filtrer, masquer ou supprimer les autres colonnes, "
    "ajouter des feuilles ; n'utilisez pas de formules dans les colonnes de codage.",
    "Import : textmine --project DOSSIER themes calibrate --coded CE_FICHIER.xlsx --coder VOTRE_NOM",
]
HELP_PREFILL_FR = ("Lignes pré-remplies (colonne « prefilled », fond jaune) : ces segments ont déjà été codés par la "
                   "personne nommée dans la feuille d'un autre échantillon ; son codage est recopié. Vérifiez-le, "
                   "corrigez-le si besoin ou gardez-le ; importez la feuille sous le même nom de codeur. Ces lignes "
                   "comptent comme codées : gardez-les si vous n'importez qu'une partie de la feuille.")


def prefill_note(coder: str, sample_id: str) -> str:
    """The ``prefilled`` cell of a row pre-filled with ``coder``'s code through ``sample_id``'s sheet
    (read back by :func:`prefilled_by`)."""
    return f"pré-rempli : codes de {coder} (échantillon {sample_id}), à vérifier ou garder"


def prefilled_by(cell: str) -> tuple[str, str] | None:
    """``(coder, sample)`` named by a ``prefilled`` cell, or None (empty, or edited beyond recognition)."""
    m = _PREFILL_RE.search(cell or "")
    return (m.group(1), m.group(2)) if m else None


@dataclass
class Sheet:
    rows: pd.DataFrame                  # every column as found (strings) + "_where"
    theme_columns: dict[str, str]       # theme id -> column name in the sheet
    meta: dict[str, str] = field(default_factory=dict)   # project_id, sample_id ... (XLSX, QDPX)
    kind: str = "csv"
    title: str = ""                     # XLSX: the coding sheet's name
    letters: dict[str, str] = field(default_factory=dict)  # XLSX: column name -> column letter

    def at(self, where: str, column: str) -> str:
        """A cell for messages: ``codage!M12`` (XLSX) or ``line 12, column 'precarite'`` (CSV)."""
        if self.kind == "xlsx" and column in self.letters:
            return f"{self.title}!{self.letters[column]}{where.rsplit(' ', 1)[-1]}"
        return f"{where}, column {column!r}"


# ---------------------------------------------------------------------------- writing
def write_sheet(path: str | Path, rows: pd.DataFrame, codebook: Codebook, meta: dict[str, Any], *,
                store=None, reveal: bool = False) -> Path:
    """Write a sample's coding sheet (format from the extension: .xlsx, .csv or .qdpx)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        return atomic_write(path, lambda tmp: to_csv(rows[_columns(rows)], tmp, bom=True))
    if ext == ".xlsx":
        return atomic_write(path, lambda tmp: _write_xlsx(tmp, rows, codebook, meta))
    if ext == ".qdpx":
        desc = f"{QDPX_PREFIX}{meta['sample_id']}; project {meta.get('project_id')}" + ("; revealed" if reveal else "")
        return write_qdpx(store, path, reveal, segment_ids=set(rows["segment_id"]), codings=False,
                          name=f"{QDPX_PREFIX}{meta['sample_id']}", description=desc)
    raise TextmineError(E.E604, path=path, detail=f"{ext or '(none)'}; valid: .xlsx, .csv, .qdpx")


def _columns(rows: pd.DataFrame) -> list[str]:
    """The sheet's columns: the contract, plus ``prefilled`` when some row is pre-filled."""
    pre = PREFILL_COLUMN in rows.columns and rows[PREFILL_COLUMN].fillna("").astype(str).ne("").any()
    return SHEET_COLUMNS + ([PREFILL_COLUMN] if pre else [])


def _write_xlsx(path: Path, rows: pd.DataFrame, codebook: Codebook, meta: dict[str, Any]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    columns = _columns(rows)
    pre = PREFILL_COLUMN in columns
    header = columns + codebook.ids
    append_row(ws, header)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    shaded = set()
    for k, r in enumerate(rows[columns].to_dict(orient="records")):   # a text never becomes a formula
        flags: list[Any] = [None] * len(codebook.ids)
        if pre and r[PREFILL_COLUMN]:      # a pre-filled code goes in the theme columns (1/0), `themes` left empty
            have = set(str(r["themes"] or "").split(";"))
            flags = [1 if t in have else 0 for t in codebook.ids]
            r = {**r, "themes": ""}
            shaded.add(k + 2)
        append_row(ws, [None if r[c] == "" else r[c] for c in columns] + flags)
    last = len(rows) + 1
    yellow = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
    for row in ws.iter_rows(min_row=2, max_row=last):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.row in shaded:
                cell.fill = yellow
    for j, name in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(j)].width = WIDTHS.get(name, 11)
    col = {name: get_column_letter(j) for j, name in enumerate(header, 1)}
    post = DataValidation(type="list", formula1='"' + ",".join(POSTURE_LABELS) + '"', allow_blank=True,
                          showErrorMessage=True, errorTitle="posture",
                          error="faire_avec, faire_a_la_place, mixte ou vide")
    yes = DataValidation(type="list", formula1='"1,0"', allow_blank=True, showErrorMessage=True,
                         errorTitle="thème", error="1 (présent), 0 ou vide (absent)")
    ws.add_data_validation(post)
    ws.add_data_validation(yes)
    if last >= 2:
        post.add(f"{col['posture']}2:{col['posture']}{last}")
        yes.add(f"{col[codebook.ids[0]]}2:{col[codebook.ids[-1]]}{last}")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last}"
    help_ws = wb.create_sheet(HELP_NAME)
    for line in HELP_FR + ([HELP_PREFILL_FR] if pre else []):
        append_row(help_ws, [line])
    help_ws.append([])
    append_row(help_ws, ["thème (id)", "libellé", "définition", "inclure", "exclure"])
    for c in help_ws[help_ws.max_row]:
        c.font = Font(bold=True)
    for th in codebook.themes:
        append_row(help_ws, [th.id, th.label, th.definition, "\n".join(th.include), "\n".join(th.exclude)])
        for sid, sub in th.sublabels.items():
            append_row(help_ws, [f"  posture = {sid}", sub.label, sub.definition, "", ""])
    for j, w in enumerate((34, 30, 70, 50, 50), 1):
        help_ws.column_dimensions[get_column_letter(j)].width = w
    for row in help_ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    meta_ws = wb.create_sheet(META_NAME)
    for k in ("project_id", "sample_id", "unit", "codebook_hash", "created"):
        append_row(meta_ws, [k, xlsx_value(meta.get(k))])
    meta_ws.sheet_state = "hidden"
    wb.save(path)


# ---------------------------------------------------------------------------- reading
def _norm_header(h: Any) -> str:
    return "" if h is None else str(h).strip().lower()


def _value(v: Any) -> str:
    """A cell as the text a person reads in it: 1.0 -> "1", True -> "true", None -> ""."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _theme_columns(header: list[str], codebook: Codebook) -> dict[str, str]:
    ids = {t.lower(): t for t in codebook.ids}
    return {ids[h]: h for h in header if h in ids}


def read_sheet(path: str | Path, codebook: Codebook) -> Sheet:
    """Read a coding sheet (.csv or .xlsx); E408 for an unreadable file or a missing key column."""
    path = Path(path)
    if not path.is_file():
        raise TextmineError(E.E408, path=path, detail="file not found")
    if path.stat().st_size > MAX_BYTES:
        raise TextmineError(E.E408, path=path, detail=f"file larger than {MAX_BYTES // 2**20} MB")
    ext = path.suffix.lower()
    used = {"segment_id", "themes", "posture", *(t.lower() for t in codebook.ids)}
    if ext == ".csv":
        sheet = _read_csv(path)
    elif ext in (".xlsx", ".xlsm"):
        sheet = _read_xlsx(path, used)
    else:
        raise TextmineError(E.E408, path=path, detail=f"{ext or '(no extension)'}: give a .csv, .xlsx or .qdpx file")
    header = list(sheet.rows.columns)
    if "segment_id" not in header:
        raise TextmineError(E.E408, path=path, line=1,
                            detail=f"no `segment_id` column (found: {', '.join(h for h in header if h != '_where')})",
                            fix="Keep the segment_id column of the sheet textmine wrote; it identifies each segment.")
    sheet.theme_columns = _theme_columns(header, codebook)
    if "themes" not in header and not sheet.theme_columns:
        raise TextmineError(E.E408, path=path, line=1, detail="neither a `themes` column nor one column per theme id",
                            fix="Keep the `themes` column (ids separated by ';') or the theme columns (1/0).")
    if len(sheet.rows) > MAX_ROWS:
        raise TextmineError(E.E408, path=path, detail=f"more than {MAX_ROWS} rows")
    return sheet


def _decode(raw: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise TextmineError(E.E408, path=path, detail="cannot decode the file (save it as UTF-8 CSV)")


def _read_csv(path: Path) -> Sheet:
    text = _decode(path.read_bytes(), path)
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise TextmineError(E.E408, path=path, line=1, detail="the file is empty")
    delim = max((",", ";", "\t"), key=first.count)    # Excel in French saves CSV with ';'
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header = [_norm_header(h) for h in next(reader)]
    rows, start = [], reader.line_num + 1
    for rec in reader:
        if any(x.strip() for x in rec):
            rec = rec + [""] * (len(header) - len(rec))
            row = {h: _value(from_csv_cell(v)) for h, v in zip(header, rec) if h}
            row["_where"] = f"line {start}"
            rows.append(row)
        start = reader.line_num + 1
    return Sheet(pd.DataFrame(rows, columns=[h for h in dict.fromkeys(header) if h] + ["_where"]), {}, {}, "csv")


def _read_xlsx(path: Path, used: set[str]) -> Sheet:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    try:
        wb = load_workbook(path, data_only=False)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise TextmineError(E.E408, path=path, detail=f"not a readable .xlsx ({exc})") from exc
    meta: dict[str, str] = {}
    target = None
    for ws in wb.worksheets:
        if ws.title == META_NAME:
            for r in ws.iter_rows(values_only=True):
                if r and r[0] is not None:
                    meta[str(r[0]).strip()] = _value(r[1] if len(r) > 1 else None)
            continue
        if target is None:
            first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
            if "segment_id" in [_norm_header(h) for h in first]:
                target = ws
    if target is None:
        raise TextmineError(E.E408, path=path, line=1, detail="no sheet has a `segment_id` column in its first row",
                            fix="Import the coding sheet textmine wrote (sheet « codage »), with its header row.")
    header = [_norm_header(c.value) for c in target[1]]
    rows = []
    for cells in target.iter_rows(min_row=2):
        vals = {}
        for h, c in zip(header, cells):
            if not h:
                continue
            if c.data_type == "f" and h in used:
                raise TextmineError(E.E408, path=path, detail=f"cell {target.title}!{c.coordinate} holds a formula "
                                                              f"({c.value}): its value is not stored in the file",
                                    fix="Type the value itself in that cell (copy, then paste as values).")
            vals[h] = _value(c.value)
        if any(v for v in vals.values()):
            vals["_where"] = f"{target.title}!row {cells[0].row}"
            rows.append(vals)
    cols = [h for h in dict.fromkeys(header) if h] + ["_where"]
    letters = {h: c.column_letter for h, c in zip(header, target[1]) if h}
    return Sheet(pd.DataFrame(rows, columns=cols), {}, meta, "xlsx", target.title, letters)
