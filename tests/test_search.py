"""Search: lemmas/folding, filters, KWIC, incremental index, hybrid/semantic retrieval."""
from __future__ import annotations

import json

import pytest

from helpers_search import INTERVIEWS, REAL_NAMES, add_interviews, make_store
from textmine.errors import TextmineError
from textmine.search import format_kwic, kwic, search, update_index
from textmine.search.query import rrf
from textmine.search.text import fold, lemmatise, query_terms


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = make_store(tmp_path_factory.mktemp("search"))
    yield st
    st.close()


def test_fold_removes_accents_and_case():
    assert fold("Démarches ÉLUS cœur") == "demarches elus coeur"


def test_lemmas_drop_function_words_and_fillers():
    (lem,) = list(lemmatise(["Euh, les usagers faisaient leurs démarches en ligne."]))
    assert "usager" in lem and "faire" in lem and "demarche" in lem
    assert "le" not in lem and "euh" not in lem and "leur" not in lem


def test_query_of_only_function_words_still_searches():
    lemmas, forms = query_terms("on")
    assert forms == ["on"]


def test_keyword_search_finds_inflected_forms(store):
    hits = search(store, "remplir le formulaire", mode="keyword")
    assert len(hits) == 2
    assert all("remplis le formulaire" in t for t in hits["text"])   # "remplis" matched through its lemma
    assert (hits["score"].diff().dropna() <= 0).all()


def test_accent_insensitive_keyword(store):
    a = search(store, "Démarches", mode="keyword")
    b = search(store, "demarches", mode="keyword")
    assert list(a["segment_id"]) == list(b["segment_id"]) and len(a) >= 2


@pytest.mark.parametrize("kw,check", [
    ({"waves": ["2"]}, lambda h: set(h["wave"]) == {"2"}),
    ({"roles": ["conum"]}, lambda h: set(h["role"]) == {"conum"}),
    ({"territories": ["D"]}, lambda h: set(h["territory"]) == {"D"}),
    ({"attrs": ["zone=urbain"]}, lambda h: set(h["interview_id"]) <= {"itv-b1", "itv-d2"}),
    ({"attrs": ["structure_type=association"]}, lambda h: set(h["interview_id"]) <= {"itv-a1", "itv-a2"}),
])
def test_metadata_filters(store, kw, check):
    hits = search(store, "financement démarche faire", mode="keyword", **kw)
    assert len(hits) > 0 and check(hits)
    assert len(hits) < len(search(store, "financement démarche faire", mode="keyword"))


def test_a_withheld_metadata_column_filters_only_with_reveal(store):
    """Filtering on a column the sheet did not declare public would tell whether a guessed real
    name is in the corpus: refused like grouping by it, allowed with reveal."""
    with pytest.raises(TextmineError) as ei:
        search(store, "financement", mode="keyword", attrs=["nom=Martine Dubreuil"])
    assert ei.value.code == "E005" and "public:nom" in str(ei.value) and "Dubreuil" not in str(ei.value)
    hits = search(store, "mairie usagers", mode="keyword", attrs=["nom=Martine Dubreuil"], reveal=True)
    assert len(hits) > 0 and len(set(hits["interview_id"])) == 1
    with pytest.raises(TextmineError) as ei:
        search(store, "financement", mode="keyword", attrs=["nope=F"])
    assert ei.value.code == "E005" and "zone" in ei.value.message and "nom" not in ei.value.message


def test_filter_values_ignore_case(store):
    a = search(store, "financement démarche faire", mode="keyword", territories=["d"], attrs=["zone=URBAIN"])
    b = search(store, "financement démarche faire", mode="keyword", territories=["D"], attrs=["zone=urbain"])
    assert len(a) > 0 and list(a["segment_id"]) == list(b["segment_id"])


def test_an_index_made_by_older_lemma_rules_is_made_again(tmp_path, monkeypatch):
    """A project indexed before a lemma correction (french.LEMMA_RULES) gets its lemmas made again
    at the next search, though its content did not change."""
    from textmine.search import index as search_index
    st = make_store(tmp_path)
    try:
        before = search(st, "formulaire", mode="keyword")
        search_index._CACHE.clear()
        assert search_index.SearchIndex.load(st, search_index.content_signature(st)) is not None
        monkeypatch.setattr(search_index, "LEMMA_RULES", search_index.LEMMA_RULES + 1)
        assert search_index.SearchIndex.load(st, search_index.content_signature(st)) is None
        calls = []
        real = search_index.update_index
        monkeypatch.setattr(search_index, "update_index", lambda s, **kw: calls.append(1) or real(s, **kw))
        after = search(st, "formulaire", mode="keyword")
        assert calls and list(after["segment_id"]) == list(before["segment_id"])
        assert (st.get_kv(search_index.KV_KEY) or {})["lemma_rules"] == search_index.LEMMA_RULES
    finally:
        search_index._CACHE.clear()
        st.close()


