"""The search index: spaCy lemmas stored in the project, BM25 and embeddings in memory.

Stored part (table ``search_lemmas(segment_id, text_hash, lemmas)`` + kv ``search.index``):
the folded lemmas of every respondent segment's pseudonymised text. :func:`update_index`
lemmatises only segments that are new or whose text changed (``text_hash`` = md5 of
``text_pseudo``) and drops rows of deleted segments, so adding a wave costs the new wave only.

In-memory part (:class:`SearchIndex`): the segment metadata, a BM25 matrix (``bm25s``)
rebuilt from the stored lemmas (no spaCy at load time) and, for semantic search, the
passage embeddings of the segments' analysis text from the store's embedding cache (the
same vectors the topic stage uses). It is cached per process and reloaded only when the
store's content signature changes.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import numpy as np
import pandas as pd

from ..store import Store
from .text import lemmatise, single_blas

INDEX_VERSION = 1
KV_KEY = "search.index"
_TABLE = """CREATE TABLE IF NOT EXISTS search_lemmas (
    segment_id VARCHAR PRIMARY KEY, text_hash VARCHAR, lemmas VARCHAR)"""
_RESPONDENT = "s.role NOT IN ('interviewer', 'other')"


def _spacy_model(store: Store) -> str:
    return store.config.segment.spacy_model


def update_index(store: Store, *, batch: int = 2000, advance: Callable[[int], None] | None = None) -> dict[str, int]:
    """Bring ``search_lemmas`` up to date with the respondent segments. Returns counts."""
    model = _spacy_model(store)
    state = store.get_kv(KV_KEY) or {}
    with store.transaction() as con:
        con.execute(_TABLE).fetchall()
        if state.get("spacy_model") != model or state.get("version") != INDEX_VERSION:
            con.execute("DELETE FROM search_lemmas").fetchall()   # other lemmatiser: rebuild everything
        removed = con.execute(
            f"""DELETE FROM search_lemmas WHERE segment_id NOT IN
                (SELECT segment_id FROM segments s WHERE {_RESPONDENT})""").fetchall()[0]
    todo = store.query(
        f"""SELECT s.segment_id, coalesce(s.text_pseudo, '') AS text, md5(coalesce(s.text_pseudo, '')) AS h
            FROM segments s LEFT JOIN search_lemmas l USING (segment_id)
            WHERE {_RESPONDENT} AND (l.segment_id IS NULL OR l.text_hash <> md5(coalesce(s.text_pseudo, '')))
            ORDER BY s.segment_id""")
    for i in range(0, len(todo), batch):
        chunk = todo.iloc[i:i + batch]
        with single_blas():
            lem = [" ".join(x) for x in lemmatise(chunk["text"].tolist(), model)]
        frame = pd.DataFrame({"segment_id": chunk["segment_id"].values, "text_hash": chunk["h"].values,
                              "lemmas": lem})
        with store.transaction() as con:     # one committed batch at a time: resumable
            con.register("_tm_lem", frame)
            try:
                con.execute("DELETE FROM search_lemmas WHERE segment_id IN (SELECT segment_id FROM _tm_lem)").fetchall()
                con.execute("INSERT INTO search_lemmas SELECT segment_id, text_hash, lemmas FROM _tm_lem").fetchall()
            finally:
                con.unregister("_tm_lem")
        if advance:
            advance(len(chunk))
    total = int(store.query("SELECT count(*) AS n FROM search_lemmas")["n"].iloc[0])
    removed_n = int(removed[0]) if removed and removed[0] is not None else 0
    unchanged = (not len(todo) and not removed_n and state.get("spacy_model") == model
                 and state.get("version") == INDEX_VERSION and state.get("segments") == total)
    if unchanged:
        return {"lemmatised": 0, "removed": 0, "segments": total}
    store.set_kv(KV_KEY, {"version": INDEX_VERSION, "spacy_model": model, "segments": total,
                          "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")})
    return {"lemmatised": len(todo), "removed": removed_n, "segments": total}


def content_signature(store: Store) -> str:
    """Cheap fingerprint of the searchable content, without scanning the segment texts.

    Segments are only ever written whole per interview (:meth:`Store.replace_interview`,
    which sets a new ``ingested_at``), so the interviews table (a few hundred rows) plus the
    segment and lemma counts tell when the in-memory index is stale.
    """
    sql = """SELECT (SELECT count(*) FROM interviews),
        (SELECT coalesce(bit_xor(hash(interview_id, ingested_at, source_hash, wave, territory, structure_type,
                                      attrs, source_pseudo, n_turns)), 0) FROM interviews),
        (SELECT count(*) FROM segments), {lemmas}, (SELECT value FROM kv WHERE key = '""" + KV_KEY + "')"
    try:        # one round trip: this runs before every search
        row = store.con.execute(sql.format(lemmas="(SELECT count(*) FROM search_lemmas)")).fetchall()[0]
    except duckdb.CatalogException:
        row = store.con.execute(sql.format(lemmas="0")).fetchall()[0]
    return ":".join(str(x) for x in row)


