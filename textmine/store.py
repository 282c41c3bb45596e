"""The project store: a folder with ``textmine.yaml`` and an embedded DuckDB file.

Layout of a project folder::

    DIR/textmine.yaml        project config (overrides the packaged default)
    DIR/textmine.duckdb      the store (tables below)
    DIR/models/              topic and theme models (safetensors + JSON)
    DIR/runs/                run manifests
    DIR/outputs/             reports, quote banks
    DIR/index/               derived arrays memory-mapped by fast readers (the search index):
                             ``<name>.json`` + ``<name>-<token>-<array>.npy``; rebuilt from the
                             tables whenever stale, never the only copy of anything

Tables (schemas in :mod:`textmine.records`): ``interviews``, ``speakers``, ``turns``,
``segments``, ``pseudonym_map`` (kept apart from the text tables; the only place real
names are linked to placeholders), ``embeddings`` (cache by encoder id + text hash),
plus tables created by later stages through :meth:`Store.write_frame`
(``topic_assignments``, ``theme_codings``, ``runs`` ...).

Every multi-table change runs in one transaction (:meth:`Store.transaction`), so an
interview is stored whole or not at all and a killed process leaves the store as it was.
Replacing or deleting an interview also drops its rows in every table of
:data:`DERIVED_TABLES` (topics, codings, search lemmas...), computed on its old text.

A truncated or corrupt store is :data:`~textmine.errors.E.E009` (checked when the store is
opened, and for any read error later); :meth:`Store.backup` keeps the last good copies in
``DIR/backups/`` (``textmine run`` makes one after each successful run).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from .config import PACKAGED_CODEBOOK, Config, defaults, load_config, project_overlay
from .errors import E, TextmineError
from .records import (INGEST_TABLES, INTERVIEW_COLUMNS, SEGMENT_COLUMNS, SPEAKER_COLUMNS, TABLES, TURN_COLUMNS,
                      safe_name)
from .recovery import BACKUP_DIR, DB_NAME, backups, restore_hint, store_error
from .runlock import holder
from .safeio import atomic_write

CONFIG_NAME = "textmine.yaml"
KEEP_BACKUPS = 2
_HEADER_BYTES = 3 * 4096      # DuckDB file header; then ``total_blocks`` blocks of ``block_size``

#: Tables derived from segments, as ``(table, key column)``; the key column holds a segment id
#: (``interview_id`` for a table keyed by interview). When an interview is replaced or deleted,
#: its rows in each table listed here are dropped in the same transaction, so nothing computed
#: on its old text survives (embeddings are cached by text hash and stay valid). A stage that
#: creates a table derived from segments adds its pair here; ``textmine check`` looks for orphan
#: rows in each.
DERIVED_TABLES: list[tuple[str, str]] = [
    ("topic_assignments", "segment_id"),     # textmine.topics.persist
    ("theme_codings", "segment_id"),         # textmine.themes.apply
    ("theme_codings_crossfit", "segment_id"),  # textmine.themes.apply (fold models of a calibrated coder)
    ("search_lemmas", "segment_id"),         # textmine.search.index
    ("search_form_counts", "interview_id"),  # textmine.search.index (search_forms, their sum, is rebuilt
                                             # from them; the DIR/index snapshot follows the content)
    ("lexicon_tokens", "segment_id"),        # textmine.lexicon.tokens
    ("lexicon_classes", "segment_id"),       # textmine.lexicon.classes (the current run then misses them)
]
#: Tables keyed by segment that hold human work, as ``(table, key column)``: kept when an
#: interview is re-ingested (a coder's codes are not recomputable). Their owner records the
#: text each row was made on (a text hash) and leaves rows whose segment changed or went out of
#: its estimates; ``textmine check`` lists rows whose segment is no longer stored.
SEGMENT_INPUT_TABLES: list[tuple[str, str]] = [
    ("calibration_units", "segment_id"),     # textmine.calibrate.tables: a sample's drawn segments
    ("calibration_codes", "segment_id"),     # textmine.calibrate.tables: human codes of those segments
]

_SCHEMA = "\n".join(TABLES[t].ddl() for t in INGEST_TABLES)     # the one definition: textmine.records
#: columns added after a table's first release (stores written before get them when opened for writing)
_ADDED_COLUMNS = (("speakers", "role_evidence", "VARCHAR"), ("speakers", "respondent_id", "VARCHAR"),
                  ("interviews", "content_hash", "VARCHAR"), ("interviews", "attrs_public", "VARCHAR"),
                  ("turns", "marks", "VARCHAR"))


def public_attrs(attrs: Any, public: Any = None, *, reveal: bool = False) -> dict[str, Any]:
    """An interview's extra metadata (``attrs`` JSON) as exports may show it: only the keys its
    sheet declared public (``attrs_public`` JSON list), or all of them with ``reveal``."""
    try:
        d = json.loads(attrs) if isinstance(attrs, str) and attrs.strip() else (attrs if isinstance(attrs, dict) else {})
    except ValueError:
        d = {}
    if reveal or not isinstance(d, dict):
        return d if isinstance(d, dict) else {}
    try:
        keys = json.loads(public) if isinstance(public, str) and public.strip() else (public or [])
    except ValueError:
        keys = []
    keys = set(keys) if isinstance(keys, list) else set()
    return {k: v for k, v in d.items() if k in keys}


def project_writable(root: str | Path | None) -> bool:
    """Whether the project's folder and store can be written (False on a read-only disk or
    for a user without write permission): read commands then open the store read-only."""
    if root is None:
        return True
    root = Path(root)
    db = root / DB_NAME
    if not db.exists():
        return True
    return os.access(root, os.W_OK) and os.access(db, os.W_OK)


def _project_error(root: Path, exc: OSError | str) -> TextmineError:
    return TextmineError(E.E011, path=root, detail=str(exc))


def write_project_config(path: Path, config_path: str | Path | None = None, codebook: str | Path | None = None) -> None:
    """A new project's ``textmine.yaml``. A project created with ``--config FILE`` keeps that
    file's settings (its relative paths rewritten from the project folder), so that later
    commands on the project — a new wave, a search — run with the same settings without it.
    The codebook is written down (``codebook``, else the config's, else ``conum``, the
    packaged one), so that the project says which themes it codes."""
    header = "# textmine project configuration: any key of configs/default.yaml may be set here.\n"
    data: dict = {}
    if config_path is not None and Path(config_path).is_file():
        data = project_overlay(config_path, path.parent)
        header += f"# Created with --config {config_path}: its settings are kept below.\n"
    data.setdefault("random_state", defaults().random_state)
    themes = data.setdefault("themes", {}) if isinstance(data.get("themes", {}), dict) else {}
    if codebook is not None:
        themes["codebook"] = (str(codebook) if str(codebook) == PACKAGED_CODEBOOK
                              else os.path.relpath(Path(codebook).resolve(), path.parent.resolve()))
    themes.setdefault("codebook", None)
    if themes["codebook"] is None:
        themes["codebook"] = PACKAGED_CODEBOOK
    header += ("# themes.codebook: `conum` is the packaged codebook of the Conseiller numérique study; give your\n"
               "# own YAML file instead (README, 'Your own codebook'), e.g. one started by `textmine themes draft`.\n")
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))   # never a half-written config


class Store:
    """Handle on a project folder. Use as a context manager or call :meth:`close`."""

    def __init__(self, project: str | Path, *, create: bool = False, read_only: bool = False,
                 config_path: str | Path | None = None) -> None:
        self.root = Path(project)
        self.db_path = self.root / DB_NAME
        self.created = not self.db_path.exists()     # this handle creates the project
        if self.root.exists() and not self.root.is_dir():
            raise _project_error(self.root, f"{self.root} is a file, not a project folder")
        if not self.db_path.exists():
            if not create:
                raise TextmineError(E.E002, path=self.root, detail=f"no {DB_NAME} in {self.root}")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _project_error(self.root, exc) from exc
        self.config: Config = load_config(self.root / CONFIG_NAME, config_path)
        if create and not (self.root / CONFIG_NAME).exists():
            try:
                write_project_config(self.root / CONFIG_NAME, config_path)
            except TextmineError as exc:     # E602 from the atomic write: the folder is not writable
                raise _project_error(self.root, exc.message) from exc
            self.config = load_config(self.root / CONFIG_NAME, config_path)
        self.read_only = bool(read_only and self.db_path.exists())
        try:
            self.con = duckdb.connect(str(self.db_path), read_only=self.read_only)
        except duckdb.Error as exc:
            err = _open_error(self.root, self.db_path, exc)
            if err.code != "E007":      # busy: another process created it meanwhile, and holds it
                self._forget_created()
            raise (store_error(exc, self.root) if err.code == "E004" else err) from exc
        try:
            self._check_size()
            if not read_only:
                self.con.execute(_SCHEMA)
                for table, column, sql_type in _ADDED_COLUMNS:
                    self.con.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{column}" {sql_type}')
        except duckdb.Error as exc:
            self.close()
            self._forget_created()
            raise store_error(exc, self.root) from exc
        except TextmineError:
            self.close()
            self._forget_created()
            raise
        self._in_tx = False

    def _forget_created(self) -> None:
        """Remove the store file this handle was creating when its creation failed (a full disk, a
        file-size limit): it holds nothing, and a half-written file would be read as a damaged
        store (E009) by the next command, which must simply create it again."""
        if not self.created:
            return
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass

    def _check_size(self) -> None:
        """E009 when the file is shorter than the blocks DuckDB's header declares (a truncated
        copy or a disk that filled up): caught here instead of at the first read of a lost block."""
        row = self.con.execute("SELECT block_size, total_blocks, free_blocks FROM pragma_database_size()").fetchall()
        if not row or not row[0][0]:
            return
        block, total, free = (int(v or 0) for v in row[0])
        want = _HEADER_BYTES + block * total
        have = self.db_path.stat().st_size if self.db_path.exists() else want
        # a checkpoint truncates free blocks at the end of the file without lowering total_blocks: a
        # file short of whole free blocks is sound (rows deleted: the next open used to say E009)
        if have < want and ((want - have) % block or want - have > free * block):
            raise TextmineError(E.E009, path=self.db_path, fix=restore_hint(self.root),
                                detail=f"the file has {have} bytes, its header declares {want} (truncated)")

    def backup(self, label: str, keep: int = KEEP_BACKUPS) -> Path | None:
        """Checkpoint the store and copy it to ``backups/<label>.duckdb`` (temp file + rename),
        keeping the ``keep`` newest copies. Returns the copy's path (None when the disk refuses:
        a backup never fails the command that asked for it)."""
        folder = self.root / BACKUP_DIR
        dest = folder / f"{safe_name(label)}.duckdb"
        try:
            self.con.execute("CHECKPOINT")
            folder.mkdir(exist_ok=True)
            atomic_write(dest, lambda tmp: shutil.copyfile(self.db_path, tmp))
        except (OSError, duckdb.Error, TextmineError):
            return None
        for old in backups(self.root)[keep:]:
            with contextlib.suppress(OSError):
                old.unlink()
        return dest

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def models_dir(self) -> Path:
        p = self.root / "models"
        p.mkdir(exist_ok=True)
        return p

    @property
    def outputs_dir(self) -> Path:
        p = self.root / "outputs"
        p.mkdir(exist_ok=True)
        return p

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing block. Nested calls join the outer transaction."""
        if self._in_tx:
            yield self.con
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_tx = False

    def has_table(self, name: str) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0])

    def has_column(self, table: str, column: str) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
            [table, column]).fetchall()[0][0])

    def column_or_null(self, table: str, column: str, sql_type: str = "DOUBLE") -> str:
        """SQL select item for ``column``, or a typed NULL under its name when a table written by
        an older version lacks it (for reads that must not alter the store)."""
        return f'"{column}"' if self.has_column(table, column) else f'CAST(NULL AS {sql_type}) AS "{column}"'

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def query_arrow(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """:meth:`query` through Arrow: 200k string rows in a fifth of the time (no per-value
        conversion to pandas' str dtype), for large reads. Same frame as :meth:`query` for string,
        integer and float columns: an integer column with nulls becomes pandas' nullable integer,
        a string column with no value at all object ``None`` (as DuckDB's ``df()`` gives them)."""
        tbl = self.con.sql(sql, params=params or None).to_arrow_table()
        df = tbl.to_pandas()
        for name, col in zip(tbl.column_names, tbl.columns):
            if col.null_count == 0:
                continue
            if pa.types.is_integer(col.type):
                df[name] = pd.array(col.to_pylist(), dtype=f"Int{col.type.bit_width}")
            elif col.null_count == len(col) and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                                                 or pa.types.is_null(col.type)):
                df[name] = pd.Series([None] * len(col), dtype=object, index=df.index)
        return df

    # ------------------------------------------------------------------ generic frames
    def write_frame(self, table: str, df: pd.DataFrame, *, delete_where: dict[str, Any] | None = None,
                    replace: bool = False) -> None:
        """Append ``df`` to ``table``, created from its schema (:data:`textmine.records.TABLES`)
        if missing; ``df``'s columns are some of the schema's (the others stay NULL).

        ``replace`` empties the table first; ``delete_where`` deletes the rows matching
        all ``column = value`` pairs first. Runs inside one transaction.
        """
        schema = TABLES.get(table)
        if schema is None:
            raise ValueError(f"{table!r} has no schema in textmine.records.TABLES")
        extra = [c for c in df.columns if c not in schema.columns]
        if extra:
            raise ValueError(f"columns {extra} are not in the schema of {table!r} ({', '.join(schema.columns)})")
        with self.transaction():
            exists = self.has_table(table)
            if exists and replace:
                self.con.execute(f'DELETE FROM "{table}"')
            elif exists and delete_where:
                cond = " AND ".join(f'"{k}" = ?' for k in delete_where)
                self.con.execute(f'DELETE FROM "{table}" WHERE {cond}', list(delete_where.values()))
            if not exists:
                self.con.execute(schema.ddl())
            self.con.register("_tm_frame", df)
            try:
                cols = ", ".join(f'"{c}"' for c in df.columns)
                self.con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _tm_frame')
            finally:
                self.con.unregister("_tm_frame")

    def ensure_tables(self, *tables: str) -> None:
        """Create ``tables`` from their schemas (:data:`textmine.records.TABLES`) when missing."""
        for t in tables:
            if not self.has_table(t):
                self.con.execute(TABLES[t].ddl())

    def read_frame(self, table: str, where: dict[str, Any] | None = None) -> pd.DataFrame:
        if not self.has_table(table):
            return pd.DataFrame()
        sql = f'SELECT * FROM "{table}"'
        params: list = []
        if where:
            sql += " WHERE " + " AND ".join(f'"{k}" = ?' for k in where)
            params = list(where.values())
        return self.con.execute(sql, params).df()

    def get_kv(self, key: str, default: Any = None) -> Any:
        rows = self.con.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchall()  # fetchall: no pending result
        row = rows[0] if rows else None
        return json.loads(row[0]) if row else default

    def kv_items(self, prefix: str) -> list[tuple[str, Any]]:
        """``(key, value)`` of every kv key starting with ``prefix`` (for keys owned per item)."""
        rows = self.con.execute("SELECT key, value FROM kv WHERE starts_with(key, ?)", [prefix]).fetchall()
        return [(k, json.loads(v)) for k, v in rows]

    def set_kv(self, key: str, value: Any) -> None:
        with self.transaction():
            self.con.execute("DELETE FROM kv WHERE key = ?", [key])
            self.con.execute("INSERT INTO kv VALUES (?, ?)", [key, json.dumps(value, default=str)])

    # ------------------------------------------------------------------ interviews
    def interview_hashes(self) -> dict[str, str]:
        """``source_hash -> interview_id`` and ``interview_id -> source_hash`` lookups."""
        rows = self.con.execute("SELECT interview_id, source_hash FROM interviews").fetchall()
        return {iid: h for iid, h in rows}

    def replace_interview(self, interview: dict[str, Any], speakers: pd.DataFrame,
                          turns: pd.DataFrame, segments: pd.DataFrame) -> None:
        """Store one interview whole, replacing any earlier version, in one transaction."""
        iid = interview["interview_id"]
        row = pd.DataFrame([{c: interview.get(c) for c in INTERVIEW_COLUMNS}])
        with self.transaction():
            self.delete_interview(iid)
            self._insert("interviews", row, INTERVIEW_COLUMNS)
            self._insert("speakers", speakers, SPEAKER_COLUMNS)
            self._insert("turns", turns, TURN_COLUMNS)
            self._insert("segments", segments, SEGMENT_COLUMNS)

    def delete_interview(self, interview_id: str) -> None:
        """Delete an interview, its speakers, turns and segments, and every row derived from its
        segments (:data:`DERIVED_TABLES`), in one transaction."""
        with self.transaction():
            self._drop_derived(interview_id)
            for t in ("segments", "turns", "speakers", "interviews"):
                self.con.execute(f"DELETE FROM {t} WHERE interview_id = ?", [interview_id])
        self.drop_arrays()          # the DIR/index snapshots held its segments (ids, lemma vocabulary)

    def _drop_derived(self, interview_id: str) -> None:
        """Rows computed on an interview's segments, in every table of :data:`DERIVED_TABLES`
        (topic assignments, theme codings, search lemmas...): dropped with the segments, so
        nothing computed on the old text survives and the next stage recomputes them."""
        for table, col in DERIVED_TABLES:
            if not self.has_table(table):
                continue
            if col == "interview_id":
                self.con.execute(f'DELETE FROM "{table}" WHERE interview_id = ?', [interview_id])
            else:
                self.con.execute(f'DELETE FROM "{table}" WHERE "{col}" IN '
                                 "(SELECT segment_id FROM segments WHERE interview_id = ?)", [interview_id])

    def update_interview_meta(self, interview_id: str, fields: dict[str, Any],
                              speakers: dict[str, dict[str, Any]] | None = None) -> None:
        """Change an interview's metadata columns, and columns of its speakers rows (respondent
        id, how their unchanged role was decided), in place: when only descriptive metadata or
        the way roles are decided changed, its turns and segments stay as they are."""
        bad = (set(fields) - set(INTERVIEW_COLUMNS)) | {c for v in (speakers or {}).values() for c in v
                                                        if c not in SPEAKER_COLUMNS}
        if bad:
            raise ValueError(f"not interview or speaker columns: {sorted(bad)}")
        with self.transaction():
            if fields:
                sets = ", ".join(f'"{k}" = ?' for k in fields)
                self.con.execute(f"UPDATE interviews SET {sets} WHERE interview_id = ?",
                                 [*fields.values(), interview_id])
            for speaker, cols in (speakers or {}).items():
                if cols:
                    sets = ", ".join(f'"{k}" = ?' for k in cols)
                    self.con.execute(f"UPDATE speakers SET {sets} WHERE interview_id = ? AND speaker = ?",
                                     [*cols.values(), interview_id, speaker])

    def _insert(self, table: str, df: pd.DataFrame, columns: list[str]) -> None:
        if df is None or df.empty:
            return
        frame = df.reindex(columns=columns)
        self.con.register("_tm_ins", frame)
        try:
            cols = ", ".join(f'"{c}"' for c in columns)
            self.con.execute(f'INSERT INTO {table} ({cols}) SELECT {cols} FROM _tm_ins')
        finally:
            self.con.unregister("_tm_ins")

    def interview_columns(self, *columns: str, interview_id: str | None = None) -> pd.DataFrame:
        """Some columns of ``interviews`` (one interview's row with ``interview_id``)."""
        bad = [c for c in columns if c not in INTERVIEW_COLUMNS]
        if bad:
            raise ValueError(f"not interview columns: {bad}")
        sql = f"SELECT {', '.join(columns)} FROM interviews"
        if interview_id is None:
            return self.con.execute(sql).df()
        return self.con.execute(sql + " WHERE interview_id = ?", [interview_id]).df()

    def interview_values(self, column: str) -> list[str]:
        """The distinct values of an ``interviews`` column (nulls left out), sorted."""
        if column not in INTERVIEW_COLUMNS:
            raise ValueError(f"not an interview column: {column!r}")
        return [str(v) for v in self.con.execute(
            f"SELECT DISTINCT {column} FROM interviews WHERE {column} IS NOT NULL ORDER BY {column}").df()[column]]

    def speaker_values(self, interview_id: str, column: str) -> dict[str, Any]:
        """``speaker -> column`` of one interview's speakers."""
        if column not in SPEAKER_COLUMNS:
            raise ValueError(f"not a speaker column: {column!r}")
        return dict(self.con.execute(f"SELECT speaker, {column} FROM speakers WHERE interview_id = ?",
                                     [interview_id]).fetchall())

    def source_hashes(self) -> list[tuple[str, str]]:
        """``(interview_id, source_hash)`` of every interview, by id."""
        return self.con.execute("SELECT interview_id, source_hash FROM interviews ORDER BY 1").fetchall()

    def segments_digest(self) -> tuple[int, str]:
        """``(segments, md5)`` over each segment's id, role and texts (analysis and pseudonymised)."""
        row = self.con.execute(
            "SELECT count(*), md5(coalesce(string_agg(segment_id || chr(31) || coalesce(role, '') || chr(31) "
            "|| md5(coalesce(text, '')) || md5(coalesce(text_pseudo, '')), chr(30) ORDER BY segment_id), '')) "
            "FROM segments").fetchone()
        return int(row[0]), str(row[1])

    def row_digest(self, sql: str, params: list | None = None) -> str:
        """Fingerprint of the rows ``sql`` returns: their count and the sum of DuckDB's hash of each
        whole row (every column; order-free). Owners hash their own tables with it (the result
        caches of :mod:`textmine.track.cache`): 100k rows in a few hundredths of a second."""
        row = self.con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM ({sql}) t",
                               params or []).fetchall()[0]
        return f"{row[0]}:{row[1]}"

    def figures_digest(self, *, texts: bool = True) -> str:
        """:meth:`row_digest` of every interview, speaker and segment row (metadata, roles and,
        with ``texts``, the segments' texts): what tracking's figures are computed from, besides
        the codings. Without ``texts`` it takes a tenth of the time on 100k segments."""
        seg = "SELECT *" if texts else "SELECT * EXCLUDE (text_raw, text, text_pseudo, prev_question)"
        return "/".join(self.row_digest(sql) for sql in ("SELECT * FROM interviews", "SELECT * FROM speakers",
                                                         f"{seg} FROM segments"))

    def counts(self) -> dict[str, int]:
        """``interviews``, ``segments`` and ``words`` (the interviews' word counts) stored."""
        row = self.con.execute("""SELECT (SELECT count(*) FROM interviews), (SELECT count(*) FROM segments),
            (SELECT coalesce(sum(n_words), 0) FROM interviews)""").fetchone()
        return {"interviews": int(row[0]), "segments": int(row[1]), "words": int(row[2])}

    def corpus_counts(self) -> pd.DataFrame:
        """Per wave x role (of the turns): ``interviews, turns, words`` (speakers' words),
        ``segments, segment_words``; waves without a value first."""
        return self.con.execute("""
            WITH t AS (SELECT i.wave, tu.role, count(DISTINCT tu.interview_id) AS interviews,
                              count(*) AS turns FROM turns tu JOIN interviews i USING (interview_id)
                       GROUP BY 1, 2),
                 w AS (SELECT i.wave, sp.role, sum(sp.words)::BIGINT AS words FROM speakers sp
                       JOIN interviews i USING (interview_id) GROUP BY 1, 2),
                 s AS (SELECT i.wave, se.role, count(*) AS segments, sum(se.n_words)::BIGINT AS segment_words
                       FROM segments se JOIN interviews i USING (interview_id) GROUP BY 1, 2)
            SELECT t.wave, t.role, t.interviews, t.turns, coalesce(w.words, 0) AS words,
                   coalesce(s.segments, 0) AS segments, coalesce(s.segment_words, 0) AS segment_words
            FROM t LEFT JOIN w USING (wave, role) LEFT JOIN s USING (wave, role)
            ORDER BY t.wave NULLS FIRST, t.role""").df()

    def segment_counts(self) -> pd.DataFrame:
        """Per wave x segment role: ``n_interviews, n_segments, n_words``."""
        return self.con.execute(
            "SELECT i.wave, s.role, count(DISTINCT s.interview_id) AS n_interviews, count(*) AS n_segments, "
            "coalesce(sum(s.n_words), 0) AS n_words FROM segments s JOIN interviews i USING (interview_id) "
            "GROUP BY i.wave, s.role ORDER BY i.wave, s.role").df()

    def respondent_texts(self) -> pd.DataFrame:
        """``segment_id, role, text, wave`` of every respondent segment."""
        return self.con.execute("SELECT s.segment_id, s.role, s.text, i.wave FROM segments s JOIN interviews i "
                                "USING (interview_id) WHERE s.role NOT IN ('interviewer', 'other')").df()

    def segment_texts(self) -> pd.DataFrame:
        """``segment_id, text`` (the pseudonymised text, '' when missing) of every segment."""
        return self.con.execute("SELECT segment_id, coalesce(text_pseudo, '') AS text FROM segments").df()

    def interviews_frame(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM interviews ORDER BY interview_id").df()

    def speakers_frame(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT s.*, i.source_file FROM speakers s JOIN interviews i USING (interview_id) "
            "ORDER BY s.interview_id, s.speaker").df()

    def turns_frame(self, interview_id: str | None = None) -> pd.DataFrame:
        if interview_id:
            return self.con.execute("SELECT * FROM turns WHERE interview_id = ? ORDER BY turn_index",
                                    [interview_id]).df()
        return self.con.execute("SELECT * FROM turns ORDER BY interview_id, turn_index").df()

    def turn_places(self, keys: pd.DataFrame) -> list[tuple]:
        """``(i, text, start, line, marks)`` of the turns of ``keys`` (columns ``i``,
        ``interview_id``, ``turn_index``, ``nl``) that have marks (``turns.marks``) or whose row has
        ``nl`` set: what places a word inside a turn (:mod:`textmine.search.cite`). ``marks`` is
        NULL in a store from before the column."""
        if keys.empty or not self.has_table("turns"):
            return []
        marks = "t.marks" if self.has_column("turns", "marks") else "CAST(NULL AS VARCHAR)"
        self.con.register("_tm_tp", keys[["i", "interview_id", "turn_index", "nl"]])
        try:
            return self.con.execute(
                f"SELECT k.i, t.text, t.start, t.line, {marks} FROM _tm_tp k JOIN turns t "
                "ON t.interview_id = k.interview_id AND t.turn_index = k.turn_index "
                f"WHERE {marks} IS NOT NULL OR k.nl").fetchall()
        finally:
            self.con.unregister("_tm_tp")

    def segments_frame(self, *, roles: str | Iterable[str] | None = None,
                       waves: Iterable[str] | None = None,
                       interview_ids: Iterable[str] | None = None,
                       segment_ids: Iterable[str] | None = None, with_text: bool = True,
                       figures_only: bool = False) -> pd.DataFrame:
        """Segments joined with their interview's metadata (``SEGMENT_META_COLUMNS``).

        ``roles``: ``"respondents"`` (all but interviewer/other), ``"all"``/None, or a list.
        ``with_text=False`` leaves out ``text_raw``, ``text`` and ``prev_question`` (only the
        pseudonymised text is kept), read through Arrow (the same frame): faster on a large
        project when the analysis text is not needed (50k segments: 0.2 s -> 0.1 s).
        ``figures_only=True`` keeps only what counts are computed from (ids, role, ``n_words``
        and the interview's metadata; no text, speaker, position or source file), read through
        Arrow: 100k segments in about a fifth of the time.
        """
        # a speaker's own respondent id (``speakers`` sheet) wins over the interview's
        rid = ("coalesce(sp.respondent_id, i.respondent_id)" if self.has_column("speakers", "respondent_id")
               else "i.respondent_id")
        if figures_only:
            cols = "s.segment_id, s.interview_id, s.turn_index, s.seg_index, s.role, s.n_words"
        else:
            cols = "s.*" if with_text else "s.* EXCLUDE (text_raw, text, prev_question)"
        source = "" if figures_only else "i.source_file, i.source_pseudo, i.format, "
        conds, params = [], []
        base = "segments"
        if segment_ids is not None:
            segment_ids = list(segment_ids)
            if segment_ids:       # a few rows (search results): selected first, then joined (0.1 s -> 0.01 s on 100k)
                base = "_tm_sel"
                params += segment_ids
        sql = ((f"WITH _tm_sel AS MATERIALIZED (SELECT * FROM segments WHERE segment_id IN "
                f"({', '.join('?' * len(segment_ids))})) " if base == "_tm_sel" else "")
               + f"SELECT {cols}, i.wave, i.date, i.territory, i.structure_type, {rid} AS respondent_id, "
               f"{source}i.attrs, "
               + ("i.attrs_public " if self.has_column("interviews", "attrs_public")       # older stores lack it
                  else "CAST(NULL AS VARCHAR) AS attrs_public ")
               + f"FROM {base} s JOIN interviews i USING (interview_id)"
               + (" LEFT JOIN speakers sp ON sp.interview_id = s.interview_id AND sp.speaker = s.speaker"
                  if rid != "i.respondent_id" else ""))
        if roles == "respondents":
            conds.append("s.role NOT IN ('interviewer', 'other')")
        elif roles not in (None, "all"):
            roles = list(roles)
            conds.append(f"s.role IN ({', '.join('?' * len(roles))})")
            params += roles
        if waves is not None:
            waves = [str(w) for w in waves]
            conds.append(f"i.wave IN ({', '.join('?' * len(waves))})")
            params += waves
        if interview_ids is not None:
            ids = list(interview_ids)
            conds.append(f"s.interview_id IN ({', '.join('?' * len(ids))})")
            params += ids
        if segment_ids is not None and not segment_ids:
            conds.append("FALSE")
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += " ORDER BY s.interview_id, s.turn_index, s.seg_index"
        return self.query_arrow(sql, params) if (figures_only or not with_text) else self.con.execute(sql, params).df()

    # ------------------------------------------------------------------ pseudonyms
    def pseudonym_map(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM pseudonym_map ORDER BY kind, placeholder").df()

    def add_pseudonyms(self, rows: pd.DataFrame) -> None:
        """Insert new ``(kind, key, original, placeholder, first_seen)`` rows (existing keys kept)."""
        if rows.empty:
            return
        with self.transaction():
            self.con.register("_tm_ps", rows[["kind", "key", "original", "placeholder", "first_seen"]])
            try:
                self.con.execute("INSERT INTO pseudonym_map SELECT * FROM _tm_ps "
                                 "WHERE (kind, key) NOT IN (SELECT kind, key FROM pseudonym_map)")
            finally:
                self.con.unregister("_tm_ps")

    # ------------------------------------------------------------------ embedding cache
    def count_embeddings(self, encoder_id: str, hashes: list[str]) -> int:
        """How many of the distinct ``hashes`` have a cached vector for ``encoder_id``."""
        if not hashes:
            return 0
        self.con.register("_tm_hc", pd.DataFrame({"text_hash": list(dict.fromkeys(hashes))}))
        try:
            return int(self.con.execute("SELECT count(*) FROM embeddings e JOIN _tm_hc USING (text_hash) "
                                        "WHERE e.encoder_id = ?", [encoder_id]).fetchall()[0][0])
        finally:
            self.con.unregister("_tm_hc")

    def embedding_matrix(self, encoder_id: str, hashes: list[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(matrix, found)``: cached vectors as one ``(len(hashes), dim)`` float32 array read
        through Arrow (no per-float Python objects), zero rows where ``found`` is False."""
        out = np.zeros((len(hashes), dim), dtype=np.float32)
        found = np.zeros(len(hashes), dtype=bool)
        if not hashes:
            return out, found
        q = pd.DataFrame({"text_hash": hashes, "pos": np.arange(len(hashes), dtype=np.int64)})
        self.con.register("_tm_hm", q)
        try:
            tbl = self.con.sql(
                "SELECT q.pos, e.vector FROM _tm_hm q JOIN embeddings e ON e.text_hash = q.text_hash "
                "AND e.encoder_id = $enc", params={"enc": encoder_id}).to_arrow_table()
        finally:
            self.con.unregister("_tm_hm")
        if tbl.num_rows:
            pos = tbl.column("pos").to_numpy()
            vec = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            out[pos] = np.asarray(vec, dtype=np.float32).reshape(len(pos), dim)
            found[pos] = True
        return out, found

    def put_embeddings(self, encoder_id: str, hashes: list[str], vectors: np.ndarray) -> None:
        """Cache vectors (a store opened read-only keeps nothing: the vectors are used and lost)."""
        if not hashes or self.read_only:
            return
        df = pd.DataFrame({"encoder_id": encoder_id, "text_hash": hashes,
                           "vector": [np.asarray(v, dtype=np.float32).tolist() for v in vectors]})
        df = df.drop_duplicates("text_hash")
        with self.transaction():
            self.con.register("_tm_e", df)
            try:
                self.con.execute("INSERT INTO embeddings SELECT encoder_id, text_hash, vector::FLOAT[] "
                                 "FROM _tm_e WHERE text_hash NOT IN "
                                 "(SELECT text_hash FROM embeddings WHERE encoder_id = ?)", [encoder_id])
            finally:
                self.con.unregister("_tm_e")


    # ------------------------------------------------------------------ derived arrays
    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def save_arrays(self, name: str, arrays: dict[str, np.ndarray], info: dict[str, Any], *,
                    add: bool = False) -> None:
        """Write ``arrays`` as ``.npy`` files and ``info`` (JSON) under ``DIR/index``.

        A new set replaces the old one at once: its files carry a fresh token and the JSON
        naming them is swapped in by rename, so a reader sees the old set or the new one, never
        a mix. ``add=True`` adds arrays (and info keys) to the current set instead."""
        d = self.index_dir
        d.mkdir(exist_ok=True)
        head_path = d / f"{name}.json"
        old = json.loads(head_path.read_text(encoding="utf-8")) if head_path.exists() else None
        if add and old is None:
            raise TextmineError(E.E004, path=head_path, detail="no array set to add to")
        head = {"token": old["token"], "files": dict(old["files"]), "info": {**old["info"], **info}} if add \
            else {"token": uuid.uuid4().hex[:12], "files": {}, "info": info}
        for key, arr in arrays.items():
            fname = f"{name}-{head['token']}-{uuid.uuid4().hex[:6]}.npy"
            np.save(d / fname, np.ascontiguousarray(arr), allow_pickle=False)
            head["files"][key] = fname
        atomic_write(head_path, lambda tmp: tmp.write_text(json.dumps(head, ensure_ascii=False), encoding="utf-8"))
        keep = set(head["files"].values())
        for f in d.glob(f"{name}-*.npy"):
            if f.name not in keep:
                with contextlib.suppress(OSError):
                    f.unlink()

    def drop_arrays(self) -> None:
        """Remove every array set under ``DIR/index`` (each is derived from the stored segments
        and rebuilt by its reader when missing): called when an interview is replaced or deleted,
        so no snapshot keeps an id or a word of a text no longer stored."""
        d = self.index_dir
        if self.read_only or not d.is_dir():
            return
        for f in [*d.glob("*.json"), *d.glob("*.npy")]:
            with contextlib.suppress(OSError):
                f.unlink()

    def load_arrays(self, name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """``(info, arrays)`` saved by :meth:`save_arrays`, arrays memory-mapped read-only;
        None when there is no complete set."""
        head_path = self.index_dir / f"{name}.json"
        try:
            head = json.loads(head_path.read_text(encoding="utf-8"))
            arrays = {k: np.load(self.index_dir / f, mmap_mode="r", allow_pickle=False)
                      for k, f in head["files"].items()}
        except (OSError, ValueError, KeyError):
            return None
        return head["info"], arrays


def init_project(root: str | Path, *, config_path: str | Path | None = None,
                 codebook: str | Path | None = None) -> Path:
    """Create a project folder whose ``textmine.yaml`` names its codebook; E008 when the folder
    already holds a project (its settings are then edited in its ``textmine.yaml``)."""
    root = Path(root)
    if (root / CONFIG_NAME).exists() or (root / DB_NAME).exists():
        raise TextmineError(E.E008, path=root, detail=f"{root} already holds a project",
                            fix=f"Edit {root / CONFIG_NAME} (e.g. themes.codebook) instead, or choose a new folder.")
    root.mkdir(parents=True, exist_ok=True)
    write_project_config(root / CONFIG_NAME, config_path, codebook)
    Store(root, create=True, config_path=config_path).close()
    return root / CONFIG_NAME


def _open_error(root: Path, db_path: Path, exc: Exception) -> TextmineError:
    """E007 when another process is writing the project (a `textmine run`, named with its PID
    and start time, or another command), else E004."""
    run = holder(root)
    if run is not None and run["pid"] != str(os.getpid()):     # the lock this command holds names itself
        return TextmineError(E.E007, path=root, detail=f"a textmine run (PID {run['pid']}, started at "
                                                       f"{run['started']}) is writing this project")
    m = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(exc))
    if m:
        return TextmineError(E.E007, path=root, detail=f"another process ({Path(m.group(1)).name}, PID "
                                                       f"{m.group(2)}) is writing this project")
    return TextmineError(E.E004, path=db_path, detail=str(exc))
