"""IRaMuTeQ / Alceste corpora: the one format module for import and export.

An IRaMuTeQ corpus is a UTF-8 text file of *texts*, each opened by a line of starred
variables, then the text's paragraphs::

    **** *vague_2023 *role_conum *territoire_A *id_V2-A-03
    Le texte de l'entretien...
    -*organisation
    Une partie thématique (line starting with -*)...

Import (:func:`parse_iramuteq`, :func:`text_transcript`, :func:`text_metadata`): every text
becomes one interview. Known variables fill the interview's metadata (``vague``/``wave`` ->
wave, ``role``, ``territoire``, ``structure``, ``enquete`` -> respondent id, ``id`` /
``entretien`` -> interview id; role and structure codes are read back in lower case with
``_`` for ``-``: ``*structure_france-services`` -> ``france_services``); any other variable
is kept as an attribute. A text with
speaker tags (``E :``, ``Marie :``) keeps its turns, so the interviewer is found as in a
plain transcript; a text without tags is one respondent's speech, a turn per paragraph.
Thematic lines (``-*theme``) separate paragraphs and are counted, not read as speech.

Export (:func:`star_line`, :func:`clean_text`, :func:`modality`): variable names and
modalities are reduced to the characters IRaMuTeQ reads safely (ASCII letters, digits and
``-``; an underscore would split the modality), and ``*`` never reaches a text line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import E, TextmineError
from ..french import count_words, expand_ligatures, fold_label, strip_accents
from ..records import INTERVIEWER, OTHER, RESPONDENT, InterviewMeta, Transcript, Turn
from .encoding import decode_text, read_bytes
from .metadata import norm_role
from .tags import Unit, split_turns

#: export order and names of the interview columns written as starred variables
EXPORT_VARIABLES = (("wave", "vague"), ("role", "role"), ("territory", "territoire"),
                    ("structure_type", "structure"), ("respondent_id", "enquete"), ("interview_id", "id"))
#: starred variable names read back into interview columns (folded, lower case)
IMPORT_VARIABLES = {
    "vague": "wave", "wave": "wave", "role": "role", "fonction": "role", "territoire": "territory",
    "territory": "territory", "terr": "territory", "structure": "structure_type",
    "structure_type": "structure_type", "typestructure": "structure_type", "enquete": "respondent_id",
    "repondant": "respondent_id", "respondent": "respondent_id", "id": "interview_id",
    "entretien": "interview_id", "interview": "interview_id", "itv": "interview_id", "date": "date",
}
#: metadata attributes that may hold real names: never exported without --reveal
NAME_ATTRS = frozenset({"nom", "name", "prenom", "prénom", "enqueteur", "enquêteur", "interviewer", "fichier", "file"})
_STAR = re.compile(r"^(?:\*{4}|\d{4})(?=\s|$)")
_VAR = re.compile(r"^\*([^\s_*]+)(?:_(\S*))?$")
_THEME = re.compile(r"^-\*\S*\s*$")
RESPONDENT_LABEL = "R"


def modality(value) -> str:
    """A modality IRaMuTeQ reads: accents removed, any run of other characters than ASCII
    letters, digits and ``-`` becomes ``-`` (``Responsable structure`` -> ``Responsable-structure``)."""
    s = strip_accents(expand_ligatures(str(value)))
    s = re.sub(r"[^A-Za-z0-9-]+", "-", s)
    return re.sub(r"-{2,}", "-", s).strip("-")


def variable(name: str) -> str:
    """A variable name IRaMuTeQ reads: lower-case ASCII letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", fold_label(str(name)).lower())


def star_line(pairs: Iterable[tuple[str, object]]) -> str:
    """``**** *vague_2023 *role_conum ...`` from ``(name, value)`` pairs; empty values and
    duplicate names are skipped."""
    seen, parts = set(), []
    for name, value in pairs:
        n = variable(name)
        m = "" if value is None or value != value else modality(value)
        if not n or not m or n in seen:
            continue
        seen.add(n)
        parts.append(f"*{n}_{m}")
    return " ".join(["****", *parts])


def clean_text(text: str) -> str:
    """A paragraph safe for IRaMuTeQ: no ``*`` (it marks variables), one line."""
    return " ".join(str(text).replace("*", " ").split())


def is_iramuteq(path: str | Path) -> bool:
    """A ``.txt`` file whose first non-empty line is a ``****`` variable line."""
    p = Path(path)
    if p.suffix.lower() != ".txt" or not p.is_file():
        return False
    with open(p, "rb") as fh:
        head = fh.read(4096)
    for line in head.decode("utf-8", errors="ignore").lstrip("\ufeff").splitlines():
        if line.strip():
            return line.lstrip().startswith("****")
    return False