@dataclass
class SearchIndex:
    """In-memory search structures over the respondent segments of one store."""

    meta: pd.DataFrame                      # segments_frame(respondents), positional order = index order
    bm25: Any                               # bm25s.BM25 over the stored lemmas
    signature: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)   # encoder key -> (n, dim)
    columns: dict[str, np.ndarray] = field(default_factory=dict)   # filter columns as arrays

    def values(self, column: str) -> list[str]:
        """Distinct non-empty values of a filter column (for validating filters)."""
        cats, _ = self._codes(column)
        return sorted(c for c in cats if c not in ("None", "nan", "<NA>", ""))

    def isin(self, column: str, values) -> np.ndarray:
        """Boolean mask of rows whose ``column`` is one of ``values`` (hash lookups, no sort)."""
        if column == "segment_id":
            return self.meta["segment_id"].isin(set(values)).to_numpy()
        cats, codes = self._codes(column)
        wanted = [i for i, c in enumerate(cats) if c in set(map(str, values))]
        return np.isin(codes, wanted)

    def _codes(self, column: str):
        key = f"_codes_{column}"
        if key not in self.columns:
            cat = pd.Categorical(self.columns[column])
            self.columns[key] = (list(cat.categories), cat.codes)
        return self.columns[key]

    @classmethod
    def build(cls, store: Store, signature: str | None = None) -> "SearchIndex":
        """Metadata from the store; BM25 loaded from the store if saved for these exact
        segments and lemmas, else rebuilt from the stored lemmas and saved."""
        import bm25s
        from .bm25_store import bm25_key, load_bm25, save_bm25
        meta = store.segments_frame(roles="respondents").reset_index(drop=True)
        lem_state = {"state": store.get_kv(KV_KEY), "n": int(store.query(
            "SELECT count(*) AS n FROM search_lemmas")["n"].iloc[0]) if store.has_table("search_lemmas") else 0}
        key = bm25_key(meta["segment_id"].tolist(), lem_state)
        bm = load_bm25(store, key) if len(meta) else None
        if bm is None and len(meta):
            lem = store.query("SELECT segment_id, lemmas FROM search_lemmas")
            lemmas = dict(zip(lem["segment_id"], lem["lemmas"]))
            corpus = [(lemmas.get(sid) or "").split() for sid in meta["segment_id"]]
            bm = bm25s.BM25()
            bm.index(corpus, show_progress=False)
            save_bm25(store, key, bm)
        cols = {c: meta[c].astype(str).to_numpy() for c in ("wave", "role", "territory")}
        return cls(meta=meta, bm25=bm, signature=signature or content_signature(store), columns=cols)

    def keyword_scores(self, lemmas: list[str]) -> np.ndarray:
        if not lemmas or len(self.meta) == 0 or self.bm25 is None:
            return np.zeros(len(self.meta), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(lemmas), dtype=np.float32)

    def passage_vectors(self, store: Store, encoder) -> np.ndarray:
        """Embeddings of the segments' analysis text (the cache the embed stage fills)."""
        from ..embed import encoder_key
        key = encoder_key(encoder)
        if key not in self.vectors:
            self.vectors[key] = passage_matrix(store, self.meta["text"].fillna("").astype(str).tolist(), encoder)
        return self.vectors[key]


def passage_matrix(store: Store, texts: list[str], encoder) -> np.ndarray:
    """Passage embeddings of ``texts`` read from the store's cache in one Arrow batch;
    texts not embedded yet are encoded now (and cached) through :func:`embed_texts`."""
    from ..embed import embed_texts, encoder_key, text_hash
    X, found = store.embedding_matrix(encoder_key(encoder), [text_hash(t) for t in texts], encoder.dim)
    todo = np.flatnonzero(~found)
    if len(todo):
        X[todo] = embed_texts(store, [texts[i] for i in todo], encoder, batch_size=store.config.embed.batch_size)
    return X


_CACHE: dict[str, SearchIndex] = {}


def get_index(store: Store, *, update: bool = True) -> SearchIndex:
    """The up-to-date in-memory index of ``store`` (lemmatising new segments first)."""
    if update:
        sig = content_signature(store)
        cached = _CACHE.get(str(store.db_path.resolve()))
        if cached is not None and cached.signature == sig:
            return cached
        update_index(store)
    sig = content_signature(store)
    key = str(store.db_path.resolve())
    cached = _CACHE.get(key)
    if cached is None or cached.signature != sig:
        cached = SearchIndex.build(store, sig)
        _CACHE[key] = cached
    return cached
