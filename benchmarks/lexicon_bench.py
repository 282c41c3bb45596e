"""French lexicometry on CFPP2000 (../shared/corpora/cfpp2000): time and memory.

Prints, on the respondent segments of the 61 CFPP2000 interviews (one store built with
``cfpp_corpus.build_store``): the spaCy pass that fills the token cache (once per project),
a reload of the cached tokens, specificities by interview, the Reinert classification
(k = 10, simple, then double), class profiles and a concordance, with the peak RSS.

Baseline, measured in the same run: the first split's cut search done as a textbook loop
(for every cut of the CA order, the 2 x terms chi-square recomputed from dense column sums,
as rainette's ``cpp_split_tab`` does), on the first 4,000 units of the merged matrix; its
ratio to the sparse incremental search used here (best of 5) is printed. The aim is a classification under 2 minutes on
2 cores.

Usage: python benchmarks/lexicon_bench.py [--limit-files N] [--store DIR] [--k 10] [--cold]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cfpp_corpus import build_store, cfpp_files  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn):
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<44} {dt:8.2f} s   peak RSS {peak_mb():7.0f} MB", flush=True)
    return res, dt


def timeit(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def dense_cut_search(M, order) -> tuple[int, float, float]:
    """rainette's cpp_split_tab, in numpy per cut: (position, chi2, seconds)."""
    t0 = time.perf_counter()
    A = M[order].toarray().astype(np.float64)
    C = A.sum(axis=0)
    N = C.sum()
    t1 = np.zeros_like(C)
    best, pos = -np.inf, -1
    for i in range(A.shape[0] - 1):
        t1 += A[i]
        n1 = t1.sum()
        p1, p2 = n1 / N, 1 - n1 / N
        e1, e2 = C * p1, C * p2
        chi = float((((t1 - e1) ** 2) / e1 + (((C - t1) - e2) ** 2) / e2).sum())
        if chi > best:
            best, pos = chi, i
    return pos, best, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-files", type=int, default=None)
    ap.add_argument("--store", default=os.environ.get("TEXTMINE_BENCH_STORE", "/tmp/textmine_bench_cfpp"))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--cold", action="store_true", help="Empty the token cache first (time the spaCy pass).")
    args = ap.parse_args()
    if not cfpp_files():
        print("CFPP2000 not found at ../shared/corpora/cfpp2000: nothing to benchmark")
        return
    from textmine.lexicon import class_profiles, concordance, fit_classes, specificities
    from textmine.lexicon.reinert import best_cut, binarise, ca_first_axis, group_rows, merge_segments
    from textmine.lexicon.tokens import load_tokens, presence_matrix, update_tokens

    store, method = build_store(Path(args.store), limit_files=args.limit_files, log=lambda m: None)
    seg = store.segments_frame(roles="respondents")
    print(f"CFPP2000 store ({method}): {seg['interview_id'].nunique()} interviews, {len(seg):,} respondent "
          f"segments, {int(seg['n_words'].sum()):,} words")
    if args.cold and store.has_table("lexicon_tokens"):
        store.con.execute("DROP TABLE lexicon_tokens")
    rep, _ = timed("token cache (spaCy, new segments only)", lambda: update_tokens(store))
    print(f"    {rep['analysed']:,} segments analysed now, {rep['segments']:,} cached")
    toks, _ = timed("load cached tokens", lambda: load_tokens(store, seg, update=False))
    X, vocab = presence_matrix(toks, 3)
    print(f"    matrix: {X.shape[0]:,} segments x {X.shape[1]:,} full-word lemmas (in >= 3 segments), "
          f"{X.nnz:,} non-zeros")
    sp_, _ = timed("specificities by interview (61 parts)",
                   lambda: specificities(store, by="interview_id", top=10))
    print(f"    {len(sp_):,} rows; e.g. {', '.join(sp_.head(5)['word'])}")
    run, t_simple = timed(f"Reinert simple classification, k={args.k}",
                          lambda: fit_classes(store, k=args.k, allow_fewer=True, double=False))
    sizes = run.assignments["class"].value_counts().sort_index()
    print(f"    {run.n_classes} classes, sizes {', '.join(map(str, sizes.tolist()))}; "
          f"unclassified {run.assignments['class'].isna().mean():.1%}")
    prof, _ = timed("class profiles (chi2 words, modalities, segments)", lambda: class_profiles(store, run))
    for c in range(1, run.n_classes + 1):
        words = prof.profiles[(prof.profiles["class"] == c) & (prof.profiles["kind"] == "word")]["term"].head(8)
        print(f"    class {c:2d} ({int(sizes.get(c, 0)):5d}): {', '.join(words)}")
    run2, t_double = timed(f"Reinert double classification, k={min(args.k, 8)}",
                           lambda: fit_classes(store, k=min(args.k, 8), allow_fewer=True, double=True, save=False))
    sizes2 = run2.assignments["class"].value_counts().sort_index()
    print(f"    {run2.n_classes} classes, sizes {', '.join(map(str, sizes2.tolist()))}; "
          f"classified {run2.assignments['class'].notna().mean():.1%}")
    lines, _ = timed("concordance of 'quartier' by interview", lambda: concordance(store, "quartier", by="interview_id"))
    print(f"    {len(lines):,} lines")
    M = group_rows(binarise(X), merge_segments(binarise(X), seg["interview_id"].to_numpy(), 10))
    M = M[np.asarray(M.getnnz(axis=1)) > 0]
    order = np.argsort(ca_first_axis(M), kind="stable")
    t_inc = min(timeit(lambda: best_cut(M, order)) for _ in range(5))
    pos, chi = best_cut(M, order)
    n_base = min(M.shape[0], 4000)
    sub = M[order[:n_base]]
    sub = sub[:, np.asarray(sub.getnnz(axis=0)) > 0]
    _, _, t_dense = dense_cut_search(sub, np.arange(n_base))
    t_inc_sub = min(timeit(lambda: best_cut(sub, np.arange(n_base))) for _ in range(5))
    print(f"first cut search, {M.shape[0]:,} merged units: {t_inc:.3f} s (cut at {pos + 1:,}, chi2 {chi:,.0f}); "
          f"on {n_base:,} units: textbook loop {t_dense:.2f} s vs incremental {t_inc_sub:.4f} s "
          f"= {t_dense / max(t_inc_sub, 1e-9):,.0f}x")
    print(f"classification (simple + double) {t_simple + t_double:.1f} s; aim 120 s; peak RSS {peak_mb():.0f} MB")
    store.close()


if __name__ == "__main__":
    main()
