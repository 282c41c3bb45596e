"""`textmine themes ...`: codebook themes — classify, train, evaluate, disagreements,
suggest (active learning), apply to a project, list the codebook; calibration samples for
human coding (sample, samples, calibrate)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from ..calibrate import codes as cal_codes
from ..calibrate import drift as cal_drift
from ..calibrate import sample as cal_sample
from ..calibrate import tables as cal_tables
from ..config import seed as config_seed
from ..errors import E, TextmineError
from ..export.cells import to_csv
from ..export.files import check_writable
from ..export.sheet import write_sheet
from ..themes.codebook import few_examples_note, load_codebook
from ..themes.codings import current_run_record, theme_codings
from ..track import cache as track_cache
from ..track.calibrated import calibration
from ..track.data import load_items
from .common import (FormatOpt, RevealOpt, check_format, current_config, emit, info, progress, records,
                     require_project)

themes_app = typer.Typer(help="Codebook themes: zero-shot and supervised coders, agreement with human coders.",
                         no_args_is_help=True)

ModelOpt = typer.Option(None, "--model", "-m", help="Folder of a supervised model (`themes train`); "
                        "default: zero-shot from the codebook.")
CodebookOpt = typer.Option(None, "--codebook", help="Codebook YAML (default: config themes.codebook, "
                           "else the packaged configs/codebook.yaml).")
MappingOpt = typer.Option(None, "--mapping", help="QDA code name -> theme id mapping (.qdpx input).")


def _codebook(path: Optional[Path]):
    if path is not None:
        return load_codebook(path)        # a file, or `conum` (the packaged codebook)
    return load_codebook(current_config().codebook_path())


def _write(path: Path, writer) -> None:
    from ..export.files import atomic_write
    atomic_write(path, writer)


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    _write(path, lambda tmp: to_csv(df, tmp))


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
    check_writable(output)       # before the coder is built (minutes with the encoder)
    if use_role and "role" not in df.columns:
        raise TextmineError(E.E402, path=input, line=1, detail="--use-role but no `role` column",
                            fix="Add a role column (conum, responsable_structure, ...) or drop --use-role.")
    cb = _codebook(codebook)
    m = load_model(model, cb, config=current_config())
    _warn_few_examples(cb)
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
    coded: List[str] = typer.Option(..., "--coded", "-c", help="Coded CSV (id,text,themes[,posture]) or .qdpx, or "
                                    "calibration:NAME for a calibration sample's human codes (calibration:all for "
                                    "every sample; needs --project). Repeat to combine."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write."),
    mapping: Optional[Path] = MappingOpt,
    codebook: Optional[Path] = CodebookOpt,
    encoder: Optional[str] = typer.Option(None, "--encoder", "-e", help="Sentence encoder (default: config "
                                          "embed.encoder, the project's with --project)."),
    seed: Optional[int] = typer.Option(None, "--random-state", help="Random state (default: config random_state)."),
    coder: Optional[str] = typer.Option(None, "--coder", help="With calibration:NAME, one human coder's codes "
                                        "(default: the coders' majority)."),
    fmt: str = FormatOpt,
) -> None:
    """Train a supervised coder on human codings (files or calibration samples) and save it.

    With calibration codes it also fits cross-fitting fold models (by interview), so that the
    corrected estimates never use a prediction from a model trained on the segment's own code."""
    from ..export.coded import read_coded
    from ..themes.coded import label_matrix, single_class_themes, validate_coded
    from ..themes.crossfit import fit_crossfit
    from ..themes.model_io import save_coder
    from ..embed import resolve_encoder
    from ..themes.supervised import SupervisedThemeClassifier
    check_format(fmt)
    cb = _codebook(codebook)
    frames, is_cal, samples, n_folds = [], [], [], 5
    for item in coded:
        if item.startswith("calibration:"):
            name = item.split(":", 1)[1].strip()
            with require_project(read_only=True) as store:
                names = None if name in ("", "all") else [name]
                df = cal_codes.training_frame(store, names, coder)
                samples += names or list(cal_tables.samples(store)["sample_id"])
                n_folds = store.config.calibration.crossfit_folds
            df = validate_coded(df, cb, path=item)
            is_cal.append(pd.Series(True, index=df.index))
        else:
            df = read_coded(Path(item), cb, mapping=mapping)
            is_cal.append(pd.Series(False, index=df.index))
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    mask = pd.concat(is_cal, ignore_index=True).to_numpy()
    cfg = current_config()
    seed = config_seed(seed, cfg)
    model = SupervisedThemeClassifier(cb, encoder=resolve_encoder(encoder, cfg), random_state=seed)
    _warn_few_examples(cb)      # the zero-shot coder is the prior of rare themes
    one = single_class_themes(label_matrix(df, cb), cb.ids)
    if one and len(one) < len(cb.ids):
        info(f"warning: {len(one)} theme(s) coded in all rows or in none, nothing to learn for them (they keep "
             f"the zero-shot decision): {', '.join(one)}")
    with progress("embedding + training", None):
        model.fit(df)
        model.calibration_samples_ = list(dict.fromkeys(samples))
        save_coder(model, output)
        if mask.any():
            meta = fit_crossfit(model, df, mask, output, n_folds=n_folds, seed=seed,
                                samples=model.calibration_samples_)
    info(f"model trained on {len(df)} coded segments ({int(mask.sum())} calibration codes) -> {output}")
    if mask.any():
        info(f"cross-fitting: {meta['n_folds']} fold models by interview in {output}/crossfit "
             "(the corrected estimates use them: run `themes apply --model` with this folder)")
    emit([{"theme": t, "support": int(s), "threshold": round(float(th), 3), "learned": bool(a)}
          for t, s, th, a in zip(cb.ids, model.support_, model.thresholds_, model.active_)], fmt)


