"""Safe input and output: the atomic write, the bounded zip reader and the safe XML parser.

Every file textmine writes goes through :func:`atomic_write` (a temporary file beside the
destination, then one rename): a failed or interrupted write never leaves a half-written file
and never destroys an earlier good one. The file gets the permissions the user's umask gives
a new file (``0644`` under the usual ``022``), as if it had been written directly;
``private=True`` keeps the temporary file's ``0600`` (run manifests inside the project).

Every zip archive textmine reads (``.docx``, ``.odt``, ``.xlsx`` sheets, ``.qdpx``) goes through
:class:`SafeZip`, with one set of limits checked on the central directory before anything is
inflated: member count, member names (no absolute path, ``..`` or drive letter), declared
uncompressed sizes (per member and in total) and compression ratio; members are read through
a bounded stream, so a lying header cannot exhaust memory. The error code is the caller's
(E107 for a transcript archive, E603 for a REFI-QDA project).

Every XML textmine reads goes through :func:`safe_parse` (defusedxml): no DTD entities, no
external references, no DOCTYPE unless the format needs one (Transcriber ``.trs`` files
declare ``<!DOCTYPE Trans SYSTEM "trans-14.dtd">``: :func:`parse_xml_lines`), E106; at most
:data:`MAX_XML_DEPTH` nested elements (E105), so that readers walking the tree cannot be
driven into deep recursion. The walks themselves are iterative.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from .errors import E, ErrorCode, TextmineError

# ------------------------------------------------------------------ atomic write
def umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s folder; E602 when that folder is missing, is a file,
    is read-only or full, or when ``path`` names a folder."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise TextmineError(E.E602, path=path, detail=f"folder {folder} does not exist")
    if not folder.is_dir():
        raise TextmineError(E.E602, path=path, detail=f"{folder} is a file, not a folder")
    if path.is_dir():
        raise TextmineError(E.E602, path=path, detail=f"{path} is a folder; give a file name")
    try:        # a read-only or full disk fails here, before anything is written
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise TextmineError(E.E602, path=path, detail=str(exc)) from exc
    os.close(fd)
    return Path(tmp)


def check_writable(path: str | Path) -> Path:
    """E602 at once when ``path`` could not be written, so that a command refuses an unwritable
    destination before it spends minutes on the content (nothing is left behind)."""
    path = Path(path)
    _temp_beside(path).unlink()
    return path


def atomic_write(path: str | Path, writer: Callable[[Path], None], *, private: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move ``tmp_path`` onto ``path`` (mode from the umask
    unless ``private``)."""
    path = Path(path)
    tmp_path = _temp_beside(path)
    try:
        writer(tmp_path)
        if not private:
            os.chmod(tmp_path, 0o666 & ~umask())
        os.replace(tmp_path, path)
    except OSError as exc:
        raise TextmineError(E.E602, path=path, detail=str(exc)) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


# ------------------------------------------------------------------ zip archives
#: one set of limits for every archive (the tightest of the former .docx/.odt and .qdpx readers)
MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 100 * 1024 * 1024        # 100 MiB uncompressed per member
MAX_TOTAL_BYTES = 300 * 1024 * 1024         # 300 MiB uncompressed in all
MAX_RATIO = 200                             # uncompressed / compressed, every member


def check_member_name(name: str) -> str:
    """The normalised member name, or ValueError if it could escape the archive."""
    n = name.replace("\\", "/")
    p = PurePosixPath(n)
    if n.startswith("/") or p.is_absolute() or ".." in p.parts or (len(n) > 1 and n[1] == ":"):
        raise ValueError(name)
    return n


