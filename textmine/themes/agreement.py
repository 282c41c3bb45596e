"""Agreement between two codings (human vs model, or two human coders).

Per theme (binary present/absent): precision, recall, F1 (reference = first coding),
Cohen's kappa, Krippendorff's alpha (nominal, two coders), support (reference positives),
predicted count. Plus macro averages, a posture sub-label agreement on the rows both
codings put in the posture theme, and percentile-bootstrap intervals of kappa and F1 that
resample whole interviews (:func:`agreement_intervals`). Precision, recall, F1 and kappa are
scikit-learn's (``precision_recall_fscore_support`` with ``zero_division=np.nan``,
``cohen_kappa_score``); alpha is the ``krippendorff`` package's; the bootstrap replicates compute
kappa and F1 from weighted counts (vectorised over the replicates, same formulas).

A figure that divides 0 by 0 is undefined (NaN), not 0 or 1: precision of a theme the second
coding never uses, recall of a theme the reference never uses, and F1, kappa and alpha of a
theme neither uses. The macro figures average the themes where each figure is defined.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import seed
from ..stats import percentile_ci, resample_weights


def prf_by_theme(Y_ref: np.ndarray, Y_other: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of two 0/1 matrices: precision, recall, F1 (reference = ``Y_ref``), each NaN
    when undefined (0/0): precision without any predicted positive, recall without any reference
    positive, F1 when neither coding has one (F1 is 0 when only one of them has positives)."""
    from sklearn.metrics import precision_recall_fscore_support   # heavy (0.7 s): only when there is agreement to compute
    Y, Z = np.asarray(Y_ref, dtype=int), np.asarray(Y_other, dtype=int)
    # column by column, positive label 1 (a one-column matrix would read as a binary vector)
    out = np.array([[float(v[0]) for v in precision_recall_fscore_support(
        Y[:, j], Z[:, j], labels=[1], average=None, zero_division=np.nan)[:3]] for j in range(Y.shape[1])])
    out = out.reshape(-1, 3)
    return out[:, 0], out[:, 1], out[:, 2]


def cohen_kappa(a, b) -> float:
    """Cohen's kappa for two label sequences (any hashable labels). NaN when both codings are
    the same constant (chance agreement is 1: kappa is 0/0) or empty."""
    a, b = np.asarray(a), np.asarray(b)
    labels = sorted(set(a.tolist()) | set(b.tolist()), key=str)
    if len(labels) < 2:        # empty, or one and the same constant in both codings
        return float("nan")
    from sklearn.metrics import cohen_kappa_score
    return float(cohen_kappa_score(a, b, labels=labels, replace_undefined_by=np.nan))


def kripp_alpha(a, b) -> float:
    """Krippendorff's alpha (nominal) for two coders over the same units."""
    import krippendorff
    a, b = np.asarray(a), np.asarray(b)
    labels = sorted(set(a.tolist()) | set(b.tolist()), key=str)
    if len(labels) < 2:        # one label in both codings: no variation, alpha undefined
        return float("nan")
    idx = {l: i for i, l in enumerate(labels)}
    data = np.array([[idx[x] for x in a], [idx[x] for x in b]], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def agreement_table(Y_ref: np.ndarray, Y_other: np.ndarray, theme_ids: list[str]) -> pd.DataFrame:
    """One row per theme + ``macro`` row: precision, recall, f1, kappa, alpha, support, predicted."""
    rows = []
    P, R, F = prf_by_theme(Y_ref, Y_other)
    for j, t in enumerate(theme_ids):
        y, p = Y_ref[:, j].astype(int), Y_other[:, j].astype(int)
        rows.append({"theme": t, "precision": float(P[j]), "recall": float(R[j]), "f1": float(F[j]),
                     "kappa": cohen_kappa(y, p), "alpha": kripp_alpha(y, p),
                     "support": int(y.sum()), "predicted": int(p.sum())})
    df = pd.DataFrame(rows)
    # means over the themes where each figure is defined (pandas skips NaN)
    macro = {"theme": "macro", **{c: float(df[c].mean()) for c in ("precision", "recall", "f1", "kappa", "alpha")},
             "support": int(df["support"].sum()), "predicted": int(df["predicted"].sum())}
    # overall alpha over all unit x theme decisions
    macro_all = {"theme": "all_decisions", "precision": np.nan, "recall": np.nan, "f1": np.nan,
                 "kappa": cohen_kappa(Y_ref.reshape(-1), Y_other.reshape(-1)),
                 "alpha": kripp_alpha(Y_ref.reshape(-1), Y_other.reshape(-1)),
                 "support": int(Y_ref.sum()), "predicted": int(Y_other.sum())}
    return pd.concat([df, pd.DataFrame([macro, macro_all])], ignore_index=True)


def posture_agreement(ref: list, other: list) -> dict:
    """Agreement on the posture sub-label where both codings give one."""
    pairs = [(a, b) for a, b in zip(ref, other) if isinstance(a, str) and a and isinstance(b, str) and b]
    if not pairs:
        return {"n": 0, "accuracy": float("nan"), "kappa": float("nan")}
    a, b = zip(*pairs)
    return {"n": len(pairs), "accuracy": float(np.mean([x == y for x, y in pairs])),
            "kappa": cohen_kappa(list(a), list(b))}


def _kappa_counts(tp, fp, fn, tn):
    n = np.maximum(tp + fp + fn + tn, 1e-12)
    po = (tp + tn) / n
    pe = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / n ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        # a replicate where both codings are constant says nothing about agreement: left out
        k = np.where(pe >= 1 - 1e-12, np.nan, (po - pe) / (1 - pe))
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), np.nan)
    return k, f1


