"""Topic models: fit on precomputed embeddings, French words, determinism, persistence, apply, align."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import copy_project
from helpers_topics import fitted_project, make_store, theme_of
from textmine.errors import TextmineError
from textmine import french as shared
from textmine.french import FILLERS
from textmine.store import Store
from textmine.topics import (align_topics, apply_topics, auto_min_cluster_size, fit_topics, load_model,
                             topic_assignments, topic_change, topic_quotes, topics_by, topics_table)
from textmine.topics import fit as topic_fit
from textmine.topics.french import is_stop, lemma_docs, stop_words


def test_auto_min_cluster_size():
    assert auto_min_cluster_size(100) == 5
    assert auto_min_cluster_size(4739) == 24
    assert auto_min_cluster_size(10_000) == 50
    assert auto_min_cluster_size(10 ** 6) == 150


@pytest.mark.slow
def test_lemmas_drop_fillers_and_are_cached():
    from textmine.topics import french
    text = "euh ben du coup on fait des ateliers numériques avec les retraités, hein, voilà quoi"
    (lem,) = lemma_docs([text])
    words = lem.split()
    assert "atelier" in words and "numérique" in words
    assert not set(words) & {"euh", "ben", "coup", "hein", "voilà", "quoi", "faire"}
    n = french.cache_size()
    calls = []
    real = shared.load_lemmatizer
    shared.load_lemmatizer = lambda m: calls.append(m) or real(m)
    try:
        assert lemma_docs([text, text]) == [lem, lem]
    finally:
        shared.load_lemmatizer = real
    assert calls == [] and french.cache_size() == n
    assert {"euh", "ouais", "voilà", "truc", "le", "de", "être"} <= set(stop_words())


@pytest.mark.slow
def test_fit_finds_the_themes(tmp_path_factory):
    root, res = fitted_project(tmp_path_factory)
    assert 3 <= res.n_topics <= 8
    assert res.outlier_share <= 0.15 and res.outlier_share <= res.outlier_share_before
    with Store(root) as store:
        a = topic_assignments(store)
        themes = theme_of(store)
        assert len(a) == 100 and set(a["segment_id"]) == set(themes)
        from sklearn.metrics import adjusted_rand_score
        ari = adjusted_rand_score([themes[s] for s in a["segment_id"]], a["topic"])
        assert ari >= 0.4, ari
        table = topics_table(store)
        assert list(table.columns) == ["id", "count", "label", "words"]
        assert table["count"].sum() == 100
        for _, row in table[table["id"] >= 0].iterrows():
            assert len(row["words"]) >= 5
            assert not any(is_stop(w) for w in row["words"]), row["words"]
            assert row["label"] == " · ".join(row["words"][:3])
        rec = store.read_frame("topic_models").iloc[0]
        assert rec["model_id"] == res.model_id and rec["n_docs"] == 100 and rec["encoder"].startswith("e5-small@")
        assert store.get_kv("topics.current_model") == res.model_id
        # persisted as safetensors + JSON, no pickle, no embedding model
        folder = store.models_dir / "topics" / res.model_id
        names = {p.name for p in folder.iterdir()}
        assert {"topic_embeddings.safetensors", "ctfidf.safetensors", "topics.json", "config.json"} <= names
        assert not any(n.endswith((".pkl", ".pickle", ".bin")) for n in names)


@pytest.mark.slow
def test_words_come_from_pseudonymised_lemmas(tmp_path_factory):
    root, _ = fitted_project(tmp_path_factory)
    with Store(root) as store:
        words = {w for ws in topics_table(store)["words"] for w in ws}
    assert words and not words & FILLERS
    assert all(w == w.lower() for w in words)


@pytest.mark.slow
def test_same_config_same_assignments(tmp_path_factory, tmp_path):
    root, res = fitted_project(tmp_path_factory)
    proj = copy_project(root, tmp_path / "copy")
    with Store(proj) as store:
        before = topic_assignments(store)
        n_emb = store.query("SELECT count(*) AS n FROM embeddings")["n"][0]
        again = fit_topics(store)                     # embeddings all from the cache
        assert store.query("SELECT count(*) AS n FROM embeddings")["n"][0] == n_emb
        after = topic_assignments(store)
    assert again.model_id == res.model_id
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.slow
def test_apply_assigns_new_segments_like_the_fit(tmp_path_factory, tmp_path):
    root, res = fitted_project(tmp_path_factory)
    proj = copy_project(root, tmp_path / "copy")
    with Store(proj) as store:
        fit_rows = topic_assignments(store).set_index("segment_id")
        fitted = fit_rows["topic"]
        # the fit: similarity to the topic centroid for every row; HDBSCAN membership where it clustered
        assert fit_rows["similarity"].between(-1, 1).all() and fit_rows["similarity"].notna().all()
        assert fit_rows["probability"].dropna().between(0, 1).all() and fit_rows["probability"].notna().any()
        wave2 = store.segments_frame(roles="respondents", waves=["2"])["segment_id"].tolist()
        store.con.execute("DELETE FROM topic_assignments WHERE segment_id IN (SELECT unnest(?))", [wave2])
        # a store written before the similarity column existed: read as NULL, added by the next apply
        store.con.execute("ALTER TABLE topic_assignments DROP COLUMN similarity")
        old = topic_assignments(store)
        assert len(old) == 100 - len(wave2) and old["similarity"].isna().all()
        n = apply_topics(store)
        assert n == len(wave2)
        assert apply_topics(store) == 0          # nothing new left
        rows = topic_assignments(store).set_index("segment_id")
        applied = rows["topic"]
        agree = np.mean([applied[s] == fitted[s] for s in wave2])
        assert agree >= 0.7, agree
        # applied rows: the same similarity measure as the fit (same centroid, same embedding),
        # and no HDBSCAN membership (assigned by nearest centroid)
        same = [s for s in wave2 if applied[s] == fitted[s]]
        np.testing.assert_allclose(rows.loc[same, "similarity"], fit_rows.loc[same, "similarity"], atol=1e-5)
        assert rows.loc[wave2, "probability"].isna().all()
        # mode apply through fit_topics(refit=False)
        res2 = fit_topics(store, refit=False)
        assert not res2.refit and res2.applied == 0 and res2.model_id == res.model_id


@pytest.mark.slow
def test_topics_by_and_change(tmp_path_factory):
    root, res = fitted_project(tmp_path_factory)
    with Store(root) as store:
        by = topics_by(store, "wave")
        assert set(by["wave"]) == {"1", "2"}
        assert by.groupby("wave")["share"].sum().round(6).eq(1).all()
        assert by["count"].sum() == 100
        terr = topics_by(store, "territory")
        assert set(terr["territory"]) == {"A", "B", "C"}
        role = topics_by(store, "role")
        assert {"conum", "elu", "coordinateur", "responsable_structure"} == set(role["role"])
        with pytest.raises(TextmineError) as e:
            topics_by(store, "colour")
        assert e.value.code == "E501"
        ch = topic_change(store)
        assert list(ch.columns) == ["topic", "label", "share_a", "share_b", "delta_pts"]
        assert np.allclose(ch["delta_pts"], (ch["share_b"] - ch["share_a"]) * 100)
        with pytest.raises(TextmineError) as e:
            topic_change(store, "1", "9")
        assert e.value.code == "E502"


@pytest.mark.slow
def test_topic_quotes_and_unknown_topic(tmp_path_factory):
    root, _ = fitted_project(tmp_path_factory)
    with Store(root) as store:
        q = topic_quotes(store, 0, n=3)
        assert len(q) == 3 and list(q["rank"]) == [1, 2, 3]
        assert {"text_pseudo", "wave", "territory", "role", "source_pseudo", "topic"} <= set(q.columns)
        assert (q["topic"] == 0).all()
        with pytest.raises(TextmineError) as e:
            topic_quotes(store, 999)
        assert e.value.code == "E305"


@pytest.mark.slow
def test_align_recovers_a_permutation(tmp_path_factory):
    root, res = fitted_project(tmp_path_factory)
    with Store(root) as store:
        a = load_model(store)
        b = load_model(store)
    same = align_topics(a, b)
    assert (same["topic_a"] == same["topic_b"]).all() and np.allclose(same["similarity"], 1, atol=1e-5)
    off = b._outliers
    k = len(b.topic_embeddings_) - off
    perm = np.roll(np.arange(k), 1)
    b.topic_embeddings_ = np.vstack([b.topic_embeddings_[:off], b.topic_embeddings_[off:][perm]])
    for method in ("hungarian", "greedy"):
        al = align_topics(a, b, method=method)
        assert len(al) == k
        mapping = dict(zip(al["topic_b"], al["topic_a"]))
        assert all(mapping[j] == perm[j] for j in range(k)), (method, mapping)


@pytest.mark.slow
def test_a_refit_stopped_between_its_renames_keeps_the_model(tmp_path_factory, tmp_path, monkeypatch):
    """Saving over a model of the same id: the old folder stays readable until the new one is in."""
    import pathlib
    import shutil

    from textmine.topics import persist
    root, _ = fitted_project(tmp_path_factory)
    shutil.copytree(root, tmp_path / "proj")
    with Store(tmp_path / "proj") as store:
        model = load_model(store)
        mid = persist.current_model_id(store)
        folder = persist.model_dir(store, mid)
        real_rename, calls = pathlib.Path.rename, []

        def stop_at_second(self, target):
            calls.append(target)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real_rename(self, target)
        monkeypatch.setattr(pathlib.Path, "rename", stop_at_second)
        with pytest.raises(KeyboardInterrupt):
            persist.save_model(store, model, mid)
        monkeypatch.setattr(pathlib.Path, "rename", real_rename)
        assert not folder.exists() and (folder.parent / f"{mid}.old" / "topics.json").exists()
        again = load_model(store)                      # read from the old folder
        assert again.get_topic_info().equals(model.get_topic_info())
        persist.save_model(store, model, mid)          # the next save completes and tidies up
        assert (folder / "topics.json").exists() and not (folder.parent / f"{mid}.old").exists()
        assert not (folder.parent / f"{mid}.tmp").exists()
        assert load_model(store).get_topic_info().equals(model.get_topic_info())


def test_no_model_and_too_few_segments(tmp_path):
    store = make_store(tmp_path, limit=12)
    try:
        with pytest.raises(TextmineError) as e:
            topics_table(store)
        assert e.value.code == "E304"
        with pytest.raises(TextmineError) as e:
            fit_topics(store, encoder=_NeverEncoder())
        assert e.value.code == "E306"
    finally:
        store.close()


class _NeverEncoder:
    id, version, dim = "never", "0", 4

    def encode(self, texts, mode="passage"):
        raise AssertionError("must not encode")


def test_hdbscan_is_deterministic_given_its_input():
    """HDBSCAN gets no seed (build_model): the same points give the same clusters whatever the
    global random state, so UMAP's seed makes the whole clustering reproducible."""
    from hdbscan import HDBSCAN
    rng = np.random.default_rng(3)
    pts = np.vstack([rng.normal(c, 0.4, size=(60, 5)) for c in (0.0, 3.0, 6.0)] + [rng.uniform(-2, 8, (30, 5))])
    runs = []
    for global_seed in (0, 1):
        np.random.seed(global_seed)
        h = HDBSCAN(min_cluster_size=15, min_samples=5, prediction_data=True, core_dist_n_jobs=1).fit(pts)
        runs.append((h.labels_.copy(), h.probabilities_.copy()))
    assert len(set(runs[0][0]) - {-1}) == 3
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])


