"""The topic tables and the current topic model. This module is their ONE owner (the read side
and the writes): other modules, :mod:`.fit` and :mod:`.persist` included, go through the
functions below.

Tables (:data:`textmine.records.TABLES`): ``topic_models`` (one record per fitted model),
``topic_assignments`` (``records.TOPIC_ASSIGNMENT_COLUMNS``), ``topic_info`` (model_id, topic,
count, label, words JSON list, representative segment ids JSON list). kv
``topics.current_model`` (the current model's id, see :func:`current_model_id`) and
``topics.novelty.<model_id>`` (:func:`novelty_by_wave`).

Also: counts by wave/role/territory, quotes. Nothing here imports BERTopic.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd

from ..errors import E, TextmineError
from ..records import TABLES, TOPIC_ASSIGNMENT_COLUMNS, sort_waves

CURRENT_KEY = "topics.current_model"
NOVELTY_KEY = "topics.novelty."
INFO_COLUMNS = TABLES["topic_info"].names
BY_COLUMNS = {"wave": "wave", "role": "role", "territory": "territory",
              "structure_type": "structure_type", "interview": "interview_id"}


# ---------------------------------------------------------------------------- current model
def current_model_id(store, *, required: bool = True) -> str | None:
    """The current topic model's id (kv ``topics.current_model``, written by :func:`write_fit`;
    a ``{"model_id": ...}`` record is read too). Without one: E304 when ``required``, else None."""
    mid = store.get_kv(CURRENT_KEY)
    if isinstance(mid, dict):
        mid = mid.get("model_id")
    if not mid:
        if required:
            raise TextmineError(E.E304, path=store.root, detail="no topic model has been fitted yet")
        return None
    return str(mid)


def model_record(store, model_id: str) -> dict:
    df = store.read_frame("topic_models", where={"model_id": model_id})
    if df.empty:
        raise TextmineError(E.E304, path=store.root, detail=f"model {model_id} is not recorded")
    return df.iloc[0].to_dict()


def novelty_reference(store, model_id: str) -> dict | None:
    """The novelty threshold recorded at ``model_id``'s fit (kv ``topics.novelty.<model_id>``)."""
    return store.get_kv(NOVELTY_KEY + model_id)


def digest(store) -> str:
    """Fingerprint of the current model: its id, record, assignments and topic info
    (:meth:`Store.row_digest`); "none" without one."""
    mid = current_model_id(store, required=False)
    if mid is None:
        return "none"
    return "/".join([mid] + [store.row_digest(f"SELECT * FROM {t} WHERE model_id = ?", [mid]) if store.has_table(t)
                             else "-" for t in ("topic_models", "topic_assignments", "topic_info")])


# ---------------------------------------------------------------------------- writes
def _ensure_assignment_columns(store) -> None:
    """A store written before ``similarity`` existed gets the column (NULL for its old rows)."""
    if store.has_table("topic_assignments") and not store.has_column("topic_assignments", "similarity"):
        store.con.execute('ALTER TABLE topic_assignments ADD COLUMN similarity DOUBLE')


def write_fit(store, record: dict, assignments: pd.DataFrame, info: pd.DataFrame,
              novelty: dict | None = None) -> None:
    """Record a fitted model, its assignments and topic info, and make it current (one
    transaction). ``novelty``: the similarity below which a segment is far from its topic
    (kv ``topics.novelty.<model_id>``, see :func:`novelty_by_wave`)."""
    mid = record["model_id"]
    info = info.copy()
    info["words"] = info["words"].map(lambda w: json.dumps(list(w), ensure_ascii=False))
    info["representative_ids"] = info["representative_ids"].map(lambda w: json.dumps(list(w)))
    with store.transaction():
        _ensure_assignment_columns(store)
        store.write_frame("topic_models", pd.DataFrame([record]), delete_where={"model_id": mid})
        store.write_frame("topic_assignments", assignments[TOPIC_ASSIGNMENT_COLUMNS],
                          delete_where={"model_id": mid})
        store.write_frame("topic_info", info[INFO_COLUMNS], delete_where={"model_id": mid})
        if novelty is not None:
            store.set_kv(NOVELTY_KEY + mid, novelty)
        store.set_kv(CURRENT_KEY, mid)