def test_theme_filter_uses_assigned_codings(store):
    hits = search(store, "financement démarche faire", mode="keyword", themes=["financement_renouvellement"])
    assert len(hits) == 3 and all("financement" in t for t in hits["text"])
    none = search(store, "financement", mode="keyword", themes=["precarite"])
    assert none.empty


def test_results_are_pseudonymised_unless_reveal(store):
    hits = search(store, "mairie usagers", mode="keyword")
    blob = json.dumps(hits.to_dict(orient="records"), ensure_ascii=False)
    assert "[PERSONNE_1]" in blob and not any(n in blob for n in REAL_NAMES)
    assert set(hits["speaker"]) <= {"Conum_1", "Conum_2", "Responsable_1", "Coordinateur_1"}
    real = search(store, "mairie usagers", mode="keyword", reveal=True)
    assert any("Martine Dubreuil" in t for t in real["text"])
    assert hits["source"].iloc[0].startswith("itv-") and ", l. " in hits["source"].iloc[0]


@pytest.mark.parametrize("kw,code", [
    ({"query": "  "}, "E601"), ({"query": "x", "themes": ["inconnu"]}, "E403"),
    ({"query": "x", "roles": ["pilote"]}, "E005"), ({"query": "x", "waves": ["9"]}, "E502"),
    ({"query": "x", "territories": ["Z"]}, "E005"), ({"query": "x", "attrs": ["zone"]}, "E005"),
    ({"query": "x", "mode": "fuzzy"}, "E005"),
])
def test_errors_list_valid_values(store, kw, code):
    q = kw.pop("query")
    with pytest.raises(TextmineError) as ei:
        search(store, q, **kw)
    assert ei.value.code == code
    if code == "E403":
        assert "precarite" in ei.value.message
    if code == "E005" and "roles" in kw:
        assert "conum" in ei.value.message


def test_kwic_aligned_and_accent_insensitive(store):
    hits = search(store, "demarche", mode="keyword")
    lines = kwic(store, hits, "demarche")
    assert len(lines) >= 4
    assert set(lines["keyword"].str.lower()) == {"démarche", "démarches"}
    text = format_kwic(lines)
    rows = text.splitlines()
    cols = {r.index(kw) for r, kw in zip(rows, lines["keyword"])}
    assert len(cols) == 1                     # keywords aligned in one column
    assert all("(" in r and "vague" in r for r in rows)   # attribution on each line


def test_index_is_incremental(tmp_path):
    st = make_store(tmp_path / "p", INTERVIEWS[:2])
    first = update_index(st)
    assert first["lemmatised"] == first["segments"] > 0
    assert update_index(st)["lemmatised"] == 0
    add_interviews(st, INTERVIEWS[2:3], with_codings=False)
    new = update_index(st)
    assert new["lemmatised"] == 4 and new["segments"] == first["segments"] + 4
    st.con.execute("UPDATE segments SET text_pseudo = 'Les bénévoles animent la permanence.' "
                   "WHERE segment_id = 'itv-a1:0001:00'")
    assert update_index(st)["lemmatised"] == 1
    assert search(st, "bénévole", mode="keyword")["segment_id"].tolist() == ["itv-a1:0001:00"]
    before = int(st.query("SELECT count(*) AS n FROM search_lemmas")["n"][0])
    only_b1 = set(st.query("SELECT form FROM search_form_counts GROUP BY form "
                           "HAVING bool_and(interview_id = 'itv-b1')")["form"])
    assert only_b1 and only_b1 <= set(st.query("SELECT form FROM search_forms")["form"])
    st.delete_interview("itv-b1")       # its lemma rows and form counts go with its segments (store.DERIVED_TABLES)
    assert int(st.query("SELECT count(*) AS n FROM search_lemmas")["n"][0]) == before - 3
    assert update_index(st)["removed"] == 0
    assert not only_b1 & set(st.query("SELECT form FROM search_forms")["form"])   # the table is summed again
    st.close()


