"""Synthetic French interview store for the embeddings/topics tests (5 clear themes)."""
from __future__ import annotations

import pandas as pd

from textmine.store import Store

THEMES = {
    "demarches": [
        "Beaucoup de gens viennent pour leurs démarches administratives en ligne, surtout la CAF et les impôts.",
        "Je les aide à créer leur compte sur le site des impôts et à déclarer leurs revenus.",
        "La dématérialisation des services publics a rendu les démarches très difficiles pour certains.",
        "On remplit ensemble le dossier de retraite sur internet parce que le formulaire papier n'existe plus.",
        "Les usagers arrivent avec une convocation de Pôle emploi et ne savent pas se connecter à leur espace.",
        "Pour la carte grise et le permis tout passe par le site de l'ANTS, c'est compliqué.",
        "Je montre comment récupérer un mot de passe oublié pour accéder au compte Ameli.",
        "La prime d'activité se demande en ligne, alors ils viennent me voir à la permanence.",
        "Certaines personnes me confient leurs identifiants pour que je fasse la déclaration à leur place.",
        "Le portail de la CAF change souvent et les allocataires se perdent dans les menus.",
        "On scanne les justificatifs avec le téléphone pour les joindre au dossier administratif.",
        "La prise de rendez-vous en préfecture se fait uniquement sur internet maintenant.",
        "Les démarches pour le logement social demandent de télécharger plusieurs pièces justificatives.",
        "J'accompagne les usagers pour le renouvellement du titre de séjour sur la plateforme en ligne.",
        "Quand le site des impôts plante, la personne repart sans avoir pu faire sa déclaration.",
        "France Connect simplifie un peu la connexion aux différents services administratifs.",
        "Il faut souvent une adresse mail pour commencer une démarche, et beaucoup n'en ont pas.",
        "Je crée des adresses électroniques pour que les gens puissent recevoir leurs documents officiels.",
        "Les courriers de la caisse de retraite renvoient tous vers un espace personnel en ligne.",
        "On a fait la demande d'aide au logement ensemble sur le site, ça a pris une heure.",
    ],
    "formation": [
        "Ma formation de conseiller numérique a duré plusieurs mois avec un organisme agréé.",
        "Pendant la formation on a appris la pédagogie pour adultes et les bases de la médiation.",
        "J'ai passé la certification Pix pour valider mes compétences numériques.",
        "Les modules de formation à distance étaient parfois trop théoriques par rapport au terrain.",
        "On a eu une formation continue sur la cybersécurité et les arnaques en ligne.",
        "Le stage pratique dans la structure m'a permis de mettre en œuvre ce que j'apprenais.",
        "Je me forme encore tout seul avec des tutoriels pour suivre les nouveaux logiciels.",
        "La formation initiale ne préparait pas vraiment à accueillir un public en grande difficulté.",
        "Les formateurs nous ont transmis des méthodes pour évaluer le niveau des apprenants.",
        "J'ai obtenu mon diplôme après l'examen final et la soutenance du projet professionnel.",
        "On demande plus de sessions de formation sur l'accompagnement des personnes handicapées.",
        "Les compétences techniques s'apprennent vite, la posture d'accompagnant prend plus de temps.",
        "Le parcours de formation comprenait des heures en ligne et des journées en présentiel.",
        "Nous avons suivi une formation sur les outils de prise de rendez-vous et d'évaluation.",
        "Avant la formation je n'avais jamais animé un groupe, j'ai beaucoup progressé.",
        "La certification professionnelle reconnaît enfin le métier de médiateur numérique.",
        "Les webinaires du réseau complètent la formation avec des retours d'expérience.",
        "J'aimerais une formation plus poussée sur la protection des données personnelles.",
        "Le tutorat avec un conseiller expérimenté m'a aidé pendant mes premières semaines.",
        "La formation m'a donné des outils pédagogiques que j'utilise dans tous mes ateliers.",
    ],
    "financement": [
        "Le poste est financé par l'État pendant deux ans, après on ne sait pas ce qui se passe.",
        "La subvention couvre une partie du salaire mais la commune doit compléter le reste.",
        "Sans nouveau financement, le contrat du conseiller ne sera pas renouvelé l'an prochain.",
        "Le budget de l'association ne permet pas de pérenniser le poste sur fonds propres.",
        "On cherche des cofinancements auprès du département et de la région pour continuer.",
        "La baisse de l'aide de l'État inquiète beaucoup les structures employeuses.",
        "Le conseil municipal doit voter le maintien du poste dans le budget de l'année prochaine.",
        "Le financement dégressif oblige la structure à trouver d'autres ressources chaque année.",
        "Nous avons monté un dossier de demande de subvention pour prolonger le dispositif.",
        "Les élus hésitent à engager des dépenses de personnel sans garantie de financement.",
        "Le contrat à durée déterminée se termine en décembre et je ne sais pas si je serai prolongé.",
        "La pérennisation des postes dépend des arbitrages budgétaires de la collectivité.",
        "Une partie du coût salarial reste à la charge de l'employeur malgré la subvention.",
        "La communauté de communes a accepté de reprendre le financement du poste.",
        "Les crédits de l'État pour la deuxième période ont été réduits de moitié.",
        "On ne peut pas embaucher en contrat durable avec un financement aussi incertain.",
        "Le directeur financier a calculé ce que coûterait le poste sans aide publique.",
        "Plusieurs structures ont dû rendre le poste faute de budget pour payer le salaire.",
        "Le plan de financement prévoyait une participation des partenaires qui n'est jamais venue.",
        "La question du financement revient à chaque réunion avec la préfecture.",
    ],
    "ateliers": [
        "J'anime des ateliers collectifs sur la tablette pour les seniors chaque mardi matin.",
        "Les retraités apprennent à envoyer des photos à leurs petits-enfants avec le smartphone.",
        "Dans l'atelier on découvre la souris, le clavier et l'allumage de l'ordinateur.",
        "Les personnes âgées aiment venir à l'atelier, c'est aussi un moment de convivialité.",
        "On fait des séances d'initiation à la messagerie et aux appels vidéo en groupe.",
        "Le club des anciens nous prête une salle pour les ateliers d'informatique.",
        "Les participants de l'atelier tablette progressent à leur rythme, séance après séance.",
        "Nous prêtons des tablettes aux seniors pour qu'ils s'entraînent à la maison.",
        "Un atelier sur les réseaux sociaux a attiré beaucoup de grands-parents.",
        "Je prépare des fiches pas à pas pour que les participants révisent entre deux séances.",
        "À l'EHPAD on organise des ateliers numériques avec les résidents.",
        "Les groupes sont petits, six personnes maximum, pour que chacun manipule l'ordinateur.",
        "L'atelier photo sur smartphone est celui qui marche le mieux auprès des aînés.",
        "Les seniors ont peur de casser l'appareil, alors on commence très doucement.",
        "On a créé un cycle de dix ateliers pour apprendre les bases de l'informatique.",
        "Certains retraités reviennent à tous les ateliers depuis plus d'un an.",
        "Le jeudi après-midi c'est l'atelier découverte d'internet à la médiathèque.",
        "Les participants âgés échangent entre eux des astuces pour leur téléphone portable.",
        "J'ai adapté l'atelier avec des gros caractères pour les personnes malvoyantes.",
        "Nous terminons chaque séance collective par un moment de questions libres sur la tablette.",
    ],
    "partenariat": [
        "Nous travaillons en réseau avec la mairie, le CCAS et l'espace France Services.",
        "Le coordinateur départemental réunit tous les partenaires du territoire chaque trimestre.",
        "Les travailleurs sociaux nous orientent les personnes qui ont besoin d'un accompagnement.",
        "La convention de partenariat avec la médiathèque prévoit des permanences communes.",
        "On a construit un annuaire des acteurs locaux pour mieux orienter les habitants.",
        "Le réseau des conseillers du département échange beaucoup sur une messagerie commune.",
        "Les partenaires associatifs et la mission locale se coordonnent pour éviter les doublons.",
        "La préfecture anime le comité de pilotage avec les collectivités et les opérateurs.",
        "Le hub territorial organise des rencontres entre les structures de médiation.",
        "Nous avons signé une charte avec les bailleurs sociaux pour repérer les publics.",
        "Le maillage du territoire rural passe par des permanences dans plusieurs communes.",
        "L'intercommunalité coordonne les interventions des conseillers sur les différents villages.",
        "La coopération avec les assistantes sociales du département fonctionne très bien.",
        "Nous orientons vers l'espace France Services quand la demande dépasse notre rôle.",
        "Les réunions de coordination permettent de connaître l'offre de chaque partenaire.",
        "La gouvernance locale du dispositif associe les élus et les responsables de structures.",
        "On partage un outil de suivi commun avec les autres acteurs du territoire.",
        "Le centre social et la mairie se répartissent les publics selon les quartiers.",
        "Les rencontres départementales du réseau ont renforcé les liens entre structures.",
        "La coordination territoriale manque encore de moyens pour animer tous les partenaires.",
    ],
}

