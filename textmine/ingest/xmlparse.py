"""defusedxml parsing, bounded in depth, with source line numbers (XML transcripts such as .trs,
the XML parts of .docx/.odt, REFI-QDA projects).

Every XML textmine reads goes through :func:`safe_parse`: no DTD entities, no external
references (E106), and at most :data:`MAX_XML_DEPTH` nested elements (E105), so that readers
walking the tree cannot be driven into deep recursion. The walks themselves are iterative.
"""
from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ..errors import E, TextmineError

LINE_ATTR = "{textmine}line"
#: deepest element nesting accepted (libxml2's default limit; real documents stay under 40)
MAX_XML_DEPTH = 256
_DOCTYPE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


class XMLDepthError(ValueError):
    pass
_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class _LineBuilder(TreeBuilder):
    """Tree builder that refuses nesting deeper than ``MAX_XML_DEPTH`` and, when ``lines``,
    records each element's start line."""

    def __init__(self, lines: bool = True) -> None:
        super().__init__()
        self.parser = None
        self.lines = lines
        self.depth = 0

    def start(self, tag, attrs):  # type: ignore[override]
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise XMLDepthError(f"elements nested more than {MAX_XML_DEPTH} deep")
        el = super().start(tag, attrs)
        if self.lines and self.parser is not None:
            el.set(LINE_ATTR, str(self.parser.parser.CurrentLineNumber))
        return el

    def end(self, tag):  # type: ignore[override]
        self.depth -= 1
        return super().end(tag)


def has_doctype(data: bytes) -> bool:
    """True when the bytes declare a DOCTYPE or an ENTITY (refused in every XML part)."""
    return _DOCTYPE_RE.search(data) is not None


def safe_parse(data: bytes, path: str | Path, *, lines: bool = False, forbid_dtd: bool = False,
               where: str = "") -> Element:
    """Parse XML bytes with defusedxml within :data:`MAX_XML_DEPTH`; E106 for entities, external
    references (and any DTD when ``forbid_dtd``), E105 for syntax errors and excessive depth."""
    target = _LineBuilder(lines)
    parser = DET.XMLParser(target=target, forbid_dtd=forbid_dtd, forbid_entities=True, forbid_external=True)
    target.parser = parser
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException as exc:
        raise TextmineError(E.E106, path=path, detail=f"{type(exc).__name__}{where}: {exc}") from exc
    except XMLDepthError as exc:
        line = parser.parser.CurrentLineNumber if getattr(parser, "parser", None) else None
        raise TextmineError(E.E105, path=path, line=line, detail=f"{exc}{where}") from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise TextmineError(E.E105, path=path, line=line, detail=f"{exc}{where}") from exc


def declared_encoding(data: bytes) -> str:
    m = _DECL_RE.match(data[:200])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def parse_xml_lines(data: bytes, path: str | Path) -> tuple[Element, str]:
    """Parse XML safely; every element gets its start line in ``LINE_ATTR``.

    Returns (root, declared encoding). A file whose bytes do not match its declared
    encoding is E104 (with the line), unsafe constructs E106, syntax errors E105.
    """
    enc = declared_encoding(data)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data.decode(enc)
        except LookupError as exc:
            raise TextmineError(E.E104, path=path, line=1, detail=f"unknown declared encoding {enc!r}") from exc
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise TextmineError(E.E104, path=path, line=line,
                                detail=f"the XML header declares {enc} but byte {exc.start} is not valid {enc}",
                                fix="Fix the encoding= attribute of the <?xml ...?> header (e.g. ISO-8859-1) "
                                    "or re-save the file in the declared encoding.") from exc
    return safe_parse(data, path, lines=True), enc
