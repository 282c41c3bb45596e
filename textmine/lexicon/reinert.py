"""Reinert's descending hierarchical classification, as the R package rainette computes it.

:class:`ReinertClassifier` is a scikit-learn clusterer over a segment x term matrix (any
counts; only presence counts). It follows ``rainette::rainette()`` (J. Barnier), the simple
classification of Reinert (1983) that IRaMuTeQ also implements:

1. the matrix is made binary; with ``min_segment_size > 1``, consecutive segments of the same
   source document (``groups``) are merged until each has that many distinct terms
   (``rainette::merge_segments``);
2. ``k - 1`` times, the cluster with the most rows is split in two: its rows are ordered by
   their coordinate on the first factor of a correspondence analysis of the cluster's
   table, cut where the chi-square of the 2 x terms table of the two groups is largest,
   then rows are moved one at a time from one group to the other while a move raises that
   chi-square (the move that raises it most first);
3. each child keeps the terms found in at least ``tsj`` of its rows, except that a term
   strongly tied to the split (contingency coefficient above ``cc_test``) stays only in the
   child that over-uses it. Rows left without any term when a cluster is split next are
   unclassified (label 0), as in rainette;
4. splitting stops early when the largest cluster has fewer than ``min_split_members`` rows
   or fewer than 3 rows or terms.

:func:`double_classification` is ``rainette::rainette2()``: two simple classifications with
different minimum segment sizes, crossed; the crossed classes with more than
``min_members`` segments and a positive chi-square above ``min_chi2`` (2 x 2 table with
Yates' correction, as R's ``chisq.test``) are combined into partitions of pairwise disjoint
classes, and for each number of classes the partition with the largest sum of chi-squares
(``criterion="chi2"``) or of sizes (``"n"``) is kept.

Two deliberate differences from rainette 0.3.2, both in the direction of its documented
intent: the switching step moves the row whose move gives the largest chi-square (rainette
indexes that row in the initial order, which after the first move can point at another
row), and unclassified segments are not crossed as a class of their own in the double
classification.

Computation is sparse throughout: the correspondence analysis is a truncated SVD of the
standardised residuals through a linear operator, and the chi-square of every cut and every
move is updated from the rows' non-zero entries only, using
``chi2 = (sum_j T1_j^2 / C_j - n1^2 / N) / (p1 p2)`` for group-1 column sums ``T1``, column
sums ``C``, ``n1`` ones in group 1 of ``N`` and ``p1 = n1 / N``, ``p2 = 1 - p1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.base import BaseEstimator, ClusterMixin

from ..errors import E, TextmineError
from ..stats import yates_chi2


# --------------------------------------------------------------------------- helpers
def binarise(X) -> sp.csr_matrix:
    """Boolean (0/1 int8) CSR copy of ``X`` with explicit zeros dropped."""
    X = sp.csr_matrix(X, copy=True)
    X.eliminate_zeros()
    X.data = np.ones_like(X.data, dtype=np.int8)
    X.sum_duplicates()
    X.data[:] = 1
    return X.astype(np.int8)


def merge_segments(X: sp.csr_matrix, groups: Sequence | None, min_segment_size: int) -> np.ndarray:
    """Unit (``uc``) index of every row: consecutive rows of the same group merged until a
    unit has ``min_segment_size`` distinct terms (``rainette::merge_segments``); a last
    unit of a group still too small joins the group's previous unit."""
    n = X.shape[0]
    uc = np.arange(n)
    if min_segment_size <= 1 or n == 0:
        return uc
    if groups is None:
        raise TextmineError(E.E005, detail="min_segment_size > 1 needs the source document of each segment")
    doc = np.asarray(groups)
    size = np.asarray(X.getnnz(axis=1), dtype=np.int64)
    if (size >= min_segment_size).all():
        return uc
    i = 0
    while i < n:
        current, j = size[i], i
        while current < min_segment_size:
            if j + 1 < n and doc[j] == doc[j + 1]:
                j += 1
                current += size[j]
                uc[j] = i
            else:
                mine = uc[j]
                earlier = uc[(doc == doc[j]) & (uc < mine)]
                if len(earlier):
                    uc[uc == mine] = earlier.max()
                break
        i = j + 1
    _, dense = np.unique(uc, return_inverse=True)
    return dense


