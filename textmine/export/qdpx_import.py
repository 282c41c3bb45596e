"""Human codings from a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA, QualCoder) -> coded CSV.

:func:`read_qdpx_codings` returns one row per coded passage, in the coded-file format of the
supervised theme classifier: ``id, text, themes, posture, interview_id, role, wave,
territory, segment_id`` (themes are codebook ids joined by ``;``).

- **Project file**: the archive's single ``*.qde`` member, whatever its name (ATLAS.ti names
  it after the project); several are refused.
- **Codes -> themes**, in order: the ``mapping`` (CSV ``code,theme[,posture]`` or YAML
  ``code: theme``; keys are code names or ``Parent/Child`` paths, case-insensitive; theme
  ``ignore`` drops a code; a row naming no code of the project is E605); its name equal to a
  theme id or label; a textmine description
  (``textmine theme id: X``). A child code of a theme counts for that theme; when its name or
  description is a posture sub-label it also gives the posture. A sub-label code that the export
  named after its theme (``Autre (Précarité)``, :func:`~textmine.export.qdpx_export.code_names`)
  gives its theme and sub-label by its name alone, so a program that drops descriptions or
  moves the code keeps it.
- **Turns**: a selection that crosses speaker turns (``ENQ1: D'accord… CONUM1: Be…``) is
  split by turn; speaker labels are stripped and interviewer or other voices dropped, so
  only respondent speech is kept for training. A speaker tag is a line start the ingest
  stage would read as one (:func:`textmine.ingest.tags.match_tag`) that is recognisable on
  its own or recurs in the source.
- **Variables**: wave, role and territory come from the source's own variables
  (QualCoder's file attributes, MAXQDA) or from its case's; a speaker label naming a role
  (``CONUM1``, ``Élue :``) gives the passage's role.
- **Ids** do not depend on GUIDs, which QDA programs regenerate: ``id`` hashes the
  interview id (the source name without its extensions) and the passage text, so the same
  passage gets the same id after any round trip. A text said word for word more than once in
  one source is one passage per place: the second and later ones add their rank of occurrence
  to the hash (the first keeps the plain hash). ``segment_id`` names the stored segment
  the passage belongs to: the textmine selection name when the project came from
  ``export qdpx``, else the segment (of ``segments``, when given) whose text contains it.

``df.attrs`` carries the import report: ``sources`` (per source: selections read, mapped,
unmapped, split by turn, interviewer-only, passages), ``coded_spans`` (per source: interview id,
text length and the mapped selections as ``(start, end, themes, posture)``, for calibration
sheets), ``unmapped_codes`` (paths),
``unmapped_counts`` (selections per unmapped path), ``skipped_sources`` (text outside the
archive), ``project``/``origin`` and the project's ``description``. :func:`import_summary` words it;
:func:`require_codings` raises E606 when nothing could be imported.

The archive is untrusted: :class:`~textmine.safeio.SafeZip` limits, ``defusedxml``
(no DTD, no entities, depth bounded) for the ``.qde``, and the code tree is walked iteratively
with duplicate guids (a code nested in itself) and more than 64 levels refused (E603).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from bisect import bisect_right
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from ..errors import E, TextmineError
from ..ingest.tags import match_tag
from ..records import INTERVIEWER, KNOWN_ROLES, OTHER
from ..roles import is_interviewer_label, is_other_label, label_role
from ..safeio import SafeZip, safe_parse
from ..themes.codebook import load_codebook
from ..vocabulary import ROLE_PREFIX
from .qdpx_export import POSTURE_DESC, THEME_DESC, code_names

CODED_COLUMNS = ["id", "text", "themes", "posture", "interview_id", "role", "wave", "territory", "segment_id"]
IGNORE = {"", "-", "ignore", "none"}
#: extensions stripped from a source name to get the interview id (``X.docx.txt`` -> ``X``)
SOURCE_EXTENSIONS = {".txt", ".docx", ".doc", ".odt", ".rtf", ".pdf", ".csv", ".trs", ".textgrid", ".srt",
                     ".vtt", ".md"}
#: source / case variable names read as each passage's metadata (lower-cased)
VARIABLE_NAMES = {"wave": "wave", "vague": "wave", "role": "role", "rôle": "role", "territory": "territory",
                  "territoire": "territory"}
_ROLE_OF_PREFIX = {v: k for k, v in ROLE_PREFIX.items()}
_PSEUDO_LABEL = re.compile(r"^([A-Z]+)\d+$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el, name: str):
    return [c for c in el if _local(c.tag) == name]


def _desc(el) -> str:
    d = _children(el, "Description")
    return (d[0].text or "").strip() if d else ""


def load_mapping(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """``code name/path (lower) -> (theme id or "", posture or None)`` from CSV or YAML."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TextmineError(E.E605, path=path, detail=f"cannot read ({exc})") from exc
    out: dict[str, tuple[str, str | None]] = {}
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml
        try:
            data = yaml.safe_load(raw) or {}
        except yaml.YAMLError as exc:
            raise TextmineError(E.E605, path=path, detail=str(exc).splitlines()[0]) from exc
        if not isinstance(data, dict):
            raise TextmineError(E.E605, path=path, detail="expected a mapping `QDA code: theme id`")
        for k, v in data.items():
            if isinstance(v, dict):
                out[str(k).strip().lower()] = (str(v.get("theme") or ""), v.get("posture"))
            else:
                out[str(k).strip().lower()] = ("" if v is None else str(v), None)
        return out
    rows = list(csv.DictReader(io.StringIO(raw)))
    if not rows or not {"code", "theme"} <= {c.strip().lower() for c in rows[0].keys() if c}:
        raise TextmineError(E.E605, path=path, line=1, detail="CSV needs the columns code,theme[,posture]")
    for i, r in enumerate(rows, 2):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
        if not r["code"]:
            raise TextmineError(E.E605, path=path, line=i, detail="empty code name")
        out[r["code"].lower()] = (r["theme"], r.get("posture") or None)
    return out


