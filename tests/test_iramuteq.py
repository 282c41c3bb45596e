"""IRaMuTeQ / Alceste exchange: corpus export of the respondent segments, import of a corpus
as interviews with its starred variables as metadata, the round trip, bad corpora."""
from __future__ import annotations

import json

import pytest

from helpers_lexicon import build_lexicon_store
from textmine.corpus import ingest_paths
from textmine.errors import TextmineError
from textmine.export.iramuteq import iramuteq_corpus
from textmine.ingest.iramuteq import (clean_text, group_texts, is_iramuteq, modality, parse_iramuteq, star_line,
                                      text_metadata, text_transcript, variable)
from textmine.store import Store, public_attrs

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
    assert stars[0] == ("**** *vague_2022 *date_2022-05-01 *role_conum *territoire_A *structure_association "
                        "*enquete_R00 *id_I00 *milieu_urbain")
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
    assert res.exit_code == 1 and "E005" in res.stderr and "Leave out --all-roles" in res.stderr
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


# ---- what round-trips: dates, several interviewees with their own roles and ids, public attributes
SHEET = ("file,interview_id,wave,date,territory,structure_type,respondent_id,role,nom,public:genre\n"
         "solo.txt,S01,2023,2023-05-12,A,association,P03,conum,Ferrand,F\n"
         "duo.txt,D07,2023,2023-06-02,B,commune,P07,usager,Marchand,H\n")
SPEAKERS = ("file,speaker,role,respondent_id\n"
            "duo.txt,Paul Marchand,conum,P07a\n"
            "duo.txt,Lucie Bernard,responsable_structure,P07b\n")
SOLO = ("Enquêtrice : Comment se passent les permanences à la médiathèque ?\n"
        "Nadia Ferrand : Plutôt bien. Le mardi matin les gens arrivent avec leurs papiers de la caisse de retraite.\n"
        "Enquêtrice : Et les ateliers ?\n"
        "Nadia Ferrand : Les ateliers du jeudi sont complets. Nous apprenons à envoyer un courriel avec une pièce jointe.\n")
DUO = ("Enquêteur : Vous pouvez me raconter comment le poste a été créé ?\n"
       "Paul Marchand : Au début je faisais surtout de l'accompagnement individuel sur les démarches en ligne.\n"
       "Paul Marchand : Ensuite la mairie a voulu des ateliers collectifs pour les personnes âgées.\n"
       "Lucie Bernard : Oui, et nous avons dû trouver une salle et des tablettes pour ces ateliers.\n"
       "Enquêteur : Et le financement ?\n"
       "Lucie Bernard : La subvention couvre deux ans. Après, personne ne sait ce qui se passera.\n"
       "Paul Marchand : Moi je voudrais rester, avec Lucie Bernard on connaît bien les habitants du quartier.\n")
REAL_NAMES = ("Nadia", "Ferrand", "Paul", "Marchand", "Lucie", "Bernard")


def _by_speaker(seg):
    """Per interview and (role, respondent id): the pseudonymised words, in order."""
    seg = seg.sort_values(["interview_id", "turn_index", "seg_index"])
    return {key: " ".join(g["text_pseudo"]).split()
            for key, g in seg.groupby(["interview_id", "role", "respondent_id"], sort=True)}


@pytest.mark.slow
def test_round_trip_dates_speakers_and_public_attributes(tmp_path, cli):
    d = tmp_path / "vague"
    d.mkdir()
    (d / "solo.txt").write_text(SOLO, encoding="utf-8")
    (d / "duo.txt").write_text(DUO, encoding="utf-8")
    (d / "metadata.csv").write_text(SHEET, encoding="utf-8")
    (d / "speakers.csv").write_text(SPEAKERS, encoding="utf-8")
    with Store(tmp_path / "p", create=True) as store:
        ingest_paths(store, [d], metadata=d / "metadata.csv", speakers=d / "speakers.csv")
        before = store.segments_frame(roles="respondents")
        itv_before = store.interviews_frame().set_index("interview_id")
    duo = before[before["interview_id"] == "D07"]
    assert set(zip(duo["role"], duo["respondent_id"])) == {("conum", "P07a"), ("responsable_structure", "P07b")}
    out = tmp_path / "rt.txt"
    res = cli("--project", tmp_path / "p", "segments", "export", "--format", "iramuteq", "--output", out)
    assert res.exit_code == 0, res
    text = out.read_text(encoding="utf-8")
    stars = [l for l in text.splitlines() if l.startswith("****")]
    assert stars[0].startswith("**** *vague_2023 *date_2023-06-02 *role_conum *territoire_B *structure_commune "
                               "*enquete_P07a *locuteur_CONUM1 *id_D07")
    assert "*role_usager" not in text and "*enquete_P07 " not in text      # no speaker has the nominal ones
    assert len(stars) == 4 and "*genre_H" in stars[0] and "*nom_" not in text
    assert not any(name in text for name in REAL_NAMES), text              # pseudonymised, labels included
    assert "avec [PERSONNE_" in text
    with Store(tmp_path / "p") as store:
        revealed = iramuteq_corpus(store, reveal=True)[0]
    assert "avec Lucie Bernard" in revealed                                  # --reveal: the real text...
    assert [l.split("*locuteur_")[1].split()[0] for l in revealed.splitlines() if "*locuteur_" in l] == \
        ["CONUM1", "RESP1", "CONUM1"]                                      # ...but pseudonymous speakers
    # the corpus ingested into a new project gives back the same interviews, speakers and text
    res = cli("--project", tmp_path / "q", "ingest", out)
    assert res.exit_code == 0, res
    with Store(tmp_path / "q") as q:
        itv = q.interviews_frame().set_index("interview_id")
        after = q.segments_frame(roles="respondents")
        assert sorted(ingest_paths(q, [out]).unchanged) == ["D07", "S01"]      # read again: nothing changed
    assert sorted(itv.index) == ["D07", "S01"]
    for col in ("wave", "date", "territory", "structure_type"):
        assert (itv[col] == itv_before.loc[itv.index, col]).all(), col
    assert itv.loc["S01", "role"] == "conum" and itv.loc["S01", "respondent_id"] == "P03"
    assert _by_speaker(after) == _by_speaker(before)
    for iid in itv.index:               # the same words in the same order, speakers interleaved as before
        a = " ".join(before[before["interview_id"] == iid].sort_values(["turn_index", "seg_index"])["text_pseudo"])
        b = " ".join(after[after["interview_id"] == iid].sort_values(["turn_index", "seg_index"])["text_pseudo"])
        assert a.split() == b.split(), iid
    for iid in itv.index:               # the public attribute stays public, the withheld one stays out
        assert public_attrs(itv.loc[iid, "attrs"], itv.loc[iid, "attrs_public"]) == \
            public_attrs(itv_before.loc[iid, "attrs"], itv_before.loc[iid, "attrs_public"])
    assert json.loads(itv.loc["D07", "attrs"]) == {"genre": "H"}
    res = cli("--project", tmp_path / "q", "segments", "export", "--format", "iramuteq", "--output", tmp_path / "rt2.txt")
    assert res.exit_code == 0 and (tmp_path / "rt2.txt").read_text(encoding="utf-8") == text   # a fixed point


