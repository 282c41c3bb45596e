"""Store integrity: what ``textmine check`` verifies, read-only.

:func:`check_store` returns one row per check with a ``status``:

- ``problem`` (the store is inconsistent; ``textmine check`` exits 1 with E010): rows of
  ``speakers``/``turns``/``segments`` whose interview is gone; rows of a table derived from
  segments (:data:`textmine.store.DERIVED_TABLES`: topic assignments, theme codings, search
  lemmas...) whose segment is gone; an interview whose ``n_turns`` differs from its stored
  turns; a segment assigned twice by the current topic model or coded twice for one theme in
  the current theme run; ``topics.current_model`` naming no recorded model; theme codings of
  the current run on an interview re-ingested after that run (computed on its old text); a
  human calibration code stored twice for one sample, segment and coder (an import replaces
  its sheet's earlier codes, so there is one).
- ``pending`` (consistent, work left to do; exit 0): respondent segments without a topic of
  the current model (`textmine topics apply`), without codings of the current theme run
  (`textmine themes apply`), or not in the current Reinert class run (`textmine lexicon
  classes`); search lemmas or lexicon tokens missing or older than their text, a search form
  table not yet summed again after an interview was replaced (the next `textmine search` or
  lexicon command refreshes them), a ``DIR/index`` snapshot naming segments no longer stored
  (the next search rebuilds it); human calibration rows
  (:data:`textmine.store.SEGMENT_INPUT_TABLES`) whose segment is no longer stored (kept, left
  out of the estimates: draw a new sample).
- ``ok``.

Every table is read in full first, so a damaged block surfaces as E009 here rather than in
the middle of a later command.

This module is the one reader, besides each table's owner (``tests/test_ownership.py``), that
runs SQL on every table: it compares them with one another and never writes. The current
topic model and theme run come from their owners (:mod:`textmine.topics.query`,
:mod:`textmine.themes.codings`).
"""
from __future__ import annotations

import datetime as _dt

import duckdb
import numpy as np
import pandas as pd

from .errors import E, TextmineError
from .recovery import store_error
from .store import DERIVED_TABLES, SEGMENT_INPUT_TABLES, Store
from .themes import codings
from .topics.query import current_model_id

CHECK_COLUMNS = ["check", "table", "rows", "status", "detail", "fix"]
_RESPONDENT = "s.role NOT IN ('interviewer', 'other')"
_REINGEST = "re-ingest the interviews named (textmine ingest/run), or restore DIR/backups/"


def _n(store: Store, sql: str, params: list | None = None) -> int:
    return int(store.con.execute(sql, params or []).fetchall()[0][0] or 0)


def _ids(store: Store, sql: str, params: list | None = None, k: int = 5) -> str:
    rows = [str(r[0]) for r in store.con.execute(sql + f" LIMIT {k}", params or []).fetchall()]
    return ", ".join(rows)


def _tables(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]


def read_all(store: Store) -> None:
    """Read every row of every table (E009 when a block of the file is damaged)."""
    try:
        for t in _tables(store):
            store.con.execute(f'SELECT count(*), bit_xor(hash(x)) FROM "{t}" x').fetchall()
    except duckdb.Error as exc:
        raise store_error(exc, store.root) from exc


