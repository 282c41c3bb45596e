"""Glue between textmine encoders and BERTopic (no hub access, ever)."""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from bertopic.backend import BaseEmbedder
from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

from ..embed import Encoder

# BERTopic's WARNING lines (saving without an embedding model, custom topic assignments) are about
# things textmine does on purpose; they would mix into the user's output. BERTopic resets its
# logger's level whenever a model is built or loaded, so a filter keeps only its errors.
logging.getLogger("BERTopic").addFilter(lambda record: record.levelno >= logging.ERROR)


class EncoderBackend(BaseEmbedder):
    """A BERTopic embedding backend around a textmine :class:`~textmine.embed.Encoder`.

    BERTopic only calls it for topic words (KeyBERTInspired, MMR) and, in ``transform``,
    when no embeddings are given; documents are always embedded beforehand through the
    store's cache.
    """

    def __init__(self, encoder: Encoder) -> None:
        super().__init__(embedding_model=encoder)
        self.encoder = encoder
        self.n_encoded = 0
        self._memo: dict[str, np.ndarray] = {}   # topic words are embedded by KeyBERT then MMR

    def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
        docs = [str(d) for d in documents]
        todo = list(dict.fromkeys(d for d in docs if d not in self._memo))
        if todo:
            self.n_encoded += len(todo)
            for d, v in zip(todo, self.encoder.encode(todo, mode="passage")):
                self._memo[d] = v
        if not docs:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.vstack([self._memo[d] for d in docs])


class PrecomputedKeyBERT(KeyBERTInspired):
    """KeyBERTInspired that uses the right precomputed document embeddings.

    BERTopic 0.17's ``KeyBERTInspired.extract_topics`` picks precomputed embeddings by the
    *positions* of representative documents in a flat list instead of their document ids,
    i.e. the embeddings of documents 0..k. Here topic embeddings are the mean embedding of
    each topic's representative documents, looked up by id. ``doc_embeddings`` may be set
    before ``update_topics`` (which passes no embeddings).
    """

    doc_embeddings: np.ndarray | None = None

    def extract_topics(self, topic_model, documents, c_tf_idf, topics, embeddings=None):
        from sklearn.metrics.pairwise import cosine_similarity
        emb = embeddings if embeddings is not None else self.doc_embeddings
        _, repr_docs, repr_idx, repr_ids = topic_model._extract_representative_docs(
            c_tf_idf, documents, topics, self.nr_samples, self.nr_repr_docs)
        candidates = self._extract_candidate_words(topic_model, c_tf_idf, topics)
        if emb is None:
            doc_emb = topic_model._extract_embeddings(repr_docs, method="document", verbose=False)
            topic_emb = [np.mean(doc_emb[i[0]:i[-1] + 1], axis=0) for i in repr_idx]
        else:
            emb = np.asarray(emb)
            topic_emb = [np.mean(emb[documents.loc[list(r), "ID"].to_numpy(dtype=int)], axis=0) for r in repr_ids]
        vocab = sorted({w for ws in candidates.values() for w in ws})
        word_emb = topic_model._extract_embeddings(vocab, method="word", verbose=False)
        sim = cosine_similarity(np.vstack(topic_emb), word_emb)
        return self._extract_top_words(vocab, candidates, sim)


def representation_models(kind: str, top_n_words: int, random_state: int):
    """``keybert`` -> [KeyBERT, MMR]; ``mmr`` -> MMR; ``ctfidf`` -> None (plain c-TF-IDF)."""
    mmr = MaximalMarginalRelevance(diversity=0.2, top_n_words=top_n_words)
    if kind == "keybert":
        return [PrecomputedKeyBERT(top_n_words=max(top_n_words, 10) * 2, nr_repr_docs=5,
                                   nr_candidate_words=30, random_state=random_state), mmr]
    if kind == "mmr":
        return mmr
    return None