def _model_predictions(df, cb, model: Optional[Path], cv: Optional[int], seed: Optional[int] = None):
    """The model's (``--model``) or a cross-validated coder's (``--cv``) predictions, with the
    encoder and seed of the command's config."""
    from ..themes.apply import load_model
    from ..themes.evaluate import cross_validate, predict_frame
    from ..embed import resolve_encoder
    from ..themes.supervised import SupervisedThemeClassifier
    cfg = current_config()
    if model is not None:
        m = load_model(model, cb, config=cfg)
        P, Yp, post = predict_frame(m, df)
        return P, Yp, post, {"mode": "model", "model": str(model)}
    if cv is not None:
        with progress(f"{cv}-fold cross-validation", None):
            coder_ = SupervisedThemeClassifier(cb, encoder=resolve_encoder(None, cfg),
                                               random_state=config_seed(seed, cfg))
            P, Yp, post, gcol = cross_validate(df, coder_, cb, cv)
        return P, Yp, post, {"mode": "cv", "folds": cv, "grouped_by": gcol}
    raise TextmineError(E.E005, detail="--model DIR or --cv N (or --against FILE)",
                        fix="Pass --model DIR, --cv 5, or --against FILE2 to compare two coders.")


@themes_app.command("evaluate")
def evaluate_cmd(
    coded: Optional[Path] = typer.Option(None, "--coded", "-c", help="Human codings (reference)."),
    model: Optional[Path] = ModelOpt,
    cv: Optional[int] = typer.Option(None, "--cv", help="Cross-validate a supervised coder with N folds "
                                     "grouped by interview_id (else section)."),
    against: Optional[Path] = typer.Option(None, "--against", help="A second human coder's file (same ids; "
                                           "id,themes[,posture] is enough: rows are matched by id)."),
    calibration_: bool = typer.Option(False, "--calibration", help="The project's coder against its human "
                                      "calibration codes, per wave, and its drift between consecutive waves "
                                      "(needs --project)."),
    coder: Optional[str] = typer.Option(None, "--coder", help="With --calibration: one human coder's codes "
                                        "(default: all coders, a theme counts when half of them gave it)."),
    sample: Optional[str] = typer.Option(None, "--sample", help="With --calibration: this calibration sample."),
    mapping: Optional[Path] = MappingOpt,
    codebook: Optional[Path] = CodebookOpt,
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0,
                                  help="Bootstrap replicates for the 95 % intervals of kappa and F1 "
                                       "(whole interviews, else sections, are resampled); 0 = none."),
    seed: Optional[int] = typer.Option(None, "--random-state", help="Random state of the folds, the coder and the "
                                       "bootstrap (default: config random_state)."),
    fmt: str = FormatOpt,
) -> None:
    """Precision, recall, F1, Cohen's kappa (95 % bootstrap interval), Krippendorff's alpha per theme + macro figures."""
    from ..themes.agreement import agreement_intervals, agreement_table, posture_agreement
    from ..export.coded import read_coded
    from ..themes.coded import group_column, label_matrix
    from ..themes.evaluate import align_coders, evaluation_report
    check_format(fmt)
    if calibration_:
        return _evaluate_calibration(coder, sample, bootstrap, fmt)
    if coded is None:
        raise TextmineError(E.E005, detail="--coded FILE (or --calibration with --project)",
                            fix="Give the human codings with --coded FILE, or use --calibration on a project.")
    cb = _codebook(codebook)
    df = read_coded(coded, cb, mapping=mapping)
    if against is not None:
        other = read_coded(against, cb, mapping=mapping, text=False)   # id,themes[,posture] is enough
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
                                 n_boot=bootstrap, random_state=config_seed(seed, current_config()))
        table = table.merge(ci, on="theme", how="left")
        meta["bootstrap"] = {"replicates": bootstrap, "level": 0.95, "resampled": gcol or "rows"}
    table = _order_agreement(table)
    per = table[~table["theme"].isin(["macro", "all_decisions"])]
    if fmt == "json":
        out = {**meta, "n": n, "per_theme": records(per),
               "macro": records(table[table["theme"] == "macro"])[0],
               "all_decisions": records(table[table["theme"] == "all_decisions"])[0],
               "posture": records(pd.DataFrame([pa]))[0]}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        emit(table, fmt, title=f"agreement ({meta['mode']}, n={n})")
        if pa["n"]:            # no line when nothing carries a posture (a codebook without a posture theme)
            info(f"posture sub-label: n={pa['n']}, accuracy={pa['accuracy']:.3f}, kappa={pa['kappa']:.3f}")
        if meta["mode"] == "cv":
            info(f"folds grouped by {meta.get('grouped_by')}")


