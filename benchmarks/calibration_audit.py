"""Audit of the corrected (calibrated) tracking figures: bias and interval coverage of shares,
breakdowns and changes, through textmine's own ``prevalence()`` and ``changes()``.

Unlike ``calibration_coverage.py`` (which calls the pseudo-outcome and bootstrap helpers), every
figure here comes out of :func:`textmine.track.prevalence` and :func:`textmine.track.changes`:
the simulated wave is a :class:`~textmine.track.data.TrackData`, the drawn sample becomes a
:class:`~textmine.track.calibrated.Calibration` (inclusion probabilities adjusted for uncoded units
by :func:`~textmine.track.calibrated.adjusted_segments`, as ``textmine track`` does), and the
functions run with the project's default settings (1,000 bootstrap replicates,
calibration.min_coded 3 unless ``--min-coded``; the README's part C tables before its min_coded
table were measured with 10, which changes only cells holding 3 to 9 coded units).

Population, per replication and wave: 200 interviews of 15 + Poisson(5) segments, four roles (60,
20, 10, 10 %) with role effects, three territories (independent of role) with territory effects,
an interview effect (sd 0.7, logit). Two themes: ``commun`` (10 % -> 16 % on the logit scale) and
``rare`` (1.3 % -> 2 % on the logit scale, about 2 % -> 3 % of segments; never present in role r3, and the coder never marks it there: a stratum
without any positive). The coder's error rates change between waves (wave 1 -> wave 2):
``commun`` sensitivity 0.70 -> 0.85, false positives 0.08 -> 0.12; ``rare`` 0.70 -> 0.85 and
0.01 -> 0.02; false positives are clustered by interview (sd 0.5). Words per segment:
8 + Poisson(25), plus 15 for a segment carrying ``commun`` (the words measure differs).

Samples: stratified by wave x role (``themes sample``'s default), n coded segments per wave,
proportional allocation with at least 2 per stratum. Truth: the super-population value,
estimated once from 40,000 interviews per wave (its Monte Carlo error is below 0.05 points), and
the replication's own census of the human codes.

Partial coding (``--partial``): the first half of each sheet coded, interviews numbered by
territory (so that the first half of a sheet sorted by interview name is mostly one territory):
the old sheet (interviews by name) against the new one (interviews in a seeded random order).

Small groups against ``calibration.min_coded`` (``--min-coded 10,5,3``): each drawn sample is run
once per value (the same sample, the Calibration's ``min_coded`` changed), and part E reports, per
value, the cells by role and by territory and the changes by role as the user sees them: a cell
under the threshold is the coder's raw figure (with its raw interval), counted in its coverage,
bias and width, beside the share of replications in which it was corrected.

Run: .venv/bin/python benchmarks/calibration_audit.py [--reps 300] [--seed 7] [--ns 50,100,200]
[--min-coded 10,5,3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textmine.calibrate.design import allocate, draw, inclusion_probabilities  # noqa: E402
from textmine.config import defaults  # noqa: E402
from textmine.track.calibrated import Calibration, adjusted_segments  # noqa: E402
from textmine.track.changes import changes  # noqa: E402
from textmine.track.data import TrackData  # noqa: E402
from textmine.track.prevalence import prevalence  # noqa: E402

ITEMS = ("commun", "rare")
M_ITV = 200
ROLE_P = np.array([0.6, 0.2, 0.1, 0.1])
ROLE_EFF = {"commun": np.array([0.0, 0.3, -0.3, 0.5]), "rare": np.array([0.0, 0.4, 0.2, -np.inf])}
TERR_P = np.array([0.4, 0.35, 0.25])
TERR_EFF = np.array([-0.4, 0.1, 0.6])
SD_ITV, SD_FP = 0.7, 0.5
BASE = {"commun": (0.10, 0.16), "rare": (0.013, 0.02)}
CODER = {"commun": ((0.70, 0.08), (0.85, 0.12)), "rare": ((0.70, 0.01), (0.85, 0.02))}
NS = (10, 20, 30, 100, 200, 400)


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    return np.log(p / (1 - p))


def population(rng, wave: int, m: int = M_ITV, by_territory: bool = False) -> pd.DataFrame:
    """One wave's respondent segments with their human codes ``y_*`` and the coder's ``x_*``."""
    n_seg = 15 + rng.poisson(5, m)
    role = rng.choice(4, size=m, p=ROLE_P)
    terr = rng.choice(3, size=m, p=TERR_P)
    if by_territory:                 # interview ids in territory order (e.g. files named by place)
        order = np.argsort(terr, kind="stable")
        role, terr, n_seg = role[order], terr[order], n_seg[order]
    itv = np.repeat(np.arange(m), n_seg)
    df = pd.DataFrame({"interview_id": [f"w{wave}_i{j:05d}" for j in itv], "wave": str(wave),
                       "role": [f"r{r}" for r in role[itv]], "territory": [f"t{t}" for t in terr[itv]]})
    df["segment_id"] = [f"w{wave}_s{k:07d}" for k in range(len(df))]
    df["respondent_id"] = df["interview_id"]
    for it in ITEMS:
        eff = logit(BASE[it][wave - 1]) + ROLE_EFF[it][role] + TERR_EFF[terr] + rng.normal(0, SD_ITV, m)
        y = rng.random(len(itv)) < expit(eff)[itv]
        sens, fpr = CODER[it][wave - 1]
        fp = expit(logit(fpr) + rng.normal(0, SD_FP, m))[itv]
        fp = np.where(np.isinf(ROLE_EFF[it][role])[itv], 0.0, fp)
        df[f"y_{it}"] = y.astype(float)
        df[f"x_{it}"] = np.where(y, rng.random(len(itv)) < sens, rng.random(len(itv)) < fp)
    df["n_words"] = 8 + rng.poisson(25, len(df)) + 15 * df["y_commun"].astype(int)
    return df


def both_waves(rng, **kw) -> pd.DataFrame:
    return pd.concat([population(rng, 1, **kw), population(rng, 2, **kw)], ignore_index=True)


def truths(seed: int) -> dict:
    """Super-population values of every figure checked, from one very large population."""
    big = both_waves(np.random.default_rng(seed + 10_000), m=40_000)
    out = {}
    for it in ITEMS:
        y = big[f"y_{it}"]
        for w, g in big.groupby("wave"):
            out[("share", it, w, "")] = g[f"y_{it}"].mean()
            out[("words", it, w, "")] = (g[f"y_{it}"] * g["n_words"]).sum() / g["n_words"].sum()
            for col in ("role", "territory"):
                for k, gg in g.groupby(col):
                    out[("share", it, w, k)] = gg[f"y_{it}"].mean()
        for col in ("", "role"):
            keys = [""] if not col else sorted(big[col].unique())
            for k in keys:
                m2 = big["wave"].eq("2") & (big[col].eq(k) if col else True)
                m1 = big["wave"].eq("1") & (big[col].eq(k) if col else True)
                out[("change", it, "", k)] = y[m2].mean() - y[m1].mean()
    return out


def census(pop: pd.DataFrame) -> dict:
    out = {}
    for it in ITEMS:
        for w, g in pop.groupby("wave"):
            out[("share", it, w, "")] = g[f"y_{it}"].mean()
            out[("words", it, w, "")] = (g[f"y_{it}"] * g["n_words"]).sum() / g["n_words"].sum()
            for col in ("role", "territory"):
                for k, gg in g.groupby(col):
                    out[("share", it, w, k)] = gg[f"y_{it}"].mean()
        for k in [""] + sorted(pop["role"].unique()):
            sel = pop["role"].eq(k) if k else pd.Series(True, index=pop.index)
            a = pop.loc[sel & pop["wave"].eq("2"), f"y_{it}"].mean()
            b = pop.loc[sel & pop["wave"].eq("1"), f"y_{it}"].mean()
            out[("change", it, "", k)] = a - b
    return out


def track_data(pop: pd.DataFrame) -> TrackData:
    X = pop[[f"x_{it}" for it in ITEMS]].to_numpy(dtype=bool)
    seg = pop[["segment_id", "interview_id", "wave", "role", "territory", "respondent_id", "n_words"]].copy()
    seg["structure_type"] = None
    seg["date"] = None
    return TrackData(seg, list(ITEMS), ["theme"] * len(ITEMS), {it: it for it in ITEMS}, X,
                     np.full(X.shape, np.nan), run_id="sim")


def draw_units(rng, pop: pd.DataFrame, n: int, waves=("1", "2")) -> pd.DataFrame:
    """A stratified (wave x role) sample of ``n`` segments per wave: the rows of ``calibration_units``."""
    parts = []
    for w in waves:
        g = pop[pop["wave"] == w]
        codes, names = pd.factorize(g["role"], sort=True)
        sizes = np.bincount(codes, minlength=len(names))
        n_h = allocate(sizes, n)
        picked = draw(codes, n_h, rng)
        pi = inclusion_probabilities(codes, sizes, n_h)
        parts.append(pd.DataFrame({"segment_id": g["segment_id"].to_numpy()[picked],
                                   "interview_id": g["interview_id"].to_numpy()[picked],
                                   "stratum": [f"{w}|{names[c]}" for c in codes[picked]],
                                   "inclusion_prob": pi[picked], "wave": w}))
    return pd.concat(parts, ignore_index=True)


def calibration_for(pop: pd.DataFrame, data: TrackData, units: pd.DataFrame, coded_ids: set[str],
                    min_coded: int = 10) -> Calibration:
    """What ``track`` builds from a stored sample and its imported codes (one coder)."""
    n = len(pop)
    Y = pop[[f"y_{it}" for it in ITEMS]].to_numpy(dtype=float)
    pos = pd.Index(pop["segment_id"])
    pi, coded, covered = np.full(n, np.nan), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    samples = {}
    for w, u in units.groupby("wave"):
        adj, empty = adjusted_segments(u, coded_ids)
        if empty is not None:
            continue
        p = pos.get_indexer(adj.index)
        pi[p] = adj.to_numpy()
        coded[p] = True
        covered |= (pop["wave"] == w).to_numpy()
        samples[w] = "s1"
    human_coded = pop["segment_id"].isin(coded_ids).to_numpy()
    return Calibration(data.X.astype(float), [np.where(human_coded[:, None], Y, 0.0)], [human_coded], coded & covered,
                       pi, covered, np.zeros(n, dtype=bool), np.full(n, np.nan), np.zeros(n, dtype=bool),
                       np.ones(len(ITEMS), dtype=bool), min_coded, samples, {}, [], {"s1": "segments"})


def fake_store(random_state: int):
    cfg = defaults()
    cfg.random_state = random_state
    cfg.track.n_perm = 50          # permutation p-values are for raw rows only; not audited here
    return SimpleNamespace(config=cfg, root=Path("."))


def figures(store, data: TrackData, cal: Calibration | None) -> list[tuple]:
    """(figure, item, wave, group, estimate, lo, hi, estimator) of every figure audited."""
    data.cache.clear()
    data.cache[("calibration", None, None)] = cal
    est = "raw" if cal is None else "auto"
    out = []
    for fig, by, measure in (("share", ["wave"], "segments"), ("share", ["wave", "role"], "segments"),
                             ("share", ["wave", "territory"], "segments"), ("words", ["wave"], "words")):
        df = prevalence(store, by=by, measure=measure, data=data, estimator=est)
        for r in df.itertuples():
            grp = getattr(r, by[1]) if len(by) > 1 else ""
            out.append((fig, r.theme, str(r.wave), grp, r.share, r.ci_low, r.ci_high, r.estimator))
    for by in ([], ["role"]):
        df = changes(store, "1", "2", by=by, data=data, estimator=est)
        for r in df.itertuples():
            out.append(("change", r.theme, "", getattr(r, "role", "") if by else "", r.delta, r.ci_low, r.ci_high,
                        r.estimator))
    return out


def simulate(reps: int, seed: int, ns=NS, min_codeds: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Every figure of every replication; ``min_coded`` 0 for the raw rows. With several
    ``min_codeds`` each sample is run once per value (the first value first: the draws, hence the
    rows of that value, are those of a run with it alone)."""
    min_codeds = min_codeds or (defaults().calibration.min_coded,)
    rng = np.random.default_rng(seed)
    rows = []
    for rep in range(reps):
        pop = both_waves(rng)
        data = track_data(pop)
        cen = census(pop)
        store = fake_store(seed + rep)
        for f in figures(store, data, None):
            rows.append((rep, "raw", 0, 0, *f, cen[f[:4]]))
        for n in ns:
            units = draw_units(rng, pop, n)
            for mc in min_codeds:
                cal = calibration_for(pop, data, units, set(units["segment_id"]), min_coded=mc)
                for f in figures(store, data, cal):
                    rows.append((rep, "corrected", n, mc, *f, cen[f[:4]]))
    return pd.DataFrame(rows, columns=["rep", "design", "n", "min_coded", "figure", "item", "wave", "group", "est",
                                       "lo", "hi", "estimator", "census"])


