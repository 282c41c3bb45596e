"""A deterministic, lexical encoder for textmine's own tests: hashed character n-grams.

Each text is lower-cased and stripped of accents; its character 3- and 4-grams (inside the text
padded with spaces) and its words are counted, each count is damped to ``1 + log(count)``, and
the sparse count vector is projected to ``dim`` dimensions by the hashing trick (feature ->
bucket and sign from a CRC-32 of the feature, the same in every process and on every machine),
then L2-normalised. Texts that share spelling get close vectors; nothing about meaning is
learned, so it says nothing about what the real encoders find.

It exists so that the test suite can run the whole pipeline (embeddings, BERTopic, the theme
coders, search) in seconds without loading a neural model. It is registered under
:data:`TEST_ENCODER` (``test-char-ngrams``) and is never a default: a project uses it only when
its config names it (``embed.encoder: test-char-ngrams``).
"""
from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from typing import Sequence

import numpy as np

from ..french import strip_accents
from .encoders import Mode, SharedModel

TEST_ENCODER = "test-char-ngrams"
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    return " ".join(strip_accents(text.lower()).split())


class CharNgramTestEncoder(SharedModel):
    """Hashed character n-grams (3, 4) and words projected to ``dim`` dimensions (see the module)."""

    id = name = TEST_ENCODER

    def __init__(self, dim: int = 256, ngrams: tuple[int, ...] = (3, 4)) -> None:
        self.dim = int(dim)
        self.ngrams = tuple(ngrams)
        self.version = f"1-d{self.dim}-n{''.join(map(str, self.ngrams))}"
        self._slot: dict[str, tuple[int, float]] = {}

    def _features(self, text: str) -> Counter:
        folded = _fold(text)
        padded = f" {folded} "
        feats = Counter(_WORD.findall(folded))
        for n in self.ngrams:
            feats.update(padded[i:i + n] for i in range(len(padded) - n + 1))
        return feats or Counter({"<empty>": 1})     # an empty text still gets a unit vector

    def _bucket(self, feature: str) -> tuple[int, float]:
        slot = self._slot.get(feature)
        if slot is None:
            h = zlib.crc32(feature.encode("utf-8"))
            slot = self._slot[feature] = (h % self.dim, 1.0 if (h >> 31) & 1 else -1.0)
        return slot

    def encode(self, texts: Sequence[str], mode: Mode = "passage") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for feature, count in self._features(str(text)).items():
                j, sign = self._bucket(feature)
                out[i, j] += sign * (1.0 + math.log(count))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms
