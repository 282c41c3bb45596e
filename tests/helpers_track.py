"""Synthetic project stores with planted effects, for tracking / report tests and benchmarks.

Planted (per-interview rates drawn around the wave mean, so interviews differ):
- ``precarite`` and ``financement_renouvellement`` rise from wave 1 to wave 2;
- ``coordination_territoriale`` is stable;
- panel Conum (``R01``..``R0k``) move from posture ``faire_a_la_place`` to ``faire_avec``;
- topic 1 vanishes in wave 2, topic 2 appears in wave 2, topic 0 is everywhere.
Texts are generated sentences (no real interview material).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from textmine.records import INTERVIEW_COLUMNS, SEGMENT_COLUMNS
from textmine.store import Store

THEMES = ["modalites_intervention", "publics_usagers", "demarches_administratives", "coordination_territoriale",
          "financement_renouvellement", "france_services", "posture_faire_avec_vs_a_la_place",
          "pilotage_politique_elus", "formation_recrutement_professionnalisation", "precarite",
          "reconnaissance_isolement"]
POSTURE_THEME = "posture_faire_avec_vs_a_la_place"
RATES = {  # (wave 1, wave 2) mean share of segments
    "precarite": (0.05, 0.22), "financement_renouvellement": (0.08, 0.25), "coordination_territoriale": (0.15, 0.15),
}
ROLES = ["conum", "responsable_structure", "coordinateur", "elu"]
TERRITORIES = ["A", "B", "C", "D", "E"]
STRUCTS = ["association", "commune", "intercommunalite", "france_services"]
WORDS = ("accompagnement numérique usagers démarches ateliers structure territoire financement poste "
         "formation mairie association public démarche aide dossier rendez-vous tablette permanence").split()


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, size=n)).capitalize() + "."


def build_frames(n_per_wave: int = 12, segs_per_interview: int = 30, n_panel: int = 6, seed: int = 0,
                 waves: tuple[str, str] = ("2022", "2023")):
    """Interviews, segments, theme_codings and topic_assignments frames."""
    rng = np.random.default_rng(seed)
    itv, segs, codings, topics = [], [], [], []
    for w_i, wave in enumerate(waves):
        for k in range(n_per_wave):
            iid = f"w{w_i + 1}-{k:04d}"
            panel = k < n_panel
            role = "conum" if panel else ROLES[k % len(ROLES)]
            rid = f"R{k:02d}" if panel else f"X{w_i}{k:03d}"
            itv.append({"interview_id": iid, "source_file": f"/secret/Nom Prenom {iid}.txt",
                        "source_pseudo": f"{iid}.txt", "source_hash": iid, "format": "txt", "encoding": "utf-8",
                        "wave": wave, "date": f"{wave}-03-01", "territory": TERRITORIES[k % 5],
                        "structure_type": STRUCTS[k % 4], "respondent_id": rid, "role": role,
                        "attrs": json.dumps({"milieu": "rural" if k % 2 else "urbain"}),
                        "attrs_public": json.dumps(["milieu"]), "n_turns": 0,
                        "n_words": 0, "ingested_at": "2026-01-01"})
            rates = {t: float(np.clip(rng.normal(r[w_i], r[w_i] * 0.3), 0.005, 0.9)) for t, r in RATES.items()}
            for s in range(segs_per_interview):
                sid = f"{iid}:{2 * s + 1:04d}:00"
                n_words = int(rng.integers(20, 120))
                text = _text(rng, 12)
                segs.append({"segment_id": sid, "interview_id": iid, "turn_index": 2 * s + 1, "seg_index": 0,
                             "speaker": "E", "speaker_pseudo": "[ENQUÊTÉ·E]", "role": role, "text_raw": text,
                             "text": text, "text_pseudo": text, "n_words": n_words, "start": None, "end": None,
                             "line": 2 * s + 3, "char_start": None, "char_end": None, "prev_question": ""})
                for t in THEMES:
                    p = rates.get(t, 0.10)
                    score = float(rng.random())
                    assigned = bool(rng.random() < p)
                    posture = None
                    if t == POSTURE_THEME:
                        assigned = bool(rng.random() < 0.3)
                        if assigned:
                            if panel:
                                posture = "faire_a_la_place" if (w_i == 0) == (rng.random() < 0.85) else "faire_avec"
                            else:
                                posture = str(rng.choice(["faire_avec", "mixte", "faire_a_la_place"]))
                    codings.append((sid, t, score if assigned else score * 0.3, assigned, posture))
                tp = 0 if rng.random() < 0.6 else (1 if w_i == 0 else 2)
                topics.append((sid, tp, float(rng.random())))
    interviews = pd.DataFrame(itv, columns=INTERVIEW_COLUMNS)
    segments = pd.DataFrame(segs, columns=SEGMENT_COLUMNS)
    tc = pd.DataFrame(codings, columns=["segment_id", "theme", "score", "assigned", "posture"])
    tc.insert(0, "model_id", "zeroshot-test")
    tc.insert(0, "run_id", "run-test")
    ta = pd.DataFrame(topics, columns=["segment_id", "topic", "similarity"])
    ta["probability"] = np.nan
    ta.insert(0, "model_id", "topics-test")
    return interviews, segments, tc, ta


def build_store(path: Path, *, codings: bool = True, topics: bool = True, **kw) -> Store:
    """A project store filled with :func:`build_frames` (bulk writes, fast even at 50,000 segments)."""
    interviews, segments, tc, ta = build_frames(**kw)
    store = Store(path, create=True)
    store.write_frame("interviews", interviews)
    store.write_frame("segments", segments)
    # one interviewer segment per interview, which tracking must ignore
    inter = segments.groupby("interview_id").head(1).copy()
    inter["segment_id"] = inter["interview_id"] + ":0000:00"
    inter["role"] = "interviewer"
    inter["turn_index"] = 0
    store.write_frame("segments", inter)
    if codings:
        store.write_frame("theme_codings", tc)
        store.set_kv("themes.current_run", {"run_id": "run-test", "model_id": "zeroshot-test"})
    if topics:
        store.write_frame("topic_assignments", ta)
        store.write_frame("topic_info", pd.DataFrame({
            "model_id": "topics-test", "topic": [-1, 0, 1, 2], "count": [0, 0, 0, 0],
            "label": ["outliers", "accompagnement_usagers", "permanences_mairie", "financement_postes"],
            "words": ["", "usagers, ateliers", "mairie, permanence", "financement, poste"]}))
        store.set_kv("topics.current_model", "topics-test")   # as textmine.topics.persist writes it
    return store


def build_answer_key_store(path: Path) -> Store:
    """A store whose segments are the demo corpus's coded passages (corpus/demo/answer_key.csv)
    and whose theme codings are the answer key itself: tracking must find the planted changes
    when the coding is perfect. Metadata comes from the two demo metadata sheets."""
    demo = Path(__file__).resolve().parents[1] / "corpus" / "demo"
    meta = pd.concat([pd.read_csv(demo / "vague1" / "metadata.csv", dtype=str),
                      pd.read_excel(demo / "vague2" / "metadata.xlsx", dtype=str)], ignore_index=True)
    meta.columns = [c.removeprefix("public:") for c in meta.columns]   # declared safe to export
    key = pd.read_csv(demo / "answer_key.csv", dtype=str, keep_default_na=False)
    store = Store(path, create=True)
    extra = ["genre", "anciennete_mois"]
    itv = meta.assign(source_file=meta["file"], source_pseudo=meta["interview_id"] + ".txt",
                      source_hash=meta["interview_id"], format="txt", encoding="utf-8",
                      attrs=[json.dumps({k: r[k] for k in extra if isinstance(r[k], str)}) for _, r in meta.iterrows()],
                      attrs_public=json.dumps(extra),
                      n_turns=0, n_words=0, ingested_at="2026-01-01")
    store.write_frame("interviews", itv.reindex(columns=INTERVIEW_COLUMNS))
    key["seg"] = key.groupby("interview_id").cumcount()
    segs = pd.DataFrame({
        "segment_id": key["interview_id"] + ":" + key["seg"].map(lambda i: f"{i:04d}") + ":00",
        "interview_id": key["interview_id"], "turn_index": key["seg"], "seg_index": 0, "speaker": "R",
        "speaker_pseudo": "[ENQUÊTÉ·E]", "role": key["role"], "text_raw": key["text"], "text": key["text"],
        "text_pseudo": key["text"], "n_words": key["text"].str.split().str.len(), "line": key["seg"] + 1})
    store.write_frame("segments", segs.reindex(columns=SEGMENT_COLUMNS))
    rows = []
    for sid, themes, posture in zip(segs["segment_id"], key["themes"], key["posture"]):
        coded = set(themes.split(";"))
        for t in THEMES:
            rows.append(("key", "answer_key", sid, t, 1.0 if t in coded else 0.0, t in coded,
                         posture if (t == POSTURE_THEME and t in coded and posture) else None))
    store.write_frame("theme_codings", pd.DataFrame(rows, columns=["run_id", "model_id", "segment_id", "theme",
                                                                   "score", "assigned", "posture"]))
    store.set_kv("themes.current_run", {"run_id": "key", "model_id": "answer_key"})
    return store
