"""Benchmark: `track` (prevalence, changes, panel) and `report` on 50,000 synthetic segments.

Prints wall times, and the speed-up of the vectorised cluster bootstrap over a naive
per-replicate pandas bootstrap run in the same process (extrapolated from a few replicates).
Run: .venv/bin/python benchmarks/track_bench.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers_track import build_store  # noqa: E402
from textmine.report import write_report  # noqa: E402
from textmine.track import changes, load_items, panel, prevalence  # noqa: E402


def timed(label: str, fn):
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<48s} {dt:8.2f} s")
    return res, dt


def naive_bootstrap(data, n_rep: int, seed: int) -> float:
    """Baseline: resample interviews per wave with pandas, one replicate at a time."""
    seg = data.segments.assign(_hit=data.X[:, 0])
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for wave, g in seg.groupby("wave"):
        ids = g["interview_id"].unique()
        by_itv = {i: x for i, x in g.groupby("interview_id")}
        for _ in range(n_rep):
            pick = rng.choice(ids, size=len(ids), replace=True)
            s = __import__("pandas").concat([by_itv[i] for i in pick])
            s["_hit"].mean()
    return time.perf_counter() - t0


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="track_bench_"))
    (store, t_build) = timed("build store (2 waves x 250 itv x 100 segments)", lambda: build_store(
        root / "proj", n_per_wave=250, segs_per_interview=100, n_panel=60, seed=0))
    n = store.query("SELECT count(*) AS n FROM segments WHERE role <> 'interviewer'")["n"][0]
    cfg = store.config.track
    print(f"respondent segments: {n:,}; items: themes + posture + topics; n_boot={cfg.n_boot}, n_perm={cfg.n_perm}")
    data, t_load = timed("load segments + codings (load_items)", lambda: load_items(store))
    _, t_prev = timed("prevalence by wave (all items)", lambda: prevalence(store, by=["wave"], data=data))
    timed("prevalence by wave x role x territory", lambda: prevalence(store, by=["wave", "role", "territory"],
                                                                        data=data))
    timed("prevalence by wave, measure=interviews", lambda: prevalence(store, by=["wave"], measure="interviews",
                                                                         data=data))
    ch, t_ch = timed("changes 2022 -> 2023 (bootstrap + permutations)", lambda: changes(store, "2022", "2023",
                                                                                         data=data))
    timed("changes by role", lambda: changes(store, "2022", "2023", by=["role"], data=data))
    timed("panel", lambda: panel(store, data=data))
    _, t_track_cli = timed("track end to end (load + prevalence by wave)", lambda: prevalence(store, by=["wave"]))
    _, t_rep = timed("report (HTML + PNG/SVG figures)", lambda: write_report(store, root / "report.html"))
    # baseline: naive bootstrap of one item, extrapolated to n_boot replicates
    k = 20
    t_naive = naive_bootstrap(data, k, 0) / k * cfg.n_boot
    t_vec = t_prev / max(len(data.items), 1)   # vectorised: all items at once; charge one item its share
    print(f"naive pandas bootstrap, 1 item, {cfg.n_boot} reps (extrapolated) {t_naive:8.2f} s")
    print(f"vectorised bootstrap, all {len(data.items)} items            {t_prev:8.2f} s  "
          f"(speed-up x{t_naive / t_prev:.0f} for all items, x{t_naive / t_vec:.0f} per item)")
    sig = ch[ch["significant"]]["theme"].tolist()
    print(f"significant changes (q < {cfg.alpha}): {', '.join(sig)}")
    store.close()


if __name__ == "__main__":
    main()
