"""Turns -> analysis segments (sentence grouping), with a noise-free analysis text.

Two texts are kept for every segment: ``text_raw`` (exactly as transcribed, noise marks
included) and ``text`` (the *analysis text*, :func:`clean_for_analysis`). Sentences are
found with spaCy's French pipeline on the analysis text and mapped back to raw-text spans
through a character origin map, so a segment's ``text_raw``, ``char_start``/``char_end``,
``line`` and times point at the right place of the source (times and lines: from the marks of
the turn, :func:`provenance`).

Public API (called by the ingestion orchestrator): :func:`clean_for_analysis`,
:func:`segment_interview`; the spaCy loader and the word counts are :mod:`textmine.french`'s
(:func:`~textmine.french.load_nlp`, :func:`~textmine.french.count_words` with ``unit="token"``).
"""
from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from typing import Any

import pandas as pd

from .config import SegmentConfig
from .french import ANALYSIS_FILLER_PATTERN as _FILLER
from .french import count_words, load_nlp
from .pseudonymise_lex import PLACEHOLDER_PATTERN
from .records import INTERVIEWER, SEGMENT_COLUMNS

#: version of the rule that gives segments their time and line (:func:`segment_interview`): part
#: of the settings an interview is derived with (:func:`textmine.corpus.ingest_paths` derives an
#: interview stored under an older version again).
#: 2: the time and line of the turn's mark at or before the segment's first character (Transcriber
#: ``<Sync>``, subtitle cues and lines), no interpolation (was: spread by characters over the turn)
PROVENANCE = 2

# ------------------------------------------------------------------ cleaning with an origin map
# A text under cleaning is (text, origin): origin[i] = index in the raw text of text[i].
def _sub(text: str, origin: list[int] | None, pattern: re.Pattern, repl: Any) -> tuple[str, list[int] | None]:
    """``re.sub`` that keeps the origin map. ``repl`` is a literal, or a callable returning a
    literal or an absolute ``(start, end)`` span of the input to keep. With ``origin=None``
    (no map wanted) it is a plain, faster ``re.sub`` with the same result."""
    if origin is None:
        if not callable(repl):
            return pattern.sub(repl.replace("\\", "\\\\"), text), None

        def _r(m: re.Match) -> str:
            r = repl(m)
            return m.string[r[0]:r[1]] if isinstance(r, tuple) else r
        return pattern.sub(_r, text), None
    parts: list[str] = []
    orig: list[int] = []
    pos = 0
    n = len(text)
    for m in pattern.finditer(text):
        parts.append(text[pos:m.start()])
        orig.extend(origin[pos:m.start()])
        r = repl(m) if callable(repl) else repl
        if isinstance(r, tuple):
            parts.append(text[r[0]:r[1]])
            orig.extend(origin[r[0]:r[1]])
        elif r:
            o = origin[m.start()] if m.start() < n else (origin[-1] + 1 if origin else 0)
            parts.append(r)
            orig.extend([o] * len(r))
        pos = m.end()
    if pos == 0 and not parts:
        return text, origin
    parts.append(text[pos:])
    orig.extend(origin[pos:])
    return "".join(parts), orig


_W = r"[\w'’]"  # word character incl. apostrophes (French elision)
_PAREN_NOISE = ("inaudible", "inaud", "incompréhensible", "incomprehensible", "rire", "rires", "silence",
                "pause", "bruit", "bruits", "toux", "tousse", "soupir", "soupire", "hésitation", "hesitation",
                "interruption", "coupure", "sic", "inaudibles", "xxx", "enq", "anon", "sourire", "en riant",
                "rit", "rient", "blanc", "brouhaha", "sonnerie", "téléphone", "applaudissements")

