"""Theme coders against human codings: per-theme F1 and Cohen's kappa.

Data (read at run time, never copied): ../shared/eval/seed_dev_coded.csv (153 report quotes,
CV grouped by report section) and corpus/demo/answer_key.csv when present (CV grouped by
interview). For each: the supervised coder (grouped 5-fold CV), the zero-shot coder (codebook
only, no training data), and in the same process and folds the baseline of the brief: one
logistic regression per theme on the e5-small vector alone. Prints ratios ours / baseline on the
three key themes (posture, precarite, coordination_territoriale). Kappa intervals are 95 %
percentile-bootstrap intervals resampling whole groups (report sections, demo interviews).

``--curve`` adds, on the report quotes, what more coded data would buy: a learning curve (key
kappa of the supervised coder and of the baseline with 2, 3, 5, 10 folds and one group left
out, i.e. training on 50 % to ~96 % of the quotes) and the ranking's ceiling (the best kappa any
single threshold reaches on the out-of-fold probabilities, per key theme).

    python benchmarks/themes_eval.py [--folds 5] [--curve]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression  # noqa: E402

from textmine.themes.agreement import agreement_intervals, agreement_table  # noqa: E402
from textmine.themes.codebook import load_codebook  # noqa: E402
from textmine.export.coded import read_coded  # noqa: E402
from textmine.themes.coded import group_column, label_matrix  # noqa: E402
from textmine.themes.evaluate import cross_validate, predict_frame  # noqa: E402
from textmine.embed import resolve_encoder  # noqa: E402
from textmine.themes.features import encode  # noqa: E402
from textmine.themes.supervised import SupervisedThemeClassifier, make_folds  # noqa: E402
from textmine.themes.zeroshot import ZeroShotThemeClassifier  # noqa: E402

KEY = ["posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale"]
DATASETS = [("shared seed_dev_coded (153 report quotes)", ROOT.parent / "shared" / "eval" / "seed_dev_coded.csv"),
            ("demo answer_key", ROOT / "corpus" / "demo" / "answer_key.csv")]


def baseline_cv(df, cb, X, folds) -> np.ndarray:
    Y = label_matrix(df, cb)
    Yp = np.zeros_like(Y)
    for tr, te in folds:
        for j in range(Y.shape[1]):
            if Y[tr, j].sum() < 2:
                continue
            lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000, random_state=42)
            lr.fit(X[tr], Y[tr, j])
            Yp[te, j] = lr.predict(X[te])
    return Yp


def key_kappa(Y: np.ndarray, Yp: np.ndarray, ids: list[str]) -> tuple[list[float], float]:
    t = agreement_table(Y, Yp, ids).set_index("theme")
    ks = [float(t.loc[k, "kappa"]) for k in KEY]
    return ks, float(np.mean(ks))


def learning_curve(df, cb, X, groups, Y) -> None:
    """Key kappa against the share of quotes trained on (more folds: larger training folds)."""
    print("\n  learning curve (same coder, more folds = more training data per fold)")
    print(f"  {'folds':>6s} {'train share':>11s}  {'supervised posture/prec/coord  mean':>36s}  {'baseline mean':>13s}")
    for k in (2, 3, 5, 10, len(set(groups))):
        folds = make_folds(len(df), groups, k, 42)     # the folds cross_validate makes for k
        _, Yp, _, _ = cross_validate(df, SupervisedThemeClassifier(cb, random_state=42), cb, k)
        ks, mean = key_kappa(Y, Yp, cb.ids)
        _, base = key_kappa(Y, baseline_cv(df, cb, X, folds), cb.ids)
        share = np.mean([len(tr) for tr, _ in folds]) / len(df)
        print(f"  {k:6d} {share:11.2f}  {' / '.join(f'{x:.2f}' for x in ks):>28s}  {mean:.3f}  {base:13.3f}")


def ceiling(Y: np.ndarray, P: np.ndarray, ids: list[str]) -> None:
    """Best kappa a single threshold reaches on out-of-fold probabilities (the ranking's limit)."""
    from sklearn.metrics import average_precision_score, cohen_kappa_score
    best = []
    for k in KEY:
        j = ids.index(k)
        best.append(max(cohen_kappa_score(Y[:, j], (P[:, j] >= t).astype(int)) for t in np.unique(P[:, j])))
        print(f"  ceiling {k:36s} AP {average_precision_score(Y[:, j], P[:, j]):.3f}  best-threshold kappa {best[-1]:.3f}")
    print(f"  ceiling key themes: mean best-threshold kappa {np.mean(best):.3f}")


def show(name: str, Y: np.ndarray, Yp: np.ndarray, ids: list[str], groups) -> dict:
    t = agreement_table(Y, Yp, ids).set_index("theme")
    ci = agreement_intervals(Y, Yp, ids, groups, n_boot=2000, random_state=42, key=KEY).set_index("theme")
    print(f"\n  {name}")
    print("  " + f"{'theme':44s} {'F1':>6s} {'kappa':>6s} {'95% CI (groups resampled)':>26s} {'supp':>5s} {'pred':>5s}")
    for theme, r in t.iterrows():
        if theme == "all_decisions":
            continue
        c = ci.loc[theme]
        print("  " + f"{theme:44s} {r['f1']:6.3f} {r['kappa']:6.3f} {'[%6.3f, %6.3f]' % (c['kappa_lo'], c['kappa_hi']):>26s} "
              f"{int(r['support']):5d} {int(r['predicted']):5d}")
    key = {"kappa": float(t.loc[KEY, "kappa"].mean()), "f1": float(t.loc[KEY, "f1"].mean())}
    print(f"  key themes: mean kappa {key['kappa']:.3f} [{ci.loc['key', 'kappa_lo']:.3f}, {ci.loc['key', 'kappa_hi']:.3f}], "
          f"mean F1 {key['f1']:.3f} [{ci.loc['key', 'f1_lo']:.3f}, {ci.loc['key', 'f1_hi']:.3f}]")
    return key


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--curve", action="store_true", help="learning curve and ranking ceiling on the report quotes")
    args = ap.parse_args()
    cb = load_codebook()
    enc = resolve_encoder("e5-small")
    for title, path in DATASETS:
        if not path.exists():
            print(f"[skip] {title}: {path} not found")
            continue
        df = read_coded(path, cb)
        gcol = group_column(df)
        print(f"\n=== {title}: n={len(df)}, CV {args.folds} folds grouped by {gcol}")
        t0 = time.time()
        X = encode(enc, df["text"].tolist())
        print(f"  embedded in {time.time() - t0:.0f}s")
        groups = df[gcol].astype(str).values if gcol else None
        folds = make_folds(len(df), groups, args.folds, 42)
        Y = label_matrix(df, cb)
        t0 = time.time()
        P, Yp, _, _ = cross_validate(df, SupervisedThemeClassifier(cb, random_state=42), cb, args.folds)
        sup = show(f"supervised (grouped CV, {time.time() - t0:.0f}s)", Y, Yp, cb.ids, groups)
        if args.curve and gcol == "section":
            ceiling(Y, P, cb.ids)
            learning_curve(df, cb, X, groups, Y)
        if "role" in df.columns:     # `themes classify` reads id,text only: the held-out texts lose their role
            Yn = np.zeros_like(Y)
            for tr, te in folds:
                m = SupervisedThemeClassifier(cb, random_state=42).fit(df.iloc[tr].reset_index(drop=True), vectors=X[tr])
                Yn[te] = predict_frame(m, df.iloc[te].drop(columns=["role"]).reset_index(drop=True), X[te])[1]
            show("supervised, held-out texts without their role (as `themes classify` sees them)", Y, Yn, cb.ids, groups)
        zs_model = ZeroShotThemeClassifier(cb, random_state=42).fit()
        _, Yz, _ = predict_frame(zs_model, df, X)
        zs = show("zero-shot (codebook only, no coded data)", Y, Yz, cb.ids, groups)
        Yb = baseline_cv(df, cb, X, folds)
        base = show("baseline: logistic regression on e5-small vectors (same folds)", Y, Yb, cb.ids, groups)
        print(f"\n  RATIO supervised/baseline key-theme kappa: {sup['kappa'] / max(base['kappa'], 1e-9):.2f}x "
              f"({sup['kappa']:.3f} vs {base['kappa']:.3f}); zero-shot key F1 {zs['f1']:.3f} "
              f"vs baseline F1 {base['f1']:.3f}")


if __name__ == "__main__":
    main()
