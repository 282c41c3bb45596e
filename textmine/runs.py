"""Run manifests: the ``runs`` table and ``runs/<id>.json`` (owner of both).

:mod:`textmine.pipeline` writes a manifest at the end of each run; ``textmine runs list|show``
read them. Kept apart from the pipeline so that listing runs imports none of the stages
(scikit-learn, SciPy, spaCy ...).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import E, TextmineError
from .export.files import atomic_write
from .store import Store

COLUMNS = ["run_id", "wave", "started_at", "finished_at", "corpus_hash"]
KV_LATEST = "runs.latest"


def save_manifest(store: Store, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` to ``runs/<run_id>.json`` and the ``runs`` table; it becomes ``runs.latest``."""
    runs_dir = store.root / "runs"
    runs_dir.mkdir(exist_ok=True)
    path = runs_dir / f"{manifest['run_id']}.json"
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False,
                                                             default=str), encoding="utf-8"), private=True)
    row = pd.DataFrame([{"run_id": manifest["run_id"], "wave": manifest.get("wave"),
                         "started_at": manifest["started_at"], "finished_at": manifest["finished_at"],
                         "corpus_hash": manifest["corpus_hash"], "manifest": json.dumps(manifest, default=str)}])
    store.write_frame("runs", row, delete_where={"run_id": manifest["run_id"]} if store.has_table("runs") else None)
    store.set_kv(KV_LATEST, manifest["run_id"])
    return path


def list_runs(store: Store) -> pd.DataFrame:
    """Runs of the project, oldest first."""
    if not store.has_table("runs"):
        return pd.DataFrame(columns=COLUMNS)
    return store.query(f"SELECT {', '.join(COLUMNS)} FROM runs ORDER BY started_at")


def latest_run_id(store: Store) -> str:
    """The id of the last run whose manifest was saved ('' when none)."""
    return store.get_kv(KV_LATEST) or ""


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    """The manifest of ``run_id`` (E702 when there is none; ``latest``: the last run)."""
    if run_id == "latest":
        run_id = latest_run_id(store)
    if store.has_table("runs"):
        row = store.con.execute("SELECT manifest FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row:
            return json.loads(row[0])
    raise TextmineError(E.E702, detail=f"{run_id!r}; known: {', '.join(list_runs(store)['run_id']) or 'none'}")
