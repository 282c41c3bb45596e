"""Where a keyword of a concordance line is in the transcript: the time and line of the turn's
mark at or before the keyword's own first character.

A segment cites the mark at or before its *first* word (:func:`textmine.segment.provenance`);
in a long timed turn (Transcriber ``<Sync>`` points every few seconds, a subtitle turn of several
cues) a keyword late in the segment was said one or several marks later, up to a minute after the
segment's time. :func:`keyword_sources` gives each keyword occurrence the reference of its own
span, by the same rule (the mark at or before, never interpolated): the keyword's offset in the
shown text (pseudonymised: placeholders replace names) is taken back to the analysis text, then
to the raw transcribed text of the segment (the cleaning's origin map,
:func:`textmine.segment._clean_tracked`), then to the turn text the marks are offsets of.
Where an offset cannot be mapped (the texts do not align, the turn is missing, the segment was
timed by an older rule), the line keeps the segment's own reference.

Only segments that can cite otherwise are mapped: those of a turn with marks inside the segment's
span or with a line break inside it (.txt/.docx turns over several lines). The others (most
segments, every segment of a file without time marks inside turns) keep their reference at no cost.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_right
from typing import Any, Mapping, Sequence

import pandas as pd

from ..attribution import source_ref
from ..pseudonymise_lex import PLACEHOLDER
from ..segment import _clean_tracked, provenance, turn_marks
from ..store import Store


def _opt(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def display_offsets(display: str, text: str) -> list[int] | None:
    """For each character of ``display`` (a segment's shown text), its offset in ``text`` (the
    analysis text): the same text, or ``text`` with names replaced by placeholders (each
    character of a placeholder maps to the start of what it replaces). None when they do not align."""
    if display == text:
        return list(range(len(display)))
    pieces, pos = [], 0           # literal pieces between the placeholders of display
    for m in PLACEHOLDER.finditer(display):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(display)))
    if len(pieces) == 1:
        return None
    out = [0] * len(display)
    at = prev_end = 0             # where in text the current literal piece starts, the previous one ends
    for k, (a, b) in enumerate(pieces):
        lit = display[a:b]
        if k == 0:
            if not text.startswith(lit):
                return None
            at = 0
        elif k == len(pieces) - 1:
            at = len(text) - len(lit)
            if at < prev_end + 1 or not text.endswith(lit):
                return None
        else:
            at = text.find(lit, prev_end + 1)
            if at < 0:
                return None
        if k > 0:                 # the placeholder before this piece stands for text[prev_end:at]
            out[pieces[k - 1][1]:a] = [prev_end] * (a - pieces[k - 1][1])
        out[a:b] = range(at, at + len(lit))
        prev_end = at + len(lit)
    return out


def _raw_offsets(raw: str, at: int, stop: int, text: str) -> list[int] | None:
    """Offset in the turn text ``raw`` of each character of the analysis ``text`` of the segment
    whose raw text is ``raw[at:stop]``: that raw text cleaned alone (the usual case), else the
    turn cleaned whole and the segment's text found in it where it comes from ``raw[at:stop]``.
    None when neither gives it."""
    clean, origin = _clean_tracked(raw[at:stop])
    if clean == text and origin is not None:
        return [at + o for o in origin]
    clean, origin = _clean_tracked(raw)
    pos = clean.find(text) if text and origin is not None else -1
    while pos >= 0:
        if at <= origin[pos] < stop:
            return origin[pos:pos + len(text)]
        pos = clean.find(text, pos + 1)
    return None


_WORD = re.compile(r"\w+")


def _same_word(text: str, x: int, text_raw: str) -> int | None:
    """Offset in ``text_raw`` of the word at ``text[x]`` when the cleaning kept every occurrence
    of it (as many in the raw text as in the analysis text, in the same order: the n-th is the
    n-th), else None. Saves the origin map (the cleaning run again) for most keywords."""
    m = _WORD.match(text, x)
    if m is None or (x > 0 and (text[x - 1].isalnum() or text[x - 1] == "_")):
        return None
    word = re.compile(r"(?<!\w)" + re.escape(m.group()) + r"(?!\w)")
    in_text = [w.start() for w in word.finditer(text)]
    in_raw = [w.start() for w in word.finditer(text_raw)]
    if len(in_text) != len(in_raw) or x not in in_text:
        return None
    return in_raw[in_text.index(x)]


def _same(a: Any, b: Any) -> bool:
    a, b = _opt(a), _opt(b)
    if a is None or b is None:
        return a is None and b is None
    return float(a) == float(b)


def _turns(store: Store, rows: list[Mapping[str, Any]], need: list[int]) -> dict[int, tuple]:
    """Turn ``(text, start, line, marks)`` of the rows ``need`` whose turn has marks or whose raw
    text spans several lines."""
    if not need:
        return {}
    keys = pd.DataFrame({"i": need, "interview_id": [str(rows[i]["interview_id"]) for i in need],
                         "turn_index": [int(rows[i]["turn_index"]) for i in need],
                         "nl": ["\n" in str(_opt(rows[i].get("text_raw")) or "") for i in need]})
    got = store.turn_places(keys)
    return {int(i): (str(text or ""), start, line, m) for i, text, start, line, m in got}


def _segment_place(raw: str, marks: list, offs: list[int], row: Mapping[str, Any], text_raw: str) -> int | None:
    """Offset of the segment's raw text in its turn's text: the occurrence whose provenance is the
    segment's stored time and line (None: none, or several that cite differently)."""
    found, pos = [], raw.find(text_raw)
    while pos >= 0 and len(found) < 50:
        s, _, ln = provenance(raw, marks, pos, pos + len(text_raw), None, offs)
        if _same(s, row.get("start")) and _same(ln, row.get("line")):
            found.append(pos)
        pos = raw.find(text_raw, pos + 1)
    return found[0] if len(found) == 1 else None


