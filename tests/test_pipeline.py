"""`textmine run`: incremental, resumable after SIGKILL, manifests, lock."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO, ROOT

pytestmark = pytest.mark.slow

W1 = ["run", str(DEMO / "vague1"), "--wave", "2022", "--metadata", str(DEMO / "vague1" / "metadata.csv")]


def _tables(project: Path) -> dict[str, pd.DataFrame]:
    """The analysis results, in a comparable form (no run ids or timestamps)."""
    from textmine.store import Store
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


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    from textmine.pipeline import run_wave
    p = tmp_path_factory.mktemp("base") / "p"
    res = run_wave(p, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv")
    return p, res


def test_manifest_written_and_listed(baseline, cli):
    project, res = baseline
    m = json.loads((project / "runs" / f"{res.run_id}.json").read_text(encoding="utf-8"))
    for key in ("config", "codebook_hash", "encoder", "packages", "corpus_hash", "seeds", "counts", "durations_s"):
        assert key in m, key
    assert m["seeds"]["random_state"] == 42
    assert m["encoder"].startswith("e5-small@")
    assert m["counts"]["interviews"] == 10 and m["counts"]["segments"] > 100
    assert set(m["durations_s"]) >= {"ingest", "embed", "topics", "themes", "outputs"}
    listed = cli("--project", project, "runs", "list", "--format", "json")
    assert listed.exit_code == 0 and res.run_id in [r["run_id"] for r in json.loads(listed.stdout)]
    shown = cli("--project", project, "runs", "show", res.run_id)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["corpus_hash"] == m["corpus_hash"]
    missing = cli("--project", project, "runs", "show", "nope")
    assert missing.exit_code == 1 and "E702" in missing.stderr
    for name in ("report.html", "quotes.docx", "quotes.xlsx", "quotes.md", "project.qdpx"):
        assert (project / "outputs" / name).stat().st_size > 0, name


def test_run_leaves_the_search_index_ready(baseline, cli, monkeypatch):
    """The run's last stage indexes the pseudonymised texts: a search afterwards, in a new
    process (no in-process copy), reads the saved snapshot and does no indexing work."""
    from textmine.search import index as sidx
    project, res = baseline
    assert "search" in res.manifest["durations_s"] and res.stages["search"]["segments"] > 100, res.stages

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


def test_unchanged_rerun_does_nothing(baseline):
    from textmine.pipeline import run_wave
    project, _ = baseline
    before = _tables(project)
    t0 = time.perf_counter()
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv")
    assert res.did_nothing, res.stages
    assert time.perf_counter() - t0 < 30
    after = _tables(project)
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])


def _kill_during(project: Path, stage: str, delay: float) -> None:
    """Start `textmine run` in a subprocess and SIGKILL it `delay` s after `stage` starts."""
    cmd = [sys.executable, "-c", "from textmine.cli.main import run; run()", *W1, "--project", str(project)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        for line in proc.stderr:
            if line.strip().startswith(stage):
                time.sleep(delay)
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"


@pytest.mark.parametrize("stage,delay", [("ingest", 2.0), ("topics", 0.5), ("themes", 0.2)])
def test_killed_run_resumes_to_same_results(baseline, tmp_path, stage, delay):
    from textmine.pipeline import run_wave
    project = tmp_path / "p"
    _kill_during(project, stage, delay)
    res = run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv")
    assert not res.did_nothing
    want, got = _tables(baseline[0]), _tables(project)
    for k in want:
        pd.testing.assert_frame_equal(want[k], got[k], obj=k)


def test_lock_refuses_second_run(baseline, cli):
    from textmine.runlock import project_lock
    project, _ = baseline
    with project_lock(project):
        res = cli(*W1, "--project", project)
    assert res.exit_code == 1 and "E003" in res.stderr
