"""Defensive reading of zip containers (.docx, .odt) and of the XML inside them.

Before anything is decompressed, the central directory is checked: member count, declared
uncompressed sizes (per member and in total) and compression ratio. ``zipfile`` never
inflates past a member's declared size, so these checks bound the memory used. A truncated
or corrupt archive is E107; XML is parsed with defusedxml only (DTD entities and external
references are E106, syntax errors E105 with the parser's line number).
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import Element

from ..errors import E, TextmineError
from .xmlparse import has_doctype, safe_parse

MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200          # uncompressed / compressed, checked for members above RATIO_MIN_BYTES
RATIO_MIN_BYTES = 1024 * 1024


class SafeZip:
    """A checked, read-only zip archive held in memory."""

    def __init__(self, data: bytes, path: str | Path) -> None:
        self.path = path
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise TextmineError(E.E107, path=path, detail=f"not a readable zip archive ({exc}); "
                                                          "the file may be truncated") from exc
        if len(infos) > MAX_MEMBERS:
            raise TextmineError(E.E107, path=path, detail=f"{len(infos)} members (limit {MAX_MEMBERS})")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES:
                raise TextmineError(E.E107, path=path, detail=f"member {info.filename} declares "
                                                              f"{info.file_size} bytes (limit {MAX_MEMBER_BYTES})")
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise TextmineError(E.E107, path=path, detail=f"member {info.filename} has compression ratio "
                                                              f"{info.file_size // max(info.compress_size, 1)} "
                                                              f"(limit {MAX_RATIO}): zip bomb?")
        if total > MAX_TOTAL_BYTES:
            raise TextmineError(E.E107, path=path, detail=f"archive declares {total} uncompressed bytes "
                                                          f"(limit {MAX_TOTAL_BYTES})")
        self.names = {i.filename for i in infos}

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise TextmineError(E.E110, path=self.path, detail=f"the archive has no {name} part")
        try:
            return self.zf.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise TextmineError(E.E107, path=self.path, detail=f"cannot decompress {name} ({exc})") from exc


    def check_xml_parts(self) -> None:
        """E106 when any XML part of the package (styles, settings, relationships...) declares a
        DOCTYPE or an ENTITY: only the main part is parsed by textmine, the others by
        python-docx, and none has a reason to carry one."""
        for name in sorted(self.names):
            if name.lower().endswith((".xml", ".rels")) and has_doctype(self.read(name)):
                raise TextmineError(E.E106, path=self.path, detail=f"{name} declares a DOCTYPE or ENTITY")


def parse_xml(data: bytes, path: str | Path, part: str | None = None) -> Element:
    """Parse XML bytes with defusedxml (no DTD entities, no external references), bounded in depth."""
    return safe_parse(data, path, where=f" in {part}" if part else "")
