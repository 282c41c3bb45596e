"""The embedding cache: vectors stored in the project by ``(encoder key, sha256(text))``."""
from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import numpy as np

from .encoders import Encoder, Mode
from .registry import encoder_key


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(store, texts: Sequence[str], enc: Encoder, *, batch_size: int = 32,
                advance: Callable[[int], None] | None = None, commit_every: int = 512,
                mode: Mode = "passage") -> np.ndarray:
    """Embeddings for ``texts`` (``passage`` mode, or ``query`` mode cached under
    ``<key>#query``), through the store's cache.

    Only texts whose hash is not cached for this encoder are encoded, shortest first (batches
    of similar lengths: little padding); every ``commit_every`` texts the new vectors are
    committed (resumable). Returns ``(len(texts), dim)`` in the order of ``texts``.
    """
    key = encoder_key(enc) + ("#query" if mode == "query" else "")
    hashes = [text_hash(t) for t in texts]
    cached = store.get_embeddings(key, hashes)
    todo: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cached and h not in todo:
            todo[h] = t
    items = sorted(todo.items(), key=lambda ht: len(ht[1]))
    if advance and cached:
        advance(sum(1 for h in hashes if h in cached))
    step = max(batch_size, commit_every)
    for i in range(0, len(items), step):
        part = items[i:i + step]
        vecs = np.vstack([enc.encode([t for _, t in part[j:j + batch_size]], mode=mode)
                          for j in range(0, len(part), batch_size)])
        store.put_embeddings(key, [h for h, _ in part], vecs)
        for (h, _), v in zip(part, vecs):
            cached[h] = v
        if advance:
            advance(len(part))
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    return np.vstack([cached[h] for h in hashes]).astype(np.float32)
