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
"""
from .align import align_topics
from .fit import TopicFitResult, apply_topics, auto_min_cluster_size, fit_topics
from .persist import current_model_id, load_model
from .query import topic_assignments, topic_change, topic_quotes, topics_by, topics_table

__all__ = ["TopicFitResult", "align_topics", "apply_topics", "auto_min_cluster_size", "current_model_id",
           "fit_topics", "load_model", "topic_assignments", "topic_change", "topic_quotes", "topics_by",
           "topics_table"]
