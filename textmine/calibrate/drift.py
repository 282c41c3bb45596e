"""The coder against the human calibration codes, wave by wave, and its drift between waves.

- :func:`agreement_by_wave` — per wave, on the coded segments of the wave's sample: precision,
  recall, F1, Cohen's kappa per theme (:mod:`textmine.themes.agreement`), with 95 % intervals
  from a bootstrap over interviews. These are figures *on the sample*: with over-sampled uncertain
  segments they are lower than on the whole wave. Several coders: a theme counts as coded by the
  humans when at least half of the segment's coders gave it.
- :func:`coder_drift` — per theme, the coder's error rate (share of segments where it disagrees
  with the humans) in each of two waves, estimated over the wave (each coded segment weighted by
  1 / its inclusion probability), the change with a cluster-bootstrap interval, a bootstrap
  p-value and Benjamini–Hochberg q-values. A significant change means the raw changes between
  these waves are biased by the coder itself; the corrected figures are not.
- :func:`coder_agreement` — two human coders on the segments both coded (each coder's latest
  code of a segment coded through several samples' sheets).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..store import Store
from ..themes.agreement import agreement_intervals, agreement_table, posture_agreement
from ..stats import bh_qvalues, change_interval, rng_for, share
from ..track.calibrated import Calibration, boot_pvalue, calibration, human_matrix
from ..track.data import POSTURE_PREFIX, TrackData, check_waves, load_items
from . import tables


def _view(store: Store, data: TrackData | None, coder: str | None, sample: str | None):
    data = data if data is not None else load_items(store, kinds=("theme", "posture"))
    cal = calibration(store, data, "calibrated", coder=coder, sample=sample)
    return data, cal


def _posture_labels(M: np.ndarray, data: TrackData) -> list:
    idx = [j for j, k in enumerate(data.kinds) if k == "posture"]
    out = []
    for row in M[:, idx] if idx else np.zeros((len(M), 0)):
        j = int(np.argmax(row)) if len(row) else 0
        out.append(data.items[idx[j]][len(POSTURE_PREFIX):] if len(row) and row[j] >= 0.5 else None)
    return out


def agreement_by_wave(store: Store, data: TrackData | None = None, *, coder: str | None = None,
                      sample: str | None = None, n_boot: int = 1000) -> dict[str, dict]:
    """``wave -> {"n", "sample", "table" (per theme + macro, with kappa/F1 intervals), "posture"}``."""
    data, cal = _view(store, data, coder, sample)
    theme_idx = [j for j, k in enumerate(data.kinds) if k == "theme"]
    ids = [data.items[j] for j in theme_idx]
    waves = data.segments["wave"].astype(str).to_numpy()
    y = cal.y
    out = {}
    for w in data.waves():
        rows = np.flatnonzero(cal.coded & (waves == w))
        if not len(rows):
            continue
        Y_ref = (y[rows][:, theme_idx] >= 0.5).astype(int)
        Y_cod = (cal.yhat[rows][:, theme_idx] >= 0.5).astype(int)
        table = agreement_table(Y_ref, Y_cod, ids)
        if n_boot:
            ci = agreement_intervals(Y_ref, Y_cod, ids, data.segments["interview_id"].to_numpy()[rows],
                                     n_boot=n_boot, random_state=store.config.random_state)
            table = table.merge(ci, on="theme", how="left")
        pa = posture_agreement(_posture_labels(y[rows], data), _posture_labels(cal.yhat[rows], data))
        out[w] = {"n": int(len(rows)), "sample": cal.samples.get(w), "table": table, "posture": pa}
    return out


def error_terms(cal: Calibration, rows: np.ndarray, item_idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per coded segment of ``rows``: |human − coder| per item (plus their mean) and 1/π."""
    e = np.abs(cal.y[rows][:, item_idx] - cal.yhat[rows][:, item_idx])
    return np.column_stack([e, e.mean(axis=1)]), 1.0 / cal.pi[rows]