#: deepest code hierarchy accepted (QDA programs nest a few levels)
MAX_CODE_DEPTH = 64


def _code_tree(root, path) -> dict[str, dict[str, Any]]:
    """``guid -> {name, parent, desc}`` of every code of the codebook, walked iteratively.
    E603 for a code without a guid, a guid used twice (a code nested in itself) or nesting
    deeper than :data:`MAX_CODE_DEPTH`."""
    codes: dict[str, dict[str, Any]] = {}
    stack = [(cs, None, 0) for cb in _children(root, "CodeBook") for cs in reversed(_children(cb, "Codes"))]
    while stack:
        el, parent, depth = stack.pop()
        for c in reversed(_children(el, "Code")):
            g = c.get("guid")
            if not g:
                raise TextmineError(E.E603, path=path, detail=f"code {c.get('name')!r} has no guid")
            if g in codes:
                raise TextmineError(E.E603, path=path, detail=f"code guid {g} is used twice "
                                                              f"({codes[g]['name']!r} and {c.get('name')!r})")
            if depth + 1 > MAX_CODE_DEPTH:
                raise TextmineError(E.E603, path=path, detail=f"codes nested more than {MAX_CODE_DEPTH} deep")
            codes[g] = {"name": c.get("name") or "", "parent": parent, "desc": _desc(c)}
            stack.append((c, g, depth + 1))
    return codes


