"""Posture sub-label (``faire_avec`` / ``faire_a_la_place`` / ``mixte``) for segments coded
with the posture theme.

Features: centred similarity to each sub-label (definition + closest examples of the
codebook) and the sub-labels' lexical cue counts. Without enough labelled data the rule is
codebook-driven: cues of both poles -> ``mixte``; cues of one pole -> that pole; otherwise the
closest sub-label by similarity. With labelled data (>= 2 sub-labels, >= 3 rows each) a
multinomial logistic regression is fitted on the same features, the codebook examples
included as extra training rows.
"""
from __future__ import annotations

import re

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from ..config import seed
from .codebook import POSTURE_LABELS, Codebook, first_matches_many, normalise

_AVEC, _PLACE, _MIXTE = range(3)


def posture_features(sub_sim: np.ndarray, sub_cues: np.ndarray) -> np.ndarray:
    return np.hstack([sub_sim * 10.0, np.log1p(sub_cues)]).astype(np.float32)


_NEG = re.compile(r"(?<![a-z])(pas|jamais|plus|plutot que|au lieu de|sans|eviter de|refuse de)(?![a-z])[^.;!?]{0,25}$")
# Time frame of a cue. A retrospective adverbial ("avant", "l'an dernier", "au début") puts what
# follows in the past until a present/change marker ("maintenant", "aujourd'hui", "désormais",
# "c'est l'inverse") brings the account back to now. The sub-label codes the stance the speaker
# describes as theirs now: "Avant je faisais à leur place, maintenant ils font eux-mêmes" is
# faire_avec.
_RETRO = re.compile(r"(?<![a-z])(avant(?! (de|d'|que|qu'|le|la|les|l'|midi|hier))|auparavant|l'an (dernier|passe)"
                    r"|l'annee (derniere|passee)|au debut(?! (du|de|des|d'))|a l'epoque|au depart"
                    r"|il y a (un|deux|trois|quelques) (an|ans)|la premiere annee)(?![a-z])")
_NOW = re.compile(r"(?<![a-z])(maintenant|aujourd'hui|desormais|dorenavant|a present|cette annee|actuellement"
                  r"|c'est l'inverse|plus jamais|ca a change|j'ai change|a change)(?![a-z])")
# a cue inside an "if" clause ("si je leur explique, ils oublient") is a hypothesis, not a practice
_HYPO = re.compile(r"(?<![a-z])(si|s'ils?|meme si)(?![a-z])[^,.;!?]{0,40}$")
_RETRO_SPAN = 250   # characters a retrospective adverbial reaches back for a past-tense cue
_PAST_VERB = re.compile(r"(?<![a-z])(?!(jamais|francais|anglais|desormais|palais|delais|frais|relais|marais|parfait|souhait"
                        r"|trait|extrait|portrait|retrait|bienfait|attrait|avions|questions|informations)(?![a-z]))"
                        r"(\w{2,}(ais|ait|aient|iez|ions)|avais|avait|etais|etait)(?![a-z])")
_SENT_END = re.compile(r"[.!?;]")


def _is_past(norm: str, start: int, end: int) -> bool:
    """A cue is in a retrospective frame when the latest time marker before it is retrospective
    and either sits in the same sentence, or the cue itself is in the imperfect / pluperfect
    ("je faisais tout") with the marker within reach."""
    lo = max(0, start - _RETRO_SPAN)
    last_retro = max((m.end() for m in _RETRO.finditer(norm, lo, start)), default=-1)
    if last_retro < 0:
        return False
    last_now = max((m.end() for m in _NOW.finditer(norm, lo, start)), default=-1)
    if last_now > last_retro:
        return False
    same_sentence = _SENT_END.search(norm, last_retro, start) is None
    clause_start = max(norm.rfind(",", 0, start), max((m.end() for m in _SENT_END.finditer(norm, 0, start)), default=0))
    return same_sentence or bool(_PAST_VERB.search(norm, clause_start, end))


