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
    for lab in ["Enquêteur", "Enquêtrice", "E", "Q", "I", "Interviewer", "Intervieweuse", "Sonia B. (ENQ)", "Sonia enq",
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
             ("interlocuteur au téléphone", "je vous rappelle"), ("Voisin", "bonjour")]
    r = roles(interview("Sonia (ENQ)", "Marie", extra))
    assert r["Marie"][0] == r["Paul"][0] == "respondent"
    assert r["Voisin"] == ("other", "marginal")
    assert r["inconnu"][0] == r["tous"][0] == r["interlocuteur au téléphone"][0] == "other"


def test_config_map_wins_exact_and_regex():
    cfg = RolesConfig(map={"marie": "conum", "re:^sonia": "interviewer", "Enquêteur": "other"}, known=list(CFG.known))
    r = roles(interview("Sonia B", "Marie", [("Enquêteur", "bonjour")]), cfg=cfg)
    assert r["Marie"] == ("conum", "config") and r["Sonia B"] == ("interviewer", "config")
    assert r["Enquêteur"] == ("other", "config")


def test_metadata_role_and_interviewer_column():
    meta = InterviewMeta(file="x.txt", interview_id="C1", role="conum", attrs={"interviewer": "Zoé"})
    r = roles(interview("Zoé", "Alice", [("Bob", ANSWERS[1] + " " + ANSWERS[2])]), meta)
    assert r["Zoé"] == ("interviewer", "metadata")
    assert r["Alice"] == ("conum", "metadata")
    assert r["Bob"][0] == "respondent"           # a second substantial voice: plain respondent


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
