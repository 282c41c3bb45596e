"""Shared CLI plumbing: global state, project opening, output formats, progress."""
from __future__ import annotations

import contextlib
import io
import os
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from ..config import Config, defaults, load_config
from ..errors import E, TextmineError
from ..export.cells import to_csv
from ..store import CONFIG_NAME, Store
from .state import State, console, state  # noqa: F401 - re-exported for the command modules

# data (tables) to stdout; piped into a file or a pager, tables get 200 columns instead of
# rich's 80 (theme names and quotes stay readable), unless COLUMNS says otherwise
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)


FORMATS = ("table", "json", "csv")
FormatOpt = typer.Option("table", "--format", "-f", help="Output format: table, json or csv.")
RevealOpt = typer.Option(False, "--reveal", help="Show real names and file names instead of pseudonyms (personal data!).")
SpeakersOpt = typer.Option(None, "--speakers", help="Speakers sheet (CSV/XLSX: file, speaker, role[, respondent_id]) "
                           "giving roles per speaker; an XLSX metadata sheet may hold it as a worksheet `speakers`.")
SkipInvalidOpt = typer.Option(False, "--skip-invalid", help="Ingest the readable files and list the others as skipped "
                              "(default: list every unreadable file and ingest nothing).")


def require_project(create: bool = False, read_only: bool = False) -> Store:
    if state.project is None:
        raise TextmineError(E.E002, detail="no --project DIR given",
                            fix="Put --project DIR before the command, e.g. `textmine --project mon_projet corpus`.")
    return Store(state.project, create=create, read_only=read_only, config_path=state.config)


def current_config() -> Config:
    """The settings a command runs with: the project's (``--project``, with ``--config`` over it),
    else ``--config``, else the packaged defaults. Commands that need no project (``themes
    train``, ``classify``, ``evaluate``...) take their encoder and seed from it too."""
    if state.project is not None and (Path(state.project) / CONFIG_NAME).exists():
        return load_config(Path(state.project) / CONFIG_NAME, state.config)
    if state.config is not None:
        return load_config(state.config)
    return defaults()


def info(msg: str) -> None:
    if not state.quiet:
        console.print(msg)


def ingest_lines(rep: dict[str, Any]) -> list[str]:
    """What an ingest did, for people: counts, why interviews were re-derived, skipped files,
    interviews without an interviewer (``rep``: the ``run`` ingest stage's dict)."""
    lines = [f"{len(rep.get('added', []))} added, {len(rep.get('replaced', []))} replaced, "
             f"{len(rep.get('updated', []))} updated in place, {rep.get('unchanged', 0)} unchanged; "
             f"{rep.get('segments', 0)} segments, {rep.get('words', 0)} words"]
    why: dict[str, int] = {}
    for reason in (rep.get("reasons") or {}).values():
        why[reason] = why.get(reason, 0) + 1
    if why:
        lines.append("why: " + "; ".join(f"{r} ({n})" for r, n in sorted(why.items())))
    skipped = rep.get("skipped_files") or []
    if skipped:
        lines.append(f"{len(skipped)} file(s) skipped:")
        lines += [f"  {Path(f).name}: {why_}" for f, why_ in skipped[:30]]
        if len(skipped) > 30:
            lines.append(f"  ... and {len(skipped) - 30} more")
    stale = rep.get("stale") or []
    if stale:
        lines.append(f"{len(stale)} interview(s) of other folders were derived with other roles/segment/pseudonymise "
                     f"settings ({', '.join(stale[:5])}{', ...' if len(stale) > 5 else ''}): ingest their folders "
                     "again (same command, their folder and sheet) to bring them up to date")
    n = len(rep.get("no_interviewer") or [])
    if n:
        lines.append(f"{n} interview(s) without an interviewer (no speaker asks the questions): every speaker is "
                     "kept as a respondent. `textmine speakers` shows the evidence; set roles.interviewer in "
                     "textmine.yaml or the sheet's interviewer column to change it.")
    return lines


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
        to_csv(df, buf)
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for c in df.columns:
            table.add_column(str(c), overflow="fold", max_width=max_width)
        for row in df.itertuples(index=False):
            table.add_row(*["" if v is None or (isinstance(v, float) and math.isnan(v)) else
                            _fmt_cell(v) for v in row])
        out.print(table)


#: proportions (0-1) shown as percentages, and differences of proportions shown as percentage points
PCT_COLUMNS = ("share", "share_from", "share_to", "share_a", "share_b")
PTS_COLUMNS = ("delta", "mean_delta")


def _num(v: Any, spec: str, scale: float = 100.0, suffix: str = "") -> str:
    return "" if v is None or v != v else f"{scale * float(v):{spec}}{suffix}"