def test_exact_knn_is_the_brute_force_neighbour_list():
    """What UMAP computes itself below 4,096 points: cosine distances, itself first at 0, ties by
    index; the same neighbours whatever the block size (the products' last bits can differ)."""
    from sklearn.metrics import pairwise_distances
    rng = np.random.default_rng(1)
    X = rng.standard_normal((700, 24)).astype(np.float32)
    X[5] = X[7] * 2.0                                 # same direction: distance 0 to each other
    idx, dist = topic_fit.exact_knn(X, 15)
    ref = pairwise_distances(X, metric="cosine")
    assert idx.shape == dist.shape == (700, 15)
    assert (idx[:, 0] == np.arange(700)).all() and (dist[:, 0] == 0).all()
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert np.abs(np.take_along_axis(ref, idx.astype(int), 1) - dist).max() < 1e-5
    assert all(set(a) == set(b) for a, b in zip(idx, np.argsort(ref, axis=1, kind="stable")[:, :15]))
    assert idx[5, 1] == 7 and idx[7, 1] == 5
    small = topic_fit.exact_knn(X, 15, block_cells=1000)
    assert np.array_equal(small[0], idx) and np.allclose(small[1], dist, atol=1e-6)


@pytest.mark.slow
def test_fit_with_exact_neighbours_is_reproducible(tmp_path_factory, tmp_path, monkeypatch):
    """Above 4,096 segments UMAP gets :func:`exact_knn`'s neighbours instead of searching them
    with NN-descent (here forced on the small project): the fit still finds the themes and
    gives the same topics twice."""
    root, _ = fitted_project(tmp_path_factory)      # built (once per module) before the patch
    monkeypatch.setattr(topic_fit, "EXACT_KNN_MIN", 0)
    seen = []
    real = topic_fit.exact_knn
    monkeypatch.setattr(topic_fit, "exact_knn", lambda X, k: seen.append(len(X)) or real(X, k))
    runs = []
    for k in range(2):
        with Store(copy_project(root, tmp_path / f"c{k}")) as store:
            fit_topics(store)
            runs.append(topic_assignments(store))
            themes = theme_of(store)
    assert seen == [100, 100]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    # a later wave is still assigned: the saved model assigns by centroid, never through UMAP's
    # transform (which has no NN-descent index to search when UMAP was given its neighbours)
    with Store(tmp_path / "c1") as store:
        wave2 = store.segments_frame(roles="respondents", waves=["2"])["segment_id"].tolist()
        store.con.execute("DELETE FROM topic_assignments WHERE segment_id IN (SELECT unnest(?))", [wave2])
        assert apply_topics(store) == len(wave2) > 0
        assert set(topic_assignments(store).set_index("segment_id").loc[wave2, "topic"]) <= set(runs[1]["topic"])
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score([themes[s] for s in runs[0]["segment_id"]], runs[0]["topic"]) >= 0.4