def coder_drift(store: Store, wave_from: str, wave_to: str, data: TrackData | None = None, *,
                coder: str | None = None, sample: str | None = None) -> pd.DataFrame:
    """One row per theme (and ``all themes``): the coder's error rate in each wave, its change,
    95 % interval, bootstrap p-value, BH q-value and ``significant`` (q < track.alpha). Empty
    when one of the waves has no usable calibration sample."""
    data, cal = _view(store, data, coder, sample)
    wave_from, wave_to = str(wave_from), str(wave_to)
    check_waves([wave_from, wave_to], data.waves())
    cols = ["theme", "wave_from", "wave_to", "error_from", "error_to", "delta", "ci_low", "ci_high", "p_value",
            "q_value", "significant", "n_from", "n_to"]
    if wave_from not in cal.samples or wave_to not in cal.samples:
        return pd.DataFrame(columns=cols)
    item_idx = [j for j, k in enumerate(data.kinds) if k == "theme"]
    names = [data.items[j] for j in item_idx] + ["all themes"]
    waves = data.segments["wave"].astype(str).to_numpy()
    itv = data.segments["interview_id"].to_numpy()
    cfg = store.config.track
    parts, counts = [], []
    for w in (wave_from, wave_to):
        rows = np.flatnonzero(cal.coded & (waves == w))
        e, wt = error_terms(cal, rows, item_idx)
        codes = pd.factorize(itv[rows])[0]
        num = np.zeros((codes.max() + 1 if len(codes) else 0, e.shape[1]))
        np.add.at(num, codes, e * wt[:, None])
        parts.append((num, np.bincount(codes, weights=wt)))
        counts.append(len(rows))
    (nf, df_), (nt, dt) = parts
    rs = store.config.random_state
    delta, lo, hi, reps = change_interval(nf, df_, nt, dt, cfg.n_boot, cfg.alpha, rng_for(rs, "drift", wave_from),
                                          rng_for(rs, "drift", wave_to))
    p = boot_pvalue(reps)
    q = np.append(bh_qvalues(p[:-1]), p[-1])       # BH across themes; the overall row is one test
    ef, et = share(nf, df_), share(nt, dt)
    out = pd.DataFrame({"theme": names, "wave_from": wave_from, "wave_to": wave_to, "error_from": ef,
                        "error_to": et, "delta": delta, "ci_low": lo, "ci_high": hi, "p_value": p, "q_value": q,
                        "n_from": counts[0], "n_to": counts[1]})
    out["significant"] = (out["q_value"] < cfg.alpha).fillna(False).astype(bool)
    return out[cols]


def coder_agreement(store: Store, data: TrackData | None = None) -> pd.DataFrame:
    """Per pair of human coders with shared segments: n, macro kappa and F1, and the themes'
    kappas (``kappa_<theme>``), on the segments both coded (a coder's latest code of a segment
    coded through several samples' sheets)."""
    cod = tables.latest_codes(store)
    names = sorted(cod["coder"].unique())
    if len(names) < 2:
        return pd.DataFrame(columns=["coder_a", "coder_b", "n", "kappa", "f1"])
    data = data if data is not None else load_items(store, kinds=("theme", "posture"))
    theme_idx = [j for j, k in enumerate(data.kinds) if k == "theme"]
    ids = [data.items[j] for j in theme_idx]
    mats = {c: human_matrix(data, cod[cod["coder"] == c]) for c in names}
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = mats[a][1] & mats[b][1]
            if not both.any():
                continue
            t = agreement_table(mats[a][0][both][:, theme_idx], mats[b][0][both][:, theme_idx], ids)
            m = t[t["theme"] == "macro"].iloc[0]
            row = {"coder_a": a, "coder_b": b, "n": int(both.sum()), "kappa": m["kappa"], "f1": m["f1"]}
            row.update({f"kappa_{r.theme}": r.kappa for r in t.itertuples() if r.theme in ids})
            rows.append(row)
    return pd.DataFrame(rows)
