"""notebooks/analyse_vagues.ipynb runs top to bottom (nbclient, python3 kernel of the venv)."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from helpers_track import build_store

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analyse_vagues.ipynb"


def test_notebook_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.get("outputs") and c.get("execution_count") is None for c in code)


def _execute(project: Path, tmp_path: Path, monkeypatch) -> nbformat.NotebookNode:
    from nbclient import NotebookClient
    monkeypatch.setenv("TEXTMINE_PROJECT", str(project))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    root = str(NOTEBOOK.parents[1])   # the kernel imports this checkout even without `pip install -e .`
    monkeypatch.setenv("PYTHONPATH", root + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _text(nb) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _images(nb) -> list:
    return [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


@pytest.mark.slow
def test_notebook_executes_on_synthetic_project(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    build_store(project, n_per_wave=8, segs_per_interview=12, n_panel=5, seed=4).close()
    nb = _execute(project, tmp_path, monkeypatch)
    out = _text(nb)
    assert "benjamini-hochberg" in out
    assert "faire_a_la_place -> faire_avec" in out          # the panel movers are printed with quotes
    assert "(Conum" in out and "rapport.html" in out
    assert _images(nb), "the forest plot was not displayed"
    assert "spécificités par vague" in out and "segments classés sur" in out and "occurrence(s) de" in out


@pytest.mark.slow
def test_notebook_executes_on_demo_project(demo_project, tmp_path, monkeypatch):
    nb = _execute(demo_project, tmp_path, monkeypatch)
    out = _text(nb)
    assert "enquêtés présents en 2022 et 2023" in out and "rapport.html" in out
    assert "Précarité" in out and _images(nb)
    assert "spécificités par vague : 2022" in out and "classe 1 (" in out
    assert len(_images(nb)) >= 2, "the class dendrogram was not displayed"
