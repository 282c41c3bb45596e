"""Cross-fitting for a coder trained on calibration codes (the flywheel).

When ``themes train`` learns from a calibration sample's human codes, a corrected estimate must
not use, for a sampled segment, a prediction from a model that saw that segment's code: its error
would be understated and the correction biased. So training also fits ``K`` fold models
(``calibration.crossfit_folds``): the calibration codes are split into ``K`` folds *by interview*
and fold model ``k`` learns from every other coded data and the calibration codes outside fold
``k``. ``themes apply`` codes each segment with the fold model of its interview's fold (interviews
without calibration codes get a fold from a hash of their id) and stores those cross-fitted
predictions next to the full model's (table ``theme_codings_crossfit``); the corrected estimates
use them for every segment (design-based supervised learning's cross-fitting).

Files in the model folder: ``crossfit.json`` (folds, samples, the segment ids each fold model
was *not* trained on) and ``crossfit/fold_<k>/`` (one saved model each).
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..errors import E, TextmineError
from ..safeio import atomic_write
from .codebook import Codebook
from .model_io import load_coder, save_coder
from .supervised import SupervisedThemeClassifier

META = "crossfit.json"
FOLDS_DIR = "crossfit"


def interview_folds(interview_ids, n_folds: int, seed: int) -> dict[str, int]:
    """A fold per interview (shuffled with ``seed``, then dealt round-robin)."""
    ids = sorted({str(i) for i in interview_ids})
    if len(ids) < 2:
        raise TextmineError(E.E406, detail=f"cross-fitting needs calibration codes from at least 2 interviews "
                                           f"(found {len(ids)})")
    k = min(n_folds, len(ids))
    perm = np.random.default_rng(seed).permutation(len(ids))
    return {ids[p]: int(r % k) for r, p in enumerate(perm)}


def fold_of(interview_id: str, folds: dict[str, int], n_folds: int) -> int:
    iid = str(interview_id)
    return folds[iid] if iid in folds else zlib.crc32(iid.encode("utf-8")) % n_folds


def fit_crossfit(estimator: SupervisedThemeClassifier, coded: pd.DataFrame, is_calibration: np.ndarray,
                 folder: str | Path, *, n_folds: int, seed: int, samples: list[str],
                 vectors: np.ndarray | None = None) -> dict:
    """Fit and save the fold models (clones of the unfitted ``estimator``); ``coded`` holds every training row (``is_calibration`` marks
    the calibration codes, which need ``interview_id`` and ``id`` = segment id)."""
    folder = Path(folder)
    is_cal = np.asarray(is_calibration, dtype=bool)
    cal = coded[is_cal]
    folds = interview_folds(cal["interview_id"], n_folds, seed)
    k_eff = max(folds.values()) + 1
    fold = np.array([folds.get(str(i), -1) if c else -1 for i, c in zip(coded["interview_id"], is_cal)])
    left_out = {}
    for k in range(k_eff):
        train = fold != k
        m = clone(estimator).fit(coded[train].reset_index(drop=True),
                             vectors=None if vectors is None else vectors[train])
        m.calibration_samples_ = list(samples)
        save_coder(m, folder / FOLDS_DIR / f"fold_{k}")
        left_out[str(k)] = sorted(coded.loc[fold == k, "id"].astype(str))
    meta = {"n_folds": k_eff, "folds": folds, "samples": list(samples), "seed": seed, "left_out": left_out}
    atomic_write(folder / META, lambda tmp: tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False),
                                                           encoding="utf-8"))
    return meta


def load_crossfit(folder: str | Path | None, codebook: Codebook,
                  encoder=None) -> tuple[dict, list[SupervisedThemeClassifier]] | None:
    """``(meta, fold models)`` of a model folder, or None when it has no cross-fitting."""
    if not folder or not (Path(folder) / META).exists():
        return None
    folder = Path(folder)
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TextmineError(E.E405, path=folder / META, detail=str(exc)) from exc
    models = [load_coder(folder / FOLDS_DIR / f"fold_{k}", codebook=codebook, encoder=encoder)
              for k in range(int(meta["n_folds"]))]
    return meta, models


def crossfit_codes(meta: dict, models: list, frame: pd.DataFrame, vectors: np.ndarray, code) -> tuple[np.ndarray, list]:
    """0/1 decisions and posture of every row of ``frame`` (``interview_id``, ``text``, ``role``) by
    the fold model of its interview; ``code(model, frame, vectors) -> (P, Y, posture)``."""
    n_folds = int(meta["n_folds"])
    k_of = np.array([fold_of(i, meta["folds"], n_folds) for i in frame["interview_id"]])
    Y = None
    post: list = [None] * len(frame)
    for k, m in enumerate(models):
        rows = np.flatnonzero(k_of == k)
        if not len(rows):
            continue
        _, Yk, pk = code(m, frame.iloc[rows].reset_index(drop=True), vectors[rows])
        if Y is None:
            Y = np.zeros((len(frame), Yk.shape[1]), dtype=int)
        Y[rows] = Yk
        for j, i in enumerate(rows):
            post[i] = pk[j]
    return (Y if Y is not None else np.zeros((len(frame), 0), dtype=int)), post
