"""Stratified sampling without replacement, with known inclusion probabilities (numpy only).

Units are split into strata (wave x role by default, optionally x an "uncertain" band); a
stratum ``h`` of ``N_h`` units gets ``n_h`` draws and every unit of it has inclusion
probability ``pi = n_h / N_h``. :func:`allocate` spreads a total over strata in proportion to
their size (times a weight, for over-sampling), with at least ``minimum`` units (or all of a
smaller stratum) per stratum, so that no unit has probability 0 — the condition for the
corrected estimates to be unbiased. :func:`draw` is vectorised (one random key per unit, the
``n_h`` smallest keys of each stratum are drawn), so benchmarks can call it thousands of times.
"""
from __future__ import annotations

import numpy as np


def allocate(sizes, n: int, weights=None, minimum: int = 2) -> np.ndarray:
    """Draws per stratum: about ``n * w_h N_h / sum(w N)``, at least ``min(minimum, N_h)``, at
    most ``N_h``; the total is ``min(n, sum N)`` (it can exceed ``n`` only when the minimums do)."""
    N = np.asarray(sizes, dtype=np.int64)
    w = np.ones(len(N)) if weights is None else np.asarray(weights, dtype=float)
    total = int(min(max(int(n), 0), N.sum()))
    out = np.minimum(N, minimum).astype(np.int64)
    wN = w * N
    target = total * wN / max(float(wN.sum()), 1e-12)
    while out.sum() < total:
        room = N - out
        open_ = room > 0
        need = np.where(open_, np.maximum(target - out, 0.0), 0.0)
        if need.sum() <= 0:           # every open stratum has its share already: spread by weight
            need = np.where(open_, wN, 0.0)
        share = need / need.sum() * (total - out.sum())
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:            # only remainders left: one unit to the largest
            add[int(np.argmax(np.where(open_, share, -1.0)))] = 1
        out += add
    return out


def draw(strata: np.ndarray, n_h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the units drawn: ``n_h[h]`` units chosen uniformly without replacement in
    each stratum ``h`` (``strata`` holds each unit's stratum code ``0..H-1``)."""
    strata = np.asarray(strata, dtype=np.int64)
    key = rng.random(len(strata))
    order = np.lexsort((key, strata))
    s_sorted = strata[order]
    start = np.searchsorted(s_sorted, s_sorted, side="left")
    rank = np.arange(len(strata)) - start
    picked = np.zeros(len(strata), dtype=bool)
    picked[order] = rank < np.asarray(n_h, dtype=np.int64)[s_sorted]
    return picked


def inclusion_probabilities(strata: np.ndarray, sizes: np.ndarray, n_h: np.ndarray) -> np.ndarray:
    """``n_h / N_h`` of each unit's stratum."""
    strata = np.asarray(strata, dtype=np.int64)
    return np.asarray(n_h, dtype=float)[strata] / np.maximum(np.asarray(sizes, dtype=float)[strata], 1.0)