def group_rows(X: sp.csr_matrix, uc: np.ndarray) -> sp.csr_matrix:
    """Rows of ``X`` summed by unit, then made binary again."""
    n_uc = int(uc.max()) + 1 if len(uc) else 0
    agg = sp.csr_matrix((np.ones(len(uc), dtype=np.int8), (uc, np.arange(len(uc)))), shape=(n_uc, len(uc)))
    return binarise(agg @ X)


def _chi2(Q: np.ndarray | float, n1, N: float):
    """2 x terms chi-square from ``Q = sum_j T1_j^2 / C_j`` (see module docstring)."""
    n1 = np.asarray(n1, dtype=float)
    p1 = n1 / N
    with np.errstate(divide="ignore", invalid="ignore"):
        return (Q - n1 * n1 / N) / (p1 * (1.0 - p1))


def ca_first_axis(M: sp.csr_matrix, seed: int = 0) -> np.ndarray:
    """Row coordinates on the first factor of a correspondence analysis of ``M`` (rows and
    columns with a zero margin must have been removed). Sign fixed so that the coordinate of
    largest magnitude is negative (the SVD's sign is arbitrary)."""
    M = sp.csr_matrix(M, dtype=np.float64)
    total = M.sum()
    r = np.asarray(M.sum(axis=1)).ravel() / total
    c = np.asarray(M.sum(axis=0)).ravel() / total
    sr, sc = np.sqrt(r), np.sqrt(c)
    A = sp.diags(1.0 / sr) @ (M / total) @ sp.diags(1.0 / sc)
    A = sp.csr_matrix(A)
    n, p = A.shape
    if min(n, p) <= 60:
        S = A.toarray() - np.outer(sr, sc)
        u = np.linalg.svd(S, full_matrices=False)[0][:, 0]
    else:
        At = A.T.tocsr()
        op = LinearOperator((n, p), dtype=np.float64,
                            matvec=lambda v: A @ np.ravel(v) - sr * (sc @ np.ravel(v)),
                            rmatvec=lambda v: At @ np.ravel(v) - sc * (sr @ np.ravel(v)))
        v0 = np.random.default_rng(seed).random(min(n, p)) + 0.5
        u = svds(op, k=1, v0=v0, solver="arpack")[0][:, 0]
    coord = u / sr
    if coord[np.argmax(np.abs(coord))] > 0:
        coord = -coord
    return coord


def best_cut(M: sp.csr_matrix, order: np.ndarray) -> tuple[int, float]:
    """Position (in ``order``) of the last row of group 1 at the cut of largest chi-square,
    and that chi-square (first maximum, as ``rainette``'s ``cpp_split_tab``)."""
    Mo = sp.csc_matrix(M[order])
    Mo.sort_indices()
    C = np.diff(Mo.indptr).astype(float)                       # column sums (binary matrix)
    N = C.sum()
    rank = np.arange(Mo.nnz) - np.repeat(Mo.indptr[:-1], np.diff(Mo.indptr))   # earlier rows with the term
    contrib = (2.0 * rank + 1.0) / np.repeat(C, np.diff(Mo.indptr))
    Q = np.cumsum(np.bincount(Mo.indices, weights=contrib, minlength=len(order)))
    n1 = np.cumsum(np.bincount(Mo.indices, minlength=len(order)).astype(float))
    chi = _chi2(Q, n1, N)[:-1]                                  # the last cut leaves group 2 empty
    chi = np.where(np.isfinite(chi), chi, -np.inf)
    pos = int(np.argmax(chi))
    return pos, float(chi[pos])


