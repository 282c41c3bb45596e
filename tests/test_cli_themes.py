"""`textmine themes ...` commands: exit codes and outputs (classify JSONL contract exactly)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from textmine.cli.main import main
from textmine.config import DEFAULT_CODEBOOK
from textmine.themes.codebook import POSTURE_LABELS, load_codebook

from helpers_themes import SEGMENTS, build_store, write_coded

pytestmark = pytest.mark.slow
IDS = load_codebook().ids


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_themes")
    coded = write_coded(d / "coded.csv")
    assert main(["themes", "train", "--coded", str(coded), "--output", str(d / "model"), "--format", "json"]) == 0
    return d


def _run(args, capsys):
    capsys.readouterr()
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_classify_jsonl_contract(work, capsys):
    inp = work / "in.csv"
    pd.DataFrame({"id": ["x1", "x2", "x3"], "other": ["a", "b", "c"],
                  "text": ["Je leur apprends à le faire eux-mêmes, je ne fais pas à leur place.",
                           "Mon contrat se termine et je ne sais pas si je serai renouvelé.", "euh ben oui"]}
                 ).to_csv(inp, index=False)
    for extra in ([], ["--model", str(work / "model")]):
        out = work / "out.jsonl"
        rc, _, _ = _run(["themes", "classify", "--input", str(inp), "--output", str(out), *extra], capsys)
        assert rc == 0
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in rows] == ["x1", "x2", "x3"]
        for r in rows:
            assert set(r) == {"id", "themes", "scores", "posture"}
            assert set(r["scores"]) == set(IDS) and all(0.0 <= v <= 1.0 for v in r["scores"].values())
            assert set(r["themes"]) <= set(IDS)
            assert r["posture"] is None or r["posture"] in POSTURE_LABELS
            if r["posture"] is not None:
                assert "posture_faire_avec_vs_a_la_place" in r["themes"]
        assert rows[2]["themes"] == [] and rows[2]["posture"] is None        # abstention
        assert "posture_faire_avec_vs_a_la_place" in rows[0]["themes"] and rows[0]["posture"] == "faire_avec"
        assert "precarite" in rows[1]["themes"]
    # other columns are ignored unless --use-role asks for the `role` column
    out_a, out_b = work / "a.jsonl", work / "b.jsonl"
    df = pd.read_csv(inp)
    df.assign(role="elu").to_csv(work / "in_role.csv", index=False)
    assert _run(["themes", "classify", "--input", str(work / "in_role.csv"), "--output", str(out_a),
                 "--model", str(work / "model")], capsys)[0] == 0
    assert out_a.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    rc, _, _ = _run(["themes", "classify", "--input", str(work / "in_role.csv"), "--output", str(out_b),
                     "--model", str(work / "model"), "--use-role"], capsys)
    assert rc == 0 and len(out_b.read_text(encoding="utf-8").splitlines()) == 3
    rc, _, err = _run(["themes", "classify", "--input", str(inp), "--output", str(out_b), "--use-role"], capsys)
    assert rc == 1 and "E402" in err and "role" in err


def test_evaluate_model_cv_against(work, capsys):
    coded = work / "coded.csv"
    rc, out, _ = _run(["themes", "evaluate", "--coded", str(coded), "--model", str(work / "model"),
                       "--format", "json"], capsys)
    assert rc == 0
    res = json.loads(out)
    assert res["mode"] == "model" and res["n"] == 28 and len(res["per_theme"]) == 11
    for key in ("precision", "recall", "f1", "kappa", "alpha", "support", "kappa_lo", "kappa_hi", "f1_lo", "f1_hi"):
        assert key in res["per_theme"][0] and key in res["macro"]
    assert res["bootstrap"] == {"replicates": 1000, "level": 0.95, "resampled": "interview_id"}
    m = res["macro"]
    assert m["kappa_lo"] <= m["kappa"] <= m["kappa_hi"] and m["f1_lo"] <= m["f1"] <= m["f1_hi"]
    rc, out2, _ = _run(["themes", "evaluate", "--coded", str(coded), "--model", str(work / "model"),
                        "--format", "json", "--bootstrap", "0"], capsys)
    assert rc == 0 and "kappa_lo" not in json.loads(out2)["macro"] and "bootstrap" not in json.loads(out2)
    rc, out, err = _run(["themes", "evaluate", "--coded", str(coded), "--cv", "3", "--format", "table"], capsys)
    assert rc == 0 and "macro" in out and "kappa_lo" in out and "grouped by interview_id" in " ".join(err.split())
    # two coders: the second changes two decisions
    df = pd.read_csv(coded, keep_default_na=False)
    df.loc[0, "themes"] = "precarite"
    df.loc[1, "themes"] = "precarite;coordination_territoriale"
    write_coded(work / "coder2.csv", df)
    rc, out, _ = _run(["themes", "evaluate", "--coded", str(coded), "--against", str(work / "coder2.csv"),
                       "--format", "json"], capsys)
    assert rc == 0
    res = json.loads(out)
    per = {r["theme"]: r for r in res["per_theme"]}
    assert per["france_services"]["kappa"] == 1.0 and per["precarite"]["kappa"] < 1.0
    assert res["mode"] == "coders"
    # a theme neither coder uses: agreement undefined (null in JSON), left out of the macro mean
    unused = [t for t, r in per.items() if r["support"] == 0 and r["predicted"] == 0]
    assert unused and all(per[t]["kappa"] is None and per[t]["f1"] is None for t in unused)
    used = [r["kappa"] for r in per.values() if r["kappa"] is not None]
    assert res["macro"]["kappa"] == pytest.approx(sum(used) / len(used))
    # a second coder's file without the texts (id,themes[,posture]) is matched by id: same figures
    df.drop(columns=["text"]).to_csv(work / "coder2_ids.csv", index=False)
    rc, out3, _ = _run(["themes", "evaluate", "--coded", str(coded), "--against", str(work / "coder2_ids.csv"),
                        "--format", "json"], capsys)
    assert rc == 0 and json.loads(out3)["per_theme"] == res["per_theme"]
    df.drop(columns=["text", "themes"]).to_csv(work / "coder2_bad.csv", index=False)
    rc, _, err = _run(["themes", "evaluate", "--coded", str(coded), "--against", str(work / "coder2_bad.csv")], capsys)
    assert rc == 1 and "E402" in err and "missing column 'themes'" in err
    rc, _, err = _run(["themes", "evaluate", "--coded", str(work / "coder2_ids.csv"), "--cv", "3"], capsys)
    assert rc == 1 and "missing column 'text'" in err     # the reference file keeps its texts
    rc, _, _ = _run(["themes", "evaluate", "--coded", str(coded)], capsys)
    assert rc == 1                                   # neither --model nor --cv nor --against


def test_disagreements_and_list(work, capsys):
    out = work / "dis.csv"
    rc, _, _ = _run(["themes", "disagreements", "--coded", str(work / "coded.csv"), "--cv", "3",
                     "--output", str(out)], capsys)
    assert rc == 0
    q = pd.read_csv(out)
    assert list(q.columns[:5]) == ["id", "theme", "kind", "human", "model"] and len(q) > 0
    assert q["confidence"].is_monotonic_decreasing
    rc, stdout, _ = _run(["themes", "list", "--format", "json"], capsys)
    assert rc == 0 and [r["id"] for r in json.loads(stdout)] == IDS


def test_errors_exit_1(work, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,themes\na,un texte,precarite\nb,autre texte,inconnu\n", encoding="utf-8")
    rc, _, err = _run(["themes", "train", "--coded", str(bad), "--output", str(tmp_path / "m")], capsys)
    assert rc == 1 and "E402" in err and "inconnu" in err
    dup = tmp_path / "dup.yaml"
    data = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    data["themes"].append(dict(data["themes"][0]))
    dup.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rc, _, err = _run(["themes", "list", "--codebook", str(dup)], capsys)
    assert rc == 1 and "E401" in err and "duplicate" in err
    other = tmp_path / "other.yaml"
    data = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    data["themes"][0]["definition"] += " Variante."
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    inp = tmp_path / "in.csv"
    inp.write_text("id,text\n1,bonjour tout le monde\n", encoding="utf-8")
    rc, _, err = _run(["themes", "classify", "--input", str(inp), "--output", str(tmp_path / "o.jsonl"),
                       "--model", str(work / "model"), "--codebook", str(other)], capsys)
    assert rc == 1 and "E404" in err


def test_apply_and_suggest_on_a_project(work, tmp_path, capsys):
    proj = tmp_path / "proj"
    build_store(proj).close()
    n_resp = sum(1 for turns in SEGMENTS.values() for r, _ in turns if r != "interviewer")
    rc, out, _ = _run(["--project", str(proj), "themes", "apply", "--format", "json"], capsys)
    assert rc == 0 and {r["theme"] for r in json.loads(out)} == set(IDS)
    from textmine.store import Store
    from textmine.themes.codings import theme_codings
    with Store(proj) as st:
        df = theme_codings(st)
        run = st.get_kv("themes.current_run")
        assert list(df.columns) == ["run_id", "model_id", "segment_id", "theme", "score", "assigned", "posture"]
        assert len(df) == n_resp * 11 and df["run_id"].nunique() == 1
        assert set(run) >= {"run_id", "model_id", "codebook_hash", "encoder"}
        seg = df[df["segment_id"] == "itv-a:0001:00"].set_index("theme")
        assert seg.loc["posture_faire_avec_vs_a_la_place", "assigned"]
        assert seg.loc["posture_faire_avec_vs_a_la_place", "posture"] == "faire_avec"
        assert not df[df["segment_id"] == "itv-a:0005:00"]["assigned"].any()   # fillers: abstained
    rc, _, _ = _run(["--project", str(proj), "themes", "apply", "--model", str(work / "model")], capsys)
    assert rc == 0
    with Store(proj) as st:
        df2 = theme_codings(st)
        assert len(df2) == n_resp * 11 and df2["model_id"].iloc[0].startswith("sup-")
        assert len(st.read_frame("theme_codings")) == n_resp * 11          # earlier codings replaced
    out = tmp_path / "suggest.csv"
    rc, _, _ = _run(["--project", str(proj), "themes", "suggest", "--n", "3", "--output", str(out)], capsys)
    assert rc == 0
    sug = pd.read_csv(out, keep_default_na=False)
    assert list(sug.columns[:4]) == ["id", "text", "themes", "posture"] and len(sug) == 3
    assert sug["id"].is_unique and (sug["themes"] == "").all()
    assert not sug["text"].str.contains("médiathèque").any()            # pseudonymised text by default
    rc, _, err = _run(["themes", "apply"], capsys)
    assert rc == 1 and "E002" in err


def test_qdpx_codings_are_accepted(work, tmp_path, capsys):
    from textmine.export.qdpx import write_qdpx
    from textmine.themes.apply import apply_themes
    from textmine.export.coded import read_coded
    proj = tmp_path / "proj"
    st = build_store(proj)
    apply_themes(st)
    write_qdpx(st, proj / "project.qdpx")
    st.close()
    df = read_coded(proj / "project.qdpx", load_codebook())
    assert len(df) > 0 and set(df["posture"].dropna()) <= set(POSTURE_LABELS)
    assert all(p is None or isinstance(p, str) for p in df["posture"])
    rc, out, _ = _run(["themes", "evaluate", "--coded", str(proj / "project.qdpx"), "--model", str(work / "model"),
                       "--format", "json"], capsys)
    assert rc == 0 and json.loads(out)["n"] == len(df)
