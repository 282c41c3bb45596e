"""`textmine lexicon ...`: specificities, Reinert classes, their cross-tabulation, the concordancer.

Everything is computed on the pseudonymised respondent segments; the first command on a
project lemmatises them once (spaCy), later ones reuse the stored tokens.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from ..errors import E, TextmineError
from ..export.cells import to_csv
from ..export.files import atomic_write, check_writable
from .common import FormatOpt, RevealOpt, check_format, emit, info, out, progress, require_project

lexicon_app = typer.Typer(help="French lexicometry: Lafon's specificities (as TXM), Reinert classes "
                               "(as IRaMuTeQ / rainette), concordancer.", no_args_is_help=True)

KWIC_WIDTHS = {"left": 50, "keyword": 16, "right": 50, "attribution": 40, "source": 28, "segment_id": 24}


@lexicon_app.command("specificities")
def specificities_cmd(
    by: str = typer.Option("wave", "--by", help="Partition: wave, role, territory, structure_type, a metadata "
                           "column, theme:<id> (coded vs not), topic or class."),
    top: Optional[int] = typer.Option(None, "--top", "-n", help="Words per part and direction (default: config lexicon.top)."),
    min_freq: Optional[int] = typer.Option(None, "--min-freq", help="Minimum corpus frequency of a listed word "
                                           "(default: config lexicon.min_freq)."),
    unit: Optional[str] = typer.Option(None, "--unit", help="lemma or form (default: config lexicon.unit)."),
    banality: Optional[float] = typer.Option(None, "--banality", help="List words with |score| at least this "
                                             "(default: config lexicon.banality, TXM's 2.0)."),
    over_only: bool = typer.Option(False, "--over-only", help="Only the words each part over-uses."),
    all_words: bool = typer.Option(False, "--all-words", help="Keep stop words and oral fillers in the lists."),
    fmt: str = FormatOpt,
) -> None:
    """The words each part over- and under-uses (Lafon's hypergeometric specificities).

    score = signed log10 of the hypergeometric tail probability (positive: over-use);
    sizes are word occurrences."""
    from ..lexicon import specificities
    check_format(fmt)
    with require_project() as store:
        with progress("Lemmatising new segments (spaCy)", None) as adv:
            df = specificities(store, by, unit=unit, min_freq=min_freq, top=top, banality=banality,
                               keep_stop=all_words, under=not over_only, advance=adv)
    sizes = df.attrs.get("part_sizes", {})
    info(f"--by {by}: {len(sizes)} parts ({', '.join(f'{g}: {n:,} words' for g, n in sizes.items())}); "
         f"unit {df.attrs.get('unit')}, banality |score| < {df.attrs.get('banality')}")
    emit(df, fmt, title=f"Specificities by {by}")


def _class_objects(prof, n_words: int) -> list[dict]:
    objs = []
    for r in prof.sizes.itertuples(index=False):
        p = prof.profiles[prof.profiles["class"] == r[0]]
        objs.append({
            "class": int(r[0]), "segments": int(r.segments), "share": float(r.share), "interviews": int(r.interviews),
            "words": [{k: v for k, v in w.items() if k not in ("class", "kind")}
                      for w in p[p["kind"] == "word"].head(n_words).to_dict(orient="records")],
            "modalities": [{k: v for k, v in w.items() if k not in ("class", "kind")}
                           for w in p[p["kind"] == "modality"].to_dict(orient="records")],
            "shares": {by: {s.value: {"segments": int(s.segments), "share": float(s.share)}
                            for s in g.itertuples(index=False)}
                       for by, g in prof.shares[prof.shares["class"] == r[0]].groupby("by")},
            "segments_characteristic": prof.segments[prof.segments["class"] == r[0]].drop(columns="class")
            .to_dict(orient="records"),
        })
    return objs


@lexicon_app.command("classes")
def classes_cmd(
    k: Optional[int] = typer.Option(None, "--k", "-k", help="Number of classes (default: config lexicon.k)."),
    min_split_members: Optional[int] = typer.Option(None, "--min-split-members", help="Clusters with fewer "
                                                    "segments are not split (default: config, 10)."),
    min_segment_size: Optional[int] = typer.Option(None, "--min-segment-size", help="Merge consecutive segments "
                                                   "of an interview until they hold this many full words (0: no merge)."),
    min_docfreq: Optional[int] = typer.Option(None, "--min-docfreq", help="A full word enters the classification "
                                              "when it is in this many segments (default: 3)."),
    double: Optional[bool] = typer.Option(None, "--double/--simple", help="Double classification (rainette2: "
                                          "two classifications with minimum segment sizes lexicon.double_sizes, crossed)."),
    current: bool = typer.Option(False, "--current", help="Show the stored classification instead of computing one."),
    words: int = typer.Option(12, "--words", help="Profile words shown per class."),
    segments: int = typer.Option(3, "--segments", help="Characteristic segments per class (json)."),
    assignments: Optional[Path] = typer.Option(None, "--assignments", help="Write segment_id,class to this CSV "
                                               "(unclassified segments get an empty class)."),
    reveal: bool = RevealOpt,
    fmt: str = FormatOpt,
) -> None:
    """Reinert classes of the respondent segments (descending hierarchical classification,
    as IRaMuTeQ and rainette), stored as the project's current classes, with their profiles."""
    from ..lexicon import class_profiles, current_classes, fit_classes
    check_format(fmt)
    if assignments is not None:
        check_writable(assignments)      # before the classification (minutes on a large corpus)
    with require_project() as store:
        if current:
            run = current_classes(store)
        else:
            with progress("Lemmatising new segments (spaCy)", None) as adv:
                run = fit_classes(store, k=k, min_split_members=min_split_members, min_segment_size=min_segment_size,
                                  min_docfreq=min_docfreq, double=double, advance=adv)
        prof = class_profiles(store, run, n_words=max(words, 1), n_segments=segments, reveal=reveal)
    info(f"run {run.run_id}: {run.n_classes} classes, {prof.n_classified} of {prof.n_segments} respondent "
         f"segments classified ({prof.n_classified / max(prof.n_segments, 1):.1%})")
    if assignments is not None:
        frame = run.assignments.assign(**{"class": run.assignments["class"].astype("string").fillna("")})
        atomic_write(assignments, lambda tmp: to_csv(frame, tmp))
        info(f"{len(frame)} assignments -> {assignments}")
    if fmt == "json":
        sys.stdout.write(json.dumps({"run_id": run.run_id, "n_classes": run.n_classes, "params": run.params,
                                     "segments": prof.n_segments, "classified": prof.n_classified,
                                     "classes": _class_objects(prof, words)}, ensure_ascii=False, indent=2,
                                    default=str) + "\n")
    elif fmt == "csv":
        emit(prof.profiles, fmt)
    else:
        rows = []
        for o in _class_objects(prof, words):
            waves = o["shares"].get("wave", {})
            rows.append({"class": o["class"], "segments": o["segments"], "share": f"{o['share']:.1%}",
                         "words (chi2)": ", ".join(f"{w['term']} ({w['chi2']:.0f})" for w in o["words"]),
                         "modalities": ", ".join(m["term"] for m in o["modalities"][:5]),
                         "share of each wave": ", ".join(f"{w}: {v['share']:.0%}" for w, v in waves.items())})
        emit(pd.DataFrame(rows), fmt, title=f"Reinert classes ({run.run_id})", max_width=70)


@lexicon_app.command("crosstab")
def crosstab_cmd(fmt: str = FormatOpt) -> None:
    """Classes x BERTopic topics x codebook themes: segments in both, share of the class, signed
    chi-square (positive: the item is over-represented in the class)."""
    from ..lexicon import class_crosstab
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = class_crosstab(store)
    for note in df.attrs.get("notes", []):
        info(note)
    if df.empty:
        raise TextmineError(E.E006, detail="no theme codings and no topic model to cross the classes with",
                            fix="Run `textmine themes apply` and/or `textmine topics fit` first.")
    if fmt != "table":
        emit(df, fmt)
        return
    cell = df.assign(v=[f"{n} ({s:.0%}){'+' if c >= 3.84 else ''}" for n, s, c in
                        zip(df["n"], df["share_of_class"], df["chi2"])])
    piv = cell.pivot_table(index=["kind", "item", "label"], columns="class", values="v", aggfunc="first",
                           sort=False)     # the items in their order (topic:2 before topic:10)
    piv.columns = [f"class {c}" for c in piv.columns]
    emit(piv.reset_index(), fmt, title="Classes x topics x themes: segments (share of the class), + = chi2 > 3.84",
         max_width=40)


@lexicon_app.command("kwic")
def kwic_cmd(
    word: str = typer.Argument(..., help="A word (all forms of its lemma) or a phrase, e.g. démarche."),
    by: Optional[str] = typer.Option(None, "--by", help="Group lines by wave, role, territory, ... ."),
    width: int = typer.Option(60, "--width", help="Characters of context on each side."),
    form: bool = typer.Option(False, "--form", help="Match this surface form only, not every form of its lemma."),
    sort: str = typer.Option("right", "--sort", help="right (keyword then right context), left (left context, "
                             "nearest word first) or none (corpus order)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", help="At most this many lines."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the lines to a .csv or .xlsx file."),
    reveal: bool = RevealOpt,
    fmt: str = FormatOpt,
) -> None:
    """Concordance of a word in the respondent segments, each line with the reference back to the
    transcript of its keyword (file, line or timecode); pseudonymised unless --reveal."""
    from ..export.writer_xlsx import write_table_xlsx
    from ..lexicon import concordance
    from ..search import format_kwic
    check_format(fmt)
    suffix = output.suffix.lower() if output is not None else ""
    if output is not None and suffix not in (".csv", ".xlsx"):
        raise TextmineError(E.E604, path=output, detail=f"{suffix or '(none)'!r}; valid: .csv, .xlsx")
    if output is not None:
        check_writable(output)           # before the segments are lemmatised
    with require_project() as store:
        with progress("Lemmatising new segments (spaCy)", None) as adv:
            lines = concordance(store, word, by=by, width=width, form_only=form, sort=sort, reveal=reveal,
                                limit=limit, advance=adv)
    info(f"{lines.attrs.get('occurrences', len(lines))} occurrence(s) of {word!r} in "
         f"{lines.attrs.get('segments', 0)} segment(s)" + (f"; {len(lines)} shown" if limit else ""))
    if output is not None:
        prov = [("query", word), ("match", "form" if form else "lemma"), ("sort", sort),
                ("text", "real names (--reveal)" if reveal else "pseudonymised")]
        if suffix == ".xlsx":
            atomic_write(output, lambda tmp: write_table_xlsx(lines, tmp, sheet="concordance", widths=KWIC_WIDTHS,
                                                              wrap=("left", "right"), prov=prov))
        else:
            atomic_write(output, lambda tmp: to_csv(lines, tmp, bom=True))   # context may start with - or =
        info(f"{len(lines)} line(s) -> {output}")
        return
    if fmt != "table":
        emit(lines, fmt)
        return
    groups = lines.groupby(by, sort=False) if by else [(None, lines)]
    for g, part in groups:
        if g is not None:
            out.print(f"\n== {by} {g} ({len(part)})", highlight=False, markup=False)
        sys.stdout.write(format_kwic(part, width=width, ref=True) + "\n")
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.add_typer(lexicon_app, name="lexicon")
