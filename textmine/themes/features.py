"""Features shared by the theme coders.

- :func:`encode` — passage/query embeddings with an in-process memo (cross-validation and
  repeated calls never re-encode a text) and, when a store is given, the store's cache.
- :class:`Prototypes` — the codebook embedded once: label+definition and include criteria
  in ``query`` mode (E5's asymmetric retrieval: a short description retrieving passages),
  examples in ``passage`` mode (passage/passage similarity).
- :func:`similarity_features` — per theme: similarity to the definition, best include
  criterion, mean of the two closest examples; centred across themes for each segment so
  that the general "similarity level" of a text (length, register) cancels out.
- :func:`as_frame` — accepts a list of texts or a frame with ``text`` (+ ``role``).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..embed import Encoder, embed_texts, encoder_key
from ..french import CONTENT_FILLER_PATTERN
from ..records import KNOWN_ROLES
from .codebook import POSTURE_LABELS, Codebook, normalise

_MEMO: dict[tuple[str, str, str], np.ndarray] = {}
ROLES = tuple(r for r in KNOWN_ROLES)
_FILLERS = re.compile(CONTENT_FILLER_PATTERN)


def encode(enc: Encoder, texts: Sequence[str], mode: str = "passage", store=None,
           batch_size: int = 16) -> np.ndarray:
    """Embeddings of ``texts`` (memoised per process; through the store cache if given)."""
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    key = encoder_key(enc)
    if store is not None:
        X = embed_texts(store, texts, enc, batch_size=batch_size, mode=mode)
        for t, v in zip(texts, X):
            _MEMO[(key, mode, t)] = v
        return X
    todo = list(dict.fromkeys(t for t in texts if (key, mode, t) not in _MEMO))
    todo.sort(key=len)   # batches of similar lengths: less padding in the encoder
    for i in range(0, len(todo), batch_size):
        chunk = todo[i:i + batch_size]
        for t, v in zip(chunk, enc.encode(chunk, mode=mode)):
            _MEMO[(key, mode, t)] = v
    return np.vstack([_MEMO[(key, mode, t)] for t in texts]).astype(np.float32)


def as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        df = data.copy()
        if "text" not in df.columns:
            raise ValueError("frame needs a `text` column")
    else:
        df = pd.DataFrame({"text": [str(t) for t in data]})
    df["text"] = df["text"].fillna("").astype(str)
    return df.reset_index(drop=True)


def content_words(text: str) -> int:
    """Words left once fillers and backchannels are removed (abstention signal)."""
    norm = _FILLERS.sub(" ", normalise(text))
    return len(re.findall(r"[a-z0-9]{2,}", norm))


def role_onehot(df: pd.DataFrame) -> np.ndarray:
    """``(n, len(ROLES))`` one-hot speaker roles; a row whose role is missing or not a known
    role is all NaN (the coder then gives it the training mean: "any role")."""
    out = np.full((len(df), len(ROLES)), np.nan, dtype=np.float32)
    if "role" not in df.columns:
        return out
    idx = {r: j for j, r in enumerate(ROLES)}
    for i, r in enumerate(df["role"].fillna("").astype(str)):
        if r in idx:
            out[i] = 0.0
            out[i, idx[r]] = 1.0
    return out


def _definition(item) -> str:
    return f"{item.label}. {item.definition}"


def _sublabels(codebook: Codebook) -> dict:
    return codebook.theme(codebook.posture_theme).sublabels if codebook.posture_theme else {}


def codebook_texts(codebook: Codebook) -> dict[str, list[str]]:
    """Every codebook text the coders embed, by mode: definitions and include criteria are
    queries, examples are passages (see :class:`Prototypes`)."""
    subs = _sublabels(codebook).values()
    return {"query": [_definition(t) for t in codebook.themes] + [c for t in codebook.themes for c in t.include]
            + [_definition(s) for s in subs],
            "passage": [e for t in codebook.themes for e in t.examples] + [e for s in subs for e in s.examples]}


def cache_codebook(codebook: Codebook, enc: Encoder, store) -> None:
    """Embed the codebook through the store's embedding cache (once per codebook text and
    encoder, for good) into this process's memo, so building a coder encodes nothing."""
    for mode, texts in codebook_texts(codebook).items():
        encode(enc, texts, mode=mode, store=store, batch_size=store.config.embed.batch_size)