#: interview layout: (interview_id, wave, territory, structure_type, role)
INTERVIEWS = [
    ("itv-a1", "1", "A", "association", "conum"),
    ("itv-a2", "1", "B", "commune", "responsable_structure"),
    ("itv-a3", "1", "C", "france_services", "conum"),
    ("itv-b1", "2", "A", "association", "conum"),
    ("itv-b2", "2", "B", "commune", "elu"),
    ("itv-b3", "2", "C", "intercommunalite", "coordinateur"),
]


def theme_segments() -> list[tuple[str, str]]:
    """(theme, sentence) interleaved across themes, 100 items."""
    out = []
    for i in range(20):
        for theme, sents in THEMES.items():
            out.append((theme, sents[i]))
    return out


def make_store(tmp_path, *, waves: tuple[str, ...] = ("1", "2"), config: str | None = None,
               limit: int | None = None) -> Store:
    """Store with the synthetic interviews; each respondent turn is preceded by an interviewer turn."""
    root = tmp_path / "proj"
    root.mkdir(parents=True, exist_ok=True)
    if config:
        (root / "textmine.yaml").write_text(config, encoding="utf-8")
    store = Store(root, create=True)
    items = theme_segments()[:limit]
    itvs = [i for i in INTERVIEWS if i[1] in waves]
    for k, (iid, wave, terr, stype, role) in enumerate(itvs):
        mine = items[k::len(itvs)]
        segs, turns = [], []
        for j, (_theme, text) in enumerate(mine):
            q_turn, a_turn = 2 * j, 2 * j + 1
            q = "Pouvez-vous me parler de votre travail au quotidien ?"
            turns.append({"interview_id": iid, "turn_index": q_turn, "speaker": "ENQ", "role": "interviewer",
                          "text": q, "line": 2 * j + 1})
            turns.append({"interview_id": iid, "turn_index": a_turn, "speaker": "R", "role": role,
                          "text": text, "line": 2 * j + 2})
            for ti, who, r, t in ((q_turn, "ENQ", "interviewer", q), (a_turn, "R", role, text)):
                segs.append({"segment_id": f"{iid}:{ti:04d}:00", "interview_id": iid, "turn_index": ti,
                             "seg_index": 0, "speaker": who, "speaker_pseudo": "Enquêteur" if r == "interviewer"
                             else "Locuteur 1", "role": r, "text_raw": t, "text": t, "text_pseudo": t,
                             "n_words": len(t.split()), "line": ti + 1, "prev_question": q if r != "interviewer" else ""})
        speakers = pd.DataFrame([
            {"interview_id": iid, "speaker": "ENQ", "role": "interviewer", "role_method": "test",
             "role_confidence": 1.0, "turns": len(mine), "words": 0, "speaker_pseudo": "Enquêteur"},
            {"interview_id": iid, "speaker": "R", "role": role, "role_method": "test", "role_confidence": 1.0,
             "turns": len(mine), "words": 0, "speaker_pseudo": "Locuteur 1"}])
        store.replace_interview(
            {"interview_id": iid, "source_file": f"/secret/{iid}_Dupont.txt", "source_pseudo": f"{iid}.txt",
             "source_hash": iid, "format": "txt", "wave": wave, "territory": terr, "structure_type": stype,
             "role": role, "n_turns": len(turns)}, speakers, pd.DataFrame(turns), pd.DataFrame(segs))
    return store


def theme_of(store) -> dict[str, str]:
    """segment_id -> theme of the synthetic respondent segments."""
    lookup = {s: t for t, s in theme_segments()}
    segs = store.segments_frame(roles="respondents")
    return dict(zip(segs["segment_id"], segs["text"].map(lookup)))


_FITTED: dict = {}


def fitted_project(tmp_path_factory):
    """One synthetic project fitted once per test session (default config: keybert words).

    Returns the project folder (store closed). Tests that modify it must copy it first.
    """
    if "root" not in _FITTED:
        from textmine.topics import fit_topics
        base = tmp_path_factory.mktemp("topics_fitted")
        store = make_store(base)
        try:
            _FITTED["result"] = fit_topics(store)
        finally:
            store.close()
        _FITTED["root"] = base / "proj"
    return _FITTED["root"], _FITTED["result"]

