"""Human codings from a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA, QualCoder) -> coded CSV.

:func:`read_qdpx_codings` returns one row per coded text selection, in the coded-file format
of the supervised theme classifier: ``id, text, themes, posture, interview_id`` (themes are
codebook ids joined by ``;``). A QDA code becomes a theme by, in order: the ``mapping``
(CSV ``code,theme[,posture]`` or YAML ``code: theme``; keys are code names or
``Parent/Child`` paths, case-insensitive); its name equal to a theme id or label; a textmine
description (``textmine theme id: X``). A child code of a theme whose name/description is a
posture sub-label gives that theme plus the posture. Unmapped codes are listed in
``df.attrs["unmapped_codes"]``.

The archive is untrusted: :class:`~textmine.export.safe_zip.SafeZip` limits and
``defusedxml`` (no DTD, no entities) for ``project.qde``.
"""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import E, TextmineError
from .qdpx_export import POSTURE_DESC, THEME_DESC
from .safe_zip import SafeZip

CODED_COLUMNS = ["id", "text", "themes", "posture", "interview_id"]
IGNORE = {"", "-", "ignore", "none"}


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


class _Resolver:
    def __init__(self, codes: dict[str, dict[str, Any]], codebook, mapping):
        self.codes, self.mapping = codes, mapping or {}
        self.ids = {t.id.lower(): t.id for t in codebook.themes} if codebook else {}
        self.labels = {t.label.strip().lower(): t.id for t in codebook.themes} if codebook else {}
        self.postures: dict[str, dict[str, str]] = {}
        for t in (codebook.themes if codebook else []):
            self.postures[t.id] = {**{s.lower(): s for s in t.sublabels},
                                   **{sub.label.strip().lower(): s for s, sub in t.sublabels.items()}}
        self.unmapped: set[str] = set()

    def path(self, g: str) -> str:
        c = self.codes[g]
        return f"{self.path(c['parent'])}/{c['name']}" if c["parent"] in self.codes else c["name"]

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
        if record:
            self.unmapped.add(self.path(g))
        return None, None


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


def read_qdpx_codings(path: str | Path, mapping: str | Path | dict | None = None, codebook=None) -> pd.DataFrame:
    """Coded selections of a ``.qdpx`` as a coded DataFrame (``CODED_COLUMNS``)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring
    if codebook is None:
        from ..themes.codebook import load_codebook
        codebook = load_codebook()
    if mapping is not None and not isinstance(mapping, dict):
        mapping = load_mapping(mapping)
    path = Path(path)
    if not path.is_file():
        raise TextmineError(E.E603, path=path, detail="file not found")
    with SafeZip(path) as z:
        qde = z.find("project.qde")
        if qde is None:
            raise TextmineError(E.E603, path=path, detail="no project.qde in the archive")
        try:
            root = fromstring(z.read(qde), forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise TextmineError(E.E603, path=f"{path}!project.qde", detail=f"unreadable XML ({exc})") from exc
        if _local(root.tag) != "Project":
            raise TextmineError(E.E603, path=path, detail=f"root element is {_local(root.tag)!r}, not Project")
        codes: dict[str, dict[str, Any]] = {}

        def walk(el, parent):
            for c in _children(el, "Code"):
                codes[c.get("guid")] = {"name": c.get("name") or "", "parent": parent, "desc": _desc(c)}
                walk(c, c.get("guid"))
        for cb in _children(root, "CodeBook"):
            for cs in _children(cb, "Codes"):
                walk(cs, None)
        res = _Resolver(codes, codebook, mapping)
        order = {t.id: i for i, t in enumerate(codebook.themes)} if codebook else {}
        rows, skipped = {}, []
        for sources in _children(root, "Sources"):
            for src in _children(sources, "TextSource"):
                text = _source_text(z, src, path)
                name = src.get("name") or src.get("guid")
                if text is None:
                    skipped.append(name)
                    continue
                iid = Path(name).stem
                for sel in _children(src, "PlainTextSelection"):
                    try:
                        a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
                    except (TypeError, ValueError):
                        raise TextmineError(E.E603, path=path, detail=f"selection {sel.get('guid')} has no valid positions") from None
                    if not (0 <= a < b <= len(text)):
                        raise TextmineError(E.E603, path=path, detail=f"selection {sel.get('guid')} [{a}, {b}) outside source {name!r} ({len(text)} chars)")
                    found = [res.theme_of(cr.get("targetGUID")) for cd in _children(sel, "Coding")
                             for cr in _children(cd, "CodeRef")]
                    themes = {t for t, _ in found if t}
                    if not themes:
                        continue
                    key = (src.get("guid"), a, b)
                    row = rows.setdefault(key, {"id": "qdpx-" + hashlib.sha1(f"{key}".encode()).hexdigest()[:10],
                                                "text": " ".join(text[a:b].split()), "themes": set(),
                                                "posture": None, "interview_id": iid})
                    row["themes"] |= themes
                    row["posture"] = row["posture"] or next((p for _, p in found if p), None)
    out = pd.DataFrame([{**r, "themes": ";".join(sorted(r["themes"], key=lambda t: (order.get(t, 999), t))),
                         "posture": r["posture"] or ""} for r in rows.values()], columns=CODED_COLUMNS)
    out.attrs["unmapped_codes"] = sorted(res.unmapped)
    out.attrs["skipped_sources"] = skipped
    return out
