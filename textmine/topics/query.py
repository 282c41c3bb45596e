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
    df = _assigned_segments(store, mid)
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
    """Share of each topic in two waves and the difference (``wave_b - wave_a``, in points).

    Defaults: the first and the last wave (sorted). Needs a model whose assignments cover
    both waves (``topics.mode: apply`` assigns new waves with the existing model).
    """
    byw = topics_by(store, "wave", model_id)
    waves = sort_waves(byw["wave"].unique())
    if not waves:
        return pd.DataFrame(columns=["topic", "label", "share_a", "share_b", "delta"])
    a, b = wave_a or waves[0], wave_b or waves[-1]
    for w in (a, b):
        if w not in waves:
            raise TextmineError(E.E502, detail=f"{w!r}; waves: {', '.join(waves)}")
    piv = byw.pivot_table(index=["topic", "label"], columns="wave", values="share", fill_value=0.0)
    out = pd.DataFrame({"share_a": piv[a], "share_b": piv[b]}).reset_index()
    out["delta"] = (out["share_b"] - out["share_a"]) * 100
    out.attrs.update(wave_a=a, wave_b=b)
    return out.sort_values("delta", key=abs, ascending=False).reset_index(drop=True)


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
