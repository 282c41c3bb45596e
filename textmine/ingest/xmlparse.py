"""defusedxml parsing with source line numbers (for XML transcripts such as .trs)."""
from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ..errors import E, TextmineError

LINE_ATTR = "{textmine}line"
_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class _LineBuilder(TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.parser = None

    def start(self, tag, attrs):  # type: ignore[override]
        el = super().start(tag, attrs)
        if self.parser is not None:
            el.set(LINE_ATTR, str(self.parser.parser.CurrentLineNumber))
        return el


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
    target = _LineBuilder()
    parser = DET.XMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    target.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise TextmineError(E.E106, path=path, detail=f"{type(exc).__name__}: {exc}") from exc
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise TextmineError(E.E105, path=path, line=line, detail=str(exc)) from exc
    return root, enc
