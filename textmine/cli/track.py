"""`textmine track` (prevalence, changes, panel) and `textmine report`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from .common import FormatOpt, RevealOpt, check_format, emit, info, require_project

track_app = typer.Typer(help="Track themes, posture sub-labels and topics across waves, roles, territories "
                             "and respondents (95 % cluster-bootstrap intervals).", no_args_is_help=False)

ByOpt = typer.Option(None, "--by", help="Comma-separated attributes: wave, role, territory, structure_type, "
                                        "date, or any metadata column (attrs).")
MeasureOpt = typer.Option("segments", "--measure", help="segments | words | interviews")
ThemeOpt = typer.Option(None, "--theme", "-t", help="Restrict to these items (repeat or comma-separate): theme "
                                                    "ids, posture:<label>, topic:<id>.")
ExplainOpt = typer.Option(False, "--explain", help="Add the ids of the segments behind each figure.")
_TABLE_DROP = {"label", "correction", "kind", "measure", "n_hits", "n_interviews_hit", "wave_from", "wave_to",
               "n_hits_from", "n_hits_to", "share_from", "share_to", "ci_excludes_zero", "significant",
               "n_interviews_from", "n_interviews_to"}


def _split(values: Optional[List[str]] | Optional[str]) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    return [v.strip() for x in values for v in x.split(",") if v.strip()]


def _emit(df: pd.DataFrame, fmt: str, title: str) -> None:
    if "segment_ids" in df.columns and fmt != "json":
        df = df.assign(segment_ids=df["segment_ids"].map(lambda ids: ";".join(ids)))
    if fmt == "table":   # terminal: the essential columns; json/csv carry everything
        df = df[[c for c in df.columns if c not in _TABLE_DROP]]
    emit(df, fmt, title=title)


@track_app.callback(invoke_without_command=True)
def track_cmd(ctx: typer.Context, by: Optional[str] = ByOpt, measure: str = MeasureOpt,
              theme: Optional[List[str]] = ThemeOpt, explain: bool = ExplainOpt, fmt: str = FormatOpt) -> None:
    """Prevalence of each theme / posture sub-label / topic by --by (default: wave)."""
    if ctx.invoked_subcommand:
        return
    from ..track import prevalence
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = prevalence(store, by=_split(by) or ["wave"], measure=measure, themes=_split(theme) or None,
                        explain=explain)
        n_small = int(df["small_cell"].sum()) if len(df) else 0
        if n_small:
            info(f"{n_small} cell(s) have fewer than {store.config.track.min_interviews} interviews "
                 "(small_cell: true): not meaningful")
    _emit(df, fmt, "Prévalence (IC 95 % bootstrap par entretien)")


@track_app.command("changes")
def changes_cmd(wave_from: str = typer.Option(..., "--from", help="Earlier wave."),
                wave_to: str = typer.Option(..., "--to", help="Later wave."),
                by: Optional[str] = ByOpt, measure: str = MeasureOpt, theme: Optional[List[str]] = ThemeOpt,
                explain: bool = ExplainOpt, fmt: str = FormatOpt) -> None:
    """Change between two waves: delta, 95 % interval, permutation p-value, BH q-value."""
    from ..track import CORRECTION, changes
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = changes(store, wave_from, wave_to, by=_split(by), measure=measure, themes=_split(theme) or None,
                     explain=explain)
        info(f"p-values: permutation test over interviews ({store.config.track.n_perm} permutations); "
             f"multiple testing: {CORRECTION}")
    _emit(df, fmt, f"Évolution {wave_from} → {wave_to}")


@track_app.command("panel")
def panel_cmd(wave_from: Optional[str] = typer.Option(None, "--from", help="Earlier wave (default: first)."),
              wave_to: Optional[str] = typer.Option(None, "--to", help="Later wave (default: last)."),
              view: str = typer.Option("movers", "--view",
                                       help="movers | transitions | respondents | themes | summary"),
              lang: str = typer.Option("fr", "--lang", help="fr | en (attributions)"),
              reveal: bool = RevealOpt, fmt: str = FormatOpt) -> None:
    """Respondents interviewed in both waves: posture transitions, who moved (with quotes), theme changes."""
    from ..errors import E, TextmineError
    from ..track import panel
    check_format(fmt)
    views = ("movers", "transitions", "respondents", "themes", "summary")
    if view not in views:
        raise TextmineError(E.E005, detail=f"--view {view!r}; valid: {', '.join(views)}")
    with require_project(read_only=True) as store:
        res = panel(store, wave_from, wave_to, reveal=reveal, language=lang)
    df = {"movers": res.movers, "transitions": res.transitions, "respondents": res.respondents,
          "themes": res.themes, "summary": res.theme_summary}[view]
    info(f"panel {res.wave_from} → {res.wave_to}: {len(res.respondents)} respondent(s) in both waves, "
         f"{int(res.respondents['moved'].sum()) if len(res.respondents) else 0} changed dominant posture")
    _emit(df, fmt, f"Panel {res.wave_from} → {res.wave_to} ({view})")


def report_cmd(output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                     help="HTML file (default: PROJECT/outputs/report.html)."),
               lang: Optional[str] = typer.Option(None, "--lang", help="fr | en (default: config report.language)."),
               figures: bool = typer.Option(True, "--figures/--no-figures",
                                            help="Also write PNG and SVG figures next to the report.")) -> None:
    """Write one self-contained HTML report (charts inline, works offline) + PNG/SVG figures."""
    from ..errors import E, TextmineError
    from ..report import write_report
    if lang is not None and lang not in ("fr", "en"):
        raise TextmineError(E.E005, detail=f"--lang {lang!r}; valid: fr, en")
    with require_project(read_only=True) as store:
        path = write_report(store, output or store.outputs_dir / "report.html",
                            language=lang or store.config.report.language, figures=figures)
    info(f"report written: {path}")
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(track_app, name="track")
    app.command("report")(report_cmd)
