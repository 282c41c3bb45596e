"""The theme codings and the current theme run. This module is their ONE owner: other modules
read and write them through the functions below.

- ``theme_codings`` (:data:`textmine.records.TABLES`): one row per respondent segment x theme of
  the latest :func:`textmine.themes.apply.apply_themes` (earlier rows are replaced).
- ``theme_codings_crossfit``: the codes of the cross-fitting fold models of a coder trained on
  calibration codes (the corrected estimates read them).
- kv ``themes.current_run``: the record of the latest run (``run_id``, ``model_id``,
  ``codebook_hash``, ``encoder``, ``n_segments``, ``model_dir``, ``calibration_samples``,
  ``crossfit``, ``applied_at``).

**The current run** (:func:`current_run`) is the run that kv record names, when the codings
table exists. There is no other way to find one: a store without the record has no current
run (a table of codings without it is not guessed from, e.g. by its largest run id). Readers
that need codings pass ``required=True`` and get E407 naming the project; readers that can do
without (track with topics only, the report's method note, the QDPX coder name) pass
``required=False`` and get None.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import pandas as pd

from ..errors import E, TextmineError
from ..store import Store

KV_RUN = "themes.current_run"
TABLE = "theme_codings"
CROSSFIT_TABLE = "theme_codings_crossfit"
_RESPONDENT = "s.role NOT IN ('interviewer', 'other')"


# ---------------------------------------------------------------------------- the current run
def current_run_record(store: Store) -> dict[str, Any] | None:
    """The current run's record (kv ``themes.current_run``), or None when there is none (no
    run applied, or no codings table). A bare run id (stores of early versions) reads as
    ``{"run_id": id}``."""
    rec = store.get_kv(KV_RUN)
    if isinstance(rec, str):
        rec = {"run_id": rec}
    if not isinstance(rec, dict) or not rec.get("run_id") or not store.has_table(TABLE):
        return None
    return rec


def current_run(store: Store, *, required: bool = True) -> str | None:
    """The current run id (see the module's note); without one, E407 when ``required``, else None."""
    rec = current_run_record(store)
    if rec is None:
        if required:
            raise TextmineError(E.E407, path=store.root, detail="table theme_codings is empty or missing")
        return None
    return str(rec["run_id"])


def save_run(store: Store, codings: pd.DataFrame, crossfit: pd.DataFrame | None, record: dict[str, Any]) -> None:
    """Replace the codings (and the cross-fitted codes: ``crossfit`` None empties them) and make
    ``record`` the current run, in one transaction."""
    with store.transaction():
        store.write_frame(TABLE, codings, replace=True)
        if crossfit is not None:
            store.write_frame(CROSSFIT_TABLE, crossfit, replace=True)
        elif store.has_table(CROSSFIT_TABLE):
            store.con.execute(f"DELETE FROM {CROSSFIT_TABLE}")
        store.set_kv(KV_RUN, record)


def digest(store: Store) -> str:
    """Fingerprint of the current run: its record and every row of its codings and cross-fitted
    codes (:meth:`Store.row_digest`); "none" without a run."""
    rec = current_run_record(store)
    if rec is None:
        return "none"
    rid = str(rec["run_id"])
    parts = [json.dumps(rec, sort_keys=True, default=str),
             store.row_digest(f"SELECT * FROM {TABLE} WHERE run_id = ?", [rid])]
    if store.has_table(CROSSFIT_TABLE):
        parts.append(store.row_digest(f"SELECT * FROM {CROSSFIT_TABLE} WHERE run_id = ?", [rid]))
    return "/".join(parts)


# ---------------------------------------------------------------------------- rows
def theme_codings(store: Store) -> pd.DataFrame:
    """Every row of the current run, by segment and theme (E407 when there is none)."""
    run_id = current_run(store)
    df = store.read_frame(TABLE, where={"run_id": run_id})
    if df.empty:
        raise TextmineError(E.E407, path=store.root, detail=f"no rows for run {run_id}")
    return df.sort_values(["segment_id", "theme"], kind="stable").reset_index(drop=True)


def assigned(store: Store, run_id: str, columns: Sequence[str] = ("segment_id", "theme", "score", "posture"), *,
             themes: Iterable[str] | None = None, ordered: bool = False, arrow: bool = False) -> pd.DataFrame:
    """The assigned ``(segment, theme)`` rows of ``run_id`` (``columns``; a ``posture`` column
    missing from an old store reads as NULL), only ``themes`` when given, by segment and theme
    when ``ordered``. ``arrow``: read through :meth:`Store.query_arrow` (large projects)."""
    cols = ", ".join(store.column_or_null(TABLE, c, "VARCHAR") if c == "posture" else f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM {TABLE} WHERE run_id = ? AND CAST(assigned AS BOOLEAN)"
    params: list = [run_id]
    if themes is not None:
        themes = list(themes)
        sql += f" AND theme IN ({', '.join('?' * len(themes))})"
        params += themes
    if ordered:
        sql += " ORDER BY segment_id, theme"
    return store.query_arrow(sql, params) if arrow else store.query(sql, params)


def scores(store: Store) -> pd.DataFrame:
    """Every ``(segment, theme)`` score and decision of the current run (empty without one)."""
    run_id = current_run(store, required=False)
    if run_id is None:
        return pd.DataFrame(columns=["segment_id", "theme", "score", "assigned"])
    return store.query(f"SELECT segment_id, theme, score, CAST(assigned AS BOOLEAN) AS assigned FROM {TABLE} "
                       "WHERE run_id = ?", [run_id])


def segments_with(store: Store, themes: list[str]) -> set[str]:
    """Segments assigned to any of ``themes`` in the current run (E407 without one)."""
    run_id = current_run(store)
    rows = store.con.execute(f"SELECT DISTINCT segment_id FROM {TABLE} WHERE run_id = ? AND CAST(assigned AS BOOLEAN) "
                             f"AND theme IN ({', '.join('?' * len(themes))})", [run_id, *themes]).fetchall()
    return {r[0] for r in rows}       # no frame between: 20k ids in about half the time


def coded_themes(store: Store) -> list[str]:
    """Theme ids present in the codings table (any run), sorted."""
    if not store.has_table(TABLE):
        return []
    return list(store.query(f"SELECT DISTINCT theme FROM {TABLE} ORDER BY theme")["theme"])


def run_models(store: Store, run_id: str) -> list[str] | None:
    """Model ids behind ``run_id``'s codings (None without a codings table)."""
    if not store.has_table(TABLE):
        return None
    return [str(m) for m in store.query(f"SELECT DISTINCT model_id FROM {TABLE} WHERE run_id = ?", [run_id])["model_id"]]


def coverage_counts(store: Store, run_id: str) -> tuple[int, int, tuple[str, int] | None]:
    """``(segments coded, segments with a theme, (most assigned theme, its count))`` of ``run_id``."""
    n, coded = store.con.execute(
        f"SELECT count(DISTINCT segment_id), count(DISTINCT segment_id) FILTER (WHERE assigned) "
        f"FROM {TABLE} WHERE run_id = ?", [run_id]).fetchone()
    top = store.con.execute(
        f"SELECT theme, count(*) FILTER (WHERE assigned) AS k FROM {TABLE} WHERE run_id = ? "
        "GROUP BY theme ORDER BY k DESC, theme LIMIT 1", [run_id]).fetchone()
    return int(n), int(coded), (top[0], int(top[1])) if top else None


def machine_coded_waves(store: Store, run_id: str | None) -> set[str]:
    """Waves whose every respondent segment is in ``run_id``'s codings."""
    if run_id is None:
        return set()
    df = store.query("SELECT i.wave, count(*) AS n, count(t.segment_id) AS coded FROM segments s "
                     f"JOIN interviews i USING (interview_id) LEFT JOIN (SELECT DISTINCT segment_id FROM {TABLE} "
                     f"WHERE run_id = ?) t USING (segment_id) WHERE {_RESPONDENT} "
                     "GROUP BY i.wave", [run_id])
    return {str(w) for w, n, c in zip(df["wave"], df["n"], df["coded"]) if n == c}


def crossfit_rows(store: Store, run_id: str | None) -> pd.DataFrame | None:
    """``segment_id, theme, assigned, posture`` cross-fitted for ``run_id``; None without the table."""
    if not store.has_table(CROSSFIT_TABLE):
        return None
    return store.query(f"SELECT segment_id, theme, assigned, posture FROM {CROSSFIT_TABLE} WHERE run_id = ?",
                       [run_id])


#: under this share of the respondent segments coded with a theme, the codebook is said not to fit the corpus
LOW_COVERAGE = 0.15


def coverage(store) -> dict:
    """How much of the corpus the codebook codes (latest run): ``coverage`` (share of the
    respondent segments with at least one theme), ``n_segments``, ``largest`` (the most
    frequent theme) and ``largest_share``; ``low`` when coverage is under :data:`LOW_COVERAGE`
    (a codebook written for another study: see the README, "Your own codebook")."""
    run_id = current_run(store, required=False)
    if run_id is None:
        return {"coverage": None, "n_segments": 0, "largest": None, "largest_share": None, "low": False}
    n, coded, top = coverage_counts(store, run_id)
    cov = coded / n if n else None
    return {"coverage": cov, "n_segments": int(n), "largest": top[0] if top else None,
            "largest_share": (top[1] / n) if top and n else None,
            "low": cov is not None and cov < LOW_COVERAGE}
