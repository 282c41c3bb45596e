"""`textmine run`: incremental, resumable after SIGKILL, manifests, lock.

These test the pipeline's mechanics, so they run on the session's ``baseline_project`` (demo wave
1 with the test encoder, conftest.py); what the real models find is tested on ``demo_project``.
Kills are driven by the run's own progress events (``TEXTMINE_KILL_AT``), never by a timer.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO, ROOT, TEST_ENCODER_CONFIG, copy_project
from textmine.embed import TEST_ENCODER
from textmine.pipeline import KILL_ENV, run_wave
from textmine.store import Store

pytestmark = pytest.mark.slow

W1 = ["run", str(DEMO / "vague1"), "--wave", "2022", "--metadata", str(DEMO / "vague1" / "metadata.csv")]


def _tables(project: Path) -> dict[str, pd.DataFrame]:
    """The analysis results, in a comparable form (no run ids or timestamps)."""
    with Store(project, read_only=True) as s:
        out = {
            "segments": s.query("SELECT segment_id, text, text_pseudo, role FROM segments ORDER BY 1"),
            "pseudonyms": s.query("SELECT kind, key, placeholder FROM pseudonym_map ORDER BY 1, 2"),
            "themes": s.query("SELECT segment_id, theme, round(score, 5) AS score, assigned, posture "
                              "FROM theme_codings ORDER BY 1, 2"),
            "topics": s.query("SELECT a.segment_id, a.topic FROM topic_assignments a "
                              "ORDER BY 1"),
        }
    return out


def _manifest(project: Path) -> dict:
    (path,) = sorted((project / "runs").glob("*.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_written_and_listed(baseline_project, cli):
    project = baseline_project
    m = _manifest(project)
    run_id = m["run_id"]
    for key in ("config", "codebook_hash", "encoder", "packages", "corpus_hash", "seeds", "counts", "durations_s"):
        assert key in m, key
    assert m["seeds"]["random_state"] == 42
    assert m["encoder"].startswith(f"{TEST_ENCODER}@") and m["config"]["embed"]["encoder"] == TEST_ENCODER
    assert m["counts"]["interviews"] == 10 and m["counts"]["segments"] > 100
    assert set(m["durations_s"]) >= {"ingest", "embed", "topics", "themes", "outputs"}
    listed = cli("--project", project, "runs", "list", "--format", "json")
    assert listed.exit_code == 0 and run_id in [r["run_id"] for r in json.loads(listed.stdout)]
    shown = cli("--project", project, "runs", "show", run_id)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["corpus_hash"] == m["corpus_hash"]
    missing = cli("--project", project, "runs", "show", "nope")
    assert missing.exit_code == 1 and "E702" in missing.stderr
    for name in ("report.html", "quotes.docx", "quotes.xlsx", "quotes.md", "project.qdpx"):
        assert (project / "outputs" / name).stat().st_size > 0, name
    # the run's manifest names the coder as the codings and the quote banks' provenance do
    with Store(project, read_only=True) as s:
        (model_id,) = s.query("SELECT DISTINCT model_id FROM theme_codings")["model_id"]
    assert model_id.startswith("zeroshot-") and m["theme_model"] == model_id
    assert m["stages"]["themes"]["model"] == model_id
    md = (project / "outputs" / "quotes.md").read_text(encoding="utf-8")
    assert "| run_wave | 2022 |" in md and "| waves | 2022 |" in md and "| wave |" not in md


def test_run_leaves_the_search_index_ready(baseline_project, tmp_path, cli, monkeypatch):
    """The run's last stage indexes the pseudonymised texts: a search afterwards reads the saved
    snapshot (no in-process copy) and does no indexing work."""
    from textmine.search import index as sidx
    project = copy_project(baseline_project, tmp_path / "p")
    m = _manifest(project)
    assert "search" in m["durations_s"] and m["stages"]["search"]["segments"] > 100, m["stages"]

    def no_work(*args, **kwargs):
        raise AssertionError("indexing work in a search after a run")

    monkeypatch.setattr(sidx, "update_index", no_work)
    monkeypatch.setattr(sidx.SearchIndex, "build", classmethod(no_work))
    monkeypatch.setattr(sidx, "passage_matrix", no_work)
    monkeypatch.setattr(sidx, "_CACHE", {})
    for mode in ("keyword", "hybrid"):
        out = cli("--project", project, "search", "atelier", "--mode", mode, "--format", "json")
        assert out.exit_code == 0, out.stderr
        hits = json.loads(out.stdout)
        assert hits and (mode == "hybrid" or all("atelier" in h["text"].lower() for h in hits)), hits[:3]
        assert "Indexing" not in out.stderr


def test_unchanged_rerun_does_nothing(baseline_project, tmp_path):
    project = copy_project(baseline_project, tmp_path / "p")
    before = _tables(project)
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv")
    assert res.did_nothing, res.stages
    after = _tables(project)
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])


def _run_killed_at(project: Path, point: str) -> None:
    """`textmine run` (wave 1, test encoder) in a new process that SIGKILLs itself at ``point``
    (``stage:k``, the k-th progress event of the stage: see textmine.pipeline)."""
    cmd = [sys.executable, "-c", "from textmine.cli.main import run; run()", "--config", str(TEST_ENCODER_CONFIG),
           *W1, "--project", str(project)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200", KILL_ENV: point})
    assert proc.returncode == -signal.SIGKILL, f"not killed at {point}: {proc.returncode}\n{proc.stderr[-2000:]}"


def test_killed_runs_resume_to_the_same_results(baseline_project, tmp_path):
    """Killed inside ingest (after 3 interviews), then, resuming, inside themes (segments coded,
    nothing written yet): the final results are those of an uninterrupted run. (A kill between
    two stages is the simpler case of the second: the resumed run skips the stages recorded.)"""
    project = tmp_path / "p"
    _run_killed_at(project, "ingest:3")
    with Store(project, read_only=True) as s:
        assert 0 < s.query("SELECT count(*) AS n FROM interviews")["n"][0] < 10    # some interviews committed
    _run_killed_at(project, "themes:1")
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv")
    assert not res.did_nothing
    # ingest, embed and topics were completed by the run killed in themes; themes never was
    assert all(res.stages[s].get("skipped") for s in ("ingest", "embed", "topics")), res.stages
    assert not res.stages["themes"].get("skipped")
    want, got = _tables(baseline_project), _tables(project)
    for k in want:
        pd.testing.assert_frame_equal(want[k], got[k], obj=k)


def test_lock_refuses_second_run(baseline_project, cli):
    from textmine.runlock import project_lock
    project = baseline_project
    with project_lock(project):
        res = cli(*W1, "--project", project)
    assert res.exit_code == 1 and "E003" in res.stderr


def test_run_wave_takes_an_encoder_object(baseline_project, tmp_path):
    """The seam: an encoder object given to run_wave serves every stage of that run."""
    from textmine.embed import CharNgramTestEncoder, encoder_key, register
    from textmine.errors import TextmineError

    class Narrow(CharNgramTestEncoder):
        name = "test-char-ngrams-64"
    enc = Narrow(dim=64)
    project = copy_project(baseline_project, tmp_path / "p")
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv",
                   encoder=enc, refit_topics=True)
    key = encoder_key(enc)
    assert key == f"{TEST_ENCODER}@1-d64-n34" and res.manifest["encoder"] == key
    assert res.stages["embed"]["encoder"] == key and res.stages["ingest"]["skipped"]
    with Store(project, read_only=True) as s:
        assert s.get_kv("themes.current_run")["encoder"] == key
        rec = s.query("SELECT encoder, encoder_name FROM topic_models WHERE model_id = ?",
                      [s.get_kv("topics.current_model")]).iloc[0]
        assert (rec["encoder"], rec["encoder_name"]) == (key, "test-char-ngrams-64")
    with pytest.raises(TextmineError) as e:              # one name never serves two models
        register(Narrow(dim=32))
    assert e.value.code == "E301"


def test_a_wave_the_sheet_contradicts_is_said_and_the_run_takes_the_sheets(baseline_project, tmp_path):
    """--wave 2031 with a sheet that says 2022: the sheet's wave wins (as documented), the run
    says so, and the run is recorded under the wave its interviews have."""
    project = copy_project(baseline_project, tmp_path / "p")
    said = []
    res = run_wave(project, DEMO / "vague1", wave="2031", metadata=DEMO / "vague1" / "metadata.csv",
                   report=lambda stage, msg: said.append((stage, msg)))
    assert any(st == "ingest" and "--wave 2031" in m and "gives wave 2022 to all" in m for st, m in said), said
    assert ("ingest", "this run is recorded as wave 2022") in said
    assert res.wave == "2022" and res.manifest["wave"] == "2022" and res.manifest["run_id"].endswith("-w2022")
    with Store(project, read_only=True) as s:
        assert set(s.interviews_frame()["wave"]) == {"2022"}


def test_a_first_wave_too_small_for_topics_still_gets_its_themes_figures_and_quotes(tmp_path):
    corpus = tmp_path / "petite"
    corpus.mkdir()
    for k, (who, said) in enumerate([("Conum", "On accompagne les usagers pour leurs démarches en ligne à la mairie."),
                                     ("Élu", "Le financement du poste de conseiller numérique nous inquiète beaucoup.")]):
        (corpus / f"entretien_{k}.txt").write_text(
            f"Enquêtrice : Comment ça se passe ?\n{who} : {said}\nEnquêtrice : Et ensuite ?\n"
            f"{who} : Les gens reviennent souvent, ils sont en grande difficulté avec les papiers.\n", encoding="utf-8")
    said = []
    res = run_wave(tmp_path / "p", corpus, wave="2024", config_path=TEST_ENCODER_CONFIG,
                   report=lambda stage, msg: said.append((stage, msg)))
    assert res.stages["topics"]["model_id"] is None and "E306" not in str(res.stages["themes"])
    assert any(st == "topics" and "no topic model yet" in m for st, m in said), said
    assert not res.stages["themes"].get("skipped") and res.outputs
    for path in res.outputs.values():
        assert Path(path).exists(), path


def test_a_file_saved_again_with_the_same_text_gets_its_topics_and_codings_back(tmp_path):
    """Re-ingesting a file whose text did not change (saved again: its bytes differ) replaces
    the interview, which drops its topics and codings: the next stages must derive them again
    (they were skipped: their fingerprint only saw the unchanged segments, and later runs said
    "nothing new" while the interview was missing from the quotes and the figures)."""
    import shutil

    from textmine.integrity import check_store
    corpus = tmp_path / "vague1"
    shutil.copytree(DEMO / "vague1", corpus)
    project = tmp_path / "p"
    run_wave(project, corpus, wave="2022", metadata=corpus / "metadata.csv", config_path=TEST_ENCODER_CONFIG)
    txt = corpus / "entretien_01_conum_A.txt"
    txt.write_bytes(txt.read_bytes() + b"\n\n")                 # saved again: same turns, other bytes
    res = run_wave(project, corpus, wave="2022", metadata=corpus / "metadata.csv")
    assert res.stages["ingest"]["replaced"] == ["V1-A-CONUM-01"]
    assert not res.stages["topics"].get("skipped") and not res.stages["themes"].get("skipped")
    with Store(project, read_only=True) as s:
        pending = check_store(s)
    assert not pending[pending["check"].isin(["segments without a topic", "segments without codings"])
                       ]["rows"].any(), pending


def test_a_failed_lemmatiser_worker_is_said_and_its_texts_still_analysed(baseline_project, tmp_path, monkeypatch):
    """The run lemmatises at the topics stage in worker processes (here from one text); workers
    that cannot start are said in the run's progress, and the topic words are the same."""
    from textmine import french, workers
    project = copy_project(baseline_project, tmp_path / "p")
    with Store(baseline_project, read_only=True) as s:
        want = s.query("SELECT topic, label FROM topic_info ORDER BY topic")
    monkeypatch.setattr(french, "POOL_MIN_TEXTS", 1)
    broken = tmp_path / "broken-python"        # a worker that fails as a Python error would, last line first
    broken.write_text("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                      "echo 'RuntimeError: worker broke on purpose' >&2\nexit 3\n", encoding="ascii")
    broken.chmod(0o755)
    monkeypatch.setattr(workers.sys, "executable", str(broken))
    said = []
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv",
                   refit_topics=True, report=lambda stage, msg: said.append((stage, msg)))
    assert res.stages["topics"]["action"] == "fit"
    assert any(st == "topics" and "lemmatiser worker processes failed (exit status 3: RuntimeError: worker broke "
               "on purpose)" in m for st, m in said), said
    assert res.stages["topics"]["lemmatiser"]["failed"] >= 1
    with Store(project, read_only=True) as s:
        pd.testing.assert_frame_equal(s.query("SELECT topic, label FROM topic_info ORDER BY topic"), want)
