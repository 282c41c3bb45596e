"""Quote bank writer: XLSX (one row per quote, autofilter, frozen header, provenance sheet)."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

WIDTHS = {"quote": 80, "citation": 90, "question": 40, "attribution": 40, "theme_label": 30, "source": 24}


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def _as_text(ws) -> None:
    """Cells whose text starts with '=' stay text: a quote never becomes a formula."""
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def write_xlsx(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from .quotes import QUOTE_COLUMNS
    wb = Workbook()
    ws = wb.active
    ws.title = "citations" if language == "fr" else "quotes"
    ws.append(QUOTE_COLUMNS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in df.reindex(columns=QUOTE_COLUMNS).itertuples(index=False):
        ws.append([_cell(v) for v in row])
    _as_text(ws)
    for j, name in enumerate(QUOTE_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(j)].width = WIDTHS.get(name, 14)
        if name in ("quote", "citation", "question"):
            for cell in ws[get_column_letter(j)][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(QUOTE_COLUMNS))}{max(1, len(df) + 1)}"
    meta = wb.create_sheet("provenance")
    meta.append(["key", "value"])
    for k, v in prov:
        meta.append([k, _cell(v)])
    meta.column_dimensions["A"].width = 20
    meta.column_dimensions["B"].width = 60
    wb.save(path)
