"""``textmine runs list|show``: past runs and their manifests (imports no pipeline stage)."""
from __future__ import annotations

import json
import sys

import typer

from ..runs import get_run, list_runs
from .common import FormatOpt, check_format, emit, require_project

runs_app = typer.Typer(help="Past runs and their manifests.", no_args_is_help=True)


@runs_app.command("list")
def runs_list(fmt: str = FormatOpt) -> None:
    """Runs of this project, oldest first."""
    with require_project(read_only=True) as store:
        emit(list_runs(store), check_format(fmt), title="Runs")


@runs_app.command("show")
def runs_show(run_id: str = typer.Argument(..., help="Run id (see `runs list`); `latest` for the last one.")) -> None:
    """Print a run's manifest (JSON)."""
    with require_project(read_only=True) as store:
        manifest = get_run(store, run_id)
    sys.stdout.write(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n")


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
