"""Keyword-in-context lines, aligned on the keyword, accent- and case-insensitive.

A multi-word query is first looked for as a phrase (``faire à la place`` also matches
``Faire a la place``); in segments without the phrase, every occurrence of a query term is
a line (same folded lemma or same folded surface form: ``fais``, ``faisait`` for ``faire``).
:func:`kwic_lines` cuts lines at spans found otherwise (``lexicon kwic`` finds them from its
token cache with :func:`sequence_spans`). :func:`sort_kwic` orders lines by their right
context (from the keyword on) or their left context (from the word just before the keyword
backwards), as concordancers do. Used by ``search --kwic`` and ``lexicon kwic``.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import pandas as pd

from ..records import wave_key
from ..store import Store
from .cite import keyword_sources
from .index import form_table
from .text import fold, lookup_terms, lookup_toks, split_tokens

KWIC_COLUMNS = ["segment_id", "left", "keyword", "right", "attribution", "source"]


def _clip_left(s: str, width: int) -> str:
    s = " ".join(s.split())
    if len(s) <= width:
        return s
    cut = s[-width:]
    sp = cut.find(" ")
    return "…" + (cut[sp + 1:] if 0 <= sp < width // 2 else cut[1:])


def _clip_right(s: str, width: int) -> str:
    s = " ".join(s.split())
    if len(s) <= width:
        return s
    cut = s[:width]
    sp = cut.rfind(" ")
    return (cut[:sp] if sp > width // 2 else cut[:-1]) + "…"


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and the index in ``text`` of every folded character."""
    folded, index = [], []
    for i, ch in enumerate(text):
        f = fold(ch)
        folded.append(f)
        index.extend([i] * len(f))
    return "".join(folded), index


def _spans(text: str, pattern: str) -> list[tuple[int, int]]:
    folded, index = _folded(text)
    return [(index[m.start()], index[m.end() - 1] + 1) for m in re.finditer(pattern, folded) if m.end() > m.start()]