_RULES: list[tuple[re.Pattern, Any]] = [
    # 1. question/exclamation marks noted in brackets carry sentence boundaries: keep the mark
    (re.compile(r"\[\s*([?!])\s*\]"), lambda m: " " + m.group(1) + " "),
    # 2. any other bracketed event, comment, backchannel or marker: [rires] [pause] [oui] [lex=NP] [+];
    #    pseudonymisation placeholders of an already pseudonymised text ([PERSONNE_3], [VOIE_1], [EMAIL]:
    #    pseudonymise_lex.PLACEHOLDER_PATTERN, the one list of their kinds) are kept
    (re.compile(r"(?!" + PLACEHOLDER_PATTERN + r")\[[^\[\]\n]*\]"), " "),
    # 3. <...> tags and comments
    (re.compile(r"<[^<>\n]*>"), " "),
    # 4. parenthesised noise: (inaudible), (rires), (inaudible 00:12:03), (...), (00:12:03)
    (re.compile(r"\(\s*(?:(?:" + "|".join(re.escape(w) for w in _PAREN_NOISE) + r")\b[^()\n]*|\.{2,}|…|[\d:.,\s]+)\)",
                re.IGNORECASE), " "),
    #    other parentheses (e.g. CFPP restored words "(ne)", "(il)"): keep the words, drop the brackets
    (re.compile(r"[()]"), " "),
    # 5. /x, y/ doubt marks: keep the first alternative
    (re.compile(r"(?<!\w)/([^/\n,]*),[^/\n]*/(?!\w)"), lambda m: (m.start(1), m.end(1))),
    # 6. // and /// cut-offs, then any slash not inside a word ("12/03", "et/ou", URLs are kept)
    (re.compile(r"(?<!\w)/+|/+(?!\w)"), " "),
    # 7. +, ++, +++ pauses (standalone only: "bac+2" is kept)
    (re.compile(r"(?<!\S)\++(?!\S)"), " "),
    # 8. xxx / XXX inaudible
    (re.compile(r"(?<!\w)[xX]{3,}(?!\w)"), " "),
    # 9. truncations: "im- important", "-fin", "c'é-"; standalone dashes
    (re.compile(r"(?<![\w'’-])" + _W + r"+-(?=\s|$|[,.;:!?])|(?<!\S)-(?=[^\W\d_])" + _W + r"+|(?<!\S)[-–—]+(?!\S)"), " "),
    # 10. fillers, when standalone words (never "bien", "benoît", "humain"...)
    (re.compile(r"(?<![\w'’-])(?:" + _FILLER + r")(?:-(?:" + _FILLER + r"))*(?![\w'’-])(?:\s*(?:…|\.{2,}))?"), " "),
]
# 11. stutters: "je je je" -> "je" ("nous nous", "vous vous" are reflexive: at most two kept)
_STUTTER = re.compile(r"(?<![\w'’-])(" + _W + r"+)(?:,?\s+\1)+(?![\w'’-])", re.IGNORECASE)
_REFLEXIVE = {"nous", "vous"}
# 12. elision spacing "l' immeuble" -> "l'immeuble"
_ELISION = re.compile(r"(?<![\w'’])((?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’])\s+(?=\w)", re.IGNORECASE)
# 13. punctuation spacing
_SPACE_BEFORE = re.compile(r"\s+(?=[,.…)])")
_OPEN_SPACE = re.compile(r"(?<=\()\s+")
_DUP_PUNCT = re.compile(r"([,;:])(?:\s*[,;:])+")
_PUNCT_AFTER_END = re.compile(r"(?<=[.!?…])(?:\s*[,;:])+")
_LEADING = re.compile(r"^[\s,;:.…]+")
_TRAILING = re.compile(r"[\s,;:]+$")
_SPACES = re.compile(r"\s+")


def _stutter(m: re.Match) -> tuple[int, int]:
    word = m.group(1)
    if word.lower() in _REFLEXIVE:
        second = re.compile(r",?\s+" + re.escape(word), re.IGNORECASE).match(m.string, m.end(1))
        return (m.start(1), second.end()) if second else (m.start(1), m.end(1))
    return (m.start(1), m.end(1))


def _clean_tracked(raw: str, track: bool = True) -> tuple[str, list[int] | None]:
    text, origin = raw, (list(range(len(raw))) if track else None)
    for pattern, repl in _RULES:
        text, origin = _sub(text, origin, pattern, repl)
    text, origin = _sub(text, origin, _STUTTER, _stutter)
    text, origin = _sub(text, origin, _ELISION, lambda m: (m.start(1), m.end(1)))
    text, origin = _sub(text, origin, _SPACES, " ")
    for pattern in (_SPACE_BEFORE, _OPEN_SPACE):
        text, origin = _sub(text, origin, pattern, "")
    text, origin = _sub(text, origin, _DUP_PUNCT, lambda m: (m.start(1), m.end(1)))
    text, origin = _sub(text, origin, _PUNCT_AFTER_END, "")
    text, origin = _sub(text, origin, _SPACE_BEFORE, "")
    text, origin = _sub(text, origin, _LEADING, "")
    text, origin = _sub(text, origin, _TRAILING, "")
    return text, origin