class _Resolver:
    def __init__(self, codes: dict[str, dict[str, Any]], codebook, mapping):
        self.codes, self.mapping = codes, mapping or {}
        self.ids = {t.id.lower(): t.id for t in codebook.themes} if codebook else {}
        self.labels = {t.label.strip().lower(): t.id for t in codebook.themes} if codebook else {}
        self.postures: dict[str, dict[str, str]] = {}
        for t in (codebook.themes if codebook else []):
            self.postures[t.id] = {**{s.lower(): s for s in t.sublabels},
                                   **{str(sub.label).strip().lower(): s for s, sub in t.sublabels.items()}}
        # sub-label codes that export qdpx named after their theme too (``Autre (Précarité)``): their
        # name alone says theme and sub-label, wherever the code is
        self.renamed: dict[str, tuple[str, str]] = {}
        for (tid, sid), name in (code_names(codebook).items() if codebook else ()):
            if sid is not None and name != str(codebook.theme(tid).sublabels[sid].label):
                self.postures[tid][name.strip().lower()] = sid
                self.renamed[name.strip().lower()] = (tid, sid)
        self.posture_theme = codebook.posture_theme if codebook else None
        self.unmapped: Counter[str] = Counter()

    def path(self, g: str) -> str:
        names, seen = [], set()
        while g in self.codes and g not in seen:     # iterative; a tree from _code_tree has no cycle
            seen.add(g)
            names.append(self.codes[g]["name"])
            g = self.codes[g]["parent"]
        return "/".join(reversed(names))

    def unused_mapping(self) -> list[str]:
        """Mapping keys that name no code of the project (a typo, or another project's codes)."""
        names = {c["name"].strip().lower() for c in self.codes.values()} | {self.path(g).lower() for g in self.codes}
        return sorted(k for k in self.mapping if k not in names)

    def theme_of(self, g: str, record: bool = True) -> tuple[str | None, str | None]:
        c = self.codes.get(g)
        if c is None:
            return None, None
        for key in (self.path(g).lower(), c["name"].strip().lower()):
            if key in self.mapping:
                theme, posture = self.mapping[key]
                if theme.strip().lower() in IGNORE:
                    return None, None
                if self.ids and theme not in self.ids.values():
                    raise TextmineError(E.E605, detail=f"code {c['name']!r} -> unknown theme {theme!r}; "
                                                        f"valid: {', '.join(self.ids.values())}")
                return theme, posture
        name = c["name"].strip().lower()
        if name in self.ids:
            return self.ids[name], None
        if name in self.labels:
            return self.labels[name], None
        if c["desc"].startswith(THEME_DESC):
            tid = c["desc"][len(THEME_DESC):].strip()
            if not self.ids or tid in self.ids.values():
                return tid, None
        parent_theme, _ = self.theme_of(c["parent"], record=False) if c["parent"] else (None, None)
        if parent_theme:
            post = c["desc"][len(POSTURE_DESC):].strip() if c["desc"].startswith(POSTURE_DESC) else None
            post = post or self.postures.get(parent_theme, {}).get(name)
            return parent_theme, post          # a child code counts for its parent theme
        if name in self.renamed:               # a sub-label code moved out of its theme
            return self.renamed[name]
        if record:
            self.unmapped[self.path(g)] += 1
        return None, None


# ---------------------------------------------------------------------------- archive and sources
def _find_qde(z: SafeZip, path: Path) -> str:
    qdes = sorted(n for n in z.names if PurePosixPath(n).suffix.lower() == ".qde")
    if not qdes:
        raise TextmineError(E.E603, path=path, detail="no .qde project file in the archive")
    if len(qdes) > 1:
        raise TextmineError(E.E603, path=path, detail=f"several .qde project files ({', '.join(qdes)}); "
                                                      "keep only one in the archive")
    return qdes[0]


#: members of a REFI-QDA project (its media files included)
QDPX_MAX_MEMBERS = 10_000


def _source_text(z: SafeZip, src, path) -> str | None:
    content = _children(src, "PlainTextContent")
    if content:
        return content[0].text or ""
    ptp = src.get("plainTextPath") or ""
    if not ptp.startswith("internal://"):
        return None                     # relative:// or absolute:// files are outside the archive
    member = z.find(f"Sources/{ptp[len('internal://'):]}")
    if member is None:
        raise TextmineError(E.E603, path=path, detail=f"source file {ptp} missing from the archive")
    data = z.read(member)
    for enc in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _one_char_line_ends(origin: str) -> bool:
    """Whether the program counts a Windows line end of a source text as one character: ATLAS.ti
    does; QualCoder's positions are always on its text with ``\n`` line ends, and its export
    option "line ending character for MAXQDA" writes ``\r\n`` to the file without moving them.
    NVivo counts two (the default)."""
    origin = origin.lower()
    return "atlas" in origin or "qualcoder" in origin


