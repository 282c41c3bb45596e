"""textmine command line: a thin Typer layer over the library.

Sub-apps live in sibling modules; each module exposes ``register(app)``.
Every :class:`~textmine.errors.TextmineError` becomes exit status 1 here, in one place; so do
DuckDB failures of the store (E009 damaged / E004) and file-system errors (E012) that reach this
far, so no traceback ever reaches the user. A mistyped command line is exit status 2 with a
short message (:mod:`textmine.cli.usage`).

Cold start: the command modules (and the libraries they import: pandas, DuckDB, spaCy,
torch ...) are imported only when their command runs. :data:`COMMANDS` below is the one place
that says which module registers which command, with the one-line help that
``textmine --help`` shows without importing any of them (a test checks it matches each
command's own help). :class:`LazyGroup` loads a command's module when click asks for it.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import E, TextmineError
from ..recovery import is_store_failure, store_error
from . import usage
from .state import console, state

# Offline, always: no model hub is ever contacted.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: command -> (module of textmine.cli that registers it, help line of `textmine --help`), in help order
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("corpus", "Create a project (the global --project DIR) and choose its codebook."),
    "ingest": ("corpus", "Ingest transcripts into the project (created if needed). Unchanged files are skipped."),
    "check": ("corpus", "Check the store: orphan rows, counts, derived rows (topics, codings, lemmas) computed on "
                        "text no longer stored, work pending. Exit status 1 (E010) when the store is inconsistent."),
    "corpus": ("corpus", "Interviews, turns, words and segments per wave x role."),
    "speakers": ("corpus", "One row per speaker and interview (interview_id, source_file, speaker, role, "
                           "turns, words...)."),
    "embed": ("topics", "Embed segments through the project's cache (only new texts are encoded)."),
    "search": ("search", "Search the interviews (pseudonymised text unless --reveal)."),
    "report": ("track", "Write one self-contained HTML report (charts inline, works offline) + PNG/SVG figures."),
    "run": ("run", "Ingest -> segment -> pseudonymise -> embed -> topics -> themes -> track -> quote bank and "
                   "report."),
    "segments": ("corpus", "Analysis segments: export them."),
    "topics": ("topics", "BERTopic topic models of respondent segments (per wave, role, territory)."),
    "themes": ("themes", "Codebook themes: zero-shot and supervised coders, agreement with human coders."),
    "quotes": ("export", "Quote banks per theme, wave and role."),
    "export": ("export", "Export the project for other tools."),
    "import": ("export", "Import human codings from other tools."),
    "lexicon": ("lexicon", "French lexicometry: Lafon's specificities (as TXM), Reinert classes (as IRaMuTeQ / "
                           "rainette), concordancer."),
    "track": ("track", "Track themes, posture sub-labels and topics across waves, roles, territories and "
                       "respondents (95 % cluster-bootstrap intervals)."),
    "runs": ("runs", "Past runs and their manifests."),
}


def load_command(name: str) -> TyperCommand | TyperGroup | None:
    """The click command ``name``, from its module's ``register(app)`` (imported now)."""
    if name not in COMMANDS:
        return None
    mod = importlib.import_module(f"textmine.cli.{COMMANDS[name][0]}")
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    mod.register(sub)
    return typer.main.get_group(sub).commands.get(name)


class LazyGroup(TyperGroup):
    """The root group: lists :data:`COMMANDS` without importing them; a command's module is
    imported when the command runs (or its own ``--help`` is asked for)."""

    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | TyperGroup | None:
        if self._listing and cmd_name in COMMANDS:     # `textmine --help`: the static help line
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return load_command(cmd_name)

    def format_help(self, ctx: typer.Context, formatter) -> None:
        LazyGroup._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            LazyGroup._listing = False


app = typer.Typer(
    name="textmine",
    cls=LazyGroup,
    help="French qualitative interview corpora -> pseudonymised segments, topics, themes, "
         "tracking across waves, quote banks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"textmine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    project: Optional[Path] = typer.Option(None, "--project", "-p", help="Project folder (created by `ingest` or `run`)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or informational messages."),
    config: Optional[Path] = typer.Option(None, "--config", help="Extra YAML config over the project's textmine.yaml."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print textmine's version and exit."),
) -> None:
    if config is not None and not config.is_file():
        raise TextmineError(E.E001, path=config, detail="no such file (given with --config)")
    state.project = project
    state.quiet = quiet
    state.config = config
    state.new_project = project is not None and not project.exists()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (tests call this in-process)."""
    state.new_project = False
    rc = _main(argv)
    if rc not in (0, 2) and state.new_project:
        _remove_empty_new_project()
    return rc


def _remove_empty_new_project() -> None:
    """A command that failed on a project folder it created leaves no folder behind when nothing
    was stored in it (an interrupted run that stored interviews keeps them, to resume).

    The folder is removed only under the project's lock: another command started at the same
    moment on the same new folder (it holds the lock, or its store cannot be opened) may be
    storing interviews in it, and its folder is never removed."""
    import shutil
    root = Path(state.project)
    from ..recovery import DB_NAME
    from ..runlock import holder, project_lock
    from ..store import Store
    db = root / DB_NAME
    if not root.is_dir() or holder(root) is not None:
        return
    try:
        with project_lock(root):
            if db.exists():
                try:
                    with Store(root, read_only=True) as store:
                        if store.counts()["interviews"]:
                            return
                except TextmineError:   # busy (another process writes it: E007) or cannot be opened: kept
                    return
                except Exception:   # noqa: BLE001 - without the table: nothing of value stored
                    pass
            shutil.rmtree(root, ignore_errors=True)
    except TextmineError:           # E003: another command works in the folder now; E011: cannot tell
        return
    if not state.quiet:
        console.print(f"the new project folder {root} was removed: nothing was stored in it", markup=False,
                      highlight=False, soft_wrap=True)


#: exit status of a command stopped by Ctrl-C (SIGINT), as shells report it
INTERRUPTED = 130
_INTERRUPTED_MSG = "interrupted: nothing half-written was kept; run the same command again to resume"


def _main(argv: list[str] | None) -> int:
    try:
        rv = app(args=argv, prog_name="textmine", standalone_mode=False)
        if rv == INTERRUPTED:   # typer turns Ctrl-C into this return value, without a word
            console.print(_INTERRUPTED_MSG, markup=False, highlight=False, soft_wrap=True)
        return rv if isinstance(rv, int) else 0
    except TextmineError as exc:
        return _fail(exc)
    except OSError as exc:           # a file-system failure no command anticipated: coded, no traceback
        return _fail(TextmineError(E.E012, path=exc.filename, detail=exc.strerror or str(exc)))
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
        console.print(_INTERRUPTED_MSG, markup=False, highlight=False, soft_wrap=True)
        return INTERRUPTED
    except Exception as exc:         # the store failed mid-command: damaged (E009) or unusable (E004)
        if not is_store_failure(exc):
            raise
        return _fail(store_error(exc, state.project or "."))


def _fail(exc: TextmineError) -> int:
    console.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return 1


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, a closed session), unwound like Ctrl-C: the store is
    closed, temporary files removed, the lock released."""


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)     # a second SIGTERM ends the process at once
    raise _Terminated()


def run() -> None:
    """Console-script entry point: the one place errors become exit codes. SIGTERM stops a
    command as Ctrl-C does (message, cleanup), with exit status 143."""
    terminated = []

    def on_sigterm(signum, frame) -> None:
        terminated.append(signum)
        _on_sigterm(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    rc = main()
    sys.exit(128 + signal.SIGTERM if terminated and rc == INTERRUPTED else rc)
