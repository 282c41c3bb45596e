"""Transcript ingestion: every supported format -> :class:`textmine.records.Transcript`.

``parse_file(path)`` dispatches on the extension (see :data:`FORMATS`); ``read_metadata``
and ``match_metadata`` read a wave's metadata sheet; ``count_words`` (:func:`textmine.french.count_words`)
is the one word-count definition of source texts (so "no word lost" can be checked end to end).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import E, TextmineError
from ..french import count_words
from ..records import Transcript
from .metadata import match_metadata, read_metadata
from .office import parse_docx, parse_odt
from .subtitles import parse_subtitles
from .tabular import parse_csv
from .text import parse_text
from .textgrid import parse_textgrid
from .transcriber import parse_trs

#: extension (lower case) -> parser
FORMATS: dict[str, Callable[[str | Path], Transcript]] = {
    ".txt": parse_text, ".md": parse_text, ".docx": parse_docx, ".odt": parse_odt, ".trs": parse_trs,
    ".textgrid": parse_textgrid, ".srt": parse_subtitles, ".vtt": parse_subtitles, ".csv": parse_csv,
}


#: largest transcript accepted: 10 MiB of text (about 1.6 million words, some 150 hours of
#: speech; an interview is 50-300 KiB). Ingesting that much takes minutes (spaCy sentence
#: splitting and NER, ``benchmarks/large_transcript.py``); a larger file is refused (E120)
#: before it is read: split it into interviews.
MAX_TEXT_BYTES = 10 * 2**20
_CONTAINERS = {".docx", ".odt"}     # zipped XML: bounded by SafeZip, their text is checked after parsing


def parse_file(path: str | Path) -> Transcript:
    """Parse one transcript file; raises :class:`TextmineError` (E101-E110, E120) on bad input."""
    p = Path(path)
    parser = FORMATS.get(p.suffix.lower())
    if not p.is_file():
        raise TextmineError(E.E101, path=p, detail=f"{p} does not exist" if not p.exists() else f"{p} is not a file")
    if parser is None:
        raise TextmineError(E.E108, path=p, detail=f"extension {p.suffix or '(none)'!r} "
                                                   f"(supported: {', '.join(sorted(FORMATS))})")
    if p.suffix.lower() not in _CONTAINERS and p.stat().st_size > MAX_TEXT_BYTES:
        raise _too_large(p, p.stat().st_size, "bytes")
    return bounded(parser(path), p)


def bounded(tr: Transcript, path: str | Path, line: int | None = None) -> Transcript:
    """``tr`` when its speech is within :data:`MAX_TEXT_BYTES` characters, else E120 (``line``:
    where the interview starts in a file that holds several, e.g. an IRaMuTeQ corpus)."""
    chars = sum(len(t.text) for t in tr.turns)
    if chars > MAX_TEXT_BYTES:
        raise _too_large(Path(path), chars, "characters of speech", line)
    return tr


def _too_large(p: Path, n: int, unit: str, line: int | None = None) -> TextmineError:
    return TextmineError(E.E120, path=p, line=line, detail=f"{n / 2**20:.1f} Mi {unit}, above the limit of "
                                                          f"{MAX_TEXT_BYTES // 2**20} Mi for one transcript")


__all__ = ["FORMATS", "MAX_TEXT_BYTES", "bounded", "parse_file", "read_metadata", "match_metadata", "count_words"]