def drop_orphans(store) -> int:
    """Delete topic assignments whose segment is no longer stored; returns how many."""
    if not store.has_table("topic_assignments"):
        return 0
    with store.transaction():
        n = store.con.execute("SELECT count(*) FROM topic_assignments WHERE segment_id NOT IN "
                              "(SELECT segment_id FROM segments)").fetchall()[0][0]
        if n:
            store.con.execute("DELETE FROM topic_assignments WHERE segment_id NOT IN (SELECT segment_id FROM segments)")
    return int(n)


def append_assignments(store, assignments: pd.DataFrame) -> None:
    """Add (or replace) assignments of segments to a model's topics."""
    if assignments.empty:
        return
    with store.transaction():
        _ensure_assignment_columns(store)
        for mid, part in assignments.groupby("model_id"):
            ids = pd.DataFrame({"segment_id": part["segment_id"]})
            store.con.register("_tm_ids", ids)
            try:
                store.con.execute("DELETE FROM topic_assignments WHERE model_id = ? AND segment_id IN "
                                  "(SELECT segment_id FROM _tm_ids)", [mid])
            finally:
                store.con.unregister("_tm_ids")
        store.write_frame("topic_assignments", assignments[TOPIC_ASSIGNMENT_COLUMNS])


# ---------------------------------------------------------------------------- reads
def read_info(store, model_id: str) -> pd.DataFrame:
    """``topic_info`` rows of ``model_id`` by topic, ``words`` and ``representative_ids`` decoded."""
    df = store.read_frame("topic_info", where={"model_id": model_id})
    if df.empty:
        return pd.DataFrame(columns=INFO_COLUMNS)
    df["words"] = df["words"].map(json.loads)
    df["representative_ids"] = df["representative_ids"].map(json.loads)
    return df.sort_values("topic").reset_index(drop=True)


def topic_labels(store, model_id: str, columns: Sequence[str] = ("topic", "label")) -> pd.DataFrame:
    """``columns`` of ``model_id``'s topics (no outliers), by topic; ``words`` stays JSON text.
    Empty without a ``topic_info`` table."""
    if not store.has_table("topic_info"):
        return pd.DataFrame(columns=list(columns))
    return store.query(f"SELECT {', '.join(columns)} FROM topic_info WHERE model_id = ? AND topic >= 0 ORDER BY topic",
                       [model_id])


def n_topics(store, model_id: str) -> int | None:
    """How many topics (outliers left out) ``model_id`` has in ``topic_info`` (None without the table)."""
    return len(topic_labels(store, model_id, ("topic",))) if store.has_table("topic_info") else None


def has_assignments(store) -> bool:
    """Whether the project has a ``topic_assignments`` table (a topic model was fitted)."""
    return store.has_table("topic_assignments")


def topic_rows(store, model_id: str, columns: Sequence[str] = ("segment_id", "topic"), *,
               arrow: bool = False) -> pd.DataFrame:
    """``columns`` of ``model_id``'s assignments to a topic (no outliers), in stored order; a
    ``similarity`` column missing from an old store reads as NULL. ``arrow``: read through
    :meth:`Store.query_arrow` (large projects). Empty without a ``topic_assignments`` table."""
    if not store.has_table("topic_assignments"):
        return pd.DataFrame(columns=list(columns))
    cols = ", ".join(store.column_or_null("topic_assignments", c) if c == "similarity" else c for c in columns)
    sql = f"SELECT {cols} FROM topic_assignments WHERE model_id = ? AND topic >= 0"
    return store.query_arrow(sql, [model_id]) if arrow else store.query(sql, [model_id])


def assigned_ids(store, model_id: str) -> set[str]:
    """Segments with an assignment (outliers included) to ``model_id``."""
    return set(store.query("SELECT segment_id FROM topic_assignments WHERE model_id = ?", [model_id])["segment_id"])