def interview_id_of(name: str) -> str:
    """The interview id a source name stands for: ``V1-A-01.docx.txt`` -> ``V1-A-01``."""
    p = PurePosixPath(str(name).replace("\\", "/")).name
    while PurePosixPath(p).suffix.lower() in SOURCE_EXTENSIONS and PurePosixPath(p).stem:
        p = PurePosixPath(p).stem
    return p


def _value(vv) -> str | None:
    for el in vv:
        if _local(el.tag) != "VariableRef" and el.text is not None and el.text.strip():
            return el.text.strip()
    return None


def variable_key(name: str | None) -> str | None:
    """The passage field a variable name stands for (``wave``, ``role``, ``territory``) or None.
    A classification prefix is dropped: ``Cases:Vague`` (NVivo, textmine's case variables) is
    ``vague``."""
    name = (name or "").strip().lower()
    key = VARIABLE_NAMES.get(name)
    if key is None and ":" in name:
        key = VARIABLE_NAMES.get(name.rsplit(":", 1)[1].strip())
    return key


def _variables(el, var_names: dict[str, str]) -> dict[str, str]:
    out = {}
    for vv in _children(el, "VariableValue"):
        ref = _children(vv, "VariableRef")
        name = var_names.get(ref[0].get("targetGUID")) if ref else None
        key = variable_key(name)
        val = _value(vv)
        if key and val is not None:
            out[key] = val
    return out


def _case_variables(root, var_names: dict[str, str]) -> dict[str, dict[str, str]]:
    """Source guid -> variables of the case(s) that reference it."""
    out: dict[str, dict[str, str]] = {}
    for cases in _children(root, "Cases"):
        for case in _children(cases, "Case"):
            values = _variables(case, var_names)
            for ref in _children(case, "SourceRef"):
                out.setdefault(ref.get("targetGUID"), {}).update(values)
    return out


# ---------------------------------------------------------------------------- speaker turns
class _Turns:
    """Speaker tags at line starts of one source text, to cut selections by turn."""

    def __init__(self, text: str):
        self.lines: list[tuple[int, int, str | None, int]] = []   # (start, end, label in effect, speech start)
        tags, pos = [], 0
        for line in text.splitlines(keepends=True):
            tags.append(match_tag(line))
            self.lines.append((pos, pos + len(line.rstrip("\r\n")), None, pos))
            pos += len(line)
        counts = Counter(m.key for m in tags if m)
        label = None
        for i, m in enumerate(tags):
            a, b, _, _ = self.lines[i]
            if m and (m.strong or counts[m.key] > 1 or _is_pseudonym(m.label)):
                label = m.label
                self.lines[i] = (a, b, label, a + m.end)
            else:                                       # a continuation line of the current turn
                self.lines[i] = (a, b, label, a)
        self.starts = [ln[0] for ln in self.lines]
        self.tagged = label is not None

    def pieces(self, a: int, b: int) -> list[tuple[str | None, list[tuple[int, int]]]]:
        """``(speaker label, [(start, end), ...])`` of each turn's speech within ``[a, b)``: labels
        cut, consecutive lines of one speaker together."""
        if not self.tagged:
            return [(None, [(a, b)])]
        out: list[tuple[str | None, list[tuple[int, int]]]] = []
        for start, end, label, speech in self.lines[max(0, bisect_right(self.starts, a) - 1):]:
            if start >= b:
                break
            s, e = max(a, speech), min(b, end)
            if e <= s:
                continue            # only the label selected
            if out and out[-1][0] == label:
                out[-1][1].append((s, e))
            else:
                out.append((label, [(s, e)]))
        return out or [(None, [(a, b)])]


def _is_pseudonym(label: str) -> bool:
    m = _PSEUDO_LABEL.match(label.strip())
    return bool(m and m.group(1) in _ROLE_OF_PREFIX)


def speaker_role(label: str | None) -> str | None:
    """Role a speaker label names: interviewer, other, a respondent role, or None (unknown)."""
    if not label:
        return None
    if _is_pseudonym(label):                         # textmine pseudonyms: ENQ1, CONUM2, AUTRE1
        return _ROLE_OF_PREFIX[_PSEUDO_LABEL.match(label.strip()).group(1)]
    if is_interviewer_label(label):
        return INTERVIEWER
    if is_other_label(label):
        return OTHER
    return label_role(label, set(KNOWN_ROLES))


