"""Active learning: which segments to code next.

Uncertainty: for each theme, closeness of the probability to the model's threshold
(1 at the threshold, 0 at 0 or 1); a segment's uncertainty is its largest value over
themes. Diversity: greedy selection (maximal marginal relevance) penalising cosine
similarity to the segments already picked, so the batch does not repeat one topic.
The result is in the coded-CSV format (``id,text,themes,posture`` + attributes), with the
model's guesses in ``suggested_themes`` so that the coder only corrects them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..diversity import mmr
from ..errors import E, TextmineError
from .apply import code_frame, load_model
from .codebook import load_codebook
from .features import content_words, encode


def uncertainty(P: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    t = thresholds[None, :]
    u = np.where(P >= t, (1 - P) / np.maximum(1 - t, 1e-6), P / np.maximum(t, 1e-6))
    return np.clip(u, 0, 1).max(axis=1)


def suggest(store, n: int = 30, model_dir=None, reveal: bool = False, diversity: float = 0.5,
            min_words: int = 8) -> pd.DataFrame:
    """The ``n`` respondent segments most useful to code next, as a coded-CSV frame."""
    if n < 1:
        raise TextmineError(E.E005, detail=f"--n {n}: ask for at least 1 segment")
    cfg = store.config
    codebook = load_codebook(cfg.codebook_path())
    model_dir = model_dir if model_dir is not None else cfg.themes.model
    model = load_model(model_dir, codebook, config=cfg)
    seg = store.segments_frame(roles="respondents")
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments in the store")
    seg = seg[[content_words(t) >= min_words for t in seg["text"].fillna("")]].reset_index(drop=True)
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail=f"no respondent segment has {min_words}+ words")
    texts = seg["text"].fillna("").astype(str).tolist()
    X = encode(model.encoder_, texts, store=store, batch_size=cfg.embed.batch_size)
    P, Y, post = code_frame(model, pd.DataFrame({"text": texts, "role": seg["role"].values}), vectors=X)
    u = uncertainty(P, model.thresholds_)
    picked = mmr(u, X, n, weight=1 - diversity)
    ids = codebook.ids
    shown = seg["text"] if reveal else seg["text_pseudo"].fillna(seg["text"])
    rows = []
    for i in picked:
        rows.append({"id": seg["segment_id"].iat[i], "text": shown.iat[i], "themes": "", "posture": "",
                     "interview_id": seg["interview_id"].iat[i], "role": seg["role"].iat[i],
                     "wave": seg["wave"].iat[i] if "wave" in seg.columns else None,
                     "suggested_themes": ";".join(ids[j] for j in np.flatnonzero(Y[i])),
                     "suggested_posture": post[i] or "",
                     "uncertainty": round(float(u[i]), 4)})
    return pd.DataFrame(rows)
