"""Fit BERTopic on precomputed embeddings of respondent segments, and apply it to new ones."""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd

from ..embed import Encoder, embed_texts, encoder_key, encoder_name, resolve_encoder
from ..errors import E, TextmineError
from . import persist, query
from .backend import EncoderBackend, PrecomputedKeyBERT, representation_models
from .french import frequent_vocabulary, lemma_docs, make_vectorizer, min_doc_freq, readable_label, surface_forms
from .segments import segment_texts, select_segments, word_counts, word_texts

MIN_SEGMENTS = 20
N_REPRESENTATIVE = 5
QUOTE_MIN_WORDS = 20
FAR_QUANTILE = 0.05       # a segment less similar to its topic than 95 % of the fitted ones is "far"
#: UMAP finds the neighbours of >= 4,096 points with NN-descent, whose numba kernel takes the
#: distance as an argument and so is compiled again in every process (35-50 s on 2 cores, the
#: largest part of the topic stage on CFPP2000); up to this many segments they are computed
#: exactly here instead (blocked products, quadratic: about as long as NN-descent at 40,000)
EXACT_KNN_MIN, EXACT_KNN_MAX = 4096, 40_000


@dataclass
class TopicFitResult:
    model_id: str
    n_topics: int                 # topics without the outlier class
    outlier_share: float          # after outlier reduction
    outlier_share_before: float   # straight from HDBSCAN
    n_docs: int
    min_cluster_size: int
    applied: int = 0              # segments assigned with an existing model (mode apply)
    refit: bool = True
    extra: dict = field(default_factory=dict)


def auto_min_cluster_size(n_docs: int) -> int:
    """``max(5, n/200)`` capped at 150 (with ``min_samples`` 5, see :func:`auto_min_samples`).

    Tuned on CFPP2000 (4,739 respondent segments of >= 8 words, e5-small, UMAP 5-d): with
    HDBSCAN's default ``min_samples = min_cluster_size``, n/60 (79) gave 3 topics; n/200 (24)
    with ``min_samples`` 5 gives ~20-25 topics (benchmarks/topics_bench.py prints a sweep).
    """
    return int(min(150, max(5, round(n_docs / 200))))


def auto_min_samples(min_cluster_size: int) -> int:
    """Interview speech is a density continuum: a small ``min_samples`` keeps HDBSCAN from
    merging everything into 2-3 giant clusters."""
    return int(min(5, min_cluster_size))