# ---------------------------------------------------------------------------- segments join
class _SegmentIndex:
    """Stored segments by interview, to name the segment an imported passage belongs to."""

    def __init__(self, segments: pd.DataFrame | None):
        self.by_itv: dict[str, list[tuple[str, list[str]]]] = {}
        if segments is None or segments.empty:
            return
        cols = [c for c in ("text_pseudo", "text") if c in segments.columns]
        for r in segments.itertuples(index=False):
            texts = [" ".join(str(getattr(r, c)).split()) for c in cols if isinstance(getattr(r, c), str)]
            self.by_itv.setdefault(str(r.interview_id), []).append((str(r.segment_id), texts))

    def find(self, iid: str, text: str, occurrence: int = 0, total: int = 1) -> str:
        """The segment holding ``text``. Several segments of exactly that text: the
        ``occurrence``-th, when the source has the text ``total`` times, each a whole segment
        (else "": ambiguous)."""
        cands = self.by_itv.get(iid, [])
        exact = [sid for sid, texts in cands if text in texts]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            return exact[occurrence] if len(exact) == total and occurrence < total else ""
        inside = [sid for sid, texts in cands if any(text in t for t in texts)]
        return inside[0] if len(inside) == 1 else ""


class _Occurrences:
    """Which occurrence of a passage text a selection is, in its source: the same words said
    twice in one interview are two passages."""

    def __init__(self, text: str):
        self.text = text
        self._norm: str | None = None

    def of(self, body: str, start: int) -> tuple[int, int]:
        """``(occurrence, total)``: occurrences of ``body`` in the source text (whitespace
        collapsed) before the one at raw offset ``start``, and in all."""
        if self._norm is None:
            self._norm = " ".join(self.text.split())
        norm, found, i = self._norm, [], self._norm.find(body)
        while i >= 0:
            found.append(i)
            i = norm.find(body, i + 1)
        if len(found) < 2:
            return 0, len(found)
        here = len(" ".join(self.text[:start].split()))
        return sum(q < here for q in found), len(found)


def _passage_id(iid: str, text: str, occurrence: int = 0) -> str:
    key = f"{iid}\x1f{text}" + (f"\x1f{occurrence}" if occurrence else "")
    return "qdpx-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------- reading
