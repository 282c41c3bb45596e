"""Test/benchmark helpers for segmentation and pseudonymisation (no dependency on ingest).

``read_textgrid_turns`` is a deliberately small reader of Praat long-format TextGrids used
to feed real CFPP2000 speech to the segmenter before the project's ingestion is available;
it is not the product's parser (textmine.ingest is).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from textmine.records import TURN_COLUMNS

SHARED = Path(__file__).resolve().parents[2] / "shared"
CFPP = SHARED / "corpora" / "cfpp2000" / "TextGrid-corpus"

_TIER = re.compile(r'class = "IntervalTier"\s*name = "((?:[^"]|"")*)"')
_INTERVAL = re.compile(r'xmin = ([\d.]+)\s*xmax = ([\d.]+)\s*text = "((?:[^"]|"")*)"', re.S)
_SKIP_TIERS = {"turns", "sections", "comments", "tous"}


def read_textgrid_turns(path: Path, interview_id: str = "itv") -> tuple[pd.DataFrame, list[str]]:
    """-> (turns frame, tier names). Consecutive intervals of one speaker form one turn."""
    data = Path(path).read_text(encoding="utf-8")
    tiers = list(_TIER.finditer(data))
    items = []
    names = []
    for k, m in enumerate(tiers):
        name = m.group(1).replace('""', '"')
        names.append(name)
        if name.strip().lower() in _SKIP_TIERS:
            continue
        end = tiers[k + 1].start() if k + 1 < len(tiers) else len(data)
        for iv in _INTERVAL.finditer(data, m.end(), end):
            text = iv.group(3).replace('""', '"').strip()
            if text:
                items.append((float(iv.group(1)), float(iv.group(2)), name, text))
    items.sort(key=lambda x: (x[0], x[2]))
    turns = []
    for t0, t1, name, text in items:
        if turns and turns[-1]["speaker"] == name:
            turns[-1]["text"] += " " + text
            turns[-1]["end"] = t1
            continue
        role = "interviewer" if re.search(r"\benq\b", name, re.I) else "respondent"
        turns.append({"interview_id": interview_id, "turn_index": len(turns), "speaker": name, "role": role,
                      "text": text, "start": t0, "end": t1, "line": None, "char_start": None,
                      "char_end": None, "overlap": False})
    return pd.DataFrame(turns, columns=TURN_COLUMNS), names


def make_turns(rows: list[tuple], interview_id: str = "itv1") -> pd.DataFrame:
    """rows: (speaker, role, text[, start, end, line, char_start, char_end, marks]); ``marks``: the
    ``turns.marks`` JSON or a list of ``(offset, time, line)``."""
    out = []
    for i, r in enumerate(rows):
        r = list(r) + [None] * (9 - len(r))
        marks = r[8] if r[8] is None or isinstance(r[8], str) else json.dumps([list(m) for m in r[8]])
        out.append({"interview_id": interview_id, "turn_index": i, "speaker": r[0], "role": r[1], "text": r[2],
                    "start": r[3], "end": r[4], "line": r[5], "char_start": r[6], "char_end": r[7],
                    "overlap": False, "marks": marks})
    return pd.DataFrame(out, columns=TURN_COLUMNS)
