"""Tracking: prevalence, changes, panel (library + CLI) on synthetic stores with planted effects."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers_track import build_store
from textmine.cli.main import main
from textmine.errors import TextmineError
from textmine.track import changes, panel, prevalence
from textmine.stats import bh_qvalues, boot_shares, cluster_sums, permutation_pvalues, rng_for


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("track") / "proj"
    store = build_store(path, n_per_wave=20, segs_per_interview=30, n_panel=6, seed=1)
    store.close()
    return path


@pytest.fixture()
def store(project):
    from textmine.store import Store
    s = Store(project, read_only=True)
    yield s
    s.close()


# ------------------------------------------------------------------ statistics primitives
def test_cluster_sums_measures():
    codes = np.array([0, 0, 1, 1, 1])
    X = np.array([[1, 0], [0, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)
    words = np.array([10, 30, 5, 5, 10])
    n, d = cluster_sums(codes, 2, X, words, "segments")
    assert n.tolist() == [[1, 0], [1, 2]] and d.tolist() == [2, 3]
    n, d = cluster_sums(codes, 2, X, words, "words")
    assert n.tolist() == [[10, 0], [5, 10]] and d.tolist() == [40, 20]
    n, d = cluster_sums(codes, 2, X, words, "interviews")
    assert n.tolist() == [[1, 0], [1, 1]] and d.tolist() == [1, 1]


def test_bootstrap_interval_covers_and_is_seeded():
    rng = np.random.default_rng(0)
    num = rng.binomial(20, 0.3, size=(50, 1)).astype(float)
    den = np.full(50, 20.0)
    a = boot_shares(num, den, 500, rng_for(42, "x"))
    b = boot_shares(num, den, 500, rng_for(42, "x"))
    c = boot_shares(num, den, 500, rng_for(43, "x"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    lo, hi = np.quantile(a[:, 0], [0.025, 0.975])
    assert lo < num.sum() / den.sum() < hi and hi - lo < 0.1


def test_permutation_detects_difference_and_not_noise():
    rng = np.random.default_rng(3)
    den = np.full(40, 30.0)
    is_to = np.arange(40) >= 20
    num = np.column_stack([rng.binomial(30, np.where(is_to, 0.4, 0.1)), rng.binomial(30, 0.2, size=40)]).astype(float)
    p = permutation_pvalues(num, den, is_to, 999, rng_for(1, "p"))
    assert p[0] < 0.01 and p[1] > 0.05


def test_bh_qvalues_match_reference():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    q = bh_qvalues(p)
    # reference: sorted p 0.01,0.03,0.04,0.20 -> 0.04,0.0533,0.0533,0.20
    assert np.allclose(q[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.20]) and np.isnan(q[4])


# ------------------------------------------------------------------ library
def test_prevalence_by_wave(store):
    df = prevalence(store, by=["wave"])
    assert set(df["wave"]) == {"2022", "2023"}
    for col in ("theme", "share", "ci_low", "ci_high", "n_segments", "n_interviews", "small_cell"):
        assert col in df
    assert (df["ci_low"] <= df["share"] + 1e-12).all() and (df["share"] <= df["ci_high"] + 1e-12).all()
    row = df[(df.theme == "precarite") & (df.wave == "2022")].iloc[0]
    assert row.n_interviews == 20 and row.n_segments == 600   # interviewer segments excluded
    assert {"posture:faire_avec", "posture:faire_a_la_place", "topic:0"} <= set(df["theme"])
    # share is the exact ratio
    assert row.share == pytest.approx(row.n_hits / row.n_segments)


def test_measures_and_attrs_grouping(store):
    w = prevalence(store, by=["wave"], measure="words", themes=["precarite"])
    i = prevalence(store, by=["wave", "milieu"], measure="interviews", themes=["precarite"], explain=True)
    assert w["measure"].eq("words").all() and len(w) == 2
    assert set(i["milieu"]) == {"rural", "urbain"} and (i["share"] <= 1).all()
    seg = store.segments_frame(roles="respondents").set_index("segment_id")
    for r in i.itertuples():   # provenance: every id behind the figure is in the cell and coded
        assert r.segment_ids and seg.loc[r.segment_ids, "wave"].eq(r.wave).all()
        assert r.n_hits == len(r.segment_ids)


def test_small_cells_flagged(store):
    df = prevalence(store, by=["wave", "territory", "role"], themes=["precarite"])
    assert df["small_cell"].any()
    assert (df.loc[df["small_cell"], "n_interviews"] < store.config.track.min_interviews).all()


def test_planted_changes_detected_and_stable_not(store):
    ch = changes(store, "2022", "2023").set_index("theme")
    for t in ("precarite", "financement_renouvellement", "posture:faire_avec"):
        assert ch.loc[t, "delta"] > 0 and ch.loc[t, "ci_low"] > 0, t
        assert ch.loc[t, "q_value"] < 0.05, t
    assert ch.loc["posture:faire_a_la_place", "ci_high"] < 0
    stable = ch.loc["coordination_territoriale"]
    assert stable.ci_low < 0 < stable.ci_high and stable.q_value > 0.05
    assert ch.loc["topic:2", "status"] == "appeared" and ch.loc["topic:1", "status"] == "vanished"
    assert ch["correction"].str.contains("benjamini-hochberg").all()
    assert (ch["q_value"] >= ch["p_value"] - 1e-12).all()


def test_deterministic_same_seed(store):
    a = changes(store, "2022", "2023", by=["role"])
    b = changes(store, "2022", "2023", by=["role"])
    pd.testing.assert_frame_equal(a, b)


def test_panel_posture_transitions(store):
    res = panel(store)
    assert (res.wave_from, res.wave_to) == ("2022", "2023")
    assert set(res.respondents["respondent_id"]) == {f"R{k:02d}" for k in range(6)}
    moved = res.movers
    assert len(moved) >= 4
    assert (moved["posture_from"] == "faire_a_la_place").all() and (moved["posture_to"] == "faire_avec").all()
    assert moved["attribution_from"].str.contains("vague 2022").all()
    assert moved["attribution_to"].str.contains("vague 2023").all()
    assert not moved["quote_from"].str.contains("Nom Prenom").any()
    assert not moved["source_from"].str.contains("secret").any()
    top = res.transitions.iloc[0]
    assert (top.posture_from, top.posture_to) == ("faire_a_la_place", "faire_avec")
    assert set(res.theme_summary["theme"]) >= {"precarite"}


def test_errors(store, tmp_path):
    with pytest.raises(TextmineError) as e:
        changes(store, "2022", "2031")
    assert e.value.code == "E502" and "2023" in str(e.value)
    with pytest.raises(TextmineError) as e:
        prevalence(store, by=["wave", "couleur"])
    assert e.value.code == "E501" and "territory" in str(e.value)
    empty = build_store(tmp_path / "nocod", codings=False, topics=False, n_per_wave=2, segs_per_interview=3)
    with pytest.raises(TextmineError) as e:
        prevalence(empty)
    assert e.value.code == "E407"
    empty.close()


# ------------------------------------------------------------------ CLI
def _json(capsys, args):
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out


def test_cli_track_json(project, capsys):
    code, out = _json(capsys, ["--project", str(project), "track", "--by", "wave,role", "--theme", "precarite",
                               "--format", "json"])
    assert code == 0, out.err
    rows = json.loads(out.out)
    assert rows and {"theme", "wave", "role", "share", "ci_low", "ci_high", "n_segments", "n_interviews",
                     "small_cell"} <= set(rows[0])
    assert {r["theme"] for r in rows} == {"precarite"}


def test_cli_track_csv_explain_and_table(project, capsys):
    code, out = _json(capsys, ["--project", str(project), "track", "--measure", "interviews", "--explain",
                               "--format", "csv"])
    assert code == 0
    df = pd.read_csv(__import__("io").StringIO(out.out))
    assert "segment_ids" in df and df["measure"].eq("interviews").all()
    code, out = _json(capsys, ["--project", str(project), "track", "--theme", "precarite"])
    assert code == 0 and "precarit" in out.out and "2023" in out.out and "95 % CI (%)" in out.out


def test_cli_changes_and_panel(project, capsys):
    code, out = _json(capsys, ["--project", str(project), "track", "changes", "--from", "2022", "--to", "2023",
                               "--format", "json"])
    assert code == 0, out.err
    rows = {r["theme"]: r for r in json.loads(out.out)}
    assert {"delta", "ci_low", "ci_high", "p_value", "q_value", "correction"} <= set(rows["precarite"])
    assert rows["precarite"]["ci_low"] > 0 and "benjamini" in out.err.lower()
    few = min(min(r["n_interviews_from"], r["n_interviews_to"]) for r in rows.values()) < 10
    assert ("fewer than 10 interviews" in out.err) == few
    code, out = _json(capsys, ["--project", str(project), "track", "changes", "--from", "2022", "--to", "2023",
                               "--by", "role", "--format", "json"])
    assert code == 0 and {r["role"] for r in json.loads(out.out)} >= {"conum", "elu"}
    code, out = _json(capsys, ["--project", str(project), "track", "panel", "--format", "json"])
    assert code == 0
    movers = json.loads(out.out)
    assert len(movers) >= 4 and movers[0]["posture_to"] == "faire_avec" and movers[0]["quote_to"]
    code, out = _json(capsys, ["--project", str(project), "track", "panel", "--view", "transitions",
                               "--format", "csv"])
    assert code == 0 and "faire_a_la_place,faire_avec" in out.out
    assert "changed dominant posture" in out.err
    code, out = _json(capsys, ["--project", str(project), "track", "panel", "--view", "themes"])
    assert code == 0 and "mean_delta can be corrected" in out.err


def test_cli_errors(project, capsys):
    code, out = _json(capsys, ["--project", str(project), "track", "changes", "--from", "2022", "--to", "1999"])
    assert code == 1 and "E502" in out.err and "2023" in out.err
    code, out = _json(capsys, ["--project", str(project), "track", "--by", "couleur"])
    assert code == 1 and "E501" in out.err and "structure_type" in out.err
    code, out = _json(capsys, ["--project", str(project), "track", "--measure", "mots"])
    assert code == 1 and "E005" in out.err


def test_cli_changes_say_when_few_interviews_make_the_interval_too_narrow(tmp_path, capsys):
    build_store(tmp_path / "p", topics=False, n_per_wave=4, segs_per_interview=6).close()
    code, out = _json(capsys, ["--project", str(tmp_path / "p"), "track", "changes", "--from", "2022", "--to", "2023",
                               "--format", "json"])
    assert code == 0 and "compare waves with fewer than 10 interviews" in out.err


def test_cli_no_codings_e407(tmp_path, capsys):
    build_store(tmp_path / "p", codings=False, topics=False, n_per_wave=2, segs_per_interview=3).close()
    code, out = _json(capsys, ["--project", str(tmp_path / "p"), "track", "--format", "json"])
    assert code == 1 and "E407" in out.err and "themes apply" in out.err


# ------------------------------------------------------------------ demo corpus (whole pipeline)
@pytest.mark.slow
def test_demo_planted_theme_changes(demo_project):
    """corpus/demo/README.md plants: precarite and financement_renouvellement up,
    coordination_territoriale stable. Whole pipeline (zero-shot codings), segments measure."""
    from textmine.store import Store
    with Store(demo_project, read_only=True) as store:
        ch = changes(store, "2022", "2023").set_index("theme")
        again = changes(store, "2022", "2023").set_index("theme")
    for t in ("precarite", "financement_renouvellement"):
        assert ch.loc[t, "delta"] > 0 and ch.loc[t, "ci_low"] > 0, ch.loc[t].to_dict()
    stable = ch.loc["coordination_territoriale"]
    assert stable.ci_low < 0 < stable.ci_high, stable.to_dict()
    pd.testing.assert_frame_equal(ch, again)     # same project + seed -> same intervals


@pytest.mark.slow
def test_demo_planted_posture_move(demo_project):
    """Planted: R01-R05 (Conum) move from faire_a_la_place to faire_avec; R06 is a stable
    faire_avec control; nobody moves the other way. Coded by the zero-shot coder."""
    from textmine.store import Store
    with Store(demo_project, read_only=True) as store:
        res = panel(store, "2022", "2023")
        seg = changes(store, "2022", "2023", measure="segments").set_index("theme")
    moved = res.movers[(res.movers["posture_from"] == "faire_a_la_place") & (res.movers["posture_to"] == "faire_avec")]
    planted = set(moved["respondent_id"]) & {"R01", "R02", "R03", "R04", "R05"}
    assert len(planted) >= 4, res.respondents.to_dict(orient="records")
    resp = res.respondents.set_index("respondent_id")
    assert resp.loc["R06", "posture_from"] == resp.loc["R06", "posture_to"] == "faire_avec"
    assert not ((res.respondents["posture_from"] == "faire_avec") & (res.respondents["posture_to"] == "faire_a_la_place")).any()
    # the same move at the level of segments, with intervals that exclude zero
    assert seg.loc["posture:faire_avec", "ci_low"] > 0 and seg.loc["posture:faire_avec", "significant"]
    assert seg.loc["posture:faire_a_la_place", "ci_high"] < 0


# ------------------------------------------------------------------ demo answer key (perfect coding)
def test_demo_answer_key_planted_changes(tmp_path):
    """With the demo's own coding (answer key) as codings, the README's planted changes come out:
    intervals exclude zero for the rising themes, not for the stable ones; >= 4 panel Conum move
    from faire_a_la_place to faire_avec."""
    from helpers_track import build_answer_key_store
    store = build_answer_key_store(tmp_path / "key")
    ch = changes(store, "2022", "2023", measure="interviews").set_index("theme")
    for t in ("precarite", "financement_renouvellement"):
        assert ch.loc[t, "ci_low"] > 0 and ch.loc[t, "q_value"] < 0.05, ch.loc[t].to_dict()
    for t in ("coordination_territoriale", "demarches_administratives"):
        assert ch.loc[t, "ci_low"] <= 0 <= ch.loc[t, "ci_high"] and not ch.loc[t, "significant"], t
    seg = changes(store, "2022", "2023", measure="segments").set_index("theme")
    assert seg.loc["posture:faire_avec", "ci_low"] > 0 and seg.loc["posture:faire_a_la_place", "ci_high"] < 0
    res = panel(store)
    moved = res.movers[(res.movers.posture_from == "faire_a_la_place") & (res.movers.posture_to == "faire_avec")]
    assert len(moved) >= 4 and (moved["role"] == "conum").all()
    assert set(moved["respondent_id"]) <= {"R01", "R02", "R03", "R04", "R05"}
    assert set(res.respondents["respondent_id"]) == {f"R0{i}" for i in range(1, 8)}
    # attrs columns of the metadata sheet are grouping attributes
    by_genre = prevalence(store, by=["wave", "genre"], themes=["precarite"])
    assert set(by_genre["genre"].dropna()) == {"F", "H"}
    store.close()


# ------------------------------------------------------------------ wave order
def test_waves_sort_naturally_everywhere(tmp_path):
    """Wave "10" comes after "9" in tracking, corpus stats and the run's comparison wave."""
    from textmine.overview import corpus_stats
    from textmine.records import sort_waves
    assert sort_waves(["10", "9", "vague10", "vague2", "V1", "2"]) == ["2", "9", "10", "V1", "vague2", "vague10"]
    store = build_store(tmp_path / "p", n_per_wave=3, segs_per_interview=4, n_panel=2, waves=("9", "10"))
    from textmine.track import load_items
    assert load_items(store).waves() == ["9", "10"]
    res = panel(store)                           # defaults: first -> last wave in natural order
    assert (res.wave_from, res.wave_to) == ("9", "10")
    prev = prevalence(store, by=["wave"], themes=["precarite"])
    assert list(dict.fromkeys(prev["wave"])) == ["9", "10"]
    stats = corpus_stats(store)
    assert list(dict.fromkeys(stats["wave"].dropna())) == ["9", "10"] or stats.empty
    store.close()


def test_topics_tracked_from_a_store_without_topic_similarity(tmp_path):
    """A store written before topic assignments had ``similarity`` still tracks its topics,
    read-only (the column reads as NULL; nothing is altered)."""
    from textmine.store import Store
    from textmine.track.data import load_items
    s = build_store(tmp_path / "old", n_per_wave=3, segs_per_interview=4, n_panel=2)
    s.con.execute("ALTER TABLE topic_assignments DROP COLUMN similarity")
    s.close()
    with Store(tmp_path / "old", read_only=True) as ro:
        data = load_items(ro, kinds=("topic",))
        topic_cols = [j for j, k in enumerate(data.kinds) if k == "topic"]
        assert topic_cols and data.X[:, topic_cols].any()
        assert np.isnan(data.scores[:, topic_cols]).all()
        assert set(prevalence(ro, by=["wave"], themes=["topic:0"])["wave"]) == {"2022", "2023"}
        assert not ro.has_column("topic_assignments", "similarity")
