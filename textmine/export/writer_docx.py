"""Quote bank writer: DOCX (python-docx) on A4 (or US letter) pages, with headings, a quote
style, a filled table of contents and a provenance appendix.

The table of contents is a Word TOC field whose result is already written: one entry per
theme and wave, each a link to its heading, so every reader (LibreOffice, Word before it
updates fields, a PDF conversion) shows it filled. Word refreshes it on open and adds the
page numbers. Each quote's attribution names the speaker's pseudonym (``CONUM1``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..i18n import QUOTE_BANK, strings
from .quote_model import attributed, grouped

QUOTE_STYLE = "Citation textmine"
TOC_STYLES = ("toc 1", "toc 2")
#: paper sizes and margins in centimetres: (width, height, margin)
PAGE_SIZES = {"A4": (21.0, 29.7, 2.5), "letter": (21.59, 27.94, 2.54)}


def _fld_char(kind: str, dirty: bool = False):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), kind)
    if dirty:
        el.set(qn("w:dirty"), "true")      # Word updates the field (page numbers) when it opens the file
    return el


def _link(paragraph, text: str, anchor: str) -> None:
    """An internal hyperlink to the bookmark ``anchor``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), anchor)
    link.set(qn("w:history"), "1")
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.set(qn("xml:space"), "preserve")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def _bookmark(paragraph, name: str, ident: int) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(ident))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(ident))
    paragraph._p.insert(0, start)
    paragraph._p.append(end)


def _add_toc(doc, entries: list[tuple[int, str, str]]) -> None:
    """A Word TOC field (headings 1-2) whose result is ``entries`` ``(level, text, bookmark)``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    if not entries:
        return
    paras = [doc.add_paragraph(style=TOC_STYLES[min(level, 2) - 1]) for level, _, _ in entries]
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = 'TOC \\o "1-2" \\h \\z \\u'
    for el in (_fld_char("begin", dirty=True), instr, _fld_char("separate")):
        r = OxmlElement("w:r")
        r.append(el)
        paras[0]._p.append(r)
    for p, (_, text, anchor) in zip(paras, entries):
        _link(p, text, anchor)
    end = OxmlElement("w:r")
    end.append(_fld_char("end"))
    paras[-1]._p.append(end)


def _styles(doc) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Cm, Pt
    style = doc.styles.add_style(QUOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.font.italic = True
    style.font.size = Pt(11)
    style.paragraph_format.left_indent = Cm(1)
    style.paragraph_format.right_indent = Cm(1)
    style.paragraph_format.space_after = Pt(2)
    style.paragraph_format.keep_with_next = True     # a quote stays on the page of its attribution
    for level, name in enumerate(TOC_STYLES, 1):
        toc = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        toc.base_style = doc.styles["Normal"]
        toc.paragraph_format.left_indent = Cm(0.6 * (level - 1))
        toc.paragraph_format.space_after = Pt(2 if level > 1 else 4)
        toc.font.bold = level == 1


def _page(doc, page_size: str) -> None:
    from docx.shared import Cm
    width, height, margin = PAGE_SIZES.get(page_size, PAGE_SIZES["A4"])
    for section in doc.sections:
        section.page_width, section.page_height = Cm(width), Cm(height)
        section.left_margin = section.right_margin = Cm(margin)
        section.top_margin = section.bottom_margin = Cm(margin)


def write_docx(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr",
               page_size: str = "A4") -> None:
    from docx import Document
    from docx.shared import Pt, RGBColor

    t = strings(QUOTE_BANK, language)
    doc = Document()
    _page(doc, page_size)
    doc.core_properties.title = t["title"]
    doc.core_properties.author = "textmine"
    _styles(doc)
    doc.add_heading(t["title"], level=0)
    groups = list(grouped(df))
    entries, n = [], 0
    for theme_label, waves in groups:
        n += 1
        entries.append((1, str(theme_label), f"_tm_{n}"))
        for wave, _ in waves:
            n += 1
            entries.append((2, f"{t['wave']} {wave}", f"_tm_{n}"))
    if entries:
        doc.add_paragraph(t["toc"]).runs[0].bold = True
        _add_toc(doc, entries)
    else:
        doc.add_paragraph(t["empty"])
    marks = iter(enumerate(entries, 1))
    for theme_label, waves in groups:
        k, (_, _, anchor) = next(marks)
        _bookmark(doc.add_heading(str(theme_label), level=1), anchor, k)
        for wave, roles in waves:
            k, (_, _, anchor) = next(marks)
            _bookmark(doc.add_heading(f"{t['wave']} {wave}", level=2), anchor, k)
            for role_label, rows in roles:
                doc.add_heading(str(role_label), level=3)
                for r in rows.itertuples(index=False):
                    if r.question:
                        qp = doc.add_paragraph()
                        qr = qp.add_run(f"{t['question']} : {r.question}")
                        qr.font.size = Pt(9)
                        qr.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
                    doc.add_paragraph(f"« {r.quote} »", style=QUOTE_STYLE)
                    ap = doc.add_paragraph()
                    ap.paragraph_format.keep_together = True
                    ap.add_run(attributed(r))
                    ref = ap.add_run(f"  [{r.quote_id} · {t['source']} : {r.source}]")
                    ref.font.size = Pt(8)
                    ref.font.color.rgb = RGBColor(0x77, 0x77, 0x77)
    doc.add_page_break()
    doc.add_heading(t["appendix"], level=1)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for k, v in prov:
        cells = table.add_row().cells
        cells[0].text = k
        cells[1].text = v
    doc.save(str(path))
