"""IRaMuTeQ / Alceste corpora: the one format module for import and export.

An IRaMuTeQ corpus is a UTF-8 text file of *texts*, each opened by a line of starred
variables, then the text's paragraphs::

    **** *vague_2023 *role_conum *territoire_A *id_V2-A-03
    Le texte de l'entretien...
    -*organisation
    Une partie thématique (line starting with -*)...

Import (:func:`parse_iramuteq`, :func:`group_texts`, :func:`text_transcript`,
:func:`text_metadata`): every text becomes one interview, except that texts carrying a
speaker variable (``*locuteur_CONUM1``) and the same ``*id_`` are the speakers of one
interview (how :mod:`textmine.export.iramuteq` writes an interview of several respondents).
Known variables fill the interview's metadata (``vague``/``wave`` -> wave, ``date``, ``role``,
``territoire``, ``structure``, ``enquete`` -> respondent id, ``id`` / ``entretien`` ->
interview id; role and structure codes are read back in lower case with ``_`` for ``-``:
``*structure_france-services`` -> ``france_services``); any other variable is kept as a
*public* attribute (a starred variable was written into a corpus meant to be shared), except
those that may hold names (:data:`NAME_ATTRS`), kept withheld. A text with ``*locuteur_X`` is
the speech of speaker ``X``, a turn per paragraph, with the text's ``*role_`` and
``*enquete_`` as that speaker's role and respondent id (as a ``speakers`` sheet gives them).
Otherwise a text with speaker tags (``E :``, ``Marie :``) keeps its turns, so the interviewer
is found as in a plain transcript, and a text without tags is one respondent's speech, a turn
per paragraph. Thematic lines (``-*theme``) separate paragraphs and are counted, not read as
speech.

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
from ..records import INTERVIEWER, OTHER, RESPONDENT, InterviewMeta, SpeakerMeta, Transcript, Turn
from .encoding import decode_text, read_bytes
from .metadata import NAME_ATTRS as METADATA_NAME_ATTRS
from .metadata import norm_role
from .tags import Unit, split_turns

#: export order and names of the interview columns written as starred variables
EXPORT_VARIABLES = (("wave", "vague"), ("date", "date"), ("role", "role"), ("territory", "territoire"),
                    ("structure_type", "structure"), ("respondent_id", "enquete"), ("interview_id", "id"))
#: starred variable names read back into interview columns (folded, lower case)
IMPORT_VARIABLES = {
    "vague": "wave", "wave": "wave", "role": "role", "fonction": "role", "territoire": "territory",
    "territory": "territory", "terr": "territory", "structure": "structure_type",
    "structure_type": "structure_type", "typestructure": "structure_type", "enquete": "respondent_id",
    "repondant": "respondent_id", "respondent": "respondent_id", "id": "interview_id",
    "entretien": "interview_id", "interview": "interview_id", "itv": "interview_id", "date": "date",
}
#: the speaker variable: the (pseudonymous) speaker label of a text of one speaker
SPEAKER_VARIABLE = "locuteur"
SPEAKER_VARIABLES = frozenset({"locuteur", "speaker"})
#: variables that may hold real names: never exported without --reveal, and imported as withheld
#: attributes. A metadata sheet's name columns (:data:`.metadata.NAME_ATTRS`) plus those a sheet
#: reads otherwise: its ``interviewer`` column names a speaker label and its file column is
#: matched to the files, while in IRaMuTeQ they are free variables (a name, a real file name).
NAME_ATTRS = METADATA_NAME_ATTRS | {"interviewer", "fichier", "file"}
#: interview columns the texts of one interview must agree on (the others are the speaker's)
_INTERVIEW_COLUMNS = ("wave", "date", "territory", "structure_type")
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


def _speaker(item: IramuteqText) -> str | None:
    """The text's ``*locuteur_`` modality, or None."""
    for name, value in item.variables:
        if variable(name) in SPEAKER_VARIABLES and value:
            return value
    return None


def _interview_key(item: IramuteqText) -> str | None:
    for name, value in item.variables:
        if IMPORT_VARIABLES.get(variable(name)) == "interview_id" and value:
            return value
    return None


def group_texts(texts: Sequence[IramuteqText]) -> list[list[IramuteqText]]:
    """The interviews of a corpus, in file order: each text alone, except texts with a speaker
    variable (``*locuteur_``) and the same ``*id_``, which are the speakers of one interview.
    Other texts sharing an id stay apart (the ingest refuses the duplicate id, E114)."""
    groups: list[list[IramuteqText]] = []
    by_id: dict[str, list[IramuteqText]] = {}
    for item in texts:
        key = _interview_key(item)
        if key is not None and _speaker(item) is not None:
            if key in by_id:
                by_id[key].append(item)
                continue
            by_id[key] = [item]
            groups.append(by_id[key])
        else:
            groups.append([item])
    return groups


def _as_list(items: IramuteqText | Sequence[IramuteqText]) -> list[IramuteqText]:
    return [items] if isinstance(items, IramuteqText) else list(items)


