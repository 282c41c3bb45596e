"""IRaMuTeQ / Alceste exchange: corpus export of the respondent segments, import of a corpus
as interviews with its starred variables as metadata, the round trip, bad corpora."""
from __future__ import annotations

import json

import pytest

from helpers_lexicon import build_lexicon_store
from textmine.corpus import ingest_paths
from textmine.errors import TextmineError
from textmine.export.iramuteq import iramuteq_corpus
from textmine.ingest.iramuteq import clean_text, is_iramuteq, modality, parse_iramuteq, star_line, variable
from textmine.store import Store

CORPUS = """**** *vague_2023 *role_conum *territoire_A *id_V3-A-01 *milieu_rural
Le matin je tiens la permanence à la médiathèque, les gens viennent pour leurs démarches en ligne.
Souvent ils n'ont pas d'adresse mail, alors on la crée ensemble, pas à pas.
-*financement
Mon contrat se termine en juin et la commune n'a pas encore voté le budget.

**** *vague_2023 *role_elu *territoire_B *id_V3-B-02
Pour nous le poste de conseiller a changé la vie du village, surtout pour les anciens.
Nous voulons le garder même si la subvention baisse.

**** *vague_2022 *role_responsable-structure *territoire_C
E : Comment s'organise l'accueil chez vous ?
R : Nous avons deux créneaux par semaine, le mardi et le jeudi, sans rendez-vous.
E : Et les ateliers collectifs ?
R : Ils ont lieu le vendredi, avec six personnes au plus, sur les tablettes du centre social.
"""


def test_safe_characters():
    assert modality("Responsable structure") == "Responsable-structure"
    assert modality("élu·e / adjoint") == "elu-e-adjoint"
    assert modality("responsable_structure") == "responsable-structure"     # "_" would split the modality
    assert variable("Ancienneté (mois)") == "anciennetemois"
    line = star_line([("vague", "2023"), ("role", "conum"), ("territoire", "A"), ("vide", None), ("vague", "x")])
    assert line == "**** *vague_2023 *role_conum *territoire_A"
    assert clean_text("un *mot\n  sur deux lignes") == "un mot sur deux lignes"


