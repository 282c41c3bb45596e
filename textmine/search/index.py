"""The search index: spaCy lemmas and a surface-form table stored in the project, and a
snapshot of arrays that a new process memory-maps in milliseconds.

Stored tables (built by :func:`update_index`, kv ``search.index``):

- ``search_lemmas(segment_id, text_hash, lemmas)``: the folded lemmas of every respondent
  segment's pseudonymised text. Only segments that are new or whose text changed
  (``text_hash`` = md5 of ``text_pseudo``) are lemmatised, and rows of deleted segments are
  dropped, so adding a wave costs the new wave only.
- ``search_forms(form, lemma, keep, n)``: how often spaCy gave each folded surface form of
  the corpus each lemma (and whether it was a search term). Queries are lemmatised with this
  table (:func:`form_table`), so a search never loads spaCy. It is the sum over interviews of
  ``search_form_counts(interview_id, form, lemma, keep, n)``: when an interview is replaced or
  deleted its counts go with its segments (:data:`textmine.store.DERIVED_TABLES`) and the
  form table is rebuilt from the counts, so no form of a text no longer stored survives.

Snapshot (``DIR/index/search*``, through :meth:`Store.save_arrays`): the respondent segments'
ids, their wave/role/territory codes and interview, the BM25 matrix (``bm25s`` scores, CSC by
lemma) and, per encoder, the passage embeddings of the segments' analysis text (the cache the
embed stage fills). It records the store's :func:`content_signature`; a snapshot whose
signature differs is rebuilt (and the lemma table updated first). A search then reads the
filters, scores and vectors from memory-mapped arrays and only the rows it returns from the
store.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import duckdb
import numpy as np
import pandas as pd

from ..embed import embed_texts, encoder_key, text_hash
from ..french import LEMMA_RULES, prepare_lemma_tokens
from ..store import Store
from .text import analyse, single_blas

INDEX_VERSION = 3          # 3: search_form_counts (per interview) under search_forms
KV_KEY = "search.index"
SNAPSHOT = "search"
_TABLES = ("search_lemmas", "search_forms", "search_form_counts")     # schemas: textmine.records.TABLES
_RESPONDENT = "s.role NOT IN ('interviewer', 'other')"
_FILTER_COLUMNS = ("wave", "role", "territory")
#: ``search_forms`` is short of ``search_form_counts`` (rows of a replaced interview dropped)
_FORMS_STALE = """SELECT (SELECT coalesce(sum(n), 0) FROM search_forms)
                         <> (SELECT coalesce(sum(n), 0) FROM search_form_counts)"""


def _spacy_model(store: Store) -> str:
    return store.config.segment.spacy_model


def save_lemmas(store: Store, chunk: pd.DataFrame, lemmas: list[str], forms: Counter) -> None:
    """Store the lemmas of ``chunk`` (``segment_id``, ``h`` = md5 of ``text_pseudo``) and add
    the ``(interview_id, form, lemma, keep)`` counts of ``forms`` to the per-interview form
    counts and to the form table, in one transaction."""
    frame = pd.DataFrame({"segment_id": chunk["segment_id"].values, "text_hash": chunk["h"].values,
                          "lemmas": lemmas})
    fr = pd.DataFrame([(i, f, lem, keep, n) for (i, f, lem, keep), n in forms.items()],
                      columns=["interview_id", "form", "lemma", "keep", "n"])
    with store.transaction() as con:     # one committed batch at a time: resumable
        con.register("_tm_lem", frame)
        con.register("_tm_forms", fr)
        try:
            con.execute("DELETE FROM search_lemmas WHERE segment_id IN (SELECT segment_id FROM _tm_lem)").fetchall()
            con.execute("INSERT INTO search_lemmas SELECT segment_id, text_hash, lemmas FROM _tm_lem").fetchall()
            con.execute("""INSERT INTO search_form_counts SELECT interview_id, form, lemma, keep, n FROM _tm_forms
                           ON CONFLICT DO UPDATE SET n = search_form_counts.n + excluded.n""").fetchall()
            con.execute("""INSERT INTO search_forms SELECT form, lemma, keep, sum(n) FROM _tm_forms GROUP BY ALL
                           ON CONFLICT DO UPDATE SET n = search_forms.n + excluded.n""").fetchall()
        finally:
            con.unregister("_tm_lem")
            con.unregister("_tm_forms")


def _todo(store: Store, everything: bool = False) -> pd.DataFrame:
    """The respondent segments whose lemmas are missing or were taken from another text (all of
    them with ``everything`` or before the table exists)."""
    stale = ""
    if store.has_table("search_lemmas") and not everything:
        stale = (" AND segment_id NOT IN (SELECT segment_id FROM search_lemmas l "
                 "WHERE l.text_hash = md5(coalesce(s.text_pseudo, '')))")
    return store.query(
        f"""SELECT s.segment_id, s.interview_id, coalesce(s.text_pseudo, '') AS text,
                   md5(coalesce(s.text_pseudo, '')) AS h
            FROM segments s WHERE {_RESPONDENT}{stale} ORDER BY s.segment_id""")


def _other_lemmatiser(store: Store) -> bool:
    """Was the index made by another lemmatiser (spaCy model or index version)? Then it is made again."""
    state = store.get_kv(KV_KEY) or {}
    return state.get("spacy_model") != _spacy_model(store) or state.get("version") != INDEX_VERSION \
        or state.get("lemma_rules", 1) != LEMMA_RULES


def pending_texts(store: Store) -> list[str]:
    """The texts :func:`update_index` would lemmatise now (``textmine run`` lemmatises them with
    the other stages' in one pass of worker processes)."""
    return _todo(store, everything=_other_lemmatiser(store))["text"].tolist()


def update_index(store: Store, *, batch: int = 2000, advance: Callable[[int], None] | None = None) -> dict[str, int]:
    """Bring ``search_lemmas``, ``search_form_counts`` and ``search_forms`` up to date with the
    respondent segments. A replaced or deleted interview's lemma rows and form counts were
    dropped with its segments (:data:`textmine.store.DERIVED_TABLES`); the form table, their
    sum over interviews, is then rebuilt from the counts so the old text's forms leave it too."""
    model = _spacy_model(store)
    state = store.get_kv(KV_KEY) or {}
    other = _other_lemmatiser(store)
    with store.transaction() as con:
        store.ensure_tables(*_TABLES)
        if other:
            for t in ("search_lemmas", "search_forms", "search_form_counts"):   # other lemmatiser: rebuild all
                con.execute(f"DELETE FROM {t}").fetchall()
        removed = con.execute(
            f"""DELETE FROM search_lemmas WHERE segment_id NOT IN
                (SELECT segment_id FROM segments s WHERE {_RESPONDENT})""").fetchall()[0]
        con.execute("DELETE FROM search_form_counts WHERE interview_id NOT IN (SELECT interview_id FROM interviews)"
                    ).fetchall()
    todo = _todo(store)
    prepare_lemma_tokens(todo["text"].tolist(), model)      # all at once: in worker processes when many
    for i in range(0, len(todo), batch):
        chunk = todo.iloc[i:i + batch]
        lemmas, forms = [], Counter()
        with single_blas():
            for iid, toks in zip(chunk["interview_id"], analyse(chunk["text"].tolist(), model)):
                lemmas.append(" ".join(t.lemma for t in toks if t.keep))
                forms.update((iid, t.form, t.lemma, t.keep) for t in toks)
        save_lemmas(store, chunk, lemmas, forms)
        if advance:
            advance(len(chunk))
    if store.con.execute(_FORMS_STALE).fetchall()[0][0]:
        with store.transaction() as con:
            con.execute("DELETE FROM search_forms").fetchall()
            con.execute("INSERT INTO search_forms SELECT form, lemma, keep, sum(n) FROM search_form_counts "
                        "GROUP BY ALL").fetchall()
    total = int(store.query("SELECT count(*) AS n FROM search_lemmas")["n"].iloc[0])
    removed_n = int(removed[0]) if removed and removed[0] is not None else 0
    unchanged = not len(todo) and not removed_n and not other and state.get("segments") == total
    if unchanged:
        return {"lemmatised": 0, "removed": 0, "segments": total}
    store.set_kv(KV_KEY, {"version": INDEX_VERSION, "lemma_rules": LEMMA_RULES, "spacy_model": model, "segments": total,
                          "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")})
    return {"lemmatised": len(todo), "removed": removed_n, "segments": total}


