"""Shared CLI plumbing: global state, project opening, output formats, progress."""
from __future__ import annotations

import contextlib
import csv
import io
import os
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import E, TextmineError
from ..store import Store

console = Console(stderr=True)   # messages and progress go to stderr; data goes to stdout
# data (tables) to stdout; piped into a file or a pager, tables get 200 columns instead of
# rich's 80 (theme names and quotes stay readable), unless COLUMNS says otherwise
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)


@dataclass
class State:
    project: Path | None = None
    quiet: bool = False
    config: Path | None = None


state = State()

FORMATS = ("table", "json", "csv")
FormatOpt = typer.Option("table", "--format", "-f", help="Output format: table, json or csv.")
RevealOpt = typer.Option(False, "--reveal", help="Show real names and file names instead of pseudonyms (personal data!).")


def require_project(create: bool = False, read_only: bool = False) -> Store:
    if state.project is None:
        raise TextmineError(E.E002, detail="no --project DIR given",
                            fix="Put --project DIR before the command, e.g. `textmine --project mon_projet corpus`.")
    return Store(state.project, create=create, read_only=read_only, config_path=state.config)


def info(msg: str) -> None:
    if not state.quiet:
        console.print(msg)


def check_format(fmt: str, allowed: Iterable[str] = FORMATS) -> str:
    allowed = tuple(allowed)
    if fmt not in allowed:
        raise TextmineError(E.E604, detail=f"{fmt!r}; valid: {', '.join(allowed)}")
    return fmt


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        with contextlib.suppress(Exception):
            return _clean(v.item())
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def emit(data: pd.DataFrame | list[dict[str, Any]], fmt: str, *, title: str | None = None,
         max_width: int | None = 80) -> None:
    """Print ``data`` on stdout as a rich table, a JSON list of objects, or CSV."""
    check_format(fmt)
    df = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if fmt == "json":
        rows = records(df) if isinstance(data, pd.DataFrame) else [{k: _clean(v) for k, v in r.items()} for r in data]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for c in df.columns:
            table.add_column(str(c), overflow="fold", max_width=max_width)
        for row in df.itertuples(index=False):
            table.add_row(*["" if v is None or (isinstance(v, float) and math.isnan(v)) else
                            _fmt_cell(v) for v in row])
        out.print(table)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.3f}"
    return str(v)


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Any]:
    """A rich progress bar on stderr (silent with --quiet). Yields ``advance(n=1)``."""
    if state.quiet or not console.is_terminal and total is None:
        yield lambda n=1: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=state.quiet) as p:
        task = p.add_task(description, total=total)
        yield lambda n=1: p.advance(task, n)
