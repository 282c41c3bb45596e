"""End-to-end embed + topics fit on CFPP2000 respondents, against plain BERTopic.

Prints: segments, wall time (embedding, topics), peak memory, number of topics, outlier
share before/after reduction, topic diversity (unique top-10 words / total), NPMI
coherence (document co-occurrence on the lemmatised segments), share of stop words and
fillers among top words; then the same figures for a plain BERTopic run written as
BERTopic's documentation shows (``BERTopic().fit_transform(docs, embeddings)``) on the same
embeddings in the same process, and the wall-time ratio. Finally a min_cluster_size sweep
on our UMAP output (HDBSCAN only) to tune ``min_cluster_size: auto``.

Usage: python benchmarks/topics_bench.py [--limit-files N] [--store DIR]
"""
from __future__ import annotations

import argparse
import itertools
import math
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


def npmi(topics_words: list[list[str]], docs_tokens: list[set[str]]) -> float:
    """Mean NPMI of top-word pairs, from document co-occurrence (P=0 pairs count as -1)."""
    n = len(docs_tokens)
    vocab = {w for ws in topics_words for w in ws}
    index: dict[str, set[int]] = {w: set() for w in vocab}
    for i, toks in enumerate(docs_tokens):
        for w in toks & vocab:
            index[w].add(i)
    scores = []
    for ws in topics_words:
        vals = []
        for a, b in itertools.combinations(ws, 2):
            pa, pb = len(index[a]) / n, len(index[b]) / n
            pab = len(index[a] & index[b]) / n
            if pa == 0 or pb == 0:
                continue
            if pab == 0:
                vals.append(-1.0)
            elif pab == 1:
                vals.append(1.0)
            else:
                vals.append(math.log(pab / (pa * pb)) / -math.log(pab))
        if vals:
            scores.append(float(np.mean(vals)))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics_words: list[list[str]]) -> float:
    allw = [w for ws in topics_words for w in ws]
    return len(set(allw)) / max(1, len(allw))


def figures(name, topics, words, docs_tokens, seconds, is_stop):
    t = np.asarray(topics)
    ws = [w[:10] for w in words]
    stop_share = np.mean([is_stop(w) for w in itertools.chain(*ws)]) if ws else float("nan")
    print(f"{name:>22}: {len(ws)} topics | outliers {np.mean(t == -1):.1%} | diversity {diversity(ws):.3f} | "
          f"NPMI {npmi(ws, docs_tokens):+.3f} | stop/filler top words {stop_share:.1%} | {seconds:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-files", type=int, default=None)
    ap.add_argument("--store", default=os.environ.get("TEXTMINE_BENCH_STORE", "/tmp/textmine_bench_cfpp"))
    args = ap.parse_args()
    if not cfpp_files():
        print("CFPP2000 not found at ../shared/corpora/cfpp2000: nothing to benchmark")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from textmine.embed import get_encoder
    from textmine.topics import fit_topics, topic_assignments, topics_table
    from textmine.topics.french import is_stop, lemma_docs
    from textmine.topics.segments import embed_segments, segment_texts, select_segments, word_texts

    t0 = time.perf_counter()
    store, method = build_store(Path(args.store), limit_files=args.limit_files, log=lambda m: None)
    segs = select_segments(store)
    print(f"CFPP2000: {segs['interview_id'].nunique()} interviews, {len(segs)} respondent segments "
          f"({segs['n_words'].sum()} words; segmentation: {method}; {time.perf_counter() - t0:.0f} s)")

    enc = get_encoder(store.config.embed.encoder)
    t = time.perf_counter()
    rep = embed_segments(store, encoder=enc)
    t_embed = time.perf_counter() - t
    print(f"embedding ({rep.encoder}): {rep.n_new} new + {rep.n_cached} cached texts in {t_embed:.1f} s "
          f"({rep.n_new / max(t_embed, 1e-9):.1f} segments/s for new ones)")

    t = time.perf_counter()
    res = fit_topics(store, encoder=enc)
    t_ours = time.perf_counter() - t
    print(f"textmine fit_topics: {t_ours:.1f} s (lemmas + UMAP + HDBSCAN + outliers + KeyBERT/MMR + save), "
          f"min_cluster_size {res.min_cluster_size}, outliers before reduction {res.outlier_share_before:.1%}, "
          f"after {res.outlier_share:.1%}; peak RSS so far {peak_mb():.0f} MB")

    lem = lemma_docs(word_texts(segs))
    lem_tokens = [set(d.split()) for d in lem]
    table = topics_table(store)
    ours = table[table["id"] >= 0]
    a = topic_assignments(store).set_index("segment_id").loc[segs["segment_id"], "topic"]
    figures("textmine", a.to_numpy(), list(ours["words"]), lem_tokens, t_ours, is_stop)
    for _, r in ours.head(12).iterrows():
        print(f"    {int(r['id']):3d} ({int(r['count'])}) {', '.join(r['words'][:8])}")

    # plain BERTopic as documented, same embeddings
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
    from textmine.embed import embed_texts
    docs = segment_texts(segs)
    X = embed_texts(store, docs, enc)
    t = time.perf_counter()
    base = BERTopic()
    btopics, _ = base.fit_transform(docs, X)
    t_base = time.perf_counter() - t
    analyzer = CountVectorizer().build_analyzer()
    raw_tokens = [set(analyzer(d)) for d in docs]
    bwords = [[w for w, _ in base.get_topic(k)] for k in sorted(set(btopics)) if k != -1]
    figures("plain BERTopic", btopics, bwords, raw_tokens, t_base, is_stop)
    print(f"wall-time ratio textmine fit / plain BERTopic fit (same embeddings): {t_ours / t_base:.2f}")
    print(f"peak RSS: {peak_mb():.0f} MB; total wall time {time.perf_counter() - t0:.0f} s")

    # tuning min_cluster_size on our (seeded) UMAP output
    from hdbscan import HDBSCAN
    from textmine.topics.fit import build_model
    fit = segs["text"].fillna("").str.split().str.len().to_numpy() >= store.config.topics.min_words
    model, _ = build_model(store.config.topics, int(fit.sum()), enc, store.config.random_state)
    U = model.umap_model.fit_transform(X[fit])
    print("min_cluster_size sweep (HDBSCAN eom on the same UMAP output): mcs, min_samples -> topics, outliers")
    for ms in (5, None):
        for mcs in (10, 15, 20, 30, 40, 60, 100):
            lab = HDBSCAN(min_cluster_size=mcs, min_samples=ms, metric="euclidean",
                          cluster_selection_method="eom").fit(U).labels_
            print(f"    {mcs:4d}, {str(ms):>4} -> {lab.max() + 1:3d} topics, {np.mean(lab == -1):.1%} outliers")
    store.close()


if __name__ == "__main__":
    main()
