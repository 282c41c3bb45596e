"""Quote bank writer: DOCX (python-docx) with headings, a quote style, a table of contents
field (Word fills it on open / F9) and a provenance appendix."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

QUOTE_STYLE = "Citation textmine"
TEXTS = {"fr": {"title": "Banque de citations", "toc": "Sommaire", "wave": "Vague", "q": "Question",
                "src": "Source", "prov": "Annexe : provenance", "empty": "Aucune citation.",
                "toc_hint": "Clic droit > Mettre à jour les champs pour afficher le sommaire."},
         "en": {"title": "Quote bank", "toc": "Contents", "wave": "Wave", "q": "Question", "src": "Source",
                "prov": "Appendix: provenance", "empty": "No quote.",
                "toc_hint": "Right-click > Update field to show the table of contents."}}


def _add_toc(doc, hint: str) -> None:
    """A real Word TOC field (headings 1-3) — complex field begin/instr/separate/end."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    p = doc.add_paragraph()
    run = p.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = 'TOC \\o "1-3" \\h \\z \\u'
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = hint
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, instr, sep, placeholder, end):
        run._r.append(el)


def _quote_style(doc):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Cm, Pt
    style = doc.styles.add_style(QUOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.font.italic = True
    style.font.size = Pt(11)
    style.paragraph_format.left_indent = Cm(1)
    style.paragraph_format.right_indent = Cm(1)
    style.paragraph_format.space_after = Pt(2)
    return style


def write_docx(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr") -> None:
    from docx import Document
    from docx.shared import Pt, RGBColor

    from .quotes import grouped
    t = TEXTS.get(language, TEXTS["fr"])
    doc = Document()
    doc.core_properties.title = t["title"]
    doc.core_properties.author = "textmine"
    _quote_style(doc)
    doc.add_heading(t["title"], level=0)
    doc.add_paragraph(t["toc"]).runs[0].bold = True
    _add_toc(doc, t["toc_hint"])
    if df.empty:
        doc.add_paragraph(t["empty"])
    for theme_label, waves in grouped(df):
        doc.add_heading(str(theme_label), level=1)
        for wave, roles in waves:
            doc.add_heading(f"{t['wave']} {wave}", level=2)
            for role_label, rows in roles:
                doc.add_heading(str(role_label), level=3)
                for r in rows.itertuples(index=False):
                    if r.question:
                        qp = doc.add_paragraph()
                        qr = qp.add_run(f"{t['q']} : {r.question}")
                        qr.font.size = Pt(9)
                        qr.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
                    doc.add_paragraph(f"« {r.quote} »", style=QUOTE_STYLE)
                    ap = doc.add_paragraph()
                    ap.add_run(str(r.attribution))
                    ref = ap.add_run(f"  [{r.quote_id} · {t['src']} : {r.source}]")
                    ref.font.size = Pt(8)
                    ref.font.color.rgb = RGBColor(0x77, 0x77, 0x77)
    doc.add_page_break()
    doc.add_heading(t["prov"], level=1)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for k, v in prov:
        cells = table.add_row().cells
        cells[0].text = k
        cells[1].text = v
    doc.save(str(path))
