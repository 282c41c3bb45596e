"""Codebook loading and validation (no model needed)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from textmine.errors import TextmineError
from textmine.themes.codebook import POSTURE_LABELS, compile_cue, load_codebook, normalise

EXPECTED = {
    "posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale", "financement_renouvellement",
    "demarches_administratives", "france_services", "publics_usagers", "modalites_intervention",
    "pilotage_politique_elus", "formation_recrutement_professionnalisation", "reconnaissance_isolement",
}


def test_packaged_codebook_has_the_study_themes():
    cb = load_codebook()
    assert set(cb.ids) == EXPECTED and len(cb.ids) == 11
    assert cb.posture_theme == "posture_faire_avec_vs_a_la_place"
    post = cb.theme(cb.posture_theme)
    assert set(post.sublabels) == set(POSTURE_LABELS)
    for t in cb.themes:
        assert t.label and t.definition and t.include and t.exclude and len(t.cues) >= 5 and len(t.examples) >= 3
    assert len(cb.hash) == 16 and cb.hash == load_codebook().hash


def test_cues_match_words_and_regex_without_accents():
    assert compile_cue("renouvel").search(normalise("Le RENOUVELLEMENT du poste"))
    assert not compile_cue("cdd").search(normalise("ccdd"))
    assert compile_cue("faire a la place").search(normalise("je ne veux pas faire à la place"))
    assert compile_cue(r"re:\bdans \d+ mois\b").search(normalise("Dans 4 mois, je pars"))
    cb = load_codebook()
    counts = cb.cue_counts(["Mon CDD se termine, je ne sais pas si je serai renouvelée.", "Bonjour."])
    j = cb.ids.index("precarite")
    assert counts[0, j] >= 2 and counts[1, j] == 0


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "cb.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _theme(tid: str, **over) -> dict:
    d = {"id": tid, "label": tid, "definition": "def", "include": ["a"], "exclude": ["b"],
         "cues": ["mot"], "examples": ["un exemple"]}
    d.update(over)
    return d


def test_two_themes_with_one_label_is_e401(tmp_path):
    """Tables, reports and QDA software name themes by their label: two themes labelled alike
    (case and accents aside) could not be told apart, and QualCoder merges their codes."""
    p = _write(tmp_path, {"themes": [_theme("alpha", label="Précarité"), _theme("beta", label="Isolement"),
                                     _theme("gamma", label="precarite ")]})
    with pytest.raises(TextmineError) as ei:
        load_codebook(p)
    e = ei.value
    assert e.code == "E401" and "also the label of theme 'alpha'" in e.detail, e.detail
    assert "gamma" in p.read_text(encoding="utf-8").splitlines()[e.line - 1]       # the third theme's line


def test_duplicate_id_is_e401_with_file_and_line(tmp_path):
    p = _write(tmp_path, {"themes": [_theme("alpha"), _theme("beta"), _theme("alpha")]})
    with pytest.raises(TextmineError) as ei:
        load_codebook(p)
    e = ei.value
    assert e.code == "E401" and e.path == str(p) and "duplicate theme id 'alpha'" in e.detail
    assert "themes[2]" in e.detail and e.line is not None


@pytest.mark.parametrize("theme,needle", [
    # a definition may be left empty while it is written (a drafted codebook), not left out
    ({k: v for k, v in _theme("alpha").items() if k != "definition"}, "missing or empty field 'definition'"),
    (_theme("alpha", examples=[]), "missing or empty field 'examples'"),
    ({k: v for k, v in _theme("alpha").items() if k != "cues"}, "missing or empty field 'cues'"),
    (_theme("alpha", cues=["re:([unclosed"]), "bad regular expression"),
    (_theme("alpha", colour="red"), "unknown key 'colour'"),
    (_theme("Alpha Beta"), "must be lowercase"),
    (_theme("alpha", sublabels={"faire_avec": {"definition": "d", "cues": ["x"]}}), "missing or empty field 'examples'"),
])
def test_invalid_codebooks_are_e401(tmp_path, theme, needle):
    p = _write(tmp_path, {"themes": [theme]})
    with pytest.raises(TextmineError) as ei:
        load_codebook(p)
    assert ei.value.code == "E401" and needle in ei.value.detail and ei.value.path == str(p)


def test_fields_to_write_may_be_empty_and_are_listed(tmp_path):
    """A drafted theme (``themes draft``) loads with its definition and criteria empty."""
    from textmine.themes.codebook import dump_codebook
    data = {"version": 1, "themes": [_theme("alpha", definition="", include=[], exclude=[]), _theme("beta")]}
    p = tmp_path / "draft.yaml"
    p.write_text(dump_codebook(data, "drafted\nfor the test"), encoding="utf-8")
    assert p.read_text(encoding="utf-8").startswith("# drafted\n# for the test\n")
    cb = load_codebook(p)
    assert cb.themes[0].to_write == ["definition", "include", "exclude"] and cb.themes[1].to_write == []


def test_unknown_top_level_key_and_yaml_syntax(tmp_path):
    p = _write(tmp_path, {"themes": [_theme("alpha")], "thmes": []})
    with pytest.raises(TextmineError, match="unknown key 'thmes'"):
        load_codebook(p)
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  - id: a\n    label: [unclosed\n", encoding="utf-8")
    with pytest.raises(TextmineError) as ei:
        load_codebook(bad)
    assert ei.value.code == "E401" and ei.value.line is not None
    with pytest.raises(TextmineError, match="cannot read"):
        load_codebook(tmp_path / "missing.yaml")


def test_hash_changes_with_content(tmp_path):
    a = load_codebook(_write(tmp_path, {"themes": [_theme("alpha")]}))
    b = load_codebook(_write(tmp_path, {"themes": [_theme("alpha", cues=["autre"])]}))
    assert a.hash != b.hash and a.ids == ["alpha"]
    with pytest.raises(TextmineError) as ei:
        a.theme("nope")
    assert ei.value.code == "E403"


@pytest.mark.parametrize("theme,text,matches", [
    # prefix collisions found by listing the words each cue matched (README, codebook caveats)
    ("financement_renouvellement", "Elle prépare sa retraite et fait de la couture avec ses amis.", False),
    ("financement_renouvellement", "Le retrait de l'État, ça coûte cher à la commune.", True),
    ("demarches_administratives", "Je me rends compte qu'on peut améliorer l'accueil.", False),
    ("demarches_administratives", "On a créé son compte sur ameli.", True),
    ("demarches_administratives", "On a pris un café après les courses.", False),
    ("demarches_administratives", "Le dossier CAF est bloqué.", True),
    ("modalites_intervention", "Au cours de la réunion, en cours de route.", False),
    ("modalites_intervention", "Je donne des cours le mardi.", True),
    ("modalites_intervention", "Heureusement, mon poste est stable grâce à la coopération.", False),
    ("modalites_intervention", "L'atelier dure deux heures, je saisis tout dans la Coop.", True),
    ("formation_recrutement_professionnalisation", "C'est une forme de reconnaissance.", False),
    ("formation_recrutement_professionnalisation", "Il faut former les gens.", True),
    ("reconnaissance_isolement", "Un seul poste, il le fait tout seul dans le sens de l'autonomie, à la communauté de communes.", False),
    ("reconnaissance_isolement", "Je me sens seule, personne ne sait ce que je fais.", True),
    ("reconnaissance_isolement", "Les gens savent pas ce que c'est une adresse mail, on peut pas se fier à eux.", False),
    ("reconnaissance_isolement", "À la CAF ils savent pas ce que c'est un conseiller numérique.", True),
])
def test_default_cues_match_their_sense_not_a_longer_word(theme, text, matches):
    cb = load_codebook()
    n = cb.cue_counts([text])[0, cb.ids.index(theme)]
    assert bool(n > 0) == matches, f"{theme} cues on {text!r}: {n}"


@pytest.mark.slow
def test_cue_counts_scan_equals_per_text_search():
    """cue_counts scans all texts at once (str.find / one regex pass); it must give what
    searching each text alone gives, at text edges too (a cue at the very start or end)."""
    import re
    import unicodedata

    import numpy as np
    import pandas as pd
    from conftest import DEMO
    from textmine.themes.codebook import first_matches, first_matches_many, normalise

    cb = load_codebook()
    texts = pd.read_csv(DEMO / "answer_key.csv")["text"].astype(str).tolist()
    texts += ["retraite", "caf", "je fais à leur place", "à leur place je fais", "", "Œuvre ﬁnancement",
              "coût", "ça coûte", "seule", "mon contrat\u2019 ", "e\u0301lue"]
    ref = np.array([[len(first_matches(th.patterns, normalise(t))) for th in cb.themes] for t in texts])
    assert (cb.cue_counts(texts) == ref).all()
    assert ref.sum() > 100
    norms = [normalise(t) for t in texts]
    for th in cb.themes:
        many = first_matches_many(th.patterns, norms)
        for i, norm in enumerate(norms):
            assert [m.span() for m in many.get(i, [])] == [m.span() for m in first_matches(th.patterns, norm)]

    def slow_normalise(text):     # the definition: NFKD, combining marks dropped, folds
        t = unicodedata.normalize("NFKD", text)
        t = "".join(c for c in t if not unicodedata.combining(c)).lower()
        t = t.replace("’", "'").replace("‘", "'").replace("‑", "-").replace("–", "-").replace("œ", "oe")
        return re.sub(r"\s+", " ", t)
    for t in texts + ["½ Ⅳ ㎏ 한국어 Straße İstanbul ǅ ﬃ \u0301a"]:
        assert normalise(t) == slow_normalise(t)