def partial(reps: int, seed: int, n: int = 200) -> pd.DataFrame:
    """Half of each sheet coded: in sheet order (interview id order, ids numbered by territory)
    against a random half. The overall share of ``commun`` in each wave."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for rep in range(reps):
        pop = both_waves(rng, by_territory=True)
        data = track_data(pop)
        store = fake_store(seed + rep)
        cen = census(pop)
        units = draw_units(rng, pop, n)
        sheet = units.sort_values(["wave", "interview_id", "segment_id"])   # the sheet's order before the fix
        for how in ("old sheet: interviews by name", "new sheet: interviews shuffled"):
            keep = []
            for _, g in sheet.groupby("wave", sort=True):
                if how.startswith("new"):           # sample.sheet_rows: interviews in a seeded random order
                    itv = g["interview_id"].unique()
                    rank = dict(zip(itv, rng.permutation(len(itv))))
                    g = g.assign(_r=g["interview_id"].map(rank)).sort_values(["_r", "segment_id"])
                ids = g["segment_id"].to_numpy()
                keep.extend(ids[: len(ids) // 2])
            cal = calibration_for(pop, data, units, set(keep))
            for f in figures(store, data, cal):
                if f[0] in ("share", "change") and f[3] == "":
                    rows.append((rep, how, n, defaults().calibration.min_coded, *f, cen[f[:4]]))
    return pd.DataFrame(rows, columns=["rep", "design", "n", "min_coded", "figure", "item", "wave", "group", "est",
                                       "lo", "hi", "estimator", "census"])


def summarise(df: pd.DataFrame, truth: dict) -> pd.DataFrame:
    df = df.assign(truth=[truth[k] for k in zip(df["figure"], df["item"], df["wave"], df["group"])])
    df = df.assign(err=df["est"] - df["truth"], cover=(df["lo"] <= df["truth"]) & (df["truth"] <= df["hi"]),
                   cover_census=(df["lo"] <= df["census"]) & (df["census"] <= df["hi"]), width=df["hi"] - df["lo"],
                   corrected=df["estimator"].eq("calibrated"))
    g = df.groupby(["figure", "item", "group", "wave", "design", "n", "min_coded"], sort=True)
    out = g.agg(truth=("truth", "first"), bias=("err", "mean"), sd=("est", "std"), coverage=("cover", "mean"),
                coverage_census=("cover_census", "mean"), width=("width", "mean"), corrected=("corrected", "mean"),
                reps=("cover", "size")).reset_index()
    out["bias_mcse"] = out["sd"] / np.sqrt(out["reps"])
    out["cov_mcse"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["reps"])
    return out


def show(s: pd.DataFrame, title: str) -> None:
    print(f"\n{title}")
    print("| figure | item | group | wave | design | n/wave | truth, pts | bias, pts (MCSE) | coverage (MCSE) "
          "| coverage (census) | width, pts | share of reps corrected |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in s.itertuples():
        print(f"| {r.figure} | {r.item} | {r.group or 'all'} | {r.wave or '1->2'} | {r.design} | {r.n or '-'} | "
              f"{100 * r.truth:+.2f} | {100 * r.bias:+.2f} ({100 * r.bias_mcse:.2f}) | {r.coverage:.3f} "
              f"({r.cov_mcse:.3f}) | {r.coverage_census:.3f} | {100 * r.width:.1f} | {r.corrected:.2f} |")


def show_min_coded(s: pd.DataFrame) -> None:
    """Part E: per cell (by role, by territory; changes by role) and n, one line per min_coded."""
    sub = s[s["design"].eq("corrected") & s["group"].ne("") & s["figure"].isin(["share", "change"])]
    print("\nE. Small groups and calibration.min_coded: cells by role / territory, changes by role, "
          "raw fallbacks counted as shown")
    print("| figure | item | group | wave | n/wave | min_coded | corrected | coverage (MCSE) | bias, pts (MCSE) "
          "| width, pts |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sub.sort_values(["figure", "item", "group", "wave", "n", "min_coded"],
                             ascending=[True, True, True, True, True, False]).itertuples():
        print(f"| {r.figure} | {r.item} | {r.group} | {r.wave or '1->2'} | {r.n} | {r.min_coded} | "
              f"{r.corrected:.2f} | {r.coverage:.3f} ({r.cov_mcse:.3f}) | {100 * r.bias:+.2f} "
              f"({100 * r.bias_mcse:.2f}) | {100 * r.width:.1f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ns", type=str, default=",".join(map(str, NS)))
    ap.add_argument("--partial", action="store_true", help="also the partial-coding comparison")
    ap.add_argument("--min-coded", type=str, default=None,
                    help="calibration.min_coded values to compare, e.g. 10,5,3 (default: the project default "
                         "alone); parts A-C show the first, part E all")
    ap.add_argument("--csv", type=str, default=None, help="also write the summary table to this CSV file")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    truth = truths(args.seed)
    mcs = tuple(int(x) for x in args.min_coded.split(",")) if args.min_coded else None
    sim = simulate(args.reps, args.seed, tuple(int(x) for x in args.ns.split(",")), mcs)
    s_all = summarise(sim, truth)
    if args.csv:
        s_all.to_csv(args.csv, index=False)
    first = mcs[0] if mcs else defaults().calibration.min_coded
    s = s_all[s_all["min_coded"].isin([0, first])]
    print(f"{args.reps} replications, {M_ITV} interviews (~4,000 segments) per wave; {time.perf_counter() - t0:.0f} s")
    main_rows = s[(s["group"] == "") | (s["figure"] == "change")]
    show(main_rows[main_rows["figure"].isin(["share", "words"])], "A. Shares of a wave (all segments; words measure)")
    show(s[s["figure"] == "change"], "B. Changes wave 1 -> 2 (all, and by role)")
    show(s[(s["figure"] == "share") & (s["group"] != "") & s["design"].eq("corrected")
           & s["n"].isin([30, 100, 400])], "C. Shares by role and by territory (corrected)")
    if mcs and len(mcs) > 1:
        show_min_coded(s_all)
    if args.partial:
        p = summarise(partial(args.reps, args.seed), truth)
        show(p, "D. Half of the sheet coded (n = 200 drawn per wave)")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
