"""Align the topics of two separate fits by cosine similarity of topic embeddings."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _topic_vectors(model) -> tuple[list[int], np.ndarray]:
    emb = np.asarray(model.topic_embeddings_, dtype=np.float64)
    ids = sorted(model.get_topic_info()["Topic"].astype(int).tolist())
    if len(ids) != len(emb):           # topic_embeddings_ rows follow sorted topic ids (-1 first)
        ids = list(range(-model._outliers, len(emb) - model._outliers))
    keep = [i for i, t in enumerate(ids) if t != -1]
    V = emb[keep]
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return [ids[i] for i in keep], V


def align_topics(model_a, model_b, *, method: str = "hungarian", min_similarity: float = 0.0) -> pd.DataFrame:
    """One-to-one matching of the topics of ``model_a`` and ``model_b`` (outliers excluded).

    ``method``: ``hungarian`` (maximises the total similarity, scipy) or ``greedy`` (best
    pair first). Returns ``topic_a, topic_b, similarity`` sorted by decreasing similarity;
    pairs under ``min_similarity`` are dropped (those topics have no counterpart).
    """
    ta, A = _topic_vectors(model_a)
    tb, B = _topic_vectors(model_b)
    if not ta or not tb:
        return pd.DataFrame(columns=["topic_a", "topic_b", "similarity"])
    S = A @ B.T
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment
        rows, cols = linear_sum_assignment(-S)
        pairs = list(zip(rows.tolist(), cols.tolist()))
    elif method == "greedy":
        pairs, used_a, used_b = [], set(), set()
        for flat in np.argsort(-S, axis=None, kind="stable"):
            i, j = divmod(int(flat), S.shape[1])
            if i not in used_a and j not in used_b:
                pairs.append((i, j))
                used_a.add(i)
                used_b.add(j)
    else:
        raise ValueError(f"method must be 'hungarian' or 'greedy', not {method!r}")
    out = pd.DataFrame([{"topic_a": ta[i], "topic_b": tb[j], "similarity": float(S[i, j])} for i, j in pairs])
    out = out[out["similarity"] >= min_similarity]
    return out.sort_values(["similarity", "topic_a"], ascending=[False, True]).reset_index(drop=True)
