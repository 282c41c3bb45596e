"""CLI: `embed` and `topics fit|apply|list|show|by|change`."""
from __future__ import annotations

import json

import pytest

from conftest import copy_project
from helpers_topics import fitted_project, make_store
from textmine.cli.main import main
from textmine.store import Store


def _run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture()
def project(tmp_path_factory, tmp_path):
    root, res = fitted_project(tmp_path_factory)
    proj = copy_project(root, tmp_path / "copy")
    with Store(proj) as store:   # make pseudonymised text differ from the raw text everywhere
        store.con.execute("UPDATE segments SET text_pseudo = '[PSEUDO] ' || text")
    return proj, res


@pytest.mark.slow
def test_embed_reports_new_then_cached(tmp_path, capsys):
    store = make_store(tmp_path, limit=30)
    store.close()
    p = str(tmp_path / "proj")
    rc, _, err = _run(capsys, "--project", p, "embed")
    assert rc == 0 and "30 segments" in err and "30 new, 0 cached" in err
    rc, _, err = _run(capsys, "--project", p, "embed")
    assert rc == 0 and "0 new, 30 cached" in err
    rc, _, err = _run(capsys, "--project", p, "embed", "--all")     # interviewer questions: 1 distinct text
    assert rc == 0 and "60 segments (31 distinct texts)" in err and "1 new, 30 cached" in err
    rc, _, err = _run(capsys, "--project", p, "embed", "--encoder", "model2vec:/nonexistent/m2v")
    assert rc == 1 and "E302" in err


@pytest.mark.slow
def test_topics_list_json(project, capsys):
    proj, res = project
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "list", "--format", "json")
    assert rc == 0
    rows = json.loads(out)
    assert {r["id"] for r in rows} >= {0, 1, 2}
    assert sum(r["count"] for r in rows) == 100
    for r in rows:
        assert set(r) >= {"id", "count", "label", "words"} and isinstance(r["words"], list)
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "list")
    assert rc == 0 and "Topics" in out
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "list", "--format", "csv")
    assert rc == 0 and out.splitlines()[0] == "id,count,label,words"


@pytest.mark.slow
def test_topics_show_pseudonymised_and_reveal(project, capsys):
    proj, _ = project
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "show", "0", "--format", "json")
    assert rc == 0
    obj = json.loads(out)
    assert obj["id"] == 0 and len(obj["quotes"]) == 5 and obj["words"]
    for q in obj["quotes"]:
        assert q["text"].startswith("[PSEUDO] ")
        assert q["attribution"].startswith("(") and "vague" in q["attribution"]
        assert "Dupont" not in q["source"] and q["source"].startswith("itv-")
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "show", "0", "--reveal", "--format", "json")
    revealed = json.loads(out)["quotes"]
    assert rc == 0 and not any(q["text"].startswith("[PSEUDO]") for q in revealed)
    assert all("_Dupont.txt" in q["source"] for q in revealed)
    rc, out, _ = _run(capsys, "--project", str(proj), "topics", "show", "1")
    assert rc == 0 and "Topic 1" in out and "Mots" in out and "[PSEUDO]" in out
    rc, _, err = _run(capsys, "--project", str(proj), "topics", "show", "999")
    assert rc == 1 and "E305" in err


@pytest.mark.slow
def test_topics_by_change_and_apply(project, capsys):
    proj, res = project
    p = str(proj)
    rc, out, _ = _run(capsys, "--project", p, "topics", "by", "--by", "territory", "--format", "csv")
    assert rc == 0 and out.splitlines()[0] == "topic,label,territory,count,share,interviews"
    rc, out, _ = _run(capsys, "--project", p, "topics", "by", "--by", "role", "--format", "json")
    assert rc == 0 and {r["role"] for r in json.loads(out)} >= {"conum", "elu"}
    rc, _, err = _run(capsys, "--project", p, "topics", "by", "--by", "colour")
    assert rc == 1 and "E501" in err
    rc, out2, _ = _run(capsys, "--project", p, "topics", "by", "role", "--format", "json")   # positional too
    assert rc == 0 and json.loads(out2) == json.loads(out)
    rc, _, err = _run(capsys, "--project", p, "topics", "by", "role", "--by", "wave")
    assert rc == 1 and "E005" in err
    rc, out, _ = _run(capsys, "--project", p, "topics", "change", "--format", "json")
    assert rc == 0 and {"topic", "share_a", "share_b", "delta_pts"} <= set(json.loads(out)[0])
    # config topics.mode = apply (default): `topics fit` applies the existing model
    rc, out, err = _run(capsys, "--project", p, "topics", "fit", "--format", "json")
    assert rc == 0 and "applied current model" in err
    assert json.loads(out)[0]["model_id"] == res.model_id and json.loads(out)[0]["refit"] is False
    rc, out, _ = _run(capsys, "--project", p, "topics", "apply", "--format", "json")
    assert rc == 0 and json.loads(out)[0]["assigned"] == 0


def test_topics_without_model_is_e304(tmp_path, capsys):
    make_store(tmp_path, limit=10).close()
    rc, _, err = _run(capsys, "--project", str(tmp_path / "proj"), "topics", "list")
    assert rc == 1 and "E304" in err
    rc, _, err = _run(capsys, "--project", str(tmp_path / "proj"), "topics", "show", "0")
    assert rc == 1 and "E304" in err


@pytest.mark.slow
def test_topics_fit_cli_refit(tmp_path, capsys):
    store = make_store(tmp_path, config="random_state: 7\ntopics:\n  representation: ctfidf\n  mode: refit\n")
    short = ["oui tout à fait", "c'est ça exactement", "bien sûr"]   # < topics.min_words: not fitted
    for k, t in enumerate(short):
        store.con.execute("INSERT INTO segments (segment_id, interview_id, turn_index, seg_index, role, text, "
                          "text_pseudo, n_words) VALUES (?, 'itv-a1', ?, 0, 'conum', ?, ?, ?)",
                          [f"itv-a1:{900 + k:04d}:00", 900 + k, t, t, len(t.split())])
    store.close()
    p = str(tmp_path / "proj")
    rc, out, err = _run(capsys, "--project", p, "topics", "fit", "--format", "json")
    assert rc == 0, err
    res = json.loads(out)[0]
    assert res["refit"] is True and 3 <= res["n_topics"] <= 8 and res["outlier_share"] <= 0.15
    assert "topics on 103 segments" in err
    rc, out, _ = _run(capsys, "--project", p, "topics", "list", "--format", "json")
    assert rc == 0 and sum(r["count"] for r in json.loads(out)) == 103
    with Store(p) as store:
        assert store.read_frame("topic_models").iloc[0]["n_fit"] == 100
        a = store.query("SELECT * FROM topic_assignments WHERE segment_id LIKE 'itv-a1:09%'")
        # short segments: nearest centroid, so a similarity but no HDBSCAN membership
        assert len(a) == 3 and a["similarity"].between(-1, 1).all() and a["probability"].isna().all()
        reps = {s for r in store.read_frame("topic_info")["representative_ids"] for s in json.loads(r)}
        assert not any(s.startswith("itv-a1:09") for s in reps)