def _row_mean(A: np.ndarray) -> np.ndarray:
    """Mean of each row over its defined (non-NaN) entries; NaN for a row with none."""
    ok = ~np.isnan(A)
    return np.where(ok.any(axis=1), np.where(ok, A, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1), np.nan)


def agreement_intervals(Y_ref: np.ndarray, Y_other: np.ndarray, theme_ids: list[str], groups=None,
                        n_boot: int = 1000, level: float = 0.95, random_state: int | None = None,
                        key: list[str] | None = None) -> pd.DataFrame:
    """Percentile bootstrap intervals of Cohen's kappa and F1, resampling whole groups
    (interviews, or report sections) with replacement when ``groups`` is given, else rows.

    One row per theme, plus ``macro`` (mean over themes, same replicates) and, when ``key``
    names themes, ``key`` (their mean). Columns: theme, kappa_lo, kappa_hi, f1_lo, f1_hi.
    Replicates where a theme is absent from both codings are left out of that theme's interval
    (NaN when none is left) and of that replicate's means, as in the point estimates.
    """
    Y, Z = np.asarray(Y_ref, dtype=float), np.asarray(Y_other, dtype=float)
    n = len(Y)
    codes = np.arange(n) if groups is None else pd.factorize(np.asarray(groups).astype(str))[0]
    n_clusters = int(codes.max()) + 1 if n else 0

    def per_cluster(A: np.ndarray) -> np.ndarray:
        out = np.zeros((n_clusters, A.shape[1]))
        np.add.at(out, codes, A)
        return out
    W = resample_weights(n_clusters, n_boot, np.random.default_rng(seed(random_state)))
    tp, fp = W @ per_cluster(Y * Z), W @ per_cluster((1 - Y) * Z)
    fn, tn = W @ per_cluster(Y * (1 - Z)), W @ per_cluster((1 - Y) * (1 - Z))
    K, F = _kappa_counts(tp, fp, fn, tn)
    cols = {"theme": list(theme_ids) + ["macro"], "kappa": [K[:, j] for j in range(K.shape[1])] + [_row_mean(K)],
            "f1": [F[:, j] for j in range(F.shape[1])] + [_row_mean(F)]}
    if key:
        idx = [list(theme_ids).index(t) for t in key]
        cols["theme"].append("key")
        cols["kappa"].append(_row_mean(K[:, idx]))
        cols["f1"].append(_row_mean(F[:, idx]))
    k_lo, k_hi = percentile_ci(np.column_stack(cols["kappa"]), 1 - level)
    f_lo, f_hi = percentile_ci(np.column_stack(cols["f1"]), 1 - level)
    return pd.DataFrame({"theme": cols["theme"], "kappa_lo": k_lo, "kappa_hi": k_hi, "f1_lo": f_lo, "f1_hi": f_hi})