def exact_knn(X: np.ndarray, k: int, block_cells: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of each row of ``X`` by cosine distance, exactly: ``(indices,
    distances)``, nearest first, each point its own first neighbour at distance 0, ties by index
    (what UMAP computes itself below 4,096 points). Rows are taken in blocks of about
    ``block_cells`` similarities (64 MB), so memory stays flat."""
    X = np.asarray(X, dtype=np.float32)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    n = len(X)
    k = min(k, n)
    idx = np.empty((n, k), dtype=np.int32)
    dist = np.empty((n, k), dtype=np.float32)
    step = max(1, block_cells // max(n, 1))
    for a in range(0, n, step):
        S = X[a:a + step] @ X.T
        m = len(S)
        S[np.arange(m), np.arange(a, a + m)] = np.inf             # itself first
        kth = np.partition(S, n - k, axis=1)[:, n - k]
        r, c = np.nonzero(S >= kth[:, None])                     # k per row, more on ties
        s = S[r, c]
        order = np.lexsort((c, -s, r))                           # by row, most similar first, then index
        r, c, s = r[order], c[order], s[order]
        take = np.searchsorted(r, np.arange(m))[:, None] + np.arange(k)
        idx[a:a + m] = c[take]
        dist[a:a + m] = np.clip(1.0 - s[take], 0.0, 2.0)
    return idx, dist


def cache_umap_kernels() -> int:
    """Let numba keep UMAP's compiled kernels on disk, as pynndescent does for its own
    (``cache=True``; where numba puts caches: beside the package's sources, or the user's cache
    folder, or ``NUMBA_CACHE_DIR``): UMAP declares no cache, so each process compiled them again
    (5-7 s of every topic fit). The compiled code is the same: so is the layout. Returns how many
    kernels were switched (0 on a later call, or when numba's internals differ)."""
    import sys
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:            # pragma: no cover - another numba layout: compile as before
        return 0
    n = 0
    with warnings.catch_warnings():     # a kernel numba cannot cache is compiled as before, silently
        warnings.simplefilter("ignore")
        for name, module in list(sys.modules.items()):
            if module is None or not (name == "umap" or name.startswith("umap.")):
                continue
            for obj in list(vars(module).values()):
                if isinstance(obj, CPUDispatcher) and isinstance(getattr(obj, "_cache", None), NullCache):
                    try:
                        obj.enable_caching()
                        n += 1
                    except Exception:     # noqa: BLE001 - not cacheable: compiled per process as before
                        continue
    return n


def build_model(cfg, n_docs: int, encoder: Encoder, random_state: int, vocabulary=None, knn=None):
    """A BERTopic whose every stochastic part is seeded with ``random_state`` (UMAP here, KeyBERT
    in :func:`representation_models`, KMeans in :func:`split_large_topics`). ``knn``: the
    neighbours UMAP would search for (:func:`exact_knn`), or None.

    HDBSCAN takes no seed because it draws nothing at random: given the same UMAP output (and
    ``core_dist_n_jobs=1``) it builds the same spanning tree and the same clusters, whatever the
    global random state (``tests/test_topics.py::test_hdbscan_is_deterministic_given_its_input``)."""
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer
    from hdbscan import HDBSCAN
    from umap import UMAP

    cache_umap_kernels()
    mcs = auto_min_cluster_size(n_docs) if cfg.min_cluster_size == "auto" else int(cfg.min_cluster_size)
    umap = UMAP(n_neighbors=max(2, min(cfg.n_neighbors, n_docs - 1)),
                n_components=max(2, min(cfg.n_components, n_docs - 2)), min_dist=0.0, metric="cosine",
                random_state=random_state, n_jobs=1, low_memory=True,
                precomputed_knn=knn if knn is not None else (None, None, None))
    hdb = HDBSCAN(min_cluster_size=mcs, min_samples=cfg.min_samples or auto_min_samples(mcs), metric="euclidean",
                  cluster_selection_method="eom", prediction_data=True, core_dist_n_jobs=1)
    model = BERTopic(embedding_model=EncoderBackend(encoder), umap_model=umap, hdbscan_model=hdb,
                     vectorizer_model=make_vectorizer(vocabulary),
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                     representation_model=None, top_n_words=cfg.top_n_words,
                     nr_topics=cfg.nr_topics, calculate_probabilities=False, language=None)
    return model, mcs


class _Reduced:
    """What BERTopic is given as its dimensionality reduction once UMAP has run: ``fit`` does
    nothing, ``transform`` returns UMAP's layout of the fitted points (the only ones the fit asks
    for; the saved model keeps no UMAP)."""

    def __init__(self, embedding: np.ndarray) -> None:
        self.embedding_ = embedding

    def fit(self, X, y=None) -> "_Reduced":
        return self

    def transform(self, X) -> np.ndarray:
        return self.embedding_


class _Clustered:
    """What BERTopic is given as its clustering once HDBSCAN has run: ``fit`` does nothing; the
    labels and membership strengths are HDBSCAN's."""

    def __init__(self, hdbscan) -> None:
        self.labels_ = hdbscan.labels_
        self.probabilities_ = hdbscan.probabilities_

    def fit(self, X, y=None) -> "_Clustered":
        return self


def _reduce_and_cluster(model, X: np.ndarray) -> None:
    """Run the model's UMAP and HDBSCAN on ``X`` now, as BERTopic's ``fit_transform`` would
    (``umap.fit_transform(X)``, then ``hdbscan.fit`` on its output), and put what they found in
    their places: the topic fit computes them while the lemmatiser's workers run."""
    with warnings.catch_warnings():      # UMAP: no NN-descent index to transform new points with (unused)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        reduced = model.umap_model.fit_transform(X)
    model.hdbscan_model.fit(reduced)
    model.umap_model, model.hdbscan_model = _Reduced(reduced), _Clustered(model.hdbscan_model)


def _centroids(X: np.ndarray, topics: np.ndarray) -> tuple[list[int], np.ndarray]:
    ids = sorted(set(int(t) for t in topics))
    C = np.vstack([X[topics == t].mean(axis=0) for t in ids])
    C /= np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)
    return ids, C.astype(np.float32)


def centroid_similarity(X: np.ndarray, topics: np.ndarray, ids: list[int], C: np.ndarray) -> np.ndarray:
    """Cosine similarity of each (L2-normalised) row of ``X`` to the centroid of its topic
    (NaN for a topic without a centroid)."""
    pos = {int(t): i for i, t in enumerate(ids)}
    row = np.array([pos.get(int(t), -1) for t in np.asarray(topics, dtype=int)], dtype=int)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    out = np.full(len(row), np.nan)
    ok = row >= 0
    out[ok] = np.einsum("ij,ij->i", X[ok], C[row[ok]])
    return out


def _model_id(store, key: str, segs: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(store.config.hash().encode())
    h.update(key.encode())
    for sid, txt in zip(segs["segment_id"], segs["text"].fillna("")):
        h.update(f"{sid}\x1f{txt}\x1e".encode())
    return "tm-" + h.hexdigest()[:12]


def fit_topics(store, *, encoder: Encoder | str | None = None, refit: bool = True,
               advance: Callable[[int], None] | None = None, split_large: bool | None = None) -> TopicFitResult:
    """Fit a topic model on the configured segments, store it and make it current.

    With ``refit=False`` and a current model, new segments are assigned with it instead
    (config ``topics.mode: apply``) and its record is returned. ``split_large`` (default:
    config ``topics.split_large``) splits topics above ``topics.max_share`` of the segments.
    """
    mid = query.current_model_id(store, required=False)
    if not refit and mid:
        n = apply_topics(store, encoder=encoder)
        rec = query.model_record(store, mid)
        return TopicFitResult(mid, int(rec["n_topics"]), float(rec["outlier_share"]),
                              float(rec["outlier_share_before"]), int(rec["n_docs"]),
                              int(rec["min_cluster_size"]), applied=n, refit=False)
    cfg = store.config.topics
    rs = int(store.config.random_state)
    segs = select_segments(store)
    if len(segs) < MIN_SEGMENTS:
        raise TextmineError(E.E306, path=store.root,
                            detail=f"{len(segs)} segments ({cfg.roles}); at least {MIN_SEGMENTS} needed")
    enc = resolve_encoder(encoder, store.config)
    enc_name = encoder_name(enc)
    X_all = embed_texts(store, segment_texts(segs), enc,
                        batch_size=store.config.embed.batch_size, advance=advance)
    n_words = word_counts(segs)
    long = n_words >= cfg.min_words     # short segments do not shape topics (assigned afterwards)
    fit_segs, X = segs[long], X_all[long]
    texts = word_texts(fit_segs)
    knn = (exact_knn(X, max(2, min(cfg.n_neighbors, len(texts) - 1)))
           if EXACT_KNN_MIN <= len(texts) <= EXACT_KNN_MAX else None)
    model, mcs = build_model(cfg, len(texts), enc, rs, None, knn)
    _reduce_and_cluster(model, X)        # before the lemmas, which UMAP and HDBSCAN do not need
    del knn
    docs = lemma_docs(texts, model=store.config.segment.spacy_model)    # waits for the run's lemmatiser workers
    if sum(1 for d in docs if d) < MIN_SEGMENTS:
        raise TextmineError(E.E306, path=store.root,
                            detail=f"{sum(1 for d in docs if d)} segments of >= {cfg.min_words} words with "
                                   f"content words; at least {MIN_SEGMENTS} needed")
    model.vectorizer_model = make_vectorizer(frequent_vocabulary(docs, min_doc_freq(len(docs))) or None)
    topics, probs = model.fit_transform(docs, embeddings=X)
    topics = np.asarray(topics, dtype=int)
    probs = np.asarray(probs, dtype=float) if probs is not None else np.ones(len(topics))
    share_before = float(np.mean(topics == -1))
    if cfg.reduce_outliers and share_before > 0 and (topics >= 0).any():
        new = np.asarray(model.reduce_outliers(docs, topics.tolist(), strategy="embeddings",
                                               embeddings=X, threshold=cfg.outlier_threshold), dtype=int)
        probs = np.where((topics == -1) & (new != -1), np.nan, probs)   # not clustered by HDBSCAN
        topics = new
    if cfg.split_large if split_large is None else split_large:
        topics = split_large_topics(X, topics, cfg.max_share, rs)
    rep = representation_models(cfg.representation, cfg.top_n_words, rs)
    for r in rep if isinstance(rep, list) else [rep]:
        if isinstance(r, PrecomputedKeyBERT):
            r.doc_embeddings = X
    model.update_topics(docs, topics=topics.tolist(), top_n_words=cfg.top_n_words,
                        vectorizer_model=model.vectorizer_model, ctfidf_model=model.ctfidf_model,
                        representation_model=rep)
    ids, C = _centroids(X, topics)          # centroid topic embeddings (used by apply and align)
    model.topic_embeddings_ = C
    # every segment gets a topic: fitted ones from the model, short ones by nearest centroid
    all_topics = np.empty(len(segs), dtype=int)
    all_probs = np.empty(len(segs), dtype=float)
    all_topics[long], all_probs[long] = topics, probs
    if (~long).any():
        sim = X_all[~long] @ C.T
        all_topics[~long] = np.asarray(ids)[sim.argmax(axis=1)]
        all_probs[~long] = np.nan       # assigned by nearest centroid, not by HDBSCAN
    forms = surface_forms(word_texts(fit_segs), model=store.config.segment.spacy_model)
    info = topic_info_frame(model, X, topics, fit_segs["segment_id"].to_numpy(), ids, C, n_words[long], forms)
    info["count"] = [int((all_topics == t).sum()) for t in info["topic"]]
    key = encoder_key(enc)
    mid = _model_id(store, key, segs)
    n_topics = int(sum(1 for t in ids if t >= 0))
    share = float(np.mean(all_topics == -1))
    record = {"model_id": mid, "encoder": key, "encoder_name": enc_name,
              "config_hash": store.config.hash(), "n_docs": int(len(segs)), "n_fit": int(long.sum()),
              "n_topics": n_topics, "outlier_share": share, "outlier_share_before": share_before,
              "min_cluster_size": int(mcs), "roles": cfg.roles, "representation": cfg.representation,
              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    assignments = pd.DataFrame({"model_id": mid, "segment_id": segs["segment_id"].to_numpy(),
                                "topic": all_topics, "similarity": centroid_similarity(X_all, all_topics, ids, C),
                                "probability": all_probs})
    fit_sim = centroid_similarity(X, topics, ids, C)
    novelty = {"threshold": float(np.nanquantile(fit_sim[topics >= 0], FAR_QUANTILE)) if (topics >= 0).any() else None,
               "quantile": FAR_QUANTILE, "waves": sorted({str(w) for w in segs["wave"].dropna()})}
    persist.save_model(store, model, mid)
    info.insert(0, "model_id", mid)
    query.write_fit(store, record, assignments, info, novelty)
    return TopicFitResult(mid, n_topics, share, share_before, int(len(segs)), int(mcs),
                          extra={"n_fit": int(long.sum()), "n_short": int((~long).sum())})


def split_large_topics(X: np.ndarray, topics: np.ndarray, max_share: float, random_state: int) -> np.ndarray:
    """Split each topic holding more than ``max_share`` of the segments into
    ``ceil(share / max_share)`` parts (k-means on its normalised embeddings, seeded); the first
    part keeps the id, the others take new ids after the largest one."""
    from sklearn.cluster import KMeans
    topics = np.asarray(topics, dtype=int).copy()
    n = len(topics)
    nxt = int(topics.max()) + 1 if n else 0
    for t in sorted({int(x) for x in topics if x >= 0}):
        mask = np.flatnonzero(topics == t)
        k = int(np.ceil(mask.size / n / max_share)) if mask.size / n > max_share else 1
        if k < 2 or mask.size < 2 * k:
            continue
        Xt = X[mask] / np.maximum(np.linalg.norm(X[mask], axis=1, keepdims=True), 1e-12)
        parts = KMeans(n_clusters=k, random_state=random_state, n_init=10).fit_predict(Xt)
        order = np.argsort(-np.bincount(parts, minlength=k), kind="stable")   # largest part keeps the id
        for rank, part in enumerate(order[1:], start=1):
            topics[mask[parts == part]] = nxt
            nxt += 1
    return topics


def _readable_words(words: list[str], forms: dict[str, str] | None) -> list[str]:
    """Topic words as the corpus writes them (see :func:`~.french.surface_forms`), once each."""
    return list(dict.fromkeys((forms or {}).get(w, w) for w in words))


def topic_info_frame(model, X, topics, seg_ids, ids, C, n_words=None, forms=None) -> pd.DataFrame:
    """Per topic: words, label and representative segments (closest to the centroid,
    preferring segments of at least ``QUOTE_MIN_WORDS`` words, which make readable quotes).
    ``forms`` maps lemmas to the words shown (lemmas the corpus never uses read as its words)."""
    rows = []
    n_words = np.full(len(topics), QUOTE_MIN_WORDS) if n_words is None else np.asarray(n_words)
    for t, c in zip(ids, C):
        mask = np.flatnonzero(topics == t)
        pref = mask[n_words[mask] >= QUOTE_MIN_WORDS]
        pool = pref if pref.size >= N_REPRESENTATIVE else mask
        order = pool[np.argsort(-(X[pool] @ c), kind="stable")][:N_REPRESENTATIVE]
        words = _readable_words([w for w, _ in (model.get_topic(t) or []) if w], forms)
        label = "hors thème (outliers)" if t == -1 else readable_label(words)
        rows.append({"topic": int(t), "count": int(mask.size), "label": label, "words": words,
                     "representative_ids": [str(seg_ids[i]) for i in order]})
    return pd.DataFrame(rows)


def apply_topics(store, segments_df: pd.DataFrame | None = None, *, encoder: Encoder | str | None = None,
                 advance: Callable[[int], None] | None = None) -> int:
    """Assign segments not yet assigned (or ``segments_df``) with the current model.

    A re-ingested interview's assignments were dropped with its old segments
    (:data:`textmine.store.DERIVED_TABLES`), so its segments count as not yet assigned and get a
    topic and similarity computed on their new text; assignments left by deleted segments (a
    store written before that rule) are removed first. The saved model assigns by cosine
    similarity to topic centroids (``transform``). Returns the number of segments assigned.
    """
    mid = query.current_model_id(store)
    rec = query.model_record(store, mid)
    if segments_df is None:
        query.drop_orphans(store)
        segs = store.segments_frame(roles="respondents" if rec["roles"] == "respondents" else "all")
        done = query.assigned_ids(store, mid)
        segs = segs[~segs["segment_id"].isin(done)]
    else:
        segs = segments_df
    if segs.empty:
        return 0
    enc = resolve_encoder(encoder or rec["encoder_name"], store.config)
    if encoder_key(enc) != rec["encoder"]:
        raise TextmineError(E.E301, detail=f"model {mid} was fitted with {rec['encoder']}, not {encoder_key(enc)}",
                            fix="Use the same encoder, or refit with `textmine topics fit`.")
    X = embed_texts(store, segment_texts(segs), enc,
                    batch_size=store.config.embed.batch_size, advance=advance)
    model = persist.load_model(store, mid, enc)
    topics, _ = model.transform(segment_texts(segs), embeddings=X)
    topics = np.asarray(topics, dtype=int)
    info = query.read_info(store, mid)
    ids = [int(t) for t in info["topic"]]
    C = np.asarray(model.topic_embeddings_, dtype=np.float32)
    sim = centroid_similarity(X, topics, ids, C) if len(C) == len(ids) else np.full(len(topics), np.nan)
    df = pd.DataFrame({"model_id": mid, "segment_id": segs["segment_id"].to_numpy(), "topic": topics,
                       "similarity": sim, "probability": np.nan})   # nearest centroid: no HDBSCAN membership
    query.append_assignments(store, df)
    return int(len(df))
