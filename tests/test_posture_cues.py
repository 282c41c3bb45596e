"""Posture sub-label cues: negation, "if" clauses and the before/now frame (no encoder)."""
from __future__ import annotations

import numpy as np
import pytest

from textmine.themes.codebook import load_codebook
from textmine.themes.posture import posture_cue_counts, rule_posture

AVEC, PLACE, MIXTE = 0, 1, 2


@pytest.fixture(scope="module")
def cb():
    return load_codebook()


def counts(cb, text):
    return posture_cue_counts(cb, [text])[0]


def label(cb, text, sim=(0.0, 0.0, 0.0)):
    return rule_posture(np.array([sim], dtype=np.float32), posture_cue_counts(cb, [text]))[0]


def test_present_practice_is_coded_by_its_pole(cb):
    assert label(cb, "La plupart du temps c'est moi qui fais tout, je prends le clavier et je remplis.") == "faire_a_la_place"
    assert label(cb, "C'est la personne qui tape, moi je suis à côté et je leur explique.") == "faire_avec"


def test_negated_place_cue_counts_for_faire_avec(cb):
    c = counts(cb, "Je ne fais jamais à leur place.")
    assert c[AVEC] >= 1 and c[PLACE] == 0


def test_negated_or_hypothetical_avec_cue_is_not_evidence(cb):
    assert counts(cb, "Ils savent pas le faire tout seuls.")[AVEC] == 0
    c = counts(cb, "Je fais à leur place, parce que si je leur explique ils oublient.")
    assert c[AVEC] == 0 and c[PLACE] >= 1


def test_before_now_account_codes_the_current_stance(cb):
    text = ("L'an dernier je faisais tout pour les gens, je prenais le clavier. "
            "Maintenant c'est l'inverse, c'est la personne qui fait et moi j'explique.")
    c = counts(cb, text)
    assert c[PLACE] == 0 and c[AVEC] >= 2
    assert label(cb, text, sim=(0.0, 0.5, 0.0)) == "faire_avec"     # cues win over a similarity lean
    # the reverse move is read the same way
    back = "Avant, je leur montrais et c'est eux qui tapaient. Aujourd'hui je fais à leur place, je n'ai plus le temps."
    assert label(cb, back) == "faire_a_la_place"


def test_past_without_return_to_now_is_not_counted(cb):
    c = counts(cb, "Au départ je faisais tout pour eux, je prenais le clavier.")
    assert c[PLACE] == 0 and c[AVEC] == 0


def test_present_tense_after_a_past_sentence_counts(cb):
    c = counts(cb, "Avant il y avait une file d'attente. Je prends le clavier et je remplis, c'est plus rapide.")
    assert c[PLACE] >= 2


def test_mixte_needs_a_mixte_cue_or_balanced_poles(cb):
    assert label(cb, "Ça dépend des gens, avec certains c'est eux qui tapent, avec d'autres je prends le clavier.") == "mixte"
    assert label(cb, "C'est moi qui fais tout, je prends le clavier, je remplis, mais je leur explique.") == "faire_a_la_place"


def test_pole_cues_are_evidence_for_the_posture_theme(cb):
    j = cb.ids.index(cb.posture_theme)
    assert cb.cue_counts(["Je prends le clavier et je remplis le dossier."])[0, j] >= 2
    mixte_only = cb.cue_counts(["Dans l'urgence on fait comme on peut."])[0, j]
    assert mixte_only == 0
