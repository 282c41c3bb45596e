"""Change of prevalence between two waves, with uncertainty and multiple-testing control.

For each item (and group with ``by``): ``delta = share(wave_to) - share(wave_from)``; a
95 % interval from independent cluster bootstraps of the two waves' interviews; a
two-sided permutation p-value (wave labels of interviews shuffled, ``track.n_perm``);
Benjamini–Hochberg q-values computed per kind (themes, posture sub-labels, topics)
across all items x groups of the output — the ``correction`` column says so.

With a human calibration sample (``estimator``, see :mod:`.calibrated`), a change both of whose
waves the sample covers is the difference of the corrected shares, with the same bootstrap
interval on the pseudo-outcomes and a bootstrap p-value; the other rows are raw and say so.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..store import Store
from ..stats import bh_qvalues, change_interval, cluster_sums, percentile_ci, permutation_pvalues, rng_for, share
from .calibrated import boot_pvalue, calibration, few_errors_variance, labels_for, sample_attrs, widen
from .data import KINDS, TrackData, check_by, check_waves, load_items
from .prevalence import _cell_groups, _clean_key, check_measure, clusters

CORRECTION = "benjamini-hochberg (q-values per kind, across items x groups)"


def changes(store: Store, wave_from: str, wave_to: str, by: Sequence[str] | None = None,
            measure: str = "segments", themes: Sequence[str] | None = None, explain: bool = False, *,
            kinds: Sequence[str] = KINDS, data: TrackData | None = None, estimator: str | None = "auto",
            coder: str | None = None, sample: str | None = None, reveal: bool = False) -> pd.DataFrame:
    """One row per item (x group): ``kind, theme, label, <by...>, wave_from, wave_to, share_from,
    share_to, delta, ci_low, ci_high, p_value, q_value, significant, n_interviews_from,
    n_interviews_to, small_cell, status, estimator, n_calibration, correction``. ``status`` is
    ``appeared``/``vanished`` for items absent from one wave (useful for topics), ``missing_wave``
    for a group without interviews in one of the waves (no delta then). ``estimator`` is
    ``calibrated`` when both waves' figures are corrected (``n_calibration``: human-coded units
    behind them, ``n_calibration_from``/``_to`` per wave), else ``raw``."""
    check_measure(measure)
    data = data if data is not None else load_items(store, kinds=kinds, themes=themes, reveal=reveal,
                                                    with_text=False)
    cal = calibration(store, data, estimator, coder=coder, sample=sample)
    wave_from, wave_to = str(wave_from), str(wave_to)
    check_waves([wave_from, wave_to], data.waves())
    seg_all = data.segments
    by = [b for b in check_by(list(by or []), seg_all, data.withheld) if b != "wave"]
    mask = seg_all["wave"].isin([wave_from, wave_to]).to_numpy()
    seg = seg_all[mask].reset_index(drop=True)
    X = data.X[mask]
    cfg, rs = store.config.track, store.config.random_state
    codes, cl = clusters(seg, by + ["wave"])
    num_all, den_all = cluster_sums(codes, len(cl), X, seg["n_words"].to_numpy(), measure)
    hits_all, _ = cluster_sums(codes, len(cl), X, seg["n_words"].to_numpy(), "segments")
    T = len(data.items)
    if cal is not None:
        sub = cal.subset(mask)
        num_cal, n_cal, cov_cal = sub.cluster_terms(codes, len(cl), seg["n_words"].to_numpy(), measure)
        units = sub.coded_units(codes, len(cl), seg["n_words"].to_numpy(), measure)
    is_to_all = (cl["wave"] == wave_to).to_numpy()
    seg_ids = seg["segment_id"].to_numpy()
    rows = []
    for key, cidx in _cell_groups(cl, by):
        f_idx, t_idx = cidx[~is_to_all[cidx]], cidx[is_to_all[cidx]]
        n_f = int(cl["interview_id"].iloc[f_idx].nunique())
        n_t = int(cl["interview_id"].iloc[t_idx].nunique())
        use = np.zeros(T, dtype=bool)
        if cal is not None and len(f_idx) and len(t_idx):
            use = cal.use(n_cal[f_idx], cov_cal[f_idx]) & cal.use(n_cal[t_idx], cov_cal[t_idx])
        num = np.where(use[None, :], num_cal[cidx], num_all[cidx]) if use.any() else num_all[cidx]
        num_f, num_t = num[~is_to_all[cidx]], num[is_to_all[cidx]]
        sh_f = share(num_f, den_all[f_idx])
        sh_t = share(num_t, den_all[t_idx])
        if len(f_idx) and len(t_idx):
            _, lo, hi, reps = change_interval(num_f, den_all[f_idx], num_t, den_all[t_idx], cfg.n_boot, cfg.alpha,
                                              rng_for(rs, "chg", measure, key, wave_from),
                                              rng_for(rs, "chg", measure, key, wave_to))
            p = permutation_pvalues(num_all[cidx], den_all[cidx], is_to_all[cidx], cfg.n_perm,
                                    rng_for(rs, "perm", measure, key, wave_from, wave_to))
            if use.any():      # few disagreements in either wave's sample: the bootstrap alone is too narrow
                extra = (few_errors_variance(units, f_idx) / max(float(den_all[f_idx].sum()), 1e-12) ** 2
                         + few_errors_variance(units, t_idx) / max(float(den_all[t_idx].sum()), 1e-12) ** 2)
                reps = widen(reps, np.where(use, extra, 0.0), rng_for(rs, "chg-widen", measure, key, wave_from,
                                                                       wave_to))
                lo_w, hi_w = percentile_ci(reps, cfg.alpha)
                lo, hi = np.where(use, lo_w, lo), np.where(use, hi_w, hi)
                p = np.where(use, boot_pvalue(reps), p)
        else:
            lo = hi = p = np.full(len(data.items), np.nan)
        d = sh_t - sh_f                      # unclipped: the corrected change is unbiased
        if use.any():                        # shares shown within [0, 1]
            sh_f, sh_t = np.where(use, np.clip(sh_f, 0, 1), sh_f), np.where(use, np.clip(sh_t, 0, 1), sh_t)
        n_cf = int(n_cal[f_idx].sum()) if use.any() else 0
        n_ct = int(n_cal[t_idx].sum()) if use.any() else 0
        est = labels_for(use)
        hits_f, hits_t = hits_all[f_idx].sum(axis=0), hits_all[t_idx].sum(axis=0)
        if explain:
            in_cell = np.isin(codes, cidx)
        for j, item in enumerate(data.items):
            status = ""
            if n_f == 0 or n_t == 0:
                status = "missing_wave"      # the group has no interview in one of the waves
            elif hits_f[j] == 0 and hits_t[j] > 0:
                status = "appeared"
            elif hits_f[j] > 0 and hits_t[j] == 0:
                status = "vanished"
            row = {"kind": data.kinds[j], "theme": item, "label": data.labels.get(item, item)}
            row.update({b: _clean_key(k) for b, k in zip(by, key)})
            row.update(wave_from=wave_from, wave_to=wave_to, measure=measure, share_from=float(sh_f[j]),
                       share_to=float(sh_t[j]), delta=float(d[j]), ci_low=float(lo[j]),
                       ci_high=float(hi[j]), p_value=float(p[j]), n_interviews_from=n_f, n_interviews_to=n_t,
                       n_hits_from=int(hits_f[j]), n_hits_to=int(hits_t[j]),
                       small_cell=bool(min(n_f, n_t) < cfg.min_interviews), status=status, estimator=est[j],
                       n_calibration=(n_cf + n_ct) if use[j] else 0, n_calibration_from=n_cf if use[j] else 0,
                       n_calibration_to=n_ct if use[j] else 0)
            if explain:
                row["segment_ids"] = seg_ids[in_cell & X[:, j]].tolist()
            rows.append(row)
    df = pd.DataFrame(rows)
    any_cal = bool(len(df)) and bool((df["estimator"] == "calibrated").any())
    df.attrs.update(sample_attrs(cal, measure, [wave_from, wave_to] if any_cal else [], waves=[wave_from, wave_to]))
    df.attrs["alpha"] = cfg.alpha             # the intervals' level is 1 - alpha (tables say so)
    if df.empty:
        return df
    df["q_value"] = np.nan
    for kind in df["kind"].unique():
        m = (df["kind"] == kind).to_numpy()
        df.loc[m, "q_value"] = bh_qvalues(df.loc[m, "p_value"].to_numpy())
    df["significant"] = (df["q_value"] < cfg.alpha).fillna(False).astype(bool)
    df["ci_excludes_zero"] = ((df["ci_low"] > 0) | (df["ci_high"] < 0)).astype(bool)
    df["correction"] = CORRECTION
    first = ["kind", "theme", "label", *by, "wave_from", "wave_to", "measure", "share_from", "share_to",
             "delta", "ci_low", "ci_high", "p_value", "q_value", "significant", "ci_excludes_zero"]
    return df[first + [c for c in df.columns if c not in first]]