@dataclass
class Prototypes:
    """The codebook embedded once for one encoder."""

    definition: np.ndarray                 # (T, d) query-mode
    include: list[np.ndarray]              # per theme (k, d) query-mode
    examples: list[np.ndarray]             # per theme (k, d) passage-mode
    example_texts: list[list[str]]
    sub_definition: np.ndarray             # (3, d) posture sub-labels, query-mode
    sub_examples: list[np.ndarray]         # per sub-label (k, d) passage-mode

    @classmethod
    def build(cls, codebook: Codebook, enc: Encoder) -> "Prototypes":
        defs = encode(enc, [_definition(t) for t in codebook.themes], mode="query")
        # a drafted theme without include criteria yet: its label and definition stand in
        inc = [encode(enc, t.include or [_definition(t)], mode="query") for t in codebook.themes]
        ex = [encode(enc, t.examples, mode="passage") for t in codebook.themes]
        subs = _sublabels(codebook)
        sub_def = np.zeros((len(POSTURE_LABELS), enc.dim), dtype=np.float32)
        sub_ex: list[np.ndarray] = []
        for j, lab in enumerate(POSTURE_LABELS):
            if lab in subs:
                sub_def[j] = encode(enc, [_definition(subs[lab])], mode="query")[0]
                sub_ex.append(encode(enc, subs[lab].examples, mode="passage"))
            else:
                sub_ex.append(np.zeros((1, enc.dim), dtype=np.float32))
        return cls(defs, inc, ex, [list(t.examples) for t in codebook.themes], sub_def, sub_ex)


def _top_mean(S: np.ndarray, k: int = 2) -> np.ndarray:
    """Mean of the ``k`` largest values of each row; NaN entries (examples left out) are skipped,
    so a row with one value left has that value, and a row with none is NaN."""
    missing = np.isnan(S)
    if not missing.any():
        k = min(k, S.shape[1])
        return np.sort(S, axis=1)[:, -k:].mean(axis=1)
    top = -np.sort(-np.where(missing, -np.inf, S), axis=1)[:, :k]        # largest first
    kk = np.minimum(k, (~missing).sum(axis=1))
    kept = np.arange(top.shape[1])[None, :] < kk[:, None]
    out = (np.where(kept, top, 0).sum(axis=1, dtype=S.dtype) / np.maximum(kk, 1)).astype(S.dtype)
    out[kk == 0] = np.nan
    return out


def similarity_features(X: np.ndarray, protos: Prototypes, texts: Sequence[str] | None = None) -> np.ndarray:
    """``(n, 3*T)``: centred similarities to definitions, include criteria and examples.

    When ``texts`` are given, an example identical to the text is left out (leave-one-out
    when calibrating on the codebook's own examples): the example similarity is then the mean
    of the (up to) two closest *other* examples, and NaN where the theme has no other example
    (a theme with a single example, for that example). The centring skips NaN.
    """
    T = protos.definition.shape[0]
    s_def = X @ protos.definition.T
    s_inc = np.column_stack([(X @ q.T).max(axis=1) for q in protos.include])
    cols = []
    for j in range(T):
        S = X @ protos.examples[j].T
        if texts is not None:
            for i, t in enumerate(texts):
                for k, e in enumerate(protos.example_texts[j]):
                    if e == t:
                        S[i, k] = np.nan
        cols.append(_top_mean(S))
    s_ex = np.column_stack(cols)
    with warnings.catch_warnings():          # a row with no example left at all stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        blocks = [b - (np.nanmean(b, axis=1, keepdims=True) if np.isnan(b).any() else b.mean(axis=1, keepdims=True))
                  for b in (s_def, s_inc, s_ex)]
    return np.hstack(blocks).astype(np.float32)


def sublabel_similarity(X: np.ndarray, protos: Prototypes) -> np.ndarray:
    """``(n, 3)`` centred similarity to each posture sub-label (definition + best examples)."""
    s = X @ protos.sub_definition.T + np.column_stack([_top_mean(X @ e.T) for e in protos.sub_examples])
    return (s - s.mean(axis=1, keepdims=True)).astype(np.float32)
