"""Role assignment: config map > metadata > label patterns > initials codes > discourse features."""
from __future__ import annotations

from pathlib import Path

from textmine.config import RolesConfig, load_config
from textmine.ingest import parse_file
from textmine.records import InterviewMeta, Transcript, Turn
from textmine.roles import RoleDecision, assign_roles, discourse_scores, speaker_stats

FIX = Path(__file__).resolve().parent / "fixtures" / "formats"
CFG = load_config().roles

QUESTIONS = ["et vous habitez ici depuis quand", "qu'est-ce qui vous a amené à ce poste", "d'accord et comment ça se passe",
             "est-ce que vous travaillez seule", "pourquoi", "vous pensez que ça va durer"]
ANSWERS = ["alors moi je suis arrivée en deux mille dix-neuf après un long parcours dans le social et je ne regrette pas",
           "ben j'ai vu l'annonce et je me suis dit que c'était pour moi parce que j'aimais déjà aider les gens au quotidien",
           "plutôt bien même si mon planning est très chargé et que je fais beaucoup de route entre les communes du secteur",
           "non on est deux sur le territoire avec ma collègue et on se voit chaque semaine pour organiser les ateliers",
           "parce que les gens ont besoin de moi et que je le vois tous les jours dans mes permanences à la mairie",
           "je crois oui mais le financement reste ma principale inquiétude pour les années qui viennent honnêtement"]


def interview(a: str, b: str, extra: list[tuple[str, str]] = ()) -> Transcript:
    turns = []
    for q, r in zip(QUESTIONS, ANSWERS):
        turns += [Turn(a, q), Turn(b, r)]
    turns += [Turn(s, t) for s, t in extra]
    return Transcript("x.txt", "txt", "utf-8", turns)


def roles(tr, meta=None, cfg=CFG) -> dict[str, tuple[str, str]]:
    return {k: (v.role, v.method) for k, v in assign_roles(tr, meta, cfg).items()}


def test_decision_type():
    d = assign_roles(interview("Enquêteur", "Marie"), None, CFG)["Enquêteur"]
    assert isinstance(d, RoleDecision) and d.role == "interviewer" and 0 < d.confidence <= 1


def test_label_patterns():
    for lab in ["Enquêteur", "Enquêtrice", "E", "Q", "I", "Interviewer", "Intervieweuse", "Odile M. (ENQ)", "Odile enq",
                "Claire (Enq.)"]:
        r = roles(interview(lab, "Marie Dupont"))
        assert r[lab] == ("interviewer", "label-pattern"), lab
        assert r["Marie Dupont"][0] == "respondent"
    # "Enquêté(e)" and R are respondents, not interviewers
    assert roles(interview("Q", "R"))["R"][0] == "respondent"
    assert roles(interview("Enquêteur", "Enquêtée"))["Enquêtée"][0] == "respondent"


def test_initials_codes_eslo_style():
    r = roles(interview("JR", "DE744", [("002INC", "oui oui"), ("DE744FEM", "il est là " * 40)]))
    assert r["JR"] == ("interviewer", "initials-code")
    assert r["DE744"][0] == "respondent"
    assert r["002INC"][0] == "other" and r["DE744FEM"][0] == "other"
    # initials without respondent codes next to them are not taken for interviewers by pattern
    r = roles(interview("ANA", "LEO"))
    assert r["ANA"] == ("interviewer", "discourse-features")


def test_discourse_features_find_the_interviewer_whatever_the_order():
    for a, b in [("Florence", "Dominique"), ("Zoé", "Alice")]:
        r = roles(interview(a, b))
        assert r[a][0] == "interviewer" and r[a][1] == "discourse-features" and r[b][0] == "respondent"
    # the respondent speaking first does not fool it
    tr = interview("S1", "S2")
    tr.turns.insert(0, Turn("S2", ANSWERS[0]))
    assert roles(tr)["S1"][0] == "interviewer"
    st = speaker_stats(tr)
    sc = discourse_scores(st, ["S1", "S2"])
    assert sc["S1"] > sc["S2"]


