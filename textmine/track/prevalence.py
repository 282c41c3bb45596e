"""Prevalence of themes / posture sub-labels / topics by any combination of attributes.

Three measures: share of respondent ``segments`` carrying the item, share of respondent
``words`` in those segments, share of ``interviews`` mentioning it at least once. 95 %
intervals come from a cluster bootstrap over interviews (``track.n_boot`` replicates,
seeded by ``random_state``).

``estimator``: ``calibrated`` figures are corrected with a human calibration sample
(:mod:`.calibrated`), ``raw`` ones are the coder's output; the default (``auto``) corrects every
figure a sample covers and labels the others ``raw``. Corrected shares and their intervals are
clipped to [0, 1] (a correction can push a small share below 0).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from ..records import wave_key
from ..store import Store
from ..stats import MEASURES, boot_shares, cluster_sums, percentile_ci, rng_for, share
from .calibrated import calibration, few_errors_variance, labels_for, sample_attrs, widen
from .data import KINDS, TrackData, check_by, load_items


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise TextmineError(E.E005, detail=f"measure {measure!r}; valid: {', '.join(MEASURES)}")
    return measure


def clusters(seg: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Cluster code per segment (one cluster = the segments of one interview within a cell)
    and a frame of clusters with their cell key columns."""
    keys = by + ["interview_id"]
    g = seg.groupby(keys, dropna=False, sort=True)
    codes = g.ngroup().to_numpy()
    cl = g.size().reset_index(name="n_segments")
    return codes, cl


def _cell_groups(cl: pd.DataFrame, by: list[str]) -> list[tuple[tuple, np.ndarray]]:
    if not by:
        return [((), np.arange(len(cl)))]
    out = []
    for key, idx in cl.groupby(by, dropna=False, sort=True).indices.items():
        out.append((key if isinstance(key, tuple) else (key,), np.asarray(idx)))
    # natural order ("9" before "10", "vague2" before "vague10"); missing values last
    return sorted(out, key=lambda kv: [(1, []) if _clean_key(v) is None else (0, wave_key(v)) for v in kv[0]])


def _clean_key(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def prevalence(store: Store, by: Sequence[str] | None = ("wave",), measure: str = "segments",
               themes: Sequence[str] | None = None, explain: bool = False, *,
               kinds: Sequence[str] = KINDS, data: TrackData | None = None, estimator: str | None = "auto",
               coder: str | None = None, sample: str | None = None, reveal: bool = False) -> pd.DataFrame:
    """One row per cell x item: ``kind, theme, label, <by...>, measure, share, ci_low, ci_high,
    n_segments, n_interviews, n_hits, n_interviews_hit, small_cell, estimator, n_calibration``
    (+ ``segment_ids`` with ``explain``). ``n_segments``/``n_interviews`` count the cell's
    respondent segments and interviews (the base of the share); ``n_hits`` the segments the coder
    gives the item; ``n_calibration`` the human-coded units behind a corrected figure."""
    check_measure(measure)
    data = data if data is not None else load_items(store, kinds=kinds, themes=themes, reveal=reveal,
                                                    with_text=False)
    cal = calibration(store, data, estimator, coder=coder, sample=sample)
    seg = data.segments
    by = check_by(list(by or []), seg, data.withheld)
    cfg = store.config.track
    rs = store.config.random_state
    codes, cl = clusters(seg, by)
    num_all, den_all = cluster_sums(codes, len(cl), data.X, seg["n_words"].to_numpy(), measure)
    hits_all, _ = cluster_sums(codes, len(cl), data.X, seg["n_words"].to_numpy(), "segments")
    if cal is not None:
        num_cal, n_cal, cov_cal = cal.cluster_terms(codes, len(cl), seg["n_words"].to_numpy(), measure)
        units = cal.coded_units(codes, len(cl), seg["n_words"].to_numpy(), measure)
    seg_ids = seg["segment_id"].to_numpy()
    itv_code = pd.factorize(cl["interview_id"])[0]        # -1: a missing id (nunique leaves it out)
    cl_wave = np.empty(len(cl), dtype=object)             # a cluster is one interview: one wave
    cl_wave[codes] = seg["wave"].astype(str).to_numpy()
    corrected_waves: set[str] = set()
    rows = []
    for key, cidx in _cell_groups(cl, by):
        num, den = num_all[cidx], den_all[cidx]
        use = cal.use(n_cal[cidx], cov_cal[cidx]) if cal is not None else np.zeros(len(data.items), dtype=bool)
        if use.any():
            num = np.where(use[None, :], num_cal[cidx], num)
            corrected_waves |= set(cl_wave[cidx])
        reps = boot_shares(num, den, cfg.n_boot, rng_for(rs, "prevalence", measure, key))
        if use.any():          # few disagreements in the sample: the bootstrap alone is too narrow
            extra = few_errors_variance(units, cidx) / max(float(den.sum()), 1e-12) ** 2
            reps = widen(reps, np.where(use, extra, 0.0), rng_for(rs, "prevalence-widen", measure, key))
        lo, hi = percentile_ci(reps, cfg.alpha)
        sh = share(num, den)
        if use.any():
            sh, lo, hi = (np.where(use, np.clip(v, 0.0, 1.0), v) for v in (sh, lo, hi))
        n_used = int(n_cal[cidx].sum()) if use.any() else 0
        est = labels_for(use)
        n_itv = int(cl["interview_id"].iloc[cidx].nunique())
        n_seg = int(cl["n_segments"].iloc[cidx].sum())
        hits = hits_all[cidx]
        ic = itv_code[cidx]
        itv_hit = [len(np.unique(ic[(hits[:, j] > 0) & (ic >= 0)])) for j in range(hits.shape[1])]
        in_cell = np.isin(codes, cidx) if explain else None
        for j, item in enumerate(data.items):
            row = {"kind": data.kinds[j], "theme": item, "label": data.labels.get(item, item)}
            row.update({b: _clean_key(k) for b, k in zip(by, key)})
            row.update(measure=measure, share=float(sh[j]), ci_low=float(lo[j]), ci_high=float(hi[j]),
                       n_segments=n_seg, n_interviews=n_itv, n_hits=int(hits[:, j].sum()),
                       n_interviews_hit=itv_hit[j],
                       small_cell=bool(n_itv < cfg.min_interviews), estimator=est[j],
                       n_calibration=n_used if use[j] else 0)
            if explain:
                row["segment_ids"] = seg_ids[in_cell & data.X[:, j]].tolist()
            rows.append(row)
    cols = ["kind", "theme", "label", *by, "measure", "share", "ci_low", "ci_high", "n_segments",
            "n_interviews", "n_hits", "n_interviews_hit", "small_cell", "estimator", "n_calibration"] + \
        (["segment_ids"] if explain else [])
    out = pd.DataFrame(rows, columns=cols)
    out.attrs.update(sample_attrs(cal, measure, corrected_waves))
    out.attrs["alpha"] = cfg.alpha            # the intervals' level is 1 - alpha (tables say so)
    return out
