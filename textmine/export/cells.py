"""Spreadsheet-safe cells: the one place every CSV and XLSX writer of textmine goes through.

Excel, LibreOffice and Google Sheets read a cell whose text starts with ``=``, ``+``, ``-``,
``@`` (or a tab or a carriage return) as a formula: a metadata value such as
``=HYPERLINK("http://…"&A2,"clic")`` would run when a researcher opens an export. So:

- CSV (:func:`to_csv`): such a text cell is written with a leading apostrophe (``'=…``), which
  spreadsheets show as text; numbers are untouched. :func:`from_csv_cell` removes that
  apostrophe again when textmine reads its own CSV back (coded files, suggestions).
- XLSX (:func:`append_row`): every text cell is stored as a string, never as a formula, so
  the text stays exactly as it was.
"""
from __future__ import annotations

import csv
import math
from typing import Any, Iterable

import pandas as pd

#: first characters that make a spreadsheet evaluate a cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet evaluates (text starting like a formula gets ``'``)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def from_csv_cell(value: Any) -> Any:
    """Undo :func:`csv_cell` on a cell read back from a CSV textmine wrote."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`csv_cell` applied to every text cell (and column name)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


def to_csv(df: pd.DataFrame, target, *, bom: bool = False, **kw: Any) -> None:
    """Write ``df`` as CSV (a path or a text buffer) with formula-safe cells; ``bom`` adds the
    UTF-8 byte-order mark Excel needs to read accents."""
    kw.setdefault("index", False)
    kw.setdefault("quoting", csv.QUOTE_MINIMAL)
    if not hasattr(target, "write"):
        kw["encoding"] = "utf-8-sig" if bom else "utf-8"
    safe_frame(df).to_csv(target, **kw)


def xlsx_value(value: Any) -> Any:
    """A Python value openpyxl can store: None for NaN/None, plain scalars for numpy ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def append_row(ws, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet, every text cell stored as a string (a value
    starting with ``=`` stays text, never a formula)."""
    ws.append([xlsx_value(v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
