"""The intervals of corrected figures when the calibration sample holds few disagreements.

``benchmarks/calibration_audit.py`` found that the cluster bootstrap alone covers 0.15 to 0.92
of the time with a rare theme or 10 to 30 coded units: the sample sees too few disagreements
between the coder and the humans for the bootstrap to see the correction's spread. These tests
pin the invariants of the adjustment (Laplace's (k + 1)/(n + 2) disagreement rate per stratum)."""
from __future__ import annotations

from types import SimpleNamespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from textmine.config import defaults
from textmine.track.calibrated import Calibration, few_errors_variance
from textmine.track.changes import changes
from textmine.track.data import TrackData
from textmine.track.prevalence import prevalence


def _wave(rng, wave: str, n_itv: int = 60, per: int = 20, rate: float = 0.03, fpr: float = 0.02):
    itv = np.repeat(np.arange(n_itv), per)
    y = rng.random(len(itv)) < rate
    x = np.where(y, rng.random(len(itv)) < 0.7, rng.random(len(itv)) < fpr)
    return pd.DataFrame({"segment_id": [f"{wave}s{k:05d}" for k in range(len(itv))],
                         "interview_id": [f"{wave}i{i:03d}" for i in itv], "wave": wave, "role": "r",
                         "territory": None, "structure_type": None, "date": None,
                         "respondent_id": [f"r{i:03d}" for i in itv], "n_words": 20, "y": y.astype(float),
                         "x": x})


def _setup(coded_mask_fn, pi_value: float, seed: int = 5):
    rng = np.random.default_rng(seed)
    pop = pd.concat([_wave(rng, "1"), _wave(rng, "2", rate=0.05)], ignore_index=True)
    X = pop[["x"]].to_numpy(dtype=bool)
    data = TrackData(pop.drop(columns=["y", "x"]), ["rare"], ["theme"], {"rare": "rare"}, X,
                     np.full(X.shape, np.nan), run_id="t")
    coded = coded_mask_fn(pop)
    n = len(pop)
    Y = pop[["y"]].to_numpy(dtype=float)
    cal = Calibration(X.astype(float), [np.where(coded[:, None], Y, 0.0)], [coded], coded,
                      np.where(coded, pi_value, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool),
                      np.full(n, np.nan), np.zeros(n, dtype=bool), np.ones(1, dtype=bool), 10,
                      {"1": "s1", "2": "s1"}, {}, [], {"s1": "segments"})
    data.cache[("calibration", None, None)] = cal
    store = SimpleNamespace(config=defaults(), root=Path("."))
    return store, data, pop


def _agreeing_sample(pop: pd.DataFrame, k: int = 30) -> np.ndarray:
    """The first ``k`` segments of each wave on which the coder and the humans agree."""
    agree = (pop["y"] == pop["x"].astype(float)).to_numpy()
    out = np.zeros(len(pop), dtype=bool)
    for w in ("1", "2"):
        idx = np.flatnonzero(agree & (pop["wave"] == w).to_numpy())[:k]
        out[idx] = True
    return out


def test_no_disagreement_in_the_sample_still_widens_the_interval():
    """A sample of 30 segments per wave in which the coder never disagrees with the humans: the
    corrected share equals the coder's, but its interval must carry the correction's uncertainty
    (the old interval was the raw one, as if 30 segments proved the coder perfect)."""
    store, data, pop = _setup(_agreeing_sample, pi_value=30 / 1200)
    cor = prevalence(store, by=["wave"], data=data).set_index("wave")
    raw = prevalence(store, by=["wave"], data=data, estimator="raw").set_index("wave")
    for w in ("1", "2"):
        assert cor.loc[w, "estimator"] == "calibrated"
        assert cor.loc[w, "share"] == pytest.approx(raw.loc[w, "share"])
        w_cor = cor.loc[w, "ci_high"] - cor.loc[w, "ci_low"]
        w_raw = raw.loc[w, "ci_high"] - raw.loc[w, "ci_low"]
        assert w_cor > 2 * w_raw
    ch = changes(store, "1", "2", data=data).iloc[0]
    chr_ = changes(store, "1", "2", data=data, estimator="raw").iloc[0]
    assert ch["estimator"] == "calibrated"
    assert ch["ci_high"] - ch["ci_low"] > 2 * (chr_["ci_high"] - chr_["ci_low"])


