"""Greedy maximal marginal relevance (MMR): a few relevant rows that do not repeat each other.

Used by the quote bank (:mod:`textmine.export.quotes`: quotes of one theme, wave and role) and
by active learning (:mod:`textmine.themes.active`: the next segments to code). Rows of ``X``
are unit vectors, so ``X @ X[i]`` is a cosine.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

TIE = 1e-12     # scores this close count as equal: the lowest index wins


def mmr(relevance: np.ndarray, X: np.ndarray, k: int, *, weight: float = 0.7,
        groups: Sequence | None = None, group_penalty: float = 0.0,
        near_duplicate: float | None = None) -> list[int]:
    """Indices of up to ``k`` rows, in the order picked.

    Each step picks the row maximising ``weight * relevance - (1 - weight) * (largest cosine to
    a picked row) - group_penalty * (its group already picked)``. Rows whose largest cosine to a
    picked row reaches ``near_duplicate`` are skipped while other rows remain. Ties: lowest index.
    """
    rel = np.asarray(relevance, dtype=float)
    n = len(rel)
    if groups is not None and len(groups) != n:
        raise ValueError(f"{len(groups)} groups for {n} rows")
    codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)[1] \
        if groups is not None and group_penalty else None
    left = np.ones(n, dtype=bool)
    max_sim = np.zeros(n)                 # read only once a row is picked
    same_group = np.zeros(n, dtype=bool)
    picked: list[int] = []
    while len(picked) < min(k, n):
        score = weight * rel
        candidates = left
        if picked:
            score = score - (1 - weight) * max_sim - group_penalty * same_group
            if near_duplicate is not None:
                fresh = left & (max_sim < near_duplicate)
                candidates = fresh if fresh.any() else left
        score = np.where(candidates, score, -np.inf)
        i = int(np.flatnonzero(score >= score.max() - TIE)[0])
        sim = X @ X[i]
        max_sim = sim if not picked else np.maximum(max_sim, sim)
        if codes is not None:
            same_group |= codes == codes[i]
        picked.append(i)
        left[i] = False
    return picked
