"""A user's codebook with one or two examples per theme (README's own example has two).

The zero-shot coder calibrates on the codebook's examples, each compared with its theme's
*other* examples. With one or two per theme that leave-one-out similarity was -1 or half of it,
so the calibration learned "closer to a theme's examples, less of that theme": every theme went
to every text, ranked backwards. These tests pin the fix: non-negative evidence weights, an
imputed (not a fake) similarity for a theme's only example, the global threshold for themes
with fewer than three examples, and the warning of `themes list`. Texts are invented for these
tests (spoken-style French), not quotes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from textmine.cli.main import main
from textmine.themes.codebook import MIN_EXAMPLES, few_examples_note, load_codebook
from textmine.themes.features import Prototypes, similarity_features
from textmine.themes.zeroshot import (ZeroShotThemeClassifier, calibrated_thresholds, fit_monotone,
                                      impute_example_similarity)

EXAMPLES = {
    "voisinage": ["la dame du troisième elle me garde les clés quand je pars, on se rend service",
                  "au début on se disait bonjour dans l'escalier et puis c'est devenu des amis"],
    "travail": ["je commence à six heures à l'usine et le chef d'équipe nous lâche jamais",
                "j'ai signé un CDD de six mois à la mairie, après je sais pas"],
    "ecole": ["le petit il est en CE2, la maîtresse dit qu'il bavarde trop en classe",
              "le soir on fait les devoirs ensemble mais moi les fractions j'ai oublié"],
}
THEMES = [
    {"id": "voisinage", "label": "Relations de voisinage",
     "definition": "Ce que la personne dit de ses voisins, de l'entraide et des conflits dans l'immeuble ou la rue.",
     "include": ["La personne décrit un échange, un service rendu ou une dispute avec un voisin."],
     "exclude": ["Le quartier décrit sans parler des gens qui y vivent."],
     "cues": ["voisin", "palier", "re:\\bla concierge\\b", "on se rend service"]},
    {"id": "travail", "label": "Travail et emploi",
     "definition": "Ce que la personne dit de son emploi, de ses collègues, de ses horaires et de son salaire.",
     "include": ["La personne parle de son poste, de son patron, de son contrat ou de la recherche d'un emploi."],
     "exclude": ["Les études ou la formation sans lien avec un emploi."],
     "cues": ["boulot", "patron", "collegue", "salaire", "embauche"]},
    {"id": "ecole", "label": "École et scolarité des enfants",
     "definition": "Ce que la personne dit de l'école, des enseignants et de la scolarité de ses enfants.",
     "include": ["La personne parle de la classe, des devoirs, de la maîtresse ou des réunions de parents."],
     "exclude": ["La formation des adultes."],
     "cues": ["ecole", "maitresse", "devoirs", "college", "instit"]},
]
# (text, theme it is about)
CLEAR = [
    ("mon voisin du dessous met la musique à fond tous les soirs, j'ai fini par aller frapper chez lui",
     "voisinage"),
    ("mon patron m'a changé d'horaires sans prévenir et le salaire n'a pas bougé depuis trois ans", "travail"),
    ("ma fille rentre au collège en septembre, elle a peur de ne pas suivre en maths", "ecole"),
]


def write_codebook(path, n_examples: dict[str, int]):
    themes = [{**t, "examples": EXAMPLES[t["id"]][:n_examples[t["id"]]]} for t in THEMES]
    path.write_text(yaml.safe_dump({"version": 1, "language": "fr", "themes": themes}, allow_unicode=True),
                    encoding="utf-8")
    return path


SIZES = {"one": {"voisinage": 1, "travail": 1, "ecole": 1},
         "two": {"voisinage": 2, "travail": 2, "ecole": 2},
         "mixed": {"voisinage": 2, "travail": 1, "ecole": 2}}


# ---------------------------------------------------------------- the pieces (no encoder)
def test_fit_monotone_drops_a_feature_that_would_get_a_negative_weight():
    rng = np.random.default_rng(0)
    y = np.repeat([1, 0, 0], 40)
    good = y * 1.5 + rng.normal(size=len(y))
    bad = -y * 2.0 + rng.normal(size=len(y))         # "more evidence, less theme": a degenerate set
    F = np.column_stack([good, good + rng.normal(size=len(y)), bad, rng.normal(size=len(y))])
    coef, _ = fit_monotone(F, y, 0)
    assert (coef >= 0).all() and coef[2] == 0.0 and coef[0] > 0
    from sklearn.linear_model import LogisticRegression
    assert LogisticRegression(class_weight="balanced").fit(F, y).coef_[0, 2] < 0   # unconstrained: negative


def test_leave_one_out_example_similarity_uses_the_other_examples():
    rng = np.random.default_rng(1)
    unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)     # noqa: E731
    ex = [unit(rng.normal(size=(1, 8))), unit(rng.normal(size=(2, 8))), unit(rng.normal(size=(3, 8)))]
    texts = [["a"], ["b1", "b2"], ["c1", "c2", "c3"]]
    protos = Prototypes(unit(rng.normal(size=(3, 8))), [unit(rng.normal(size=(1, 8)))] * 3, ex, texts,
                        np.zeros((3, 8)), [np.zeros((1, 8))] * 3)
    X = np.vstack([ex[0], ex[1], ex[2]])
    names = ["a", "b1", "b2", "c1", "c2", "c3"]
    S = similarity_features(X, protos, names)[:, 6:]         # the example block, centred
    assert np.isnan(S[0, 0])                                  # a theme's only example: undefined, not -1
    assert not np.isnan(np.delete(S, 0, axis=1)).any() and not np.isnan(S[1:]).any()
    # b1: its own theme's *other* example (b2); the other themes: their two closest examples
    expected = np.array([float(ex[0][0] @ X[1]), float(ex[1][1] @ X[1]), float(np.sort(ex[2] @ X[1])[-2:].mean())])
    np.testing.assert_allclose(S[1], expected - expected.mean(), atol=1e-6)
    # c1: the mean of c2 and c3 (two examples left)
    expected = np.array([float(ex[0][0] @ X[3]), float(np.sort(ex[1] @ X[3])[-2:].mean()),
                         float(np.mean(ex[2][1:] @ X[3]))])
    np.testing.assert_allclose(S[3], expected - expected.mean(), atol=1e-6)
    # the imputed value follows the definition and criteria similarities, and is finite
    F = np.column_stack([np.arange(6.0), np.arange(6.0), 2 * np.arange(6.0) + 1, np.zeros(6)])
    F[3, 2] = np.nan
    np.testing.assert_allclose(impute_example_similarity(F)[3, 2], 7.0)


def test_thresholds_of_themes_with_few_examples_are_the_global_one():
    rng = np.random.default_rng(2)
    Y = np.zeros((12, 3), dtype=int)
    owner = np.array([0] * 6 + [1] * 5 + [2])
    Y[np.arange(12), owner] = 1
    P = np.clip(0.3 + 0.4 * Y + rng.normal(scale=0.1, size=Y.shape), 0, 1)
    P[11, 2] = 0.01                                            # theme 2's only example scores low
    t = calibrated_thresholds(P, Y, np.bincount(owner), 0.5)
    from textmine.themes.zeroshot import best_threshold
    t_glob = best_threshold(P.reshape(-1), Y.reshape(-1))[0]
    assert best_threshold(P[:, 2], Y[:, 2])[0] == 0.05         # its own optimum: the grid floor
    assert t[2] == t_glob > 0.05 and t[0] != t_glob
    # evidence that separates nothing: not a threshold that codes everything
    flat = np.full(Y.shape, 0.4)
    assert (calibrated_thresholds(flat, Y, np.bincount(owner), 0.5) == 0.5).all()


def test_few_examples_warning(tmp_path, capsys):
    cb = load_codebook(write_codebook(tmp_path / "cb.yaml", SIZES["mixed"]))
    note = few_examples_note(cb)
    assert note and f"fewer than {MIN_EXAMPLES} examples" in note
    assert "voisinage (2)" in note and "travail (1)" in note and "add examples" in note
    assert few_examples_note(load_codebook()) is None          # the packaged codebook: 5 or more each
    capsys.readouterr()
    assert main(["themes", "list", "--codebook", str(tmp_path / "cb.yaml")]) == 0
    err = capsys.readouterr().err
    assert "warning: 3 theme(s) with fewer than 3 examples" in " ".join(err.split())
    assert main(["themes", "list"]) == 0
    assert "fewer than" not in capsys.readouterr().err


# ---------------------------------------------------------------- the coders (real encoder)
@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
def test_zero_shot_ranks_the_right_theme_first_with_one_or_two_examples(size, tmp_path):
    cb = load_codebook(write_codebook(tmp_path / "cb.yaml", SIZES[size]))
    zs = ZeroShotThemeClassifier(cb, random_state=0).fit()
    assert (zs.coef_ >= 0).all() and zs.coef_[0] > 0
    assert (zs.thresholds_ > 0.05).all()                       # not the grid floor
    texts = [t for t, _ in CLEAR]
    P, Y = zs.predict_proba(texts), zs.predict(texts)
    for (text, theme), p, y in zip(CLEAR, P, Y):
        assert cb.ids[int(np.argmax(p))] == theme, (text, p)
        assert y[cb.ids.index(theme)] == 1
    assert (Y.sum(axis=1) < len(cb.ids)).all()                 # no text gets every theme
    assert (Y.sum(axis=0) < len(texts)).all()                  # no theme goes to every text


@pytest.mark.slow
def test_supervised_coder_with_few_examples_and_a_rare_theme(tmp_path):
    from textmine.themes.coded import validate_coded
    from textmine.themes.supervised import SupervisedThemeClassifier
    cb = load_codebook(write_codebook(tmp_path / "cb.yaml", SIZES["mixed"]))
    rows = [("a", "mon chef m'a mis de nuit toute la semaine sans me demander", "travail"),
            ("a", "le salaire tombe le dix et le loyer le cinq, chaque mois c'est la course", "travail"),
            ("a", "à la cantine du boulot on parle surtout des primes", "travail"),
            ("b", "la maîtresse de ma fille nous a convoqués pour ses notes en lecture", "ecole"),
            ("b", "il a redoublé son CP, l'école dit qu'il a besoin d'un orthophoniste", "ecole"),
            ("b", "les devoirs du soir c'est la guerre à la maison", "ecole"),
            ("c", "le voisin du dessus a inondé ma salle de bain, on s'est arrangés avec les assurances",
             "voisinage"),
            ("c", "je travaille à la caisse du supermarché depuis dix ans", "travail"),
            ("c", "mon fils entre en sixième au collège du quartier", "ecole"),
            ("d", "j'ai envoyé des CV partout, pas une seule embauche", "travail"),
            ("d", "la réunion parents-profs c'était jeudi, je n'ai pas pu y aller", "ecole"),
            ("d", "ma collègue m'a remplacée quand j'étais malade", "travail"),
            ("e", "on a acheté une nouvelle voiture d'occasion le mois dernier", ""),
            ("e", "mon petit dernier apprend à lire avec la méthode syllabique en classe", "ecole")]
    coded = validate_coded(pd.DataFrame([{"id": f"c{k}", "interview_id": i, "text": t, "themes": th}
                                         for k, (i, t, th) in enumerate(rows)]), cb)
    sup = SupervisedThemeClassifier(cb, random_state=0).fit(coded)
    v = cb.ids.index("voisinage")
    assert not sup.active_[v]                                  # one coded row: the zero-shot coder decides
    assert (sup.thresholds_ > 0.05).all()
    texts = [t for t, _ in CLEAR]
    P, Y = sup.predict_proba(texts), sup.predict(texts)
    assert [cb.ids[int(np.argmax(p))] for p in P] == [th for _, th in CLEAR]
    assert Y[:, v].tolist() == [1, 0, 0]                       # the rare theme is not given to every text


def test_a_saved_model_with_a_negative_zero_shot_weight_is_refused(tmp_path):
    """A model saved by a textmine before this fix (a codebook with 1-2 examples per theme) holds
    the inverted calibration: it is refused with E404 and how to retrain; others still load."""
    from textmine.embed import TEST_ENCODER
    from textmine.errors import TextmineError
    from textmine.themes.coded import validate_coded
    from textmine.themes.model_io import load_coder, save_coder
    from textmine.themes.supervised import SupervisedThemeClassifier

    from helpers_themes import coded_frame
    cb = load_codebook()
    sup = SupervisedThemeClassifier(cb, encoder=TEST_ENCODER, random_state=0).fit(validate_coded(coded_frame(), cb))
    folder = save_coder(sup, tmp_path / "m")
    texts = [t for t, _ in CLEAR]
    np.testing.assert_allclose(load_coder(folder, codebook=cb).predict_proba(texts), sup.predict_proba(texts),
                               atol=1e-10)
    with np.load(folder / "weights.npz") as w:
        state = {k: w[k] for k in w.files}
    state["zs_coef"] = np.array([0.01, 0.02, -0.8, 0.05])     # what the old calibration learned
    with open(folder / "weights.npz", "wb") as fh:
        np.savez(fh, **state)
    with pytest.raises(TextmineError) as ei:
        load_coder(folder, codebook=cb)
    assert ei.value.code == "E404" and "negative weight" in ei.value.detail and "themes train" in ei.value.fix
