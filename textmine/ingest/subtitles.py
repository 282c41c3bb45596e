"""Subtitle files: SubRip ``.srt`` and WebVTT ``.vtt``.

Cue timecodes give ``start``/``end``. The speaker comes from a ``Label :`` / ``- Label:``
prefix on a cue line or from a WebVTT voice tag ``<v Label>``; a cue without one continues
the previous speaker (its text is appended and the turn's end extended). Other markup
(``<i>``, ``<c.x>``, inline timestamps) is removed from the text. Each text line of a turn is
a mark (``Turn.marks``: its offset in the turn text, its cue's start, its line in the file),
so a segment cut from a turn of several cues gets its own cue's time and line.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import E, TextmineError
from ..french import count_words
from ..records import Transcript, Turn
from .encoding import decode_text, read_bytes
from .tags import match_tag

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_CUE_RE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_VOICE_RE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>|\{\\[^}]*\}")


def _secs(h, m, s, ms) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def _cues(text: str, path, vtt: bool):
    lines = text.split("\n")
    i, n = 0, len(lines)
    pos = [0]
    for ln in lines:
        pos.append(pos[-1] + len(ln) + 1)
    while i < n:
        line = lines[i]
        if vtt and re.match(r"^(NOTE|STYLE|REGION)\b", line):
            while i < n and lines[i].strip():
                i += 1
            continue
        m = _CUE_RE.match(line)
        if not m:
            i += 1
            continue
        g = m.groups()
        start, end = _secs(*g[:4]), _secs(*g[4:])
        if end < start:
            raise TextmineError(E.E110, path=path, line=i + 1, detail=f"cue ends ({end}s) before it starts ({start}s)")
        i += 1
        body = []
        while i < n and lines[i].strip():
            if _CUE_RE.match(lines[i]):
                break
            body.append((lines[i], i + 1, pos[i]))
            i += 1
        yield start, end, body


def parse_subtitles(path: str | Path) -> Transcript:
    data = read_bytes(path)
    text, enc = decode_text(data, path)
    vtt = Path(path).suffix.lower() == ".vtt"
    if vtt and not text.lstrip().startswith("WEBVTT"):
        raise TextmineError(E.E110, path=path, line=1, detail="a WebVTT file must start with WEBVTT")
    turns: list[Turn] = []
    n_cues = 0
    unlabelled = 0
    source_words = 0
    label_words = 0
    current: str | None = None
    for start, end, body in _cues(text, path, vtt):
        n_cues += 1
        for raw, lineno, off in body:
            voice = _VOICE_RE.search(raw)
            clean = _TAG_RE.sub("", raw)
            source_words += count_words(clean)
            speaker, speech, new = current, clean.strip(), False
            if voice:
                speaker, new = " ".join(voice.group(1).split()), True
            else:
                tm = match_tag(clean)
                if tm is not None:
                    speaker, speech, new = tm.label, clean[tm.end:].strip(), True
                    label_words += count_words(clean[:tm.end])
                elif clean.lstrip().startswith("-") and turns:
                    speech = clean.lstrip()[1:].strip()
            if speaker is None:
                unlabelled += count_words(speech)
                source_words -= count_words(speech)
                continue
            if not speech:
                current = speaker
                continue
            if new or not turns or turns[-1].speaker != speaker:
                turns.append(Turn(speaker=speaker, text=speech, start=start, end=end, line=lineno,
                                  marks=[(0, start, lineno)]))
            else:
                t = turns[-1]
                t.marks.append((len(t.text) + 1, start, lineno))
                t.text = f"{t.text}\n{speech}"
                t.end = max(t.end or end, end)
            current = speaker
    if not turns:
        raise TextmineError(E.E109, path=path, detail=f"{n_cues} cues but none names a speaker "
                                                      "(`Label : text` or `<v Label>text`)")
    attrs = {"cues": n_cues}
    if unlabelled:
        attrs["unlabelled_words_before_first_speaker"] = unlabelled
    return Transcript(source_file=str(path), format="vtt" if vtt else "srt", encoding=enc, turns=turns,
                      source_words=source_words - label_words, attrs=attrs)
