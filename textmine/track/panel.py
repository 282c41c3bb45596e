"""Panel analysis: respondents (``respondent_id``) interviewed in two waves.

Per respondent: share of their respondent segments carrying each theme in each wave and
its change; the dominant posture sub-label per wave (most segments, ties broken by the
summed coding score), transition table, and the respondents who moved, each with one
pseudonymised quote per wave (the highest-scoring segment with the dominant sub-label).

With a human calibration sample covering both waves (:mod:`.calibrated`), the theme summary's
``mean_delta`` (the mean over panel respondents of their change in share) is corrected: it is
linear in the segments' pseudo-outcomes, so it stays unbiased. Its 95 % interval resamples
respondents. The per-respondent shares, the up/down/same counts, the dominant postures and the
transitions are not linear (a sign, an arg-max): they stay the coder's raw output.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..attribution import attribution, display_text, source_ref
from ..errors import E, TextmineError
from ..store import Store
from ..stats import percentile_ci, resample_weights, rng_for
from .calibrated import calibration, few_errors_variance, labels_for, widen
from .data import KINDS, POSTURE_PREFIX, TrackData, check_waves, load_items

NONE = "none"


@dataclass
class PanelResult:
    wave_from: str
    wave_to: str
    respondents: pd.DataFrame   # respondent_id, role, n_segments_from/to, posture_from/to, moved
    themes: pd.DataFrame        # respondent_id, theme, label, share_from, share_to, delta
    theme_summary: pd.DataFrame  # theme, label, n_respondents, n_up, n_down, n_same, mean_delta, ci_low, ci_high,
    #                              estimator, n_calibration
    transitions: pd.DataFrame   # posture_from, posture_to, n_respondents
    movers: pd.DataFrame        # respondent_id, posture_from/to, quote/attribution/source/segment_id per wave


def _dominant(counts: np.ndarray, scores: np.ndarray, labels: list[str]) -> str:
    if counts.size == 0 or counts.max() <= 0:
        return NONE
    best = np.lexsort((-scores, -counts))[0]   # most segments first, then highest summed score
    return labels[best]


def panel(store: Store, wave_from: str | None = None, wave_to: str | None = None, *,
          themes: Sequence[str] | None = None, reveal: bool = False, language: str = "fr",
          data: TrackData | None = None, estimator: str | None = "auto", coder: str | None = None,
          sample: str | None = None) -> PanelResult:
    data = data if data is not None else load_items(store, kinds=KINDS)
    cal = calibration(store, data, estimator, coder=coder, sample=sample)
    waves = data.waves()
    if wave_from is None or wave_to is None:
        if len(waves) < 2:
            raise TextmineError(E.E502, detail=f"a panel needs two waves; waves in this project: {', '.join(waves)}")
        wave_from, wave_to = wave_from or waves[0], wave_to or waves[-1]
    wave_from, wave_to = str(wave_from), str(wave_to)
    check_waves([wave_from, wave_to], waves)
    seg = data.segments
    has_rid = seg["respondent_id"].notna() & (seg["respondent_id"].astype(str).str.strip() != "")
    both = (seg[has_rid & seg["wave"].isin([wave_from, wave_to])]
            .groupby("respondent_id")["wave"].nunique())
    ids = sorted(both[both == 2].index.astype(str))
    mask = (has_rid & seg["respondent_id"].astype(str).isin(ids) & seg["wave"].isin([wave_from, wave_to])).to_numpy()
    s = seg[mask].reset_index(drop=True)
    X, S = data.X[mask], np.nan_to_num(data.scores[mask])
    sub = cal.subset(mask) if cal is not None else None
    Yt = sub.pseudo() if sub is not None else None
    corrected = np.zeros(len(data.items), dtype=bool)
    if sub is not None and len(s):
        corrected = sub.use(np.array([sub.coded.sum()], dtype=float), np.array([sub.covered.all()]))
    delta_cal: dict[str, list[float]] = {}
    theme_idx = [j for j, k in enumerate(data.kinds) if k == "theme" and (not themes or data.items[j] in themes)]
    post_idx = [j for j, k in enumerate(data.kinds) if k == "posture"]
    post_labels = [data.items[j][len(POSTURE_PREFIX):] for j in post_idx]
    resp_rows, theme_rows, mover_rows = [], [], []
    key = s["respondent_id"].astype(str) + "\x1f" + s["wave"].astype(str)
    groups = s.groupby(key, sort=False).indices
    need_text: dict[str, dict] = {}
    for rid in ids:
        gf, gt = groups.get(f"{rid}\x1f{wave_from}", []), groups.get(f"{rid}\x1f{wave_to}", [])
        dom = {}
        for w, g in ((wave_from, gf), (wave_to, gt)):
            cnt = X[g][:, post_idx].sum(axis=0) if post_idx else np.zeros(0)
            sc = S[g][:, post_idx].sum(axis=0) if post_idx else np.zeros(0)
            dom[w] = _dominant(cnt, sc, post_labels)
        role = s["role"].iloc[np.concatenate([gf, gt])].mode().iloc[0]
        moved = NONE not in (dom[wave_from], dom[wave_to]) and dom[wave_from] != dom[wave_to]
        resp_rows.append({"respondent_id": rid, "role": role, "n_segments_from": len(gf), "n_segments_to": len(gt),
                          "posture_from": dom[wave_from], "posture_to": dom[wave_to], "moved": moved})
        for j in theme_idx:
            a, b = float(X[gf, j].mean()), float(X[gt, j].mean())
            theme_rows.append({"respondent_id": rid, "theme": data.items[j], "label": data.labels[data.items[j]],
                               "share_from": a, "share_to": b, "delta": b - a})
            d = float(Yt[gt, j].mean() - Yt[gf, j].mean()) if corrected[j] else b - a
            delta_cal.setdefault(data.items[j], []).append(d)
        if moved:
            row = {"respondent_id": rid, "role": role, "posture_from": dom[wave_from], "posture_to": dom[wave_to]}
            for side, w, g in (("from", wave_from, gf), ("to", wave_to, gt)):
                j = post_idx[post_labels.index(dom[w])]
                g = np.asarray(g)
                cand = g[X[g, j]]
                best = cand[np.argsort(-S[cand, j], kind="stable")[0]]
                r = s.iloc[best].to_dict()
                row[f"segment_id_{side}"] = r["segment_id"]
                need_text[r["segment_id"]] = r
            mover_rows.append(row)
    if need_text and reveal:
        ids_q = list(need_text)
        raw = store.segments_frame(segment_ids=ids_q)[["segment_id", "text", "source_file"]]
        for _, r in raw.iterrows():
            need_text[r["segment_id"]].update(text=r["text"], source_file=r["source_file"])
    for row in mover_rows:
        for side in ("from", "to"):
            r = need_text[row[f"segment_id_{side}"]]
            row[f"quote_{side}"] = display_text(r, reveal)
            row[f"attribution_{side}"] = attribution(r, language)
            row[f"source_{side}"] = source_ref(r, reveal)
    resp = pd.DataFrame(resp_rows, columns=["respondent_id", "role", "n_segments_from", "n_segments_to",
                                            "posture_from", "posture_to", "moved"])
    th = pd.DataFrame(theme_rows, columns=["respondent_id", "theme", "label", "share_from", "share_to", "delta"])
    if th.empty:
        summ = pd.DataFrame(columns=["theme", "label", "n_respondents", "n_up", "n_down", "n_same", "mean_delta",
                                     "ci_low", "ci_high", "estimator", "n_calibration"])
    else:
        summ = (th.groupby(["theme", "label"], sort=False)
                .agg(n_respondents=("delta", "size"), n_up=("delta", lambda d: int((d > 0).sum())),
                     n_down=("delta", lambda d: int((d < 0).sum())), n_same=("delta", lambda d: int((d == 0).sum())))
                .reset_index())
        D = np.array([delta_cal[t] for t in summ["theme"]]).T           # respondents x themes
        W = resample_weights(len(D), store.config.track.n_boot, rng_for(store.config.random_state, "panel",
                                                                          wave_from, wave_to))
        use = np.array([corrected[data.items.index(t)] for t in summ["theme"]])
        reps = W @ D / len(D)
        if use.any():        # few disagreements in the sample: the bootstrap alone is too narrow
            cols = [data.items.index(t) for t in summ["theme"]]
            in_panel = np.zeros(len(s), dtype=bool)
            in_panel[np.concatenate([np.asarray(g, dtype=int) for g in groups.values()])] = True
            per = pd.Series(key).map(pd.Series(key).value_counts()).to_numpy(dtype=float)  # segments of r in w
            m = sub.coded & in_panel
            units = (np.zeros(int(m.sum()), dtype=int), (sub.y - sub.yhat)[m][:, cols], 1.0 / per[m], sub.pi[m])
            extra = few_errors_variance(units, np.array([0])) / len(D) ** 2
            reps = widen(reps, np.where(use, extra, 0.0), rng_for(store.config.random_state, "panel-widen",
                                                                   wave_from, wave_to))
        lo, hi = percentile_ci(reps, store.config.track.alpha)
        summ = summ.assign(mean_delta=D.mean(axis=0), ci_low=lo, ci_high=hi, estimator=labels_for(use),
                           n_calibration=np.where(use, int(sub.coded.sum()) if sub is not None else 0, 0))
    if resp.empty:
        trans = pd.DataFrame(columns=["posture_from", "posture_to", "n_respondents"])
    else:
        trans = (resp.groupby(["posture_from", "posture_to"]).size().reset_index(name="n_respondents")
                 .sort_values(["n_respondents", "posture_from", "posture_to"], ascending=[False, True, True])
                 .reset_index(drop=True))
    mcols = ["respondent_id", "role", "posture_from", "posture_to", "quote_from", "attribution_from", "source_from",
             "segment_id_from", "quote_to", "attribution_to", "source_to", "segment_id_to"]
    movers = pd.DataFrame(mover_rows).reindex(columns=mcols)
    summ.attrs["alpha"] = store.config.track.alpha
    return PanelResult(wave_from, wave_to, resp, th, summ, trans, movers)
