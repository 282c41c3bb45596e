"""Supervised theme coder trained on human codings (scikit-learn contract, multi-label).

Features per segment: the E5 passage vector, the zero-shot evidence of every theme
(centred similarities to definitions / include criteria / examples, codebook cue counts,
calibrated zero-shot probabilities), posture sub-label cue counts and the speaker's role
(one-hot, when the data has a ``role`` column; a missing or unknown role counts as the
training mean, so texts coded without their role, as ``themes classify`` does, are not
pushed towards any one role). One L2 logistic regression per theme
(balanced class weights; the codebook's examples added as light-weight positives), then a
second stage (classifier chain by stacking) that sees the out-of-fold probabilities of all
themes, so label co-occurrence is learned. The result is shrunk towards the zero-shot
probability with weight ``n_pos / (n_pos + prior_weight)`` — rare themes (a handful of coded
rows) lean on the codebook, frequent ones on the data. Per-theme thresholds are F1-optimal on
out-of-fold probabilities of a cross-validation grouped by interview (else section), shrunk
the same way towards the zero-shot threshold.
Themes with fewer than ``min_positives`` coded rows fall back to the zero-shot coder.

Its fitted state (:meth:`SupervisedThemeClassifier.fitted_state`, :meth:`~SupervisedThemeClassifier.restore`)
is written to and read from a model folder by :mod:`textmine.themes.model_io`.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits
from sklearn.model_selection import GroupKFold, KFold

from ..config import seed
from ..embed import Encoder, resolve_encoder
from ..errors import E, TextmineError
from .base import ThemeCoderBase
from .codebook import Codebook, load_codebook
from .coded import data_hash, group_column, label_matrix, single_class_themes
from .features import as_frame, encode, role_onehot, sublabel_similarity
from .posture import PostureModel, posture_cue_counts, posture_features
from .zeroshot import ZeroShotThemeClassifier, best_threshold



def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def make_folds(n: int, groups, n_splits: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds grouped by ``groups`` when given (GroupKFold), else shuffled KFold."""
    if groups is not None:
        g = np.asarray(groups).astype(str)
        k = min(n_splits, len(set(g)))
        if k >= 2:
            return list(GroupKFold(n_splits=k).split(np.zeros(n), groups=g))
    k = min(n_splits, n)
    return list(KFold(n_splits=k, shuffle=True, random_state=random_state).split(np.zeros(n)))


