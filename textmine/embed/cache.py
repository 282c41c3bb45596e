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
    # the cached vectors as one float32 matrix through Arrow (a list of Python floats per vector
    # took 2 s and some 600 MB for 35,000 segments)
    X, found = store.embedding_matrix(key, hashes, enc.dim)
    todo: dict[str, str] = {}
    for h, t, ok in zip(hashes, texts, found):
        if not ok and h not in todo:
            todo[h] = t
    items = sorted(todo.items(), key=lambda ht: len(ht[1]))
    if advance and found.any():
        advance(int(found.sum()))
    new: dict[str, np.ndarray] = {}
    step = max(batch_size, commit_every)
    for i in range(0, len(items), step):
        part = items[i:i + step]
        vecs = np.vstack([enc.encode([t for _, t in part[j:j + batch_size]], mode=mode)
                          for j in range(0, len(part), batch_size)])
        store.put_embeddings(key, [h for h, _ in part], vecs)
        for (h, _), v in zip(part, vecs):
            new[h] = v
        if advance:
            advance(len(part))
    if new:
        width = len(next(iter(new.values())))
        if X.shape[1] != width and not found.any():     # an encoder that learnt its width as it loaded
            X = np.zeros((len(hashes), width), dtype=np.float32)
        for i in np.flatnonzero(~found):
            X[i] = new[hashes[i]]
    return X
