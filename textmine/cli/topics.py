"""`textmine embed` and the `textmine topics ...` sub-app."""
from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from ..attribution import attribution, display_text, source_ref
from .common import (FormatOpt, RevealOpt, check_format, emit, human_table, info, progress, require_project,
                     stage_progress)

topics_app = typer.Typer(help="BERTopic topic models of respondent segments (per wave, role, territory).",
                         no_args_is_help=True)


def embed_cmd(
    encoder: Optional[str] = typer.Option(None, "--encoder", "-e", help="e5-small, use-multilingual, "
                                          "sentence-transformers:<folder> or model2vec:<folder> (default: config)."),
    all_roles: bool = typer.Option(False, "--all", help="Embed every segment, interviewer turns included."),
) -> None:
    """Embed segments through the project's cache (only new texts are encoded)."""
    from ..topics.segments import embed_segments
    with require_project() as store, stage_progress("embedding") as bar:
        rep = embed_segments(store, encoder=encoder, roles="all" if all_roles else None, **bar)
        info(f"{rep.n_segments} segments ({rep.n_unique} distinct texts) with {rep.encoder}: "
             f"{rep.n_new} new, {rep.n_cached} cached")


@topics_app.command("fit")
def fit_cmd(
    refit: bool = typer.Option(False, "--refit", help="Fit a new model even when config topics.mode is "
                               "'apply' and a model exists."),
    encoder: Optional[str] = typer.Option(None, "--encoder", "-e", help="Encoder (default: config embed.encoder)."),
    split_large: Optional[bool] = typer.Option(None, "--split-large/--no-split-large",
                                               help="Split topics holding more than topics.max_share of the "
                                                    "segments (default: config topics.split_large)."),
    fmt: str = FormatOpt,
) -> None:
    """Fit topics on the segments (embeddings computed if missing), or apply the current model."""
    from ..topics import fit_topics
    check_format(fmt)
    with require_project() as store:
        do_refit = refit or store.config.topics.mode == "refit"
        with progress("embedding + topics", None) as adv:
            res = fit_topics(store, encoder=encoder, refit=do_refit, advance=adv, split_large=split_large)
        if res.refit:
            info(f"model {res.model_id}: {res.n_topics} topics on {res.n_docs} segments "
                 f"(min_cluster_size {res.min_cluster_size}); outliers {res.outlier_share_before:.1%} "
                 f"-> {res.outlier_share:.1%} after reduction")
        else:
            info(f"applied current model {res.model_id} to {res.applied} new segments "
                 "(config topics.mode = apply; pass --refit to fit a new model)")
        for line in topic_notes(store):
            info(line)
        emit([{"model_id": res.model_id, "n_topics": res.n_topics, "n_docs": res.n_docs,
               "outlier_share": res.outlier_share, "outlier_share_before": res.outlier_share_before,
               "min_cluster_size": res.min_cluster_size, "applied": res.applied, "refit": res.refit}], fmt)


@topics_app.command("apply")
def apply_cmd(fmt: str = FormatOpt) -> None:
    """Assign segments not yet assigned (e.g. a new wave) with the current model."""
    from ..topics import apply_topics, current_model_id
    check_format(fmt)
    with require_project() as store:
        mid = current_model_id(store)
        n = apply_topics(store)
        info(f"model {mid}: {n} new segments assigned")
        for line in topic_notes(store):
            info(line)
        emit([{"model_id": mid, "assigned": n}], fmt)


@topics_app.command("list")
def list_cmd(fmt: str = FormatOpt) -> None:
    """Topics of the current model: id (-1 = outliers), count, label, words (best first)."""
    from ..topics import topics_table
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = topics_table(store)
        notes = topic_notes(store)
    if fmt != "json":
        df = df.assign(words=df["words"].map(lambda w: ", ".join(w)))
    emit(df, fmt, title="Topics")
    for line in notes:
        info(line)