def _order_agreement(table: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("theme", "precision", "recall", "f1", "f1_lo", "f1_hi", "kappa", "kappa_lo", "kappa_hi")
            if c in table.columns]
    return table[cols + [c for c in table.columns if c not in cols]]


def _evaluate_calibration(coder: Optional[str], sample: Optional[str], bootstrap: int, fmt: str) -> None:
    """`themes evaluate --calibration`: per wave agreement and the drift between consecutive waves."""
    with require_project(read_only=True) as store:
        data = load_items(store, kinds=("theme", "posture"))
        res = cal_drift.agreement_by_wave(store, data, coder=coder, sample=sample, n_boot=bootstrap)
        waves = [w for w in data.waves() if w in res]
        drift = [cal_drift.coder_drift(store, a, b, data, coder=coder, sample=sample) for a, b in zip(waves, waves[1:])]
    if not res:
        raise TextmineError(E.E409, detail="no wave has human calibration codes in a usable sample",
                            fix="Draw a sample (`themes sample`), code it and import it (`themes calibrate`).")
    drift_df = pd.concat(drift, ignore_index=True) if drift else pd.DataFrame()
    if fmt == "json":
        out = {"mode": "calibration", "coder": coder or "consensus", "waves": {
            w: {"n": r["n"], "sample": r["sample"],
                "per_theme": records(_order_agreement(r["table"][~r["table"]["theme"].isin(["macro", "all_decisions"])])),
                "macro": records(r["table"][r["table"]["theme"] == "macro"])[0],
                "posture": records(pd.DataFrame([r["posture"]]))[0]} for w, r in res.items()},
            "drift": records(drift_df)}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return
    for w, r in res.items():
        emit(_order_agreement(r["table"]), fmt, title=f"coder vs human codes, wave {w} (sample {r['sample']}, "
                                                      f"n={r['n']})")
        pa = r["posture"]
        if pa["n"]:
            info(f"wave {w}, posture sub-label: n={pa['n']}, accuracy={pa['accuracy']:.3f}, kappa={pa['kappa']:.3f}")
    if len(drift_df):
        emit(drift_df, fmt, title="coder error rate between waves (weighted to the wave)")
        for row in drift_df[drift_df["significant"]].itertuples():
            info(f"warning: the coder's error rate on {row.theme} moves from {row.error_from:.1%} ({row.wave_from}) "
                 f"to {row.error_to:.1%} ({row.wave_to}), q={row.q_value:.3f}: raw changes between these waves "
                 "are biased; the calibrated ones are not")
    info("figures on the coded sample (weighted to the wave for the drift); with --oversample-uncertain samples "
         "they understate the coder's agreement on the whole wave")


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
    from ..export.coded import read_coded
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
    from ..themes.apply import apply_themes
    check_format(fmt)
    with require_project() as store:
        with progress("coding segments", None) as adv:
            run_id = apply_themes(store, model_dir=model, advance=adv)
        df = theme_codings(store)
        run = current_run_record(store)
        notes = codebook_notes(store)
    summary = (df[df["assigned"]].groupby("theme").size().reindex(sorted(df["theme"].unique()), fill_value=0)
               .rename("segments").reset_index())
    info(f"run {run_id}: {df['segment_id'].nunique()} segments coded with {run['model_id']}")
    for line in notes:
        info(line)
    emit(summary, fmt, title=f"themes ({run_id})")


