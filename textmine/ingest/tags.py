"""Speaker tags at the start of a line or paragraph (plain text, Markdown, .docx, .odt).

A tag is a short label (at most 4 words plus an optional parenthesis such as ``(conum)``)
at the very start of a line, followed by ``:``. Optional decorations: a timestamp before
the label (``[00:12:03] Marie :``), a dash, Markdown bold (``**Conum** :``). To avoid taking
ordinary sentences (``Il m'a dit : non``) for tags, a label must not start with a function
word nor contain a verb-like clitic, and it must either recur (two or more lines) or be
recognisable on its own (a role word such as ``Enquêteur``/``Q``/``R``, a bold label, a
timestamped label, a label with a parenthesis).

Lines that are not tags continue the previous turn; lines before the first tag are the
header (kept in ``Transcript.attrs``, never lost silently).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..french import count_words, fold_label
from ..records import Turn

_SP = r"[ \t\u00a0\u202f]"
TAG_RE = re.compile(
    rf"^{_SP}*"
    rf"(?:(?P<ts>[\[(]?\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:[.,]\d+)?[\])]?){_SP}*)?"
    rf"(?:[-–—]{_SP}*)?"
    rf"(?P<bo>\*\*|__)?"
    rf"(?P<label>[^\W\d_][^:\n*«»\"?!;,]{{0,60}}?)"
    rf"{_SP}*(?P<bc>\*\*|__)?{_SP}*:(?!//|\d)(?P<bc2>\*\*|__)?{_SP}*"
)
_PAREN_RE = re.compile(r"\(([^()]{1,40})\)\s*$")
#: labels recognisable on a single occurrence (casefolded, accents removed)
ROLE_WORDS = {
    "e", "q", "r", "i", "p", "int", "enq", "enq.", "enqueteur", "enquetrice", "enquete", "enquetee",
    "intervieweur", "intervieweuse", "interviewer", "interviewe", "interviewee", "chercheur", "chercheuse",
    "repondant", "repondante", "question", "reponse", "animateur", "animatrice", "moderateur", "moderatrice",
    "conum", "conseiller numerique", "conseillere numerique", "responsable", "responsable structure",
    "coordinateur", "coordinatrice", "elu", "elue", "agent", "usager", "usagere", "partenaire",
    "travailleur social", "travailleuse sociale",
}
_FUNCTION_WORDS = set("""
je j tu il elle on nous vous ils elles ce c ça ca cela ceci le la les l un une des du de d et mais ou donc or ni car
alors puis ensuite enfin bref oui non si quand comme parce pour par avec sans dans en sur sous chez moi toi lui eux
leur mon ma mes ton ta tes son sa ses notre votre nos vos leurs qui que qu quoi dont où voilà voici exemple note nb
remarque attention ah oh euh ben bon bah hein y a au aux cette cet ces tout tous toute toutes rien
""".split())
_VERBISH = set("""
a ai as est es sont était étais étaient suis fait fais dit dis disait disent répond répondu répondit demande demandé
pense pensait crois croyait explique expliqué ajoute ajouté raconte raconté précise précisé dira dirait faut
""".split())
_CLITIC_RE = re.compile(r"^(?:[jmtslcdn]|qu)['’]", re.I)


def parse_timestamp(ts: str) -> float | None:
    parts = ts.strip("[]() ").replace(",", ".").split(":")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        return None
    sec = 0.0
    for v in vals:
        sec = sec * 60 + v
    return sec


@dataclass
class Unit:
    """A line (text files) or paragraph (docx/odt)."""

    text: str
    line: int
    char_start: int | None = None   # offset of ``text`` in the decoded source


@dataclass
class TagMatch:
    label: str
    key: str
    end: int                 # offset in the unit text where the speech starts
    start_time: float | None
    strong: bool             # recognisable on a single occurrence


def _label_ok(label: str) -> bool:
    core = _PAREN_RE.sub("", label).strip()
    if not core:
        return False
    toks = core.split()
    if len(toks) > 4:
        return False
    first = fold_label(toks[0]).strip(".")
    code = len(toks) == 1 and len(core) <= 3 and core.isupper()   # speaker codes: A, B, JR, INT
    if first in _FUNCTION_WORDS and fold_label(core) not in ROLE_WORDS and not code:
        return False
    for t in ([] if code else toks):
        ft = fold_label(t)
        if ft in _VERBISH or (_CLITIC_RE.match(t) and t[0].islower()):
            return False
    return True


def match_tag(text: str) -> TagMatch | None:
    m = TAG_RE.match(text)
    if not m:
        return None
    label = " ".join(m.group("label").split())
    if not _label_ok(label):
        return None
    key = fold_label(label)
    core = fold_label(_PAREN_RE.sub("", label))
    strong = bool(m.group("ts") or m.group("bo") or _PAREN_RE.search(label)
                  or core in ROLE_WORDS or core.rstrip(".") in ROLE_WORDS or key in ROLE_WORDS)
    ts = parse_timestamp(m.group("ts")) if m.group("ts") else None
    return TagMatch(label=label, key=key, end=m.end(), start_time=ts, strong=strong)


def split_turns(units: list[Unit], source: str | None = None) -> tuple[list[Turn], dict]:
    """Group units into turns. Returns (turns, info) where info has header and tag word counts.

    With ``source`` (the decoded text) and units carrying ``char_start``, each turn's text is
    the exact source span ``source[char_start:char_end]``; otherwise the units' texts joined
    with newlines.
    """
    matches = [match_tag(u.text) for u in units]
    counts: dict[str, int] = {}
    for tm in matches:
        if tm is not None:
            counts[tm.key] = counts.get(tm.key, 0) + 1
    accepted = {k for k, n in counts.items() if n >= 2}
    accepted |= {tm.key for tm in matches if tm is not None and tm.strong}

    spelling: dict[str, str] = {}   # one label per speaker: the first spelling met (Conum / CONUM / **Conum**)
    for tm in matches:
        if tm is not None and tm.key in accepted:
            spelling.setdefault(tm.key, tm.label)
    turns: list[Turn] = []
    pieces: list[list[str]] = []
    header: list[str] = []
    tag_words = 0
    header_words = 0
    for u, tm in zip(units, matches):
        if tm is not None and tm.key in accepted:
            tag_words += count_words(u.text[:tm.end])
            body = u.text[tm.end:]
            cs = None if u.char_start is None else u.char_start + tm.end
            ce = None if u.char_start is None else u.char_start + len(body.rstrip()) + tm.end
            turns.append(Turn(speaker=spelling[tm.key], text="", start=tm.start_time, line=u.line,
                              char_start=cs, char_end=ce))
            pieces.append([body.strip()] if body.strip() else [])
        elif turns:
            if u.text.strip():
                pieces[-1].append(u.text.strip())
                if u.char_start is not None and turns[-1].char_start is not None:
                    turns[-1].char_end = u.char_start + len(u.text.rstrip())
        elif u.text.strip():
            header.append(u.text.strip())
            header_words += count_words(u.text)
    for t, p in zip(turns, pieces):
        if source is not None and t.char_start is not None:
            t.text = source[t.char_start:t.char_end].strip()
            if t.text:  # keep offsets on the stripped text
                t.char_start = source.index(t.text, t.char_start)
                t.char_end = t.char_start + len(t.text)
        else:
            t.text = "\n".join(p)
    info = {"header": header, "header_words": header_words, "tag_words": tag_words,
            "tag_counts": {k: v for k, v in counts.items() if k in accepted}}
    return turns, info