def test_a_census_adds_nothing_and_many_disagreements_add_little():
    units_census = (np.zeros(4), np.zeros((4, 1)), np.ones(4), np.ones(4))          # π = 1: nothing sampled
    assert few_errors_variance(units_census, np.array([0]))[0] == 0.0
    ten = np.arange(100) % 10                                                         # ten interviews
    d = np.zeros((100, 1))
    d[:60] = 1.0                                                                      # k/n over one half
    assert few_errors_variance((ten, d, np.ones(100), np.full(100, 0.1)), np.arange(10))[0] == 0.0
    d0 = np.zeros((100, 1))
    v0 = few_errors_variance((np.zeros(100, dtype=int), d0, np.ones(100), np.full(100, 0.1)), np.array([0]))[0]
    assert v0 == pytest.approx(0.9 / 0.01 * 100 * 1 / 102)
    d20 = np.zeros((100, 1))
    d20[:20] = -1.0
    v20 = few_errors_variance((ten, d20, np.ones(100), np.full(100, 0.1)), np.arange(10))[0]
    seen = 0.9 / 0.01 * 20
    assert 0 < v20 < 0.06 * seen                                                      # 20 disagreements: +5 %
    # units outside the cell do not count
    assert few_errors_variance((np.ones(100, dtype=int), d0, np.ones(100), np.full(100, 0.1)),
                               np.array([0]))[0] == 0.0


def test_tables_state_the_level_the_intervals_have():
    """``track.alpha`` sets the intervals' level: a 90 % interval must not be headed "95 % CI"."""
    from textmine.cli.common import human_table
    store, data, _ = _setup(_agreeing_sample, pi_value=30 / 1200)
    store.config.track.alpha = 0.10
    prev = prevalence(store, by=["wave"], data=data)
    ch = changes(store, "1", "2", data=data)
    assert prev.attrs["alpha"] == ch.attrs["alpha"] == 0.10
    assert "90 % CI (%)" in human_table(prev).columns
    assert "90 % CI (pts)" in human_table(ch).columns
    assert not any("95" in c for c in human_table(prev).columns)
    store.config.track.alpha = 0.05
    assert "95 % CI (%)" in human_table(prevalence(store, by=["wave"], data=data)).columns


def test_alpha_outside_its_range_is_refused():
    from textmine.config import TrackConfig
    with pytest.raises(ValueError):
        TrackConfig(alpha=0.95)
    assert TrackConfig(alpha=0.1).alpha == 0.1


def test_report_figures_mark_the_uncorrected_figures():
    """The report's figures (also written as PNG/SVG for publication) mix corrected and raw rows:
    the raw ones must be told apart in the figure itself, not only in the report's tables."""
    import matplotlib
    matplotlib.use("Agg")
    from textmine.report import plots
    prev = pd.DataFrame({"kind": "theme", "theme": ["a", "b", "a", "b"], "label": ["A", "B", "A", "B"],
                         "wave": ["1", "1", "2", "2"], "share": [0.1, 0.2, 0.15, 0.25],
                         "ci_low": [0.05, 0.15, 0.1, 0.2], "ci_high": [0.15, 0.25, 0.2, 0.3],
                         "small_cell": False, "estimator": ["calibrated", "raw", "calibrated", "raw"],
                         "territory": ["t1", "t1", "t2", "t2"]})
    mark = "raw: not corrected"
    fig = plots.prevalence_by_wave(prev, "t", "x", raw_label=mark)
    assert mark in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ch = prev[prev["wave"] == "2"].assign(delta=[0.05, 0.05], significant=[True, False])
    fig = plots.forest(ch, "t", "x", "significant", raw_label=mark)
    assert mark in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    fig = plots.heatmap(prev, "territory", "t", "small", raw_label=mark)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(t.endswith("*") for t in texts) == 2 and any(mark in t for t in texts)
    all_corrected = prev.assign(estimator="calibrated")
    fig = plots.prevalence_by_wave(all_corrected, "t", "x", raw_label=mark)
    assert mark not in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_panel_mean_delta_interval_also_carries_the_correction():
    """The panel summary's corrected mean change per respondent: same widening as the shares."""
    from textmine.track.panel import panel
    store, data, _ = _setup(_agreeing_sample, pi_value=30 / 1200)
    cor = panel(store, "1", "2", data=data).theme_summary.iloc[0]
    raw = panel(store, "1", "2", data=data, estimator="raw").theme_summary.iloc[0]
    assert cor["estimator"] == "calibrated" and raw["estimator"] == "raw"
    assert cor["mean_delta"] == pytest.approx(raw["mean_delta"])
    assert cor["ci_high"] - cor["ci_low"] > 2 * (raw["ci_high"] - raw["ci_low"])