def test_parse_corpus(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text(CORPUS, encoding="utf-8")
    assert is_iramuteq(f)
    texts, enc = parse_iramuteq(f)
    assert enc.startswith("utf") and len(texts) == 3
    assert texts[0].variables[:3] == [("vague", "2023"), ("role", "conum"), ("territoire", "A")]
    assert texts[0].themes == 1 and texts[1].line == 7
    plain = tmp_path / "plain.txt"
    plain.write_text("E : Bonjour\nR : Bonjour\n", encoding="utf-8")
    assert not is_iramuteq(plain)


@pytest.mark.slow
def test_import_corpus_as_interviews(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text(CORPUS, encoding="utf-8-sig")                  # a BOM is accepted
    with Store(tmp_path / "p", create=True) as store:
        rep = ingest_paths(store, [f], wave="2021")
        assert len(rep.added) == 3
        itv = store.interviews_frame().set_index("interview_id")
        assert {"V3-A-01", "V3-B-02"} <= set(itv.index)
        third = [i for i in itv.index if i not in ("V3-A-01", "V3-B-02")][0]
        assert third.startswith("itv-") and third.endswith("-003")           # no *id_: pseudonymous id
        assert itv.loc["V3-A-01", "wave"] == "2023" and itv.loc["V3-A-01", "territory"] == "A"
        assert itv.loc["V3-A-01", "role"] == "conum" and itv.loc["V3-A-01", "format"] == "iramuteq"
        assert json.loads(itv.loc["V3-A-01", "attrs"])["milieu"] == "rural"
        assert itv.loc[third, "role"] == "responsable_structure" and itv.loc[third, "wave"] == "2022"
        seg = store.segments_frame()
        one = seg[seg["interview_id"] == "V3-A-01"]
        assert set(one["role"]) == {"conum"} and one["line"].min() == 2
        assert "financement" not in " ".join(one["text"])                    # -* lines are not speech
        tagged = seg[seg["interview_id"] == third]
        assert set(tagged["role"]) == {"interviewer", "responsable_structure"}   # tagged turns keep the interviewer
        assert "Comment" in " ".join(tagged[tagged["role"] == "interviewer"]["text"])
        # unchanged corpus: nothing re-ingested
        assert len(ingest_paths(store, [f], wave="2021").unchanged) == 3


def test_bad_corpora(tmp_path):
    with Store(tmp_path / "p", create=True) as store:
        bad = tmp_path / "bad.txt"
        bad.write_text("**** *vague_2023 role_conum\nUn texte.\n", encoding="utf-8")
        with pytest.raises(TextmineError) as e:
            ingest_paths(store, [bad])
        assert e.value.code == "E110" and e.value.line == 1 and "role_conum" in str(e.value)
        bad.write_text("**** *role_astronaute\nUn texte.\n", encoding="utf-8")
        with pytest.raises(TextmineError) as e:
            ingest_paths(store, [bad])
        assert e.value.code == "E115" and e.value.line == 1
        bad.write_text("**** *role_conum\n\n**** *role_elu\nUn texte.\n", encoding="utf-8")
        with pytest.raises(TextmineError) as e:
            ingest_paths(store, [bad])
        assert e.value.code == "E102" and e.value.line == 1
        bad.write_text("**** *id_A\nUn.\n**** *id_A\nDeux.\n", encoding="utf-8")
        with pytest.raises(TextmineError) as e:
            ingest_paths(store, [bad])
        assert e.value.code == "E114" and e.value.line == 3
        assert store.interviews_frame().empty                                   # nothing half-stored


def test_export_format(tmp_path):
    store, _ = build_lexicon_store(tmp_path / "p")
    text, n_itv, n_seg = iramuteq_corpus(store)
    lines = text.splitlines()
    stars = [l for l in lines if l.startswith("****")]
    assert len(stars) == n_itv == 12
    assert stars[0] == "**** *vague_2022 *role_conum *territoire_A *structure_association *enquete_R00 *id_I00 *milieu_urbain"
    assert "*role_responsable-structure" in text
    assert "nom" not in text.lower().split("*")[1] and "Secret" not in text          # name-like attributes left out
    assert "Marie Durand" not in text and "[PERSONNE_1]" in text                     # pseudonymised text
    assert not any("*" in l for l in lines if not l.startswith("****"))
    assert "Pouvez-vous" not in text                                                # respondent text only
    revealed, _, _ = iramuteq_corpus(store, reveal=True)
    assert "Marie Durand" in revealed and "*nom_Secret0" in revealed
    store.con.execute("UPDATE interviews SET attrs_public = '[]'")     # a column the sheet did not declare public
    withheld, _, _ = iramuteq_corpus(store)
    assert "*milieu_" not in withheld and "*milieu_urbain" in iramuteq_corpus(store, reveal=True)[0]
    store.close()


@pytest.mark.slow
def test_cli_export_and_round_trip(tmp_path, cli):
    store, _ = build_lexicon_store(tmp_path / "p")
    before = store.segments_frame(roles="respondents")
    itv_before = store.interviews_frame().set_index("interview_id")
    store.close()
    out = tmp_path / "corpus.txt"
    res = cli("--project", tmp_path / "p", "segments", "export", "--format", "iramuteq", "--output", out)
    assert res.exit_code == 0 and "12 interviews" in res.stderr, res
    raw = out.read_bytes()
    assert raw.startswith(b"**** *vague_") and raw.decode("utf-8")             # UTF-8, no byte-order mark
    res = cli("--project", tmp_path / "p", "segments", "export", "--format", "iramuteq", "--all-roles",
              "--output", out)
    assert res.exit_code == 1 and "E005" in res.stderr
    # round trip: the exported corpus ingested into a new project
    res = cli("--project", tmp_path / "q", "ingest", out)
    assert res.exit_code == 0, res
    with Store(tmp_path / "q") as q:
        itv = q.interviews_frame().set_index("interview_id")
        assert sorted(itv.index) == sorted(itv_before.index)
        for col in ("wave", "role", "territory", "structure_type", "respondent_id"):
            assert (itv[col] == itv_before.loc[itv.index, col]).all(), col
        assert json.loads(itv.loc["I01", "attrs"]) == {"milieu": "rural"}
        after = q.segments_frame(roles="respondents")
        for iid in itv.index:
            a = " ".join(before[before["interview_id"] == iid]["text_pseudo"]).split()
            b = " ".join(after[after["interview_id"] == iid]["text_pseudo"]).split()
            assert a == b, iid
