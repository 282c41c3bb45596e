"""The quote banks as a team prints them: LibreOffice converts the XLSX and DOCX to PDF, and
every quote must be there, whole, on landscape (XLSX) or portrait (DOCX) A4 pages.

Needs Debian's LibreOffice (``libreoffice-calc-nogui``, ``libreoffice-writer-nogui``) and
``pdftotext`` (``poppler-utils``): ``.ci/run`` installs them; elsewhere the tests are skipped.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from test_exchange import _quotes
from textmine.export.quotes import write_quotes

pytestmark = [pytest.mark.office, pytest.mark.slow]


def _tool(*names: str, package: str) -> str:
    for name in names:
        exe = shutil.which(name)
        if exe:
            return exe
    if os.environ.get("CI"):
        pytest.fail(f"{names[0]} is required in CI (apt-get install {package})")
    pytest.skip(f"{names[0]} not installed (apt-get install {package})")


def _to_pdf(src: Path, tmp: Path) -> Path:
    soffice = _tool("soffice", "libreoffice", package="libreoffice-calc-nogui libreoffice-writer-nogui")
    out = tmp / "pdf"
    res = subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}",
                          "--convert-to", "pdf", "--outdir", str(out), str(src)],
                         capture_output=True, text=True, timeout=240)
    pdf = out / f"{src.stem}.pdf"
    assert res.returncode == 0 and pdf.exists(), res.stdout + res.stderr
    return pdf


def _info(pdf: Path) -> tuple[int, float, float]:
    exe = _tool("pdfinfo", package="poppler-utils")
    text = subprocess.run([exe, str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", text).group(1))
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", text).groups())
    return pages, w, h


def _flat(text: str) -> str:
    """Text without spaces and hyphens: line breaks (and the hyphens they split) do not count."""
    return re.sub(r"[\s\-\u2010\u00ad]+", "", text)


def _words(pdf: Path) -> list[list[tuple[float, float, str]]]:
    """Per page, ``(x, y, word)`` of every word (pdftotext -bbox)."""
    exe = _tool("pdftotext", package="poppler-utils")
    xml = subprocess.run([exe, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in re.findall(r"<page [^>]*>(.*?)</page>", xml, flags=re.S):
        pages.append([(float(x), float(y), unescape(w)) for x, y, w in
                      re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>(.*?)</word>', page)])
    return pages


def _column(words: list[tuple[float, float, str]], head: str, next_head: str) -> str | None:
    """The text printed under the header ``head`` (up to the column ``next_head``), in reading
    order; None when the page does not show that header row."""
    try:
        hx, hy = next((x, y) for x, y, w in words if w == head)
        nx = next(x for x, y, w in words if w == next_head and abs(y - hy) < 2)
    except StopIteration:
        return None
    cell = [(round(y, 0), x, w) for x, y, w in words if hx - 2 <= x < nx - 2 and y > hy + 2]
    return " ".join(w for _, _, w in sorted(cell))


def test_xlsx_quote_bank_prints_whole(tmp_path):
    df = _quotes(30)
    pdf = _to_pdf(write_quotes(df, tmp_path / "banque.xlsx", "xlsx"), tmp_path)
    n_pages, w, h = _info(pdf)
    assert (round(w), round(h)) == (842, 595)                         # A4 landscape
    pages = _words(pdf)
    quote_cols = [_column(p, "Citation", "Attribution") for p in pages]
    sheet1 = [c for c in quote_cols if c is not None]                 # pages of the quotes sheet
    # one page wide: every page of the sheet repeats the header and shows all its columns
    assert len(sheet1) <= math.ceil(len(df) / 6), len(sheet1)
    assert all(_column(p, "Attribution", "Source") for p, c in zip(pages, quote_cols) if c is not None)
    printed = _flat(" ".join(sheet1))
    missing = [q for q in df["quote"] if _flat(q) not in printed]
    assert not missing, missing[:2]                                   # no cell cut short
    attributions = _flat(" ".join(_column(p, "Attribution", "Source") or "" for p in pages))
    assert attributions.count(_flat("CONUM1 (Conum, association, territoire A, vague 2023)")) == len(df)
    assert n_pages == len(sheet1) + 2                                 # + technical sheet + provenance, one page each


def test_docx_quote_bank_prints_whole(tmp_path):
    df = _quotes(30)
    pdf = _to_pdf(write_quotes(df, tmp_path / "banque.docx", "docx"), tmp_path)
    n_pages, w, h = _info(pdf)
    assert (round(w), round(h)) == (595, 842) and 2 <= n_pages <= 12  # A4 portrait
    pages = [" ".join(w for _, _, w in p) for p in _words(pdf)]
    text = _flat(" ".join(pages))
    missing = [q for q in df["quote"] if _flat(f"« {q} »") not in text]
    assert not missing, missing[:2]
    assert text.count(_flat("CONUM1 (Conum, association, territoire A, vague 2023)")) == len(df)
    # the table of contents is filled on the first page
    first = _flat(pages[0])
    assert _flat("Sommaire Financement Vague 2023 Précarité de l'emploi des conseillers numériques") in first