class SupervisedThemeClassifier(ThemeCoderBase):
    """Multi-label theme coder learned from coded segments.

    ``encoder``: an encoder, or its name; ``None`` is the packaged config's ``embed.encoder``
    (commands pass their project's). ``random_state``: ``None`` is the packaged config's.
    """

    def __init__(self, codebook: Codebook | None = None, encoder: str | Encoder | None = None,
                 random_state: int | None = None, C: float = 1.0, C_chain: float = 0.3, chain: bool = True,
                 example_weight: float = 0.5, min_positives: int = 3, n_splits: int = 5,
                 min_words: int = 4, abstain_below: float = 0.15, prior_weight: float = 40.0) -> None:
        self.codebook = codebook
        self.prior_weight = prior_weight
        self.encoder = encoder
        self.random_state = random_state
        self.C = C
        self.C_chain = C_chain
        self.chain = chain
        self.example_weight = example_weight
        self.min_positives = min_positives
        self.n_splits = n_splits
        self.min_words = min_words
        self.abstain_below = abstain_below

    # ------------------------------------------------------------------ features
    def _zs(self) -> ZeroShotThemeClassifier:
        return ZeroShotThemeClassifier(self.codebook_, getattr(self, "encoder_", self.encoder), random_state=self.random_state,
                                       min_words=self.min_words, abstain_below=self.abstain_below)

    def _evidence(self, df, X: np.ndarray):
        """Zero-shot evidence: (sims (n,3T), cue counts (n,T), zero-shot probabilities (n,T))."""
        sims, cues = self.zs_.evidence(df["text"].tolist(), X)
        return sims, cues, self.zs_.proba_from_evidence(sims, cues)

    def _stage_b_features(self, j: int, PA: np.ndarray, sims, cues, p_zs, roles) -> np.ndarray:
        T = PA.shape[1]
        cols = [_logit(PA[:, j]), sims[:, j] * 10, sims[:, T + j] * 10, sims[:, 2 * T + j] * 10,
                np.log1p(cues[:, j]), _logit(p_zs[:, j])]
        G = np.column_stack(cols)
        extra = [roles]
        if self.chain:
            extra.append(np.delete(PA, j, axis=1))
        return np.hstack([G] + extra)

    # ------------------------------------------------------------------ fit
    def _fit_a(self, X: np.ndarray, Y: np.ndarray, Xex: np.ndarray, owner: np.ndarray):
        """Stage A: one logistic regression per theme on the sentence vector alone."""
        T = Y.shape[1]
        W, b = np.zeros((T, X.shape[1])), np.full(T, -10.0)
        for j in range(T):
            if not self.active_[j] or Y[:, j].sum() < 2 or Y[:, j].sum() == len(Y):
                continue
            pos = owner == j
            lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000,
                                    random_state=seed(self.random_state))
            lr.fit(np.vstack([X, Xex[pos]]) * 10, np.concatenate([Y[:, j], np.ones(pos.sum(), dtype=int)]),
                   sample_weight=np.concatenate([np.ones(len(X)), np.full(pos.sum(), self.example_weight)]))
            W[j], b[j] = lr.coef_[0] * 10, lr.intercept_[0]
        return W, b

    def _fit_b(self, PA, Y, sims, cues, p_zs, roles):
        T = Y.shape[1]
        dB = self._stage_b_features(0, PA, sims, cues, p_zs, roles).shape[1]
        W, b = np.zeros((T, dB)), np.full(T, -10.0)
        M, S = np.zeros((T, dB)), np.ones((T, dB))
        for j in range(T):
            if not self.active_[j] or Y[:, j].sum() < 2 or Y[:, j].sum() == len(Y):
                continue
            G = self._stage_b_features(j, PA, sims, cues, p_zs, roles)
            known = ~np.isnan(G)
            m = np.where(known, G, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
            G = np.where(known, G, m[None, :])             # unknown role: the mean role
            s = G.std(axis=0)
            s[s < 1e-6] = 1.0
            lr = LogisticRegression(C=self.C_chain, class_weight="balanced", max_iter=3000,
                                    random_state=seed(self.random_state))
            lr.fit((G - m) / s, Y[:, j])
            W[j], b[j], M[j], S[j] = lr.coef_[0], lr.intercept_[0], m, s
        return W, b, M, S

    def _apply_b(self, PA, sims, cues, p_zs, roles, W, b, M, S) -> np.ndarray:
        P = np.zeros(PA.shape)
        for j in range(PA.shape[1]):
            G = self._stage_b_features(j, PA, sims, cues, p_zs, roles)
            G = np.where(np.isnan(G), M[j][None, :], G)    # unknown role: the training mean
            P[:, j] = _sigmoid(((G - M[j]) / S[j]) @ W[j] + b[j])
        return P

    @staticmethod
    def _check_trainable(df, y, codebook: Codebook) -> np.ndarray:
        """The label matrix, or E402/E406 before any encoding when there is nothing to learn."""
        if "themes" not in df.columns:
            raise TextmineError(E.E402, detail="the coded frame has no `themes` column")
        if len(df) < 10:
            raise TextmineError(E.E406, detail=f"{len(df)} coded segments; at least 10 are needed")
        Y = label_matrix(df, codebook) if y is None else np.asarray(y)
        if len(single_class_themes(Y, codebook.ids)) == Y.shape[1]:
            raise TextmineError(E.E406, detail="every theme is coded in all rows or in none of them: nothing "
                                               "to learn (is the `themes` column filled?)")
        return Y

    def fit(self, coded, y=None, vectors: np.ndarray | None = None, groups=None) -> "SupervisedThemeClassifier":
        """Train on a coded frame (``text``, ``themes`` lists, optional ``posture``, ``role``,
        ``interview_id``/``section`` for grouping). Returns self."""
        # many tiny problems: one BLAS thread is several times faster than oversubscribed threads
        df = as_frame(coded)
        self._check_trainable(df, y, self.codebook if self.codebook is not None else load_codebook())
        if vectors is None:    # encode outside the single-thread block (the encoder has its own threads)
            vectors = encode(resolve_encoder(self.encoder), df["text"].tolist())
            ZeroShotThemeClassifier(self.codebook, self.encoder).fit()   # embeds the codebook (memoised)
        with threadpool_limits(1):
            return self._fit(df, y, vectors, groups)

    def _fit(self, coded, y, vectors, groups) -> "SupervisedThemeClassifier":
        """Train on a coded frame (``text``, ``themes`` lists, optional ``posture``, ``role``,
        ``interview_id``/``section`` for grouping)."""
        self.codebook_ = self.codebook if self.codebook is not None else load_codebook()
        self.zs_ = self._zs().fit()
        self.encoder_ = self.zs_.encoder_
        self.encoder_id_ = self.zs_.encoder_id_
        df = as_frame(coded)
        Y = self._check_trainable(df, y, self.codebook_)
        X = vectors if vectors is not None else encode(self.encoder_, df["text"].tolist())
        sims, cues, p_zs = self._evidence(df, X)
        roles = role_onehot(df)
        ex_texts, owner = [], []
        for j, th in enumerate(self.codebook_.themes):
            ex_texts += th.examples
            owner += [j] * len(th.examples)
        owner = np.array(owner)
        Xex = encode(self.encoder_, ex_texts)
        self.active_ = np.array([self.min_positives <= Y[:, j].sum() < len(Y) for j in range(Y.shape[1])])
        if groups is None:
            gcol = group_column(df)
            groups = df[gcol].astype(str).values if gcol else None
        folds = make_folds(len(df), groups, self.n_splits, seed(self.random_state))
        # stage A out of fold, then on everything
        PA = np.zeros(Y.shape)
        for tr, te in folds:
            W, b = self._fit_a(X[tr], Y[tr], Xex, owner)
            PA[te] = _sigmoid(X[te] @ W.T + b)
        self.coef_, self.intercept_ = self._fit_a(X, Y, Xex, owner)
        # stage B on out-of-fold stage A; its own out-of-fold probabilities tune the thresholds
        P = np.zeros(Y.shape)
        for tr, te in folds:
            Wb = self._fit_b(PA[tr], Y[tr], sims[tr], cues[tr], p_zs[tr], roles[tr])
            P[te] = self._apply_b(PA[te], sims[te], cues[te], p_zs[te], roles[te], *Wb)
        self.b_coef_, self.b_intercept_, self.b_mean_, self.b_scale_ = self._fit_b(PA, Y, sims, cues, p_zs, roles)
        self.support_ = Y.sum(axis=0).astype(int)
        P = self._blend(P, p_zs)
        # thresholds: F1-optimal out of fold, shrunk like the probabilities towards the zero-shot
        # threshold (a handful of positives gives a noisy optimum)
        w = self._data_weight()
        self.thresholds_ = np.array([
            w[j] * best_threshold(P[:, j], Y[:, j])[0] + (1 - w[j]) * self.zs_.thresholds_[j]
            if self.active_[j] else self.zs_.thresholds_[j] for j in range(Y.shape[1])])
        self.oof_proba_ = P
        # posture sub-label
        sub_sim = sublabel_similarity(X, self.zs_.prototypes_)
        sub_cues = posture_cue_counts(self.codebook_, df["text"].tolist())
        self.posture_ = PostureModel(self.random_state).fit(
            posture_features(sub_sim, sub_cues),
            list(df["posture"]) if "posture" in df.columns else [None] * len(df))
        self.theme_ids_ = list(self.codebook_.ids)
        self.data_hash_ = data_hash(df.assign(posture=df["posture"] if "posture" in df.columns else None))
        self.n_train_ = int(len(df))
        self.support_ = Y.sum(axis=0).astype(int)
        return self

    # ------------------------------------------------------------------ predict
    def predict_proba(self, data, vectors: np.ndarray | None = None, store=None) -> np.ndarray:
        """``(n, n_themes)`` probabilities in codebook order."""
        df, X = self.embed(data, vectors, store)
        sims, cues, p_zs = self._evidence(df, X)
        PA = _sigmoid(X @ self.coef_.T + self.intercept_)
        P = self._apply_b(PA, sims, cues, p_zs, role_onehot(df), self.b_coef_, self.b_intercept_,
                          self.b_mean_, self.b_scale_)
        return self._blend(P, p_zs)

    def _data_weight(self) -> np.ndarray:
        """Per theme, the weight of the coded data against the codebook: n_pos / (n_pos + prior_weight)."""
        n = self.support_.astype(float)
        return n / np.maximum(n + self.prior_weight, 1e-9)

    def _blend(self, P: np.ndarray, p_zs: np.ndarray) -> np.ndarray:
        """Shrink rare themes towards the zero-shot coder (weight :meth:`_data_weight`)."""
        w = self._data_weight()
        P = w[None, :] * P + (1 - w[None, :]) * p_zs
        return np.where(self.active_[None, :], P, p_zs)

    def abstain_mask(self, texts, P):
        return self.zs_.abstain_mask(texts, P)

    def predict_posture(self, data, vectors: np.ndarray | None = None, store=None) -> list[str | None]:
        df, X = self.embed(data, vectors, store)
        if not self.codebook_.posture_theme:
            return [None] * len(df)
        sub_sim = sublabel_similarity(X, self.zs_.prototypes_)
        sub_cues = posture_cue_counts(self.codebook_, df["text"].tolist())
        return self.posture_.predict(posture_features(sub_sim, sub_cues), sub_sim, sub_cues)

    # ------------------------------------------------------------------ fitted state (files: model_io.py)
    #: fitted arrays of the coder itself (the zero-shot and posture models add theirs, prefixed)
    _ARRAYS = ("coef", "intercept", "b_coef", "b_intercept", "b_mean", "b_scale", "thresholds", "active", "support")

    def fitted_state(self) -> dict[str, np.ndarray]:
        """Every fitted parameter as an array (``zs_*``: the zero-shot coder's, ``posture_*``: the
        posture model's); :meth:`restore` builds the coder again from it."""
        self._check()
        out = {k: np.asarray(getattr(self, f"{k}_")) for k in self._ARRAYS}
        out["active"] = self.active_.astype(np.int8)
        out.update({f"zs_{k}": v for k, v in self.zs_.fitted_state().items()})
        out.update({"posture_coef": self.posture_.coef_, "posture_intercept": self.posture_.intercept_,
                    "posture_learned": np.array([int(self.posture_.learned_)])})
        return out

    @classmethod
    def restore(cls, state: dict[str, np.ndarray], codebook: Codebook, encoder: str | Encoder | None = None,
                **params) -> "SupervisedThemeClassifier":
        """A fitted coder from :meth:`fitted_state` and its parameters."""
        self = cls(codebook, encoder, **params)
        self.codebook_ = codebook
        self.zs_ = ZeroShotThemeClassifier.restore({k[3:]: v for k, v in state.items() if k.startswith("zs_")},
                                                   codebook, encoder, random_state=self.random_state,
                                                   min_words=self.min_words, abstain_below=self.abstain_below)
        self.encoder_, self.encoder_id_ = self.zs_.encoder_, self.zs_.encoder_id_
        for k in cls._ARRAYS:
            setattr(self, f"{k}_", np.asarray(state[k]))
        self.active_ = self.active_.astype(bool)
        self.posture_ = PostureModel(self.random_state)
        self.posture_.coef_, self.posture_.intercept_ = state["posture_coef"], state["posture_intercept"]
        self.posture_.learned_ = bool(state["posture_learned"][0])
        self.theme_ids_ = list(codebook.ids)
        return self
