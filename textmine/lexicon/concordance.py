"""The concordancer over a whole project: every occurrence of a word or lemma in the
respondent segments, with its reference back to the transcript.

The word's forms are found in the lexicon's token cache (folded forms and lemmas: no spaCy
pass at query time): in each segment, the surface forms whose lemma is the query's (or the
query's own form with ``form_only``). A query of several words is a sequence, as in TXM:
``faire à la place`` finds ``fait à la place`` (content words by lemma, stop words by their
form). Lines are cut by the search stage's concordancer
(:func:`textmine.search.kwic.kwic_lines`), so ``lexicon kwic`` and ``search --kwic`` align
lines the same way. Lines show pseudonymised text unless ``reveal``; ``source`` is
the pseudonymous file name with the line or timecode (``itv-3f2a.docx, l. 42``) of the keyword
itself: the transcript's mark at or before its first character
(:func:`textmine.search.cite.keyword_sources`), not the segment's first word.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from ..attribution import attribution, display_text, source_ref
from ..errors import E, TextmineError
from ..french import is_stop
from ..search.cite import keyword_sources
from ..search.kwic import kwic_lines, sequence_spans, sort_kwic
from ..store import Store
from ..track.data import check_by, expand_attrs
from .tokens import load_tokens, word_forms

SORTS = ("right", "left", "none")
_ELISION = re.compile(r"^((?:l|d|j|qu|n|s|c|m|t|jusqu|lorsqu|puisqu)['’])(\w.*)$", re.IGNORECASE)


def query_words(query: str) -> list[str]:
    """The words of a query as the tokenizer cuts French text: ``l'autonomie`` is ``l'`` +
    ``autonomie``; ``aujourd'hui`` stays one word."""
    out = []
    for w in query.split():
        m = _ELISION.match(w)
        out += [m.group(1), m.group(2)] if m else [w]
    return out


def concordance(store: Store, query: str, *, by: str | None = None, width: int = 60, form_only: bool = False,
                sort: str = "right", reveal: bool = False, limit: int | None = None,
                advance: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Keyword-in-context lines of ``query`` (a word: all forms of its lemma; ``form_only``:
    that surface form only; several words: that sequence).

    Columns: ``segment_id, left, keyword, right, attribution, source, interview_id`` and, with
    ``by``, that attribute (lines grouped by it). E601 for an empty query, E802 when the word
    is not in the corpus, E501 for an unknown ``by``.
    """
    if not (query or "").strip():
        raise TextmineError(E.E601)
    if sort not in SORTS:
        raise TextmineError(E.E005, detail=f"--sort {sort!r}; valid: {', '.join(SORTS)}")
    seg, withheld = expand_attrs(store.segments_frame(roles="respondents"), reveal)   # undeclared columns: --reveal
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments in this project")
    if by:
        check_by([by], seg, withheld)
    toks = load_tokens(store, seg, advance=advance)
    words = query_words(query)
    per_word = [word_forms(toks, w, form_only=form_only or (len(words) > 1 and is_stop(w))) for w in words]
    forms = [[per_word[j][i] for j in range(len(words))] for i in range(len(toks.forms))]
    hit = np.array([all(x) for x in forms], dtype=bool)
    if not hit.any():
        raise TextmineError(E.E802, detail=f"{query!r} ({'as a form' if form_only else 'any form of its lemma'}) in "
                                           f"{len(seg)} respondent segments")
    res = seg[hit].reset_index(drop=True)
    records = res.to_dict(orient="records")
    res["text"] = [display_text(r, reveal) for r in records]
    res["attribution"] = [attribution(r) for r in records]
    res["source"] = [source_ref(r, reveal) for r in records]
    spans = [sequence_spans(t, fs) for t, fs in zip(res["text"], (x for x, h in zip(forms, hit) if h))]
    keep = ["interview_id"] + ([by] if by and by != "interview_id" else [])
    sources = keyword_sources(store, records, res["text"].tolist(), spans, reveal)   # the keyword's own time/line
    lines = kwic_lines(res, spans, width=width, keep=keep, sources=sources)
    if lines.empty:
        raise TextmineError(E.E802, detail=f"{query!r}: its words occur in {int(hit.sum())} segment(s), never in "
                                           "this order")
    if by:
        lines[by] = lines[by].map(lambda v: "(inconnu)" if v is None or v != v or str(v) == "" else str(v))
    lines = sort_kwic(lines, None if sort == "none" else sort, group=by)
    lines.attrs.update(query=query, segments=int(lines["segment_id"].nunique()), occurrences=len(lines))
    return lines.head(limit) if limit else lines