#: read-only stores (``db path -> (form, lemma, keep) counts``) of the segments :func:`_index_rows`
#: analysed in memory: their forms count in :func:`form_table` as if stored
_MEMORY_FORMS: dict[str, Counter] = {}


def form_table(store: Store, forms: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """``folded form -> (lemma, is a search term)``, the most frequent reading of each of
    ``forms`` in the corpus; forms the corpus never had are absent."""
    forms = sorted(set(forms))
    memory = _MEMORY_FORMS.get(str(store.db_path.resolve())) if store.read_only else None
    if forms and memory:
        return _merged_forms(store, forms, memory)
    if not forms or not store.has_table("search_forms"):
        return {}
    rows = store.con.execute(
        f"""SELECT form, lemma, keep FROM search_forms WHERE form IN ({', '.join('?' * len(forms))})
            QUALIFY row_number() OVER (PARTITION BY form ORDER BY n DESC, lemma, keep DESC) = 1""",
        forms).fetchall()
    return {f: (lem, bool(k)) for f, lem, k in rows}


def _merged_forms(store: Store, forms: list[str], memory: Counter) -> dict[str, tuple[str, bool]]:
    """:func:`form_table` from the stored counts plus those made in memory."""
    counts = Counter({k: n for k, n in memory.items() if k[0] in set(forms)})
    if store.has_table("search_forms"):
        counts.update({(f, lem, bool(k)): int(n) for f, lem, k, n in store.con.execute(
            f"SELECT form, lemma, keep, n FROM search_forms WHERE form IN ({', '.join('?' * len(forms))})",
            forms).fetchall()})
    best: dict[str, tuple[int, str, bool]] = {}
    for (f, lem, keep), n in counts.items():       # most frequent, then lemma, then keep first (as stored)
        cur = best.get(f)
        if cur is None or (-n, lem, not keep) < (-cur[0], cur[1], not cur[2]):
            best[f] = (n, lem, keep)
    return {f: (lem, keep) for f, (_, lem, keep) in best.items()}


def content_signature(store: Store) -> str:
    """Cheap fingerprint of the searchable content, without scanning the segment texts.

    Segments are only ever written whole per interview (:meth:`Store.replace_interview`,
    which sets a new ``ingested_at``), so the interviews table (a few hundred rows) plus the
    segment and lemma counts tell when the index is stale.
    """
    sql = """SELECT (SELECT count(*) FROM interviews),
        (SELECT coalesce(bit_xor(hash(interview_id, ingested_at, source_hash, wave, territory, structure_type,
                                      attrs, source_pseudo, n_turns)), 0) FROM interviews),
        (SELECT count(*) FROM segments), {lemmas}, (SELECT value FROM kv WHERE key = '""" + KV_KEY + "')"
    try:        # one round trip: this runs before every search
        row = store.con.execute(sql.format(lemmas="(SELECT count(*) FROM search_lemmas)")).fetchall()[0]
    except duckdb.CatalogException:
        row = store.con.execute(sql.format(lemmas="0")).fetchall()[0]
    return hashlib.sha1(":".join(str(x) for x in row).encode()).hexdigest()


def _vector_key(encoder) -> str:
    return "vectors:" + encoder_key(encoder)


@dataclass
class SearchIndex:
    """Memory-mapped search structures over the respondent segments of one store."""

    segment_ids: np.ndarray                  # (n,) str, index order = store order of segments
    codes: dict[str, np.ndarray]             # wave/role/territory/interview -> (n,) int32 codes
    categories: dict[str, list[str]]         # the values the codes stand for
    bm25: dict[str, np.ndarray]              # data, indices, indptr (CSC by lemma id)
    vocab: dict[str, int]                    # lemma -> id
    signature: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)   # encoder key -> (n, dim)

    def __len__(self) -> int:
        return len(self.segment_ids)

    def values(self, column: str) -> list[str]:
        """Distinct non-empty values of a filter column (for validating filters)."""
        return sorted(c for c in self.categories[column] if c not in ("None", "nan", "<NA>", ""))

    def isin(self, column: str, values) -> np.ndarray:
        """Boolean mask of rows whose ``column`` is one of ``values``."""
        if column == "segment_id":     # set lookups: np.isin sorts the 100k strings (about twice as long)
            wanted = set(map(str, values))
            return np.fromiter((s in wanted for s in self.segment_ids.tolist()), dtype=bool, count=len(self))
        wanted = set(map(str, values))
        return np.isin(self.codes[column], [i for i, c in enumerate(self.categories[column]) if c in wanted])

    def row_frame(self, interviews: pd.DataFrame) -> pd.DataFrame:
        """One row per segment with its interview's metadata and its own role (attribute filters)."""
        itv = interviews.set_index("interview_id").reindex(self.categories["interview"]).reset_index()
        rows = itv.iloc[np.asarray(self.codes["interview"])].reset_index(drop=True)
        rows["role"] = np.asarray(self.categories["role"], dtype=object)[np.asarray(self.codes["role"])]
        return rows

    def keyword_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 scores of every segment for ``terms`` (lemmas or forms; unknown ones ignored),
        as ``bm25s.BM25.get_scores`` computes them from its eager score matrix."""
        scores = np.zeros(len(self), dtype=np.float32)
        data, indices, indptr = self.bm25["data"], self.bm25["indices"], self.bm25["indptr"]
        for t in terms:
            j = self.vocab.get(t)
            if j is not None:
                a, b = int(indptr[j]), int(indptr[j + 1])
                np.add.at(scores, indices[a:b], data[a:b])
        return scores

    def passage_vectors(self, store: Store, encoder) -> np.ndarray:
        """Embeddings of the segments' analysis text: memory-mapped from the snapshot, or read
        from the store's embedding cache once (encoding what is missing) and added to it."""
        key = _vector_key(encoder)
        if key not in self.vectors:
            texts = store.segments_frame(roles="respondents")["text"].fillna("").astype(str)
            X = passage_matrix(store, texts.tolist(), encoder)
            if not store.read_only:
                store.save_arrays(SNAPSHOT, {key: X}, {}, add=True)
            self.vectors[key] = X
        return self.vectors[key]

    @classmethod
    def load(cls, store: Store, signature: str) -> "SearchIndex | None":
        """The saved snapshot when it matches ``signature``, else None."""
        snap = store.load_arrays(SNAPSHOT)
        if snap is None or snap[0].get("signature") != signature or snap[0].get("version") != INDEX_VERSION \
                or snap[0].get("lemma_rules", 1) != LEMMA_RULES:     # lemmas made by other rules: made again
            return None
        info, arr = snap
        return cls(segment_ids=arr["segment_ids"], codes={c: arr[f"codes:{c}"] for c in info["categories"]},
                   categories=info["categories"], bm25={k: arr[f"bm25:{k}"] for k in ("data", "indices", "indptr")},
                   vocab=info["vocab"], signature=signature,
                   vectors={k: v for k, v in arr.items() if k.startswith("vectors:")})

    @classmethod
    def build(cls, store: Store, signature: str) -> "SearchIndex":
        """Build from the stored lemmas (BM25 with ``bm25s``) and save the snapshot."""
        import bm25s   # heavy: only when the snapshot is rebuilt
        meta = _index_rows(store)
        corpus = [(x or "").split() for x in meta["lemmas"]]
        bm = bm25s.BM25()
        if len(meta):
            bm.index(corpus, show_progress=False)
            bm25 = {k: np.asarray(bm.scores[k]) for k in ("data", "indices", "indptr")}
            vocab = {str(k): int(v) for k, v in bm.vocab_dict.items()}
        else:
            bm25 = {"data": np.zeros(0, np.float32), "indices": np.zeros(0, np.int32), "indptr": np.zeros(1, np.int32)}
            vocab = {}
        codes, categories = {}, {}
        for col, src in (*((c, c) for c in _FILTER_COLUMNS), ("interview", "interview_id")):
            cat = pd.Categorical(meta[src].astype(str))
            codes[col] = cat.codes.astype(np.int32)
            categories[col] = [str(c) for c in cat.categories]
        ids = meta["segment_id"].astype(str).to_numpy().astype(str)
        idx = cls(ids, codes, categories, bm25, vocab, signature)
        arrays = {"segment_ids": ids, **{f"codes:{c}": v for c, v in codes.items()},
                  **{f"bm25:{k}": v for k, v in bm25.items()}}
        if len(ids) and not store.read_only:
            store.save_arrays(SNAPSHOT, arrays, {"version": INDEX_VERSION, "lemma_rules": LEMMA_RULES, "signature": signature,
                                                 "categories": categories, "vocab": vocab})
        return idx


