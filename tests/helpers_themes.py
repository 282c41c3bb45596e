"""Test data for the theme coders: a small hand-written coded set (spoken-style French written
for these tests, not study quotes) and a tiny project store."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_CODED = SHARED / "eval" / "seed_dev_coded.csv"

P, PR, CO, FI, DE, FS, PU, MO, PI, FO = (
    "posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale",
    "financement_renouvellement", "demarches_administratives", "france_services", "publics_usagers",
    "modalites_intervention", "pilotage_politique_elus", "formation_recrutement_professionnalisation")

# (interview, text, themes, posture)
CODED = [
    ("i1", "Je ne tape jamais à leur place, je leur montre et ce sont eux qui manipulent la souris.", [P, MO], "faire_avec"),
    ("i1", "Mon contrat finit en mars et je ne sais toujours pas si je serai reconduite.", [PR], None),
    ("i1", "On se réunit avec les autres conseillers du département pour se répartir les communes.", [CO], None),
    ("i1", "La subvention de l'État baisse, la mairie doit payer le reste du salaire.", [FI], None),
    ("i2", "Les gens viennent surtout pour la CAF et les impôts, ils ne savent pas se connecter.", [DE, PU], None),
    ("i2", "Mon bureau est à côté de l'espace France Services, l'agente m'envoie des personnes.", [FS, CO], None),
    ("i2", "Ce sont surtout des retraités isolés qui ont peur de l'ordinateur.", [PU], None),
    ("i2", "Le mardi je fais un atelier smartphone et le jeudi des rendez-vous individuels.", [MO], None),
    ("i3", "Le maire a décidé de ne pas garder le poste, c'est une décision politique.", [PI, FI], None),
    ("i3", "La formation initiale ne nous a rien appris sur l'accompagnement social.", [FO], None),
    ("i3", "Quand c'est urgent je remplis le dossier pour eux, sinon je leur apprends à le faire.", [P, DE], "mixte"),
    ("i3", "Je suis en CDD, je cherche déjà un autre travail au cas où.", [PR], None),
    ("i4", "Le CCAS et la médiathèque travaillent avec moi, on s'oriente les publics.", [CO], None),
    ("i4", "Sans la bonification en quartier prioritaire on n'aurait pas renouvelé.", [FI], None),
    ("i4", "Je fais la déclaration à sa place, il ne lit pas le français.", [P, DE], "faire_a_la_place"),
    ("i4", "Les jeunes ne viennent pas, ils croient tout savoir avec leur téléphone.", [PU], None),
    ("i5", "Je vais à domicile chez les personnes qui ne peuvent pas se déplacer.", [MO], None),
    ("i5", "Les élus communautaires trancheront en septembre sur la poursuite.", [PI, FI], None),
    ("i5", "J'ai passé la certification mais personne ne connaît ce métier.", [FO], None),
    ("i5", "Mon objectif c'est qu'ils deviennent autonomes sur leur espace personnel.", [P], "faire_avec"),
    ("i6", "Personne ne coordonne sur le territoire, chacun travaille dans son coin.", [CO], None),
    ("i6", "L'agent France Services fait les démarches, moi j'apprends à utiliser l'outil.", [FS, P], "faire_avec"),
    ("i6", "On attend la décision pour le renouvellement, c'est très stressant pour nous.", [PR, FI], None),
    ("i6", "On a recruté quelqu'un du quartier avec un profil plutôt social.", [FO], None),
    ("i7", "Les titres de séjour en préfecture, c'est impossible d'avoir un rendez-vous.", [DE], None),
    ("i7", "La vice-présidente a porté le projet dès le début au conseil.", [PI], None),
    ("i7", "Je fais des cycles de cinq séances sur la sécurité en ligne.", [MO], None),
    ("i7", "Beaucoup de familles du quartier n'ont pas d'ordinateur à la maison.", [PU], None),
]


def coded_frame() -> pd.DataFrame:
    return pd.DataFrame([{"id": f"t{k:02d}", "interview_id": iid, "role": "conum", "text": text,
                          "themes": ";".join(th), "posture": post or ""}
                         for k, (iid, text, th, post) in enumerate(CODED)])


def write_coded(path: Path, rows: pd.DataFrame | None = None) -> Path:
    (rows if rows is not None else coded_frame()).to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


SEGMENTS = {
    "itv-a": [
        ("interviewer", "Comment se passe votre travail avec les usagers ?"),
        ("conum", "Je leur montre les étapes et c'est eux qui cliquent, je ne fais pas à leur place."),
        ("conum", "Les demandes, c'est surtout la CAF, l'actualisation et les impôts en ligne."),
        ("interviewer", "Et votre contrat ?"),
        ("conum", "Mon contrat s'arrête à la fin de l'année, personne ne sait s'il sera renouvelé."),
        ("conum", "euh oui voilà"),
    ],
    "itv-b": [
        ("interviewer", "Vous travaillez avec d'autres structures ?"),
        ("responsable_structure", "Le centre social et la médiathèque nous envoient du monde, on se coordonne."),
        ("responsable_structure", "Le conseil municipal décidera du budget en octobre pour garder le poste."),
        ("responsable_structure", "Il organise des ateliers collectifs le matin et des permanences l'après-midi."),
    ],
}


def build_store(root: Path):
    """A small project store following textmine.records (two interviews)."""
    from textmine.store import Store
    store = Store(root, create=True)
    for iid, turns in SEGMENTS.items():
        interview = {"interview_id": iid, "source_file": f"/data/{iid}.txt", "source_pseudo": f"{iid}.txt",
                     "source_hash": iid, "format": "txt", "encoding": "utf-8", "wave": "1", "date": None,
                     "territory": "A", "structure_type": "commune", "respondent_id": None, "role": None,
                     "attrs": "{}", "n_turns": len(turns), "n_words": 0, "ingested_at": "2024-01-01"}
        spk = pd.DataFrame([{"interview_id": iid, "speaker": r, "role": r, "role_method": "test",
                             "role_confidence": 1.0, "turns": 1, "words": 1, "speaker_pseudo": r}
                            for r in sorted({r for r, _ in turns})])
        trn = pd.DataFrame([{"interview_id": iid, "turn_index": k, "speaker": r, "role": r, "text": t,
                             "line": k + 1, "overlap": False} for k, (r, t) in enumerate(turns)])
        seg = pd.DataFrame([{"segment_id": f"{iid}:{k:04d}:00", "interview_id": iid, "turn_index": k,
                             "seg_index": 0, "speaker": r, "speaker_pseudo": r, "role": r, "text_raw": t,
                             "text": t, "text_pseudo": t.replace("médiathèque", "[LIEU_1]"),
                             "n_words": len(t.split()), "line": k + 1, "prev_question": ""}
                            for k, (r, t) in enumerate(turns)])
        store.replace_interview(interview, spk, trn, seg)
    return store
