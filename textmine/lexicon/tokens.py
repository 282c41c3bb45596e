"""The lexicon's token cache and the segment x word matrices built from it.

Table ``lexicon_tokens(segment_id, text_hash, forms, lemmas, pos)`` (owned here) + kv
``lexicon.tokens``: for every respondent segment, the word tokens of its *pseudonymised*
text (so that no real name can become a "specific word"), as three aligned space-separated
lists: surface form (lower case, accents kept), spaCy lemma (lower case) and coarse part of
speech. A word token is a spaCy token with a letter in it; punctuation, numbers and
pseudonymisation placeholders (``[PERSONNE_3]``) are not words. :func:`update_tokens`
analyses only segments that are new or whose text changed, in committed batches (resumable),
with the search index's spaCy pipeline (``segment.spacy_model``, no parser or NER), through
:func:`textmine.french.lemma_tokens` (a text another stage of the run analysed is read, not
analysed again).

Word lists: a *reportable* word is at least two letters and not one of the project's French
stop words, oral fillers, noise marks or light words (:func:`textmine.french.is_stop`,
the central list); *full words* (Reinert's "formes pleines") are reportable nouns, verbs,
adjectives and adverbs.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import E, TextmineError
from ..french import LEMMA_RULES, fold, is_stop, lemma_tokens, prepare_lemma_tokens
from ..pseudonymise_lex import PLACEHOLDER as _PLACEHOLDER     # the one definition of a placeholder
from ..store import Store

VERSION = 2     # 2: the text read as the topics and the search index read it, placeholders left out after
KV_KEY = "lexicon.tokens"
TABLE = "lexicon_tokens"
_RESPONDENT = "s.role NOT IN ('interviewer', 'other')"
_LETTER = re.compile(r"[^\W\d_]")
_REPORTABLE = re.compile(r"^[^\W\d_][^\W\d_'’-]*[^\W\d_]$")
FULL_POS = frozenset({"NOUN", "VERB", "ADJ", "ADV"})
UNITS = ("lemma", "form")


def analyse_text(docs, texts: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """``(forms, lemmas, pos)`` strings of spaCy docs, or of :func:`~textmine.french.lemma_tokens`'s
    token lists (word tokens only); with the ``texts`` they analyse, tokens that are part of a
    pseudonymisation placeholder (``[PERSONNE_3]``: spaCy cuts it in pieces) are left out."""
    out = []
    for k, doc in enumerate(docs):
        spans = [m.span() for m in _PLACEHOLDER.finditer(texts[k])] if texts is not None and "[" in texts[k] else []
        f, l, p = [], [], []
        for t in doc:
            if t.is_space or not _LETTER.search(t.text):
                continue
            if spans and any(a < t.idx + len(t.text) and t.idx < b for a, b in spans):
                continue
            form = t.text.lower().replace(" ", "")
            f.append(form)
            l.append((t.lemma_ or t.text).lower().replace(" ", "") or form)
            p.append(t.pos_ or "X")
        out.append((" ".join(f), " ".join(l), " ".join(p)))
    return out


def _ensure_table(store: Store) -> None:
    store.ensure_tables(TABLE)


def save_tokens(store: Store, chunk: pd.DataFrame, rows: list[tuple[str, str, str]]) -> None:
    """Store the ``(forms, lemmas, pos)`` rows of ``chunk`` (``segment_id``, ``h`` = md5 of
    ``text_pseudo``) in one transaction (one committed batch at a time: an interrupted run resumes)."""
    frame = pd.DataFrame(rows, columns=["forms", "lemmas", "pos"])
    frame.insert(0, "text_hash", chunk["h"].values)
    frame.insert(0, "segment_id", chunk["segment_id"].values)
    with store.transaction() as con:
        _ensure_table(store)
        con.register("_tm_lex", frame)
        try:
            con.execute(f"DELETE FROM {TABLE} WHERE segment_id IN (SELECT segment_id FROM _tm_lex)").fetchall()
            con.execute(f"INSERT INTO {TABLE} SELECT segment_id, text_hash, forms, lemmas, pos "
                        "FROM _tm_lex").fetchall()
        finally:
            con.unregister("_tm_lex")


def _todo(store: Store, everything: bool = False) -> pd.DataFrame:
    """The respondent segments whose tokens are missing or were taken from another text (all of
    them with ``everything`` or before the table exists)."""
    stale = ""
    if store.has_table(TABLE) and not everything:
        stale = (f" AND segment_id NOT IN (SELECT segment_id FROM {TABLE} t "
                 "WHERE t.text_hash = md5(coalesce(s.text_pseudo, '')))")
    return store.query(
        f"""SELECT s.segment_id, coalesce(s.text_pseudo, '') AS text, md5(coalesce(s.text_pseudo, '')) AS h
            FROM segments s WHERE {_RESPONDENT}{stale} ORDER BY s.segment_id""")


def _other_lemmatiser(store: Store) -> bool:
    """Were the stored tokens made by another lemmatiser (spaCy model or token version)? Then all
    of them are made again."""
    state = store.get_kv(KV_KEY) or {}
    return state.get("spacy_model") != store.config.segment.spacy_model or state.get("version") != VERSION \
        or state.get("lemma_rules", 1) != LEMMA_RULES


def pending_texts(store: Store) -> list[str]:
    """The texts :func:`update_tokens` would lemmatise now (``textmine run`` lemmatises them with
    the other stages' in one pass of worker processes)."""
    return _todo(store, everything=_other_lemmatiser(store))["text"].tolist()


def update_tokens(store: Store, *, batch: int = 2000,
                  advance: Callable[[int], None] | None = None) -> dict[str, int]:
    """Bring ``lexicon_tokens`` up to date with the respondent segments; returns counts."""
    model = store.config.segment.spacy_model
    state = store.get_kv(KV_KEY) or {}
    with store.transaction() as con:
        _ensure_table(store)
        if _other_lemmatiser(store):
            con.execute(f"DELETE FROM {TABLE}").fetchall()
        con.execute(f"DELETE FROM {TABLE} WHERE segment_id NOT IN "
                    f"(SELECT segment_id FROM segments s WHERE {_RESPONDENT})").fetchall()
    todo = _todo(store)
    prepare_lemma_tokens(todo["text"].tolist(), model)   # all at once: in workers when many
    for i in range(0, len(todo), batch):
        chunk = todo.iloc[i:i + batch]
        texts = chunk["text"].tolist()
        rows = analyse_text(lemma_tokens(texts, model), texts)
        save_tokens(store, chunk, rows)
        if advance:
            advance(len(chunk))
    total = int(store.query(f"SELECT count(*) AS n FROM {TABLE}")["n"].iloc[0])
    if len(todo) or state.get("segments") != total or state.get("spacy_model") != model:
        store.set_kv(KV_KEY, {"version": VERSION, "lemma_rules": LEMMA_RULES, "spacy_model": model, "segments": total,
                              "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return {"analysed": len(todo), "segments": total}


@dataclass
class Tokens:
    """Word tokens of ``segments`` (one row per segment, same order)."""

    segments: pd.DataFrame
    forms: list[list[str]]
    lemmas: list[list[str]]
    pos: list[list[str]]

    def units(self, unit: str) -> list[list[str]]:
        if unit not in UNITS:
            raise TextmineError(E.E005, detail=f"unit {unit!r}; valid: {', '.join(UNITS)}")
        return self.lemmas if unit == "lemma" else self.forms

    def subset(self, mask: np.ndarray) -> "Tokens":
        idx = np.flatnonzero(mask)
        return Tokens(self.segments.iloc[idx].reset_index(drop=True), [self.forms[i] for i in idx],
                      [self.lemmas[i] for i in idx], [self.pos[i] for i in idx])


def load_tokens(store: Store, segments: pd.DataFrame, *, update: bool = True,
                advance: Callable[[int], None] | None = None) -> Tokens:
    """Tokens of ``segments`` (a frame with ``segment_id`` and ``text_pseudo``), from the cache
    brought up to date first (``update``); segments the cache lacks or holds for another text
    (a read-only store, ``update=False``) are analysed in memory."""
    if update and not store.read_only:
        update_tokens(store, advance=advance)
    ids = segments["segment_id"].astype(str)
    cols = ["text_hash", "forms", "lemmas", "pos"]
    stored = (store.query_arrow(f"SELECT segment_id, {', '.join(cols)} FROM {TABLE}").set_index("segment_id")
              if store.has_table(TABLE) else pd.DataFrame(columns=cols))
    rows = stored.reindex(ids).reset_index(drop=True)
    texts = segments["text_pseudo"].fillna("").astype(str).reset_index(drop=True)
    stale = np.flatnonzero(rows["text_hash"].to_numpy() != [hashlib.md5(t.encode()).hexdigest() for t in texts])
    if len(stale):
        rows.loc[stale, ["forms", "lemmas", "pos"]] = _analyse(store, [texts[i] for i in stale], advance)
    with _no_gc():
        split = [[s.split() if isinstance(s, str) and s else [] for s in rows[c].tolist()]
                 for c in ("forms", "lemmas", "pos")]
    return Tokens(segments.reset_index(drop=True), *split)


def _analyse(store: Store, texts: list[str], advance: Callable[[int], None] | None) -> list[tuple[str, str, str]]:
    """``(forms, lemmas, pos)`` of texts the cache lacks (spaCy, in memory)."""
    out = analyse_text(lemma_tokens(texts, store.config.segment.spacy_model), texts)
    if advance:
        advance(len(texts))
    return out


#: the whitespace ``str.split()`` splits on (``str.isspace``) but the space, as a RE2 class
_OTHER_WHITESPACE = (r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
                     r"\x{202f}\x{205f}\x{3000}]")


def split_sql(col: str) -> str:
    """SQL splitting the space-separated list ``col`` as ``str.split()`` does (empty strings
    aside): on spaces, or on every Python whitespace where the list has another one (the
    regular expression only then: 2.5 times faster). A test checks it against Python."""
    ws = _OTHER_WHITESPACE[:-1] + " ]+"
    return (f"CASE WHEN regexp_matches({col}, '{_OTHER_WHITESPACE}') THEN regexp_split_to_array({col}, '{ws}') "
            f"ELSE string_split({col}, ' ') END")


def part_counts(store: Store, segment_ids: Sequence[str], parts: np.ndarray, n_parts: int, unit: str, *,
                update: bool = True, advance: Callable[[int], None] | None = None
                ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A lexical table: the vocabulary (sorted), each word's frequency in each part (words x
    parts, int64) and each part's size in word occurrences, for the segments ``segment_ids``
    in parts ``parts`` (codes ``0..n_parts-1``). The same table as :func:`count_matrix` over
    :func:`load_tokens` summed by part, counted in DuckDB from the cache (100k segments in about
    a quarter of the time); segments the cache lacks or holds for another text are analysed in
    memory as :func:`load_tokens` does."""
    if unit not in UNITS:
        raise TextmineError(E.E005, detail=f"unit {unit!r}; valid: {', '.join(UNITS)}")
    if update and not store.read_only:
        update_tokens(store, advance=advance)
    col = "lemmas" if unit == "lemma" else "forms"
    frame = pd.DataFrame({"segment_id": pd.Series(segment_ids, dtype=object).astype(str).to_numpy(),
                          "part": np.asarray(parts, dtype=np.int64)})
    cached = store.has_table(TABLE)
    fresh = "t.text_hash = md5(coalesce(s.text_pseudo, ''))"
    con = store.con
    con.register("_tm_parts", frame)
    try:
        counts = con.execute(
            f"""WITH w AS (SELECT p.part, unnest({split_sql(f't.{col}')}) AS word
                           FROM _tm_parts p JOIN {TABLE} t USING (segment_id) JOIN segments s USING (segment_id)
                           WHERE {fresh})
                SELECT part, word, count(*)::BIGINT AS n FROM w WHERE word <> '' GROUP BY ALL"""
        ).fetchnumpy() if cached else {"part": np.zeros(0, np.int64), "word": np.zeros(0, object),
                                       "n": np.zeros(0, np.int64)}
        stale = con.execute(
            "SELECT p.part, coalesce(s.text_pseudo, '') FROM _tm_parts p JOIN segments s USING (segment_id) "
            + (f"LEFT JOIN {TABLE} t USING (segment_id) WHERE t.segment_id IS NULL OR NOT ({fresh}) "
               if cached else "") + "ORDER BY s.segment_id").fetchall()
    finally:
        con.unregister("_tm_parts")
    words, part_of, n = counts["word"].tolist(), np.asarray(counts["part"], dtype=np.int64), np.asarray(counts["n"])
    if stale:
        extra = [(part, w) for (part, _), row in zip(stale, _analyse(store, [t for _, t in stale], advance))
                 for w in row[1 if unit == "lemma" else 0].split()]
        words += [w for _, w in extra]
        part_of = np.concatenate([part_of, np.array([p for p, _ in extra], dtype=np.int64)])
        n = np.concatenate([n, np.ones(len(extra), dtype=np.int64)])
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    freq = np.zeros((len(vocab), n_parts), dtype=np.int64)
    np.add.at(freq, (np.array([index[w] for w in words], dtype=np.int64), part_of), n)
    return vocab, freq, freq.sum(axis=0)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of word strings are made (none of them can be
    in a cycle; the collector would rescan them at every threshold): 50k segments 1.7 s -> 0.6 s."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def reportable(word: str, keep_stop: bool = False) -> bool:
    """A word worth listing: two letters or more, not a stop word / filler (unless ``keep_stop``)."""
    return bool(_REPORTABLE.match(word)) and (keep_stop or not is_stop(word))


def count_matrix(docs: Sequence[Sequence[str]], vocabulary: Sequence[str] | None = None
                 ) -> tuple[sp.csr_matrix, list[str]]:
    """Documents x words counts (CSR, int32) and the vocabulary (sorted when not given)."""
    if vocabulary is None:
        vocabulary = sorted({w for d in docs for w in d})
    index = {w: i for i, w in enumerate(vocabulary)}
    cols, lens = [], []
    for d in docs:
        ids = [index[w] for w in d if w in index]
        cols.extend(ids)
        lens.append(len(ids))
    rows = np.repeat(np.arange(len(docs)), lens)
    X = sp.csr_matrix((np.ones(len(cols), dtype=np.int32), (rows, np.asarray(cols, dtype=np.int64))),
                      shape=(len(docs), len(vocabulary)))
    X.sum_duplicates()
    return X, list(vocabulary)


def full_word_docs(tokens: Tokens) -> list[list[str]]:
    """Each segment's full-word lemmas (nouns, verbs, adjectives, adverbs; no stop word)."""
    keep: dict[str, bool] = {}
    out = []
    for lem, pos in zip(tokens.lemmas, tokens.pos):
        words = []
        for w, p in zip(lem, pos):
            if p not in FULL_POS:
                continue
            ok = keep.get(w)
            if ok is None:
                ok = keep[w] = reportable(w)
            if ok:
                words.append(w)
        out.append(words)
    return out


def presence_matrix(tokens: Tokens, min_docfreq: int = 3) -> tuple[sp.csr_matrix, list[str]]:
    """Binary segments x full-word lemmas matrix, lemmas in at least ``min_docfreq`` segments."""
    X, vocab = count_matrix(full_word_docs(tokens))
    X.data[:] = 1
    df = np.asarray(X.sum(axis=0)).ravel()
    keep = np.flatnonzero(df >= max(1, int(min_docfreq)))
    return X[:, keep].tocsr(), [vocab[i] for i in keep]


def word_forms(tokens: Tokens, word: str, *, form_only: bool = False) -> list[set[str]]:
    """For each segment, the folded surface forms of its tokens that match ``word``: the word
    itself or (unless ``form_only``) any form of the same lemma, the word's lemmas being the
    word and the lemmas it carries in the corpus."""
    memo: dict[str, str] = {}

    def f(w: str) -> str:
        r = memo.get(w)
        if r is None:
            r = memo[w] = fold(w)
        return r
    q = f(word).strip(".,;:!?«»\"()[]")
    targets = set() if form_only else {q} | {f(l) for fs, ls in zip(tokens.forms, tokens.lemmas)
                                            for w, l in zip(fs, ls) if f(w) == q}
    return [{f(w) for w, l in zip(fs, ls) if f(w) == q or f(l) in targets}
            for fs, ls in zip(tokens.forms, tokens.lemmas)]
