"""textmine command line: a thin Typer layer over the library.

Sub-apps live in sibling modules; each module exposes ``register(app)``.
Every :class:`~textmine.errors.TextmineError` becomes exit status 1 here, in one place, and a
mistyped command line exit status 2 with a short message (:mod:`textmine.cli.usage`).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..errors import E, TextmineError
from . import usage
from .common import console, state

# Offline, always: no model hub is ever contacted.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    name="textmine",
    help="French qualitative interview corpora -> pseudonymised segments, topics, themes, "
         "tracking across waves, quote banks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_MODULES = ("corpus", "topics", "themes", "search", "export", "track", "lexicon", "run")


@app.callback()
def _root(
    project: Optional[Path] = typer.Option(None, "--project", "-p", help="Project folder (created by `ingest` or `run`)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or informational messages."),
    config: Optional[Path] = typer.Option(None, "--config", help="Extra YAML config over the project's textmine.yaml."),
) -> None:
    if config is not None and not config.is_file():
        raise TextmineError(E.E001, path=config, detail="no such file (given with --config)")
    state.project = project
    state.quiet = quiet
    state.config = config


def _register_all() -> None:
    for name in _MODULES:
        try:
            mod = importlib.import_module(f"textmine.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"textmine.cli.{name}":
                continue
            raise
        mod.register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (tests call this in-process)."""
    try:
        rv = app(args=argv, prog_name="textmine", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except TextmineError as exc:
        console.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 1
    except usage.Exit as exc:
        return exc.exit_code
    except usage.NoArgsIsHelpError as exc:   # the help was printed
        return exc.exit_code
    except usage.UsageError as exc:          # mistyped command line: what is wrong and the right form
        console.print(usage.usage_message(exc, argv), markup=False, highlight=False, soft_wrap=True)
        return 2
    except usage.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (usage.Abort, KeyboardInterrupt):
        console.print("interrupted: nothing half-written was kept; run the same command again to resume")
        return 130


def run() -> None:
    """Console-script entry point: the one place errors become exit codes."""
    sys.exit(main())
