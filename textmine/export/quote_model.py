"""The quote model the quote-bank writers share: the columns of a quote bank, a quote's
printed attribution, the grouping theme > wave > role, and the provenance lines.

Apart from :mod:`textmine.export.quotes` (selection) so that the writers
(:mod:`.writer_docx`, :mod:`.writer_xlsx`, :mod:`.writers_md_csv`) import it and
:mod:`.quotes` imports the writers, without a cycle.
"""
from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath
from typing import Any

import pandas as pd

QUOTE_COLUMNS = [
    "quote_id", "theme", "theme_label", "wave", "role", "role_label", "rank", "quote", "attribution",
    "citation", "source", "question", "territory", "structure_type", "interview_id", "segment_id",
    "speaker", "line", "start", "score", "representativeness", "posture", "n_words",
]

_HIDDEN = {"corpus_dir", "config", "packages", "python"}


def provenance_items(prov: dict[str, Any]) -> list[tuple[str, str]]:
    """Scalar provenance fields as ``(key, value)`` text pairs (nested dicts and hidden keys left
    out); an absolute local path (the codebook, a model folder) is shown by its file name only."""
    items = []
    for k, v in prov.items():
        if k in _HIDDEN or isinstance(v, (list, dict)):
            continue
        text = "" if v is None else str(v)
        if _is_local_path(text):
            text = PureWindowsPath(text).name if "\\" in text else Path(text).name
        items.append((str(k), text))
    return items


def _is_local_path(text: str) -> bool:
    return text.startswith(("/", "~")) or bool(re.match(r"^[A-Za-z]:[\\/]|^\\\\", text))


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def attributed(row: Any) -> str:
    """The attribution a quote bank prints: who, then the study-style attribution ``(Conum,
    association, territoire D, vague 2)``. Who is the speaker's pseudonym within its interview,
    ``itv-3f2a/CONUM1``: speaker labels are numbered per interview, so ``CONUM1`` alone would
    stand for a different person in each interview (the interview id is pseudonymous, the one
    the source reference names)."""
    speaker, interview = _text(getattr(row, "speaker", None)), _text(getattr(row, "interview_id", None))
    who = f"{interview}/{speaker}" if speaker and interview else speaker
    return f"{who} {row.attribution}" if who else str(row.attribution)


def grouped(df: pd.DataFrame):
    """Yield ``(theme_label, [(wave, [(role_label, rows)])])`` in the frame's order."""
    for theme_label, g in df.groupby("theme_label", sort=False):
        waves = []
        for wave, gw in g.groupby("wave", sort=False):
            waves.append((wave, [(rl, gr) for rl, gr in gw.groupby("role_label", sort=False)]))
        yield theme_label, waves
