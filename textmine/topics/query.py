"""Read side: topic tables, assignments, counts by wave/role/territory, quotes."""
from __future__ import annotations

import pandas as pd

from ..errors import E, TextmineError
from ..records import sort_waves
from . import persist

BY_COLUMNS = {"wave": "wave", "role": "role", "territory": "territory",
              "structure_type": "structure_type", "interview": "interview_id"}


def topic_assignments(store, model_id: str | None = None) -> pd.DataFrame:
    """``segment_id, topic, similarity, probability`` of the current model (meanings:
    :data:`textmine.records.TOPIC_ASSIGNMENT_COLUMNS`)."""
    mid = model_id or persist.current_model_id(store)
    sim = store.column_or_null("topic_assignments", "similarity")   # added at the next fit or apply
    return store.query(f"SELECT segment_id, topic, {sim}, probability FROM topic_assignments "
                       "WHERE model_id = ? ORDER BY segment_id", [mid])


def topics_table(store, model_id: str | None = None) -> pd.DataFrame:
    """``id, count, label, words`` (count from the current assignments, -1 = outliers)."""
    mid = model_id or persist.current_model_id(store)
    info = persist.read_info(store, mid)
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
    mid = model_id or persist.current_model_id(store)
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
    labels = persist.read_info(store, mid).set_index("topic")["label"]
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
    mid = model_id or persist.current_model_id(store)
    info = persist.read_info(store, mid)
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
    mid = model_id or persist.current_model_id(store)
    ref = store.get_kv(persist.NOVELTY_KEY + mid)
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