def codebook_notes(store, first: bool = False) -> list[str]:
    """Which codebook the project codes with, and a warning when it codes almost nothing of
    the corpus (``first``: also how to choose another, for a project's first run)."""
    from ..themes.codings import LOW_COVERAGE, coverage
    cfg = store.config
    cb = load_codebook(cfg.codebook_path())
    name = cfg.codebook_name()
    what = "the packaged codebook of the Conseiller numérique study" if name == "conum" else name
    lines = [f"codebook: {what} ({len(cb.themes)} themes)"]
    todo = [f"{t.id} ({', '.join(t.to_write)})" for t in cb.themes if t.to_write]
    if todo:
        shown = ", ".join(todo[:5]) + (f" and {len(todo) - 5} more" if len(todo) > 5 else "")
        lines.append(f"{len(todo)} theme(s) of the codebook still have empty fields: {shown}")
    few = few_examples_note(cb)
    if few:
        lines.append(f"warning: {few}")
    if first:
        lines.append("  to code with your own themes: set themes.codebook: FILE in the project's textmine.yaml "
                     "(README, 'Your own codebook'); `textmine themes draft --output codebook.yaml` starts one "
                     "from the topics")
    cov = coverage(store)
    if cov["low"]:
        lines.append(f"warning: the codebook codes only {cov['coverage']:.0%} of the {cov['n_segments']} respondent "
                     f"segments (under {LOW_COVERAGE:.0%}; the most frequent theme, {cov['largest']}, "
                     f"{cov['largest_share']:.0%}): it was probably written for another corpus. Its tracking "
                     "figures say little; use your own codebook (README, 'Your own codebook') or start one with "
                     "`textmine themes draft`")
    return lines


@themes_app.command("list")
def list_cmd(codebook: Optional[Path] = CodebookOpt, fmt: str = FormatOpt) -> None:
    """The codebook's themes (id, label, number of cues and examples, fields still to write);
    with --codebook FILE, checks that file (E401 names any problem)."""
    check_format(fmt)
    cb = _codebook(codebook)
    emit([{"id": t.id, "label": t.label, "cues": len(t.cues), "examples": len(t.examples),
           "sublabels": ",".join(t.sublabels), "to_write": ",".join(t.to_write)} for t in cb.themes], fmt,
         title=f"codebook {cb.hash}")
    todo = sum(1 for t in cb.themes if t.to_write)
    info(f"{len(cb.themes)} themes, valid" + (f"; {todo} with fields still to write (to_write)" if todo else ""))
    _warn_few_examples(cb)


def _warn_few_examples(cb) -> None:
    """The warning of :func:`~textmine.themes.codebook.few_examples_note`, if any (stderr)."""
    note = few_examples_note(cb)
    if note:
        info(f"warning: {note}")


