"""Command-line mistakes (unknown command or option, missing value, global option after the
command) -> one short message naming the problem and, where it applies, the right form.

:func:`usage_message` is called by :func:`textmine.cli.main.main`, the one place where errors
become exit codes (usage errors exit with status 2, as Click's own do; never a traceback).
"""
from __future__ import annotations

import difflib
import shlex
import sys
from typing import Any, Sequence

import typer

try:   # Typer >= 0.2x ships its own copy of Click; older Typer uses Click itself
    from typer import _click as click_api
except ImportError:  # pragma: no cover - depends on the installed Typer
    import click as click_api

UsageError = click_api.exceptions.UsageError
NoArgsIsHelpError = getattr(click_api.exceptions, "NoArgsIsHelpError", ())
Exit = typer.Exit
Abort = typer.Abort
ClickException = click_api.exceptions.ClickException

PROG = "textmine"
#: the root's options: name -> takes a value (they go before the command name)
GLOBAL_OPTIONS = {"--project": True, "-p": True, "--config": True, "--quiet": False, "-q": False}


def _split_opt(token: str) -> tuple[str, str | None]:
    name, eq, value = token.partition("=")
    return (name, value) if eq else (token, None)


def moved_globals(argv: Sequence[str]) -> list[str] | None:
    """``argv`` with the global options given after the command moved before it, or None
    when there is none there. ``search q --project p`` -> ``--project p search q``."""
    argv = list(argv)
    i = 0
    while i < len(argv) and argv[i].startswith("-"):      # global options already in place
        i += 1 + bool(GLOBAL_OPTIONS.get(_split_opt(argv[i])[0]) and "=" not in argv[i])
    head, rest, moved = argv[:i], argv[i:], []
    kept: list[str] = []
    j = 0
    while j < len(rest):
        name, value = _split_opt(rest[j])
        if name in GLOBAL_OPTIONS and (j > 0 or not head):
            takes = GLOBAL_OPTIONS[name]
            moved.append(rest[j])
            if takes and value is None and j + 1 < len(rest):
                moved.append(rest[j + 1])
                j += 1
        else:
            kept.append(rest[j])
        j += 1
    return head + moved + kept if moved else None


def _command(exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else PROG
    return path if path.startswith(PROG) else PROG


def usage_message(exc: Exception, argv: Sequence[str] | None = None) -> str:
    """A short message for a usage error ``exc`` raised while parsing ``argv``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = getattr(exc, "ctx", None)
    cmd = _command(exc)
    lines: list[str] = []
    name = type(exc).__name__
    if name == "NoSuchOption":
        opt = getattr(exc, "option_name", "") or ""
        fixed = moved_globals(argv) if opt.split("=")[0] in GLOBAL_OPTIONS else None
        if fixed is not None:
            lines.append(f"{opt.split('=')[0]} goes before the command: {PROG} {shlex.join(fixed)}")
        else:
            known = [o for p in (ctx.command.params if ctx is not None else []) for o in getattr(p, "opts", [])
                     if o.startswith("-")]
            close = difflib.get_close_matches(opt, known, n=2, cutoff=0.6) or list(getattr(exc, "possibilities", []) or [])[:2]
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            lines.append(f"no such option {opt} for `{cmd}`{hint}")
    elif name == "MissingParameter":
        param = getattr(exc, "param", None)
        opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
        what = opts[0] if opts else (getattr(param, "name", None) or "an argument").upper()
        help_ = getattr(param, "help", None)
        lines.append(f"`{cmd}` needs {what}" + (f" ({help_.rstrip('.')})" if help_ else ""))
    elif "No such command" in exc.format_message():
        word = next((a for a in argv if not a.startswith("-") and a not in _option_values(argv)), "")
        bad = exc.format_message().split("'")[1] if "'" in exc.format_message() else word
        commands = ctx.command.list_commands(ctx) if ctx is not None and hasattr(ctx.command, "list_commands") else []
        close = difflib.get_close_matches(bad, commands, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
        lines.append(f"no such command `{bad}` in `{cmd}`{hint}")
        if commands:
            lines.append(f"commands: {', '.join(commands)}")
    else:
        lines.append(exc.format_message())
    if ctx is not None:
        lines.append(ctx.get_usage().replace("Usage: ", "usage: ", 1).strip())
    lines.append(f"help: {cmd} --help")
    return "usage error: " + "\n  ".join(lines)


def _option_values(argv: Sequence[str]) -> set[str]:
    """Values of the global options in ``argv`` (not command names)."""
    out = set()
    for a, b in zip(argv, argv[1:]):
        if GLOBAL_OPTIONS.get(a):
            out.add(b)
    return out
