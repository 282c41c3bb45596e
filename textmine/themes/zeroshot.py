"""Zero-shot theme coder: the codebook alone, no coded data.

For each (segment, theme) pair four evidence scores are combined: centred similarity of the
segment (E5 ``passage``) to the theme's label+definition and to its best include criterion
(E5 ``query``), to its two closest examples (``passage``), and the number of the theme's
lexical cues found (minus the cue rate of that theme on the other themes' examples, so
themes with generic cues are not favoured). A single logistic calibration maps these to a
probability; its parameters are fitted on the codebook's own examples (each example is a
positive for its theme and a negative for the others, with the example itself left out of
the example similarity) — never on evaluation data. Per-theme thresholds are the F1-optimal
thresholds on the same examples, shrunk towards the global one.

Abstention: texts with fewer than ``min_words`` content words (fillers removed), or whose
best probability stays under ``abstain_below``, get no theme.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from ..config import seed
from ..embed import Encoder, encoder_key, resolve_encoder
from ..errors import E, TextmineError
from .base import ThemeCoderBase
from .codebook import MIN_EXAMPLES, Codebook, load_codebook
from .features import Prototypes, content_words, encode, similarity_features, sublabel_similarity
from .posture import posture_cue_counts, rule_posture

def best_threshold(p: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> tuple[float, float]:
    """F1-optimal threshold of scores ``p`` against 0/1 ``y`` -> (threshold, f1)."""
    grid = np.linspace(0.05, 0.95, 37) if grid is None else grid
    best = (0.5, -1.0)
    for t in grid:
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        fp = float((pred & (y == 0)).sum())
        fn = float((~pred & (y == 1)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[1] + 1e-9:
            best = (float(t), f1)
    return best


#: evidence features per (segment, theme) pair: definition, include criteria, examples, cues
N_EVIDENCE = 4
_EXAMPLES = 2          # column of the example similarity in the evidence


def impute_example_similarity(F: np.ndarray) -> np.ndarray:
    """``F`` (pairs, 4) with the undefined leave-one-out example similarities filled in.

    A theme with a single example has no other example to compare that example with, so the
    pair (its example, the theme) has no example similarity. Leaving it out of the fit is not
    possible (it is the theme's only positive), and any constant would say something about
    membership. It gets its expected value given the pair's definition and criteria
    similarities: a least-squares line fitted on the pairs where the example similarity is
    defined. An imputed value is evidence only as far as the definition is, never more."""
    F = F.copy()
    gap = np.isnan(F[:, _EXAMPLES])
    if not gap.any():
        return F
    A = np.column_stack([np.ones(len(F)), F[:, 0], F[:, 1]])
    ok = ~gap & ~np.isnan(A).any(axis=1)
    if ok.sum() >= A.shape[1] + 1:
        beta = np.linalg.lstsq(A[ok], F[ok, _EXAMPLES], rcond=None)[0]
        F[gap, _EXAMPLES] = A[gap] @ beta
    else:
        F[gap, _EXAMPLES] = 0.0          # centred similarity: the average theme
    return F


def fit_monotone(F: np.ndarray, y: np.ndarray, random_state: int) -> tuple[np.ndarray, float]:
    """Logistic calibration ``(coef, intercept)`` of evidence ``F`` against 0/1 ``y`` whose
    weights are all >= 0.

    Every feature is evidence *for* the theme (a closer definition, criterion or example, more of
    its cues), so a negative weight can only come from a degenerate calibration set (one or two
    examples per theme: its "more evidence, less theme" would rank the themes backwards). A
    feature whose weight comes out negative is dropped (weight 0) and the rest refitted, until
    none is negative. The definition similarity is never dropped (a negative weight of its own,
    which no real codebook has shown, is read as 0)."""
    keep = np.ones(F.shape[1], dtype=bool)
    while True:
        lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=random_state)
        lr.fit(F[:, keep], y)
        coef = np.zeros(F.shape[1])
        coef[keep] = lr.coef_[0]
        coef[0] = max(coef[0], 0.0)
        if (coef >= 0).all():
            return coef, float(lr.intercept_[0])
        keep[int(np.argmin(coef))] = False        # the most negative weight goes first


def calibrated_thresholds(P: np.ndarray, Y: np.ndarray, n_examples: np.ndarray, shrink: float) -> np.ndarray:
    """Per-theme thresholds: each theme's F1-optimal threshold on its examples, shrunk by
    ``shrink`` towards the global F1-optimal one.

    A theme with fewer than :data:`~textmine.themes.codebook.MIN_EXAMPLES` examples takes the
    global threshold: one or two positives put the optimum anywhere (at the grid floor when
    its example scores low, so the theme would be given to every text). So does a theme whose
    own optimum gives it to every example. Should even the global optimum give every theme to
    every example (evidence that separates nothing), the global threshold is 0.5, the decision
    point of the balanced calibration, rather than one that codes everything."""
    t_glob, _ = best_threshold(P.reshape(-1), Y.reshape(-1))
    if t_glob <= P.min():
        t_glob = 0.5
    out = np.full(Y.shape[1], t_glob)
    for j in range(Y.shape[1]):
        t_j, _ = best_threshold(P[:, j], Y[:, j])
        if n_examples[j] >= MIN_EXAMPLES and t_j > P[:, j].min():
            out[j] = (1 - shrink) * t_j + shrink * t_glob
    return out


class ZeroShotThemeClassifier(ThemeCoderBase):
    """Codebook-driven multi-label theme classifier (scikit-learn contract).

    ``encoder``: an encoder, or its name; ``None`` is the packaged config's ``embed.encoder``
    (commands pass their project's). ``random_state``: ``None`` is the packaged config's.
    """

    def __init__(self, codebook: Codebook | None = None, encoder: str | Encoder | None = None,
                 random_state: int | None = None, min_words: int = 4, abstain_below: float = 0.15,
                 shrink: float = 0.5) -> None:
        self.codebook = codebook
        self.encoder = encoder
        self.random_state = random_state
        self.min_words = min_words
        self.abstain_below = abstain_below
        self.shrink = shrink

    # ------------------------------------------------------------------ evidence (public: the supervised coder uses it)
    def _pair_features(self, sims: np.ndarray, cues: np.ndarray) -> np.ndarray:
        """(n, T, 4) evidence per pair."""
        T = cues.shape[1]
        cue = np.log1p(cues) - self.cue_background_[None, :]
        return np.stack([sims[:, :T] * 10, sims[:, T:2 * T] * 10, sims[:, 2 * T:] * 10, cue], axis=2)

    def evidence(self, texts: list[str], X: np.ndarray, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(sims, cues)`` of texts with passage vectors ``X``: centred similarities to every
        theme's definition, include criteria and examples ``(n, 3T)`` and codebook cue counts
        ``(n, T)`` (``exclude_self``: an example identical to the text is left out; the example
        similarity is NaN where that leaves its theme no example)."""
        self._check()
        sims = similarity_features(X, self.prototypes_, texts if exclude_self else None)
        cues = self.codebook_.cue_counts(texts)
        return sims, cues

    def proba_from_evidence(self, sims: np.ndarray, cues: np.ndarray) -> np.ndarray:
        """``(n, T)`` calibrated probabilities from :meth:`evidence`."""
        self._check()
        return self._proba_from_features(self._pair_features(sims, cues))

    # ------------------------------------------------------------------ fit
    def _prepare(self) -> None:
        """The codebook, the encoder and the codebook's embeddings (prototypes)."""
        self.codebook_ = self.codebook if self.codebook is not None else load_codebook()
        if len(self.codebook_.themes) < 2:
            raise TextmineError(E.E401, path=self.codebook_.path,
                                detail=f"{len(self.codebook_.themes)} theme: the zero-shot coder calibrates each "
                                       "theme on its examples against the other themes' examples, so it needs "
                                       "at least two themes",
                                fix="Add a second theme (for instance the rest of what interviewees talk about, "
                                    "with its own examples), or code with a supervised model (`themes train`).")
        self.encoder_ = resolve_encoder(self.encoder)
        self.encoder_id_ = encoder_key(self.encoder_)
        self.prototypes_ = Prototypes.build(self.codebook_, self.encoder_)
        self.theme_ids_ = list(self.codebook_.ids)

    def fit(self, X=None, y=None) -> "ZeroShotThemeClassifier":
        """Embed the codebook and calibrate on its own examples (``X``, ``y`` are ignored)."""
        self._prepare()
        # tiny problems: one BLAS thread is several times faster than oversubscribed threads
        with threadpool_limits(1):
            return self._calibrate()

    def fitted_state(self) -> dict[str, np.ndarray]:
        """The fitted parameters as arrays (what a saved model stores; see :meth:`restore`)."""
        self._check()
        return {"coef": self.coef_, "intercept": np.array([self.intercept_]), "thresholds": self.thresholds_,
                "cue_background": self.cue_background_}

    @classmethod
    def restore(cls, state: dict[str, np.ndarray], codebook: Codebook, encoder: str | Encoder | None = None,
                **params) -> "ZeroShotThemeClassifier":
        """A fitted coder from :meth:`fitted_state` (the codebook is embedded again, from the
        memo or the store's cache)."""
        self = cls(codebook, encoder, **params)
        self._prepare()
        self.coef_, self.intercept_ = np.asarray(state["coef"]), float(np.asarray(state["intercept"]).reshape(-1)[0])
        self.thresholds_, self.cue_background_ = np.asarray(state["thresholds"]), np.asarray(state["cue_background"])
        return self

    def _calibrate(self) -> "ZeroShotThemeClassifier":
        texts, owner = [], []
        for j, th in enumerate(self.codebook_.themes):
            texts += th.examples
            owner += [j] * len(th.examples)
        owner = np.array(owner)
        T = len(self.codebook_.themes)
        Y = np.zeros((len(texts), T), dtype=int)
        Y[np.arange(len(texts)), owner] = 1
        Xe = encode(self.encoder_, texts)
        cues = self.codebook_.cue_counts(texts)
        lc = np.log1p(cues)
        # background cue rate of each theme: its cues on the other themes' examples
        self.cue_background_ = np.array([lc[owner != j, j].mean() for j in range(T)], dtype=np.float32)
        sims = similarity_features(Xe, self.prototypes_, texts)    # NaN: a theme's only example vs that theme
        F = impute_example_similarity(self._pair_features(sims, cues).reshape(-1, N_EVIDENCE))
        self.coef_, self.intercept_ = fit_monotone(F, Y.reshape(-1), seed(self.random_state))
        P = self._proba_from_features(F.reshape(len(texts), T, N_EVIDENCE))
        self.thresholds_ = calibrated_thresholds(P, Y, np.bincount(owner, minlength=T), self.shrink)
        self.theme_ids_ = list(self.codebook_.ids)
        return self

    def _proba_from_features(self, F: np.ndarray) -> np.ndarray:
        z = F @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    # ------------------------------------------------------------------ predict
    def predict_proba(self, data, vectors: np.ndarray | None = None, store=None) -> np.ndarray:
        """``(n, n_themes)`` calibrated probabilities in codebook order."""
        df, X = self.embed(data, vectors, store)
        texts = df["text"].tolist()
        return self.proba_from_evidence(*self.evidence(texts, X))

    def abstain_mask(self, texts: list[str], P: np.ndarray) -> np.ndarray:
        short = np.array([content_words(t) < self.min_words for t in texts], dtype=bool)
        return short | (P.max(axis=1) < self.abstain_below)

    def predict_posture(self, data, vectors: np.ndarray | None = None, store=None) -> list[str | None]:
        """Posture sub-label for every row (the caller keeps it only where posture is assigned)."""
        df, X = self.embed(data, vectors, store)
        if not self.codebook_.posture_theme:
            return [None] * len(df)
        texts = df["text"].tolist()
        return rule_posture(sublabel_similarity(X, self.prototypes_), posture_cue_counts(self.codebook_, texts))
