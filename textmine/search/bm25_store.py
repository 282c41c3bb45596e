"""Persist the BM25 matrix (``bm25s``) in the project store, so a new process loads it
instead of re-indexing every lemma.

One row in table ``search_bm25``: a key (hash of the ordered segment ids and of the
lemma index state), the vocabulary as JSON and the CSR score arrays as blobs. A different
key means the corpus changed: the caller rebuilds and saves again.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

import numpy as np

from ..store import Store



def bm25_key(segment_ids: Sequence[str], lemma_state: Any) -> str:
    h = hashlib.sha1(json.dumps(lemma_state, sort_keys=True, default=str).encode())
    h.update("\n".join(map(str, segment_ids)).encode())
    return h.hexdigest()


def save_bm25(store: Store, key: str, bm) -> None:
    s = bm.scores
    params = {"k1": bm.k1, "b": bm.b, "delta": bm.delta, "method": bm.method, "idf_method": bm.idf_method,
              "num_docs": int(s["num_docs"]), "dtypes": [str(s[k].dtype) for k in ("data", "indices", "indptr")]}
    with store.transaction() as con:
        store.ensure_tables("search_bm25")
        con.execute("DELETE FROM search_bm25").fetchall()
        con.execute("INSERT INTO search_bm25 VALUES (?, ?, ?, ?, ?, ?)",
                    [key, json.dumps(params), json.dumps(bm.vocab_dict, ensure_ascii=False),
                     np.ascontiguousarray(s["data"]).tobytes(), np.ascontiguousarray(s["indices"]).tobytes(),
                     np.ascontiguousarray(s["indptr"]).tobytes()]).fetchall()


def load_bm25(store: Store, key: str):
    """The saved ``bm25s.BM25`` for ``key``, or None."""
    import bm25s
    if not store.has_table("search_bm25"):
        return None
    rows = store.con.execute("SELECT params, vocab, data, indices, indptr FROM search_bm25 WHERE key = ?",
                             [key]).fetchall()
    if not rows:
        return None
    params, vocab, data, indices, indptr = rows[0]
    params = json.loads(params)
    dt = params.pop("dtypes")
    num_docs = params.pop("num_docs")
    bm = bm25s.BM25(**params)
    bm.vocab_dict = json.loads(vocab)
    bm.unique_token_ids_set = set(bm.vocab_dict.values())
    bm.nonoccurrence_array = None
    bm.scores = {"data": np.frombuffer(data, dtype=dt[0]), "indices": np.frombuffer(indices, dtype=dt[1]),
                 "indptr": np.frombuffer(indptr, dtype=dt[2]), "num_docs": num_docs}
    return bm