def test_import_speaker_texts_as_one_interview(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text("**** *vague_2023 *role_conum *enquete_P1a *locuteur_CONUM1 *id_X1 *genre_F *nom_Dupont\n"
                 "Je tiens la permanence du lundi.\n"
                 "**** *vague_2023 *role_elu *enquete_P1b *locuteur_ELU1 *id_X1 *genre_F *nom_Dupont\n"
                 "Moi : je signe la convention avec la préfecture.\n"
                 "**** *vague_2023 *role_conum *enquete_P1a *locuteur_CONUM1 *id_X1 *genre_F *nom_Dupont\n"
                 "Et le mardi je vais au village voisin.\n"
                 "**** *vague_2022 *role_usager *id_X2 *genre_H\n"
                 "Je viens pour ma carte grise.\n", encoding="utf-8")
    texts, enc = parse_iramuteq(f)
    groups = group_texts(texts)
    assert [[t.line for t in g] for g in groups] == [[1, 3, 5], [7]]
    meta = text_metadata(f, groups[0], known_roles=["conum", "elu", "usager"])
    assert meta.interview_id == "X1" and meta.role is None and meta.respondent_id is None   # speakers differ
    assert [(s.speaker, s.role, s.respondent_id, s.sheet_line) for s in meta.speakers] == \
        [("CONUM1", "conum", "P1a", 1), ("ELU1", "elu", "P1b", 3)]
    assert meta.attrs == {"genre": "F", "nom": "Dupont"} and meta.public == ["genre"]   # a name stays withheld
    tr = text_transcript(f, groups[0], enc)
    assert [(t.speaker, t.line) for t in tr.turns] == [("CONUM1", 2), ("ELU1", 4), ("CONUM1", 6)]
    assert tr.turns[1].text.startswith("Moi :")                 # a text of one speaker is never split on tags
    solo = text_metadata(f, groups[1], known_roles=["usager"])
    assert solo.role == "usager" and solo.speakers == [] and solo.public == ["genre"]
    # the texts of one interview must agree on its interview variables, a speaker on its role
    f.write_text("**** *vague_2023 *locuteur_A *id_X1\nUn.\n**** *vague_2024 *locuteur_B *id_X1\nDeux.\n",
                 encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        text_metadata(f, group_texts(parse_iramuteq(f)[0])[0], known_roles=[])
    assert e.value.code == "E110" and e.value.line == 3 and "wave" in str(e.value)
    f.write_text("**** *role_conum *locuteur_A *id_X1\nUn.\n**** *role_elu *locuteur_A *id_X1\nDeux.\n",
                 encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        text_metadata(f, group_texts(parse_iramuteq(f)[0])[0], known_roles=["conum", "elu"])
    assert e.value.code == "E110" and e.value.line == 3


def test_bad_star_lines_name_file_and_line(tmp_path, cli):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a.txt").write_text("**** *vague_2023 *role_conum\nUn texte.\n**** *vague_2023 role_elu\nDeux.\n",
                             encoding="utf-8")
    (d / "b.txt").write_text("**** *vague_2023 *role_conum\nUn texte.\n\n**** *id_B *genre F\nTrois.\n",
                             encoding="utf-8")
    res = cli("--project", tmp_path / "p", "ingest", d / "a.txt")
    assert res.exit_code == 1 and f"[E110] {d / 'a.txt'}:3:" in res.stderr + res.stdout, res
    res = cli("--project", tmp_path / "p", "ingest", d)
    out = res.stderr + res.stdout
    assert res.exit_code == 1 and "[E117]" in out, res
    listed = [l.strip() for l in out.splitlines() if "[E110]" in l]
    assert len(listed) == 2, out                                    # one line per bad file
    assert listed[0].startswith(f"{d / 'a.txt'}:3: [E110]") and "'role_elu'" in listed[0]
    assert listed[1].startswith(f"{d / 'b.txt'}:4: [E110]") and "'F'" in listed[1]
