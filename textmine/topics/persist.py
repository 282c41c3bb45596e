"""Topic model persistence: BERTopic safetensors folders (``DIR/models/topics/<model_id>``).

The store's topic tables and the current model are :mod:`.query`'s (their owner).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..embed import Encoder, resolve_encoder
from ..errors import E, TextmineError
from .query import current_model_id, model_record


def model_dir(store, model_id: str) -> Path:
    return store.models_dir / "topics" / model_id


def save_model(store, model, model_id: str) -> Path:
    """BERTopic ``save`` with safetensors, c-TF-IDF, no embedding model (no pickle, no hub)."""
    path = model_dir(store, model_id)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(tmp), serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
    # a refit of the same data has the same id: the old folder stays whole until the new one is in
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def load_model(store, model_id: str | None = None, encoder: Encoder | None = None):
    """Reload a saved model with our encoder as embedding backend."""
    from bertopic import BERTopic

    from .backend import EncoderBackend
    mid = model_id or current_model_id(store)
    path = model_dir(store, mid)
    if not (path / "topics.json").exists() and (path.with_name(path.name + ".old") / "topics.json").exists():
        path = path.with_name(path.name + ".old")    # a refit stopped between its two renames: same model
    if not (path / "topics.json").exists():
        raise TextmineError(E.E304, path=path, detail=f"model folder of {mid} is missing or incomplete",
                            fix="Run `textmine --project DIR topics fit` again.")
    if encoder is None:
        encoder = resolve_encoder(model_record(store, mid)["encoder_name"], store.config)
    return BERTopic.load(str(path), embedding_model=EncoderBackend(encoder))


