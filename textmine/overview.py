"""Read-only views of a project's corpus: counts per wave x role, speakers, segments for export.

What ``textmine corpus``, ``speakers`` and ``segments export`` print. Apart from
:mod:`textmine.corpus` (ingest) so that these commands import no parser, role or
pseudonymisation code.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

import pandas as pd

from .records import sort_by_wave
from .store import Store, public_attrs


def corpus_stats(store: Store) -> pd.DataFrame:
    """Interviews, turns, words and segments per wave x role."""
    return sort_by_wave(store.corpus_counts())


def speakers_table(store: Store, reveal: bool = False) -> pd.DataFrame:
    """One row per speaker and interview: ``interview_id,source_file,speaker,role,turns,words,...``."""
    cols = ["interview_id", "source_file", "speaker", "role", "turns", "words", "role_method", "role_confidence",
            "role_evidence"]
    df = store.speakers_frame()
    if df.empty:
        return pd.DataFrame(columns=cols)
    src = store.interview_columns("interview_id", "source_file", "source_pseudo")
    df = df.drop(columns=["source_file"]).merge(src, on="interview_id", how="left")
    if "role_evidence" not in df.columns:     # a store written before the column existed
        df["role_evidence"] = ""
    df["role_evidence"] = df["role_evidence"].fillna("")
    if not reveal:
        df["source_file"] = df["source_pseudo"]
        df["speaker"] = df["speaker_pseudo"]
    else:   # evidence is stored with pseudonymous labels: give the real ones back
        df["source_file"] = df["source_file"].map(lambda s: Path(str(s)).name)
        real = {(r.interview_id, r.speaker_pseudo): r.speaker for r in df.itertuples()}
        df["role_evidence"] = [re.sub(r"\b[A-Z]+\d+\b", lambda m: real.get((iid, m.group()), m.group()), ev)
                               for iid, ev in zip(df["interview_id"], df["role_evidence"])]
    return df.reindex(columns=cols)


def export_segments(store: Store, *, reveal: bool = False, roles: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Segments with metadata for export; pseudonymised unless ``reveal``: placeholders for text,
    speakers and files, and only the extra metadata columns the sheet declared public."""
    df = store.segments_frame(roles=roles)
    df["attrs"] = [json.dumps(public_attrs(a, p, reveal=reveal), ensure_ascii=False)
                   for a, p in zip(df["attrs"], df["attrs_public"])]
    df = df.drop(columns=["attrs_public"])
    if reveal:
        df["source_file"] = df["source_file"].map(lambda s: Path(str(s)).name)
        return df
    df = df.drop(columns=["text", "text_raw", "speaker", "source_file"])
    return df.rename(columns={"text_pseudo": "text", "speaker_pseudo": "speaker", "source_pseudo": "source_file"})