def test_rrf_fuses_rankings():
    import numpy as np
    fused = rrf([np.array([3, 1, 2]), np.array([1, 3, 0])])
    assert fused[1] == pytest.approx(fused[3]) and fused[1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2] == pytest.approx(fused[0]) == pytest.approx(1 / 63)


@pytest.mark.slow
def test_semantic_and_hybrid_search(store):
    sem = search(store, "inquiétude sur l'argent et l'avenir du poste", mode="semantic", limit=3)
    assert "financement" in sem["text"].iloc[0]
    assert sem["semantic"].notna().all() and sem["bm25"].isna().all()
    hyb = search(store, "faire à la place de la personne", mode="hybrid", limit=5)
    assert "à sa place" in hyb["text"].iloc[0]
    assert hyb["semantic"].notna().all() and hyb["bm25"].notna().all()
    again = search(store, "faire à la place de la personne", mode="hybrid", limit=5)
    assert again["segment_id"].tolist() == hyb["segment_id"].tolist()
    filt = search(store, "faire à la place de la personne", waves=["1"], roles=["conum"])
    assert set(filt["interview_id"]) == {"itv-a1"}


def test_snapshot_saved_and_memory_mapped_in_a_new_process(store):
    import bm25s
    import numpy as np
    from textmine.search.index import _CACHE, SearchIndex, content_signature, get_index
    idx = get_index(store)
    lem = store.query("SELECT segment_id, lemmas FROM search_lemmas")
    lemmas = dict(zip(lem["segment_id"], lem["lemmas"]))
    ref = bm25s.BM25()
    ref.index([lemmas[s].split() for s in idx.segment_ids], show_progress=False)
    for q in (["demarche"], ["financement", "poste"], ["inconnu"], []):
        expect = ref.get_scores(q) if q and any(t in ref.vocab_dict for t in q) else np.zeros(len(idx))
        assert np.allclose(idx.keyword_scores(q), expect, atol=1e-6)
    before = search(store, "financement poste", mode="keyword")
    _CACHE.clear()                     # as in a new process: the snapshot comes from DIR/index
    loaded = SearchIndex.load(store, content_signature(store))
    assert loaded is not None and isinstance(loaded.bm25["data"], np.memmap)
    after = search(store, "financement poste", mode="keyword")
    assert after["segment_id"].tolist() == before["segment_id"].tolist()
    assert after["score"].tolist() == before["score"].tolist()


def test_query_lemmas_come_from_the_corpus_form_table(store, monkeypatch):
    from textmine import french
    from textmine.search import query as Q
    monkeypatch.setattr(french, "load_lemmatizer", lambda *a, **k: pytest.fail("spaCy loaded for a query"))
    lemmas, forms = Q.query_lemmas(store, "Les usagers remplissaient l'attestation")
    assert "usager" in lemmas and "les" not in forms and "l'" not in forms
    assert "remplissaient" in forms and "attestation" in forms     # unknown to the corpus: their own lemma
    assert Q.query_lemmas(store, "on") == (["on"], ["on"])


def test_store_embedding_matrix_matches_cache(tmp_path):
    import numpy as np

    from textmine.store import Store
    st = Store(tmp_path / "e", create=True)
    V = np.arange(20, dtype=np.float32).reshape(5, 4)
    st.put_embeddings("enc@1", list("abcde"), V)
    X, found = st.embedding_matrix("enc@1", ["c", "x", "a", "c"], 4)
    assert found.tolist() == [True, False, True, True]
    assert (X[0] == V[2]).all() and (X[2] == V[0]).all() and (X[3] == V[2]).all() and not X[1].any()
    assert not st.embedding_matrix("other@1", ["a"], 4)[1].any()
    st.close()


def test_kwic_phrase_first(store):
    hits = search(store, "demarche a sa place", mode="keyword")
    lines = kwic(store, hits, "demarche a sa place")
    phrase = lines[lines["keyword"] == "démarche à sa place"]
    assert len(phrase) == 2                           # the two segments holding the phrase
    assert set(phrase["segment_id"]) == {"itv-a1:0003:00", "itv-d2:0005:00"}
    others = lines[~lines["segment_id"].isin(phrase["segment_id"])]
    assert set(others["keyword"].str.lower()) <= {"démarches", "démarche", "place"}
