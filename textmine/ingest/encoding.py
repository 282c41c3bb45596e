"""Reading transcript bytes and decoding text files deterministically.

Rule (same bytes -> same result): a BOM decides (UTF-8, UTF-16, UTF-32); otherwise the NUL
pattern of UTF-16 text without a BOM (every other byte NUL in ASCII-heavy text) decides
UTF-16 LE/BE; otherwise valid UTF-8 wins; a file that mixes valid UTF-8 sequences with bytes
that are not UTF-8 (parts pasted from a cp1252 document) is decoded run by run, UTF-8 where it
is valid and cp1252 elsewhere (``utf-8+cp1252``), instead of turning its UTF-8 into mojibake;
otherwise cp1252; otherwise the best charset-normalizer guess; otherwise E104. Other NUL bytes,
or a known binary signature, mean "binary" (E103). Line endings are normalised to ``\\n``
(CRLF and lone CR). A transcript file above :data:`MAX_BYTES` is refused (E120).
"""
from __future__ import annotations

import codecs
import re
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
#: largest transcript file read (one interview; see README "Errors and safety")
MAX_BYTES = 200 * 1024 * 1024
_UTF8_MULTI = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                         rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                         rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


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
            raise TextmineError(E.E120, path=p, detail=f"{size / 2**20:.1f} MiB, above the {MAX_BYTES // 2**20} MiB "
                                                       "limit of one transcript file")
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
    if any(data.startswith(b) for b, _ in _BOMS if b != codecs.BOM_UTF8) or utf16_without_bom(data):
        return
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextmineError(E.E103, path=path, line=_line_of(data, nul),
                            detail=f"NUL byte at offset {nul}")
    head = data[:8192]
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if ctrl > max(8, len(head) // 20):
        raise TextmineError(E.E103, path=path, detail=f"{ctrl} control bytes in the first {len(head)} bytes")


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the bytes are UTF-16 text without a BOM (in the first
    64 KiB, at least 30 % of the bytes on one parity are NUL and almost none on the other, and
    the whole file decodes), else None."""
    head = data[:65536]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / max(len(odd), 1)
    enc = "utf-16-le" if nul_odd >= 0.3 and nul_even < 0.02 else "utf-16-be" if nul_even >= 0.3 and nul_odd < 0.02 else None
    if enc is None or len(data) % 2:
        return None
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        return None
    ctrl = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\t\n\r\f")
    return enc if ctrl <= max(8, len(text[:8192]) // 20) else None


def _cp1252_run(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: the bytes UTF-8 refused, read as cp1252 (re-raised when cp1252
    does not define them either)."""
    bad = exc.object[exc.start:exc.end]
    try:
        return bad.decode("cp1252"), exc.end
    except UnicodeDecodeError:
        raise UnicodeDecodeError("cp1252", exc.object, exc.start, exc.end, "neither UTF-8 nor cp1252") from None


codecs.register_error("textmine.cp1252", _cp1252_run)


def _mixed(data: bytes, path) -> str:
    """UTF-8 where the bytes are valid UTF-8, cp1252 for the runs that are not (one linear pass);
    E104 (with the line) for a byte neither encoding defines."""
    try:
        return data.decode("utf-8", errors="textmine.cp1252")
    except UnicodeDecodeError as exc:
        raise TextmineError(E.E104, path=path, line=_line_of(data, exc.start),
                            detail=f"byte {exc.start} is neither UTF-8 nor cp1252") from None


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
    enc16 = utf16_without_bom(data)
    if enc16:
        return normalise_newlines(data.decode(enc16)), enc16
    try:
        return normalise_newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTI.search(data):      # UTF-8 text with pasted cp1252 parts: keep both readable
        return normalise_newlines(_mixed(data, path)), "utf-8+cp1252"
    try:
        return normalise_newlines(data.decode("cp1252")), "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only for the rare non-UTF-8, non-cp1252 file
    best = from_bytes(data).best()
    if best is None:
        raise TextmineError(E.E104, path=path, detail="not UTF-8, not cp1252, and no other encoding fits")
    return normalise_newlines(str(best)), best.encoding
