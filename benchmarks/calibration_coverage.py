"""Benchmark: are the corrected changes from a human calibration sample valid, and how many
segments must be coded per wave?

Two parts, both through textmine's own code (design.allocate/draw, pseudo_outcomes, the cluster
bootstrap's change_interval, and the widening for few coder/human disagreements that ``track
changes`` applies to a corrected change: few_errors_variance on each wave's coded units divided by
the wave's squared segment count, added to the bootstrap replicates by widen, then the percentile
interval). The bootstrap alone (without the widening) is printed beside it for comparison: it is
what this benchmark measured before the widening; the populations and samples are the same for
the same seed (the widening's noise has its own generator, per cell as in ``track``).

A. Simulation (the sizes a real study codes). Each replication draws a new population per wave
   from a known super-population: 200 interviews per wave, 15 + Poisson(5) segments each (about
   4,000 segments per wave, so that n = 400 is 10 % of a wave), four roles (strata), an interview
   effect on the theme (sd 0.7 on the logit scale). The coder misses and invents the theme, and its
   error rates differ between waves (wave 1: sensitivity 0.70, false-positive rate 0.08; wave 2:
   0.85 and 0.12), with false positives clustered by interview (sd 0.5 on the logit scale).
   Scenario "change": the theme's logit-scale rate goes from 10 % to 16 %; scenario "stable": 15 % in
   both waves (raw coder output then reports a spurious change). For n = 50, 100, 200, 400 coded
   segments per wave (stratified by role, proportional allocation), it reports the bias of the
   change, the coverage of the true change by the 95 % interval (the super-population change, and
   this replication's own census), the interval's width and the share of intervals excluding 0.
   Two other designs of the same coding effort, for the "change" scenario: the segments the coder
   marks (its positives, the ones it is most often wrong about here) drawn 3 times as often
   (``--oversample-uncertain 3``; unequal probabilities), and whole interviews (``--unit
   interviews``, n / 20 interviews per wave: a cluster sample).

B. The demo answer key. The demo project's zero-shot codings are the coder, the answer key mapped
   onto segments (corpus/demo/_build/key_coder.py) is the human coder and its census of all
   respondent segments is the truth. A wave has about 138 respondent segments, so only n = 50 and
   100 per wave fit (finite population: the interval, which resamples interviews, is conservative
   for it). Needs a demo project (`make demo`).

Run: .venv/bin/python benchmarks/calibration_coverage.py [--reps 400] [--project demo-project]
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
sys.path.insert(0, str(ROOT / "corpus" / "demo" / "_build"))

from textmine.calibrate.design import allocate, draw, inclusion_probabilities  # noqa: E402
from textmine.stats import change_interval, percentile_ci, rng_for  # noqa: E402
from textmine.track.calibrated import few_errors_variance, human_matrix, pseudo_outcomes, widen  # noqa: E402

NS = (50, 100, 200, 400)
N_BOOT, ALPHA = 1000, 0.05
ROLE_P = np.array([0.6, 0.2, 0.1, 0.1])
ROLE_EFF = np.array([0.0, 0.3, -0.3, 0.5])
SD_ITV, SD_FP = 0.7, 0.5
CODER = {1: (0.70, 0.08), 2: (0.85, 0.12)}     # wave -> (sensitivity, false-positive rate)
SCENARIOS = {"change": (0.10, 0.16), "stable": (0.15, 0.15)}
M_ITV = 200


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    return np.log(p / (1 - p))


def superpop_share(p: float) -> float:
    """E[share] of the super-population (roles x interview effect), by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    return float(sum(rp * (w * expit(logit(p) + eff + SD_ITV * x)).sum() for rp, eff in zip(ROLE_P, ROLE_EFF)))


def population(rng, p: float, wave: int):
    n_seg = 15 + rng.poisson(5, M_ITV)
    role = rng.choice(len(ROLE_P), size=M_ITV, p=ROLE_P)
    itv = np.repeat(np.arange(M_ITV), n_seg)
    prob = expit(logit(p) + ROLE_EFF[role] + rng.normal(0, SD_ITV, M_ITV))[itv]
    y = rng.random(len(itv)) < prob
    sens, fpr = CODER[wave]
    fp = expit(logit(fpr) + rng.normal(0, SD_FP, M_ITV))[itv]
    yhat = np.where(y, rng.random(len(itv)) < sens, rng.random(len(itv)) < fp)
    return itv, role[itv], y.astype(float), yhat.astype(float)