@dataclass
class IramuteqText:
    """One text of a corpus: its variables in file order, the line of its ``****`` line, its
    lines (line number, text) and the number of thematic (``-*``) lines in it."""

    variables: list[tuple[str, str]]
    line: int
    lines: list[tuple[int, str, int]] = field(default_factory=list)   # (line, text, char offset)
    themes: int = 0


def parse_iramuteq(path: str | Path) -> tuple[list[IramuteqText], str | None]:
    """The texts of an IRaMuTeQ corpus and its encoding (E110 on a bad line)."""
    text, enc = decode_text(read_bytes(path), path)
    texts: list[IramuteqText] = []
    pos = 0
    for i, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if _STAR.match(stripped):
            pairs = []
            for tok in stripped.split()[1:]:
                m = _VAR.match(tok)
                if m is None:
                    raise TextmineError(E.E110, path=path, line=i, detail=f"{tok!r} is not a starred variable "
                                        "(*name_modality)", fix="Write every variable as *name_modality, "
                                        "separated by spaces, on the **** line.")
                pairs.append((m.group(1), m.group(2) or ""))
            texts.append(IramuteqText(pairs, i))
        elif texts and _THEME.match(stripped):
            texts[-1].themes += 1
            texts[-1].lines.append((i, "", pos))
        elif texts:
            texts[-1].lines.append((i, line, pos))
        elif stripped:
            raise TextmineError(E.E110, path=path, line=i, detail="text before the first **** line",
                                fix="Start the corpus with a line such as `**** *vague_2023 *role_conum`.")
        pos += len(raw) + 1
    if not texts:
        raise TextmineError(E.E102, path=path, detail=f"{Path(path).name} has no **** line")
    return texts, enc


def text_transcript(path: str | Path, item: IramuteqText, encoding: str | None) -> Transcript:
    """One text as a transcript: its speaker turns if tagged, else one respondent turn per
    paragraph (E102 for a text without words)."""
    units = [Unit(text=t, line=ln, char_start=cs) for ln, t, cs in item.lines]
    words = sum(count_words(t) for _, t, _ in item.lines)
    if words == 0:
        raise TextmineError(E.E102, path=path, line=item.line, detail=f"the text of line {item.line} has no words")
    turns, info = split_turns(units)          # thematic lines are blank units: never inside a turn's text
    kept = [t for t in turns if t.text.strip()]
    if kept:
        src_words = words - info["header_words"] - info["tag_words"]
    else:
        kept = [Turn(speaker=RESPONDENT_LABEL, text=t.strip(), line=ln, char_start=cs + (len(t) - len(t.lstrip())),
                     char_end=cs + len(t.rstrip())) for ln, t, cs in item.lines if t.strip()]
        src_words = words
    attrs = {"iramuteq_line": item.line, "thematic_lines": item.themes,
             "variables": " ".join(f"*{n}_{m}" if m else f"*{n}" for n, m in item.variables)}
    return Transcript(source_file=str(path), format="iramuteq", encoding=encoding, turns=kept,
                      source_words=src_words, attrs=attrs)


def text_metadata(path: str | Path, item: IramuteqText, *, known_roles: Sequence[str]) -> InterviewMeta:
    """Interview metadata from a text's variables (E115 for an unknown role); ``interview_id``
    is empty when no ``*id_`` variable names the interview."""
    cols: dict[str, str] = {}
    attrs: dict[str, str] = {}
    for name, value in item.variables:
        key = IMPORT_VARIABLES.get(variable(name))
        if key and key not in cols and value:
            cols[key] = value
        elif value and name not in attrs:
            attrs[name] = value
    role = cols.get("role")
    if role is not None:
        role = norm_role(role)
        valid = sorted({norm_role(r) for r in known_roles} | {INTERVIEWER, OTHER, RESPONDENT})
        if role not in valid:
            raise TextmineError(E.E115, path=path, line=item.line,
                                detail=f"*role_{cols['role']} (line {item.line}); valid roles: {', '.join(valid)}")
    structure = cols.get("structure_type")
    return InterviewMeta(file=str(path), interview_id=cols.get("interview_id", ""), wave=cols.get("wave"),
                         date=cols.get("date"), territory=cols.get("territory"),
                         structure_type=norm_role(structure) if structure else None, respondent_id=cols.get("respondent_id"),
                         role=role, attrs=attrs, sheet=str(path), sheet_line=item.line)
