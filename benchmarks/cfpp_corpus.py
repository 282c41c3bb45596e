"""CFPP2000 (../shared/corpora/cfpp2000) as a textmine store, for the benchmarks.

Transcripts are parsed with ``textmine.ingest.parse_file``, speakers get roles with
``textmine.roles.assign_roles`` and turns are segmented with
``textmine.segment.segment_interview`` (spaCy sentences grouped into 40-150 words).
Pseudonymisation is skipped (``text_pseudo = text``): the benchmark prints topic words on
the console only. Falls back to plain 60-word windows if the segmenter is unavailable.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CFPP = SHARED / "corpora" / "cfpp2000" / "TextGrid-corpus"
sys.path.insert(0, str(ROOT))


def cfpp_files() -> list[Path]:
    return sorted(CFPP.glob("*.TextGrid")) if CFPP.is_dir() else []


def _windows(iid: str, turns: pd.DataFrame, size: int = 60) -> pd.DataFrame:
    rows = []
    for t in turns.itertuples():
        words = str(t.text).split()
        for k in range(0, max(1, len(words)), size):
            chunk = " ".join(words[k:k + size])
            if len(chunk.split()) >= 3:
                rows.append({"segment_id": f"{iid}:{t.turn_index:04d}:{k // size:02d}", "interview_id": iid,
                             "turn_index": t.turn_index, "seg_index": k // size, "speaker": t.speaker,
                             "role": t.role, "text_raw": chunk, "text": chunk, "n_words": len(chunk.split()),
                             "line": t.line})
    return pd.DataFrame(rows)


def build_store(folder: Path, *, limit_files: int | None = None, log=print):
    """Create (or reopen) a store holding CFPP2000; returns ``(store, method)``."""
    from textmine.config import load_config
    from textmine.ingest import parse_file
    from textmine.roles import assign_roles
    from textmine.store import Store
    store = Store(folder, create=True)
    method = "segment_interview"
    if store.query("SELECT count(*) AS n FROM segments")["n"][0] > 0:
        return store, "cached store"
    cfg = load_config()
    try:
        from textmine.segment import load_nlp, segment_interview
        nlp = load_nlp(cfg.segment.spacy_model)
    except Exception as exc:   # noqa: BLE001 - benchmark fallback, reported
        log(f"segmenter unavailable ({exc}); using 60-word windows")
        segment_interview, nlp, method = None, None, "60-word windows"
    for i, path in enumerate(cfpp_files()[:limit_files]):
        tr = parse_file(path)
        roles = assign_roles(tr, None, cfg.roles)
        iid = "cfpp-" + hashlib.sha1(path.name.encode()).hexdigest()[:8]
        turns = pd.DataFrame([{"interview_id": iid, "turn_index": k, "speaker": t.speaker,
                               "role": roles[t.speaker].role, "text": t.text, "start": t.start, "end": t.end,
                               "line": t.line, "char_start": t.char_start, "char_end": t.char_end,
                               "overlap": t.overlap} for k, t in enumerate(tr.turns)])
        if segment_interview is not None:
            segs = segment_interview(iid, turns, cfg.segment, nlp)
        else:
            segs = _windows(iid, turns)
        segs["text_pseudo"] = segs["text"]
        segs["speaker_pseudo"] = segs["role"]
        speakers = pd.DataFrame([{"interview_id": iid, "speaker": s, "role": d.role, "role_method": d.method,
                                  "role_confidence": d.confidence} for s, d in roles.items()])
        store.replace_interview({"interview_id": iid, "source_file": str(path), "source_pseudo": iid + ".TextGrid",
                                 "source_hash": iid, "format": "textgrid", "wave": "2000",
                                 "n_turns": len(turns)}, speakers, turns, segs)
        log(f"  {i + 1:2d} {iid}: {len(segs)} segments")
    return store, method