def topic_notes(store, waves: Optional[list[str]] = None) -> list[str]:
    """What a researcher should know about the current topics: catch-all topics (above
    topics.max_share of a wave) and waves far from every topic (with the remedy)."""
    from ..topics import catch_all_topics, novelty_by_wave
    from ..topics.query import NOVEL_SHARE, current_model_id
    cfg = store.config.topics
    lines = []
    if current_model_id(store, required=False) is None:       # a first wave too small for topics
        return lines
    for r in catch_all_topics(store).itertuples():
        lines.append(f"topic {r.topic} ({r.label}) holds {r.share:.1%} of wave {r.wave}'s segments (more than "
                     f"topics.max_share {cfg.max_share:.0%}): it may gather several subjects; split it with "
                     "`textmine topics fit --refit --split-large` (or topics.split_large: true)")
    nov = novelty_by_wave(store)
    for r in nov[~nov["in_fit"]].itertuples() if len(nov) else []:
        if waves is not None and r.wave not in waves:
            continue
        if r.far_share > NOVEL_SHARE:
            lines.append(f"wave {r.wave}: {r.far_share:.0%} of its {r.n_segments} segments are far from every topic "
                         f"(about 5 % in the waves the model was fitted on): the model has no topic for part of "
                         "what it says; refit on all waves with `textmine run ... --refit-topics` "
                         "(or `textmine topics fit --refit`)")
    return lines


@topics_app.command("show")
def show_cmd(
    topic_id: int = typer.Argument(..., help="Topic id (see `topics list`)."),
    n: int = typer.Option(5, "--n", "-n", help="Number of representative quotes."),
    reveal: bool = RevealOpt,
    fmt: str = FormatOpt,
) -> None:
    """Top words and representative quotes of one topic (pseudonymised unless --reveal)."""
    from ..topics import topic_quotes, topics_table
    check_format(fmt)
    with require_project(read_only=True) as store:
        table = topics_table(store)
        quotes = topic_quotes(store, topic_id, n=n)
    row = table[table["id"] == topic_id].iloc[0]
    qs = [{"rank": int(r["rank"]), "segment_id": r["segment_id"], "text": display_text(r, reveal),
           "attribution": attribution(r), "source": source_ref(r, reveal)}
          for r in quotes.to_dict(orient="records")]
    if fmt == "json":
        obj = {"id": int(row["id"]), "count": int(row["count"]), "label": row["label"],
               "words": list(row["words"]), "quotes": qs}
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "csv":
        emit(qs, fmt)
        return
    from .common import out
    out.print(f"Topic {int(row['id'])} — {row['label']} ({int(row['count'])} segments)", highlight=False, markup=False)
    out.print("Mots : " + ", ".join(row["words"]), highlight=False, markup=False)
    for q in qs:
        out.print(f"\n{q['rank']}. « {q['text']} »\n   {q['attribution']} — {q['source']} [{q['segment_id']}]",
                  highlight=False, markup=False)


@topics_app.command("by")
def by_cmd(
    attribute: Optional[str] = typer.Argument(None, help="wave, role, territory, structure_type or interview "
                                                         "(or --by; default: wave)."),
    by: Optional[str] = typer.Option(None, "--by", help="wave, role, territory, structure_type or interview."),
    fmt: str = FormatOpt,
) -> None:
    """Segments per topic and wave/role/territory, with the topic's share of each group."""
    from ..errors import E, TextmineError
    from ..topics import topics_by
    if attribute and by and attribute != by:
        raise TextmineError(E.E005, detail=f"`topics by {attribute} --by {by}`: two attributes; give one")
    by = attribute or by or "wave"
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = topics_by(store, by)
    emit(human_table(df) if fmt == "table" else df, fmt, title=f"Topics by {by}")


@topics_app.command("change")
def change_cmd(
    wave_a: Optional[str] = typer.Option(None, "--from", help="First wave (default: the earliest)."),
    wave_b: Optional[str] = typer.Option(None, "--to", help="Second wave (default: the latest)."),
    fmt: str = FormatOpt,
) -> None:
    """Change of each topic's share between two waves (percentage points)."""
    from ..topics import topic_change
    check_format(fmt)
    with require_project(read_only=True) as store:
        df = topic_change(store, wave_a, wave_b)
    if "wave_a" in df.attrs:
        info(f"share of each topic in wave {df.attrs['wave_a']} (share_a) vs {df.attrs['wave_b']} (share_b); "
             "delta in percentage points")
    emit(human_table(df) if fmt == "table" else df, fmt, title="Topic change between waves")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed_cmd)
    app.add_typer(topics_app, name="topics")
