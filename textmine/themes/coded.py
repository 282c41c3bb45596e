"""Coded data: human codings read from a CSV (``id,text,themes[,posture]``) or a REFI-QDA
``.qdpx`` project, validated against the codebook.

The returned frame has ``id, text, themes`` (a list of theme ids), ``posture`` (None or a
sub-label), ``line`` (1-based line of the row in the file) and every other column of the
file as an attribute (``role``, ``section``, ``interview_id`` ...).
"""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from ..export.cells import from_csv_cell
from ..ingest.encoding import decode_text, read_bytes
from .codebook import POSTURE_LABELS, Codebook


def _split(value: str | None) -> list[str]:
    if value is None:
        return []
    return [t.strip() for t in str(value).replace(",", ";").replace("|", ";").split(";") if t.strip()]


def read_coded(path: str | Path, codebook: Codebook, *, mapping: str | Path | None = None) -> pd.DataFrame:
    """Load a coded file (.csv or .qdpx) and check every theme id against ``codebook``."""
    path = Path(path)
    if not path.exists():
        raise TextmineError(E.E402, path=path, detail="file not found")
    if path.suffix.lower() == ".qdpx":
        return _read_qdpx(path, codebook, mapping)
    try:      # UTF-8 (BOM or not), cp1252, mixed; empty or binary files are refused
        text, _ = decode_text(read_bytes(path), path)
    except TextmineError as exc:
        raise TextmineError(E.E402, path=path, line=exc.line, detail=exc.message) from None
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise TextmineError(E.E402, path=path, line=1, detail="the file is empty")
        header = [h.strip() for h in header]
        for col in ("id", "text", "themes"):
            if col not in header:
                raise TextmineError(E.E402, path=path, line=1,
                                    detail=f"missing column {col!r} (found: {', '.join(header)})")
        start = reader.line_num + 1
        for rec in reader:
            if not any(x.strip() for x in rec):
                start = reader.line_num + 1
                continue
            row = {k: from_csv_cell(v) for k, v in zip(header, rec + [""] * (len(header) - len(rec)))}
            row["line"] = start
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TextmineError(E.E402, path=path, line=reader.line_num, detail=f"CSV syntax: {exc}") from exc
    if not rows:
        raise TextmineError(E.E402, path=path, detail="no coded rows")
    df = pd.DataFrame(rows)
    return validate_coded(df, codebook, path=path)


def validate_coded(df: pd.DataFrame, codebook: Codebook, *, path: str | Path | None = None) -> pd.DataFrame:
    """Normalise a coded frame (themes as lists, posture None/sub-label) and check it."""
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
        text = getattr(row, "text")
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            raise TextmineError(E.E402, path=path, line=line,
                                detail=f"empty text for id {getattr(row, 'id')!r}")
        raw = getattr(row, "themes")
        ths = raw if isinstance(raw, list) else _split(None if raw is None or (isinstance(raw, float) and np.isnan(raw)) else raw)
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
    df["text"] = df["text"].astype(str)
    return df.reset_index(drop=True)


def _read_qdpx(path: Path, codebook: Codebook, mapping: str | Path | None) -> pd.DataFrame:
    try:
        from ..export.qdpx import read_qdpx_codings, require_codings
    except ImportError as exc:
        raise TextmineError(E.E402, path=path, detail=f"REFI-QDA import is not available ({exc})",
                            fix="Export the codings as CSV id,text,themes[,posture] instead.") from exc
    df = require_codings(read_qdpx_codings(path, mapping=mapping, codebook=codebook), path)
    if "themes" in df.columns:
        df["themes"] = [t if isinstance(t, list) else _split(t) for t in df["themes"]]
    return validate_coded(df, codebook, path=path)


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
