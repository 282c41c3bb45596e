"""`textmine themes ...`: codebook themes — classify, train, evaluate, disagreements,
suggest (active learning), apply to a project, list the codebook."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from ..errors import E, TextmineError
from .common import FormatOpt, RevealOpt, check_format, emit, info, progress, require_project, state

themes_app = typer.Typer(help="Codebook themes: zero-shot and supervised coders, agreement with human coders.",
                         no_args_is_help=True)

ModelOpt = typer.Option(None, "--model", "-m", help="Folder of a supervised model (`themes train`); "
                        "default: zero-shot from the codebook.")
CodebookOpt = typer.Option(None, "--codebook", help="Codebook YAML (default: config themes.codebook, "
                           "else the packaged configs/codebook.yaml).")
MappingOpt = typer.Option(None, "--mapping", help="QDA code name -> theme id mapping (.qdpx input).")


def _codebook(path: Optional[Path]):
    from ..themes.codebook import load_codebook
    if path is not None:
        return load_codebook(path)
    if state.project is not None and (Path(state.project) / "textmine.yaml").exists():
        from ..config import load_config
        cfg = load_config(Path(state.project) / "textmine.yaml", state.config)
        return load_codebook(cfg.codebook_path())
    if state.config is not None:
        from ..config import load_config
        return load_codebook(load_config(state.config).codebook_path())
    return load_codebook()


def _write(path: Path, writer) -> None:
    from ..export.files import atomic_write
    atomic_write(path, writer)


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    _write(path, lambda tmp: df.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8"))


def _read_input(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise TextmineError(E.E402, path=path, detail="file not found",
                            fix="Give a CSV file with columns id,text.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise TextmineError(E.E402, path=path, detail=f"unreadable CSV ({exc})",
                            fix="Give a UTF-8 CSV file with columns id,text.") from exc
    for col in ("id", "text"):
        if col not in df.columns:
            raise TextmineError(E.E402, path=path, line=1, detail=f"missing column {col!r}",
                                fix="Give a UTF-8 CSV file with columns id,text.")
    return df


@themes_app.command("classify")
def classify_cmd(
    input: Path = typer.Option(..., "--input", "-i", help="CSV with columns id,text (others ignored)."),
    output: Path = typer.Option(..., "--output", "-o", help="JSON Lines file: one object per input row."),
    model: Optional[Path] = ModelOpt,
    codebook: Optional[Path] = CodebookOpt,
    use_role: bool = typer.Option(False, "--use-role", help="Give the input's `role` column (speaker role "
                                  "per row) to a supervised model trained with roles; without it every "
                                  "column but id,text is ignored."),
) -> None:
    """Code texts: {"id", "themes", "scores", "posture"} per row, in input order."""
    from ..themes.apply import classify_texts, load_model
    df = _read_input(input)
    if use_role and "role" not in df.columns:
        raise TextmineError(E.E402, path=input, line=1, detail="--use-role but no `role` column",
                            fix="Add a role column (conum, responsable_structure, ...) or drop --use-role.")
    cb = _codebook(codebook)
    m = load_model(model, cb)
    with progress("classifying", None):
        res = classify_texts(df["text"].tolist(), model=m, roles=df["role"].tolist() if use_role else None)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            for rid, r in zip(df["id"], res):
                fh.write(json.dumps({"id": rid, **r}, ensure_ascii=False) + "\n")
    _write(output, write)
    n_coded = sum(1 for r in res if r["themes"])
    info(f"{len(res)} rows coded with {'model ' + str(model) if model else 'zero-shot codebook'} "
         f"({n_coded} with at least one theme) -> {output}")


@themes_app.command("train")
def train_cmd(
    coded: Path = typer.Option(..., "--coded", "-c", help="Coded CSV (id,text,themes[,posture]) or .qdpx."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write."),
    mapping: Optional[Path] = MappingOpt,
    codebook: Optional[Path] = CodebookOpt,
    encoder: str = typer.Option("e5-small", "--encoder", "-e", help="Sentence encoder."),
    seed: int = typer.Option(42, "--random-state", help="Random state (determinism)."),
    fmt: str = FormatOpt,
) -> None:
    """Train a supervised coder on human codings and save it."""
    from ..themes.coded import read_coded
    from ..themes.supervised import SupervisedThemeClassifier
    check_format(fmt)
    cb = _codebook(codebook)
    df = read_coded(coded, cb, mapping=mapping)
    with progress("embedding + training", None):
        model = SupervisedThemeClassifier(cb, encoder=encoder, random_state=seed).fit(df)
        model.save(output)
    info(f"model trained on {len(df)} coded segments -> {output}")
    emit([{"theme": t, "support": int(s), "threshold": round(float(th), 3), "learned": bool(a)}
          for t, s, th, a in zip(cb.ids, model.support_, model.thresholds_, model.active_)], fmt)


def _model_predictions(df, cb, model: Optional[Path], cv: Optional[int], seed: int = 42):
    from ..themes.apply import load_model
    from ..themes.evaluate import cross_validate, predict_frame
    from ..themes.supervised import SupervisedThemeClassifier
    if model is not None:
        m = load_model(model, cb)
        P, Yp, post = predict_frame(m, df)
        return P, Yp, post, {"mode": "model", "model": str(model)}
    if cv is not None:
        with progress(f"{cv}-fold cross-validation", None):
            P, Yp, post, gcol = cross_validate(df, lambda: SupervisedThemeClassifier(cb, random_state=seed), cb, cv,
                                               random_state=seed)
        return P, Yp, post, {"mode": "cv", "folds": cv, "grouped_by": gcol}
    raise TextmineError(E.E005, detail="--model DIR or --cv N (or --against FILE)",
                        fix="Pass --model DIR, --cv 5, or --against FILE2 to compare two coders.")


@themes_app.command("evaluate")
def evaluate_cmd(
    coded: Path = typer.Option(..., "--coded", "-c", help="Human codings (reference)."),
    model: Optional[Path] = ModelOpt,
    cv: Optional[int] = typer.Option(None, "--cv", help="Cross-validate a supervised coder with N folds "
                                     "grouped by interview_id (else section)."),
    against: Optional[Path] = typer.Option(None, "--against", help="A second human coder's file (same ids)."),
    mapping: Optional[Path] = MappingOpt,
    codebook: Optional[Path] = CodebookOpt,
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0,
                                  help="Bootstrap replicates for the 95 % intervals of kappa and F1 "
                                       "(whole interviews, else sections, are resampled); 0 = none."),
    seed: int = typer.Option(42, "--random-state", help="Random state of the folds, the coder and the bootstrap."),
    fmt: str = FormatOpt,
) -> None:
    """Precision, recall, F1, Cohen's kappa (95 % bootstrap interval), Krippendorff's alpha per theme + macro figures."""
    from ..themes.agreement import agreement_intervals, agreement_table, posture_agreement
    from ..themes.coded import group_column, label_matrix, read_coded
    from ..themes.evaluate import align_coders, evaluation_report
    check_format(fmt)
    cb = _codebook(codebook)
    df = read_coded(coded, cb, mapping=mapping)
    if against is not None:
        other = read_coded(against, cb, mapping=mapping)
        a, b = align_coders(df, other)
        Y_ref, Y_other = label_matrix(a, cb), label_matrix(b, cb)
        table = agreement_table(Y_ref, Y_other, cb.ids)
        pa = posture_agreement(list(a["posture"]), list(b["posture"]))
        meta = {"mode": "coders", "against": str(against)}
        n, ref = len(a), a
    else:
        P, Y_other, post, meta = _model_predictions(df, cb, model, cv, seed)
        table, pa = evaluation_report(df, Y_other, post, cb)
        n, ref, Y_ref = len(df), df, label_matrix(df, cb)
    if bootstrap:
        gcol = group_column(ref)
        ci = agreement_intervals(Y_ref, Y_other, cb.ids, ref[gcol].values if gcol else None,
                                 n_boot=bootstrap, random_state=seed)
        table = table.merge(ci, on="theme", how="left")
        cols = ["theme", "precision", "recall", "f1", "f1_lo", "f1_hi", "kappa", "kappa_lo", "kappa_hi"]
        table = table[cols + [c for c in table.columns if c not in cols]]
        meta["bootstrap"] = {"replicates": bootstrap, "level": 0.95, "resampled": gcol or "rows"}
    per = table[~table["theme"].isin(["macro", "all_decisions"])]
    if fmt == "json":
        from .common import records
        out = {**meta, "n": n, "per_theme": records(per),
               "macro": records(table[table["theme"] == "macro"])[0],
               "all_decisions": records(table[table["theme"] == "all_decisions"])[0],
               "posture": records(pd.DataFrame([pa]))[0]}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        emit(table, fmt, title=f"agreement ({meta['mode']}, n={n})")
        info(f"posture sub-label: n={pa['n']}, accuracy={pa['accuracy']:.3f}, kappa={pa['kappa']:.3f}"
             + (f"; folds grouped by {meta.get('grouped_by')}" if meta["mode"] == "cv" else ""))


@themes_app.command("disagreements")
def disagreements_cmd(
    coded: Path = typer.Option(..., "--coded", "-c", help="Human codings."),
    model: Optional[Path] = ModelOpt,
    cv: Optional[int] = typer.Option(None, "--cv", help="Use out-of-fold predictions of an N-fold CV."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV file (default: table on stdout)."),
    mapping: Optional[Path] = MappingOpt,
    codebook: Optional[Path] = CodebookOpt,
    fmt: str = FormatOpt,
) -> None:
    """Queue of human/model disagreements to review, most confident model errors first."""
    from ..themes.coded import read_coded
    from ..themes.evaluate import disagreements
    check_format(fmt)
    cb = _codebook(codebook)
    df = read_coded(coded, cb, mapping=mapping)
    P, Yp, post, meta = _model_predictions(df, cb, model, cv)
    queue = disagreements(df, P, Yp, post, cb)
    if output is not None:
        _write_csv(output, queue)
        info(f"{len(queue)} disagreements -> {output}")
    else:
        emit(queue, fmt, title=f"{len(queue)} disagreements")


@themes_app.command("suggest")
def suggest_cmd(
    n: int = typer.Option(30, "--n", help="How many segments to propose."),
    output: Path = typer.Option(..., "--output", "-o", help="Coded-CSV file to fill in."),
    model: Optional[Path] = ModelOpt,
    reveal: bool = RevealOpt,
) -> None:
    """Active learning: the most uncertain yet diverse respondent segments, ready to code."""
    from ..themes.active import suggest
    with require_project() as store:
        with progress("scoring segments", None):
            df = suggest(store, n=n, model_dir=model, reveal=reveal)
    _write_csv(output, df)
    info(f"{len(df)} segments to code -> {output} (fill the `themes` column, ';'-separated ids)")


@themes_app.command("apply")
def apply_cmd(
    model: Optional[Path] = ModelOpt,
    fmt: str = FormatOpt,
) -> None:
    """Code every respondent segment of the project (table theme_codings, latest run only)."""
    from ..themes.apply import apply_themes, theme_codings
    check_format(fmt)
    with require_project() as store:
        with progress("coding segments", None) as adv:
            run_id = apply_themes(store, model_dir=model, advance=adv)
        df = theme_codings(store)
        run = store.get_kv("themes.current_run")
    summary = (df[df["assigned"]].groupby("theme").size().reindex(sorted(df["theme"].unique()), fill_value=0)
               .rename("segments").reset_index())
    info(f"run {run_id}: {df['segment_id'].nunique()} segments coded with {run['model_id']}")
    emit(summary, fmt, title=f"themes ({run_id})")


@themes_app.command("list")
def list_cmd(codebook: Optional[Path] = CodebookOpt, fmt: str = FormatOpt) -> None:
    """The codebook's themes (id, label, number of cues and examples)."""
    check_format(fmt)
    cb = _codebook(codebook)
    emit([{"id": t.id, "label": t.label, "cues": len(t.cues), "examples": len(t.examples),
           "sublabels": ",".join(t.sublabels)} for t in cb.themes], fmt, title=f"codebook {cb.hash}")


def register(app: typer.Typer) -> None:
    app.add_typer(themes_app, name="themes")