def read_qdpx_codings(path: str | Path, mapping: str | Path | dict | None = None, codebook=None,
                      segments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Coded passages of a ``.qdpx`` as a coded DataFrame (``CODED_COLUMNS``, report in ``attrs``).

    ``segments`` (a store's ``segments_frame``) lets ``segment_id`` name the stored segment of
    passages whose source is not a textmine export."""
    if codebook is None:
        codebook = load_codebook()
    if mapping is not None and not isinstance(mapping, dict):
        mapping = load_mapping(mapping)
    path = Path(path)
    if not path.is_file():
        raise TextmineError(E.E603, path=path, detail="file not found")
    seg_index = _SegmentIndex(segments)
    # only the .qde and the plain-text sources are read: the media beside them (audio, video, PDF)
    # are not size-checked, and a project may hold many of them
    with SafeZip(path, code=E.E603, max_members=QDPX_MAX_MEMBERS,
                 readable=lambda name: PurePosixPath(name).suffix.lower() in (".qde", ".txt")) as z:
        qde = _find_qde(z, path)
        try:
            root = safe_parse(z.read(qde), f"{path}!{qde}")
        except TextmineError as exc:
            raise TextmineError(E.E603, path=f"{path}!{qde}", line=exc.line,
                                detail=f"unreadable XML ({exc.message})") from exc
        if _local(root.tag) != "Project":
            raise TextmineError(E.E603, path=path, detail=f"root element is {_local(root.tag)!r}, not Project")
        origin = root.get("origin") or ""
        codes = _code_tree(root, path)
        var_names = {v.get("guid"): v.get("name") or "" for vs in _children(root, "Variables")
                     for v in _children(vs, "Variable")}
        case_vars = _case_variables(root, var_names)
        res = _Resolver(codes, codebook, mapping)
        unused = res.unused_mapping()
        if unused:
            raise TextmineError(E.E605, detail=f"mapping row(s) {', '.join(repr(k) for k in unused)} match no code "
                                               f"of {path.name}; its codes: "
                                               f"{', '.join(sorted(res.path(g) for g in codes)[:20]) or '(none)'}",
                                fix="Correct the code names in the mapping (names or Parent/Child paths, any case), "
                                    "or remove those rows.")
        order = {t.id: i for i, t in enumerate(codebook.themes)} if codebook else {}
        rows: dict[tuple[str, str, int], dict[str, Any]] = {}
        report, skipped, spans = [], [], []
        for sources in _children(root, "Sources"):
            for src in _children(sources, "TextSource"):
                name = src.get("name") or src.get("guid")
                text = _source_text(z, src, path)
                sels = _children(src, "PlainTextSelection")
                if text is None:
                    skipped.append(name)
                    continue
                if _one_char_line_ends(origin):
                    text = text.replace("\r\n", "\n")
                iid = interview_id_of(name)
                meta = {**case_vars.get(src.get("guid"), {}), **_variables(src, var_names)}
                rep = {"source": name, "interview_id": iid, "selections": len(sels), "mapped": 0, "unmapped": 0,
                       "split": 0, "interviewer_only": 0, "passages": 0}
                report.append(rep)
                spans.append({"source": name, "interview_id": iid, "length": len(text), "coded": []})
                turns, occurrences = _Turns(text), _Occurrences(text)
                for sel in sels:
                    _read_selection(sel, text, name, path, res, turns, iid, meta, rep, rows, seg_index,
                                    spans[-1]["coded"], occurrences)
    out = pd.DataFrame([{**r, "themes": ";".join(sorted(r["themes"], key=lambda t: (order.get(t, 999), t))),
                         "posture": r["posture"] or ""} for r in rows.values()], columns=CODED_COLUMNS)
    desc = _children(root, "Description")
    out.attrs.update(unmapped_codes=sorted(res.unmapped), unmapped_counts=dict(res.unmapped),
                     skipped_sources=skipped, sources=report, project=path.name, origin=origin,
                     coded_spans=spans, description=(desc[0].text or "").strip() if desc else "")
    return out


def _read_selection(sel, text, name, path, res: _Resolver, turns: _Turns, iid: str, meta: dict,
                    rep: dict, rows: dict, seg_index: _SegmentIndex, coded: list, occurrences: _Occurrences) -> None:
    try:
        a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
    except (TypeError, ValueError):
        raise TextmineError(E.E603, path=path, detail=f"selection {sel.get('guid')} has no valid positions") from None
    if not (0 <= a < b <= len(text)):
        raise TextmineError(E.E603, path=path, detail=f"selection {sel.get('guid')} [{a}, {b}) outside source "
                                                      f"{name!r} ({len(text)} chars)")
    found = [res.theme_of(cr.get("targetGUID")) for cd in _children(sel, "Coding")
             for cr in _children(cd, "CodeRef")]
    themes = {t for t, _ in found if t}
    if not themes:
        rep["unmapped"] += bool(found)
        return
    rep["mapped"] += 1
    # the posture theme's sub-label first: a selection may also carry another theme's sub-label
    posture = (next((p for t, p in found if p and t == res.posture_theme), None)
               or next((p for _, p in found if p), None))
    coded.append((a, b, sorted(themes), posture))
    pieces = turns.pieces(a, b)
    if len(pieces) > 1:
        rep["split"] += 1
    kept = []
    for label, spans in pieces:
        role = speaker_role(label)
        body = " ".join(" ".join(text[s:e] for s, e in spans).split())
        if role in (INTERVIEWER, OTHER) or not body:
            continue
        kept.append((role, body, spans[0][0]))
    if not kept:
        rep["interviewer_only"] += 1
        return
    sel_name = sel.get("name") or ""
    own_segment = sel_name if len(kept) == 1 and re.fullmatch(re.escape(iid) + r":\d{4}:\d{2}", sel_name) else ""
    for role, body, start in kept:
        occurrence, total = occurrences.of(body, start)
        key = (iid, body, occurrence)      # one passage coded under several codes is one row
        row = rows.get(key)
        if row is None:
            rep["passages"] += 1
            row = rows[key] = {"id": _passage_id(iid, body, occurrence), "text": body, "themes": set(),
                               "posture": None, "interview_id": iid, "role": role or meta.get("role", ""),
                               "wave": meta.get("wave", ""), "territory": meta.get("territory", ""),
                               "segment_id": own_segment or seg_index.find(iid, body, occurrence, total)}
        row["themes"] |= themes
        row["posture"] = row["posture"] or posture


# ---------------------------------------------------------------------------- report
def import_summary(df: pd.DataFrame, valid_themes: list[str] | None = None, max_codes: int = 200) -> list[str]:
    """The import report as lines for the user: per source, then codes without a theme with a
    ``--mapping`` example."""
    a = df.attrs
    srcs = a.get("sources", [])
    tot = {k: sum(s[k] for s in srcs) for k in ("selections", "mapped", "unmapped", "split", "interviewer_only")}
    lines = [f"{a.get('project', 'project')} ({a.get('origin') or 'unknown origin'}): {len(srcs)} text source(s), "
             f"{tot['selections']} selection(s) read, {tot['mapped']} mapped to a theme, {tot['unmapped']} "
             f"with codes but no theme -> {len(df)} coded passage(s)"]
    for s in srcs:
        extra = "".join([f", {s['split']} split by turn" if s["split"] else "",
                         f", {s['interviewer_only']} interviewer speech only (dropped)" if s["interviewer_only"] else ""])
        itv = "" if s["interview_id"] == s["source"] else f" (interview {s['interview_id']})"
        lines.append(f"  {s['source']}{itv}: {s['selections']} selection(s), {s['mapped']} mapped, "
                     f"{s['unmapped']} unmapped{extra} -> {s['passages']} passage(s)")
    if tot["split"]:
        lines.append(f"{tot['split']} selection(s) crossed speaker turns: split by turn, speaker labels removed, "
                     "interviewer and other voices left out")
    if a.get("skipped_sources"):
        lines.append(f"sources outside the archive, skipped: {', '.join(a['skipped_sources'])}")
    unmapped = a.get("unmapped_counts") or {}
    if unmapped:
        lines.append(f"{len(unmapped)} code(s) without a theme (selections using them):")
        for code in sorted(unmapped)[:max_codes]:
            lines.append(f"  - {code} ({unmapped[code]})")
        if len(unmapped) > max_codes:
            lines.append(f"  … and {len(unmapped) - max_codes} more")
        ex = sorted(unmapped, key=lambda c: (-unmapped[c], c))[:2]
        lines += ["map them with --mapping FILE.csv (theme `ignore` drops a code), e.g.:", "  code,theme"]
        lines += [f"  {_csv_field(c)},{'<theme id>' if i == 0 else 'ignore'}" for i, c in enumerate(ex)]
        if valid_themes:
            lines.append(f"theme ids: {', '.join(valid_themes)}")
    return lines


def _csv_field(v: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([v])
    return buf.getvalue()


def require_codings(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """``df``, or E606 with the reason when no coded passage could be imported."""
    if len(df):
        return df
    a = df.attrs
    srcs = a.get("sources", [])
    n_sel = sum(s["selections"] for s in srcs)
    if not srcs:
        why = "it has no text source" + (f" in the archive ({len(a.get('skipped_sources', []))} outside it)"
                                          if a.get("skipped_sources") else "")
    elif n_sel == 0:
        why = (f"its {len(srcs)} text source(s) have no coded text selection: the program exported the documents "
               "without their coded segments")
    elif a.get("unmapped_counts"):
        why = (f"none of its {n_sel} selection(s) uses a code mapped to a theme "
               f"({len(a['unmapped_counts'])} code(s) without a theme, listed above)")
    else:
        why = f"its {n_sel} selection(s) hold interviewer speech only or no code"
    raise TextmineError(E.E606, path=path, detail=why)