def keyword_sources(store: Store, rows: Sequence[Mapping[str, Any]], texts: Sequence[str],
                    spans: Sequence[Sequence[tuple[int, int]]], reveal: bool = False) -> list[list[str]]:
    """The reference (:func:`textmine.attribution.source_ref`) of each span of ``spans[i]`` in the
    shown text ``texts[i]`` of segment ``rows[i]`` (a mapping with the columns of
    :meth:`textmine.store.Store.segments_frame`, ``text_raw`` and ``text`` included): the time and
    line of the turn's mark at or before the keyword's first character; the segment's own
    reference where the offset cannot be mapped."""
    rows = list(rows)
    own = [source_ref(r, reveal) for r in rows]
    out = [[own[i]] * len(sp) for i, sp in enumerate(spans)]
    need = [i for i, sp in enumerate(spans)
            if sp and _opt(rows[i].get("text_raw")) is not None and _opt(rows[i].get("turn_index")) is not None]
    parsed: dict[tuple, tuple[list, list[int]]] = {}     # a turn's marks, parsed once for its segments
    for i, (raw, t_start, t_line, marks_v) in _turns(store, rows, need).items():
        row, text_raw = rows[i], str(rows[i]["text_raw"])
        key = (row["interview_id"], row["turn_index"])
        if key not in parsed:
            marks = turn_marks(marks_v, _opt(t_start), _opt(t_line))
            parsed[key] = (marks, [m[0] for m in marks])
        marks, offs = parsed[key]
        at = _segment_place(raw, marks, offs, row, text_raw)
        if at is None:
            continue
        stop = at + len(text_raw)
        inside = bisect_right(offs, at) < len(offs) and offs[bisect_right(offs, at)] < stop
        if not inside and "\n" not in text_raw:
            continue                                   # one mark for the whole segment: its own reference
        text = str(_opt(row.get("text")) or "")
        shown = display_offsets(str(texts[i]), text)
        if shown is None:
            continue
        origin = None
        for j, (a, _) in enumerate(spans[i]):
            if not 0 <= a < len(shown):
                continue
            first = _same_word(text, shown[a], text_raw)
            if first is None:                          # the cleaning's origin map, computed once
                origin = _raw_offsets(raw, at, stop, text) if origin is None else origin
                if not origin or not 0 <= shown[a] < len(origin):
                    origin = origin if origin is not None else []
                    continue
                first = origin[shown[a]]
            else:
                first += at
            s, _, ln = provenance(raw, marks, first, first + 1, None, offs)
            out[i][j] = source_ref({**row, "start": s, "line": ln}, reveal)
    return out
