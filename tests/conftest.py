"""Shared test fixtures: paths, an in-process CLI runner, and two projects built once per session:

- ``baseline_project``: wave 1 of the demo corpus through the whole pipeline with the test
  encoder (``tests/fixtures/test_encoder.yaml``: hashed char n-grams, no neural model) — for
  tests of the pipeline's mechanics (manifests, incremental and resumed runs, the lock, CLI
  plumbing), where what a real model finds is not what is tested. Copy it
  (:func:`copy_project`) before changing it.
- ``demo_project``: both demo waves with the real models (configs/demo.yaml): the end-to-end
  smoke test of ``make demo``, and the fixture of every test that pins what the models find.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "corpus" / "demo"
TEST_ENCODER_CONFIG = ROOT / "tests" / "fixtures" / "test_encoder.yaml"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the shared folder is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{p} is missing in CI (../shared must sit beside the clone)")
        pytest.skip(f"{p} not present")
    return p


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.exit_code, self.stdout, self.stderr = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(exit={self.exit_code}, stdout={self.stdout[:300]!r}, stderr={self.stderr[:300]!r})"


@pytest.fixture
def cli(capsys):
    """Run ``textmine ARGS`` in-process: ``res = cli("--project", d, "corpus")``."""
    from textmine.cli.common import state
    from textmine.cli.main import main

    def invoke(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        state.project = None
        state.quiet = False
        state.config = None
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory) -> Path:
    """The demo corpus (both waves) run through the whole pipeline once per test session."""
    from textmine.pipeline import run_wave

    project = tmp_path_factory.mktemp("demo") / "project"
    cfg = ROOT / "configs" / "demo.yaml"
    run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv", config_path=cfg)
    run_wave(project, DEMO / "vague2", wave="2023", metadata=DEMO / "vague2" / "metadata.xlsx", config_path=cfg)
    return project


@pytest.fixture(scope="session")
def baseline_project(tmp_path_factory) -> Path:
    """Demo wave 1 run once with the test encoder (read-only for tests: copy it to change it)."""
    from textmine.pipeline import run_wave

    project = tmp_path_factory.mktemp("baseline") / "project"
    run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv",
             config_path=TEST_ENCODER_CONFIG)
    return project


def copy_project(src: Path, dst: Path) -> Path:
    """A copy of a project to change (the session's projects stay as they were built)."""
    import shutil
    shutil.copytree(src, dst)
    return dst
