"""Theme coders against human codings: per-theme F1 and Cohen's kappa.

Data (read at run time, never copied): ../shared/eval/seed_dev_coded.csv (153 report quotes,
CV grouped by report section) and corpus/demo/answer_key.csv when present (CV grouped by
interview). For each: the supervised coder (grouped 5-fold CV), the zero-shot coder (codebook
only, no training data), and in the same process and folds the baseline of the brief: one
logistic regression per theme on the e5-small vector alone. Prints ratios ours / baseline on the
three key themes (posture, precarite, coordination_territoriale). Kappa intervals are 95 %
percentile-bootstrap intervals resampling whole groups (report sections, demo interviews).

    python benchmarks/themes_eval.py [--folds 5]
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
from textmine.themes.coded import group_column, label_matrix, read_coded  # noqa: E402
from textmine.themes.evaluate import cross_validate, predict_frame  # noqa: E402
from textmine.themes.features import encode, resolve_encoder  # noqa: E402
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
        _, Yp, _, _ = cross_validate(df, lambda: SupervisedThemeClassifier(cb, random_state=42), cb, args.folds)
        sup = show(f"supervised (grouped CV, {time.time() - t0:.0f}s)", Y, Yp, cb.ids, groups)
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