def sums(itv, values):
    n = itv.max() + 1
    v = values.reshape(len(itv), -1)
    num = np.zeros((n, v.shape[1]))
    np.add.at(num, itv, v)
    return num, np.bincount(itv, minlength=n).astype(float)


def corrected(rng, itv, strata, y, yhat, n, design="stratified"):
    """Per-interview sums of the pseudo-outcomes (numerators, segment counts) and the coded units
    ``(interview, d = Y - Ŷ, weight 1, π)`` that ``track`` hands to ``few_errors_variance`` for the
    segments measure (an interview sample's segments carry their interview's π)."""
    if design == "interviews":             # whole interviews, stratified by role, n / 20 of them
        first = np.unique(itv, return_index=True)[1]
        s_itv = strata[first]
        sizes = np.bincount(s_itv)
        n_h = allocate(sizes, max(1, n // 20))
        picked = draw(s_itv, n_h, rng)[itv]
        pi = inclusion_probabilities(s_itv, sizes, n_h)[itv]
        return sums(itv, pseudo_outcomes(yhat, y, picked, pi)), coded_units(itv, y, yhat, picked, pi)
    weights = None
    if design == "oversampled":            # the coder's positives form strata drawn 3 times as often
        strata = strata * 2 + yhat.astype(int)
        weights = np.where(np.arange(strata.max() + 1) % 2 == 1, 3.0, 1.0)
    sizes = np.bincount(strata, minlength=int(strata.max()) + 1)
    n_h = allocate(sizes, n, weights)
    picked = draw(strata, n_h, rng)
    pi = inclusion_probabilities(strata, sizes, n_h)
    return sums(itv, pseudo_outcomes(yhat, y, picked, pi)), coded_units(itv, y, yhat, picked, pi)


def coded_units(itv, y, yhat, picked, pi):
    """What ``Calibration.coded_units`` gives for the segments measure: the coded segments'
    interview (cluster), ``d = Y - Ŷ`` (units x items), weight 1 and probability π."""
    sel = np.asarray(picked, dtype=bool)
    d = (np.asarray(y, dtype=float) - np.asarray(yhat, dtype=float))[sel]
    return itv[sel], d.reshape(int(sel.sum()), -1), np.ones(int(sel.sum())), np.asarray(pi, dtype=float)[sel]


def corrected_change(cor, rng_f, rng_t, rng_widen, n_boot=N_BOOT, alpha=ALPHA):
    """A corrected change as ``track changes`` computes it (tests/test_calibration_intervals.py
    checks that both give the same interval from the same generators): independent cluster
    bootstraps of the two waves, then ``widen`` by each wave's ``few_errors_variance`` over its
    squared segment count. ``(delta, lo, hi, reps)`` widened, and ``(lo, hi, reps)`` of the
    bootstrap alone."""
    (num_f, den_f), units_f = cor[0]
    (num_t, den_t), units_t = cor[1]
    d, lo0, hi0, reps0 = change_interval(num_f, den_f, num_t, den_t, n_boot, alpha, rng_f, rng_t)
    extra = (few_errors_variance(units_f, np.arange(len(den_f))) / max(float(den_f.sum()), 1e-12) ** 2
             + few_errors_variance(units_t, np.arange(len(den_t))) / max(float(den_t.sum()), 1e-12) ** 2)
    reps = widen(reps0, extra, rng_widen)
    lo, hi = percentile_ci(reps, alpha)
    return d, lo, hi, reps, (lo0, hi0, reps0)


def simulate(reps: int, seed: int) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(seed)
    for name, (p1, p2) in SCENARIOS.items():
        truth = superpop_share(p2) - superpop_share(p1)
        for r in range(reps):
            pops = [population(rng, p, w) for w, p in ((1, p1), (2, p2))]
            census = pops[1][2].mean() - pops[0][2].mean()
            raw = [sums(itv, yh) for itv, _, _, yh in pops]
            d, lo, hi, reps_ = change_interval(raw[0][0], raw[0][1], raw[1][0], raw[1][1], N_BOOT, ALPHA, rng, rng)
            rows.append((name, "raw", 0, truth, census, d[0], lo[0], hi[0], reps_[:, 0].std(), lo[0], hi[0],
                         reps_[:, 0].std()))
            designs = [("corrected", "stratified", NS)]
            if name == "change":
                designs += [("corrected, over-sampled x3", "oversampled", (100, 400)),
                            ("corrected, whole interviews", "interviews", (200, 400))]
            for label, design, ns in designs:
                for n in ns:
                    cor = [corrected(rng, itv, s, y, yh, n, design) for itv, s, y, yh in pops]
                    d, lo, hi, reps_, (lo0, hi0, reps0) = corrected_change(
                        cor, rng, rng, rng_for(seed, "chg-widen", name, r, design, n))
                    rows.append((name, label, n, truth, census, d[0], lo[0], hi[0], reps_[:, 0].std(), lo0[0],
                                 hi0[0], reps0[:, 0].std()))
    return pd.DataFrame(rows, columns=["scenario", "estimator", "n", "truth", "census", "delta", "lo", "hi", "se",
                                       "lo0", "hi0", "se0"])


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    g = df.assign(cover=(df["lo"] <= df["truth"]) & (df["truth"] <= df["hi"]),
                  cover_census=(df["lo"] <= df["census"]) & (df["census"] <= df["hi"]),
                  width=df["hi"] - df["lo"], err=df["delta"] - df["truth"], excl0=(df["lo"] > 0) | (df["hi"] < 0),
                  cover0=(df["lo0"] <= df["truth"]) & (df["truth"] <= df["hi0"]), width0=df["hi0"] - df["lo0"],
                  excl00=(df["lo0"] > 0) | (df["hi0"] < 0))
    out = g.groupby(["scenario", "estimator", "n"], sort=False).agg(
        truth=("truth", "first"), bias=("err", "mean"), coverage=("cover", "mean"),
        coverage_census=("cover_census", "mean"), width=("width", "mean"), excludes_0=("excl0", "mean"),
        se=("se", "mean"), sd=("delta", "std"), reps=("cover", "size"), coverage0=("cover0", "mean"),
        width0=("width0", "mean"), excludes_00=("excl00", "mean"), se0=("se0", "mean")).reset_index()
    out["se_ratio"] = out["se"] / out["sd"]          # bootstrap SE / actual SD of the estimate: ~1 is right
    out["se_ratio0"] = out["se0"] / out["sd"]
    return out


def demo(project: Path, reps: int, seed: int) -> pd.DataFrame | None:
    from key_coder import key_codes
    from textmine.store import Store
    from textmine.track import load_items
    if not (project / "textmine.duckdb").exists():
        print(f"\nB. demo answer key: no project at {project} (run `make demo` first); skipped")
        return None
    items = ["precarite", "financement_renouvellement", "coordination_territoriale", "demarches_administratives",
             "posture:faire_avec", "posture:faire_a_la_place"]
    with Store(project, read_only=True) as store:
        data = load_items(store, kinds=("theme", "posture"))
        key = key_codes(store)
    Y, _ = human_matrix(data, key)
    cols = [data.items.index(i) for i in items]
    Y, X = Y[:, cols], data.X[:, cols].astype(float)
    seg = data.segments
    waves = data.waves()[:2]
    parts = []
    for w in waves:
        m = (seg["wave"] == w).to_numpy()
        itv = pd.factorize(seg["interview_id"][m])[0]
        strata = pd.factorize(seg["role"][m])[0]
        parts.append((itv, strata, Y[m], X[m]))
    truth = parts[1][2].mean(axis=0) - parts[0][2].mean(axis=0)
    rng = np.random.default_rng(seed)
    raw = [sums(itv, x) for itv, _, _, x in parts]
    d_raw, lo_raw, hi_raw, _ = change_interval(raw[0][0], raw[0][1], raw[1][0], raw[1][1], N_BOOT, ALPHA, rng, rng)
    rows = [(it, "raw", 0, truth[j], d_raw[j] - truth[j], float(lo_raw[j] <= truth[j] <= hi_raw[j]),
             hi_raw[j] - lo_raw[j], np.nan, np.nan) for j, it in enumerate(items)]
    sizes = [len(p[0]) for p in parts]
    for n in (50, 100):
        if n > min(sizes):
            continue
        res = []
        for r in range(reps):
            cor = [corrected(rng, itv, s, y, x, n) for itv, s, y, x in parts]
            d, lo, hi, _, (lo0, hi0, _) = corrected_change(cor, rng, rng, rng_for(seed, "demo-widen", n, r))
            res.append((d, lo, hi, lo0, hi0))
        d, lo, hi, lo0, hi0 = (np.array([r[k] for r in res]) for k in range(5))
        for j, it in enumerate(items):
            rows.append((it, "corrected", n, truth[j], float((d[:, j] - truth[j]).mean()),
                         float(((lo[:, j] <= truth[j]) & (truth[j] <= hi[:, j])).mean()),
                         float((hi[:, j] - lo[:, j]).mean()),
                         float(((lo0[:, j] <= truth[j]) & (truth[j] <= hi0[:, j])).mean()),
                         float((hi0[:, j] - lo0[:, j]).mean())))
    print(f"\nB. demo answer key ({project}): respondent segments per wave {sizes}, {reps} replications")
    return pd.DataFrame(rows, columns=["item", "estimator", "n", "truth", "bias", "coverage", "width", "coverage0",
                                       "width0"])


def pts(v: float) -> str:
    return f"{100 * v:+.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--project", type=Path, default=ROOT / "demo-project")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sim = summarise(simulate(args.reps, args.seed))
    t_sim = time.perf_counter() - t0
    print(f"A. simulation: {args.reps} replications per scenario, {M_ITV} interviews (~4,000 segments) per wave, "
          f"{N_BOOT} bootstrap replicates; {t_sim:.0f} s")
    print("| scenario | estimator | coded per wave | true change, pts | bias, pts | coverage | coverage (census) "
          "| 95 % CI width, pts | interval SE / actual SD | CI excludes 0 | bootstrap alone: coverage, width, "
          "SE / SD, excludes 0 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sim.itertuples():
        alone = "–" if r.estimator == "raw" else (f"{r.coverage0:.3f}, {100 * r.width0:.1f}, {r.se_ratio0:.2f}, "
                                                  f"{r.excludes_00:.2f}")
        print(f"| {r.scenario} | {r.estimator} | {r.n if r.n else '–'} | {pts(r.truth)} | {pts(r.bias)} | "
              f"{r.coverage:.3f} | {r.coverage_census:.3f} | {100 * r.width:.1f} | {r.se_ratio:.2f} | "
              f"{r.excludes_0:.2f} | {alone} |")
    print(f"Monte Carlo standard error of a coverage near 0.95: {np.sqrt(0.95 * 0.05 / args.reps):.3f}")
    cor = sim[sim["estimator"].str.startswith("corrected")]
    print(f"lowest corrected coverage: {cor['coverage'].min():.3f} (aim >= 0.93)")
    cor = cor[cor["estimator"] == "corrected"]
    ch = cor[cor["scenario"] == "change"]
    print("minimum detectable change with 80 % power (2.8 standard errors; SE = width / 3.92):")
    for r in ch.itertuples():
        print(f"  code {r.n} segments per wave -> a change of about {100 * 2.8 * r.width / 3.92:.0f} points "
              f"(bootstrap alone: {100 * 2.8 * r.width0 / 3.92:.0f})")
    t1 = time.perf_counter()
    dm = demo(args.project, args.reps, args.seed)
    if dm is not None:
        print("| item | estimator | coded per wave | true change (key census), pts | bias, pts | coverage "
              "| width, pts | bootstrap alone: coverage, width |")
        print("|---|---|---|---|---|---|---|---|")
        for r in dm.itertuples():
            alone = "–" if r.estimator == "raw" else f"{r.coverage0:.3f}, {100 * r.width0:.1f}"
            print(f"| {r.item} | {r.estimator} | {r.n if r.n else '–'} | {pts(r.truth)} | {pts(r.bias)} | "
                  f"{r.coverage:.3f} | {100 * r.width:.1f} | {alone} |")
        print(f"({time.perf_counter() - t1:.0f} s; raw has no sampling: its coverage is 1 or 0)")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