def check_store(store: Store) -> pd.DataFrame:
    """The integrity checks of ``store`` (see the module docstring), one row each."""
    read_all(store)
    rows: list[dict] = []

    def add(check: str, table: str, n: int, detail: str = "", fix: str = "", pending: bool = False) -> None:
        status = "ok" if n == 0 else ("pending" if pending else "problem")
        rows.append({"check": check, "table": table, "rows": n, "status": status,
                     "detail": detail if n else "", "fix": fix if n else ""})

    for t in ("speakers", "turns", "segments"):
        sql = f"FROM {t} x WHERE x.interview_id NOT IN (SELECT interview_id FROM interviews)"
        add("orphan rows", t, _n(store, "SELECT count(*) " + sql),
            f"interview(s) {_ids(store, 'SELECT DISTINCT x.interview_id ' + sql)} no longer stored", _REINGEST)
    sql = ("FROM interviews i LEFT JOIN (SELECT interview_id, count(*) AS n FROM turns GROUP BY 1) t "
           "USING (interview_id) WHERE coalesce(t.n, 0) <> coalesce(i.n_turns, 0)")
    add("turn counts", "interviews", _n(store, "SELECT count(*) " + sql),
        f"stored turns differ from n_turns for {_ids(store, 'SELECT i.interview_id ' + sql)}", _REINGEST)
    for table, col in DERIVED_TABLES:
        if not store.has_table(table) or not store.has_column(table, col):
            continue
        ref = "interviews" if col == "interview_id" else "segments"
        key = "interview_id" if col == "interview_id" else "segment_id"
        sql = f'FROM "{table}" d WHERE d."{col}" NOT IN (SELECT {key} FROM {ref})'
        add("derived rows without their segment", table, _n(store, "SELECT count(*) " + sql),
            f"e.g. {_ids(store, f'SELECT DISTINCT d.{col} ' + sql)}: computed on text that is no longer stored",
            "run the stage again (topics apply / themes apply / search), or textmine run")
    for table, col in SEGMENT_INPUT_TABLES:
        if store.has_table(table) and store.has_column(table, col):
            sql = f'FROM "{table}" d WHERE d."{col}" NOT IN (SELECT segment_id FROM segments)'
            add("human input on segments no longer stored", table, _n(store, "SELECT count(*) " + sql),
                f"e.g. {_ids(store, f'SELECT DISTINCT d.{col} ' + sql)} (re-ingested or removed): kept, left out "
                "of the corrected estimates", "draw a new calibration sample for that wave (themes sample)",
                pending=True)
    _calibration_checks(store, add)
    _topic_checks(store, add)
    _theme_checks(store, add)
    _search_checks(store, add)
    _lexicon_checks(store, add)
    _snapshot_checks(store, add)
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _calibration_checks(store: Store, add) -> None:
    t = "calibration_codes"
    if not all(store.has_column(t, c) for c in ("sample_id", "segment_id", "coder")):
        return
    dup = f"FROM (SELECT sample_id, segment_id, coder FROM {t} GROUP BY 1, 2, 3 HAVING count(*) > 1)"
    keys = _ids(store, "SELECT sample_id || ' ' || segment_id || ' ' || coder " + dup)
    add("one code per sample, segment and coder", t, _n(store, "SELECT count(*) " + dup),
        f"coded twice through one sample's sheet (sample segment coder): {keys}",
        "import that sample's sheet again (themes calibrate replaces the coder's codes of its segments)")


def _topic_checks(store: Store, add) -> None:
    mid = current_model_id(store, required=False)
    if not mid:
        return
    known = store.has_table("topic_models") and _n(store, "SELECT count(*) FROM topic_models WHERE model_id = ?", [mid])
    add("current topic model recorded", "topic_models", 0 if known else 1,
        f"kv topics.current_model is {mid!r}, which topic_models does not hold", "textmine topics fit")
    if not known or not store.has_table("topic_assignments"):
        return
    roles = (str(store.query("SELECT roles FROM topic_models WHERE model_id = ?", [mid])["roles"].iloc[0])
             if store.has_column("topic_models", "roles") else "respondents")     # the fit's default
    dup = "FROM (SELECT segment_id FROM topic_assignments WHERE model_id = ? GROUP BY 1 HAVING count(*) > 1)"
    add("one topic per segment", "topic_assignments", _n(store, "SELECT count(*) " + dup, [mid]),
        f"segments assigned twice by {mid}: {_ids(store, 'SELECT segment_id ' + dup, [mid])}",
        "textmine topics apply (reassigns them)")
    _missing(store, add, "segments without a topic", "topic_assignments", "model_id", mid,
             _RESPONDENT if roles == "respondents" else "TRUE", "textmine topics apply (or textmine run)")


def _missing(store: Store, add, check: str, table: str, col: str, value: str, where: str, fix: str) -> None:
    """Pending: segments matching ``where`` without a row of ``table`` where ``col = value``."""
    sql = (f"FROM segments s WHERE {where} AND s.segment_id NOT IN "
           f"(SELECT segment_id FROM {table} WHERE {col} = ?)")
    add(check, table, _n(store, "SELECT count(*) " + sql, [value]),
        f"new or re-ingested segments, e.g. {_ids(store, 'SELECT s.segment_id ' + sql, [value])}", fix, pending=True)