def phrase_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of ``query`` as a phrase in ``text`` (folded, any punctuation/space between words)."""
    words = re.findall(r"\w+", fold(query))
    if len(words) < 2:
        return []
    return _spans(text, r"(?<!\w)" + r"\W+".join(map(re.escape, words)) + r"(?!\w)")


def sequence_spans(text: str, alternatives: Sequence[Iterable[str]]) -> list[tuple[int, int]]:
    """Character spans of consecutive words of ``text`` whose folded forms are, in order, one
    of ``alternatives[0]``, then one of ``alternatives[1]``... (folded forms; one set: single
    words). Words are separated by spaces or punctuation; an elided form such as ``l'`` may
    touch the next word."""
    parts = []
    for forms in alternatives:
        alts = sorted({f for f in forms if f}, key=len, reverse=True)
        if not alts:
            return []
        parts.append("(?:" + "|".join(map(re.escape, alts)) + ")")
    if not parts:
        return []
    return _spans(text, r"(?<!\w)" + r"(?:\W+|(?<=['’]))".join(parts) + r"(?:(?<=['’])|(?!\w))")


def kwic_lines(results: pd.DataFrame, spans: Sequence[Sequence[tuple[int, int]]], *, width: int = 40,
               keep: Sequence[str] = (), sources: Sequence[Sequence[str]] | None = None) -> pd.DataFrame:
    """One line per span of each row's ``text`` (``spans[i]`` for row ``i``); ``keep`` names
    columns of ``results`` copied onto each line after :data:`KWIC_COLUMNS`. ``sources[i][j]``:
    the reference of span ``j`` of row ``i`` (:func:`textmine.search.cite.keyword_sources`; the
    row's ``source`` without it)."""
    rows = []
    texts = results["text"].fillna("").astype(str).tolist()
    for i, (r, text, sp) in enumerate(zip(results.to_dict(orient="records"), texts, spans)):
        for j, (a, b) in enumerate(sp):
            rows.append({"segment_id": r["segment_id"], "left": _clip_left(text[:a], width),
                         "keyword": text[a:b], "right": _clip_right(text[b:], width),
                         "attribution": r["attribution"], "source": sources[i][j] if sources is not None
                         else r["source"], **{c: r[c] for c in keep}})
    return pd.DataFrame(rows, columns=KWIC_COLUMNS + [c for c in keep if c not in KWIC_COLUMNS])


def kwic(store: Store, results: pd.DataFrame, query: str, *, width: int = 40,
         keep: Sequence[str] = (), reveal: bool = False) -> pd.DataFrame:
    """One row per keyword occurrence in the ``text`` of search ``results`` (result order kept).
    Words are lemmatised with the store's table of corpus forms (no spaCy). Each line's ``source``
    is the time and line of the keyword itself (:func:`~textmine.search.cite.keyword_sources`;
    ``reveal``: the real file name, as the results were searched with)."""
    texts = results["text"].fillna("").astype(str).tolist()
    table = form_table(store, [f for t in [query, *texts] for _, _, f in split_tokens(t)])
    lemmas, forms = lookup_terms(query, table)
    targets_l, targets_f = set(lemmas) | set(forms), set(forms)
    spans = [phrase_spans(text, query) or [(t.start, t.end) for t in lookup_toks(text, table)
                                           if t.form in targets_f or (t.keep and t.lemma in targets_l)]
             for text in texts]
    return kwic_lines(results, spans, width=width, keep=keep, sources=_sources(store, results, texts, spans, reveal))


def _sources(store: Store, results: pd.DataFrame, texts: list[str], spans: list, reveal: bool) -> list[list[str]]:
    """Each span's reference: the segments' rows read back for their raw and analysis texts
    (a segment not found keeps the result's ``source``)."""
    out = [[r] * len(sp) for r, sp in zip(results["source"].tolist(), spans)]
    ids = list(dict.fromkeys(str(s) for s, sp in zip(results["segment_id"], spans) if sp))
    if not ids:
        return out
    meta = {r["segment_id"]: r for r in store.segments_frame(segment_ids=ids).to_dict(orient="records")}
    at = [k for k, (s, sp) in enumerate(zip(results["segment_id"], spans)) if sp and str(s) in meta]
    got = keyword_sources(store, [meta[str(results["segment_id"].iat[k])] for k in at], [texts[k] for k in at],
                          [spans[k] for k in at], reveal)
    for k, g in zip(at, got):
        out[k] = g
    return out


def _words(s: str) -> list[str]:
    return re.findall(r"\w+", fold(s))


def sort_kwic(lines: pd.DataFrame, by: str | None = "right", group: str | None = None) -> pd.DataFrame:
    """Lines ordered by ``group`` (natural order: ``vague2`` < ``vague10``) then by the right
    context (keyword, then the words after it) or the left context (the word just before the
    keyword, then the one before...); ``by=None`` keeps the order. Accents and case ignored."""
    if lines.empty or (by is None and group is None):
        return lines.reset_index(drop=True)
    if by not in (None, "left", "right"):
        raise ValueError(f"sort by {by!r}: left, right or None")

    def key(r) -> tuple:
        g = wave_key(r[group]) if group else []
        if by == "left":
            return (g, _words(r["left"])[::-1], _words(r["keyword"]), _words(r["right"]))
        if by == "right":
            return (g, _words(r["keyword"]), _words(r["right"]), _words(r["left"])[::-1])
        return (g,)
    order = sorted(range(len(lines)), key=lambda i: key(lines.iloc[i]))
    return lines.iloc[order].reset_index(drop=True)


def format_kwic(lines: pd.DataFrame, width: int = 40, ref: bool = False) -> str:
    """Plain aligned lines: right-aligned left context, the keyword, the right context, the
    attribution (and, with ``ref``, the source reference: file and line or timecode)."""
    out = []
    for r in lines.itertuples(index=False):
        tail = f"{r.attribution} {r.source}" if ref else r.attribution
        out.append(f"{r.left:>{width + 1}}  {r.keyword}  {r.right:<{width + 1}}  {tail}")
    return "\n".join(out)
