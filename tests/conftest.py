"""Shared test fixtures: paths, an in-process CLI runner, and two projects built once per session:

- ``baseline_project``: wave 1 of the demo corpus through the whole pipeline with the test
  encoder (``tests/fixtures/test_encoder.yaml``: hashed char n-grams, no neural model) — for
  tests of the pipeline's mechanics (manifests, incremental and resumed runs, the lock, CLI
  plumbing), where what a real model finds is not what is tested. Copy it
  (:func:`copy_project`) before changing it.
- ``demo_project``: both demo waves with the real models (configs/demo.yaml): the end-to-end
  smoke test of ``make demo``, and the fixture of every test that pins what the models find.

Under pytest-xdist each project is still built once: the first worker builds it, the others copy it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The CLI prints its tables 200 columns wide when stdout is not a terminal, unless COLUMNS says
# otherwise (textmine/cli/common.py). Tests read those tables: the developer's terminal, or an
# xdist worker's environment, must not choose their width.
for _var in ("COLUMNS", "LINES"):
    os.environ.pop(_var, None)

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


def _session_project(tmp_path_factory, name: str, build) -> Path:
    """A project built once per test session, by ``build(project)``.

    Under pytest-xdist (``make test``) the first worker that asks builds it under a file lock in
    the folder all workers share, and every worker then works on its own copy (tests may write to
    a project: a search index, a calibration); a plain ``pytest`` builds it in place."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        project = tmp_path_factory.mktemp(name) / "project"
        build(project)
        return project
    import fcntl
    import shutil
    # at the depth of the workers' copies (…/popen-gwN/<name>0/project): a project's textmine.yaml
    # names the files of its config relative to the project folder
    shared = tmp_path_factory.getbasetemp().parent / "shared" / name
    shared.mkdir(parents=True, exist_ok=True)
    with open(shared.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)              # released when the file closes
        if not (shared / "built").exists():
            shutil.rmtree(shared / "project", ignore_errors=True)    # a worker's failed attempt
            build(shared / "project")
            (shared / "built").touch()
    project = tmp_path_factory.mktemp(name) / "project"
    shutil.copytree(shared / "project", project)
    return project


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory) -> Path:
    """The demo corpus (both waves) run through the whole pipeline once per test session."""
    from textmine.pipeline import run_wave

    def build(project: Path) -> None:
        cfg = ROOT / "configs" / "demo.yaml"
        run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv", config_path=cfg)
        run_wave(project, DEMO / "vague2", wave="2023", metadata=DEMO / "vague2" / "metadata.xlsx", config_path=cfg)
    return _session_project(tmp_path_factory, "demo", build)


@pytest.fixture(scope="session")
def baseline_project(tmp_path_factory) -> Path:
    """Demo wave 1 run once with the test encoder (read-only for tests: copy it to change it)."""
    from textmine.pipeline import run_wave

    def build(project: Path) -> None:
        run_wave(project, DEMO / "vague1", wave="2022", metadata=DEMO / "vague1" / "metadata.csv",
                 config_path=TEST_ENCODER_CONFIG)
    return _session_project(tmp_path_factory, "baseline", build)


def copy_project(src: Path, dst: Path) -> Path:
    """A copy of a project to change (the session's projects stay as they were built)."""
    import shutil
    shutil.copytree(src, dst)
    return dst
