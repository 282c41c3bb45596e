"""Human codings from a file: a CSV (``id,text,themes[,posture]``) or a REFI-QDA ``.qdpx``
project, validated against the codebook (:func:`textmine.themes.coded.validate_coded`).

The returned frame has ``id, text, themes`` (a list of theme ids), ``posture`` (None or a
sub-label), ``line`` (1-based line of the row in the file) and every other column of the
file as an attribute (``role``, ``section``, ``interview_id`` ...).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import E, TextmineError
from ..ingest.encoding import decode_text, read_bytes
from ..themes.codebook import Codebook
from ..themes.coded import split_themes, validate_coded
from .cells import from_csv_cell
from .qdpx import read_qdpx_codings, require_codings


def read_coded(path: str | Path, codebook: Codebook, *, mapping: str | Path | None = None,
               text: bool = True) -> pd.DataFrame:
    """Load a coded file (.csv or .qdpx) and check every theme id against ``codebook``.

    ``text=False``: a CSV may leave out the ``text`` column (``id,themes[,posture]``): a second
    coder's codes of units another file holds, matched by id (``themes evaluate --against``)."""
    path = Path(path)
    if not path.exists():
        raise TextmineError(E.E402, path=path, detail="file not found")
    if path.suffix.lower() == ".qdpx":
        return _read_qdpx(path, codebook, mapping)
    try:      # UTF-8 (BOM or not), cp1252, mixed; empty or binary files are refused
        content, _ = decode_text(read_bytes(path), path)
    except TextmineError as exc:
        raise TextmineError(E.E402, path=path, line=exc.line, detail=exc.message) from None
    rows = []
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise TextmineError(E.E402, path=path, line=1, detail="the file is empty")
        header = [h.strip() for h in header]
        for col in ("id", "text", "themes") if text else ("id", "themes"):
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
    if "text" not in df.columns:
        df["text"] = None
    return validate_coded(df, codebook, path=path, text=text)



def _read_qdpx(path: Path, codebook: Codebook, mapping: str | Path | None) -> pd.DataFrame:
    df = require_codings(read_qdpx_codings(path, mapping=mapping, codebook=codebook), path)
    if "themes" in df.columns:
        df["themes"] = [t if isinstance(t, list) else split_themes(t) for t in df["themes"]]
    return validate_coded(df, codebook, path=path)
