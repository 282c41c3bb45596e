"""A result cache for ``textmine track`` with its default options (prevalence by wave), and for
the changes a run reports between its wave and the one before.

Table ``track_cache(name, fingerprint, created_at, frame)`` (owned here): the run's track stage
(:func:`refresh`) stores the default prevalence frame with the *fingerprint* of everything it was
computed from; ``textmine track`` (:func:`cached_prevalence`) shows it when the fingerprint of
the store as it is now is the same, and computes the figures as before otherwise (a read-only
command cannot write the cache; the next run does). The run's summary of changes
(:func:`run_changes`) is kept the same way, so an unchanged re-run recomputes nothing.

The fingerprint (:func:`fingerprint`) hashes the content, not a counter, so no writer can forget
to invalidate it: every row of the interviews, speakers and segments (:meth:`Store.figures_digest`;
the segments' texts only when human calibration codes exist, the only figures that read them:
codes are matched to the text they coded),
of the current theme run's codings and cross-fitted codes, of the current topic model's tables and
of the calibration tables (each hashed by its owner), the codebook file's bytes, the whole
configuration (``--config`` included), textmine's version and the source of the code that
computes the figures. A new coding run, a calibration import, a fixed metadata cell, another seed
or ``track.n_boot``: the fingerprint changes and the figures are computed again. On 100k segments
the fingerprint takes about 0.1 s, the computation it saves about 0.7 s.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

import pandas as pd

from .. import __version__
from ..calibrate import tables as cal_tables
from ..errors import TextmineError
from ..store import Store
from ..themes import codings
from ..topics import query as topic_query
from .changes import changes
from .prevalence import prevalence

TABLE = "track_cache"          # schema: textmine.records.TABLES
PREVALENCE = "prevalence"      # the default `textmine track`: prevalence by wave, segments, every item
VERSION = 1
_PKG = Path(__file__).resolve().parents[1]
#: the code the figures come from: a change in it is a change of fingerprint
_SOURCES = [*sorted((_PKG / "track").glob("*.py")), _PKG / "stats.py", _PKG / "records.py", _PKG / "store.py",
            _PKG / "themes" / "codings.py", _PKG / "topics" / "query.py", _PKG / "calibrate" / "tables.py"]


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def fingerprint(store: Store) -> str:
    """The fingerprint of what the default prevalence is computed from (see the module's note)."""
    # segment texts count only where human codes are matched to the text they coded (corrected figures)
    parts = [VERSION, __version__, [_file_hash(p) for p in _SOURCES], store.config.hash(),
             _file_hash(store.config.codebook_path()), store.figures_digest(texts=cal_tables.has_codes(store)),
             codings.digest(store), topic_query.digest(store), cal_tables.digest(store)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _encode(df: pd.DataFrame) -> str:
    """The frame as JSON: columns, rows of Python values (floats round-trip exactly) and attrs."""
    rows = [[v.item() if hasattr(v, "item") else v for v in r] for r in df.itertuples(index=False, name=None)]
    return json.dumps({"columns": list(df.columns), "rows": rows, "attrs": df.attrs}, ensure_ascii=False,
                      default=str)


def _decode(text: str) -> pd.DataFrame:
    d = json.loads(text)
    df = pd.DataFrame(d["rows"], columns=d["columns"])
    df.attrs.update(d["attrs"])
    return df


def _read(store: Store, name: str) -> tuple[str, str] | None:
    if not store.has_table(TABLE):
        return None
    row = store.con.execute(f"SELECT fingerprint, frame FROM {TABLE} WHERE name = ?", [name]).fetchall()
    return (row[0][0], row[0][1]) if row else None


def _fresh(store: Store, name: str, fp: str) -> str | None:
    """The stored frame (encoded) of entry ``name`` when it was computed for fingerprint ``fp``."""
    hit = _read(store, name)
    return hit[1] if hit is not None and hit[0] == fp else None


def cached_prevalence(store: Store) -> pd.DataFrame | None:
    """The default prevalence frame (``prevalence(store)``) when the cache holds it for the store
    as it is now; None otherwise (never a stale frame)."""
    hit = _fresh(store, PREVALENCE, fingerprint(store))
    return None if hit is None else _decode(hit)


def _write(store: Store, name: str, fp: str, df: pd.DataFrame | None) -> None:
    with store.transaction() as con:
        store.ensure_tables(TABLE)
        con.execute(f"DELETE FROM {TABLE} WHERE name = ?", [name]).fetchall()
        if df is not None:
            con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)",
                        [name, fp, _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                         _encode(df)]).fetchall()


def refresh(store: Store, fp: str | None = None) -> bool:
    """Compute the default prevalence and store it with its fingerprint (the run's track stage),
    unless the cache already holds it for the store as it is (``fp``: the fingerprint, when the
    caller has it). A project without figures (no segments, no codings) gets no entry. Returns
    whether the cache holds the figures."""
    fp = fp or fingerprint(store)
    if _fresh(store, PREVALENCE, fp) is not None:
        return True
    try:
        df = prevalence(store)
    except TextmineError:
        df = None
    _write(store, PREVALENCE, fp, df)
    return df is not None


def run_changes(store: Store, wave_from: str, wave_to: str, fp: str | None = None) -> pd.DataFrame:
    """``changes(store, wave_from, wave_to)`` (default options: what a run's summary shows), from the
    cache when it holds them for the store as it is, else computed and stored."""
    fp = fp or fingerprint(store)
    name = f"changes\x1f{wave_from}\x1f{wave_to}"
    hit = _fresh(store, name, fp)
    if hit is not None:
        return _decode(hit)
    df = changes(store, wave_from, wave_to)
    _write(store, name, fp, df)
    return df


__all__ = ["cached_prevalence", "refresh", "fingerprint", "run_changes"]
