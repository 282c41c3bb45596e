"""Quote bank writer: XLSX that reads on screen and prints.

Sheet 1 (``citations``/``quotes``) holds what a reader needs: reference, theme, wave, role,
the quote, its attribution with the speaker's pseudonym, and the source (plus the
interviewer's question when asked for). Cells wrap, each row is as tall as its longest
cell, and the print setup is landscape, fitted to the page width, over those columns only,
with the header row repeated on every page and page numbers in the footer. Sheet 2
(``technique``/``technical``) has the technical columns (ids, scores, offsets) keyed by the
quote reference; sheet 3 the provenance. Both also print one page wide. Every text cell is
written as text (:func:`textmine.export.cells.append_row`): a quote or a wave label starting with
``=`` never becomes a formula, on any sheet.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from ..i18n import QUOTE_BANK, strings
from .cells import append_row, xlsx_value
from .quote_model import QUOTE_COLUMNS, attributed

#: readable columns of the first sheet (``question`` only when some quote has one)
MAIN = ["quote_id", "theme_label", "wave", "role_label", "question", "quote", "attribution", "source"]
WIDTHS = {"quote_id": 11, "theme_label": 22, "wave": 8, "role_label": 15, "question": 30, "quote": 70,
          "attribution": 30, "source": 20}
FONT_PT = 10
LINE_PT = 13.0            # height of one wrapped line at FONT_PT
PAPER = {"A4": 9, "letter": 1}


def n_lines(text, width: float) -> int:
    """Lines a wrapped cell of ``width`` characters needs (a slight over-estimate: a row cut
    short hides text, a row a little too tall does not)."""
    if text is None or str(text) == "":
        return 1
    per_line = max(4, int(width * 1.1))      # a 10 pt font fits about 1.25 characters per width unit
    return sum(max(1, len(textwrap.wrap(part, per_line))) for part in str(text).split("\n"))


def row_height(values: list, widths: list[float]) -> float:
    return min(409.0, max(n_lines(v, w) for v, w in zip(values, widths)) * LINE_PT + 4)


def write_xlsx(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr",
               page_size: str = "A4") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    heads = strings(QUOTE_BANK, language)["headers"]
    names = strings(QUOTE_BANK, language)["sheets"]
    has_q = "question" in df.columns and df["question"].fillna("").astype(str).str.strip().ne("").any()
    main = [c for c in MAIN if c != "question" or has_q]
    wb = Workbook()
    ws = wb.active
    ws.title = names[0]
    append_row(ws, [heads[c] for c in main])
    widths = [WIDTHS[c] for c in main]
    body, wrap = Font(size=FONT_PT), Alignment(wrap_text=True, vertical="top")
    for c in ws[1]:
        c.font, c.alignment = Font(bold=True, size=FONT_PT), wrap
        c.fill = PatternFill("solid", fgColor="DDDDDD")
    for r in df.reindex(columns=QUOTE_COLUMNS).itertuples(index=False):
        values = [attributed(r) if c == "attribution" else xlsx_value(getattr(r, c)) for c in main]
        append_row(ws, values)
        ws.row_dimensions[ws.max_row].height = row_height(values, widths)
        for cell in ws[ws.max_row]:
            cell.font, cell.alignment = body, wrap
    last = get_column_letter(len(main))
    for j, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}{max(1, len(df) + 1)}"
    _print_setup(ws, len(main), len(df) + 1, page_size)
    # technical columns, keyed by the quote reference
    tech_cols = ["quote_id"] + [c for c in QUOTE_COLUMNS if c not in main]
    tech = wb.create_sheet(names[1])
    append_row(tech, tech_cols)
    for c in tech[1]:
        c.font = Font(bold=True)
    for row in df.reindex(columns=tech_cols).itertuples(index=False):
        append_row(tech, row)
    for j, name in enumerate(tech_cols, 1):
        tech.column_dimensions[get_column_letter(j)].width = 40 if name == "citation" else 16
    tech.freeze_panes = "B2"
    tech.auto_filter.ref = f"A1:{get_column_letter(len(tech_cols))}{max(1, len(df) + 1)}"
    _print_setup(tech, len(tech_cols), len(df) + 1, page_size)
    meta = wb.create_sheet(names[2])
    append_row(meta, ["key", "value"])
    for k, v in prov:
        append_row(meta, [k, v])
    meta.column_dimensions["A"].width = 20
    meta.column_dimensions["B"].width = 60
    _print_setup(meta, 2, len(prov) + 1, page_size, landscape=False)
    wb.save(path)


def _print_setup(ws, n_cols: int, n_rows: int, page_size: str, landscape: bool = True) -> None:
    """Print over the sheet's columns only, one page wide (as many pages down as needed), the
    header row repeated on every page, page numbers in the footer."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.page import PageMargins
    ws.print_area = f"A1:{get_column_letter(n_cols)}{max(1, n_rows)}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = PAPER.get(page_size, PAPER["A4"])
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "&P / &N"


def write_table_xlsx(df: pd.DataFrame, path: Path, *, sheet: str, widths: dict[str, int] | None = None,
                     wrap: tuple[str, ...] = (), prov: list[tuple[str, str]] | None = None,
                     page_size: str = "A4") -> None:
    """Any table as one sheet that prints like the quote bank (bold frozen header, autofilter,
    wrapped columns in rows as tall as their text, text never read as a formula, landscape one
    page wide), plus a ``provenance`` sheet when ``prov`` is given. Used for concordances."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    table = book.active
    table.title = sheet
    names = [str(c) for c in df.columns]
    sizes = [(widths or {}).get(n, 16) for n in names]
    append_row(table, names)
    for rec in df.itertuples(index=False):
        append_row(table, rec)              # text never read as a formula
        if wrap:
            table.row_dimensions[table.max_row].height = row_height(
                [v if n in wrap else None for n, v in zip(names, rec)], sizes)
    for idx, (name, size) in enumerate(zip(names, sizes), start=1):
        letter = get_column_letter(idx)
        table[f"{letter}1"].font = Font(bold=True)
        table.column_dimensions[letter].width = size
        for c in table[letter][1:] if name in wrap else ():
            c.alignment = Alignment(wrap_text=True, vertical="top")
    table.freeze_panes = "A2"
    table.auto_filter.ref = f"A1:{get_column_letter(max(1, len(names)))}{len(df) + 1}"
    _print_setup(table, len(names), len(df) + 1, page_size)
    if prov:
        extra = book.create_sheet("provenance")
        for pair in [("key", "value"), *prov]:
            append_row(extra, pair)
    book.save(path)
