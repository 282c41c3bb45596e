"""CLI: `search`, `quotes export`, `export qdpx`, `import qdpx` (exit codes and output)."""
from __future__ import annotations

import json
import re
import zipfile

import pandas as pd
import pytest

from helpers_search import REAL_NAMES, make_store
from textmine.cli.main import main


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_store(root).close()
    return root


def run(proj, *args):
    return main(["--project", str(proj), *args])


@pytest.mark.slow
def test_search_json(proj, capsys):
    assert run(proj, "search", "démarches administratives", "--mode", "keyword", "--format", "json",
               "--wave", "1") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["wave"] == "1" for r in rows)
    for key in ("segment_id", "interview_id", "wave", "role", "territory", "score", "text", "source", "line", "start"):
        assert key in rows[0]
    assert "[PERSONNE_1]" in rows[0]["text"] and not any(n in json.dumps(rows, ensure_ascii=False) for n in REAL_NAMES)


def test_search_reveal_and_table(proj, capsys):
    assert run(proj, "search", "mairie", "--mode", "keyword", "--reveal", "--format", "json") == 0
    assert "Martine Dubreuil" in capsys.readouterr().out
    assert run(proj, "search", "mairie", "--mode", "keyword", "--role", "conum") == 0
    out = capsys.readouterr().out
    assert "itv-a1.docx" in out and "Martine" not in out


def test_search_kwic(proj, capsys):
    assert run(proj, "search", "formulaire", "--mode", "keyword", "--kwic") == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2 and all("formulaire" in line and "vague" in line for line in lines)
    assert all(re.search(r"itv-\w+\.\w+, (l\. \d+|\d\d:\d\d:\d\d)", line) for line in lines), lines   # where it is said
    assert len({line.index("formulaire") for line in lines}) == 1
    assert run(proj, "search", "formulaire", "--mode", "keyword", "--kwic", "--format", "json") == 0
    assert {r["keyword"] for r in json.loads(capsys.readouterr().out)} == {"formulaire"}


@pytest.mark.parametrize("args,code", [
    (["search", ""], "E601"), (["search", "x", "--theme", "inconnu"], "E403"),
    (["search", "x", "--role", "pilote"], "E005"), (["search", "x", "--format", "yaml"], "E604"),
    (["quotes", "export", "--output", "q.pdf"], "E604"),
    (["search", "x", "--attr", "nom=Martine Dubreuil"], "public:nom"), (["search", "x", "--attr", "nope=1"], "E005"),
])
def test_errors_exit_1(proj, capsys, args, code):
    if "--output" in args:
        args = [a if a != "q.pdf" else str(proj / "q.pdf") for a in args]
    assert run(proj, *args) == 1
    assert code in capsys.readouterr().err


def test_no_project_is_an_error(capsys):
    assert main(["search", "x"]) == 1
    assert "E002" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["md", "docx", "xlsx", "csv"])
def test_quotes_export_formats(proj, tmp_path, capsys, fmt):
    out = tmp_path / f"quotes.{fmt}"
    assert run(proj, "quotes", "export", "--format", fmt, "--output", str(out), "--per-group", "1",
               "--with-question") == 0
    assert out.exists() and out.stat().st_size > 500
    assert "quote(s)" in capsys.readouterr().err


@pytest.mark.slow
def test_quotes_export_filters(proj, tmp_path):
    out = tmp_path / "q.csv"
    assert run(proj, "quotes", "export", "--theme", "financement_renouvellement", "--wave", "2",
               "--output", str(out)) == 0
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert set(df["theme"]) == {"financement_renouvellement"} and set(df["wave"]) == {"2"}
    assert run(proj, "quotes", "export", "--theme", "france_services", "--output", str(tmp_path / "e.md")) == 1


def test_qdpx_export_then_import(proj, tmp_path, capsys):
    q = tmp_path / "p.qdpx"
    assert run(proj, "export", "qdpx", "--output", str(q)) == 0
    assert "project.qde" in zipfile.ZipFile(q).namelist()
    coded = tmp_path / "coded.csv"
    assert run(proj, "import", "qdpx", str(q), "--output", str(coded)) == 0
    df = pd.read_csv(coded, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["id", "text", "themes", "posture", "interview_id", "role", "wave", "territory",
                                "segment_id"] and len(df) == 14
    assert (df["segment_id"] != "").all() and (df["role"] != "").all()
    capsys.readouterr()
    assert main(["import", "qdpx", str(q), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 14
    assert run(proj, "import", "qdpx", str(tmp_path / "missing.qdpx")) == 1
    assert run(proj, "export", "qdpx", "--output", str(tmp_path / "nofolder" / "p.qdpx")) == 1
