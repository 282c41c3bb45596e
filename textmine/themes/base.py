"""What the zero-shot and supervised theme coders share: embedding the input and turning
probabilities into decisions with per-theme thresholds and abstention.

Subclasses provide ``_check()`` (fitted or not), ``encoder_``, ``thresholds_``,
``predict_proba(df, vectors=X)`` and ``abstain_mask(texts, P)``.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .features import as_frame, encode


class ThemeCoderBase(BaseEstimator):
    def embed(self, data, vectors: np.ndarray | None = None, store=None):
        """``(frame, vectors)``: the input as a frame with its passage embeddings."""
        self._check()
        df = as_frame(data)
        X = vectors if vectors is not None else encode(self.encoder_, df["text"].tolist(), store=store)
        return df, X

    def predict(self, data, vectors: np.ndarray | None = None, store=None) -> np.ndarray:
        """``(n, n_themes)`` 0/1 decisions (abstained rows are all zero)."""
        df, X = self.embed(data, vectors, store)
        P = self.predict_proba(df, vectors=X)
        Yp = (P >= self.thresholds_[None, :]).astype(int)
        Yp[self.abstain_mask(df["text"].tolist(), P)] = 0
        return Yp
