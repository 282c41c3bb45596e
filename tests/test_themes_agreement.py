"""Agreement metrics against hand-computed values, and coded-file validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from textmine.errors import TextmineError
from textmine.themes.agreement import (agreement_intervals, agreement_table, cohen_kappa, kripp_alpha,
                                      posture_agreement)
from textmine.themes.codebook import load_codebook
from textmine.export.coded import read_coded
from textmine.themes.coded import group_column, label_matrix

from helpers_themes import CODED, write_coded


def test_kappa_prf_alpha_hand_computed():
    # 10 units, coder A vs coder B on one theme:
    # A: 1 1 1 1 0 0 0 0 0 0 ; B: 1 1 1 0 1 0 0 0 0 0  -> tp=3 fp=1 fn=1 tn=5
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    b = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    # po = 0.8 ; pe = 0.4*0.4 + 0.6*0.6 = 0.52 ; kappa = 0.28/0.48
    assert cohen_kappa(a, b) == pytest.approx(0.28 / 0.48)
    # Krippendorff nominal, 2 coders x 10 units = 20 values: n1 = 8 ones, n0 = 12 zeros, d = 2 units
    # disagree -> o_01 = o_10 = 2 ; alpha = 1 - (n-1) * (o_01 + o_10) / (2 * n1 * n0)
    n, n1, n0, d = 20, 8, 12, 2   # d = units where coders disagree
    alpha = 1 - (n - 1) * (2 * d) / (2 * n1 * n0)
    assert kripp_alpha(a, b) == pytest.approx(alpha)
    Y_ref = np.column_stack([a, np.zeros(10, int)])
    Y_oth = np.column_stack([b, np.zeros(10, int)])
    tab = agreement_table(Y_ref, Y_oth, ["x", "y"]).set_index("theme")
    assert tab.loc["x", "precision"] == pytest.approx(0.75)
    assert tab.loc["x", "recall"] == pytest.approx(0.75)
    assert tab.loc["x", "f1"] == pytest.approx(0.75)
    assert tab.loc["x", "support"] == 4 and tab.loc["x", "predicted"] == 4
    # both coders never use y: its agreement is undefined (0/0), not perfect, and the macro
    # figures average the themes where they are defined
    assert tab.loc[["y"], ["precision", "recall", "f1", "kappa", "alpha"]].isna().all(axis=None)
    assert tab.loc["macro", "kappa"] == pytest.approx(0.28 / 0.48)
    assert tab.loc["macro", "f1"] == pytest.approx(0.75) and tab.loc["macro", "alpha"] == pytest.approx(alpha)
    assert tab.loc["macro", "precision"] == pytest.approx(0.75) and tab.loc["macro", "recall"] == pytest.approx(0.75)
    # a coder that never uses a theme the reference uses: recall 0, precision undefined
    tab2 = agreement_table(Y_ref, np.zeros_like(Y_ref), ["x", "y"]).set_index("theme")
    assert tab2.loc["x", "recall"] == 0.0 and math.isnan(tab2.loc["x", "precision"]) and tab2.loc["x", "f1"] == 0.0


def test_bootstrap_intervals_bracket_the_estimate_and_resample_groups():
    rng = np.random.default_rng(0)
    Y = (rng.random((120, 3)) < 0.3).astype(int)
    Z = Y.copy()
    flip = rng.random((120, 3)) < 0.15
    Z[flip] = 1 - Z[flip]
    Y[:, 2] = Z[:, 2] = 0                              # a theme neither coding uses
    groups = np.arange(120) // 6                        # 20 interviews of 6 segments
    point = agreement_table(Y, Z, ["a", "b", "c"]).set_index("theme")
    ci = agreement_intervals(Y, Z, ["a", "b", "c"], groups, n_boot=500, random_state=1, key=["a", "b"]).set_index("theme")
    for t in ("a", "b"):
        assert ci.loc[t, "kappa_lo"] < point.loc[t, "kappa"] < ci.loc[t, "kappa_hi"]
        assert ci.loc[t, "f1_lo"] < point.loc[t, "f1"] < ci.loc[t, "f1_hi"]
        assert 0.05 < ci.loc[t, "kappa_hi"] - ci.loc[t, "kappa_lo"] < 0.6
    assert math.isnan(ci.loc["c", "kappa_lo"])          # no replicate says anything about c
    assert ci.loc["macro", "kappa_lo"] < point.loc["macro", "kappa"] < ci.loc["macro", "kappa_hi"]
    assert ci.loc["key", "kappa_lo"] < (point.loc["a", "kappa"] + point.loc["b", "kappa"]) / 2 < ci.loc["key", "kappa_hi"]
    again = agreement_intervals(Y, Z, ["a", "b", "c"], groups, n_boot=500, random_state=1, key=["a", "b"])
    assert again.equals(ci.reset_index())               # same random_state, same intervals
    # resampling whole interviews is wider than resampling segments when errors cluster by interview
    Zc = Y.copy()
    Zc[groups < 4, 0] = 1 - Zc[groups < 4, 0]            # four interviews coded all wrong on theme a
    by_group = agreement_intervals(Y, Zc, ["a", "b", "c"], groups, n_boot=500, random_state=1).set_index("theme")
    by_row = agreement_intervals(Y, Zc, ["a", "b", "c"], None, n_boot=500, random_state=1).set_index("theme")
    width = lambda t: t.loc["a", "kappa_hi"] - t.loc["a", "kappa_lo"]   # noqa: E731
    assert width(by_group) > width(by_row)


def test_kappa_edge_cases_and_posture():
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-1.0)
    assert cohen_kappa([0, 0, 0], [1, 1, 1]) == 0.0
    assert math.isnan(cohen_kappa([0, 0, 0], [0, 0, 0]))     # one constant label: kappa is 0/0
    assert math.isnan(cohen_kappa([], []))
    pa = posture_agreement(["faire_avec", "mixte", None, "faire_avec"], ["faire_avec", "faire_avec", "mixte", None])
    assert pa["n"] == 2 and pa["accuracy"] == 0.5


def test_read_coded_ok_and_lines(tmp_path):
    cb = load_codebook()
    p = write_coded(tmp_path / "coded.csv")
    df = read_coded(p, cb)
    assert len(df) == len(CODED) and isinstance(df["themes"][0], list)
    assert df["line"].iloc[0] == 2 and group_column(df) == "interview_id"
    Y = label_matrix(df, cb)
    assert Y.shape == (len(CODED), 11) and Y.sum() == sum(len(r[2]) for r in CODED)


def _csv(tmp_path, body: str):
    p = tmp_path / "c.csv"
    p.write_text(body, encoding="utf-8")
    return p


def test_coded_file_errors_name_the_line(tmp_path):
    cb = load_codebook()
    p = _csv(tmp_path, 'id,text,themes\na,"ligne\nsur deux lignes",precarite\nb,texte,precarity\n')
    with pytest.raises(TextmineError) as ei:
        read_coded(p, cb)
    assert ei.value.code == "E402" and ei.value.line == 4 and "precarity" in ei.value.detail
    p = _csv(tmp_path, "id,text,themes\na,texte,precarite\nb,  ,precarite\n")
    with pytest.raises(TextmineError) as ei:
        read_coded(p, cb)
    assert ei.value.code == "E402" and ei.value.line == 3 and "empty text" in ei.value.detail
    p = _csv(tmp_path, "id,texte,themes\na,t,precarite\n")
    with pytest.raises(TextmineError, match="missing column 'text'"):
        read_coded(p, cb)
    p = _csv(tmp_path, "id,text,themes,posture\na,t,precarite,faire_pour\n")
    with pytest.raises(TextmineError, match="unknown posture"):
        read_coded(p, cb)
    with pytest.raises(TextmineError):
        read_coded(tmp_path / "nope.csv", cb)


def test_library_metrics_nan_behaviour_and_figures_pinned():
    """scikit-learn's precision/recall/F1 (zero_division=NaN) and kappa, SciPy's BH: the NaN
    cases and the values of the hand-written formulas they replaced, on random codings."""
    from textmine.themes.agreement import prf_by_theme
    from textmine.stats import bh_qvalues
    Y = np.array([[1, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]])
    Z = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    P, R, F = prf_by_theme(Y, Z)
    # theme 0: tp 1 fn 1; theme 1: never used (all NaN); theme 2: only predicted (recall NaN, F1 0);
    # theme 3: only in the reference (precision NaN, F1 0)
    assert P[0] == 1.0 and R[0] == 0.5 and F[0] == pytest.approx(2 / 3)
    assert np.isnan([P[1], R[1], F[1]]).all()
    assert P[2] == 0.0 and np.isnan(R[2]) and F[2] == 0.0
    assert np.isnan(P[3]) and R[3] == 0.0 and F[3] == 0.0
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 15))
        y, z = (rng.random(n) < rng.random()).astype(int), (rng.random(n) < rng.random()).astype(int)
        tp, fp, fn = int((y & z).sum()), int((1 - y) @ z), int(y @ (1 - z))
        want = [tp / (tp + fp) if tp + fp else np.nan, tp / (tp + fn) if tp + fn else np.nan,
                2 * tp / (2 * tp + fp + fn) if tp + fp + fn else np.nan]
        got = [x[0] for x in prf_by_theme(y[:, None], z[:, None])]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        labels = sorted(set(y) | set(z))
        po = float((y == z).mean())
        pe = sum(float((y == v).mean()) * float((z == v).mean()) for v in labels)
        k = np.nan if pe >= 1 - 1e-12 else (po - pe) / (1 - pe)
        assert (np.isnan(k) and np.isnan(cohen_kappa(y, z))) or cohen_kappa(y, z) == pytest.approx(k, abs=1e-12)
    # BH: the step-up formula by hand; NaN p-values stay NaN and are not counted as tests
    p = rng.random(25)
    p[[3, 11]] = np.nan
    ok = np.isfinite(p)
    m, order = int(ok.sum()), np.argsort(p[ok])
    ranked = np.minimum.accumulate((p[ok][order] * m / np.arange(1, m + 1))[::-1])[::-1]
    want = np.empty(m)
    want[order] = np.minimum(ranked, 1.0)
    q = bh_qvalues(p)
    assert np.isnan(q[[3, 11]]).all()
    np.testing.assert_allclose(q[ok], want, rtol=0, atol=1e-12)
