"""Pseudonymised attribution and source references, in the study's style.

``attribution(row)`` -> ``« (Conum, association, territoire D, vague 2) »`` without the
guillemets; ``source_ref(row)`` -> ``itv-3f2a.docx, l. 42`` or ``ENQ07.trs, 00:12:03``.
``row`` is a mapping with the columns of :meth:`textmine.store.Store.segments_frame`.
With ``reveal=True`` the real file name is shown instead of the pseudonymous one.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from .i18n import ATTRIBUTION, ROLE_LABELS, strings

def _val(row: Mapping[str, Any], key: str) -> str | None:
    v = row.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
        return None
    return str(v)


def role_label(role: str | None, language: str = "fr") -> str:
    labels = ROLE_LABELS["fr" if language == "fr" else "en"]
    return labels.get(role or "", (role or "").replace("_", " ").capitalize())


def attribution(row: Mapping[str, Any], language: str = "fr") -> str:
    """``(Conum, association, territoire D, vague 2)`` — only pseudonymous fields."""
    t = strings(ATTRIBUTION, "fr" if language == "fr" else "en")
    parts = [role_label(_val(row, "role"), language)]
    st = _val(row, "structure_type")
    if st:
        parts.append(t["structures"].get(st, st.replace("_", " ")))
    terr = _val(row, "territory")
    if terr:
        parts.append(t["territory"].format(terr))
    wave = _val(row, "wave")
    if wave:
        parts.append(t["wave"].format(wave))
    return "(" + ", ".join(parts) + ")"


def format_time(seconds: float | None) -> str | None:
    """``hh:mm:ss`` of a start time, rounded down: a player set to the timecode starts at or
    before the quote, never after its first words (23.5 s is ``00:00:23``)."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return None
    s = int(math.floor(float(seconds) + 1e-6))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def source_ref(row: Mapping[str, Any], reveal: bool = False) -> str:
    """``<file>, l. <line>`` or ``<file>, <hh:mm:ss>`` (pseudonymous file name unless reveal)."""
    name = _val(row, "source_file" if reveal else "source_pseudo") or _val(row, "interview_id") or "?"
    if reveal:
        name = name.replace("\\", "/").rsplit("/", 1)[-1]
    t = format_time(row.get("start"))
    if t:
        return f"{name}, {t}"
    line = row.get("line")
    if line is not None and not (isinstance(line, float) and math.isnan(line)):
        return f"{name}, l. {int(line)}"
    return name


def display_text(row: Mapping[str, Any], reveal: bool = False) -> str:
    """The text a command may show: pseudonymised unless ``reveal``."""
    return str(row.get("text") if reveal else row.get("text_pseudo") or "")
