"""Coded data: human codings (read from a file by :func:`textmine.export.coded.read_coded`)
validated against the codebook, as label matrices, groups and hashes.

The returned frame has ``id, text, themes`` (a list of theme ids), ``posture`` (None or a
sub-label), ``line`` (1-based line of the row in the file) and every other column of the
file as an attribute (``role``, ``section``, ``interview_id`` ...).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from .codebook import POSTURE_LABELS, Codebook


def split_themes(value: str | None) -> list[str]:
    if value is None:
        return []
    return [t.strip() for t in str(value).replace(",", ";").replace("|", ";").split(";") if t.strip()]


def validate_coded(df: pd.DataFrame, codebook: Codebook, *, path: str | Path | None = None,
                   text: bool = True) -> pd.DataFrame:
    """Normalise a coded frame (themes as lists, posture None/sub-label) and check it; ``text=False``
    accepts rows without text (codes matched by id to units another frame holds)."""
    df = df.copy()
    if "line" not in df.columns:
        df["line"] = np.arange(len(df)) + 2
    first: dict[str, int] = {}
    for rid, line in zip(df["id"].astype(str), df["line"]):
        if rid in first:
            raise TextmineError(E.E402, path=path, line=int(line),
                                detail=f"id {rid!r} is on lines {first[rid]} and {int(line)}",
                                fix="Give every coded row its own id (merge the two codings into one row).")
        first[rid] = int(line)
    known = set(codebook.ids)
    themes_col, posture_col = [], []
    for row in df.itertuples(index=False):
        line = int(getattr(row, "line"))
        t = getattr(row, "text")
        if text and (t is None or (isinstance(t, float) and np.isnan(t)) or not str(t).strip()):
            raise TextmineError(E.E402, path=path, line=line,
                                detail=f"empty text for id {getattr(row, 'id')!r}")
        raw = getattr(row, "themes")
        ths = raw if isinstance(raw, list) else split_themes(None if raw is None or (isinstance(raw, float) and np.isnan(raw)) else raw)
        for t in ths:
            if t not in known:
                raise TextmineError(E.E402, path=path, line=line,
                                    detail=f"unknown theme id {t!r} (codebook: {', '.join(codebook.ids)})")
        themes_col.append(list(dict.fromkeys(ths)))
        p = getattr(row, "posture", None) if "posture" in df.columns else None
        p = None if p is None or (isinstance(p, float) and np.isnan(p)) or not str(p).strip() else str(p).strip()
        if p is not None and p not in POSTURE_LABELS:
            raise TextmineError(E.E402, path=path, line=line,
                                detail=f"unknown posture {p!r} (use {', '.join(POSTURE_LABELS)} or leave empty)")
        posture_col.append(p)
    df["themes"] = pd.Series(themes_col, dtype=object, index=df.index)
    df["posture"] = pd.Series(posture_col, dtype=object, index=df.index)   # None, not NaN (pandas 3 str dtype)
    df["id"] = df["id"].astype(str)
    df["text"] = df["text"].fillna("").astype(str)
    return df.reset_index(drop=True)


def label_matrix(df: pd.DataFrame, codebook: Codebook) -> np.ndarray:
    """``(n, n_themes)`` 0/1 matrix of the coded themes, in codebook order."""
    idx = {t: j for j, t in enumerate(codebook.ids)}
    Y = np.zeros((len(df), len(idx)), dtype=np.int8)
    for i, ths in enumerate(df["themes"]):
        for t in ths:
            Y[i, idx[t]] = 1
    return Y


def single_class_themes(Y: np.ndarray, ids: list[str]) -> list[str]:
    """Themes coded in every row or in none: a supervised coder learns nothing about them
    (they keep the zero-shot coder's decision)."""
    n = len(Y)
    return [t for j, t in enumerate(ids) if int(Y[:, j].sum()) in (0, n)]


def group_column(df: pd.DataFrame) -> str | None:
    """The grouping column for cross-validation: interview_id, else section, else None."""
    for col in ("interview_id", "section"):
        if col in df.columns and df[col].astype(str).str.strip().ne("").any():
            return col
    return None


def data_hash(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for row in df[["id", "text", "themes", "posture"]].itertuples(index=False):
        h.update(f"{row.id}\x1f{row.text}\x1f{';'.join(row.themes)}\x1f{row.posture}\x1e".encode())
    return h.hexdigest()[:16]