def switch_rows(M: sp.csr_matrix, in1: np.ndarray, chisq: float) -> tuple[np.ndarray, float, int]:
    """Move rows between the two groups, one at a time, while a move raises the chi-square
    (the best move first). Returns the group-1 mask, the final chi-square, the moves made."""
    in1 = in1.copy()
    C = np.asarray(M.sum(axis=0)).ravel().astype(float)
    N = C.sum()
    invC = 1.0 / C
    row_n = np.asarray(M.sum(axis=1)).ravel().astype(float)
    Mf = sp.csr_matrix(M, dtype=np.float64)
    T1 = np.asarray(Mf[in1].sum(axis=0)).ravel()
    b = Mf @ invC
    moves = 0
    limit = 10 * M.shape[0] + 10
    while moves < limit:
        Q = float(T1 @ (T1 * invC))
        n1 = float(T1.sum())
        a = Mf @ (2.0 * T1 * invC)
        q_new = np.where(in1, Q - a + b, Q + a + b)
        n1_new = np.where(in1, n1 - row_n, n1 + row_n)
        chi = _chi2(q_new, n1_new, N)
        chi = np.where(np.isfinite(chi) & (n1_new > 0) & (n1_new < N), chi, -np.inf)
        best = int(np.argmax(chi))
        if not chi[best] > chisq:
            break
        row = Mf.getrow(best)
        T1[row.indices] += -row.data if in1[best] else row.data
        in1[best] = not in1[best]
        chisq = float(chi[best])
        moves += 1
    return in1, chisq, moves


def select_terms(M: sp.csr_matrix, in1: np.ndarray, cc_test: float, tsj: int) -> tuple[np.ndarray, np.ndarray]:
    """Term masks kept by each child (``rainette``'s ``select_features``)."""
    tab1 = np.asarray(M[in1].sum(axis=0)).ravel().astype(float)
    tab2 = np.asarray(M[~in1].sum(axis=0)).ravel().astype(float)
    tot = tab1 + tab2
    prop = tot / tot.sum()
    e1, e2 = prop * tab1.sum(), prop * tab2.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = (tab1 - e1) ** 2 / e1 + (tab2 - e2) ** 2 / e2
        cc = np.sqrt(chi / (chi + tot))
    cc = np.nan_to_num(cc)
    weak = cc <= cc_test
    keep1 = (tab1 >= tsj) & (weak | (tab1 > e1))
    keep2 = (tab2 >= tsj) & (weak | (tab2 > e2))
    return keep1, keep2


@dataclass
class Split:
    """One division of the tree: ``parent`` (a node id) into ``children`` (node ids), with the
    chi-square of the final two groups and the number of rows moved by the switching step."""

    parent: int
    children: tuple[int, int]
    chi2: float
    moves: int
    sizes: tuple[int, int]


@dataclass
class _Cluster:
    node: int
    rows: np.ndarray          # unit indices
    cols: np.ndarray          # term indices kept


@dataclass
class ReinertTree:
    """What a fit leaves besides the labels: the splits in order and, for every number of
    classes reached, each segment's class (``levels[k]``; 0 = unclassified)."""

    splits: list[Split] = field(default_factory=list)
    levels: dict[int, np.ndarray] = field(default_factory=dict)
    leaves: dict[int, list[int]] = field(default_factory=dict)   # k -> node id of class 1..k


