"""CLI of the corpus layer: ingest, corpus, speakers, segments export; idempotence and bad input."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import DEMO

pytestmark = pytest.mark.slow  # spaCy pipelines (sentences + NER)

SPEAKER_COLUMNS = "interview_id,source_file,speaker,role,turns,words"


@pytest.fixture(scope="module")
def wave1(tmp_path_factory):
    """Wave 1 of the demo corpus copied to a temp folder (tests modify files)."""
    d = tmp_path_factory.mktemp("w1") / "vague1"
    shutil.copytree(DEMO / "vague1", d)
    return d


@pytest.fixture(scope="module")
def project(tmp_path_factory, wave1):
    from textmine.cli.main import main
    p = tmp_path_factory.mktemp("proj") / "p"
    assert main(["--quiet", "--project", str(p), "ingest", str(wave1), "--wave", "2022",
                 "--metadata", str(wave1 / "metadata.csv")]) == 0
    return p


def _snapshot(project):
    from textmine.store import Store
    with Store(project, read_only=True) as s:
        segs = s.query("SELECT segment_id, text, text_pseudo FROM segments ORDER BY segment_id")
        n = {t: s.query(f"SELECT count(*) AS n FROM {t}")["n"][0]
             for t in ("interviews", "speakers", "turns", "segments", "pseudonym_map")}
    return n, pd.util.hash_pandas_object(segs).sum()


def test_ingest_builds_store(project, cli):
    res = cli("--project", project, "corpus", "--format", "json")
    assert res.exit_code == 0, res
    rows = json.loads(res.stdout)
    assert {r["wave"] for r in rows} == {"2022"}
    roles = {r["role"] for r in rows}
    assert "interviewer" in roles and "conum" in roles
    conum = next(r for r in rows if r["role"] == "conum")
    assert conum["interviews"] >= 5 and conum["segments"] > 50 and conum["words"] > 3000


def test_speakers_csv_contract_and_pseudonyms(project, cli):
    res = cli("--project", project, "speakers", "--format", "csv")
    assert res.exit_code == 0, res
    assert res.stdout.splitlines()[0].startswith(SPEAKER_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows and all(re.fullmatch(r"[A-Z]+\d+", r["speaker"]) for r in rows), rows[:3]
    assert all(r["source_file"].startswith(r["interview_id"]) for r in rows)
    assert {r["role"] for r in rows} >= {"interviewer", "conum"}
    revealed = cli("--project", project, "speakers", "--format", "csv", "--reveal")
    assert revealed.exit_code == 0
    assert "entretien_01_conum_A.txt" in revealed.stdout
    assert "entretien_01_conum_A.txt" not in res.stdout


def test_reingest_same_files_changes_nothing(project, wave1, cli):
    before = _snapshot(project)
    res = cli("--project", project, "ingest", wave1, "--wave", "2022", "--metadata", wave1 / "metadata.csv")
    assert res.exit_code == 0, res
    assert "0 added, 0 replaced" in res.stderr
    assert _snapshot(project) == before


@pytest.mark.parametrize("content,code", [
    (b"", "E102"),
    (b"\x00\x01\x02\x03binary\x00\x00", "E103"),
])
def test_bad_file_exit_1_and_store_untouched(project, tmp_path, cli, content, code):
    before = _snapshot(project)
    bad = tmp_path / "entretien_casse.txt"
    bad.write_bytes(content)
    res = cli("--project", project, "ingest", bad, "--wave", "2022")
    assert res.exit_code == 1
    assert code in res.stderr and "entretien_casse.txt" in res.stderr and "Fix:" in res.stderr
    assert _snapshot(project) == before


def test_metadata_row_without_file(project, wave1, tmp_path, cli):
    before = _snapshot(project)
    sheet = tmp_path / "metadata.csv"
    rows = (wave1 / "metadata.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    extra = dict.fromkeys(header, "")
    extra.update(file="absent.txt", interview_id="V1-X-99", wave="2022", role="conum")
    sheet.write_text("\n".join(rows + [",".join(extra[h] for h in header)]) + "\n", encoding="utf-8")
    for f in wave1.iterdir():
        if f.name != "metadata.csv":
            shutil.copy(f, tmp_path / f.name)
    res = cli("--project", project, "ingest", tmp_path, "--metadata", sheet)
    assert res.exit_code == 1
    assert "E112" in res.stderr and "absent.txt" in res.stderr
    assert _snapshot(project) == before


def test_changed_file_replaces_its_interview(tmp_path, cli):
    src = DEMO / "vague1" / "entretien_01_conum_A.txt"
    f = tmp_path / "itw.txt"
    shutil.copy(src, f)
    proj = tmp_path / "p"
    assert cli("-q", "--project", proj, "ingest", f, "--wave", "1").exit_code == 0
    with open(f, "a", encoding="utf-8") as fh:
        fh.write("\nConum : Et j'ajoute une toute dernière chose sur les ateliers collectifs du jeudi, "
                 "qui marchent vraiment bien depuis la rentrée avec les retraités du quartier.\n")
    res = cli("--project", proj, "ingest", f, "--wave", "1")
    assert res.exit_code == 0 and "0 added, 1 replaced" in res.stderr
    from textmine.store import Store
    with Store(proj, read_only=True) as s:
        assert s.query("SELECT count(*) AS n FROM interviews")["n"][0] == 1
        assert s.query("SELECT count(*) AS n FROM segments WHERE text LIKE '%ateliers collectifs du jeudi%'")["n"][0] == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_segments_export(project, tmp_path, cli, fmt):
    out = tmp_path / f"seg.{fmt}"
    res = cli("--project", project, "segments", "export", "--format", fmt, "--output", out)
    assert res.exit_code == 0, res
    df = {"csv": pd.read_csv, "parquet": pd.read_parquet,
          "jsonl": lambda p: pd.read_json(p, lines=True)}[fmt](out)
    assert {"segment_id", "interview_id", "wave", "role", "text", "speaker", "source_file"} <= set(df.columns)
    assert "text_raw" not in df.columns
    assert not df["text"].str.contains("Vautrin").any()      # a name the demo respondent gives
    assert df["segment_id"].is_unique


def test_export_reveal_keeps_real_text(project, tmp_path, cli):
    out = tmp_path / "seg.csv"
    assert cli("--project", project, "segments", "export", "--output", out, "--reveal").exit_code == 0
    df = pd.read_csv(out)
    assert df["text"].str.contains("Vautrin").any()


def test_unknown_format_and_missing_project(project, tmp_path, cli):
    res = cli("--project", project, "corpus", "--format", "xml")
    assert res.exit_code == 1 and "E604" in res.stderr
    res = cli("--project", tmp_path / "nope", "corpus")
    assert res.exit_code == 1 and "E002" in res.stderr


def test_help_everywhere(cli):
    for args in ([], ["ingest"], ["corpus"], ["speakers"], ["segments", "export"], ["run"], ["runs", "list"]):
        res = cli(*args, "--help")
        assert res.exit_code == 0 and "Usage" in res.stdout, args


def test_project_keeps_the_config_it_was_created_with(tmp_path, cli):
    """`--config` at creation is kept in the project's textmine.yaml (paths rewritten), so the
    next wave, run without it, is pseudonymised with the same name list."""
    from conftest import ROOT
    from textmine.config import load_config
    src = DEMO / "vague1" / "entretien_01_conum_A.txt"
    proj = tmp_path / "deep" / "p"
    res = cli("-q", "--config", ROOT / "configs" / "demo.yaml", "--project", proj, "ingest", src, "--wave", "1")
    assert res.exit_code == 0, res
    text = (proj / "textmine.yaml").read_text(encoding="utf-8")
    assert "Created with --config" in text and "random_state: 42" in text
    cfg = load_config(proj / "textmine.yaml")
    assert Path(cfg.pseudonymise.user_list) == (DEMO / "_noms.txt").resolve()
    assert not Path(yaml.safe_load(text)["pseudonymise"]["user_list"]).is_absolute()   # project can move with the corpus
    res = cli("--config", tmp_path / "absent.yaml", "--project", proj, "corpus")
    assert res.exit_code == 1 and "E001" in res.stderr and "absent.yaml" in res.stderr
    assert res.stderr.startswith("error [E001]") and "[bold" not in res.stderr   # markup rendered, not printed


def test_a_failed_first_command_leaves_no_empty_project_folder(tmp_path, cli, monkeypatch):
    """A command that created the project folder and failed before storing anything removes it;
    a folder that existed is kept; a run that stored interviews before failing keeps them."""
    from conftest import TEST_ENCODER_CONFIG
    from textmine.errors import E, TextmineError
    from textmine.pipeline import Pipeline
    junk = tmp_path / "exports"
    junk.mkdir()
    (junk / "avis.json").write_text("{}", encoding="utf-8")
    for cmd in ("ingest", "run"):
        res = cli("--project", tmp_path / "new", cmd, junk)
        assert res.exit_code == 1 and "E006" in res.stderr and not (tmp_path / "new").exists(), cmd
        assert "was removed: nothing was stored" in res.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("à garder", encoding="utf-8")
    assert cli("--project", tmp_path / "mine", "ingest", junk).exit_code == 1
    assert (tmp_path / "mine" / "notes.txt").exists()
    corpus = tmp_path / "w"
    corpus.mkdir()
    (corpus / "e1.txt").write_text("Enquêtrice : Comment ça va ?\nConum : Bien, on accompagne les usagers.\n",
                                   encoding="utf-8")

    def broken(self, shash):
        raise TextmineError(E.E701, detail="embed: broken on purpose")
    monkeypatch.setattr(Pipeline, "embed", broken)
    res = cli("--project", tmp_path / "run", "--config", TEST_ENCODER_CONFIG, "run", corpus, "--wave", "1")
    assert res.exit_code == 1 and "E701" in res.stderr and (tmp_path / "run" / "textmine.duckdb").exists()