def passage_matrix(store: Store, texts: list[str], encoder) -> np.ndarray:
    """Passage embeddings of ``texts`` read from the store's cache in one Arrow batch;
    texts not embedded yet are encoded now (and cached) through :func:`embed_texts`."""
    X, found = store.embedding_matrix(encoder_key(encoder), [text_hash(t) for t in texts], encoder.dim)
    todo = np.flatnonzero(~found)
    if len(todo):
        X[todo] = embed_texts(store, [texts[i] for i in todo], encoder, batch_size=store.config.embed.batch_size)
    return X


def _index_rows(store: Store) -> pd.DataFrame:
    """The respondent segments in index order with their filter columns and stored lemmas. On
    a store opened read-only (a project on a read-only disk), the lemmas of segments not
    indexed yet, or whose text changed, are made in memory: nothing is written."""
    has = store.has_table("search_lemmas")
    fresh = "l.text_hash = md5(coalesce(s.text_pseudo, ''))" if has else "false"
    meta = store.query(
        f"""SELECT s.segment_id, s.interview_id, s.role, i.wave, i.territory,
                   {'l.lemmas' if has else 'CAST(NULL AS VARCHAR)'} AS lemmas, coalesce({fresh}, false) AS fresh
                   {", coalesce(s.text_pseudo, '') AS text" if store.read_only else ""}
            FROM segments s JOIN interviews i USING (interview_id)
            {'LEFT JOIN search_lemmas l USING (segment_id)' if has else ''}
            WHERE {_RESPONDENT} ORDER BY s.interview_id, s.turn_index, s.seg_index""")
    todo = np.flatnonzero(~meta.pop("fresh").astype(bool).to_numpy())
    if store.read_only:
        texts = meta.pop("text")
        forms = _MEMORY_FORMS.setdefault(str(store.db_path.resolve()), Counter())
        forms.clear()
        if len(todo):
            with single_blas():
                toks = list(analyse(texts.iloc[todo].tolist(), _spacy_model(store)))
            meta.loc[meta.index[todo], "lemmas"] = [" ".join(t.lemma for t in tk if t.keep) for tk in toks]
            forms.update((t.form, t.lemma, t.keep) for tk in toks for t in tk)
    return meta


