"""Which segments topics work on, and their embeddings through the store's cache."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from ..embed import Encoder, embed_texts, encoder_key, resolve_encoder, text_hash


@dataclass
class EmbedReport:
    encoder: str        # cache key: id@version
    n_segments: int
    n_unique: int       # distinct texts
    n_new: int          # encoded now
    n_cached: int       # found in the cache


def select_segments(store, roles: str | None = None) -> pd.DataFrame:
    """Segments of config ``topics.roles`` (``respondents`` by default) or ``all``."""
    roles = roles or store.config.topics.roles
    return store.segments_frame(roles="respondents" if roles == "respondents" else "all")


def word_texts(segs: pd.DataFrame) -> list[str]:
    """Pseudonymised text feeds topic words, so no real name can become a topic word."""
    col = segs["text_pseudo"].where(segs["text_pseudo"].notna() & (segs["text_pseudo"] != ""), segs["text"])
    return col.fillna("").astype(str).tolist()


def word_counts(segs: pd.DataFrame):
    """Words of each segment's analysis text: a topic model is fitted on the segments of at least
    ``topics.min_words`` (shorter ones are assigned to the fitted topics afterwards)."""
    return segs["text"].fillna("").astype(str).str.split().str.len().to_numpy()


def fit_texts(store) -> list[str]:
    """The texts whose lemmas a topic fit reads (:func:`word_texts` of the segments it fits on)."""
    segs = select_segments(store)
    return word_texts(segs[word_counts(segs) >= store.config.topics.min_words])


def segment_texts(segs: pd.DataFrame) -> list[str]:
    """What the encoder sees: the analysis text (not lemmatised)."""
    return segs["text"].fillna("").astype(str).tolist()


def embed_segments(store, *, encoder: Encoder | str | None = None, roles: str | None = None,
                   advance: Callable[[int], None] | None = None,
                   on_start: Callable[[int], None] | None = None) -> EmbedReport:
    """Embed the selected segments through the cache; report how many were new vs cached.

    ``on_start(n_todo)`` is called with the number of distinct texts to encode before
    encoding starts (for a progress bar); ``advance(n)`` after each committed batch.
    """
    enc = resolve_encoder(encoder, store.config)
    texts = segment_texts(select_segments(store, roles))
    key = encoder_key(enc)
    hashes = list(dict.fromkeys(text_hash(t) for t in texts))
    cached = store.count_embeddings(key, hashes)
    todo = len(hashes) - cached
    if on_start:
        on_start(todo)
    uniq = list(dict.fromkeys(texts))
    # advance only for encoded texts: embed_texts reports cached ones first, skip those
    skipped = [cached]

    def _adv(n: int) -> None:
        if skipped[0] > 0:
            k = min(n, skipped[0])
            skipped[0] -= k
            n -= k
        if n and advance:
            advance(n)

    embed_texts(store, uniq, enc, batch_size=store.config.embed.batch_size, advance=_adv)
    return EmbedReport(key, len(texts), len(hashes), todo, cached)
