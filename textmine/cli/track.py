"""`textmine track` (prevalence, changes, panel) and `textmine report`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from .common import FormatOpt, RevealOpt, check_format, emit, human_table, info, require_project

track_app = typer.Typer(help="Track themes, posture sub-labels and topics across waves, roles, territories "
                             "and respondents (95 % cluster-bootstrap intervals).", no_args_is_help=False)

ByOpt = typer.Option(None, "--by", help="Comma-separated attributes: wave, role, territory, structure_type, "
                                        "date, or any metadata column (attrs).")
MeasureOpt = typer.Option("segments", "--measure", help="segments | words | interviews")
ThemeOpt = typer.Option(None, "--theme", "-t", help="Restrict to these items (repeat or comma-separate): theme "
                                                    "ids, posture:<label>, topic:<id>.")
ExplainOpt = typer.Option(False, "--explain", help="Add the ids of the segments behind each figure.")
EstimatorOpt = typer.Option("auto", "--estimator", help="calibrated | raw. Default (auto): figures a human "
                            "calibration sample covers are corrected, the others are the coder's raw output; the "
                            "`estimator` column says which.")
CoderOpt = typer.Option(None, "--coder", help="Correct with this human coder's codes (default: the mean of all "
                        "coders).")
SampleOpt = typer.Option(None, "--sample", help="Correct with this calibration sample (default: in each wave, "
                         "the latest sample whose own coded sheet was imported).")
RevealAttrOpt = typer.Option(False, "--reveal", help="Allow --by on metadata columns the sheet did not declare "
                                                     "public (their real values are shown: personal data!).")
_TABLE_DROP = {"label", "correction", "kind", "measure", "n_hits", "n_interviews_hit", "wave_from", "wave_to",
               "n_hits_from", "n_hits_to", "share_from", "share_to", "ci_excludes_zero", "significant",
               "n_interviews_from", "n_interviews_to", "n_calibration_from", "n_calibration_to",
               "share_from (%)", "share_to (%)"}


def _split(values: Optional[List[str]] | Optional[str]) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    return [v.strip() for x in values for v in x.split(",") if v.strip()]


def _calibration_info(df: pd.DataFrame) -> None:
    """Say on stderr which figures are corrected, with which sample, and why others are raw."""
    for note in df.attrs.get("calibration_notes", []):
        info(note)
    if "estimator" not in df.columns or df.empty:
        return
    smp = df.attrs.get("calibration_samples", {})
    units = df.attrs.get("calibration_sample_units", {})
    n_cal = int((df["estimator"] == "calibrated").sum())
    if n_cal:
        used = ", ".join(f"{w}: {s} ({units.get(s, 'segments')[:-1]} sample)" for w, s in smp.items())
        info(f"{n_cal} of {len(df)} figures corrected with human calibration codes (samples used: {used}); "
             "estimator=raw rows are the coder's output")
    elif df.attrs.get("calibration_uncovered") and "wave_from" in df.columns:
        info(f"no figure corrected: a change is corrected only when both of its waves have a usable sample, and "
             f"wave(s) {', '.join(df.attrs['calibration_uncovered'])} have none here (see above); all rows are raw")
    elif df.attrs.get("calibration_ready", bool(smp)):
        info("no figure corrected: the groups shown have too few coded units or are topics; all rows are raw")


def _emit(df: pd.DataFrame, fmt: str, title: str) -> None:
    if "segment_ids" in df.columns and fmt != "json":
        df = df.assign(segment_ids=df["segment_ids"].map(lambda ids: ";".join(ids)))
    if fmt == "table":   # terminal: the essential columns, in % and points; json/csv carry everything
        df = human_table(df)
        df = df[[c for c in df.columns if c not in _TABLE_DROP]]
    emit(df, fmt, title=title)


@track_app.callback(invoke_without_command=True)
def track_cmd(ctx: typer.Context, by: Optional[str] = ByOpt, measure: str = MeasureOpt,
              theme: Optional[List[str]] = ThemeOpt, explain: bool = ExplainOpt, estimator: str = EstimatorOpt,
              coder: Optional[str] = CoderOpt, sample: Optional[str] = SampleOpt, reveal: bool = RevealAttrOpt,
              fmt: str = FormatOpt) -> None:
    """Prevalence of each theme / posture sub-label / topic by --by (default: wave)."""
    if ctx.invoked_subcommand:
        return
    from ..track import prevalence
    from ..track.cache import cached_prevalence
    check_format(fmt)
    default = (not _split(by) or _split(by) == ["wave"]) and measure == "segments" and not _split(theme) \
        and not explain and estimator == "auto" and coder is None and sample is None and not reveal
    with require_project(read_only=True) as store:
        df = cached_prevalence(store) if default else None      # the run's figures, if nothing changed since
        if df is None:
            df = prevalence(store, by=_split(by) or ["wave"], measure=measure, themes=_split(theme) or None,
                            explain=explain, estimator=estimator, coder=coder, sample=sample, reveal=reveal)
        _calibration_info(df)
        n_small = int(df["small_cell"].sum()) if len(df) else 0
        if n_small:
            info(f"{n_small} cell(s) have fewer than {store.config.track.min_interviews} interviews "
                 "(small_cell: true): not meaningful")
    from ..stats import ci_label
    _emit(df, fmt, f"Prévalence (IC {ci_label(df.attrs.get('alpha', 0.05))} bootstrap par entretien)")


#: below this many interviews in a wave, a bootstrap over interviews underestimates the spread
FEW_CLUSTERS = 10


@track_app.command("changes")
def changes_cmd(wave_from: str = typer.Option(..., "--from", help="Earlier wave."),
                wave_to: str = typer.Option(..., "--to", help="Later wave."),
                by: Optional[str] = ByOpt, measure: str = MeasureOpt, theme: Optional[List[str]] = ThemeOpt,
                explain: bool = ExplainOpt, estimator: str = EstimatorOpt, coder: Optional[str] = CoderOpt,
                sample: Optional[str] = SampleOpt, reveal: bool = RevealAttrOpt, fmt: str = FormatOpt) -> None:
    """Change between two waves: delta, 95 % interval, p-value, BH q-value (corrected where calibrated)."""
    from ..track import CORRECTION, changes, load_items
    check_format(fmt)
    with require_project(read_only=True) as store:
        data = load_items(store, themes=_split(theme) or None, reveal=reveal, with_text=False)
        df = changes(store, wave_from, wave_to, by=_split(by), measure=measure, explain=explain, data=data,
                     estimator=estimator, coder=coder, sample=sample)
        info(f"p-values: permutation test over interviews ({store.config.track.n_perm} permutations), bootstrap "
             f"({store.config.track.n_boot} replicates) for calibrated rows; multiple testing: {CORRECTION}")
        if {"n_interviews_from", "n_interviews_to"} <= set(df.columns) and len(df):
            few = int(df[["n_interviews_from", "n_interviews_to"]].min(axis=1).lt(FEW_CLUSTERS).sum())
            if few:
                info(f"{few} row(s) compare waves with fewer than {FEW_CLUSTERS} interviews: with so few interviews "
                     "to resample, their bootstrap interval is too narrow; judge those rows by their p and q values "
                     "(permutation test), not by whether the interval excludes 0")
        _calibration_info(df)
        if estimator != "raw" and "estimator" in df.columns and (df["estimator"] == "calibrated").any():
            from ..calibrate.drift import coder_drift   # scikit-learn's metrics: only when there is drift to check
            drift = coder_drift(store, wave_from, wave_to, data, coder=coder, sample=sample)
            for r in drift[drift["significant"]].itertuples():
                info(f"warning: the coder's error rate on {r.theme} differs between {r.wave_from} ({r.error_from:.1%}) "
                     f"and {r.wave_to} ({r.error_to:.1%}), q={r.q_value:.3f}: its raw changes are biased; the "
                     "calibrated rows correct for it (details: `themes evaluate --calibration`)")
    _emit(df, fmt, f"Évolution {wave_from} → {wave_to}")


@track_app.command("panel")
def panel_cmd(wave_from: Optional[str] = typer.Option(None, "--from", help="Earlier wave (default: first)."),
              wave_to: Optional[str] = typer.Option(None, "--to", help="Later wave (default: last)."),
              view: str = typer.Option("movers", "--view",
                                       help="movers | transitions | respondents | themes | summary"),
              lang: str = typer.Option("fr", "--lang", help="fr | en (attributions)"),
              estimator: str = EstimatorOpt, coder: Optional[str] = CoderOpt, sample: Optional[str] = SampleOpt,
              reveal: bool = RevealOpt, fmt: str = FormatOpt) -> None:
    """Respondents interviewed in both waves: posture transitions, who moved (with quotes), theme changes."""
    from ..errors import E, TextmineError
    from ..track import panel
    check_format(fmt)
    views = ("movers", "transitions", "respondents", "themes", "summary")
    if view not in views:
        raise TextmineError(E.E005, detail=f"--view {view!r}; valid: {', '.join(views)}")
    from ..themes.codebook import load_codebook
    with require_project(read_only=True) as store:
        res = panel(store, wave_from, wave_to, reveal=reveal, language=lang, estimator=estimator, coder=coder,
                    sample=sample)
        posture = load_codebook(store.config.codebook_path(), compile_cues=False).posture_theme is not None
    df = {"movers": res.movers, "transitions": res.transitions, "respondents": res.respondents,
          "themes": res.themes, "summary": res.theme_summary}[view]
    moved = int(res.respondents["moved"].sum()) if len(res.respondents) else 0
    info(f"panel {res.wave_from} → {res.wave_to}: {len(res.respondents)} respondent(s) in both waves"
         + (f", {moved} changed dominant posture" if posture else " (the codebook has no posture theme)"))
    if df.empty and fmt == "table":     # said above; an empty table would add nothing
        if res.respondents.empty:
            info("no respondent_id is in both waves: a panel needs the same respondent_id in the metadata "
                 "sheets of both waves (or per speaker in a speakers sheet)")
        else:
            info(f"nothing to show in the {view} view"
                 + (" (nobody changed dominant posture)" if view == "movers" and posture else "")
                 + ": `--view themes` or `--view summary` give each respondent's theme changes")
        return
    if view == "summary" and len(df) and (df["estimator"] == "calibrated").any():
        info("mean_delta is corrected with human calibration codes where estimator=calibrated; n_up/n_down/n_same, "
             "postures and transitions are always the coder's raw output")
    elif view != "summary":
        info("per-respondent figures, postures and transitions are the coder's raw output (not correctable from a "
             "sample); the summary view's mean_delta can be corrected")
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