def topic_assignments(store, model_id: str | None = None) -> pd.DataFrame:
    """``segment_id, topic, similarity, probability`` of the current model (meanings:
    :data:`textmine.records.TOPIC_ASSIGNMENT_COLUMNS`)."""
    mid = model_id or current_model_id(store)
    sim = store.column_or_null("topic_assignments", "similarity")   # added at the next fit or apply
    return store.query(f"SELECT segment_id, topic, {sim}, probability FROM topic_assignments "
                       "WHERE model_id = ? ORDER BY segment_id", [mid])


def topics_table(store, model_id: str | None = None) -> pd.DataFrame:
    """``id, count, label, words`` (count from the current assignments, -1 = outliers)."""
    mid = model_id or current_model_id(store)
    info = read_info(store, mid)
    counts = store.query("SELECT topic, count(*) AS n FROM topic_assignments WHERE model_id = ? GROUP BY topic",
                         [mid]).set_index("topic")["n"]
    out = pd.DataFrame({"id": info["topic"].astype(int),
                        "count": info["topic"].map(lambda t: int(counts.get(t, 0))).astype(int),
                        "label": info["label"], "words": info["words"]})
    return out.sort_values("id").reset_index(drop=True)


def _assigned_segments(store, mid: str) -> pd.DataFrame:
    segs = store.segments_frame(roles="all")
    a = topic_assignments(store, mid)
    return segs.merge(a, on="segment_id", how="inner")


def topics_by(store, by: str, model_id: str | None = None) -> pd.DataFrame:
    """Segments per topic and group: ``topic, label, <by>, count, share, interviews``.

    ``share`` is the topic's share of the group's assigned segments; ``interviews`` is
    the number of distinct interviews behind the count (small cells are fragile).
    """
    if by not in BY_COLUMNS:
        raise TextmineError(E.E501, detail=f"{by!r}; valid: {', '.join(BY_COLUMNS)}")
    mid = model_id or current_model_id(store)
    col = BY_COLUMNS[by]
    # only the columns counted (no segment text: 100k segments in 0.1 s instead of 1 s)
    extra = "" if col == "interview_id" else f", {'s' if col == 'role' else 'i'}.{col}"
    df = store.query(f"""SELECT s.segment_id, s.interview_id{extra}, a.topic FROM topic_assignments a
                         JOIN segments s USING (segment_id) JOIN interviews i USING (interview_id)
                         WHERE a.model_id = ?""", [mid])
    df[col] = df[col].fillna("(inconnu)").astype(str)
    g = df.groupby(["topic", col]).agg(count=("segment_id", "size"), interviews=("interview_id", "nunique"))
    g = g.reset_index()
    totals = df.groupby(col)["segment_id"].size()
    g["share"] = g["count"] / g[col].map(totals)
    labels = read_info(store, mid).set_index("topic")["label"]
    g.insert(1, "label", g["topic"].map(labels))
    g = g.rename(columns={col: by})
    return g[["topic", "label", by, "count", "share", "interviews"]].sort_values(
        [by, "topic"]).reset_index(drop=True)


def topic_change(store, wave_a: str | None = None, wave_b: str | None = None,
                 model_id: str | None = None) -> pd.DataFrame:
    """Share of each topic in two waves (``share_a``, ``share_b``: proportions 0-1) and the
    difference ``delta_pts`` (``wave_b - wave_a``, in percentage points).

    Defaults: the first and the last wave (sorted). Needs a model whose assignments cover
    both waves (``topics.mode: apply`` assigns new waves with the existing model).
    """
    byw = topics_by(store, "wave", model_id)
    waves = sort_waves(byw["wave"].unique())
    if not waves:
        return pd.DataFrame(columns=["topic", "label", "share_a", "share_b", "delta_pts"])
    a, b = wave_a or waves[0], wave_b or waves[-1]
    for w in (a, b):
        if w not in waves:
            raise TextmineError(E.E502, detail=f"{w!r}; waves: {', '.join(waves)}")
    piv = byw.pivot_table(index=["topic", "label"], columns="wave", values="share", fill_value=0.0)
    out = pd.DataFrame({"share_a": piv[a], "share_b": piv[b]}).reset_index()
    out["delta_pts"] = (out["share_b"] - out["share_a"]) * 100
    out.attrs.update(wave_a=a, wave_b=b)
    return out.sort_values("delta_pts", key=abs, ascending=False).reset_index(drop=True)