def pct(v: Any) -> str:
    """A proportion as a percentage: ``0.123`` -> ``12.3 %``."""
    return _num(v, ".1f", suffix=" %")


def pts(v: Any) -> str:
    """A difference of proportions in percentage points: ``0.089`` -> ``+8.9``."""
    return _num(v, "+.1f")


def item_name(kind: Any, item: Any, label: Any) -> str:
    """How a tracked item reads in a table: theme ids as they are, topics with their label
    (``topic:3 atelier · numérique · senior``) rather than ``topic:3`` alone."""
    if kind == "topic" and isinstance(label, str) and label and label != item:
        return f"{item} {label}"
    return str(item)


def human_table(df: pd.DataFrame) -> pd.DataFrame:
    """A tracking/topic frame as people read it: shares in %, changes in percentage points
    (column names say so), the 95 % interval in one column, topics named by their label.
    JSON and CSV keep the library's columns (proportions 0-1; see the README). The interval's
    level is ``1 - alpha`` of the frame (``track.alpha``; 95 % by default)."""
    from ..stats import ci_label
    level = ci_label(df.attrs.get("alpha", 0.05))
    df = df.copy()
    if {"kind", "theme", "label"} <= set(df.columns):
        df["theme"] = [item_name(k, t, lb) for k, t, lb in zip(df["kind"], df["theme"], df["label"])]
    change = any(c in df.columns for c in PTS_COLUMNS)
    if {"ci_low", "ci_high"} <= set(df.columns):
        fmt = pts if change else (lambda v: _num(v, ".1f"))
        ci = [f"[{fmt(lo)}, {fmt(hi)}]" if lo == lo and hi == hi else "" for lo, hi in zip(df["ci_low"], df["ci_high"])]
        at = list(df.columns).index("ci_low")
        df = df.drop(columns=["ci_low", "ci_high"])
        df.insert(at, f"{level} CI (pts)" if change else f"{level} CI (%)", ci)
    ren = {}
    for c in PCT_COLUMNS:
        if c in df.columns:
            df[c] = df[c].map(pct)
            ren[c] = f"{c} (%)"
    for c in PTS_COLUMNS:
        if c in df.columns:
            df[c] = df[c].map(pts)
            ren[c] = f"{c} (pts)"
    if "delta_pts" in df.columns:
        df["delta_pts"] = df["delta_pts"].map(lambda v: _num(v, "+.1f", scale=1.0))
        ren["delta_pts"] = "delta (pts)"
    return df.rename(columns=ren)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.3f}"
    return str(v)


class _Lines:
    """Progress as plain lines, for a stderr that is not a terminal (a log file, a pipe): a
    line when it starts, then at most every 10 % or 30 s with an estimate of the time left."""

    def __init__(self, description: str, total: int | None) -> None:
        self.description, self.total, self.done = description, total, 0
        self.t0 = self.last_t = time.monotonic()
        self.last_share = 0.0
        console.print(f"{description}: started" + (f" ({total} to do)" if total else ""),
                      markup=False, highlight=False)

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        share = self.done / self.total if self.total else 0.0
        if now - self.last_t < 30 and share - self.last_share < 0.1:
            return
        self.last_t, self.last_share = now, share
        if self.total:
            left = (now - self.t0) / max(self.done, 1) * (self.total - self.done)
            console.print(f"{self.description}: {self.done}/{self.total} ({share:.0%}), about "
                          f"{_duration(left)} left", markup=False, highlight=False)
        else:
            console.print(f"{self.description}: {self.done} done ({_duration(now - self.t0)})",
                          markup=False, highlight=False)

    def close(self) -> None:
        console.print(f"{self.description}: finished in {_duration(time.monotonic() - self.t0)}",
                      markup=False, highlight=False)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Any]:
    """Progress on stderr (silent with --quiet): a bar with the time left on a terminal, lines
    otherwise (:class:`_Lines`). Yields ``advance(n=1)``."""
    if state.quiet:
        yield lambda n=1: None
        return
    if not console.is_terminal:
        lines = _Lines(description, total)
        yield lines.advance
        lines.close()
        return
    with _bar() as p:
        task = p.add_task(description, total=total)
        yield lambda n=1: p.advance(task, n)


@contextlib.contextmanager
def stage_progress(description: str) -> Iterator[dict[str, Any]]:
    """Progress of a step whose size is known once it starts: yields the keyword arguments
    ``on_start(total)`` and ``advance(n)`` that library calls take (see :func:`progress`)."""
    with contextlib.ExitStack() as stack:
        adv: list = []

        def on_start(total: int | None) -> None:
            if not adv and total != 0:          # nothing to do: no progress to show
                adv.append(stack.enter_context(progress(description, total)))

        def advance(n: int = 1) -> None:
            if adv:
                adv[0](n)

        yield {"on_start": on_start, "advance": advance}
