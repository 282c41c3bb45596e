"""Topic model persistence: BERTopic safetensors folders + the store's topic tables.

Tables: ``topic_models`` (model_id, encoder, config_hash, n_docs, n_topics, outlier_share,
outlier_share_before, min_cluster_size, roles, created_at), ``topic_assignments``
(``records.TOPIC_ASSIGNMENT_COLUMNS``), ``topic_info`` (model_id, topic, count, label,
words JSON list, representative segment ids JSON list). kv ``topics.current_model``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from ..embed import Encoder, resolve_encoder
from ..errors import E, TextmineError
from ..records import TOPIC_ASSIGNMENT_COLUMNS

CURRENT_KEY = "topics.current_model"
INFO_COLUMNS = ["model_id", "topic", "count", "label", "words", "representative_ids"]


def model_dir(store, model_id: str) -> Path:
    return store.models_dir / "topics" / model_id


def current_model_id(store) -> str:
    mid = store.get_kv(CURRENT_KEY)
    if not mid:
        raise TextmineError(E.E304, path=store.root, detail="no topic model has been fitted yet")
    return str(mid)


def save_model(store, model, model_id: str) -> Path:
    """BERTopic ``save`` with safetensors, c-TF-IDF, no embedding model (no pickle, no hub)."""
    path = model_dir(store, model_id)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(tmp), serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


def load_model(store, model_id: str | None = None, encoder: Encoder | None = None):
    """Reload a saved model with our encoder as embedding backend."""
    from bertopic import BERTopic

    from .backend import EncoderBackend
    mid = model_id or current_model_id(store)
    path = model_dir(store, mid)
    if not (path / "topics.json").exists():
        raise TextmineError(E.E304, path=path, detail=f"model folder of {mid} is missing or incomplete",
                            fix="Run `textmine --project DIR topics fit` again.")
    if encoder is None:
        encoder = resolve_encoder(model_record(store, mid)["encoder_name"], store.config)
    return BERTopic.load(str(path), embedding_model=EncoderBackend(encoder))


def model_record(store, model_id: str) -> dict:
    df = store.read_frame("topic_models", where={"model_id": model_id})
    if df.empty:
        raise TextmineError(E.E304, path=store.root, detail=f"model {model_id} is not recorded")
    return df.iloc[0].to_dict()


def _ensure_assignment_columns(store) -> None:
    """A store written before ``similarity`` existed gets the column (NULL for its old rows)."""
    if store.has_table("topic_assignments") and not store.has_column("topic_assignments", "similarity"):
        store.con.execute('ALTER TABLE topic_assignments ADD COLUMN similarity DOUBLE')


NOVELTY_KEY = "topics.novelty."


def write_fit(store, record: dict, assignments: pd.DataFrame, info: pd.DataFrame,
              novelty: dict | None = None) -> None:
    """Record a fitted model, its assignments and topic info, and make it current (one
    transaction). ``novelty``: the similarity below which a segment is far from its topic
    (kv ``topics.novelty.<model_id>``, see :func:`textmine.topics.query.novelty_by_wave`)."""
    mid = record["model_id"]
    info = info.copy()
    info["words"] = info["words"].map(lambda w: json.dumps(list(w), ensure_ascii=False))
    info["representative_ids"] = info["representative_ids"].map(lambda w: json.dumps(list(w)))
    with store.transaction():
        _ensure_assignment_columns(store)
        store.write_frame("topic_models", pd.DataFrame([record]), delete_where={"model_id": mid})
        store.write_frame("topic_assignments", assignments[TOPIC_ASSIGNMENT_COLUMNS],
                          delete_where={"model_id": mid})
        store.write_frame("topic_info", info[INFO_COLUMNS], delete_where={"model_id": mid})
        if novelty is not None:
            store.set_kv(NOVELTY_KEY + mid, novelty)
        store.set_kv(CURRENT_KEY, mid)


def drop_orphans(store) -> int:
    """Delete topic assignments whose segment is no longer stored; returns how many."""
    if not store.has_table("topic_assignments"):
        return 0
    with store.transaction():
        n = store.con.execute("SELECT count(*) FROM topic_assignments WHERE segment_id NOT IN "
                              "(SELECT segment_id FROM segments)").fetchall()[0][0]
        if n:
            store.con.execute("DELETE FROM topic_assignments WHERE segment_id NOT IN (SELECT segment_id FROM segments)")
    return int(n)


def append_assignments(store, assignments: pd.DataFrame) -> None:
    if assignments.empty:
        return
    with store.transaction():
        _ensure_assignment_columns(store)
        for mid, part in assignments.groupby("model_id"):
            ids = pd.DataFrame({"segment_id": part["segment_id"]})
            store.con.register("_tm_ids", ids)
            try:
                store.con.execute("DELETE FROM topic_assignments WHERE model_id = ? AND segment_id IN "
                                  "(SELECT segment_id FROM _tm_ids)", [mid])
            finally:
                store.con.unregister("_tm_ids")
        store.write_frame("topic_assignments", assignments[TOPIC_ASSIGNMENT_COLUMNS])


def read_info(store, model_id: str) -> pd.DataFrame:
    df = store.read_frame("topic_info", where={"model_id": model_id})
    if df.empty:
        return pd.DataFrame(columns=INFO_COLUMNS)
    df["words"] = df["words"].map(json.loads)
    df["representative_ids"] = df["representative_ids"].map(json.loads)
    return df.sort_values("topic").reset_index(drop=True)