def topic_quotes(store, topic_id: int, n: int = 5, model_id: str | None = None) -> pd.DataFrame:
    """The topic's representative segments (closest to its centroid) with their metadata.

    Columns: those of :meth:`Store.segments_frame` + ``topic``, ``similarity``, ``probability``, ``rank``.
    Display with :func:`textmine.attribution.display_text` (pseudonymised unless reveal).
    """
    mid = model_id or current_model_id(store)
    info = read_info(store, mid)
    row = info[info["topic"] == int(topic_id)]
    if row.empty:
        raise TextmineError(E.E305, detail=f"{topic_id} (model {mid}); ids: "
                            f"{', '.join(str(t) for t in info['topic'])}")
    ids = list(row.iloc[0]["representative_ids"])[:n]
    segs = _assigned_segments(store, mid)
    segs = segs[segs["segment_id"].isin(ids)].copy()
    segs["rank"] = segs["segment_id"].map({s: i + 1 for i, s in enumerate(ids)})
    return segs.sort_values("rank").reset_index(drop=True)


#: a wave not in the fit with more than this share of segments far from every topic: refit
NOVEL_SHARE = 0.15


def catch_all_topics(store, max_share: float | None = None, model_id: str | None = None) -> pd.DataFrame:
    """Topics holding more than ``max_share`` (config ``topics.max_share``) of a wave's
    segments, and more than twice an even share (a model of 4 topics is not flagged for
    holding 25 % each): ``topic, label, wave, share`` (their largest share), largest first.
    Such a topic often gathers what HDBSCAN could not separate; ``topics.split_large: true``
    (or ``topics fit --refit --split-large``) splits it at the next fit."""
    max_share = store.config.topics.max_share if max_share is None else max_share
    byw = topics_by(store, "wave", model_id)
    n_topics = max(int((byw["topic"].drop_duplicates() >= 0).sum()), 1)
    big = byw[(byw["topic"] >= 0) & (byw["share"] > max(max_share, 2 / n_topics))]
    if big.empty:
        return pd.DataFrame(columns=["topic", "label", "wave", "share"])
    big = big.sort_values("share", ascending=False).drop_duplicates("topic")
    return big[["topic", "label", "wave", "share"]].reset_index(drop=True)


def novelty_by_wave(store, model_id: str | None = None) -> pd.DataFrame:
    """Per wave: ``wave, n_segments, far_share, in_fit`` where ``far_share`` is the share of its
    segments less similar to their (nearest) topic than 95 % of the segments the model was
    fitted on. About 0.05 for the fitted waves; a later wave well above :data:`NOVEL_SHARE`
    talks about things the model has no topic for (refit with ``--refit-topics``). Empty for
    models fitted before this was recorded."""
    mid = model_id or current_model_id(store)
    ref = novelty_reference(store, mid)
    cols = ["wave", "n_segments", "far_share", "in_fit"]
    if not ref or ref.get("threshold") is None or not store.has_column("topic_assignments", "similarity"):
        return pd.DataFrame(columns=cols)
    df = store.query("SELECT i.wave, a.similarity FROM topic_assignments a JOIN segments s USING (segment_id) "
                     "JOIN interviews i USING (interview_id) WHERE a.model_id = ?", [mid])
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["wave"] = df["wave"].astype(str)
    df["far"] = df["similarity"].fillna(-1.0) < float(ref["threshold"])
    g = df.groupby("wave").agg(n_segments=("far", "size"), far_share=("far", "mean")).reset_index()
    g["in_fit"] = g["wave"].isin([str(w) for w in ref.get("waves", [])])
    order = {w: i for i, w in enumerate(sort_waves(g["wave"]))}
    return g.sort_values("wave", key=lambda c: c.map(order)).reset_index(drop=True)[cols]