def clean_for_analysis(raw: str) -> str:
    """Analysis text of a raw transcribed text. Noise stays in the raw text only.

    Rules, applied in this order:

    1. ``[?]``/``[!]`` (intonation noted in brackets) become ``?``/``!`` (sentence cues).
    2. Every other bracketed item is removed: events and comments (``[rires]``, ``[rire]``,
       ``[pause]``, ``[bruit]``, ``[toux]``), pauses ``[+]``, CFPP markers ``[lex=NP]`` (the
       marked words stay), quote marks ``[""]``/``[«]``, and backchannels of the *other*
       speaker noted inside a turn (``[oui]``, ``[d'accord]``, ``[hm]``, ``[mm mm]``).
    3. ``<...>`` tags and comments are removed.
    4. Parenthesised noise is removed: ``(inaudible)``, ``(rires)``, ``(silence)``,
       ``(inaudible 00:12:03)``, ``(...)``, ``(00:12:03)``; other parentheses lose the
       brackets but keep their words (CFPP restored words ``je (ne) sais pas``).
    5. ``/x, y/`` doubt marks keep the first alternative (``/alliez, allez/`` -> ``alliez``).
    6. ``//`` and ``///`` cut-offs (and stray slashes) are removed; slashes inside words
       (``12/03``, ``et/ou``, URLs) are kept.
    7. Standalone ``+``, ``++``, ``+++`` pauses are removed (``bac+2`` is kept).
    8. ``xxx`` (inaudible) is removed.
    9. Truncated words are removed: ``im- important`` -> ``important``, ``-fin``, ``c'é-``;
       standalone dashes too (compounds such as ``peut-être`` are kept).
    10. Standalone fillers are removed: ``euh``, ``heu``, ``hum``, ``hm``, ``mm``/``mmh``,
        ``bah``, ``ben`` (capitalised ``Ben`` only at the start of a sentence: elsewhere it may
        be a first name), hyphenated runs (``mm-hm``) and an ellipsis glued to them
        (``euh…``). Words containing them (``bien``, ``humain``, ``Benoît``) are kept.
    11. Repeated-word stutters collapse: ``je je je`` -> ``je``, ``c'est, c'est`` -> ``c'est``
        (``nous nous``/``vous vous``, reflexive, keep two).
    12. Elision spacing is repaired: ``l' immeuble`` -> ``l'immeuble``.
    13. Whitespace collapses to single spaces; no space before ``, . … )`` nor after ``(``;
        repeated or orphan ``, ; :`` (left by removed fillers) are dropped; leading and trailing
        punctuation debris is stripped.
    """
    return _clean_tracked(raw or "", track=False)[0]


