"""The theme coders' scikit-learn contract (BaseEstimator, clone, NotFittedError, fitted state
and its files), with the test encoder: no neural model, seconds."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from textmine.embed import TEST_ENCODER
from textmine.errors import TextmineError
from textmine.themes.codebook import load_codebook
from textmine.themes.coded import validate_coded
from textmine.themes.evaluate import cross_validate
from textmine.themes.model_io import load_coder, read_model_meta, save_coder
from textmine.themes.supervised import SupervisedThemeClassifier
from textmine.themes.zeroshot import ZeroShotThemeClassifier

from helpers_themes import coded_frame

TEXTS = ["Je leur montre et ce sont eux qui cliquent, je ne fais pas à leur place.",
         "Mon contrat se termine en juin, personne ne sait si le poste continue.", "euh oui"]


@pytest.fixture(scope="module")
def cb():
    return load_codebook()


@pytest.fixture(scope="module")
def coded(cb):
    return validate_coded(coded_frame(), cb)


@pytest.mark.parametrize("cls", [ZeroShotThemeClassifier, SupervisedThemeClassifier])
def test_unfitted_coders_refuse_and_clone(cls, cb):
    coder = cls(cb, encoder=TEST_ENCODER, random_state=3)
    with pytest.raises(NotFittedError):                   # scikit-learn's error ...
        coder.predict(TEXTS)
    with pytest.raises(TextmineError) as ei:              # ... with textmine's code for the CLI
        coder.predict_proba(TEXTS)
    assert ei.value.code == "E405"
    assert not hasattr(coder, "coef_")                    # no silent fit
    twin = clone(coder)
    assert twin is not coder and twin.get_params()["random_state"] == 3
    assert twin.get_params()["encoder"] == TEST_ENCODER and set(twin.get_params()) == set(coder.get_params())


def test_zero_shot_evidence_api_and_restore(cb):
    from textmine.themes.features import encode
    zs = ZeroShotThemeClassifier(cb, encoder=TEST_ENCODER).fit()
    X = encode(zs.encoder_, TEXTS)
    sims, cues = zs.evidence(TEXTS, X)
    assert sims.shape == (3, 3 * len(cb.ids)) and cues.shape == (3, len(cb.ids))
    np.testing.assert_allclose(zs.proba_from_evidence(sims, cues), zs.predict_proba(TEXTS), rtol=0, atol=1e-12)
    again = ZeroShotThemeClassifier.restore(zs.fitted_state(), cb, TEST_ENCODER)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), zs.predict_proba(TEXTS))
    # a fitted coder's clone is unfitted, with the same parameters
    assert not hasattr(clone(zs), "coef_") and clone(zs).get_params() == zs.get_params()


def test_supervised_clone_cross_validate_and_files(cb, coded, tmp_path):
    sup = SupervisedThemeClassifier(cb, encoder=TEST_ENCODER, random_state=0)
    fitted = clone(sup).fit(coded)
    np.testing.assert_array_equal(clone(sup).fit(coded).predict_proba(TEXTS), fitted.predict_proba(TEXTS))
    P, Yp, post, gcol = cross_validate(coded, sup, cb, 3)
    assert not hasattr(sup, "coef_")                      # the estimator given is cloned, never fitted
    assert P.shape == (len(coded), len(cb.ids)) and gcol == "interview_id"
    folder = save_coder(fitted, tmp_path / "m")
    meta = read_model_meta(folder)
    assert meta["encoder_name"] == TEST_ENCODER and meta["params"]["random_state"] == 0
    loaded = load_coder(folder, codebook=cb)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS), rtol=0, atol=1e-12)
    assert loaded.predict_posture(TEXTS) == fitted.predict_posture(TEXTS)
    assert set(fitted.fitted_state()) == set(np.load(folder / "weights.npz", allow_pickle=False).files)


def test_posture_model_is_an_estimator():
    from textmine.themes.posture import PostureModel
    m = PostureModel(random_state=4, min_per_class=2)
    assert clone(m).get_params() == {"random_state": 4, "min_per_class": 2}
