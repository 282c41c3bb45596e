"""The calibration tables, and the project id. This module is their ONE owner: other modules
read and write them through the functions below.

``calibration_samples`` — one row per drawn sample::

    sample_id, unit (segments | interviews), strata (JSON list), seed, created, waves (JSON list),
    params (JSON: n, n_per_stratum, oversample, the size of every stratum ...),
    frames (JSON: wave -> fingerprint of its respondent segments at draw time),
    project_id, codebook_hash

``calibration_units`` — one row per sampled respondent segment (a sampled interview gives one row
per respondent segment, all with the interview's probability)::

    sample_id, unit, unit_id, segment_id, interview_id, wave, role, stratum, inclusion_prob,
    n_stratum (units in the stratum), n_drawn (units drawn from it), text_hash, seed, created

``calibration_codes`` — one row per sample (whose sheet the code came through), coded segment
and coder: a new import of the same sample's sheet by the same coder replaces their earlier code
of that segment in that sample (a corrected sheet), and leaves their codes of the same segment
filed under other samples (nested samples share units) as they were::

    sample_id (of the sheet), segment_id, coder, coded_at (ISO, UTC, microseconds since this
    layout; seconds before), themes (';'-joined ids, '' = none), posture ('' = none), text_hash
    (of the segment when coded), source (sheet file name), row

Up to that change one row was kept per segment and coder, filed under the sample of the latest
sheet that coded it: such a store reads the same (its rows are one code per sample, segment and
coder too); the earlier sheets' codes it replaced are gone, and come back by importing those
sheets again.

Which code of a segment is read: the corrected estimates (:mod:`textmine.track.calibrated`)
read the codes of the sheet of the sample they use (a sample's design covers its own units'
codes); every use that pools the codes whatever their sample (``themes train --coded
calibration:...``, the agreement between coders, ``themes samples``, the pre-filled rows of a
new sheet) takes one code per segment and coder, the latest import (:func:`latest_codes`).

A sample's inclusion probabilities hold for the segments that existed when it was drawn: the
``frames`` fingerprint says whether a wave's respondent segments are still the same ones.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import uuid
from typing import Any, Iterable

import pandas as pd

from ..errors import E, TextmineError
from ..records import TABLES
from ..store import Store

SAMPLES, UNITS, CODES = "calibration_samples", "calibration_units", "calibration_codes"
SAMPLE_COLUMNS = TABLES[SAMPLES].names        # schemas (types): textmine.records.TABLES
UNIT_COLUMNS = TABLES[UNITS].names
CODE_COLUMNS = TABLES[CODES].names
KV_PROJECT = "project.id"
KV_VERSION = "calibration.version"
CONSENSUS = "consensus"


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def code_stamp() -> str:
    """``coded_at`` of an import: to the microsecond, so that the latest of two imports of one
    segment by one coder (through two samples' sheets) is told apart even within a second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def text_hash(text: Any) -> str:
    """Hash of a segment's analysis text (a code or a sample refers to this exact text)."""
    return hashlib.sha1(("" if text is None else str(text)).encode("utf-8")).hexdigest()[:16]


def frame_fingerprints(segments: pd.DataFrame) -> dict[str, str]:
    """``wave -> fingerprint`` of a frame of respondent segments (ids, roles and texts): a wave
    whose fingerprint changed (re-ingest, new interviews, new role mapping) is no longer the
    population its sample was drawn from."""
    out = {}
    for wave, g in segments.groupby(segments["wave"].astype(str), sort=True):
        h = hashlib.sha256()
        for sid, role, text in sorted(zip(g["segment_id"].astype(str), g["role"].astype(str),
                                          g["text"].map(text_hash))):
            h.update(f"{sid}\x1f{role}\x1f{text}\x1e".encode("utf-8"))
        out[str(wave)] = h.hexdigest()[:16]
    return out


def project_id(store: Store, create: bool = False) -> str | None:
    """This project's id (written into coding sheets to recognise them); created on demand."""
    pid = store.get_kv(KV_PROJECT)
    if pid is None and create:
        pid = uuid.uuid4().hex[:16]
        store.set_kv(KV_PROJECT, pid)
    return pid


def version(store: Store) -> int:
    """A counter bumped by every stored sample or import (the pipeline's output fingerprint)."""
    return int(store.get_kv(KV_VERSION, 0) or 0)


def digest(store: Store) -> str:
    """Fingerprint of the calibration tables (every row, :meth:`Store.row_digest`) and counter."""
    return "/".join([str(version(store))] + [store.row_digest(f"SELECT * FROM {t}") if store.has_table(t) else "-"
                                             for t in (SAMPLES, UNITS, CODES)])


def has_codes(store: Store) -> bool:
    """Whether any human code is stored."""
    return store.has_table(CODES) and bool(store.con.execute(f"SELECT count(*) FROM {CODES}").fetchall()[0][0])


def _bump(store: Store) -> None:
    store.set_kv(KV_VERSION, version(store) + 1)


def _read(store: Store, table: str, columns: list[str], where: str = "", params: list | None = None) -> pd.DataFrame:
    if not store.has_table(table):
        return pd.DataFrame(columns=columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    return store.query(f"SELECT {cols} FROM {table} {where}", params or [])


# ---------------------------------------------------------------------------- samples
def samples(store: Store) -> pd.DataFrame:
    """Every drawn sample, oldest first (``strata``, ``waves``, ``params``, ``frames`` decoded)."""
    df = _read(store, SAMPLES, SAMPLE_COLUMNS, "ORDER BY created, sample_id")
    for col in ("strata", "waves", "params", "frames"):
        df[col] = [json.loads(v) if isinstance(v, str) and v else ({} if col in ("params", "frames") else [])
                   for v in df[col]]
    return df.reset_index(drop=True)


def get_sample(store: Store, sample_id: str) -> dict:
    df = samples(store)
    hit = df[df["sample_id"] == str(sample_id)]
    if hit.empty:
        known = ", ".join(df["sample_id"]) or "none drawn yet"
        raise TextmineError(E.E409, path=store.root, detail=f"no sample {sample_id!r} (samples: {known})")
    return hit.iloc[0].to_dict()


def units(store: Store, sample_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Sampled segments (all samples, or the ones named)."""
    df = _read(store, UNITS, UNIT_COLUMNS, "ORDER BY sample_id, segment_id")
    if sample_ids is not None:
        df = df[df["sample_id"].isin([str(s) for s in sample_ids])]
    return df.reset_index(drop=True)


def save_sample(store: Store, meta: dict, unit_rows: pd.DataFrame) -> None:
    """Store a sample and its units in one transaction (E409 when the id is taken)."""
    row = {c: meta.get(c) for c in SAMPLE_COLUMNS}
    for col in ("strata", "waves", "params", "frames"):
        row[col] = json.dumps(row[col], ensure_ascii=False, sort_keys=True, default=str)
    with store.transaction():
        store.ensure_tables(SAMPLES, UNITS, CODES)
        if store.con.execute(f"SELECT count(*) FROM {SAMPLES} WHERE sample_id = ?", [row["sample_id"]]).fetchall()[0][0]:
            raise TextmineError(E.E409, path=store.root, detail=f"a sample named {row['sample_id']!r} already exists",
                                fix="Choose another --name, or leave --name out for an automatic one.")
        store.write_frame(SAMPLES, pd.DataFrame([row], columns=SAMPLE_COLUMNS))
        store.write_frame(UNITS, unit_rows.reindex(columns=UNIT_COLUMNS))
        _bump(store)


def next_sample_id(store: Store) -> str:
    taken = set(samples(store)["sample_id"])
    k = len(taken) + 1
    while f"s{k}" in taken:
        k += 1
    return f"s{k}"


# ---------------------------------------------------------------------------- codes
CODE_KEY = ["sample_id", "segment_id", "coder"]


def codes(store: Store, coder: str | None = None) -> pd.DataFrame:
    """Stored human codes (every coder, or one): one row per sample (whose sheet the code came
    through), segment and coder, so a segment shared by two samples' sheets can have two rows
    per coder (see :func:`latest_codes` for one per segment and coder)."""
    if coder is None:
        return _read(store, CODES, CODE_COLUMNS, "ORDER BY coder, segment_id, sample_id").reset_index(drop=True)
    return _read(store, CODES, CODE_COLUMNS, "WHERE coder = ? ORDER BY segment_id, sample_id",
                 [coder]).reset_index(drop=True)


def latest(store: Store, cod: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``cod`` (a frame of :func:`codes`) reduced to one per segment and coder: the latest
    import (``coded_at``; equal stamps: the later-drawn sample, then the later row)."""
    if cod.empty:
        return cod.reset_index(drop=True)
    order = {s: k for k, s in enumerate(samples(store)["sample_id"].astype(str))}
    at = pd.to_datetime(cod["coded_at"], utc=True, errors="coerce", format="ISO8601")
    key = cod.assign(_at=at, _k=cod["sample_id"].astype(str).map(order).fillna(-1), _n=range(len(cod)))
    key = key.sort_values(["_at", "_k", "_n"], kind="stable", na_position="first")
    out = key.drop_duplicates(["segment_id", "coder"], keep="last")
    return out.drop(columns=["_at", "_k", "_n"]).sort_values(["coder", "segment_id"], kind="stable") \
        .reset_index(drop=True)


def latest_codes(store: Store, coder: str | None = None) -> pd.DataFrame:
    """One code per segment and coder, whatever the sheet it came through: the latest import.
    For the uses that pool codes (training, agreement between coders, counts, pre-filled rows);
    the corrected estimates read each sample's own sheet instead."""
    return latest(store, codes(store, coder))


def own_and_elsewhere(cod: pd.DataFrame, sample_id: str) -> tuple[pd.Series, pd.Series]:
    """Masks over ``cod`` (a frame of :func:`codes`): the codes filed under ``sample_id`` (its own
    sheet), and those filed under other samples for a (segment, coder) that the sample's own sheet
    does not hold (coded only elsewhere)."""
    mine = cod["sample_id"].astype(str) == str(sample_id)
    own = set(zip(cod.loc[mine, "segment_id"], cod.loc[mine, "coder"]))
    held = pd.Series([k in own for k in zip(cod["segment_id"], cod["coder"])], index=cod.index, dtype=bool)
    return mine, ~mine & ~held


def coders(store: Store) -> list[str]:
    return sorted(codes(store)["coder"].dropna().astype(str).unique())


def save_codes(store: Store, rows: pd.DataFrame, replace: bool = False) -> None:
    """Store a coder's codes in one transaction, replacing their earlier codes of the same segments
    through the same sample's sheet (codes filed under other samples are kept). ``replace``: the
    rows replace all of their coders' codes in their samples (codes of segments not in ``rows`` go)."""
    rows = rows.reindex(columns=CODE_COLUMNS)
    with store.transaction():
        store.ensure_tables(SAMPLES, UNITS, CODES)
        store.con.register("_tm_cal", rows[CODE_KEY].astype(str))
        try:
            if replace:
                store.con.execute(f"DELETE FROM {CODES} WHERE (sample_id, coder) IN "
                                  "(SELECT DISTINCT sample_id, coder FROM _tm_cal)")
            store.con.execute(f"DELETE FROM {CODES} WHERE (sample_id, segment_id, coder) IN "
                              "(SELECT sample_id, segment_id, coder FROM _tm_cal)")
        finally:
            store.con.unregister("_tm_cal")
        store.write_frame(CODES, rows.astype({"row": str}))
        _bump(store)