# ------------------------------------------------------------------ segmentation
def _opt(v: Any) -> Any:
    if v is None:
        return None
    try:
        if isinstance(v, float) and math.isnan(v):
            return None
    except TypeError:
        pass
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _units(text: str, sents: list[tuple[int, int]], max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) units: sentences; a sentence longer than ``max_words`` (common in
    unpunctuated speech) is cut into near-equal chunks at word boundaries."""
    units = []
    for s, e in sents:
        words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", text[s:e])]
        nw = count_words(text[s:e], unit="token")
        if nw == 0:
            continue
        if nw <= max_words:
            units.append((words[0][0], words[-1][1], nw))
            continue
        k = math.ceil(len(words) / max_words)
        size = len(words) / k
        for i in range(k):
            chunk = words[round(i * size):round((i + 1) * size)]
            if chunk:
                units.append((chunk[0][0], chunk[-1][1], count_words(text[chunk[0][0]:chunk[-1][1]], unit="token")))
    return units


def _group(units: list[tuple[int, int, int]], cfg: SegmentConfig) -> list[list[tuple[int, int, int]]]:
    groups: list[list] = []
    cur: list = []
    cur_w = 0
    for u in units:
        if cur and cur_w + u[2] > cfg.max_words:
            groups.append(cur)
            cur, cur_w = [], 0
        cur.append(u)
        cur_w += u[2]
        if cur_w >= cfg.min_words:
            groups.append(cur)
            cur, cur_w = [], 0
    if cur:
        if groups and cur_w < cfg.min_words and sum(u[2] for u in groups[-1]) + cur_w <= cfg.max_words:
            groups[-1].extend(cur)
        else:
            groups.append(cur)
    return groups


Mark = tuple[int, Any, Any]     # (offset in the turn text, time or None, source line or None)


def turn_marks(value: Any, start: Any, line: Any) -> list[Mark]:
    """A turn's marks (:attr:`textmine.records.Turn.marks`: a list, or the ``turns.marks`` JSON;
    None or NaN when it has none), in offset order, opening with the turn's own ``start``/``line``
    at offset 0 when the file gave no mark there."""
    value = _opt(value)
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else None
    marks = sorted(((int(o), _opt(t), _opt(ln)) for o, t, ln in (value or [])), key=lambda m: m[0])
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, start, line))
    return marks


def marks_json(marks: list, start: Any, line: Any) -> str | None:
    """``turns.marks`` of a turn: None when its marks say no more than its ``start`` and ``line``."""
    if not marks or [tuple(m) for m in marks] == [(0, start, line)]:
        return None
    return json.dumps([list(m) for m in marks])


def provenance(raw: str, marks: list[Mark], first: int, stop: int, end: Any,
               offs: list[int] | None = None) -> tuple[Any, Any, Any]:
    """``(start, end, line)`` of the text ``raw[first:stop]`` of a turn with ``marks``
    (:func:`turn_marks`) and end time ``end``.

    - start: the time of the last mark at or before ``first`` (the last one with a time): the
      time the file gives for the span holding the first word. Never interpolated inside a
      span: speech rate varies and pauses fall anywhere, so an interpolated time may fall after
      the first words, and a player set to it would miss them;
    - end: the time of the first mark at or after ``stop`` that opens a later span (a later
      ``<Sync>``, the next cue), else the turn's ``end``: a bound the text was spoken within;
    - line: the line of the last mark at or before ``first`` that has one, plus the line breaks
      of the turn text between that mark and ``first``.

    ``offs``: the marks' offsets (computed once per turn by the caller)."""
    offs = [m[0] for m in marks] if offs is None else offs
    k = bisect_right(offs, first) - 1
    start = next((marks[j][1] for j in range(k, -1, -1) if marks[j][1] is not None), None)
    line = None
    for j in range(k, -1, -1):
        if marks[j][2] is not None:
            line = int(marks[j][2]) + raw.count("\n", marks[j][0], first)
            break
    last = bisect_right(offs, max(stop - 1, first)) - 1
    in_force = next((marks[j][1] for j in range(last, -1, -1) if marks[j][1] is not None), None)
    stop_t = next((marks[j][1] for j in range(bisect_left(offs, stop), len(marks))
                   if marks[j][1] is not None and (in_force is None or marks[j][1] > in_force)), end)
    if start is not None and stop_t is not None and stop_t < start:
        stop_t = end if end is not None and end >= start else start
    return start, stop_t, line


def _split_turn(raw: str, clean: str, origin: list[int], sents: list[tuple[int, int]] | None,
                cfg: SegmentConfig) -> list[tuple[str, int, int, int]]:
    """-> [(analysis text, raw start, raw end, words)]; raw spans partition the turn text."""
    if sents is None:
        groups = [[(0, len(clean), count_words(clean, unit="token"))]]
    else:
        groups = _group(_units(clean, sents, cfg.max_words), cfg)
    starts = [origin[g[0][0]] for g in groups] if len(groups) > 1 else [0]
    out = []
    for i, g in enumerate(groups):
        rs = 0 if i == 0 else starts[i]
        re_ = starts[i + 1] if i + 1 < len(groups) else len(raw)
        text = clean[g[0][0]:g[-1][1]].strip()
        out.append((text, rs, re_, count_words(text, unit="token")))
    return out


