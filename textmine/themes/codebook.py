"""The codebook: themes with definitions, criteria, lexical cues and examples.

``load_codebook(path=None)`` reads and validates a YAML codebook (default: the packaged
``configs/codebook.yaml``). Every problem raises :data:`~textmine.errors.E.E401` naming the
file, the line when known, and the place (``themes[3].cues[2]``).

Cues are matched on a normalised text (lowercase, accents removed, typographic apostrophes
and dashes folded): a plain cue matches at the start of a word (``renouvel`` matches
``renouvellement``), a cue starting with ``re:`` is a Python regular expression. A ``re:`` cue
runs under a time limit (:data:`CUE_TIMEOUT_S` per text, with the ``regex`` module): a pattern
that backtracks catastrophically (``re:(a|aa)+$``) stops with E411 naming the cue instead of
hanging the coder.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import regex
import yaml

from ..config import codebook_file, parse_yaml
from ..errors import E, TextmineError
from ..french import fold

POSTURE_LABELS = ("faire_avec", "faire_a_la_place", "mixte")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_THEME_KEYS = {"id", "label", "definition", "include", "exclude", "cues", "examples", "sublabels"}
_REQUIRED = ("id", "label", "definition", "include", "exclude", "cues", "examples")
#: fields a theme must have but may leave empty while the team writes them (a drafted codebook)
TO_WRITE = ("definition", "include", "exclude")
_SUB_KEYS = {"label", "definition", "cues", "examples"}
_TOP_KEYS = {"version", "language", "themes", "posture_theme"}
#: fewer examples than this per theme and the zero-shot coder's calibration is rough
#: (:func:`few_examples_note`; the coder then gives such a theme the global threshold)
MIN_EXAMPLES = 3


def normalise(text: str) -> str:
    """:func:`textmine.french.fold` (lower case, no accents, ``œ`` -> ``oe``), apostrophes,
    dashes and spaces folded too (the form cues match on)."""
    t = fold(str(text)).replace("’", "'").replace("‘", "'").replace("‑", "-").replace("–", "-")
    return re.sub(r"\s+", " ", t)


#: longest a ``re:`` cue may search one text (a sane cue takes microseconds)
CUE_TIMEOUT_S = 1.0


class TimedPattern:
    """A ``re:`` cue compiled with the ``regex`` module: :meth:`search` stops after
    :data:`CUE_TIMEOUT_S` with E411 naming the cue (catastrophic backtracking, ``(a|aa)+$``)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._rx = regex.compile(pattern, flags=flags | regex.VERSION0)

    def __eq__(self, other: object) -> bool:     # a copied codebook (sklearn's clone) equals its source
        return isinstance(other, TimedPattern) and (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"TimedPattern({self.pattern!r})"

    def search(self, text: str):
        try:
            return self._rx.search(text, timeout=CUE_TIMEOUT_S)
        except TimeoutError:
            raise TextmineError(E.E411, detail=f"re:{self.pattern} took more than {CUE_TIMEOUT_S:g} s on a text of "
                                               f"{len(text)} characters ({text[:60]!r}...)") from None

    def finditer(self, text: str):
        """Matches in ``text``, each found within :data:`CUE_TIMEOUT_S` (else ``TimeoutError``)."""
        return self._rx.finditer(text, timeout=CUE_TIMEOUT_S)


_WORD_START = r"(?<![a-z0-9])"
_LITERALS: dict[str, str] = {}          # pattern of a plain cue -> its literal text
_LEADING = re.compile(r"^(?:\\b|\(\?<[!=][^()]*\))+")  # leading \b and look-behinds (zero-width)
_SCANS: dict[str, re.Pattern | TimedPattern] = {}


def _scan_pattern(pat: re.Pattern | TimedPattern) -> re.Pattern | TimedPattern:
    """``pat`` without its leading zero-width assertions: it matches wherever ``pat`` does (and
    more), and re's first-character optimisation applies to it, so it finds the candidates fast."""
    if pat.pattern not in _SCANS:
        stripped = _LEADING.sub("", pat.pattern)
        make = TimedPattern if isinstance(pat, TimedPattern) else re.compile
        try:
            _SCANS[pat.pattern] = make(stripped, pat.flags) if stripped and stripped != pat.pattern else pat
        except (re.error, regex.error):
            _SCANS[pat.pattern] = pat
    return _SCANS[pat.pattern]


def compile_cue(cue: str) -> re.Pattern | TimedPattern:
    if cue.startswith("re:"):
        return TimedPattern(cue[3:])
    literal = normalise(cue).strip()
    pat = re.compile(_WORD_START + re.escape(literal))
    _LITERALS[pat.pattern] = literal
    return pat


@dataclass
class Sublabel:
    id: str
    label: str
    definition: str
    cues: list[str]
    examples: list[str]
    patterns: list[re.Pattern] = field(default_factory=list, repr=False)


@dataclass
class Theme:
    id: str
    label: str
    definition: str
    include: list[str]
    exclude: list[str]
    cues: list[str]
    examples: list[str]
    sublabels: dict[str, Sublabel] = field(default_factory=dict)
    patterns: list[re.Pattern] = field(default_factory=list, repr=False)

    @property
    def to_write(self) -> list[str]:
        """Fields still empty (a drafted theme): ``definition``, ``include``, ``exclude``."""
        return [k for k in TO_WRITE if not getattr(self, k)]


@dataclass
class Codebook:
    themes: list[Theme]
    path: str
    version: Any = 1
    posture_theme: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def hash(self) -> str:
        """Content hash (independent of the file's path, comments and layout)."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise TextmineError(E.E403, detail=f"{theme_id!r}; known: {', '.join(self.ids)}")

    def cue_counts(self, texts: list[str]) -> np.ndarray:
        """``(n, n_themes)`` number of distinct cues of each theme found in each text (the first
        match of each cue; cues matching overlapping text count once)."""
        norms = [normalise(t) for t in texts]
        out = np.zeros((len(texts), len(self.themes)), dtype=np.float32)
        for j, th in enumerate(self.themes):
            for i, kept in first_matches_many(th.patterns, norms).items():
                out[i, j] = len(kept)
        return out


def few_examples_note(codebook: Codebook, min_examples: int = MIN_EXAMPLES) -> str | None:
    """A warning naming the themes with fewer than ``min_examples`` examples, or ``None``.

    The zero-shot coder is calibrated on the codebook's own examples (each one a positive for
    its theme and a negative for the others, compared with its theme's *other* examples): with
    one or two examples per theme that calibration rests on a handful of points."""
    few = [t for t in codebook.themes if len(t.examples) < min_examples]
    if not few:
        return None
    return (f"{len(few)} theme(s) with fewer than {min_examples} examples: "
            + ", ".join(f"{t.id} ({len(t.examples)})" for t in few)
            + ". The zero-shot coder calibrates its scores and thresholds on the codebook's examples, so with "
            f"so few its codes are rough; add examples to these themes ({min_examples} or more each: short "
            "segments in the corpus's own style, see README 'Your own codebook')")


def dump_codebook(data: dict, header: str = "") -> str:
    """YAML text of a codebook ``data`` mapping (``version``, ``language``, ``themes``), with
    ``header`` as leading comment lines; it reads back with :func:`load_codebook`."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def first_matches(patterns: list[re.Pattern], norm: str) -> list[re.Match]:
    """First match of each pattern in ``norm``, dropping matches that overlap one kept before."""
    return _without_overlaps(pat.search(norm) for pat in patterns)


def _without_overlaps(matches) -> list[re.Match]:
    kept: list[re.Match] = []
    for m in matches:
        if m is not None and not any(m.start() < k.end() and k.start() < m.end() for k in kept):
            kept.append(m)
    return kept


_SEP = "\x00"                           # never in a normalised text
_ANCHORS = re.compile(r"(?<![\[\\])\^|(?<!\\)\$|\\A|\\Z")   # ^ $ \A \Z, not [^...] nor \^ \$


def _pattern_hits(pat: re.Pattern | TimedPattern, norms: list[str], blob: str, starts: list[int]) -> dict[int, re.Match]:
    """``text index -> pat.search(norms[i])`` for the texts it matches. One scan of all texts
    joined by NUL finds the candidates; each is then searched alone, so the result is exactly
    the per-text search (anchored patterns, or one matching across a NUL, are searched per text)."""
    cand: set[int] | range = set()
    literal = _LITERALS.get(pat.pattern)
    if literal:                          # a plain cue: str.find, much faster than the regex scan
        k = blob.find(literal)
        while k >= 0:
            if k == 0 or not ("a" <= blob[k - 1] <= "z" or "0" <= blob[k - 1] <= "9"):
                cand.add(bisect.bisect_right(starts, k) - 1)
            k = blob.find(literal, k + 1)
    elif _ANCHORS.search(pat.pattern):
        cand = range(len(norms))
    else:
        try:
            for m in _scan_pattern(pat).finditer(blob):
                if _SEP in m.group():
                    cand = range(len(norms))
                    break
                cand.add(bisect.bisect_right(starts, m.start()) - 1)
        except TimeoutError:             # a ``re:`` cue slow on the joined texts: each text alone, timed
            cand = range(len(norms))
    out = {}
    for i in cand:
        m = pat.search(norms[i])
        if m is not None:
            out[i] = m
    return out


def first_matches_many(patterns: list[re.Pattern], norms: list[str]) -> dict[int, list[re.Match]]:
    """``{i: first_matches(patterns, norms[i])}`` for the texts some pattern matches, with one
    regular-expression scan per pattern over all the texts instead of one per text."""
    starts, pos = [], 0
    for t in norms:
        starts.append(pos)
        pos += len(t) + 1
    blob = _SEP.join(norms)
    per_text: dict[int, list[re.Match]] = {}
    for pat in patterns:
        for i, m in _pattern_hits(pat, norms, blob, starts).items():
            per_text.setdefault(i, []).append(m)
    return {i: ms if len(ms) == 1 else _without_overlaps(ms) for i, ms in sorted(per_text.items())}


def _line_of(text: str, needle: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return None


def load_codebook(path: str | Path | None = None, *, compile_cues: bool = True) -> Codebook:
    """Read and validate a codebook YAML file (default: the packaged codebook).

    ``compile_cues=False``: for readers of the ids and labels only (tracking tables, search
    filters): the cues are not compiled (about 0.1 s saved on a command's cold start), so the
    themes carry no patterns and the codebook cannot code; a cue that is a bad regular
    expression is not reported."""
    path = codebook_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TextmineError(E.E401, path=path, detail=f"cannot read the file ({exc})") from exc
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TextmineError(E.E401, path=path, line=mark.line + 1 if mark else None,
                            detail=f"YAML syntax: {str(exc).splitlines()[0]}") from exc

    def bad(place: str, msg: str, needle: str | None = None) -> TextmineError:
        return TextmineError(E.E401, path=path, line=_line_of(text, needle) if needle else None,
                             detail=f"{place}: {msg}")

    if not isinstance(data, dict) or not isinstance(data.get("themes"), list) or not data["themes"]:
        raise bad("top level", "expected a mapping with a non-empty `themes` list")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise bad(k, f"unknown key {k!r} (allowed: {', '.join(sorted(_TOP_KEYS))})", f"{k}:")
    themes: list[Theme] = []
    seen: set[str] = set()
    labels: dict[str, str] = {}          # folded label -> theme id
    for i, item in enumerate(data["themes"]):
        place = f"themes[{i}]"
        if not isinstance(item, dict):
            raise bad(place, "each theme must be a mapping")
        tid = item.get("id")
        if tid is not None:
            place = f"themes[{i}] (id {tid})"
        needle = f"id: {tid}" if tid else None
        unknown = set(item) - _THEME_KEYS
        if unknown:
            k = sorted(unknown)[0]
            raise bad(place, f"unknown key {k!r} (allowed: {', '.join(sorted(_THEME_KEYS))})", f"{k}:")
        for key in _REQUIRED:
            if key not in item or (item[key] in (None, "", []) and key not in TO_WRITE):
                raise bad(place, f"missing or empty field {key!r}", needle)
            if item[key] is None and key in TO_WRITE:
                item[key] = "" if key == "definition" else []
        if not isinstance(tid, str) or not _ID_RE.match(tid):
            raise bad(place, f"id {tid!r} must be lowercase letters, digits and _", needle)
        if tid in seen:
            raise bad(place, f"duplicate theme id {tid!r}", needle)
        seen.add(tid)
        for key in ("label", "definition"):
            if not isinstance(item[key], str):
                raise bad(f"{place}.{key}", "must be a text", needle)
        same = labels.get(label_key(item["label"]))
        if same is not None:
            raise bad(f"{place}.label", f"{item['label']!r} is also the label of theme {same!r}: labels name the "
                      "themes in tables, reports and QDA software (QualCoder merges codes of the same name); "
                      "give each theme its own label", needle)
        labels[label_key(item["label"])] = tid
        for key in ("include", "exclude", "cues", "examples"):
            if not isinstance(item[key], list) or not all(isinstance(x, str) and x.strip() for x in item[key]):
                raise bad(f"{place}.{key}", "must be a list of non-empty texts" + (" (or [] while it is to write)"
                                                                                  if key in TO_WRITE else ""), needle)
        patterns = _compile_all(item["cues"], f"{place}.cues", bad) if compile_cues else []
        subs: dict[str, Sublabel] = {}
        raw_subs = item.get("sublabels") or {}
        if not isinstance(raw_subs, dict):
            raise bad(f"{place}.sublabels", "must be a mapping of sub-label id -> fields", needle)
        for sid, sub in raw_subs.items():
            sp = f"{place}.sublabels.{sid}"
            if not isinstance(sub, dict):
                raise bad(sp, "must be a mapping", f"{sid}:")
            unknown = set(sub) - _SUB_KEYS
            if unknown:
                k = sorted(unknown)[0]
                raise bad(sp, f"unknown key {k!r} (allowed: {', '.join(sorted(_SUB_KEYS))})", f"{k}:")
            for key in ("definition", "cues", "examples"):
                if not sub.get(key):
                    raise bad(sp, f"missing or empty field {key!r}", f"{sid}:")
            subs[sid] = Sublabel(sid, sub.get("label", sid), sub["definition"], list(sub["cues"]),
                                 list(sub["examples"]),
                                 _compile_all(sub["cues"], f"{sp}.cues", bad) if compile_cues else [])
        # a theme's evidence includes its sub-labels' pole cues ("je remplis" is posture talk too);
        # the mixte cues ("dans l'urgence") only say how to split a segment already in the theme
        known = {pat.pattern for pat in patterns}
        for pat in (pat for sid, sub in subs.items() if sid != "mixte" for pat in sub.patterns):
            if pat.pattern not in known:
                known.add(pat.pattern)
                patterns.append(pat)
        themes.append(Theme(tid, item["label"], item["definition"], list(item["include"]),
                            list(item["exclude"]), list(item["cues"]), list(item["examples"]), subs, patterns))
    posture = data.get("posture_theme")
    if posture is None:
        posture = next((t.id for t in themes if set(POSTURE_LABELS) <= set(t.sublabels)), None)
    elif posture not in seen:
        raise bad("posture_theme", f"{posture!r} is not a theme id", "posture_theme:")
    return Codebook(themes, str(path), data.get("version", 1), posture, raw=data)


def label_key(label: str) -> str:
    """Labels that read the same: case, accents and spacing aside."""
    return " ".join(fold(str(label)).lower().split())


def _compile_all(cues: list[str], place: str, bad) -> list[re.Pattern]:
    out = []
    for k, cue in enumerate(cues):
        try:
            out.append(compile_cue(cue))
        except (re.error, regex.error) as exc:
            raise bad(f"{place}[{k}]", f"bad regular expression {cue!r} ({exc})", cue) from exc
    return out
