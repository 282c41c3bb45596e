"""Plain text and Markdown transcripts (``.txt``, ``.md``) with line-initial speaker tags."""
from __future__ import annotations

from pathlib import Path

from ..errors import E, TextmineError
from ..french import count_words
from ..records import Transcript
from .encoding import decode_text, read_bytes
from .tags import Unit, split_turns


def lines_to_units(text: str) -> list[Unit]:
    units, pos = [], 0
    for i, line in enumerate(text.split("\n"), start=1):
        units.append(Unit(text=line, line=i, char_start=pos))
        pos += len(line) + 1
    return units


def finish(path: str | Path, fmt: str, encoding: str | None, turns, info: dict, total_words: int,
           extra_attrs: dict | None = None) -> Transcript:
    """Common end of the tag-based parsers: E109 check, empty turns dropped, attrs filled."""
    if not turns:
        raise TextmineError(E.E109, path=path, detail="no line starts with a speaker tag `Label :` "
                                                      f"({len(info['header'])} non-empty lines read)")
    kept = [t for t in turns if t.text.strip()]
    attrs = {"header": "\n".join(info["header"]), "header_lines": len(info["header"]),
             "header_words": info["header_words"], "empty_turns": len(turns) - len(kept),
             "tag_counts": info["tag_counts"]}
    attrs.update(extra_attrs or {})
    src_words = total_words - info["header_words"] - info["tag_words"]
    return Transcript(source_file=str(path), format=fmt, encoding=encoding, turns=kept,
                      source_words=src_words, attrs=attrs)


def parse_text(path: str | Path) -> Transcript:
    data = read_bytes(path)
    text, enc = decode_text(data, path)
    turns, info = split_turns(lines_to_units(text), source=text)
    md = Path(path).suffix.lower() in (".md", ".markdown")
    return finish(path, "txt", enc, turns, info, count_words(text), {"markdown": md} if md else None)
