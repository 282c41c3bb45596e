"""Praat ``.TextGrid`` files (long and short text formats; UTF-8, UTF-16, cp1252).

One IntervalTier per speaker. Structural tiers are ignored: point tiers (TextTier), tiers
named like Turns/Sections/Comments/Topics/Notes, and tiers whose labels are only the names
of other tiers (an ELAN "Turns" tier). Empty intervals are pauses. Turns are ordered by
start time across tiers (ties: tier order); an interval that overlaps an interval of another
speaker tier in time gets ``overlap=True``. ``Turn.line`` is the line of the interval's text,
``char_start``/``char_end`` the span of that text inside its quotes in the decoded file.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import E, TextmineError
from ..french import count_words, fold_label
from ..records import Speaker, Transcript, Turn
from .encoding import decode_text, read_bytes

_TOKEN_RE = re.compile(r'(?=["\[<!\d+\-.])(?:"([^"]*(?:""[^"]*)*)"|\[\s*\d*\s*\]|<exists>|<absent>|!.*'
                       r'|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))')
STRUCTURAL_TIERS = {"turns", "turn", "sections", "section", "comments", "comment", "topics", "topic", "notes",
                    "note", "events", "event", "noise", "bruits", "tours", "commentaires"}


class _Tokens:
    def __init__(self, text: str, path) -> None:
        self.path = path
        self.toks: list[tuple[str, object, int, int, int]] = []   # kind, value, line, start, end
        line, last = 1, 0
        for m in _TOKEN_RE.finditer(text):
            g = m.group(0)
            if g.startswith("!") or g.startswith("["):
                continue
            line += text.count("\n", last, m.start())
            last = m.start()
            if m.group(1) is not None:
                self.toks.append(("s", m.group(1).replace('""', '"'), line, m.start(1), m.end(1)))
                line += g.count("\n")
                last = m.end()
            elif m.group(2) is not None:
                self.toks.append(("n", float(m.group(2)), line, m.start(), m.end()))
            else:
                self.toks.append(("f", g == "<exists>", line, m.start(), m.end()))
        self.i = 0

    def _next(self, kind: str, what: str):
        if self.i >= len(self.toks):
            raise TextmineError(E.E110, path=self.path, detail=f"file ends where {what} was expected (truncated?)")
        tok = self.toks[self.i]
        if tok[0] != kind:
            raise TextmineError(E.E110, path=self.path, line=tok[2],
                                detail=f"expected {what}, found {tok[1]!r}")
        self.i += 1
        return tok

    def num(self, what: str) -> float:
        return self._next("n", what)[1]  # type: ignore[return-value]

    def string(self, what: str):
        return self._next("s", what)

    def flag(self) -> bool:
        if self.i < len(self.toks) and self.toks[self.i][0] == "f":
            self.i += 1
            return bool(self.toks[self.i - 1][1])
        return True


def _read_tiers(text: str, path) -> list[dict]:
    tk = _Tokens(text, path)
    ftype = tk.string("File type")
    if ftype[1] not in ("ooTextFile", "ooTextFile short"):
        raise TextmineError(E.E110, path=path, line=ftype[2], detail=f"File type {ftype[1]!r} (binary or unknown)")
    oclass = tk.string("Object class")
    if oclass[1] != "TextGrid":
        raise TextmineError(E.E110, path=path, line=oclass[2], detail=f"object class {oclass[1]!r}, not TextGrid")
    tk.num("xmin")
    tk.num("xmax")
    if not tk.flag():
        return []
    n_tiers = int(tk.num("number of tiers"))
    tiers = []
    for _ in range(n_tiers):
        cls = tk.string("tier class")
        name = tk.string("tier name")[1]
        tk.num("tier xmin")
        tk.num("tier xmax")
        n = int(tk.num("number of intervals"))
        items = []
        if cls[1] == "IntervalTier":
            for _ in range(n):
                a, b = tk.num("interval xmin"), tk.num("interval xmax")
                _, label, line, cs, ce = tk.string("interval text")
                items.append((a, b, label, line, cs, ce))
        elif cls[1] == "TextTier":
            for _ in range(n):
                t = tk.num("point time")
                _, label, line, cs, ce = tk.string("point mark")
                items.append((t, t, label, line, cs, ce))
        else:
            raise TextmineError(E.E110, path=path, line=cls[2], detail=f"unknown tier class {cls[1]!r}")
        tiers.append({"class": cls[1], "name": name, "items": items, "line": cls[2]})
    return tiers


def _structural(tier: dict, names: set[str]) -> str | None:
    if tier["class"] != "IntervalTier":
        return "point tier"
    if fold_label(tier["name"]) in STRUCTURAL_TIERS:
        return "structural name"
    labels = [it[2].strip() for it in tier["items"] if it[2].strip()]
    others = names - {tier["name"]}
    if labels and others and sum(lb in others for lb in labels) >= 0.9 * len(labels):
        return "labels are speaker names"
    return None


_MARKER_RE = re.compile(r"\s*\((?:enq|enqu[eê]t(?:eur|rice))\.?\)\s*$|\s+enq\.?\s*$", re.I)


def _person_name(tier: str) -> str | None:
    """The tier name as a person's name (interviewer marker removed), or None for generic tiers.

    CFPP2000-style tiers are named after the speaker: the name is personal data that the
    pseudonymiser must know about.
    """
    name = _MARKER_RE.sub("", tier).strip()
    if not name or not name[0].isupper() or any(c.isdigit() or c in "#?" for c in name):
        return None
    return name


def parse_textgrid(path: str | Path) -> Transcript:
    data = read_bytes(path)
    text, enc = decode_text(data, path)
    tiers = _read_tiers(text, path)
    names = {t["name"] for t in tiers}
    speakers, ignored, ivs = [], {}, []
    for ti, tier in enumerate(tiers):
        why = _structural(tier, names)
        if why:
            ignored[tier["name"]] = why
            continue
        speakers.append(Speaker(label=tier["name"], name=_person_name(tier["name"]), attrs={"tier": ti + 1}))
        for a, b, label, line, cs, ce in tier["items"]:
            if label.strip():
                ivs.append((a, ti, b, tier["name"], label, line, cs, ce))
    ivs.sort(key=lambda x: (x[0], x[1]))
    overlap = [False] * len(ivs)
    # sweep: an interval overlaps another speaker's interval if it starts before that one ends
    active: list[tuple[float, int, int]] = []   # (end, tier, index)
    for i, (a, ti, b, *_rest) in enumerate(ivs):
        active = [x for x in active if x[0] > a]
        for end, tj, j in active:
            if tj != ti and min(end, b) > a:
                overlap[i] = overlap[j] = True
        active.append((b, ti, i))
    turns = [Turn(speaker=name, text=label.strip(), start=a, end=b, line=line,
                  char_start=cs + (len(label) - len(label.lstrip())), char_end=ce - (len(label) - len(label.rstrip())),
                  overlap=overlap[i])
             for i, (a, ti, b, name, label, line, cs, ce) in enumerate(ivs)]
    if not turns:
        raise TextmineError(E.E109, path=path, detail=f"no non-empty interval in speaker tiers "
                                                      f"({len(tiers)} tiers, ignored: {sorted(ignored)})")
    source_words = sum(count_words(t.text) for t in turns)
    return Transcript(source_file=str(path), format="textgrid", encoding=enc, turns=turns, speakers=speakers,
                      source_words=source_words, attrs={"ignored_tiers": ignored, "n_tiers": len(tiers)})