def posture_cue_counts(codebook: Codebook, texts: list[str]) -> np.ndarray:
    """``(n, 3)`` sub-label cue counts (first match of each cue).

    A negated ``faire_a_la_place`` cue ("je ne fais pas à leur place") counts for
    ``faire_avec``; a negated ``faire_avec`` cue ("ils savent pas faire seuls") or a cue in an
    "if" clause ("si je leur explique") is not counted.
    A cue in a retrospective frame ("l'an dernier je faisais tout pour eux")
    describes a former stance: when the speaker then comes back to now ("maintenant ..."), it
    counts for the opposite pole (the change is away from it); otherwise it is not counted.
    """
    out = np.zeros((len(texts), 3), dtype=np.float32)
    if not codebook.posture_theme:
        return out
    subs = codebook.theme(codebook.posture_theme).sublabels
    norms = [normalise(t) for t in texts]
    found = [first_matches_many(subs[lab].patterns if lab in subs else [], norms) for lab in POSTURE_LABELS]
    for i, norm in enumerate(norms):
        for j in range(len(POSTURE_LABELS)):
            for m in found[j].get(i, []):
                k = j
                if _HYPO.search(norm[max(0, m.start() - 45):m.start()]):
                    continue
                negated = j != _MIXTE and _NEG.search(norm[max(0, m.start() - 40):m.start()])
                if negated and j == _AVEC:    # "ils savent pas faire seuls": no evidence either way
                    continue
                if negated:
                    k = _AVEC
                if _is_past(norm, m.start(), m.end()):
                    if k == _MIXTE or not _NOW.search(norm, m.end()):
                        continue
                    k = _PLACE if k == _AVEC else _AVEC
                out[i, k] += 1
    return out


def rule_posture(sub_sim: np.ndarray, sub_cues: np.ndarray, margin: float = 0.0) -> list[str]:
    """Codebook rule: a mixte cue with a pole cue, or as many cues of each pole -> mixte; more
    cues of one pole -> that pole; no cue -> the pole the segment is closer to by similarity (``margin`` > 0
    would favour faire_avec; the default keeps the rule symmetric, so the coder does not
    presume the stance the study is measuring)."""
    out = []
    for s, c in zip(sub_sim, sub_cues):
        avec, place, mix = c[_AVEC], c[_PLACE], c[_MIXTE]
        if (mix > 0 and avec + place > 0) or (avec > 0 and avec == place):
            out.append("mixte")
        elif avec > place:
            out.append("faire_avec")
        elif place > avec:
            out.append("faire_a_la_place")
        elif s[_PLACE] - s[_AVEC] > margin:     # no pole cue: the closer pole
            out.append("faire_a_la_place")
        else:
            out.append("faire_avec")
    return out


class PostureModel(BaseEstimator):
    """Learned sub-label model with the rule as fallback (a scikit-learn estimator)."""

    def __init__(self, random_state: int | None = None, min_per_class: int = 5) -> None:
        self.random_state = random_state
        self.min_per_class = min_per_class

    def fit(self, F: np.ndarray, labels: list[str | None]) -> "PostureModel":
        y = np.array([POSTURE_LABELS.index(l) if l in POSTURE_LABELS else -1 for l in labels])
        keep = y >= 0
        counts = np.bincount(y[keep], minlength=3)
        self.learned_ = bool((counts >= self.min_per_class).all())
        self.coef_ = np.zeros((3, F.shape[1]), dtype=np.float64)
        self.intercept_ = np.zeros(3, dtype=np.float64)
        if self.learned_:
            clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000,
                                     random_state=seed(self.random_state))
            clf.fit(F[keep], y[keep])
            for k, c in enumerate(clf.classes_):
                if len(clf.classes_) == 2:   # binary: sklearn keeps one row
                    self.coef_[c] = clf.coef_[0] * (1 if k == 1 else -1)
                    self.intercept_[c] = clf.intercept_[0] * (1 if k == 1 else -1)
                else:
                    self.coef_[c] = clf.coef_[k]
                    self.intercept_[c] = clf.intercept_[k]
            missing = [c for c in range(3) if c not in set(clf.classes_)]
            for c in missing:
                self.intercept_[c] = -1e9
        return self

    def predict(self, F: np.ndarray, sub_sim: np.ndarray, sub_cues: np.ndarray) -> list[str]:
        if not getattr(self, "learned_", False):
            return rule_posture(sub_sim, sub_cues)
        z = F @ self.coef_.T + self.intercept_
        return [POSTURE_LABELS[int(k)] for k in z.argmax(axis=1)]
