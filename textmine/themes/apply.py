"""Library entry points: load a coder, classify texts, code a project's segments.

- :func:`load_model` — supervised model folder, or the zero-shot coder when ``model_dir`` is None.
- :func:`classify_texts` — ``[{"themes": [...], "scores": {...}, "posture": ...}]``.
- :func:`apply_themes` — codes every respondent segment of a store into ``theme_codings``
  (one row per segment x theme, replacing earlier codings) and records the run in kv
  ``themes.current_run``.
- the codings and the current run are stored and read by :mod:`.codings` (their owner).

A coder trained on calibration codes (``themes train --coded calibration:NAME``) also codes every
segment with its cross-fitting fold models (:mod:`.crossfit`) into ``theme_codings_crossfit``
(``run_id, segment_id, theme, assigned, posture``): the corrected estimates read those.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..config import Config, seed
from ..errors import E, TextmineError
from ..records import THEME_CODING_COLUMNS
from ..embed import Encoder, resolve_encoder
from . import codings
from .codebook import Codebook, load_codebook
from .crossfit import crossfit_codes, load_crossfit
from .features import as_frame, cache_codebook, encode
from .model_io import load_coder
from .zeroshot import ZeroShotThemeClassifier


def load_model(model_dir: str | Path | None = None, codebook: Codebook | None = None,
               encoder: str | Encoder | None = None, random_state: int | None = None,
               config: Config | None = None):
    """A fitted coder: the supervised model in ``model_dir`` (with the encoder it records), else
    the zero-shot coder with ``encoder`` and ``random_state``, by default ``config``'s (a
    project's; the packaged one when ``None``)."""
    codebook = codebook if codebook is not None else load_codebook()
    if model_dir:
        model = load_coder(model_dir, codebook=codebook, encoder=encoder, config=config)
        return model
    model = ZeroShotThemeClassifier(codebook, encoder=resolve_encoder(encoder, config),
                                    random_state=seed(random_state, config)).fit()
    model.model_id_ = f"zeroshot-{codebook.hash[:8]}"
    return model


def model_id(model) -> str:
    return getattr(model, "model_id_", None) or f"zeroshot-{model.codebook_.hash[:8]}"


def code_frame(model, data, vectors: np.ndarray | None = None, store=None,
               min_score: float | None = None) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """(probabilities, 0/1 decisions, posture or None) for every row; abstained rows get nothing."""
    df, X = model.embed(data, vectors, store)
    P = model.predict_proba(df, vectors=X)
    thr = np.full(P.shape[1], min_score) if min_score is not None else model.thresholds_
    Y = (P >= thr[None, :]).astype(int)
    Y[model.abstain_mask(df["text"].tolist(), P)] = 0
    cb = model.codebook_
    post = [None] * len(df)
    if cb.posture_theme:
        pj = cb.ids.index(cb.posture_theme)
        rows = np.flatnonzero(Y[:, pj])
        if len(rows):
            sub = model.predict_posture(df.iloc[rows].reset_index(drop=True), vectors=X[rows])
            for k, i in enumerate(rows):
                post[i] = sub[k]
    return P, Y, post


def classify_texts(texts: Sequence[str], model_dir: str | Path | None = None,
                   codebook: Codebook | None = None, model=None,
                   roles: Sequence[str | None] | None = None) -> list[dict]:
    """Code raw texts: one ``{"themes", "scores", "posture"}`` dict per text. ``roles`` (one
    speaker role per text, optional) is used by a supervised model trained with roles."""
    model = model if model is not None else load_model(model_dir, codebook)
    texts = [("" if t is None else str(t)) for t in texts]
    if not texts:
        return []
    frame = as_frame(texts)
    if roles is not None:
        frame["role"] = list(roles)
    P, Y, post = code_frame(model, frame)
    ids = model.codebook_.ids
    return [{"themes": [ids[j] for j in np.flatnonzero(Y[i])],
             "scores": {t: round(float(P[i, j]), 4) for j, t in enumerate(ids)},
             "posture": post[i]} for i in range(len(texts))]


def _run_id(mid: str, cb_hash: str, enc: str, seg_ids: list[str], texts: list[str]) -> str:
    h = hashlib.sha256(f"{mid}|{cb_hash}|{enc}".encode())
    for s, t in zip(seg_ids, texts):
        h.update(f"{s}\x1f{t}\x1e".encode())
    return "themes-" + h.hexdigest()[:12]


def apply_themes(store, model_dir: str | Path | None = None,
                 advance: Callable[[int], None] | None = None) -> str:
    """Code every respondent segment of ``store``; returns the run id."""
    cfg = store.config
    codebook = load_codebook(cfg.codebook_path())
    model_dir = model_dir if model_dir is not None else cfg.themes.model
    if model_dir is None and (store.models_dir / "themes" / "model.json").exists():
        model_dir = store.models_dir / "themes"
    enc = resolve_encoder(None, cfg)
    cache_codebook(codebook, enc, store)        # the codebook's vectors from the store: nothing to encode
    model = load_model(model_dir, codebook, encoder=None if model_dir else enc, config=cfg)
    seg = store.segments_frame(roles="respondents")
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments in the store")
    texts = seg["text"].fillna("").astype(str).tolist()
    frame = pd.DataFrame({"text": texts, "role": seg["role"].values})
    X = encode(model.encoder_, texts, store=store, batch_size=cfg.embed.batch_size)
    if advance:
        advance(len(texts))
    P, Y, post = code_frame(model, frame, vectors=X, min_score=cfg.themes.min_score)
    mid = model_id(model)
    ids = codebook.ids
    seg_ids = seg["segment_id"].astype(str).tolist()
    run_id = _run_id(mid, codebook.hash, model.encoder_id_, seg_ids, texts)
    pj = ids.index(codebook.posture_theme) if codebook.posture_theme else -1
    n, T = P.shape
    out = pd.DataFrame({
        "run_id": run_id, "model_id": mid,
        "segment_id": np.repeat(seg_ids, T),
        "theme": np.tile(ids, n),
        "score": P.reshape(-1).astype(float),
        "assigned": Y.reshape(-1).astype(bool),
        "posture": [post[i] if j == pj else None for i in range(n) for j in range(T)],
    })[THEME_CODING_COLUMNS]
    out["posture"] = out["posture"].astype("string")   # VARCHAR even when no posture is assigned
    cf = load_crossfit(model_dir, codebook, encoder=model.encoder_) if model_dir else None
    cf_out = None
    if cf is not None:
        frame = frame.assign(interview_id=seg["interview_id"].values)
        Ycf, post_cf = crossfit_codes(cf[0], cf[1], frame, X,
                                      lambda m, f, v: code_frame(m, f, vectors=v, min_score=cfg.themes.min_score))
        cf_out = pd.DataFrame({"run_id": run_id, "segment_id": np.repeat(seg_ids, T), "theme": np.tile(ids, n),
                               "assigned": Ycf.reshape(-1).astype(bool),
                               "posture": [post_cf[i] if j == pj else None for i in range(n) for j in range(T)]})
        cf_out["posture"] = cf_out["posture"].astype("string")
    codings.save_run(store, out, cf_out, {
        "run_id": run_id, "model_id": mid, "codebook_hash": codebook.hash, "encoder": model.encoder_id_,
        "n_segments": n, "model_dir": str(model_dir) if model_dir else None,
        "calibration_samples": list(getattr(model, "calibration_samples_", []) or []), "crossfit": cf is not None,
        "applied_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return run_id