class ReinertClassifier(ClusterMixin, BaseEstimator):
    """Reinert / rainette simple classification (see the module docstring).

    ``fit(X, groups=None)``: ``X`` is a segments x terms matrix (sparse or dense), ``groups``
    the source document of each segment (needed when ``min_segment_size > 1``). After fit:
    ``labels_`` (1..k, 0 = unclassified), ``n_classes_`` (the number reached, at most ``k``),
    ``tree_`` (:class:`ReinertTree`), ``units_`` (the merged unit of each segment).
    """

    def __init__(self, k: int = 10, min_split_members: int = 5, min_segment_size: int = 0,
                 cc_test: float = 0.3, tsj: int = 3, random_state: int | None = 0) -> None:
        self.k = k
        self.min_split_members = min_split_members
        self.min_segment_size = min_segment_size
        self.cc_test = cc_test
        self.tsj = tsj
        self.random_state = random_state

    def fit(self, X, y=None, groups: Sequence | None = None) -> "ReinertClassifier":
        if int(self.k) < 2:
            raise TextmineError(E.E005, detail=f"k={self.k}: a classification needs k >= 2")
        seed = int(self.random_state or 0)
        min_split = max(3, int(self.min_split_members))
        Xb = binarise(X)
        self.units_ = merge_segments(Xb, groups, int(self.min_segment_size))
        U = group_rows(Xb, self.units_) if len(self.units_) else Xb
        tree = ReinertTree()
        clusters = [_Cluster(0, np.arange(U.shape[0]), np.arange(U.shape[1]))]
        next_node = 1
        unit_levels: dict[int, np.ndarray] = {}
        for _ in range(int(self.k) - 1):
            big = int(np.argmax([len(c.rows) for c in clusters]))
            cl = clusters[big]
            if len(cl.rows) < min_split or len(cl.rows) < 3 or len(cl.cols) < 3:
                break
            sub = U[cl.rows][:, cl.cols]
            keep_r = np.asarray(sub.getnnz(axis=1)) > 0
            keep_c = np.asarray(sub.getnnz(axis=0)) > 0
            rows, cols = cl.rows[keep_r], cl.cols[keep_c]
            M = sub[keep_r][:, keep_c].tocsr()
            if M.shape[0] < 3 or M.shape[1] < 2:
                break
            order = np.argsort(ca_first_axis(M, seed), kind="stable")
            pos, chisq = best_cut(M, order)
            in1 = np.zeros(M.shape[0], dtype=bool)
            in1[order[:pos + 1]] = True
            in1, chisq, moves = switch_rows(M, in1, chisq)
            k1, k2 = select_terms(M, in1, self.cc_test, int(self.tsj))
            a = _Cluster(next_node, rows[in1], cols[k1])
            b = _Cluster(next_node + 1, rows[~in1], cols[k2])
            tree.splits.append(Split(cl.node, (a.node, b.node), float(chisq), int(moves),
                                     (int(in1.sum()), int((~in1).sum()))))
            next_node += 2
            clusters[big:big + 1] = [a, b]
            lab = np.zeros(U.shape[0], dtype=np.int32)
            for i, c in enumerate(clusters, start=1):
                lab[c.rows] = i
            unit_levels[len(clusters)] = lab
            tree.leaves[len(clusters)] = [c.node for c in clusters]
        tree.levels = {k: lab[self.units_] for k, lab in unit_levels.items()}
        self.tree_ = tree
        self.n_classes_ = max(tree.levels) if tree.levels else 1
        self.labels_ = tree.levels.get(self.n_classes_, np.zeros(Xb.shape[0], dtype=np.int32))
        return self

    def fit_predict(self, X, y=None, groups: Sequence | None = None) -> np.ndarray:
        return self.fit(X, groups=groups).labels_


# --------------------------------------------------------------------------- double classification
@dataclass
class DoubleResult:
    """Best partition per number of classes: ``partitions[k] = {"chi2": {...}, "n": {...}}``,
    each with ``clusters`` (crossed class ids), ``chi2``, ``n`` and ``labels`` (1..k, 0 = none)."""

    partitions: dict[int, dict[str, dict]]
    crossed: list[dict]


