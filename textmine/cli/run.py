"""``textmine run``: batch analysis of a wave (past runs: :mod:`textmine.cli.runs`)."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Optional

import typer

from ..errors import E, TextmineError
from ..store import Store
from .common import (SkipInvalidOpt, SpeakersOpt, console, ingest_lines, item_name,
                     out, pts, stage_progress, state)
from .themes import codebook_notes
from .topics import topic_notes

def run(
    corpus_dir: Path = typer.Argument(..., help="Folder of the wave's transcripts."),
    project: Optional[Path] = typer.Option(None, "--project", "-p", help="Project folder (or the global --project)."),
    wave: Optional[str] = typer.Option(None, "--wave", "-w", help="Wave label, e.g. 2023 (a metadata sheet's `wave` column wins; the run says so)."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", "-m", help="Metadata sheet (CSV/XLSX) of this wave: "
                                            "exactly the files it lists are ingested."),
    speakers: Optional[Path] = SpeakersOpt,
    skip_invalid: bool = SkipInvalidOpt,
    refit_topics: bool = typer.Option(False, "--refit-topics", help="Refit the topic model on all waves instead of applying the existing one."),
    model: Optional[Path] = typer.Option(None, "--model", help="Supervised theme model folder (default: config, else zero-shot)."),
    replace: bool = typer.Option(False, "--replace", help="Let these files replace stored interviews with the same "
                                 "id in another wave, or with the same content under another id."),
) -> None:
    """Ingest -> segment -> pseudonymise -> embed -> topics -> themes -> track -> quote bank and report.

    Stage progress goes to stderr; the summary (what changed, the main changes since the
    previous wave, where the outputs are) to stdout."""
    from ..pipeline import run_wave

    project = project or state.project
    if project is None:
        raise TextmineError(E.E002, detail="no project folder given", fix="Add --project DIR.")
    t0 = time.perf_counter()
    bars = _StageBars()

    def say(stage: str, msg: str) -> None:
        if msg != "…":
            bars.close()          # the stage's progress ends with its line
        if not state.quiet:
            console.print(f"[bold]{stage:>8}[/] {msg}")

    try:
        res = run_wave(project, corpus_dir, wave=wave, metadata=metadata, refit_topics=refit_topics,
                       model_dir=model, config_path=state.config, report=say, speakers=speakers,
                       skip_invalid=skip_invalid, progress=bars, replace=replace)
    finally:
        bars.close()
    if state.quiet:
        return
    with Store(project, read_only=True, config_path=state.config) as store:
        notes = codebook_notes(store, first=res.created) + topic_notes(store, waves=[wave] if wave else None)
    print_summary(res, project, time.perf_counter() - t0, notes)


class _StageBars:
    """The run's progress: one display per stage, closed when the stage says it is done."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()

    def __call__(self, stage: str) -> dict:
        self.close()
        return self.stack.enter_context(stage_progress(stage))

    def close(self) -> None:
        self.stack.close()
        self.stack = contextlib.ExitStack()


def print_summary(res, project: Path, seconds: float, notes: list[str]) -> None:
    """The run's summary on stdout: counts, time per stage, codebook and topic notes, the main
    changes since the previous wave (percentage points), output paths."""
    def say(line: str = "") -> None:
        out.print(line, markup=False, highlight=False)

    ing = res.stages.get("ingest", {})
    say(f"── run {res.run_id} ──")
    if res.did_nothing:
        say("Nothing new: every stage was already up to date (no costly work done).")
    for line in ingest_lines(ing):
        say(line)
    dur = res.manifest.get("durations_s", {})
    say("time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in dur.items()) + f" (total {seconds:.1f}s)")
    for line in notes:
        say(line)
    if res.changes is not None and not res.changes.empty:
        from ..stats import ci_label
        alpha = res.changes.attrs.get("alpha", 0.05)
        ch = res.changes.copy()
        ch["abs"] = ch["delta"].abs()
        top = ch.sort_values("abs", ascending=False).head(5)
        say(f"top changes since the previous wave ({res.stages['track'].get('from')} -> {res.wave}), "
            f"in percentage points [{ci_label(alpha)} CI]:")
        width = max(len(item_name(r.kind, r.theme, r.label)) for r in top.itertuples())
        for r in top.itertuples():
            q = r.q_value if r.q_value == r.q_value else None
            sig = "significant" if q is not None and q < alpha else "n.s."
            name = item_name(r.kind, r.theme, r.label)
            say(f"  {name:<{width}}  {pts(r.delta)} pts  [{pts(r.ci_low)}, {pts(r.ci_high)}]  "
                f"q={'' if q is None else f'{q:.3f}'} ({sig}, {getattr(r, 'estimator', 'raw')})")
        if "estimator" not in ch.columns or not (ch["estimator"] == "calibrated").any():
            say(f"  these are the coder's raw figures: no human calibration sample covers {res.wave} yet "
                f"(`textmine --project {project} themes sample --wave {res.wave} --output sample.xlsx`, code it, "
                "then `themes calibrate --coded sample.xlsx`)")
    for k, v in res.outputs.items():
        say(f"  {k:<12} {v}")
    say(f"  manifest     {Path(project) / 'runs' / (res.run_id + '.json')}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
