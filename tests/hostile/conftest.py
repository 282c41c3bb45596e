"""Hostile-input and fault sweep (issue 20): fixtures (projects built once per session, copied per test)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .hostile_helpers import ITV, write_itv


@pytest.fixture(scope="session")
def corpus3(tmp_path_factory) -> Path:
    """A folder with the three interviews as .txt files."""
    d = tmp_path_factory.mktemp("corpus3") / "vague1"
    for name in ITV:
        write_itv(d, f"{name}.txt")
    return d


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, corpus3) -> Path:
    """A project with the three interviews ingested as wave 2022 (real ingest: spaCy, NER)."""
    from textmine.cli.main import main
    p = tmp_path_factory.mktemp("ingested") / "proj"
    assert main(["--quiet", "--project", str(p), "ingest", str(corpus3), "--wave", "2022"]) == 0
    return p


@pytest.fixture
def project(ingested, tmp_path) -> Path:
    """A private copy of :func:`ingested`."""
    return Path(shutil.copytree(ingested, tmp_path / "proj"))