def double_classification(first: ReinertTree, second: ReinertTree, n_tot: int, *, max_k: int,
                          min_members: int = 10, min_chi2: float = 3.84, full: bool = True,
                          max_partitions: int = 5_000_000) -> DoubleResult:
    """Cross two simple classifications and find the best partitions (``rainette2``)."""
    def classes(tree: ReinertTree):
        for k in sorted(tree.levels):
            lab = tree.levels[k]
            for g in range(1, k + 1):
                yield k, g, lab == g
    c1, c2 = list(classes(first)), list(classes(second))
    crossed: list[dict] = []
    seen: set[bytes] = set()
    pairs = [(a, b) for k1 in sorted(first.levels) for k2 in sorted(second.levels)
             for a in c1 if a[0] == k1 for b in c2 if b[0] == k2]     # rainette's order: levels, then classes
    for (k1, g1, m1), (k2, g2, m2) in pairs:
        both = m1 & m2
        nb = int(both.sum())
        if nb <= min_members:
            continue
        chi = float(yates_chi2(np.array([nb]), np.array([int(m1.sum())]), np.array([int(m2.sum())]), n_tot)[0])
        key = np.packbits(both).tobytes()
        if chi <= min_chi2 or key in seen:
            continue
        seen.add(key)
        crossed.append({"id": len(crossed), "class1": f"{k1}.{g1}", "class2": f"{k2}.{g2}", "n": nb,
                        "chi2": chi, "members": both})
    if not full and crossed:
        best1: dict[str, int] = {}
        best2: dict[str, int] = {}
        for c in crossed:
            if c["class1"] not in best1 or c["chi2"] > crossed[best1[c["class1"]]]["chi2"]:
                best1[c["class1"]] = c["id"]
            if c["class2"] not in best2 or c["chi2"] > crossed[best2[c["class2"]]]["chi2"]:
                best2[c["class2"]] = c["id"]
        crossed = [c for c in crossed if best1[c["class1"]] == c["id"] and best2[c["class2"]] == c["id"]]
        for i, c in enumerate(crossed):
            c["id"] = i
    m = len(crossed)
    if m < 2:
        return DoubleResult({}, crossed)
    mem = np.stack([c["members"] for c in crossed]).astype(np.int32)
    disjoint = (mem @ mem.T) == 0
    compat = [sum(1 << int(i) for i in np.flatnonzero(disjoint[j])) for j in range(m)]   # bitsets: fast DFS
    chi = [float(c["chi2"]) for c in crossed]
    size = [int(c["n"]) for c in crossed]
    best_chi: dict[int, tuple] = {}
    best_n: dict[int, tuple] = {}
    visited = 0

    def extend(part: tuple, cand: int, chi_sum: float, n_sum: int) -> None:
        """Every set of pairwise disjoint crossed classes extending ``part`` with classes of
        ``cand`` (in increasing order, each set once), keeping the best per size."""
        nonlocal visited
        while cand:
            low = cand & -cand
            cand ^= low
            j = low.bit_length() - 1
            visited += 1
            if visited > max_partitions:
                raise TextmineError(E.E803, detail=f"more than {max_partitions:,} partitions of crossed classes "
                                    "to compare", fix="Lower --k, raise --min-split-members, or use the simple "
                                                      "classification (drop --double).")
            new, cs, ns = part + (j,), chi_sum + chi[j], n_sum + size[j]
            k = len(new)
            if k >= 2:
                c = best_chi.get(k)
                if c is None or cs > c[0] or (cs == c[0] and ns > c[1]):
                    best_chi[k] = (cs, ns, new)
                n = best_n.get(k)
                if full and (n is None or ns > n[1] or (ns == n[1] and cs > n[0])):
                    best_n[k] = (cs, ns, new)
            if k < max_k:
                nxt = cand & compat[j]
                if nxt:
                    extend(new, nxt, cs, ns)

    extend((), (1 << m) - 1, 0.0, 0)
    best = {k: {"chi2": v, **({"n": best_n[k]} if k in best_n else {})} for k, v in best_chi.items()}
    out: dict[int, dict[str, dict]] = {}
    for k, crit in sorted(best.items()):
        out[k] = {}
        for name, (cs, ns, part) in crit.items():
            labels = np.zeros(n_tot, dtype=np.int32)
            for i, cid in enumerate(part, start=1):
                labels[crossed[cid]["members"]] = i
            out[k][name] = {"clusters": [f"{crossed[c]['class1']}x{crossed[c]['class2']}" for c in part],
                            "chi2": float(cs), "n": int(ns), "labels": labels}
    return DoubleResult(out, crossed)
