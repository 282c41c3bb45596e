"""Evaluation: a trained model or a grouped cross-validation against human codings, the
comparison of two human coders, and the queue of disagreements to review."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sklearn.base import clone

from ..config import seed
from ..embed import resolve_encoder
from ..errors import E, TextmineError
from .agreement import agreement_table, posture_agreement
from .codebook import Codebook
from .coded import group_column, label_matrix
from .features import encode
from .supervised import make_folds


def predict_frame(model, df: pd.DataFrame, X: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(probabilities, decisions, posture) of a fitted model on ``df``."""
    df2, X = model.embed(df, X)
    P = model.predict_proba(df2, vectors=X)
    Yp = model.predict(df2, vectors=X)
    post = model.predict_posture(df2, vectors=X)
    pj = model.codebook_.ids.index(model.codebook_.posture_theme) if model.codebook_.posture_theme else None
    post = [p if pj is not None and Yp[i, pj] else None for i, p in enumerate(post)]
    return P, Yp, post


def cross_validate(df: pd.DataFrame, estimator, codebook: Codebook, n_splits: int = 5,
                   random_state: int | None = None) -> tuple[np.ndarray, np.ndarray, list, str | None]:
    """Out-of-fold predictions of ``estimator`` (an unfitted coder; each fold fits a
    :func:`sklearn.base.clone` of it) with folds grouped by interview_id, else section, else
    none; ``random_state`` (default: the estimator's) shuffles ungrouped folds."""
    if n_splits < 2:
        raise TextmineError(E.E005, detail=f"--cv {n_splits}: use at least 2 folds")
    gcol = group_column(df)
    groups = df[gcol].astype(str).values if gcol else None
    folds = make_folds(len(df), groups, n_splits, seed(random_state if random_state is not None
                                                        else estimator.random_state))
    T = len(codebook.ids)
    P, Yp, post = np.zeros((len(df), T)), np.zeros((len(df), T), dtype=int), [None] * len(df)
    X = encode(resolve_encoder(estimator.encoder), df["text"].tolist())
    for tr, te in folds:
        m = clone(estimator).fit(df.iloc[tr].reset_index(drop=True), vectors=X[tr])
        p, y, ps = predict_frame(m, df.iloc[te].reset_index(drop=True), X[te])
        P[te], Yp[te] = p, y
        for k, i in enumerate(te):
            post[i] = ps[k]
    return P, Yp, post, gcol


def evaluation_report(df: pd.DataFrame, Yp: np.ndarray, post: list, codebook: Codebook) -> tuple[pd.DataFrame, dict]:
    Y = label_matrix(df, codebook)
    table = agreement_table(Y, Yp, codebook.ids)
    ref_post = list(df["posture"]) if "posture" in df.columns else [None] * len(df)
    return table, posture_agreement(ref_post, post)


def align_coders(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of two coded files matched by ``id`` (errors when no id is shared)."""
    common = [i for i in a["id"] if i in set(b["id"])]
    if not common:
        raise TextmineError(E.E402, detail="the two coded files share no id")
    a2 = a.set_index("id").loc[common].reset_index()
    b2 = b.drop_duplicates("id").set_index("id").loc[common].reset_index()
    return a2, b2


def disagreements(df: pd.DataFrame, P: np.ndarray, Yp: np.ndarray, post: list, codebook: Codebook,
                  thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (segment, theme) where human and model differ, most confident errors first."""
    Y = label_matrix(df, codebook)
    rows = []
    for i in range(len(df)):
        for j, t in enumerate(codebook.ids):
            if Y[i, j] != Yp[i, j]:
                kind = "missed" if Y[i, j] else "extra"
                conf = float(P[i, j]) if kind == "extra" else float(1 - P[i, j])
                rows.append({"id": df["id"].iat[i], "theme": t, "kind": kind, "human": int(Y[i, j]),
                             "model": int(Yp[i, j]), "score": round(float(P[i, j]), 4),
                             "confidence": round(conf, 4), "human_themes": ";".join(df["themes"].iat[i]),
                             "text": df["text"].iat[i]})
        hp = df["posture"].iat[i] if "posture" in df.columns else None
        if isinstance(hp, str) and hp and post[i] and hp != post[i]:
            rows.append({"id": df["id"].iat[i], "theme": "posture", "kind": f"posture {hp} vs {post[i]}",
                         "human": hp, "model": post[i], "score": np.nan, "confidence": 1.0,
                         "human_themes": ";".join(df["themes"].iat[i]), "text": df["text"].iat[i]})
    out = pd.DataFrame(rows, columns=["id", "theme", "kind", "human", "model", "score", "confidence",
                                      "human_themes", "text"])
    return out.sort_values(["confidence", "id"], ascending=[False, True], kind="stable").reset_index(drop=True)