def text_transcript(path: str | Path, items: IramuteqText | Sequence[IramuteqText],
                    encoding: str | None) -> Transcript:
    """One interview (a text, or the texts of :func:`group_texts`) as a transcript. A text
    with ``*locuteur_X`` is X's speech, a turn per paragraph; else a text keeps its speaker
    turns if tagged, or is one respondent turn per paragraph (E102 for a text without words)."""
    items = _as_list(items)
    kept: list[Turn] = []
    src_words = 0
    for item in items:
        words = sum(count_words(t) for _, t, _ in item.lines)
        if words == 0:
            raise TextmineError(E.E102, path=path, line=item.line, detail=f"the text of line {item.line} has no words")
        speaker = _speaker(item)
        turns: list[Turn] = []
        if speaker is None:
            units = [Unit(text=t, line=ln, char_start=cs) for ln, t, cs in item.lines]
            tagged, info = split_turns(units)   # thematic lines are blank units: never inside a turn's text
            turns = [t for t in tagged if t.text.strip()]
            if turns:
                words -= info["header_words"] + info["tag_words"]
        if not turns:
            turns = [Turn(speaker=speaker or RESPONDENT_LABEL, text=t.strip(), line=ln,
                          char_start=cs + (len(t) - len(t.lstrip())), char_end=cs + len(t.rstrip()))
                     for ln, t, cs in item.lines if t.strip()]
        kept += turns
        src_words += words
    attrs = {"iramuteq_line": items[0].line, "thematic_lines": sum(i.themes for i in items),
             "variables": " ".join(f"*{n}_{m}" if m else f"*{n}" for n, m in items[0].variables)}
    return Transcript(source_file=str(path), format="iramuteq", encoding=encoding, turns=kept,
                      source_words=src_words, attrs=attrs)


def _read_variables(path: str | Path, item: IramuteqText,
                    valid_roles: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(metadata columns, attributes)`` of one text's variables (E115 for an unknown role)."""
    cols: dict[str, str] = {}
    attrs: dict[str, str] = {}
    for name, value in item.variables:
        v = variable(name)
        key = IMPORT_VARIABLES.get(v)
        if v in SPEAKER_VARIABLES:
            continue
        if key and key not in cols and value:
            cols[key] = value
        elif value and name not in attrs:
            attrs[name] = value
    if cols.get("role") is not None:
        role = norm_role(cols["role"])
        if role not in valid_roles:
            raise TextmineError(E.E115, path=path, line=item.line,
                                detail=f"*role_{cols['role']} (line {item.line}); valid roles: {', '.join(valid_roles)}")
        cols["role"] = role
    if cols.get("structure_type"):
        cols["structure_type"] = norm_role(cols["structure_type"])
    return cols, attrs


def text_metadata(path: str | Path, items: IramuteqText | Sequence[IramuteqText], *,
                  known_roles: Sequence[str]) -> InterviewMeta:
    """Interview metadata from the variables of its text(s) (E115 for an unknown role);
    ``interview_id`` is empty when no ``*id_`` variable names the interview.

    Attributes (variables that are no metadata column) are public, but those that may hold
    names (:data:`NAME_ATTRS`). A text with ``*locuteur_X`` gives speaker X's role (else
    ``respondent``) and respondent id, as a ``speakers`` sheet row; the interview's own role
    and respondent id are those its texts share (none when they differ). The texts of one
    interview must agree on its wave, date, territory, structure and attributes (E110 naming
    the line that differs)."""
    items = _as_list(items)
    valid = sorted({norm_role(r) for r in known_roles} | {INTERVIEWER, OTHER, RESPONDENT})
    read = [_read_variables(path, item, valid) for item in items]
    cols, attrs = read[0]
    shared = {**{k: cols.get(k) for k in _INTERVIEW_COLUMNS}, **{f"*{k}": v for k, v in attrs.items()}}
    for item, (c, a) in zip(items[1:], read[1:]):
        mine = {**{k: c.get(k) for k in _INTERVIEW_COLUMNS}, **{f"*{k}": v for k, v in a.items()}}
        for key in dict.fromkeys([*shared, *mine]):
            if shared.get(key) != mine.get(key):
                raise TextmineError(E.E110, path=path, line=item.line,
                                    detail=f"line {item.line}: the texts of interview {cols.get('interview_id')!r} "
                                           f"disagree on {key} ({shared.get(key)!r} at line {items[0].line}, "
                                           f"{mine.get(key)!r} here)",
                                    fix="Give every text of one interview the same interview variables; only "
                                        "*role_ and *enquete_ may differ between its speakers.")
    speakers: dict[str, SpeakerMeta] = {}
    for item, (c, _) in zip(items, read):
        label = _speaker(item)
        if label is None:
            continue
        row = SpeakerMeta(file=str(path), speaker=label, role=c.get("role") or RESPONDENT,
                          respondent_id=c.get("respondent_id"), sheet=str(path), sheet_line=item.line)
        first = speakers.setdefault(fold_label(label), row)
        if (first.role, first.respondent_id) != (row.role, row.respondent_id):
            raise TextmineError(E.E110, path=path, line=item.line,
                                detail=f"line {item.line}: speaker {label!r} has another role or respondent id "
                                       f"than at line {first.sheet_line}",
                                fix="Give one speaker the same *role_ and *enquete_ in every text.")
    roles = {c.get("role") for c, _ in read}
    rids = {c.get("respondent_id") for c, _ in read}
    return InterviewMeta(file=str(path), interview_id=cols.get("interview_id", ""), wave=cols.get("wave"),
                         date=cols.get("date"), territory=cols.get("territory"),
                         structure_type=cols.get("structure_type"),
                         respondent_id=rids.pop() if len(rids) == 1 else None,
                         role=roles.pop() if len(roles) == 1 else None, attrs=attrs,
                         public=[k for k in attrs if k.lower() not in NAME_ATTRS],
                         sheet=str(path), sheet_line=items[0].line, speakers=list(speakers.values()))
