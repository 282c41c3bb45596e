"""Quote spans that read well: whole sentences, ≤ ~80 words, no filler at the edges.

A segment is split into sentences; if it is too long, every run of consecutive sentences
that fits in ``max_words`` is a candidate window and the caller picks one (the quote bank
takes the window closest to the group's centroid). A single sentence longer than the limit
is cut at the last clause boundary (``, ; :``) before the limit — never inside a word —
and marked ``[…]``. Oral fillers (euh, ben, bon, voilà...) are trimmed at both edges.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..french import EDGE_FILLER_PATTERN as _FILLER

_SENT = re.compile(r"(?<=[.!?…])\s+(?=\S)")
_LEAD = re.compile(rf"^(?:\s*{_FILLER}\b[\s,.;:!?…-]*)+", re.IGNORECASE)
_TRAIL = re.compile(rf"(?:[\s,;:-]*\b{_FILLER})+[\s,.;:!?…-]*$", re.IGNORECASE)
ELLIPSIS = "[…]"


@dataclass(frozen=True)
class Span:
    text: str
    first: int          # first sentence index
    last: int           # last sentence index (inclusive)
    n_words: int


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(" ".join(str(text).split())) if s.strip()]


def trim_fillers(text: str, trail: bool = True) -> str:
    """Remove fillers at the start (and the end if ``trail``); re-capitalise."""
    t = text.strip()
    lead = _LEAD.match(t)
    if lead and lead.end() < len(t):
        t = t[lead.end():]
    end = _TRAIL.search(t) if trail else None
    if end and end.start() > 0:
        t = t[:end.start()].rstrip(" ,;:-")
        if t and t[-1] not in ".!?…»":
            t += "."
    if t and t[0].islower():
        t = t[0].upper() + t[1:]
    return t


def _cut_sentence(sentence: str, max_words: int) -> str:
    words = sentence.split()
    head = " ".join(words[:max_words])
    m = max((head.rfind(c) for c in ",;:"), default=-1)
    if m > len(head) // 2:
        head = head[:m]
    return head.rstrip(" ,;:-") + " " + ELLIPSIS


def windows(text: str, max_words: int = 80) -> list[Span]:
    """Candidate spans: the whole text if short enough, else every maximal sentence run."""
    sents = sentences(text)
    if not sents:
        return [Span("", 0, 0, 0)]
    counts = [len(s.split()) for s in sents]
    if sum(counts) <= max_words:
        return [Span(" ".join(sents), 0, len(sents) - 1, sum(counts))]
    out: list[Span] = []
    for i in range(len(sents)):
        if counts[i] > max_words:
            out.append(Span(_cut_sentence(sents[i], max_words), i, i, max_words))
            continue
        j, total = i, counts[i]
        while j + 1 < len(sents) and total + counts[j + 1] <= max_words:
            j += 1
            total += counts[j]
        if out and out[-1].last == j:       # contained in the previous window
            continue
        out.append(Span(" ".join(sents[i:j + 1]), i, j, total))
    n = len(sents)
    return [Span((f"{ELLIPSIS} " if w.first > 0 else "") + w.text + (f" {ELLIPSIS}" if w.last < n - 1 and
                 not w.text.endswith(ELLIPSIS) else ""), w.first, w.last, w.n_words) for w in out]


def finish(span: Span) -> Span:
    """Apply filler trimming to a chosen span."""
    text = span.text
    pre = text.startswith(ELLIPSIS)
    body = text[len(ELLIPSIS):].lstrip() if pre else text
    post = body.endswith(ELLIPSIS)
    body = body[:-len(ELLIPSIS)].rstrip() if post else body
    body = trim_fillers(body, trail=not post) or body
    text = (f"{ELLIPSIS} " if pre else "") + body + (f" {ELLIPSIS}" if post else "")
    return Span(text, span.first, span.last, len(body.split()))