def test_marginal_and_multi_respondents():
    extra = [("Paul", ANSWERS[2]), ("Paul", ANSWERS[3]), ("Paul", ANSWERS[4]), ("inconnu", "allô"), ("tous", "oui"),
             ("interlocuteur au téléphone", "je vous rappelle"), ("Voisin", "bonjour"), ("Lucien", "bonjour")]
    r = roles(interview("Odile (ENQ)", "Marie", extra))
    assert r["Marie"][0] == r["Paul"][0] == "respondent"
    assert r["Lucien"] == ("other", "marginal")
    assert r["Voisin"] == ("other", "label-pattern")
    assert r["inconnu"][0] == r["tous"][0] == r["interlocuteur au téléphone"][0] == "other"


def test_config_map_wins_exact_and_regex():
    cfg = RolesConfig(map={"marie": "conum", "re:^odile": "interviewer", "Enquêteur": "other"}, known=list(CFG.known))
    r = roles(interview("Odile M", "Marie", [("Enquêteur", "bonjour")]), cfg=cfg)
    assert r["Marie"] == ("conum", "config") and r["Odile M"] == ("interviewer", "config")
    assert r["Enquêteur"] == ("other", "config")


def test_metadata_role_and_interviewer_column():
    meta = InterviewMeta(file="x.txt", interview_id="C1", role="conum", attrs={"interviewer": "Zoé"})
    r = roles(interview("Zoé", "Alice", [("Bob", ANSWERS[1] + " " + ANSWERS[2])]), meta)
    assert r["Zoé"] == ("interviewer", "metadata")
    assert r["Alice"] == ("conum", "metadata")
    # every other interviewee takes the interview's role (issue 19: co-interviewees, relatives)
    assert r["Bob"] == ("conum", "metadata")


def test_role_named_in_label():
    tr = parse_file(FIX / "entretien_parentheses.txt")
    r = roles(tr)
    assert r["Enquêteur"][0] == "interviewer"
    assert r["Marie (conum)"] == ("conum", "label-pattern")
    assert r["Paul (responsable_structure)"] == ("responsable_structure", "label-pattern")  # wins over size
    tr = parse_file(FIX / "entretien_markdown.md")
    assert roles(tr)["Responsable"] == ("responsable_structure", "label-pattern")


def test_fixture_files_roles():
    assert roles(parse_file(FIX / "entretien_qr.txt")) == {"Q": ("interviewer", "label-pattern"),
                                                          "R": ("respondent", "label-pattern")}
    r = roles(parse_file(FIX / "entretien_latin1.trs"))
    assert r["AB"] == ("interviewer", "initials-code") and r["CN412"][0] == "respondent" and r["412INC"][0] == "other"
    r = roles(parse_file(FIX / "entretien_long.TextGrid"))
    assert r["Claire Martin (Enq.)"][0] == "interviewer" and r["Lucien"][0] == "respondent"


def test_single_speaker_and_determinism():
    tr = Transcript("x.txt", "txt", None, [Turn("Marie", ANSWERS[0]), Turn("Marie", ANSWERS[1])])
    assert roles(tr) == {"Marie": ("respondent", "default")}
    tr = interview("A", "B")
    assert assign_roles(tr, None, CFG) == assign_roles(tr, None, CFG)


# ------------------------------------------------------------------ issue 19: no interviewer, several interviewees
PROPOSAL = ("je propose que les données publiques des collectivités soient ouvertes par défaut dans un format "
            "réutilisable, avec une licence claire, parce que les citoyens financent leur production ")