_CACHE: dict[str, SearchIndex] = {}


def get_index(store: Store, *, on_start: Callable[[int | None], None] | None = None,
              advance: Callable[[int], None] | None = None) -> SearchIndex:
    """The up-to-date index of ``store``: this process's copy, else the saved snapshot, else
    (content changed) the lemma tables are updated, then the snapshot rebuilt and saved
    (``on_start(None)`` is called first: only then is there work to show progress for)."""
    key = str(store.db_path.resolve())
    sig = content_signature(store)
    cached = _CACHE.get(key)
    if cached is not None and cached.signature == sig:
        return cached
    idx = SearchIndex.load(store, sig)
    if idx is None and store.read_only:      # nothing is written: the lemmas as stored (or made in memory)
        idx = SearchIndex.build(store, sig)
    if idx is None:
        if on_start:
            on_start(None)
        update_index(store, advance=advance)
        sig = content_signature(store)
        idx = SearchIndex.load(store, sig) or SearchIndex.build(store, sig)
    _CACHE[key] = idx
    return idx


def refresh_index(store: Store, encoder, *, on_start: Callable[[int | None], None] | None = None,
                  advance: Callable[[int], None] | None = None) -> dict[str, int | bool]:
    """Bring the whole search index up to date (lemma and form tables, snapshot, the passage
    vectors of ``encoder``), so that the next search, in any process, does no indexing work.
    ``{"skipped": True}`` when the saved snapshot was already current."""
    sig = content_signature(store)
    idx = SearchIndex.load(store, sig)
    if idx is not None and _vector_key(encoder) in idx.vectors:
        return {"skipped": True}
    if on_start:
        on_start(None)
    lemmatised = 0
    if idx is None:
        lemmatised = update_index(store, advance=advance)["lemmatised"]
        sig = content_signature(store)
        idx = SearchIndex.load(store, sig) or SearchIndex.build(store, sig)
    idx.passage_vectors(store, encoder)
    _CACHE[str(store.db_path.resolve())] = idx
    return {"segments": len(idx), "lemmatised": lemmatised}


__all__ = ["update_index", "get_index", "refresh_index", "form_table", "content_signature", "passage_matrix",
           "SearchIndex"]
