"""Word (``.docx``, python-docx) and OpenDocument (``.odt``, content.xml via defusedxml).

One paragraph per turn starting with a speaker tag (plain or bold runs); other paragraphs
continue the current turn. ``Turn.line`` is the paragraph number (1-based, in document
order; a table row that holds a turn counts as one paragraph). Tables are read only when they hold turns: a row whose first
cell is a short label and second cell the speech, or cells that start with a tag.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

from ..errors import E, TextmineError
from ..french import count_words
from ..records import Transcript
from ..safeio import SafeZip, parse_xml
from .encoding import read_bytes
from .tags import Unit, match_tag, split_turns
from .text import finish


def _table_units(rows: list[list[str]]) -> list[str]:
    """Texts to feed the tag splitter from a table that holds turns; [] for other tables.

    A table holds turns when at least half of its non-empty rows are turns (first cell a
    short label and the speech next to it, or a cell starting with ``Label :``) and one of
    the labels recurs or is a role word (Enquêteur, Conum...). Layout tables such as
    ``Durée | 54 minutes`` are ignored.
    """
    out, labels, n_rows = [], [], 0
    for cells in rows:
        cells = [c.strip() for c in cells]
        nonempty = [c for c in cells if c]
        if not nonempty:
            continue
        n_rows += 1
        tm = match_tag(cells[0] + " : x") if len(cells) >= 2 and cells[0] and ":" not in cells[0] else None
        if tm is not None and any(cells[1:]):
            out.append(f"{cells[0]} : " + " ".join(c for c in cells[1:] if c))
            labels.append(tm)
        elif (tm := match_tag(nonempty[0])) is not None:
            out.extend(nonempty)
            labels.append(tm)
    keys = [tm.key for tm in labels]
    if 2 * len(labels) < n_rows or not (any(tm.strong for tm in labels) or len(set(keys)) < len(keys)):
        return []
    return out


# ------------------------------------------------------------------------------ docx
def _docx_blocks(doc) -> Iterator[str]:
    from docx.table import Table
    for block in doc.iter_inner_content():
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            yield from _table_units(rows)
        else:
            yield _docx_par_text(block)


def _docx_par_text(par) -> str:
    """Paragraph text; a leading bold run without a colon becomes ``Label :``."""
    text = par.text
    runs = [r for r in par.runs if r.text]
    if runs and runs[0].bold and ":" not in text[:80]:
        bold = ""
        for r in runs:
            if not r.bold:
                break
            bold += r.text
        rest = text[len(bold):] if text.startswith(bold) else None
        if rest is not None and bold.strip() and rest.strip() and len(bold.split()) <= 4:
            return f"{bold.strip()} : {rest.strip()}"
    return text


def parse_docx(path: str | Path) -> Transcript:
    data = read_bytes(path)
    z = SafeZip(data, path)
    z.check_xml_parts()                                                 # no DOCTYPE in any part (E106)
    parse_xml(z.read("word/document.xml"), path, "word/document.xml")  # refuses DTD/entities/depth (E106/E105)
    import docx
    try:
        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for broken packages
        raise TextmineError(E.E107, path=path, detail=f"python-docx cannot open it ({type(exc).__name__}: {exc})") from exc
    return _from_paragraphs(path, "docx", list(_docx_blocks(doc)))


def _from_paragraphs(path, fmt: str, paragraphs: list[str]) -> Transcript:
    units = []
    for i, p in enumerate(paragraphs, start=1):
        for k, line in enumerate(p.split("\n")):   # soft line breaks inside a paragraph
            units.append(Unit(text=line, line=i))
    turns, info = split_turns(units)
    total = sum(count_words(p) for p in paragraphs)
    return finish(path, fmt, None, turns, info, total)


# ------------------------------------------------------------------------------- odt
_T = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TAB = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFF = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_SKIP = {_OFF + "annotation", _T + "note", _T + "tracked-changes", _T + "bookmark-ref",
         _T + "sequence-decls", _T + "table-of-content"}


#: most spaces one ``<text:s text:c="n"/>`` expands to (a run of spaces carries no words)
MAX_SPACES = 1000


def _spaces(el) -> str:
    try:
        n = int(el.get(_T + "c", "1") or 1)
    except ValueError:
        n = 1
    return " " * min(max(n, 1), MAX_SPACES)


def _odt_text(root) -> str:
    """Text of a paragraph: its text, each child (iteratively, depth-first) and each child's tail."""
    parts: list[str] = []
    stack: list = []
    for ch in reversed(root):
        stack += [ch.tail or "", ch]
    stack.append(root.text or "")
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif item.tag in _SKIP:
            pass
        elif item.tag == _T + "s":
            parts.append(_spaces(item))
        elif item.tag == _T + "tab":
            parts.append("\t")
        elif item.tag == _T + "line-break":
            parts.append("\n")
        else:
            for ch in reversed(item):
                stack += [ch.tail or "", ch]
            stack.append(item.text or "")
    return "".join(parts)


def _odt_blocks(body) -> Iterator[str]:
    """Paragraphs and turn tables of the body, in document order (iterative walk)."""
    stack = [iter(body)]
    while stack:
        ch = next(stack[-1], None)
        if ch is None:
            stack.pop()
        elif ch.tag in (_T + "p", _T + "h"):
            yield _odt_text(ch)
        elif ch.tag == _TAB + "table":
            rows = []
            for row in ch.iter(_TAB + "table-row"):
                rows.append(["\n".join(_odt_text(p) for p in cell.iter() if p.tag in (_T + "p", _T + "h"))
                             for cell in row if cell.tag == _TAB + "table-cell"])
            yield from _table_units(rows)
        elif ch.tag not in _SKIP:
            stack.append(iter(ch))


def parse_odt(path: str | Path) -> Transcript:
    data = read_bytes(path)
    z = SafeZip(data, path)
    z.check_xml_parts()
    root = parse_xml(z.read("content.xml"), path, "content.xml")
    body = root.find(f"{_OFF}body/{_OFF}text")
    if body is None:
        raise TextmineError(E.E110, path=path, detail="content.xml has no office:body/office:text "
                                                      "(is it a text document, not a spreadsheet?)")
    return _from_paragraphs(path, "odt", list(_odt_blocks(body)))
