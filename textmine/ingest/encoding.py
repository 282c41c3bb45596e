"""Reading transcript bytes and decoding text files deterministically.

Rule (same bytes -> same result): a BOM decides (UTF-8, UTF-16, UTF-32); otherwise valid
UTF-8 wins; otherwise cp1252; otherwise the best charset-normalizer guess; otherwise E104.
NUL bytes without a UTF-16/32 BOM, or a known binary signature, mean "binary" (E103).
Line endings are normalised to ``\\n`` (CRLF and lone CR).
"""
from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import E, TextmineError

_BOMS = [  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_SIGNATURES = {
    b"%PDF": "a PDF document", b"PK\x03\x04": "a zip archive (.docx/.odt/.xlsx?)",
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old Office document (.doc/.xls)", b"{\\rtf": "an RTF document",
    b"ID3": "an MP3 file", b"RIFF": "a RIFF (WAV/AVI) file", b"OggS": "an Ogg file",
    b"\x1f\x8b": "a gzip archive", b"\x7fELF": "an executable",
}
MAX_BYTES = 200 * 1024 * 1024


def read_bytes(path: str | Path) -> bytes:
    """Read a file, raising E101 (missing/unreadable) or E102 (empty)."""
    p = Path(path)
    if not p.exists():
        raise TextmineError(E.E101, path=p, detail=f"{p} does not exist")
    if not p.is_file():
        raise TextmineError(E.E101, path=p, detail=f"{p} is not a file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise TextmineError(E.E101, path=p, detail=f"{size} bytes is more than the {MAX_BYTES} bytes limit")
        data = p.read_bytes()
    except OSError as exc:
        raise TextmineError(E.E101, path=p, detail=str(exc)) from exc
    if not data.strip(b" \t\r\n\xef\xbb\xbf\xff\xfe"):
        raise TextmineError(E.E102, path=p, detail="the file has no content")
    return data


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def sniff_binary(data: bytes, path: str | Path) -> None:
    """Raise E103 when the bytes are clearly not text (signature or NUL bytes without BOM)."""
    for sig, what in _SIGNATURES.items():
        if data.startswith(sig):
            raise TextmineError(E.E103, path=path, detail=f"it starts like {what}")
    if any(data.startswith(b) for b, _ in _BOMS if b != codecs.BOM_UTF8):
        return
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextmineError(E.E103, path=path, line=_line_of(data, nul),
                            detail=f"NUL byte at offset {nul}")
    head = data[:8192]
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if ctrl > max(8, len(head) // 20):
        raise TextmineError(E.E103, path=path, detail=f"{ctrl} control bytes in the first {len(head)} bytes")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, path: str | Path) -> tuple[str, str]:
    """Decode transcript bytes -> (text with ``\\n`` newlines and no BOM, encoding name)."""
    sniff_binary(data, path)
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                name = enc.replace("-sig", "").upper()
                raise TextmineError(E.E104, path=path, line=_line_of(data, exc.start),
                                    detail=f"the file starts with a {name} byte-order mark but byte "
                                           f"{exc.start} is not valid {name}") from exc
            text = text.lstrip("\ufeff")
            return normalise_newlines(text), enc.replace("-sig", "-bom") if enc == "utf-8-sig" else enc
    try:
        return normalise_newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return normalise_newlines(data.decode("cp1252")), "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only for the rare non-UTF-8, non-cp1252 file
    best = from_bytes(data).best()
    if best is None:
        raise TextmineError(E.E104, path=path, detail="not UTF-8, not cp1252, and no other encoding fits")
    return normalise_newlines(str(best)), best.encoding