class SafeZip:
    """A checked, read-only zip archive: ``with SafeZip(path_or_bytes, path) as z: z.read(name)``.

    ``source`` is the archive's bytes or its path; ``path`` names it in errors (default: the
    source path); ``code`` is the error raised for a refused archive (E107 by default).

    ``readable`` (a test on member names; default: every member) says which members may be read:
    the size, ratio and total limits apply to those, and :meth:`read` refuses the others. A
    REFI-QDA project carries its sources' media (audio, video, PDF) beside the ``.qde`` and the
    plain-text sources textmine reads: their sizes are not textmine's concern."""

    def __init__(self, source: bytes | str | Path, path: str | Path | None = None, *, code: ErrorCode = E.E107,
                 max_members: int = MAX_MEMBERS, max_member: int = MAX_MEMBER_BYTES,
                 max_total: int = MAX_TOTAL_BYTES, max_ratio: float = MAX_RATIO,
                 readable: Callable[[str], bool] | None = None) -> None:
        self.path = path if path is not None else source
        self.code, self.max_member = code, max_member
        self.readable = readable or (lambda name: True)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
            infos = self.zf.infolist()
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise self._refuse(f"not a readable zip archive ({exc}); the file may be truncated") from exc
        try:
            self.names = self._check(infos, max_members, max_total, max_ratio)
        except TextmineError:
            self.zf.close()
            raise

    def _refuse(self, detail: str) -> TextmineError:
        return TextmineError(self.code, path=self.path, detail=detail)

    def _check(self, infos: list[zipfile.ZipInfo], max_members: int, max_total: int,
               max_ratio: float) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > max_members:
            raise self._refuse(f"{len(infos)} members (limit {max_members})")
        names: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            try:
                name = check_member_name(info.filename)
            except ValueError:
                raise self._refuse(f"unsafe member name {info.filename!r} (path traversal)") from None
            names[name] = info
            if not self.readable(name):
                continue
            total += info.file_size
            if info.file_size > self.max_member:
                raise self._refuse(f"member {info.filename} declares {info.file_size} bytes "
                                   f"(limit {self.max_member})")
            if info.file_size > max_ratio * max(info.compress_size, 1):
                raise self._refuse(f"member {info.filename} has compression ratio "
                                   f"{info.file_size // max(info.compress_size, 1)} (limit {max_ratio}): zip bomb?")
        if total > max_total:
            raise self._refuse(f"archive declares {total} uncompressed bytes (limit {max_total})")
        return names

    def find(self, name: str) -> str | None:
        """Member name matching ``name`` case-insensitively (or None)."""
        low = name.lower()
        return next((n for n in self.names if n.lower() == low), None)

    def read(self, name: str) -> bytes:
        """A member's bytes (E110 when the archive has no such part), read through a stream bounded
        by its declared size."""
        info = self.names.get(name)
        if info is None:
            raise TextmineError(E.E110, path=self.path, detail=f"the archive has no {name} part",
                                fix="The file is a zip archive but not a whole document of its type: open it in "
                                    "the program that made it (Word, LibreOffice, your QDA software) and save or "
                                    "export it again.")
        if not self.readable(name):
            raise self._refuse(f"{name}: not a part textmine reads")
        try:
            with self.zf.open(info) as f:
                data = f.read(min(info.file_size, self.max_member) + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise self._refuse(f"cannot decompress {name} ({exc})") from exc
        if len(data) > info.file_size:
            raise self._refuse(f"{name!r}: larger than its header says (zip bomb?)")
        return data

    def check_xml_parts(self) -> None:
        """E106 when any XML part of the package (styles, settings, relationships...) declares a
        DOCTYPE or an ENTITY: only the main part is parsed by textmine, the others by
        python-docx, and none has a reason to carry one."""
        for name in sorted(self.names):
            if name.lower().endswith((".xml", ".rels")) and has_doctype(self.read(name)):
                raise TextmineError(E.E106, path=self.path, detail=f"{name} declares a DOCTYPE or ENTITY")

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------ XML
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


def safe_parse(data: bytes, path: str | Path, *, lines: bool = False, forbid_dtd: bool = True,
               where: str = "") -> Element:
    """Parse XML bytes with defusedxml within :data:`MAX_XML_DEPTH`; E106 for entities, external
    references and any DTD (``forbid_dtd=False`` lets a bare DOCTYPE through: only Transcriber
    files need it), E105 for syntax errors and excessive depth."""
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


def parse_xml(data: bytes, path: str | Path, part: str | None = None) -> Element:
    """:func:`safe_parse` of an archive's XML part (named in errors)."""
    return safe_parse(data, path, where=f" in {part}" if part else "")


def declared_encoding(data: bytes) -> str:
    m = _DECL_RE.match(data[:200])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def parse_xml_lines(data: bytes, path: str | Path) -> tuple[Element, str]:
    """Parse an XML transcript safely; every element gets its start line in ``LINE_ATTR``.

    Returns (root, declared encoding). A file whose bytes do not match its declared
    encoding is E104 (with the line), unsafe constructs E106, syntax errors E105. A bare
    DOCTYPE is accepted (Transcriber's ``<!DOCTYPE Trans SYSTEM "trans-14.dtd">``, never
    fetched); entities and external references are not.
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
    return safe_parse(data, path, lines=True, forbid_dtd=False), enc
