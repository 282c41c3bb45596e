"""Synthetic project stores for the lexicon tests: planted vocabularies in French sentences.

Three groups of respondent segments each draw their content words from one of three word
lists (digital tools, administrative procedures, funding), plus words shared by every group.
Wave 2023 also says "précarité" more often than wave 2022 (a planted specificity), and the
funding segments come from coordinators and elected officials (a planted modality). Texts are
generated sentences (no interview material); interview metadata as a real project has it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from textmine.records import INTERVIEW_COLUMNS, SEGMENT_COLUMNS
from textmine.store import Store

GROUPS = {
    "outils": ["tablette", "ordinateur", "messagerie", "application", "smartphone", "logiciel", "clavier",
               "écran", "imprimante", "souris", "navigateur", "téléphone"],
    "demarches": ["impôt", "allocation", "formulaire", "préfecture", "retraite", "déclaration", "justificatif",
                  "dossier", "permis", "titre", "caisse", "pension"],
    "financement": ["subvention", "budget", "convention", "financement", "contrat", "recrutement", "salaire",
                    "enveloppe", "dotation", "renouvellement", "employeur", "mission"],
}
SHARED = ["semaine", "matin", "usager", "public", "accueil", "habitant", "équipe", "quartier", "structure", "local"]
TEMPLATES = ["Le {s1}, on parle de la {a} et du {b}, puis de la {c} avec le {s2}.",
             "Pour le {s1}, il y a le {a}, la {b} et aussi le {c}.",
             "Avec le {s1} du {s2}, nous regardons la {a} puis le {b}."]
ROLES = ["conum", "responsable_structure", "coordinateur", "elu"]


def planted_frames(n_per_group: int = 60, seed: int = 0, n_interviews: int = 12):
    """``(interviews, segments, truth)``: ``truth`` is the planted group of each segment."""
    rng = np.random.default_rng(seed)
    waves = ["2022", "2023"]
    itv = []
    for k in range(n_interviews):
        wave = waves[k % 2]
        itv.append({"interview_id": f"I{k:02d}", "source_file": f"/secret/Nom Prenom {k}.docx",
                    "source_pseudo": f"I{k:02d}.docx", "source_hash": f"h{k}", "format": "docx", "encoding": None,
                    "wave": wave, "date": f"{wave}-05-01", "territory": "ABCDE"[k % 5],
                    "structure_type": ["association", "commune", "france_services"][k % 3],
                    "respondent_id": f"R{k:02d}", "role": ROLES[k % 4],
                    "attrs": json.dumps({"milieu": "rural" if k % 2 else "urbain", "nom": f"Secret{k}"}),
                    "attrs_public": json.dumps(["milieu"]),           # the sheet heads it public:milieu
                    "n_turns": 0, "n_words": 0, "ingested_at": "2026-01-01"})
    rows, truth = [], []
    names = list(GROUPS)
    order = rng.permutation(np.repeat(np.arange(len(names)), n_per_group))
    counter = {g: 0 for g in range(len(names))}
    turns: dict[int, int] = {}
    for i, g in enumerate(order):
        # funding talk comes from coordinators and elected officials (a planted modality)
        pool = [j for j in range(n_interviews) if (j % 4 >= 2) == (g == 2)] if n_interviews >= 4 else list(range(n_interviews))
        k = pool[counter[g] % len(pool)]
        counter[g] += 1
        iid = itv[k]["interview_id"]
        words = GROUPS[names[g]]
        sents = []
        for _ in range(3):
            a, b, c = rng.choice(words, 3, replace=False)
            s1, s2 = rng.choice(SHARED, 2, replace=False)
            sents.append(TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(a=a, b=b, c=c, s1=s1, s2=s2))
        if itv[k]["wave"] == "2023" and rng.random() < 0.5:
            sents.append("La précarité des postes inquiète.")
        text = " ".join(sents)
        pseudo = text
        if i % 7 == 0:          # a name, replaced by its placeholder in the pseudonymised text
            text, pseudo = text + " Marie Durand m'a aidée ce matin.", pseudo + " [PERSONNE_1] m'a aidée ce matin."
        turns[k] = turns.get(k, 0) + 1
        turn = 2 * turns[k] - 1
        rows.append({"segment_id": f"{iid}:{turn:04d}:00", "interview_id": iid, "turn_index": turn, "seg_index": 0,
                     "speaker": "Marie Durand", "speaker_pseudo": "CONUM1", "role": itv[k]["role"],
                     "text_raw": text, "text": text, "text_pseudo": pseudo,
                     "n_words": len(text.split()), "start": None, "end": None, "line": turn + 2,
                     "char_start": None, "char_end": None, "prev_question": ""})
        truth.append(int(g))
    segs = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    return pd.DataFrame(itv, columns=INTERVIEW_COLUMNS), segs, np.asarray(truth)


def build_lexicon_store(path: Path, **kw) -> tuple[Store, pd.DataFrame]:
    """A store with the planted segments (+ one interviewer segment per interview) and a frame
    ``segment_id, truth``."""
    interviews, segs, truth = planted_frames(**kw)
    store = Store(path, create=True)
    store.write_frame("interviews", interviews)
    store.write_frame("segments", segs)
    inter = segs.groupby("interview_id").head(1).copy()
    inter["segment_id"] = inter["interview_id"] + ":0000:00"
    inter["turn_index"] = 0
    inter["role"] = "interviewer"
    inter["text_pseudo"] = inter["text"] = "Pouvez-vous me parler de la tablette ?"
    store.write_frame("segments", inter)
    return store, pd.DataFrame({"segment_id": segs["segment_id"], "truth": truth})
