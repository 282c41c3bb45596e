"""Write the binary transcripts of the demo corpus (.docx with python-docx, .odt with odfpy).

Each speaker turn is one paragraph: the speaker label in bold, then " : " and the text,
as transcribers usually type them. A first, unlabelled paragraph carries the interview
header (id and date), like real transcription files.

Called by build_corpus.py (which reads the text sources in _build/src/); running this file
directly rebuilds the whole corpus the same way.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

FIXED_TIME = dt.datetime(2023, 7, 10, 12, 0, 0)


def write_docx(path: Path, iid: str, date: str, turns: list[tuple[str, str]]) -> None:
    from docx import Document

    doc = Document()
    head = doc.add_paragraph()
    head.add_run(f"Entretien {iid} – réalisé le {date} – transcription intégrale").italic = True
    for label, text in turns:
        p = doc.add_paragraph()
        p.add_run(label).bold = True
        p.add_run(f" : {text}")
    props = doc.core_properties
    props.author = "équipe d'enquête"
    props.title = f"Entretien {iid}"
    props.created = props.modified = FIXED_TIME
    props.last_modified_by = "équipe d'enquête"
    doc.save(str(path))


def write_odt(path: Path, iid: str, date: str, turns: list[tuple[str, str]]) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.text import P, Span

    doc = OpenDocumentText()
    bold = Style(name="Gras", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    italic = Style(name="Italique", family="text")
    italic.addElement(TextProperties(fontstyle="italic"))
    doc.automaticstyles.addElement(bold)
    doc.automaticstyles.addElement(italic)
    head = P()
    head.addElement(Span(stylename=italic, text=f"Entretien {iid} – réalisé le {date} – transcription intégrale"))
    doc.text.addElement(head)
    for label, text in turns:
        p = P()
        p.addElement(Span(stylename=bold, text=label))
        p.addText(f" : {text}")
        doc.text.addElement(p)
    doc.save(str(path))


if __name__ == "__main__":
    import sys

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import build_corpus

    raise SystemExit(build_corpus.main())