def segment_interview(interview_id: str, turns: pd.DataFrame, cfg: SegmentConfig, nlp: Any = None) -> pd.DataFrame:
    """Split an interview's turns (``records.TURN_COLUMNS``) into analysis segments.

    Sentences (spaCy, on the analysis text) are grouped greedily into segments of at least
    ``cfg.min_words`` words and at most ``cfg.max_words`` (a longer sentence is cut into
    near-equal chunks); a short remainder joins the previous segment of the same turn when the
    result stays <= ``max_words``. A turn shorter than ``min_words`` (or shorter than
    ``2 * min_words`` and ``<= max_words``: greedy grouping would merge it back anyway) is one
    segment without running spaCy. Segments never cross turns; texts with fewer than
    ``cfg.min_segment_words`` analysis words are dropped. Raw spans of a turn's segments
    partition the turn text (noise between two segments goes with the first one).

    ``start``, ``end`` and ``line`` come from the turn's marks (``turns.marks``: the time points
    and lines the file gives inside the turn, :func:`turn_marks`), see :func:`provenance`: the
    time and line of the mark at or before the segment's first character (the turn's own start
    and line when it has no other mark), the line breaks of the turn text after that mark added;
    ``char_start``/``char_end`` are source offsets when the turn has them.
    ``prev_question`` is the analysis text of the closest preceding interviewer turn having
    at least ``min_segment_words`` words ("" if none). ``text_pseudo``/``speaker_pseudo`` are
    left to pseudonymisation (None).
    """
    if turns is None or turns.empty:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    rows = turns.sort_values("turn_index", kind="stable").to_dict("records")
    raws = [str(_opt(r.get("text")) or "") for r in rows]
    cleaned = [_clean_tracked(raw, track=False) for raw in raws]
    words = [count_words(c, unit="token") for c, _ in cleaned]
    need = [i for i, w in enumerate(words)
            if w >= cfg.min_segment_words and not (w < 2 * cfg.min_words and w <= cfg.max_words)]
    for i in need:   # the origin map is only needed where a turn may give several segments
        cleaned[i] = _clean_tracked(raws[i])
    sents: dict[int, list[tuple[int, int]]] = {}
    if need:
        nlp = nlp or load_nlp(cfg.spacy_model)
        for i, doc in zip(need, nlp.pipe([cleaned[i][0] for i in need], batch_size=64)):
            sents[i] = [(s.start_char, s.end_char) for s in doc.sents]
    out: list[dict] = []
    last_q = ""
    for i, r in enumerate(rows):
        raw = raws[i]
        clean, origin = cleaned[i]
        role = _opt(r.get("role"))
        if words[i] >= cfg.min_segment_words:
            t0, t1 = _opt(r.get("start")), _opt(r.get("end"))
            line, c0 = _opt(r.get("line")), _opt(r.get("char_start"))
            c1 = _opt(r.get("char_end"))
            marks = turn_marks(r.get("marks"), t0, line)
            offs = [m[0] for m in marks]
            seg_index = 0
            for text, rs, re_, nw in _split_turn(raw, clean, origin, sents.get(i), cfg):
                if nw < cfg.min_segment_words:
                    continue
                span = raw[rs:re_]
                lead = len(span) - len(span.lstrip())
                rs2, re2 = rs + lead, rs + len(span.rstrip())
                s0, s1, sline = provenance(raw, marks, rs2, re2, t1, offs)
                out.append({
                    "segment_id": f"{interview_id}:{int(r['turn_index']):04d}:{seg_index:02d}",
                    "interview_id": interview_id, "turn_index": int(r["turn_index"]), "seg_index": seg_index,
                    "speaker": r.get("speaker"), "speaker_pseudo": None, "role": role,
                    "text_raw": raw[rs2:re2], "text": text, "text_pseudo": None, "n_words": nw,
                    "start": s0, "end": s1, "line": sline,
                    "char_start": min(int(c0) + rs2, int(c1)) if c0 is not None and c1 is not None
                    else (int(c0) + rs2 if c0 is not None else None),
                    "char_end": min(int(c0) + re2, int(c1)) if c0 is not None and c1 is not None
                    else (int(c0) + re2 if c0 is not None else None),
                    "prev_question": last_q,
                })
                seg_index += 1
        if role == INTERVIEWER and words[i] >= cfg.min_segment_words:
            last_q = clean
    df = pd.DataFrame(out, columns=SEGMENT_COLUMNS)
    for col in ("line", "char_start", "char_end"):
        df[col] = df[col].astype("Int64")
    for col in ("start", "end"):
        df[col] = df[col].astype("float64")
    return df
