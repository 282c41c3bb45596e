"""Vectorised cluster bootstrap, permutation test and Benjamini–Hochberg correction.

Segments of one interview are not independent, so every resampling unit here is a
*cluster* (an interview, or an interview's segments within a cell when grouping by
segment-level attributes such as ``role``). Work is done on per-cluster sums:

``num`` (n_clusters x n_items) and ``den`` (n_clusters,) so that a share is
``num.sum(0) / den.sum()``. A bootstrap replicate is a vector of multiplicities ``w``
over clusters, so all replicates at once are one matrix product ``W @ num``.
"""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

MEASURES = ("segments", "words", "interviews")


def rng_for(random_state: int, *key: Any) -> np.random.Generator:
    """A generator seeded by ``random_state`` and a stable key (a cell, a theme ...), so a
    cell's interval does not depend on which other cells were computed."""
    return np.random.default_rng([int(random_state) & 0xFFFFFFFF, zlib.crc32(repr(key).encode("utf-8"))])


def cluster_sums(codes: np.ndarray, n_clusters: int, X: np.ndarray, n_words: np.ndarray,
                 measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster numerators (n_clusters x n_items) and denominators for ``measure``."""
    n = len(codes)
    Xf = X.astype(np.float64).reshape(n, -1)
    if measure == "words":
        w = n_words.astype(np.float64)
    else:
        w = np.ones(n)
    # one bincount per item: sums in segment order, as a cluster x segment sparse product does
    num = np.zeros((n_clusters, Xf.shape[1]))
    for j in range(Xf.shape[1]):
        num[:, j] = np.bincount(codes, weights=w * Xf[:, j], minlength=n_clusters)
    den = np.bincount(codes, weights=w, minlength=n_clusters)
    if measure == "interviews":
        num = (num > 0).astype(np.float64)
        den = np.ones(n_clusters)
    return num, den


def resample_weights(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot x n_clusters) multiplicities of a with-replacement resample of clusters."""
    idx = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    flat = (idx + (np.arange(n_boot) * n_clusters)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_clusters).reshape(n_boot, n_clusters).astype(np.float64)


def boot_shares(num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot x n_items) bootstrap replicates of the shares (nan when a replicate is empty)."""
    W = resample_weights(len(den), n_boot, rng)
    bn = W @ num
    bd = W @ den
    with np.errstate(invalid="ignore", divide="ignore"):
        return bn / bd[:, None]


def percentile_ci(reps: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column of ``reps`` (n_boot x n_items), ignoring NaN
    replicates; NaN for a column with no finite replicate."""
    lo, hi = np.full(reps.shape[1], np.nan), np.full(reps.shape[1], np.nan)
    ok = np.isfinite(reps).any(axis=0)
    if ok.any():
        lo[ok] = np.nanquantile(reps[:, ok], alpha / 2, axis=0)
        hi[ok] = np.nanquantile(reps[:, ok], 1 - alpha / 2, axis=0)
    return lo, hi


def change_interval(num_f: np.ndarray, den_f: np.ndarray, num_t: np.ndarray, den_t: np.ndarray, n_boot: int,
                    alpha: float, rng_f: np.random.Generator, rng_t: np.random.Generator):
    """``(delta, ci_low, ci_high, replicates)`` of ``share(to) - share(from)``: independent cluster
    bootstraps of the two waves' clusters and a percentile interval of the differences."""
    reps = boot_shares(num_t, den_t, n_boot, rng_t) - boot_shares(num_f, den_f, n_boot, rng_f)
    lo, hi = percentile_ci(reps, alpha)
    return share(num_t, den_t) - share(num_f, den_f), lo, hi, reps


def ci_label(alpha: float) -> str:
    """The level of the intervals computed with ``alpha`` as tables write it: ``0.05`` -> ``95 %``."""
    return f"{100 * (1 - float(alpha)):g} %"


def share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    d = den.sum()
    return num.sum(axis=0) / d if d > 0 else np.full(num.shape[1], np.nan)


def permutation_pvalues(num: np.ndarray, den: np.ndarray, is_to: np.ndarray, n_perm: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Two-sided permutation p-values for ``share(to) - share(from)`` per item.

    Clusters keep their own segments; only the wave labels of clusters are shuffled
    (``is_to`` marks the clusters of the later wave). ``p = (1 + #{|d*| >= |d|}) / (1 + n_perm)``.
    """
    is_to = np.asarray(is_to, dtype=bool)
    n_items = num.shape[1]
    if is_to.all() or not is_to.any() or n_perm <= 0:
        return np.full(n_items, np.nan)
    tot_num, tot_den = num.sum(axis=0), den.sum()

    def delta(mask: np.ndarray) -> np.ndarray:   # mask: (P x n_clusters) float
        nt, dt = mask @ num, mask @ den
        nf, df = tot_num - nt, tot_den - dt
        with np.errstate(invalid="ignore", divide="ignore"):
            return nt / dt[:, None] - nf / df[:, None]

    obs = delta(is_to[None, :].astype(np.float64))[0]
    perms = rng.permuted(np.tile(is_to, (n_perm, 1)), axis=1).astype(np.float64)
    d = delta(perms)
    tol = 1e-12
    ge = (np.abs(d) >= np.abs(obs)[None, :] - tol).sum(axis=0)
    p = (1.0 + ge) / (1.0 + n_perm)
    p[~np.isfinite(obs)] = np.nan
    return p


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values, :func:`scipy.stats.false_discovery_control`)
    over the finite p-values; NaN p-values (untested cells) stay NaN and do not count as tests."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        # SciPy's stats package takes about 0.3 s to import: only the commands that test changes pay it
        from scipy.stats import false_discovery_control
        q[ok] = false_discovery_control(p[ok], method="bh")
    return q


def yates_chi2(n_both: np.ndarray, n1: np.ndarray, n2: np.ndarray, n_tot: int) -> np.ndarray:
    """Signed chi-square of the 2 x 2 tables ``[[n_both, n1-n_both], [n2-n_both, rest]]`` with
    Yates' continuity correction (R's ``chisq.test`` default), negative when ``n_both`` is
    below its expected count."""
    o = np.stack([n_both, n1 - n_both, n2 - n_both, n_tot - n1 - n2 + n_both]).astype(float)
    rows = np.stack([n1, n1, n_tot - n1, n_tot - n1]).astype(float)
    cols = np.stack([n2, n_tot - n2, n2, n_tot - n2]).astype(float)
    e = rows * cols / n_tot
    yates = np.minimum(0.5, np.abs(o - e).min(axis=0))      # R: YATES <- min(0.5, abs(x - E))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = (((np.abs(o - e) - yates) ** 2) / e).sum(axis=0)
    chi = np.nan_to_num(chi)
    return np.where(e[0] > n_both, -chi, chi)