@themes_app.command("draft")
def draft_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Codebook YAML to write (e.g. codebook.yaml)."),
    n_cues: int = typer.Option(8, "--cues", min=1, max=30, help="Cues per theme (the topic's top words)."),
    n_examples: int = typer.Option(3, "--examples", min=1, max=10, help="Examples per theme (representative "
                                   "segments, pseudonymised)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
) -> None:
    """Start a codebook from the fitted topics: one theme per topic (label, cues, examples),
    definitions left for the team to write. Check it with `themes list --codebook OUTPUT`."""
    from ..themes.codebook import dump_codebook, load_codebook
    from ..themes.draft import draft_codebook
    if output.exists() and not force:
        raise TextmineError(E.E602, path=output, detail=f"{output} exists (a codebook being written?)",
                            fix="Choose another --output, or pass --force to overwrite it.")
    with require_project(read_only=True) as store:
        data, header = draft_codebook(store, n_cues=n_cues, n_examples=n_examples)
    if not data["themes"]:
        raise TextmineError(E.E006, detail="the topic model has no topic with words and examples")
    text = dump_codebook(data, header)
    _write(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    cb = load_codebook(output)        # what was written loads as a codebook
    info(f"{len(cb.themes)} draft themes -> {output}; write their definitions and criteria, then "
         f"`textmine themes list --codebook {output}` checks it")


@themes_app.command("sample")
def sample_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Coding sheet to write: .xlsx (Excel, LibreOffice), "
                                ".csv, or .qdpx (QualCoder, NVivo, ATLAS.ti, MAXQDA)."),
    n: Optional[int] = typer.Option(None, "--n", help="Units to draw per wave (default 100 unless "
                                    "--n-per-stratum is given)."),
    n_per_stratum: Optional[int] = typer.Option(None, "--n-per-stratum", help="Units to draw per stratum instead."),
    unit: str = typer.Option("segments", "--unit", help="segments | interviews (whole interviews, every respondent "
                             "segment of each: needed to correct the interviews measure)."),
    wave: Optional[List[str]] = typer.Option(None, "--wave", "-w", help="Wave to sample (repeatable; default: all)."),
    strata: str = typer.Option("wave,role", "--strata", help="Comma-separated stratification attributes (wave is "
                               "always one): role, territory, structure_type or a metadata column."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the draw (default: config random_state)."),
    oversample: Optional[float] = typer.Option(None, "--oversample-uncertain", help="Draw the segments the coder "
                                               "is least sure about K times as often (their probabilities are "
                                               "recorded, so the estimates stay unbiased)."),
    name: Optional[str] = typer.Option(None, "--name", help="Sample name (default: s1, s2 ...). The same name "
                                       "and settings find the same sample again."),
    again: Optional[str] = typer.Option(None, "--from-sample", help="Write the sheet of this existing sample "
                                        "again (another format, another coder) instead of drawing."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Who will code this sheet: the sample's segments "
                                        "this coder already coded through another sample's sheet come pre-filled "
                                        "with their codes (default: the one coder who has such codes; none when "
                                        "several have)."),
    no_prefill: bool = typer.Option(False, "--no-prefill", help="Leave every row empty (a blind sheet, e.g. for a "
                                    "second coder)."),
    reveal: bool = RevealOpt,
    fmt: str = FormatOpt,
) -> None:
    """Draw a probability sample of segments (or interviews) for human coding and write its coding sheet."""
    check_format(fmt)
    check_writable(output)
    if coder is not None and not coder.strip():
        raise TextmineError(E.E005, detail="--coder '': give the name the sheet will be imported under")
    prefill = {"prefill": not no_prefill and output.suffix.lower() != ".qdpx",
               "coder": coder.strip() if coder else None}
    with require_project() as store:
        cb = load_codebook(store.config.codebook_path())
        if again is not None:
            meta = cal_tables.get_sample(store, again)
            notes: list[str] = []
            rows = cal_sample.sheet_rows(store, again, reveal, **prefill)
            write_sheet(output, rows, cb, meta, store=store, reveal=reveal)
        else:
            if n is None and n_per_stratum is None:
                n = 100
            drawn = cal_sample.draw_sample(store, unit=unit, n=n, n_per_stratum=n_per_stratum, waves=wave,
                                           strata=[x.strip() for x in strata.split(",")], seed=seed,
                                           oversample=oversample, name=name)
            meta, notes = drawn.meta, drawn.notes
            with store.transaction():            # a sheet that cannot be written leaves no sample behind
                cal_sample.save(store, drawn)
                rows = cal_sample.sheet_rows(store, meta["sample_id"], reveal, **prefill)
                write_sheet(output, rows, cb, meta, store=store, reveal=reveal)
        if not no_prefill and not prefill["prefill"]:      # a .qdpx: what an .xlsx or .csv would have pre-filled
            rows = cal_sample.sheet_rows(store, meta["sample_id"], reveal, coder=prefill["coder"])
        units = cal_tables.units(store, [meta["sample_id"]])
    for note in notes:
        info(note)
    for note in _prefill_notes(rows.attrs.get("prefill", {}), prefill, no_prefill, meta["sample_id"]):
        info(note)
    summary = (units.groupby(["wave", "stratum"], sort=True)
               .agg(drawn=("unit_id", "nunique"), segments=("segment_id", "size"), in_stratum=("n_stratum", "first"),
                    probability=("inclusion_prob", "first")).reset_index())
    info(f"sample {meta['sample_id']} ({meta['unit']}, seed {meta['seed']}): {units['unit_id'].nunique()} "
         f"{meta['unit']} -> {output}")
    info(f"code it (text pseudonymised{'; REAL NAMES shown' if reveal else ''}), then: textmine --project "
         f"{store.root} themes calibrate --coded {output} --coder YOUR_NAME")
    emit(summary, fmt, title=f"sample {meta['sample_id']}")


