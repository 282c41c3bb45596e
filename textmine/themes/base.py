"""What the zero-shot and supervised theme coders share: the scikit-learn estimator contract
(:class:`~sklearn.base.BaseEstimator`: ``get_params``/``set_params``, :func:`~sklearn.base.clone`;
:class:`NotFittedCoderError` before ``fit``), embedding the input, and turning probabilities into
decisions with per-theme thresholds and abstention.

Subclasses provide ``encoder_``, ``thresholds_``, ``predict_proba(df, vectors=X)`` and
``abstain_mask(texts, P)``; they are fitted once ``coef_`` exists.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ..errors import E, TextmineError
from .features import as_frame, encode


class NotFittedCoderError(TextmineError, NotFittedError):
    """A coder used before ``fit`` (or loading): scikit-learn's NotFittedError, with textmine's
    E405 code and fix for the CLI."""

    def __init__(self, coder: object) -> None:
        TextmineError.__init__(self, E.E405, detail=f"this {type(coder).__name__} is not fitted; call fit() "
                                                    "or load a saved model (themes.model_io.load_coder)")


class ThemeCoderBase(BaseEstimator):
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coef_")

    def _check(self) -> None:
        """Refuse an unfitted coder (never fit silently)."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedCoderError(self)

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