def test_the_coverage_benchmark_computes_the_interval_track_changes_gives():
    """README "How many segments to code" (parts A and B) comes from
    ``benchmarks/calibration_coverage.py``, which calls the pseudo-outcome and bootstrap helpers
    directly. It measured the bootstrap alone after ``track changes`` gained the widening for few
    disagreements, so its table no longer described what a user gets. From the same population,
    sample and generators, its corrected change must be ``changes()``'s, interval included."""
    import importlib.util
    from textmine.calibrate.design import allocate, draw, inclusion_probabilities
    from textmine.stats import rng_for
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_coverage.py"
    spec = importlib.util.spec_from_file_location("calibration_coverage_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rng = np.random.default_rng(11)
    pops = [bench.population(rng, p, w) for w, p in ((1, 0.10), (2, 0.16))]
    draws = [np.random.default_rng(100 + w) for w in (1, 2)]
    cor = [bench.corrected(g, itv, s, y, yh, 60) for g, (itv, s, y, yh) in zip(draws, pops)]
    # the same population and sample as textmine's own tables
    frames, coded, pi = [], [], []
    for w, (itv, strata, y, yh) in zip((1, 2), pops):
        frames.append(pd.DataFrame({"segment_id": [f"w{w}s{k:06d}" for k in range(len(itv))],
                                    "interview_id": [f"w{w}i{j:04d}" for j in itv], "wave": str(w),
                                    "role": [f"r{s}" for s in strata], "territory": None, "structure_type": None,
                                    "date": None, "respondent_id": [f"w{w}i{j:04d}" for j in itv], "n_words": 20,
                                    "y": y, "x": yh.astype(bool)}))
    for g, (itv, strata, y, yh) in zip([np.random.default_rng(100 + w) for w in (1, 2)], pops):
        sizes = np.bincount(strata, minlength=int(strata.max()) + 1)
        n_h = allocate(sizes, 60)
        coded.append(np.asarray(draw(strata, n_h, g), dtype=bool))
        pi.append(inclusion_probabilities(strata, sizes, n_h))
    pop = pd.concat(frames, ignore_index=True)
    coded, pi = np.concatenate(coded), np.concatenate(pi)
    X = pop[["x"]].to_numpy(dtype=bool)
    data = TrackData(pop.drop(columns=["y", "x"]), ["t"], ["theme"], {"t": "t"}, X, np.full(X.shape, np.nan),
                     run_id="t")
    n = len(pop)
    Y = pop[["y"]].to_numpy(dtype=float)
    data.cache[("calibration", None, None)] = Calibration(
        X.astype(float), [np.where(coded[:, None], Y, 0.0)], [coded], coded, np.where(coded, pi, np.nan),
        np.ones(n, dtype=bool), np.zeros(n, dtype=bool), np.full(n, np.nan), np.zeros(n, dtype=bool),
        np.ones(1, dtype=bool), 10, {"1": "s1", "2": "s1"}, {}, [], {"s1": "segments"})
    cfg = defaults()
    cfg.track.n_perm = 20
    row = changes(SimpleNamespace(config=cfg, root=Path(".")), "1", "2", data=data).iloc[0]
    assert row["estimator"] == "calibrated"
    rs = cfg.random_state
    d, lo, hi, _, (lo0, hi0, _) = bench.corrected_change(
        cor, rng_for(rs, "chg", "segments", (), "1"), rng_for(rs, "chg", "segments", (), "2"),
        rng_for(rs, "chg-widen", "segments", (), "1", "2"), cfg.track.n_boot, cfg.track.alpha)
    assert d[0] == pytest.approx(row["delta"], abs=1e-12)
    assert (lo[0], hi[0]) == pytest.approx((row["ci_low"], row["ci_high"]), abs=1e-12)
    assert hi[0] - lo[0] > hi0[0] - lo0[0]          # with 60 coded per wave the widening is not nil


def test_a_cell_of_one_interview_gets_the_whole_smoothed_variance():
    """The interview bootstrap of a cell whose coded units all come from one interview has one
    interview to draw: it saw none of the disagreements' spread, and with over half of the units
    in disagreement nothing was added either, so such a cell (a role of one interview on the
    demo, with `calibration.min_coded` 3) got a corrected interval of zero width."""
    d = np.zeros((5, 1))
    d[:3] = 1.0                                                                       # 3 of 5 disagree
    one = few_errors_variance((np.zeros(5, dtype=int), d, np.ones(5), np.full(5, 0.2)), np.array([0]))[0]
    assert one == pytest.approx(0.8 / 0.04 * 5 * 4 / 7)                              # all of Laplace's (k+1)/(n+2)
    two = few_errors_variance((np.arange(5) % 2, d, np.ones(5), np.full(5, 0.2)), np.arange(2))[0]
    assert two == 0.0                                                                 # the bootstrap sees it there