def _prefill_notes(done: dict, asked: dict, no_prefill: bool, sample_id: str) -> list[str]:
    """What `themes sample` says about the rows it pre-filled (or could have)."""
    if no_prefill:
        return []
    if done.get("n") and asked["prefill"]:
        return [f"{done['n']} row(s) pre-filled with {done['coder']}'s codes of the same segments through the sheet "
                f"of sample(s) {', '.join(done['from'])} (column `prefilled`): {done['coder']} checks or keeps them "
                f"and imports the sheet as --coder {done['coder']}; for another coder, write a blind sheet with "
                f"--from-sample {sample_id} --no-prefill (or --coder NAME)"]
    if done.get("n"):
        return [f"a .qdpx sheet is not pre-filled: {done['n']} of its segments were already coded by "
                f"{done['coder']} through another sample's sheet (write an .xlsx or .csv sheet with --from-sample "
                f"{sample_id} to have them pre-filled)"]
    if asked["coder"] is None and len(done.get("coders", [])) > 1:
        return [f"some of its segments were already coded through other samples' sheets by "
                f"{', '.join(done['coders'])}: nothing pre-filled (a sheet is one coder's); write it again with "
                f"--from-sample {sample_id} --coder NAME to pre-fill NAME's codes"]
    if asked["coder"] is not None:      # a new coder, or a misspelt name: say why the sheet is blank
        others = f" (codes to pre-fill with: {', '.join(done['coders'])})" if done.get("coders") else ""
        return [f"nothing pre-filled: {asked['coder']} coded none of this sample's segments through another "
                f"sample's sheet{others}; the sheet is blank, to code as {asked['coder']}"]
    return []


@themes_app.command("samples")
def samples_cmd(fmt: str = FormatOpt) -> None:
    """Calibration samples of the project: unit, waves, size, coded segments per coder."""
    check_format(fmt)
    with require_project(read_only=True) as store:
        smp = cal_tables.samples(store)
        units = cal_tables.units(store)
        cod = cal_tables.codes(store)

    def per_coder(c: pd.DataFrame) -> str:
        return "; ".join(f"{k}: {v}" for k, v in c.groupby("coder")["segment_id"].nunique().items())

    rows = []
    for r in smp.itertuples():      # coded: from this sample's own sheet (what corrects the figures with it)
        u = units[units["sample_id"] == r.sample_id]
        c = cod[cod["segment_id"].isin(set(u["segment_id"]))]
        mine, via = cal_tables.own_and_elsewhere(c, r.sample_id)
        rows.append({"sample_id": r.sample_id, "unit": r.unit, "waves": ",".join(r.waves),
                     "strata": ",".join(r.strata), "seed": r.seed, "created": r.created,
                     "units": int(u["unit_id"].nunique()), "segments": len(u),
                     "coded": per_coder(c[mine]), "coded_via_other_samples": per_coder(c[via])})
    emit(pd.DataFrame(rows, columns=["sample_id", "unit", "waves", "strata", "seed", "created", "units", "segments",
                                     "coded", "coded_via_other_samples"]), fmt, title="calibration samples")
    if any(r["coded_via_other_samples"] for r in rows):
        info("coded: segments coded in the sample's own sheet (only these correct the figures with that sample); "
             "coded_via_other_samples: its segments coded only in another sample's sheet (a new sheet of the "
             "sample, `themes sample --from-sample NAME`, comes pre-filled with them)")