ARGUMENTS = ["cela coûterait cher aux petites communes qui n'ont pas de service informatique ni de budget pour ça",
             "l'ouverture permet aux associations de vérifier les dépenses et de proposer des services utiles",
             "il faut protéger les données personnelles avant tout, sinon on expose des habitants identifiables",
             "les entreprises locales pourraient créer des applications de transport ou de tourisme avec ces données"]


def consultation(labels=("Auteur", "Pour", "Contre")) -> Transcript:
    """A proposal and its arguments for and against, as a consultation converted to CSV gives them."""
    turns = [Turn(labels[0], PROPOSAL * 2)]
    for i, a in enumerate(ARGUMENTS * 2):
        turns.append(Turn(labels[1 + i % 2], a))
    return Transcript("p.csv", "csv", "utf-8", turns)


def test_no_interviewer_when_the_evidence_is_too_thin():
    r = assign_roles(consultation(), None, CFG)
    assert {d.role for d in r.values()} == {"respondent"}, r          # nobody invented as interviewer
    assert {d.method for d in r.values()} == {"no-interviewer"}
    ev = r["Pour"].evidence
    assert ev.startswith("no speaker looks like an interviewer") and "turns" in ev and "words" in ev
    # a real interview keeps its interviewer found by discourse features, with the figures behind it
    d = assign_roles(interview("S1", "S2"), None, CFG)["S1"]
    assert (d.role, d.method) == ("interviewer", "discourse-features") and "questions in" in d.evidence


def test_interviewer_setting_none_labels_and_per_file_override():
    none = RolesConfig(known=list(CFG.known), interviewer="none")
    r = roles(interview("Enquêteur", "Marie"), cfg=none)
    assert r == {"Enquêteur": ("respondent", "no-interviewer"), "Marie": ("respondent", "no-interviewer")}
    named = RolesConfig(known=list(CFG.known), interviewer="Animatrice; Modératrice")
    r = roles(consultation(("Animatrice", "Pour", "Contre")), cfg=named)
    assert r["Animatrice"] == ("interviewer", "config") and r["Pour"][0] == "respondent"
    # the metadata sheet's interviewer column wins over the setting, per file
    meta = InterviewMeta(file="p.csv", interview_id="P1", attrs={"interviewer": "none"})
    r = roles(interview("Enquêteur", "Marie"), meta)
    assert r["Enquêteur"] == ("respondent", "no-interviewer")
    meta = InterviewMeta(file="p.csv", interview_id="P1", attrs={"interviewer": "auto"})
    assert roles(interview("Enquêteur", "Marie"), meta, cfg=none)["Enquêteur"] == ("interviewer", "label-pattern")


def test_every_interviewee_gets_the_interviews_role():
    """Co-interviewees and a relative with a name label take the metadata role; labelled other
    voices stay other; the speakers sheet gives a speaker another role."""
    from textmine.records import SpeakerMeta
    extra = [("Armand", ANSWERS[1]), ("Armand", ANSWERS[2]), ("Félicie", "oui c'est vrai"), ("tous", "oui")]
    meta = InterviewMeta(file="x.txt", interview_id="F1", role="usager")
    r = roles(interview("Enquêtrice", "Odile", extra), meta)
    assert r["Odile"] == r["Armand"] == r["Félicie"] == ("usager", "metadata")
    assert r["tous"][0] == "other" and r["Enquêtrice"][0] == "interviewer"
    meta.speakers = [SpeakerMeta("x.txt", "Félicie", "other", None, "speakers.csv", 4),
                     SpeakerMeta("x.txt", "armand", "elu", "E7", "speakers.csv", 3)]
    d = assign_roles(interview("Enquêtrice", "Odile", extra), meta, CFG)
    assert (d["Félicie"].role, d["Armand"].role, d["Odile"].role) == ("other", "elu", "usager")
    assert d["Armand"].evidence == "speakers sheet (speakers.csv line 3)"
    # without a metadata role, a marginal named voice is still set aside
    assert roles(interview("Enquêtrice", "Odile", extra))["Félicie"] == ("other", "marginal")