def _theme_checks(store: Store, add) -> None:
    run = codings.current_run_record(store)
    if run is None:
        return
    run_id = str(run["run_id"])
    dup = "FROM (SELECT segment_id, theme FROM theme_codings WHERE run_id = ? GROUP BY 1, 2 HAVING count(*) > 1)"
    add("one coding per segment and theme", "theme_codings", _n(store, "SELECT count(*) " + dup, [run_id]),
        f"segments coded twice in run {run_id}: {_ids(store, 'SELECT segment_id ' + dup, [run_id])}",
        "textmine themes apply")
    applied = _when(run.get("applied_at"))
    if applied is not None:
        stale = [iid for iid, at in store.con.execute(
            "SELECT DISTINCT i.interview_id, i.ingested_at FROM theme_codings c JOIN segments s USING (segment_id) "
            "JOIN interviews i USING (interview_id) WHERE c.run_id = ?", [run_id]).fetchall()
            if (_when(at) or applied) > applied]
        add("codings older than their text", "theme_codings", len(stale),
            f"interview(s) re-ingested after run {run_id}: {', '.join(stale[:5])}", "textmine themes apply")
    _missing(store, add, "segments without codings", "theme_codings", "run_id", run_id, _RESPONDENT,
             "textmine themes apply (or textmine run)")


def _stale_cache(store: Store, add, check: str, table: str, fix: str) -> None:
    """Pending: respondent segments that ``table`` (keyed by segment, with the md5 of the
    pseudonymised text it was made on) lacks or holds for another text."""
    if not store.has_column(table, "text_hash"):
        return
    sql = (f"FROM segments s LEFT JOIN {table} l USING (segment_id) WHERE {_RESPONDENT} AND "
           "(l.segment_id IS NULL OR l.text_hash <> md5(coalesce(s.text_pseudo, '')))")
    add(check, table, _n(store, "SELECT count(*) " + sql), "segments not analysed yet or changed since", fix,
        pending=True)


def _search_checks(store: Store, add) -> None:
    _stale_cache(store, add, "search lemmas up to date", "search_lemmas", "the next textmine search refreshes them")
    if store.has_column("search_forms", "n") and store.has_column("search_form_counts", "n"):
        stale = _n(store, "SELECT count(*) FROM (SELECT form, lemma, keep, sum(n) AS n FROM search_form_counts "
                          "GROUP BY ALL) c FULL JOIN search_forms f USING (form, lemma, keep) "
                          "WHERE c.n IS DISTINCT FROM f.n")
        add("search form table up to date", "search_forms", stale,
            "form counts of interviews replaced or deleted since the table was summed",
            "the next textmine search rebuilds it", pending=True)


def _lexicon_checks(store: Store, add) -> None:
    _stale_cache(store, add, "lexicon tokens up to date", "lexicon_tokens",
                 "the next textmine lexicon command (or textmine run) refreshes them")
    rid = store.get_kv("lexicon.current_classes")
    if not rid or not store.has_column("lexicon_classes", "run_id"):
        return
    sql = (f"FROM segments s WHERE {_RESPONDENT} AND s.segment_id NOT IN "
           "(SELECT segment_id FROM lexicon_classes WHERE run_id = ?)")
    add("segments in the current class run", "lexicon_classes", _n(store, "SELECT count(*) " + sql, [rid]),
        f"new or re-ingested segments that run {rid} did not classify, e.g. "
        f"{_ids(store, 'SELECT s.segment_id ' + sql, [rid])}", "textmine lexicon classes (or textmine run)",
        pending=True)


def _snapshot_checks(store: Store, add) -> None:
    """Pending: array snapshots under ``DIR/index`` (the search index) naming segments no longer
    stored (replacing or deleting an interview removes them; their reader rebuilds them)."""
    for head in sorted(store.index_dir.glob("*.json")) if store.index_dir.is_dir() else []:
        snap = store.load_arrays(head.stem)
        if snap is None or "segment_ids" not in snap[1]:
            continue
        ids = pd.DataFrame({"segment_id": np.asarray(snap[1]["segment_ids"]).astype(str)})
        store.con.register("_tm_snap", ids)
        try:
            sql = "FROM _tm_snap d WHERE d.segment_id NOT IN (SELECT segment_id FROM segments)"
            add("index snapshot holds only stored segments", f"index/{head.name}", _n(store, "SELECT count(*) " + sql),
                f"e.g. {_ids(store, 'SELECT d.segment_id ' + sql)}: made from text no longer stored",
                "the next textmine search rebuilds it (or delete the DIR/index folder)", pending=True)
        finally:
            store.con.unregister("_tm_snap")


def _when(value) -> _dt.datetime | None:
    try:
        t = _dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def assert_consistent(store: Store) -> pd.DataFrame:
    """:func:`check_store`, raising E010 when a check finds a problem."""
    df = check_store(store)
    bad = df[df["status"] == "problem"]
    if len(bad):
        raise TextmineError(E.E010, path=store.root,
                            detail="; ".join(f"{r.check} in {r.table}: {r.rows} ({r.detail})" for r in bad.itertuples()))
    return df
