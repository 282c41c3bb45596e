"""Transcriber ``.trs`` files (trans-14.dtd), e.g. the ESLO corpus.

- the declared encoding (ISO-8859-1 or UTF-8) is honoured by the XML parser;
- ``<Speakers>`` -> ``Transcript.speakers``; turn labels are the speaker *names* (``JR``,
  ``DE744``), the ``spkN`` id is kept in ``Speaker.attrs["id"]``;
- ``<Turn speaker="spk2 spk1">`` with ``<Who nb="1"/>``/``<Who nb="2"/>`` -> one Turn per
  speaker, ``overlap=True``; ``<Sync time>`` gives the start of each such piece;
- inside a turn, every ``<Sync time>`` and every line of words is a mark (``Turn.marks``):
  a segment cut from a long turn gets the time of the last ``<Sync>`` before its first word
  and the line of that word;
- ``<Event>``/``<Comment>`` are annotations, not speech: they are left out of the turn text
  and counted in ``attrs["events"]``/``attrs["comments"]`` (no speech word is dropped);
- ``<Topics>``/``<Section topic>`` -> ``attrs["topics"]`` and ``attrs["turn_topics"]``
  (topic description for each turn, aligned with ``Transcript.turns``).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import E, TextmineError
from ..french import count_words
from ..records import Speaker, Transcript, Turn
from ..safeio import LINE_ATTR, parse_xml_lines
from .encoding import read_bytes, sniff_binary


def _f(el, name: str, path) -> float | None:
    v = el.get(name)
    if v in (None, ""):
        return None
    try:
        return float(v)
    except ValueError as exc:
        raise TextmineError(E.E110, path=path, line=_line(el), detail=f"{name}={v!r} is not a number") from exc


def _line(el) -> int | None:
    v = el.get(LINE_ATTR)
    return int(v) if v else None


class _Piece:
    """One speaker's text in a ``<Turn>``, built with its marks (:attr:`Turn.marks`): each line
    of words in the file gives ``(offset in the turn text, time of the last <Sync>, line)``; a
    ``<Sync>`` after some text gives ``(end of that text, its time, its line)``, where that text
    stops being spoken. The text is the words with single spaces (line breaks collapsed)."""

    def __init__(self, start: float | None, line: int | None) -> None:
        self.start, self.line = start, line
        self.chunks: list[str] = []
        self.n = 0                       # length of the text so far
        self.marks: list[tuple[int, float | None, int | None]] = []
        self.syncs: set[int] = set()     # indices in ``marks`` of the <Sync> marks

    def add(self, text: str, time: float | None, line: int | None) -> None:
        # ``line``: where the element before the text starts; the text's k-th line is ``line + k``
        # (Transcriber writes <Sync/>, <Event/>, <Who/> and the <Turn> tag on one line each)
        for k, ln in enumerate(text.split("\n")):
            chunk = " ".join(ln.split())
            if not chunk:
                continue
            off = self.n + 1 if self.chunks else 0
            self.marks.append((off, time, None if line is None else line + k))
            self.chunks.append(chunk)
            self.n = off + len(chunk)

    def sync(self, time: float | None, line: int | None) -> None:
        self.syncs.add(len(self.marks))
        self.marks.append((self.n, time, line))

    def finished(self) -> list[tuple[int, float | None, int | None]]:
        """The marks, less a <Sync>'s mark that the mark of its own words repeats (same time,
        next offset)."""
        out = []
        for k, m in enumerate(self.marks):
            nxt = self.marks[k + 1] if k + 1 < len(self.marks) else None
            if k in self.syncs and nxt is not None and nxt[1] == m[1] and nxt[0] - m[0] <= 1:
                continue
            out.append(m)
        return out


def parse_trs(path: str | Path) -> Transcript:
    data = read_bytes(path)
    sniff_binary(data, path)
    root, enc = parse_xml_lines(data, path)
    if root.tag != "Trans":
        raise TextmineError(E.E110, path=path, line=_line(root),
                            detail=f"root element is <{root.tag}>, a Transcriber file has <Trans>")
    speakers: list[Speaker] = []
    names: dict[str, str] = {}
    used: set[str] = set()
    for sp in root.iter("Speaker"):
        sid = sp.get("id") or f"spk{len(speakers) + 1}"
        name = (sp.get("name") or "").strip() or sid
        label = name if name not in used else f"{name} ({sid})"
        used.add(label)
        names[sid] = label
        attrs = {k: v for k, v in sp.attrib.items() if k not in ("name", LINE_ATTR)}
        speakers.append(Speaker(label=label, name=None, attrs=attrs))
    topics = {t.get("id"): (t.get("desc") or t.get("id")) for t in root.iter("Topic")}

    turns: list[Turn] = []
    turn_topics: list[str | None] = []
    events: Counter = Counter()
    comments = 0
    source_words = 0
    unknown = False
    for section in root.iter("Section"):
        topic = topics.get(section.get("topic")) if section.get("topic") else None
        for tu in section.iter("Turn"):
            ids = (tu.get("speaker") or "").split()
            t0, t1 = _f(tu, "startTime", path), _f(tu, "endTime", path)
            if not ids:
                ids = ["?"]
            who = 0
            time = t0
            pieces: dict[int, _Piece] = {}

            def add(text: str | None, line: int | None) -> None:
                nonlocal source_words
                if text and text.strip():
                    source_words += count_words(text)
                    pieces.setdefault(who, _Piece(time, line)).add(text, time, line)

            add(tu.text, _line(tu))
            for ch in tu:
                if ch.tag == "Sync":
                    time = _f(ch, "time", path)
                    for p in pieces.values():      # where the text said so far stops (the end of a segment)
                        p.sync(time, _line(ch))
                elif ch.tag == "Who":
                    try:
                        who = max(int(ch.get("nb", "1")) - 1, 0)
                    except ValueError as exc:
                        raise TextmineError(E.E110, path=path, line=_line(ch),
                                            detail=f"<Who nb={ch.get('nb')!r}> is not a number") from exc
                elif ch.tag == "Event":
                    events[ch.get("desc") or ch.get("type") or "?"] += 1
                elif ch.tag == "Comment":
                    comments += 1
                add(ch.tail, _line(ch))
            overlap = len(ids) > 1
            for idx in sorted(pieces, key=lambda i: (pieces[i].start or 0.0, i)):
                p = pieces[idx]
                sid = ids[idx] if idx < len(ids) else ids[-1]
                if sid == "?" or sid not in names:
                    unknown = True
                label = names.get(sid, "inconnu" if sid == "?" else sid)
                turns.append(Turn(speaker=label, text=" ".join(p.chunks), start=p.start, end=t1, line=p.line,
                                  overlap=overlap, marks=p.finished()))
                turn_topics.append(topic)
    if not turns:
        raise TextmineError(E.E109, path=path, detail="no <Turn> with transcribed speech")
    attrs = {"topics": sorted(set(t for t in turn_topics if t)), "turn_topics": turn_topics,
             "events": dict(events), "comments": comments,
             "scribe": root.get("scribe"), "audio_filename": root.get("audio_filename")}
    if unknown:
        attrs["unknown_speaker_turns"] = True
    return Transcript(source_file=str(path), format="trs", encoding=enc, turns=turns, speakers=speakers,
                      source_words=source_words, attrs=attrs)
