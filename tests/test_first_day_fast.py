"""Issue 19 (a researcher's first day on their own corpus), the parts testable without models:
a busy project (item 6), codebook choice and coverage (7), topic notes, labels and the cold
import of the read side (9), percentage points (10), progress lines, the empty panel and the
BERTopic warning filter (12). Synthetic stores come from ``helpers_track``."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time

import pandas as pd
import pytest
from rich.console import Console

from conftest import ROOT
from helpers_track import build_store


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("firstday") / "proj"
    build_store(path, n_per_wave=12, segs_per_interview=20, n_panel=4, seed=3).close()
    return path


# ------------------------------------------------------------------ item 6: read commands during a run
def test_read_command_while_a_run_writes_says_who(tmp_path, cli):
    from textmine.store import Store
    p = tmp_path / "p"
    Store(p, create=True).close()
    writer = ("import sys, time, duckdb\nfrom textmine.runlock import project_lock\n"
              "with project_lock(sys.argv[1]):\n    con = duckdb.connect(sys.argv[1] + '/textmine.duckdb')\n"
              "    print('ready', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", writer, str(p)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        res = cli("--project", p, "corpus")
        assert res.exit_code == 1, res
        assert "E007" in res.stderr and f"a textmine run (PID {proc.pid}, started at" in res.stderr
        assert "is writing this project" in res.stderr and "DuckDB store" not in res.stderr
    finally:
        proc.kill()
        proc.wait()
    # another writer (an ingest, no run lock): named by the PID DuckDB gives
    writer = ("import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1] + '/textmine.duckdb')\n"
              "print('ready', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", writer, str(p)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        res = cli("--project", p, "speakers")
        assert res.exit_code == 1 and "E007" in res.stderr and f"PID {proc.pid})" in res.stderr
    finally:
        proc.kill()
        proc.wait()
    assert cli("--project", p, "corpus", "--format", "json").exit_code == 0     # free again


# ------------------------------------------------------------------ item 7: the codebook is the project's choice
def test_init_writes_the_codebook_choice(tmp_path, cli):
    import yaml
    from textmine.config import DEFAULT_CODEBOOK, load_config
    own = tmp_path / "cb.yaml"
    own.write_text(DEFAULT_CODEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    res = cli("--project", tmp_path / "p1", "init", "--codebook", own)
    assert res.exit_code == 0, res
    assert "codebook:" in res.stderr and "11 themes" in res.stderr
    cfg = load_config(tmp_path / "p1" / "textmine.yaml")
    assert cfg.codebook_path() == own.resolve() and cfg.codebook_name() == str(own.resolve())
    assert yaml.safe_load((tmp_path / "p1" / "textmine.yaml").read_text())["themes"]["codebook"] == "../cb.yaml"
    assert cli("--project", tmp_path / "p2", "init").exit_code == 0
    text = (tmp_path / "p2" / "textmine.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["themes"]["codebook"] == "conum" and "your" in text   # says how to change it
    assert load_config(tmp_path / "p2" / "textmine.yaml").codebook_path() == DEFAULT_CODEBOOK
    res = cli("--project", tmp_path / "p2", "init")
    assert res.exit_code == 1 and "E008" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes: [{id: x}]\n", encoding="utf-8")
    res = cli("--project", tmp_path / "p3", "init", "--codebook", bad)
    assert res.exit_code == 1 and "E401" in res.stderr and not (tmp_path / "p3").exists()


def test_low_coverage_is_said(tmp_path):
    from textmine.cli.themes import codebook_notes
    from textmine.store import Store
    from textmine.themes.codings import coverage
    p = tmp_path / "low"
    build_store(p, n_per_wave=3, segs_per_interview=10).close()
    with Store(p) as s:
        cov = coverage(s)
        assert 0.3 < cov["coverage"] <= 1 and not cov["low"]
        s.con.execute("UPDATE theme_codings SET assigned = false WHERE theme <> 'precarite' OR segment_id LIKE 'w2-%'")
        cov = coverage(s)
        assert cov["low"] and cov["largest"] == "precarite" and cov["coverage"] < 0.15
        notes = codebook_notes(s, first=True)
    assert notes[0].startswith("codebook: the packaged codebook of the Conseiller numérique study (11 themes)")
    assert any("themes.codebook: FILE" in n and "themes draft" in n for n in notes)
    assert any(n.startswith("warning: the codebook codes only") and "precarite" in n for n in notes)


# ------------------------------------------------------------------ item 9: topics a researcher can read
def _topics(store) -> None:
    """Eight topics; topic 0 keeps about 40 % of the segments (a catch-all), the others share the rest."""
    a = store.read_frame("topic_assignments")
    moved = (a["topic"] == 0) & (a.index % 3 == 0)
    a.loc[moved, "topic"] = 3 + (a.index[moved] // 3) % 5
    store.write_frame("topic_assignments", a, replace=True)
    store.con.execute("DROP TABLE topic_info")
    words = [[], ["usagers", "ateliers"], ["mairie", "permanence"], ["financement", "poste"]] + \
        [[f"mot{k}", "autre"] for k in range(3, 8)]
    store.write_frame("topic_info", pd.DataFrame({
        "model_id": "topics-test", "topic": list(range(-1, 8)), "count": 0,
        "label": ["hors thème (outliers)"] + [" · ".join(w) for w in words[1:]],
        "words": [json.dumps(w) for w in words], "representative_ids": "[]"}))


def test_catch_all_and_new_wave_far_from_every_topic(tmp_path):
    from textmine.cli.topics import topic_notes
    from textmine.store import Store
    from textmine.topics import catch_all_topics, novelty_by_wave
    p = tmp_path / "t"
    build_store(p, n_per_wave=6, segs_per_interview=20).close()
    with Store(p) as s:
        _topics(s)
        big = catch_all_topics(s)
        # topic 0 (everywhere) and topics 1 and 2 (one wave each) hold over 2/8 of a wave
        assert set(big["topic"]) == {0, 1, 2} and (big["share"] > 0.25).all()
        assert novelty_by_wave(s).empty           # a model fitted before the reference was recorded
        s.con.execute("UPDATE topic_assignments SET similarity = CASE WHEN segment_id LIKE 'w2-%' "
                      "AND segment_id < 'w2-0003' THEN 0.1 ELSE 0.8 END")
        s.set_kv("topics.novelty.topics-test", {"threshold": 0.5, "quantile": 0.05, "waves": ["2022"]})
        nov = novelty_by_wave(s).set_index("wave")
        assert nov.loc["2022", "far_share"] == 0 and nov.loc["2023", "far_share"] == pytest.approx(0.5)
        assert bool(nov.loc["2022", "in_fit"]) and not bool(nov.loc["2023", "in_fit"])
        notes = topic_notes(s)
    assert any("topic 0 (usagers · ateliers) holds" in n and "--split-large" in n for n in notes)
    assert any(n.startswith("wave 2023: 50% of its") and "--refit-topics" in n for n in notes)


def test_split_large_topics_is_seeded_and_brings_shares_down():
    import numpy as np
    from textmine.topics.fit import split_large_topics
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.1, size=(40, 8)) for c in (0, 1, 2, 3)]).astype(np.float32)
    X[:, 0] += np.repeat([5, -5, 5, -5], 40)
    topics = np.array([0] * 120 + [1] * 40)           # topic 0 swallowed three groups: 75 %
    a = split_large_topics(X, topics, 0.3, random_state=42)
    assert (a == split_large_topics(X, topics, 0.3, random_state=42)).all()
    shares = np.bincount(a) / len(a)
    assert set(a) == {0, 1, 2, 3} and shares.max() <= 0.3 and (a[120:] == 1).all()


def test_readable_words_use_the_corpus_form():
    from textmine.topics.fit import _readable_words
    forms = {"spécialemer": "spécialement", "achèt": "achète", "atelier": "atelier", "ateliers": "atelier"}
    assert _readable_words(["spécialemer", "atelier", "ateliers", "achèt"], forms) == ["spécialement", "atelier",
                                                                                      "achète"]


@pytest.mark.slow
def test_read_side_of_topics_does_not_import_bertopic():
    """`topics list/show/by/change` and tracking import no BERTopic (it took 25 s cold)."""
    code = ("import sys, time; t = time.perf_counter()\n"
            "import textmine.cli.main, textmine.topics, textmine.topics.query, textmine.track\n"
            "from textmine.topics import topics_table, topic_quotes, topics_by, topic_change, novelty_by_wave\n"
            "assert 'bertopic' not in sys.modules and 'umap' not in sys.modules, sorted(m for m in sys.modules if 'bertopic' in m)\n"
            "print(round(time.perf_counter() - t, 2))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ item 10: one unit for changes
def test_tables_in_percent_and_points(project, cli):
    res = cli("--project", project, "track", "changes", "--from", "2022", "--to", "2023", "--theme",
              "precarite,topic:1")
    assert res.exit_code == 0, res
    assert "delta (pts)" in res.stdout and "95 % CI (pts)" in res.stdout
    assert "topic:1 permanences_mairie" in res.stdout                      # topics by their label
    js = json.loads(cli("--project", project, "track", "changes", "--from", "2022", "--to", "2023",
                        "--theme", "precarite", "--format", "json").stdout)[0]
    assert 0 < js["delta"] < 1                                              # JSON keeps proportions (documented)
    row = next(ln for ln in res.stdout.splitlines() if "precarite" in ln)
    assert f"{100 * js['delta']:+.1f}" in row and f"{100 * js['ci_low']:+.1f}" in row
    res = cli("--project", project, "track", "--theme", "precarite")
    assert res.exit_code == 0 and "share (%)" in res.stdout and " %" in res.stdout and "95 % CI (%)" in res.stdout


def test_human_table_units():
    from textmine.cli.common import human_table
    df = pd.DataFrame({"kind": ["theme", "topic"], "theme": ["precarite", "topic:3"], "label": ["P", "atelier · senior"],
                       "share_from": [0.1, 0.2], "delta": [0.089, -0.02], "ci_low": [0.03, -0.05], "ci_high": [0.15, 0.01]})
    h = human_table(df)
    assert list(h.columns) == ["kind", "theme", "label", "share_from (%)", "delta (pts)", "95 % CI (pts)"]
    assert h["delta (pts)"].tolist() == ["+8.9", "-2.0"] and h["share_from (%)"].tolist() == ["10.0 %", "20.0 %"]
    assert h["95 % CI (pts)"].tolist() == ["[+3.0, +15.0]", "[-5.0, +1.0]"] and h["theme"][1] == "topic:3 atelier · senior"
    t = human_table(pd.DataFrame({"topic": [1], "label": ["x"], "share_a": [0.2], "share_b": [0.3], "delta_pts": [10.0]}))
    assert list(t.columns) == ["topic", "label", "share_a (%)", "share_b (%)", "delta (pts)"] and t["delta (pts)"][0] == "+10.0"


# ------------------------------------------------------------------ item 12: small things
def test_progress_prints_lines_with_time_left_when_not_a_terminal(monkeypatch):
    from textmine.cli import common
    buf = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=buf, force_terminal=False, width=200))
    monkeypatch.setattr(common.state, "quiet", False)
    with common.stage_progress("embed") as bar:
        bar["on_start"](50)
        for _ in range(50):
            bar["advance"](1)
            time.sleep(0.001)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "embed: started (50 to do)" and lines[-1].startswith("embed: finished in")
    assert any(ln.startswith("embed: 5/50 (10%), about") and ln.endswith("left") for ln in lines)
    assert 3 <= len(lines) <= 13
    buf.truncate(0)
    with common.stage_progress("ingest") as bar:       # nothing to do: no progress shown
        bar["on_start"](0)
    assert buf.getvalue() == ""


def test_empty_panel_prints_no_table(tmp_path, cli):
    p = tmp_path / "nopanel"
    build_store(p, n_per_wave=4, segs_per_interview=5, n_panel=0).close()
    res = cli("--project", p, "track", "panel")
    assert res.exit_code == 0, res
    assert "0 respondent(s) in both waves" in res.stderr and "same respondent_id" in res.stderr
    assert res.stdout == ""
    assert json.loads(cli("--project", p, "track", "panel", "--format", "json").stdout) == []


def test_bertopic_warnings_are_filtered():
    import textmine.topics.backend  # noqa: F401 - installs the filter
    log = logging.getLogger("BERTopic")
    log.setLevel(logging.WARNING)            # as BERTopic does whenever a model is built or loaded
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    try:
        log.warning("You are saving a BERTopic model without explicitly defining an embedding model.")
        log.error("a real error")
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == "a real error\n"
