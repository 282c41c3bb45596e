"""Hybrid retrieval: embeddings (cosine) fused with BM25 over lemmas by reciprocal rank fusion."""
from __future__ import annotations

from typing import Iterable, Literal

import numpy as np
import pandas as pd

from ..attribution import attribution, display_text, source_ref
from ..embed import resolve_encoder
from ..errors import E, TextmineError
from ..pseudonymise import mask_known
from ..store import Store
from . import filters as F
from .index import SearchIndex, form_table, get_index
from .text import lookup_terms, single_blas, split_tokens

Mode = Literal["hybrid", "semantic", "keyword"]
MODES = ("hybrid", "semantic", "keyword")
RRF_K = 60          # Cormack et al. (2009): 1 / (k + rank)
RESULT_COLUMNS = ["rank", "segment_id", "interview_id", "wave", "role", "territory", "structure_type",
                  "speaker", "score", "semantic", "bm25", "text", "attribution", "source", "line", "start"]


def _top(scores: np.ndarray, cand: np.ndarray, k: int, positive: bool = False) -> np.ndarray:
    """Indices (into the full arrays) of the ``k`` best candidates, best first; ties by index."""
    if positive:
        cand = cand[scores[cand] > 0]
    if len(cand) == 0:
        return cand
    s = scores[cand]
    if len(cand) > k:
        part = np.argpartition(-s, k - 1)[:k]
        cand, s = cand[part], s[part]
    order = np.lexsort((cand, -s))
    return cand[order]


