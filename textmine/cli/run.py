"""``textmine run`` (batch analysis of a wave) and ``textmine runs list|show``."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ..errors import E, TextmineError
from .common import FormatOpt, check_format, console, emit, require_project, state

runs_app = typer.Typer(help="Past runs and their manifests.", no_args_is_help=True)


def run(
    corpus_dir: Path = typer.Argument(..., help="Folder of the wave's transcripts."),
    project: Optional[Path] = typer.Option(None, "--project", "-p", help="Project folder (or the global --project)."),
    wave: Optional[str] = typer.Option(None, "--wave", "-w", help="Wave label, e.g. 2023."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", "-m", help="Metadata sheet (CSV/XLSX) of this wave."),
    refit_topics: bool = typer.Option(False, "--refit-topics", help="Refit the topic model on all waves instead of applying the existing one."),
    model: Optional[Path] = typer.Option(None, "--model", help="Supervised theme model folder (default: config, else zero-shot)."),
) -> None:
    """Ingest -> segment -> pseudonymise -> embed -> topics -> themes -> track -> quote bank and report."""
    from ..pipeline import run_wave

    project = project or state.project
    if project is None:
        raise TextmineError(E.E002, detail="no project folder given", fix="Add --project DIR.")
    t0 = time.perf_counter()

    def say(stage: str, msg: str) -> None:
        if not state.quiet:
            console.print(f"[bold]{stage:>8}[/] {msg}")

    res = run_wave(project, corpus_dir, wave=wave, metadata=metadata, refit_topics=refit_topics,
                   model_dir=model, config_path=state.config, report=say)
    if state.quiet:
        return
    ing = res.stages.get("ingest", {})
    console.rule(f"run {res.run_id}")
    if res.did_nothing:
        console.print("Nothing new: every stage was already up to date (no costly work done).")
    console.print(f"new interviews: {len(ing.get('added', []))}, replaced: {len(ing.get('replaced', []))}, "
                  f"unchanged: {ing.get('unchanged', 0)}; new segments: {ing.get('segments', 0)}")
    dur = res.manifest.get("durations_s", {})
    console.print("time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in dur.items())
                  + f" (total {time.perf_counter() - t0:.1f}s)")
    if res.changes is not None and not res.changes.empty:
        ch = res.changes.copy()
        ch["abs"] = ch["delta"].abs()
        top = ch.sort_values("abs", ascending=False).head(5)
        console.print(f"top changes since the previous wave ({res.stages['track'].get('from')} -> {wave}):")
        for r in top.itertuples():
            sig = "significant" if getattr(r, "q_value", 1.0) is not None and r.q_value < 0.05 else "n.s."
            console.print(f"  {r.theme:<45} {r.delta:+.3f}  [{r.ci_low:+.3f}, {r.ci_high:+.3f}]  q={r.q_value:.3f} "
                          f"({sig}, {getattr(r, 'estimator', 'raw')})")
        if "estimator" not in ch.columns or not (ch["estimator"] == "calibrated").any():
            console.print(f"  these are the coder's raw figures: no human calibration sample covers {wave} yet "
                          f"(`textmine --project {project} themes sample --wave {wave} --output sample.xlsx`, code it, "
                          "then `themes calibrate --coded sample.xlsx`)")
    for k, v in res.outputs.items():
        console.print(f"  {k:<12} {v}")
    console.print(f"  manifest     {Path(project) / 'runs' / (res.run_id + '.json')}")


@runs_app.command("list")
def runs_list(fmt: str = FormatOpt) -> None:
    """Runs of this project, oldest first."""
    from ..pipeline import list_runs
    with require_project(read_only=True) as store:
        emit(list_runs(store), check_format(fmt), title="Runs")


@runs_app.command("show")
def runs_show(run_id: str = typer.Argument(..., help="Run id (see `runs list`); `latest` for the last one.")) -> None:
    """Print a run's manifest (JSON)."""
    from ..pipeline import get_run
    with require_project(read_only=True) as store:
        if run_id == "latest":
            run_id = store.get_kv("runs.latest") or ""
        manifest = get_run(store, run_id)
    sys.stdout.write(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.add_typer(runs_app, name="runs")
