"""Quote banks: representative, diverse, readable quotes per theme x wave x role.

Selection (:func:`select_quotes`), for each group of segments the classifier assigned to a
theme (current theme run), within one wave and one respondent role:

1. relevance = mean of the classifier score and the cosine to the group's embedding
   centroid (both min-max scaled within the group), damped for very short segments;
2. maximal marginal relevance (λ = 0.7) against the quotes already picked, with a penalty
   for a second quote from the same interview, so the quotes are diverse;
3. a readable span (:mod:`textmine.export.span`): whole sentences, ≤ 80 words (the window
   closest to the centroid when the segment is longer), fillers trimmed at the edges.

Each quote carries the study-style attribution ``(Conum, association, territoire D, vague 2)``,
a stable id ``Q-<hash of segment id + sentence span>`` and its source reference.
Text, speaker and source are pseudonymised unless ``reveal``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .. import __version__
from ..attribution import attribution, display_text, role_label, source_ref
from ..diversity import mmr
from ..embed import embed_texts, encoder_key, resolve_encoder
from ..errors import E, TextmineError
from ..records import KNOWN_ROLES, sort_waves
from ..search import filters as F
from ..search.index import passage_matrix
from ..store import Store
from ..themes import codings
from ..themes.codebook import load_codebook
from ..topics.query import current_model_id
from .files import atomic_write
from .quote_model import QUOTE_COLUMNS, provenance_items  # noqa: F401 - QUOTE_COLUMNS: the quote model
from .span import finish, windows
from .writer_docx import write_docx
from .writer_xlsx import write_xlsx
from .writers_md_csv import write_csv, write_md

FORMATS = ("md", "docx", "xlsx", "csv")
LAMBDA = 0.7
SAME_INTERVIEW_PENALTY = 0.15
NEAR_DUPLICATE = 0.97   # cosine above which a candidate repeats a picked quote (skipped while others remain)
MAX_WORDS = 80


def quote_id(segment_id: str, first: int, last: int) -> str:
    return "Q-" + hashlib.sha1(f"{segment_id}:{first}-{last}".encode()).hexdigest()[:8]


def _scale(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.ones_like(x) if hi - lo < 1e-9 else (x - lo) / (hi - lo)


def _codebook(store: Store):
    return load_codebook(store.config.codebook_path())


def build_provenance(store: Store, run_id: str | None = None, codebook=None) -> dict[str, Any]:
    cb = codebook or _codebook(store)
    run_id = run_id or codings.current_run(store, required=False)
    models = codings.run_models(store, run_id) if run_id else None
    model = ", ".join(models) if models is not None else None
    return {"theme_run": run_id, "theme_model": model, "codebook": Path(cb.path).name,
            "codebook_hash": cb.hash, "encoder": encoder_key(resolve_encoder(None, store.config, light=True)),
            "topic_model": current_model_id(store, required=False),
            "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "textmine_version": __version__}


def select_quotes(store: Store, themes: Iterable[str] | None = None, waves: Iterable[str] | None = None,
                  roles: Iterable[str] | None = None, per_group: int = 3, with_question: bool = False,
                  reveal: bool = False, language: str | None = None) -> pd.DataFrame:
    """The quote bank as a DataFrame (``QUOTE_COLUMNS``), grouped theme -> wave -> role."""
    if per_group < 1:
        raise TextmineError(E.E005, detail=f"--per-group {per_group}; valid: a positive integer")
    language = language or store.config.report.language
    cb = _codebook(store)
    labels = {t.id: t.label for t in cb.themes}
    themes = F.check_themes(store, themes, labels)
    roles = F.check_roles(store, roles)
    waves = F.check_waves(store, waves)
    run_id = codings.current_run(store)
    provenance = build_provenance(store, run_id, cb)
    cod = codings.assigned(store, run_id)
    if themes:
        cod = cod[cod["theme"].isin(themes)]
    segs = store.segments_frame(roles=roles if roles else "respondents", waves=waves)
    segs = segs[~segs["role"].isin(["interviewer", "other"])]
    df = cod.merge(segs, on="segment_id", how="inner")
    df = df[df["text"].fillna("").str.strip() != ""]
    out = pd.DataFrame(columns=QUOTE_COLUMNS)
    out.attrs["provenance"] = provenance
    if df.empty:
        return out
    enc = resolve_encoder(None, store.config)
    vec = passage_matrix(store, df["text"].astype(str).tolist(), enc)
    theme_order = {t: i for i, t in enumerate(cb.ids)}
    role_order = {r: i for i, r in enumerate(KNOWN_ROLES)}
    df = df.assign(_t=df["theme"].map(theme_order).fillna(999), _r=df["role"].map(role_order).fillna(999),
                   _w=df["wave"].astype(str), _i=np.arange(len(df)))
    df = df.sort_values(["_t", "_w", "_r", "role", "segment_id"], kind="mergesort")
    rows = []
    for (_, wave, _, role, theme), g in df.groupby(["_t", "_w", "_r", "role", "theme"], sort=False):
        X = vec[g["_i"].to_numpy()]
        centroid = X.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        rep = X @ centroid
        short = np.minimum(1.0, g["n_words"].fillna(0).to_numpy(dtype=float) / 12.0)
        rel = (0.5 * _scale(g["score"].to_numpy(dtype=float)) + 0.5 * _scale(rep)) * short
        picked = mmr(rel, X, per_group, weight=LAMBDA, groups=g["interview_id"].astype(str).tolist(),
                     group_penalty=SAME_INTERVIEW_PENALTY, near_duplicate=NEAR_DUPLICATE)
        for rank, p in enumerate(picked, 1):
            r = g.iloc[p].to_dict()
            span = _best_span(store, display_text(r, reveal), centroid, enc)
            cite = attribution(r, language)
            rows.append({
                "quote_id": quote_id(r["segment_id"], span.first, span.last), "theme": theme,
                "theme_label": labels.get(theme, theme), "wave": wave, "role": role,
                "role_label": role_label(role, language), "rank": rank, "quote": span.text,
                "attribution": cite, "citation": f"« {span.text} » {cite}", "source": source_ref(r, reveal),
                "question": (r.get("prev_question") or "") if with_question else "",
                "territory": r.get("territory"), "structure_type": r.get("structure_type"),
                "interview_id": r["interview_id"], "segment_id": r["segment_id"],
                "speaker": r.get("speaker") if reveal else r.get("speaker_pseudo"),
                "line": r.get("line"), "start": r.get("start"), "score": round(float(r["score"]), 4),
                "representativeness": round(float(rep[p]), 4),
                "posture": r.get("posture") if isinstance(r.get("posture"), str) else "",
                "n_words": span.n_words,
            })
    out = pd.DataFrame(rows, columns=QUOTE_COLUMNS)
    provenance["waves"] = ", ".join(sort_waves({str(w) for w in out["wave"]}))    # the waves it quotes
    out.attrs["provenance"] = provenance
    return out


def _best_span(store: Store, text: str, centroid: np.ndarray, enc):
    cands = windows(text, MAX_WORDS)
    if len(cands) > 1:
        W = embed_texts(store, [c.text for c in cands], enc)      # cached: re-exports are instant
        best = int(np.argmax(W @ centroid))     # argmax: first of equals
        return finish(cands[best])
    return finish(cands[0])


def write_quotes(df: pd.DataFrame, path: str | Path, fmt: str | None = None,
                 provenance: dict[str, Any] | None = None, language: str = "fr", page_size: str = "A4") -> Path:
    """Write a quote bank as md, docx, xlsx or csv (``fmt`` defaults to the file suffix).

    ``page_size`` (``A4`` or ``letter``) is the paper of the DOCX pages and the XLSX print setup."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise TextmineError(E.E604, path=path, detail=f"{fmt!r}; valid: {', '.join(FORMATS)}")
    prov = provenance_items({**df.attrs.get("provenance", {}), **(provenance or {})})
    writer = {"md": write_md, "csv": write_csv, "docx": write_docx, "xlsx": write_xlsx}[fmt]
    return atomic_write(path, lambda tmp: writer(df, tmp, prov, language, page_size))