@themes_app.command("calibrate")
def calibrate_cmd(
    coded: Path = typer.Option(..., "--coded", "-c", help="A sample's coding sheet filled in: .xlsx, .csv or .qdpx."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Who coded it (default: human). A new import of the "
                                        "same sample's sheet by the same coder replaces their earlier codes of the "
                                        "same segments in that sample (codes filed under other samples stay)."),
    sample: Optional[str] = typer.Option(None, "--sample", help="The sample the sheet belongs to (only needed for "
                                         "a .qdpx or .csv that does not name it, when textmine cannot tell)."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="Store rows left empty as coded 'no theme' "
                                     "(a sheet where no segment has any theme, a pre-filled sheet whose other "
                                     "rows carry no theme, or rows left blank among rows coded with 1/0), and "
                                     "leave out the warning about a sheet ending with a run of empty rows."),
    replace: bool = typer.Option(False, "--replace", help="The sheet replaces all of this coder's codes in its "
                                 "sample: the codes of rows deleted from it since an earlier import are deleted "
                                 "(to withdraw rows imported before they were coded)."),
    mapping: Optional[Path] = MappingOpt,
    fmt: str = FormatOpt,
) -> None:
    """Store the human codes of a drawn sample (checked whole first: on any error nothing is stored)."""
    check_format(fmt)
    with require_project() as store:
        imp = cal_codes.import_codes(store, coded, coder=coder, mapping=mapping, sample=sample,
                                     allow_empty=allow_empty, replace=replace)
        units = cal_tables.units(store, imp.samples)
        cod = cal_tables.codes(store)
        try:
            data = load_items(store, kinds=("theme", "posture"))
            cal = calibration(store, data, "auto")
        except TextmineError:        # no machine coding yet: codes stored, used once there is one
            data, cal = None, None
        pairs = cal_drift.coder_agreement(store, data) if data is not None else pd.DataFrame()
        if cal is not None:          # the next `textmine track` shows the corrected figures without computing them
            track_cache.refresh(store)
    for note in imp.notes:
        info(note)
    info(f"{len(imp.codes)} coded segment(s) by {imp.coder} stored from {coded.name} (sample "
         f"{', '.join(imp.samples)})")
    if cal is not None:
        covered = ", ".join(f"{w} (sample {s})" for w, s in cal.samples.items()) or "none yet"
        info(f"waves whose figures are now corrected: {covered}")
        for note in cal.notes:
            info(note)
    else:
        info("the machine has not coded these segments yet (`textmine themes apply`): the codes will be used then")
    for r in pairs.itertuples():
        info(f"agreement {r.coder_a} / {r.coder_b} on {r.n} segments: macro kappa {r.kappa:.2f}, F1 {r.f1:.2f} "
             "(the estimates use the coders' mean; --coder NAME for one)")
    own = set(zip(cod["sample_id"].astype(str), cod["segment_id"]))      # coded in the sample's own sheet
    summary = (units.assign(coded=[k in own for k in zip(units["sample_id"].astype(str), units["segment_id"])])
               .groupby(["sample_id", "wave"], sort=True)
               .agg(drawn=("segment_id", "size"), coded=("coded", "sum")).reset_index())
    emit(summary, fmt, title="calibration codes")


def register(app: typer.Typer) -> None:
    app.add_typer(themes_app, name="themes")