def test_umap_and_hdbscan_run_before_the_lemmas_give_bertopics_own_fit():
    """The fit runs UMAP and HDBSCAN itself before the lemmas (the run's lemmatiser workers go on
    meanwhile) and hands their results to BERTopic: same topics, probabilities and topic words as
    BERTopic's own fit_transform with the same sub-models."""
    from types import SimpleNamespace
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((4, 16))
    X = np.vstack([c + 0.35 * rng.standard_normal((50, 16)) for c in centres]).astype(np.float32)
    words = [["atelier", "tablette", "senior"], ["dossier", "caf", "allocation"], ["mairie", "élu", "budget"],
             ["réseau", "partenaire", "réunion"]]
    docs = [" ".join(rng.choice(words[i // 50], 4)) + f" mot{i % 7}" for i in range(200)]
    cfg = SimpleNamespace(n_neighbors=10, n_components=5, min_cluster_size=10, min_samples=None, top_n_words=5,
                          nr_topics=None)
    results = []
    for early in (False, True):
        model, _ = topic_fit.build_model(cfg, len(docs), _NeverEncoder(), 7)
        if early:
            topic_fit._reduce_and_cluster(model, X)
            assert isinstance(model.umap_model, topic_fit._Reduced)
        topics, probs = model.fit_transform(docs, embeddings=X)
        results.append((list(topics), np.asarray(probs), model.get_topics()))
    assert len(set(results[0][0]) - {-1}) >= 3
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2]


def test_umaps_kernels_are_compiled_once_per_machine_not_per_process():
    """UMAP declares no numba cache: the fit lets numba keep its kernels on disk (as pynndescent
    does for its own), once per process."""
    from numba.core.caching import NullCache
    import umap.layouts
    topic_fit.cache_umap_kernels()
    kernel = umap.layouts._nb_optimize_layout_euclidean_single_epoch
    assert not isinstance(kernel._cache, NullCache)
    assert topic_fit.cache_umap_kernels() == 0          # already switched