def rrf(rankings: list[np.ndarray], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for r, i in enumerate(ranking):
            fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (k + r + 1)
    return fused


def filter_mask(store: Store, idx: SearchIndex, *, themes=None, waves=None, roles=None,
                territories=None, attrs=None) -> np.ndarray:
    mask = np.ones(len(idx), dtype=bool)
    if waves:
        mask &= idx.isin("wave", waves)
    if roles:
        mask &= idx.isin("role", roles)
    if territories:
        mask &= idx.isin("territory", territories)
    if attrs:
        mask &= F.attrs_mask(idx.row_frame(store.interviews_frame()), attrs)
    if themes:
        mask &= idx.isin("segment_id", F.theme_segment_ids(store, themes))
    return mask


def check_options(store: Store, query: str, *, themes=None, waves=None, roles=None, territories=None,
                  attrs=None, mode: str | None = None, limit: int | None = None, reveal: bool = False) -> dict:
    """Validated search options, from the store's tables only (no index, no model loaded), so
    a mistyped ``--mode``, ``--limit`` or ``--wave`` is refused at once (E601/E005/E502/E403)."""
    if not query or not query.strip():
        raise TextmineError(E.E601)
    mode = mode or store.config.search.mode
    if mode not in MODES:
        raise TextmineError(E.E005, detail=f"--mode {mode!r}; valid: {', '.join(MODES)}")
    limit = store.config.search.limit if limit is None else int(limit)
    if limit < 1:
        raise TextmineError(E.E005, detail=f"--limit {limit}; valid: a positive integer")
    return {"mode": mode, "limit": limit, "themes": F.check_themes(store, themes), "roles": F.check_roles(store, roles),
            "attrs": F.check_attrs(store, attrs, reveal), "waves": F.check_waves(store, waves),
            "territories": F.check_territories(store, territories)}


def search(store: Store, query: str, *, themes: str | Iterable[str] | None = None,
           waves: str | Iterable[str] | None = None, roles: str | Iterable[str] | None = None,
           territories: str | Iterable[str] | None = None, attrs: Iterable[str] | dict | None = None,
           mode: Mode | None = None, limit: int | None = None, reveal: bool = False) -> pd.DataFrame:
    """Search respondent segments; returns ``RESULT_COLUMNS`` best first.

    ``score`` is the RRF score (hybrid), the cosine (semantic) or the BM25 score (keyword);
    ``semantic``/``bm25`` give both raw scores when computed. ``text`` is pseudonymised unless
    ``reveal``.
    """
    opts = check_options(store, query, themes=themes, waves=waves, roles=roles, territories=territories,
                         attrs=attrs, mode=mode, limit=limit, reveal=reveal)
    idx = get_index(store)
    if len(idx) == 0:
        raise TextmineError(E.E006, detail=f"{store.root} has no respondent segments")
    mode, limit = opts["mode"], opts["limit"]
    cand = np.flatnonzero(filter_mask(store, idx, themes=opts["themes"], waves=opts["waves"], roles=opts["roles"],
                                      territories=opts["territories"], attrs=opts["attrs"]))
    if mode == "keyword":   # no encoder, no BLAS: threadpoolctl's library scan (40 ms) is not needed
        return _rank(store, idx, query, cand, mode, limit, reveal)
    with single_blas():     # one BLAS thread: leaves both cores to the encoder (see text.single_blas)
        return _rank(store, idx, query, cand, mode, limit, reveal)


def _rank(store: Store, idx: SearchIndex, query: str, cand: np.ndarray, mode: str, limit: int,
          reveal: bool) -> pd.DataFrame:
    depth = max(100, 5 * limit)
    sem = bm = None
    rankings = []
    if mode in ("hybrid", "keyword"):
        lemmas, forms = query_lemmas(store, query)
        # surface forms too: a lone query word gets no context, so its lemma can be off
        bm = idx.keyword_scores(list(dict.fromkeys(lemmas + forms)))
        rankings.append(_top(bm, cand, depth if mode == "hybrid" else limit, positive=True))
    if mode in ("hybrid", "semantic"):
        # the engine that starts fastest: one query to embed (same vectors and cache key)
        enc = resolve_encoder(None, store.config, light=True)
        vecs = idx.passage_vectors(store, enc)
        # without --reveal, the names the project masks are masked in the query too: the passages'
        # embeddings hold the real names, and a name would find the passages that say it
        text = query.strip() if reveal else mask_known(query.strip(), store.pseudonym_map(), store.config.pseudonymise)
        q = enc.encode([text], mode="query")[0]
        sem = vecs @ q
        rankings.append(_top(sem, cand, depth if mode == "hybrid" else limit))
    if mode == "hybrid":
        fused = rrf(rankings)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:limit]
        scores = [fused[i] for i in order]
    else:
        order = [int(i) for i in rankings[0][:limit]]
        scores = [float((bm if mode == "keyword" else sem)[i]) for i in order]
    return _results(store, idx, order, scores, sem, bm, reveal)


def query_lemmas(store: Store, query: str) -> tuple[list[str], list[str]]:
    """``(lemmas, forms)`` of the query's search terms, from the corpus's form table."""
    return lookup_terms(query, form_table(store, [f for _, _, f in split_tokens(query)]))


def _results(store: Store, idx: SearchIndex, order: list[int], scores: list[float], sem, bm,
             reveal: bool) -> pd.DataFrame:
    ids = [str(idx.segment_ids[i]) for i in order]
    meta = store.segments_frame(segment_ids=ids).set_index("segment_id", drop=False)
    rows = []
    for rank, (i, sid, s) in enumerate(zip(order, ids, scores), 1):
        r = meta.loc[sid].to_dict()
        rows.append({
            "rank": rank, "segment_id": r["segment_id"], "interview_id": r["interview_id"],
            "wave": r.get("wave"), "role": r.get("role"), "territory": r.get("territory"),
            "structure_type": r.get("structure_type"),
            "speaker": r.get("speaker") if reveal else r.get("speaker_pseudo"),
            "score": round(float(s), 6),
            "semantic": None if sem is None else round(float(sem[i]), 6),
            "bm25": None if bm is None else round(float(bm[i]), 6),
            "text": display_text(r, reveal), "attribution": attribution(r),
            "source": source_ref(r, reveal), "line": r.get("line"), "start": r.get("start"),
        })
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
