"""Small synthetic French project stores for the search / quotes / REFI-QDA tests.

Four interviews over two waves, three territories, three respondent roles. Real-looking
names are planted in ``text`` / ``speaker`` / ``source_file``; ``text_pseudo`` /
``speaker_pseudo`` / ``source_pseudo`` carry placeholders, so tests can assert that
nothing real leaks without ``--reveal``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from textmine.store import Store

REAL_NAMES = ["Martine Dubreuil", "Kévin Lemoine", "Saint-Aubin-des-Bois", "Odile Ferrand", "Dubreuil"]
REAL_FILES = ["entretien_Martine_Dubreuil.docx", "Kevin_Lemoine_v1.txt", "odile-ferrand.trs", "martine2.docx"]

# (theme, posture, text with real names) — placeholders are substituted for text_pseudo
_SEG = {
    "demarches": ("demarches_administratives", None,
                  "Euh, les usagers viennent surtout pour les démarches administratives : la déclaration "
                  "d'impôts en ligne, le compte Ameli, la CAF. Martine Dubreuil de la mairie nous les envoie."),
    "faire_place": ("posture_faire_avec_vs_a_la_place", "faire_a_la_place",
                    "Bon, quand la personne n'a pas d'adresse mail ni de téléphone, je fais la démarche à sa "
                    "place, je remplis le formulaire moi-même, sinon elle n'aura jamais ses droits."),
    "faire_avec": ("posture_faire_avec_vs_a_la_place", "faire_avec",
                   "J'essaie toujours de faire avec eux : je leur montre comment créer le compte et ils "
                   "tiennent la souris eux-mêmes, pour qu'ils deviennent autonomes. Voilà."),
    "financement": ("financement_renouvellement", None,
                    "Le financement de l'État baisse chaque année, la dégressivité de l'aide nous inquiète "
                    "et on ne sait pas si le poste sera renouvelé à Saint-Aubin-des-Bois."),
    "coordination": ("coordination_territoriale", None,
                     "Avec le coordinateur départemental on organise des réunions entre structures ; le réseau "
                     "des partenaires se construit petit à petit avec Kévin Lemoine du centre social."),
    "precarite": ("precarite", None,
                  "Mon contrat se termine en décembre, c'est un contrat court, donc je cherche déjà un autre "
                  "emploi ailleurs, c'est usant de ne pas savoir."),
    "formation": ("formation_recrutement_professionnalisation", None,
                  "La formation initiale était longue mais utile : j'ai passé le titre professionnel de "
                  "médiateur numérique, et on a appris à accueillir le public."),
    "long": ("modalites_intervention", None,
             "Ben en fait on fait des ateliers collectifs le mardi. On apprend à utiliser une tablette et à "
             "envoyer un courriel. Le jeudi ce sont des permanences individuelles sans rendez-vous où chacun "
             "vient avec sa question du moment. Parfois on se déplace dans les villages avec le bus numérique "
             "pour toucher les personnes âgées isolées. Les ateliers marchent bien quand le groupe est petit. "
             "Avec plus de huit personnes on n'arrive plus à suivre tout le monde correctement et certains "
             "décrochent dès la deuxième séance. On a donc limité les inscriptions à six participants par "
             "atelier depuis la rentrée, euh"),
}
_PSEUDO = {"Martine Dubreuil": "[PERSONNE_1]", "Kévin Lemoine": "[PERSONNE_2]",
           "Saint-Aubin-des-Bois": "[COMMUNE_1]", "Odile Ferrand": "[PERSONNE_3]"}
QUESTIONS = ["Pouvez-vous décrire votre activité ?", "Et comment ça se passe avec les partenaires ?",
             "Qu'en est-il de l'avenir du dispositif ?"]

INTERVIEWS = [
    # iid, wave, territory, structure, role, speaker(real), speaker_pseudo, segments keys, zone
    ("itv-a1", "1", "A", "association", "conum", "Martine Dubreuil", "Conum_1",
     ["demarches", "faire_place", "long", "precarite"], "rural"),
    ("itv-b1", "1", "B", "commune", "responsable_structure", "Kévin Lemoine", "Responsable_1",
     ["financement", "coordination", "faire_avec"], "urbain"),
    ("itv-a2", "2", "A", "association", "conum", "Odile Ferrand", "Conum_2",
     ["faire_avec", "formation", "demarches", "financement"], "rural"),
    ("itv-d2", "2", "D", "intercommunalite", "coordinateur", "Odile Ferrand", "Coordinateur_1",
     ["coordination", "financement", "faire_place"], "urbain"),
]


def pseudo(text: str) -> str:
    for real, ph in _PSEUDO.items():
        text = text.replace(real, ph)
    return text


def _interview(spec, file_name: str):
    iid, wave, terr, struct, role, spk, spk_ps, keys, zone = spec
    turns, segs, codings = [], [], []
    ti = 0
    for k, key in enumerate(keys):
        q = QUESTIONS[k % len(QUESTIONS)]
        for who, text, r, sp, theme in (("Enquêteur", q, "interviewer", "Enquêteur", None),
                                        (spk, _SEG[key][2], role, spk_ps, key)):
            turns.append({"interview_id": iid, "turn_index": ti, "speaker": who, "role": r, "text": text,
                          "start": None, "end": None, "line": ti + 1, "char_start": None, "char_end": None,
                          "overlap": False})
            sid = f"{iid}:{ti:04d}:00"
            segs.append({"segment_id": sid, "interview_id": iid, "turn_index": ti, "seg_index": 0,
                         "speaker": who, "speaker_pseudo": sp, "role": r, "text_raw": text, "text": text,
                         "text_pseudo": pseudo(text), "n_words": len(text.split()), "start": None, "end": None,
                         "line": ti + 1, "char_start": 0, "char_end": len(text),
                         "prev_question": pseudo(q) if theme else ""})
            if theme:
                th, post, _ = _SEG[key]
                codings.append((sid, th, post))
            ti += 1
    interview = {"interview_id": iid, "source_file": f"/data/{file_name}", "source_pseudo": f"{iid}.docx",
                 "source_hash": iid, "format": "docx", "encoding": None, "wave": wave, "date": None,
                 "territory": terr, "structure_type": struct, "respondent_id": spk_ps, "role": role,
                 "attrs": json.dumps({"zone": zone, "nom": spk}), "attrs_public": json.dumps(["zone"]),
                 "n_turns": len(turns),
                 "n_words": sum(len(t["text"].split()) for t in turns), "ingested_at": "2026-01-01T00:00:00"}
    speakers = pd.DataFrame([
        {"interview_id": iid, "speaker": "Enquêteur", "role": "interviewer", "role_method": "test",
         "role_confidence": 1.0, "turns": len(keys), "words": 0, "speaker_pseudo": "Enquêteur"},
        {"interview_id": iid, "speaker": spk, "role": role, "role_method": "test", "role_confidence": 1.0,
         "turns": len(keys), "words": 0, "speaker_pseudo": spk_ps}])
    return interview, speakers, pd.DataFrame(turns), pd.DataFrame(segs), codings


def make_store(root: Path, interviews=INTERVIEWS, *, with_codings: bool = True, run_id: str = "run-1") -> Store:
    store = Store(root, create=True)
    add_interviews(store, interviews, with_codings=with_codings, run_id=run_id)
    return store


def add_interviews(store: Store, interviews, *, with_codings: bool = True, run_id: str = "run-1") -> None:
    from textmine.themes.codebook import load_codebook
    ids = load_codebook(store.config.codebook_path()).ids
    rows = []
    for n, spec in enumerate(interviews):
        interview, speakers, turns, segs, codings = _interview(spec, REAL_FILES[n % len(REAL_FILES)])
        store.replace_interview(interview, speakers, turns, segs)
        for j, (sid, theme, post) in enumerate(codings):
            for t in ids:
                hit = t == theme
                rows.append({"run_id": run_id, "model_id": "zero-shot-test", "segment_id": sid, "theme": t,
                             "score": (0.95 - 0.03 * j) if hit else 0.05, "assigned": hit,
                             "posture": post if hit else None})
    if with_codings and rows:
        store.write_frame("theme_codings", pd.DataFrame(rows))
        store.set_kv("themes.current_run", {"run_id": run_id, "model_id": "zero-shot-test"})


def all_output_text(path: Path) -> str:
    """Every piece of text in an export file (md/csv/docx/xlsx/qdpx), for leak checks."""
    import zipfile
    suffix = path.suffix.lower()
    if suffix in (".md", ".csv"):
        return path.read_text(encoding="utf-8-sig")
    if suffix in (".docx", ".xlsx", ".qdpx"):
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    raise ValueError(path)
