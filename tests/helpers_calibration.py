"""A synthetic project with a drawn calibration sample and human codes that differ from the coder's.

The "human" codes are the coder's codes except that the coder over-reports ``precarite`` in 2023:
the humans drop it from every third such segment (by segment order), so raw and corrected
figures differ by a known amount.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers_track import build_store
from textmine.calibrate import sample as cal_sample
from textmine.calibrate import tables
from textmine.store import Store

OVER = "precarite"


def human_codes(store: Store, segment_ids=None) -> pd.DataFrame:
    """``segment_id, themes, posture`` of the planted human coding (every respondent segment)."""
    tc = store.query("SELECT t.segment_id, t.theme, t.posture, i.wave FROM theme_codings t JOIN segments s "
                     "USING (segment_id) JOIN interviews i USING (interview_id) WHERE t.assigned "
                     "ORDER BY t.segment_id, t.theme")
    seg = store.segments_frame(roles="respondents")[["segment_id", "wave"]]
    themes_of = tc.groupby("segment_id")["theme"].apply(list).to_dict()
    posture_of = tc.dropna(subset=["posture"]).groupby("segment_id")["posture"].first().to_dict()
    rows = []
    drop_k = 0
    for sid, wave in zip(seg["segment_id"], seg["wave"].astype(str)):
        themes = list(themes_of.get(sid, []))
        if wave == "2023" and OVER in themes:
            if drop_k % 3 == 0:
                themes.remove(OVER)
            drop_k += 1
        rows.append({"segment_id": sid, "themes": ";".join(themes), "posture": posture_of.get(sid, "")})
    out = pd.DataFrame(rows)
    return out if segment_ids is None else out[out["segment_id"].isin(set(segment_ids))].reset_index(drop=True)


def calibrated_project(path: Path, *, n: int = 40, seed: int = 3, unit: str = "segments", coder: str = "alice",
                       **kw) -> Path:
    """Build, draw a sample of ``n`` per wave, store the planted human codes of the sampled segments."""
    build_store(path, n_per_wave=kw.pop("n_per_wave", 12), segs_per_interview=kw.pop("segs_per_interview", 20),
                n_panel=6, seed=seed).close()
    with Store(path) as store:
        drawn = cal_sample.draw_sample(store, n=n, unit=unit, **kw)
        cal_sample.save(store, drawn)
        store_codes(store, coder)
    return path


def store_codes(store: Store, coder: str, segment_ids=None, sample: str | None = None) -> pd.DataFrame:
    """Store ``coder``'s planted codes of ``segment_ids`` (default: every sampled segment) as if
    imported from ``sample``'s sheet (default: the first sample that drew each segment)."""
    u = tables.units(store, None if sample is None else [sample])
    ids = u["segment_id"] if segment_ids is None else segment_ids
    h = human_codes(store, ids).merge(u[["segment_id", "sample_id", "text_hash"]].drop_duplicates("segment_id"),
                                      on="segment_id")
    rows = h.assign(coder=coder, coded_at="2026-01-01", source="test", row="1")
    tables.save_codes(store, rows)
    return rows
