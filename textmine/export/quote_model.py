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


def attributed(row: Any) -> str:
    """The attribution a quote bank prints: the speaker's pseudonym (``CONUM1``), then the
    study-style attribution ``(Conum, association, territoire D, vague 2)``."""
    speaker = getattr(row, "speaker", None)
    speaker = "" if speaker is None or (isinstance(speaker, float) and speaker != speaker) else str(speaker).strip()
    return f"{speaker} {row.attribution}" if speaker else str(row.attribution)


def grouped(df: pd.DataFrame):
    """Yield ``(theme_label, [(wave, [(role_label, rows)])])`` in the frame's order."""
    for theme_label, g in df.groupby("theme_label", sort=False):
        waves = []
        for wave, gw in g.groupby("wave", sort=False):
            waves.append((wave, [(rl, gr) for rl, gr in gw.groupby("role_label", sort=False)]))
        yield theme_label, waves
