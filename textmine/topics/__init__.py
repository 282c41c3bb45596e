"""BERTopic topic models of interview segments (per wave, role and territory).

Library API::

    res = fit_topics(store)                 # -> TopicFitResult(model_id, n_topics, outlier_share, ...)
    apply_topics(store)                     # assign new segments with the current model
    topics_table(store)                     # id, count, label, words
    topic_assignments(store)                # segment_id, topic, similarity, probability
    topics_by(store, "wave")                # topic, label, wave, count, share, interviews
    topic_quotes(store, 3, n=5)             # representative segments + metadata
    align_topics(model_a, model_b)          # topic_a, topic_b, similarity

Topics are fitted on precomputed embeddings (through the store's cache) of the raw
analysis text; topic words come from spaCy lemmas of the pseudonymised text with French
stop words and oral fillers removed.

The read side (:mod:`.query`, :mod:`.persist`) does not import BERTopic: fitting, applying
and aligning do, when first used (BERTopic and its dependencies take 10-60 s to import, which
``topics list/show/by/change`` do not need).
"""
from __future__ import annotations

import importlib
from typing import Any

from .query import (catch_all_topics, current_model_id, novelty_by_wave, topic_assignments, topic_change,
                    topic_quotes, topics_by, topics_table)

_LAZY = {"align_topics": "align", "TopicFitResult": "fit", "apply_topics": "fit", "auto_min_cluster_size": "fit",
         "fit_topics": "fit", "load_model": "persist"}

__all__ = ["TopicFitResult", "align_topics", "apply_topics", "auto_min_cluster_size", "catch_all_topics",
           "current_model_id", "fit_topics", "load_model", "novelty_by_wave", "topic_assignments", "topic_change",
           "topic_quotes", "topics_by", "topics_table"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
