"""Load what tracking needs from a store: respondent segments + an indicator matrix.

Items are the *things tracked*: codebook themes (``theme``), posture sub-labels as
pseudo-themes (``posture:faire_avec`` ...) and topics of the current topic model
(``topic:3``). :func:`load_items` returns a :class:`TrackData` with one row per
respondent segment and one boolean column per item.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..calibrate import tables as cal_tables
from ..errors import E, TextmineError
from ..records import sort_waves
from ..store import Store, public_attrs
from ..themes import codings
from ..themes.codebook import load_codebook
from ..topics import query as topic_query

KINDS = ("theme", "posture", "topic")
#: interview/segment columns usable in ``by`` (plus any key of the interviews' ``attrs`` JSON)
BASE_ATTRS = ("wave", "role", "territory", "structure_type", "date", "respondent_id", "interview_id")
POSTURE_PREFIX = "posture:"
TOPIC_PREFIX = "topic:"


@dataclass
class TrackData:
    segments: pd.DataFrame            # respondent segments (+ metadata, + attrs keys as columns)
    items: list[str]                  # item ids, column order of ``X``
    kinds: list[str]                  # kind of each item
    labels: dict[str, str]            # item id -> human label
    X: np.ndarray                     # (n_segments, n_items) bool: segment carries the item
    scores: np.ndarray                # (n_segments, n_items) float: coding score (nan when absent)
    run_id: str | None = None
    topic_model: str | None = None
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict, repr=False)   # computed views (calibration), per TrackData
    withheld: list[str] = field(default_factory=list)   # metadata attributes not declared public (no --reveal)

    def waves(self) -> list[str]:
        return sort_waves(self.segments["wave"].dropna().astype(str).unique())


# ---------------------------------------------------------------------------- codebook
def theme_labels(store: Store) -> tuple[list[str], dict[str, str]]:
    """Codebook theme ids (in codebook order) and labels (also ``posture:<sublabel>`` labels);
    empty when no codebook loads (tracking then shows ids)."""
    try:
        cb = load_codebook(store.config.codebook_path(), compile_cues=False)     # ids and labels only
    except TextmineError:   # a codebook that does not load: tracking shows the stored ids
        return [], {}
    ids = [str(i) for i in getattr(cb, "ids", [])]
    labels: dict[str, str] = {}
    for t in getattr(cb, "themes", None) or []:
        labels[str(t.id)] = str(getattr(t, "label", t.id))
        for sid, sub in (getattr(t, "sublabels", None) or {}).items():
            labels[POSTURE_PREFIX + str(sid)] = str(getattr(sub, "label", sid))
    return ids, labels


# ---------------------------------------------------------------------------- loading
def expand_attrs(df: pd.DataFrame, reveal: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Add one column per key of the interviews' ``attrs`` JSON (never overriding a column):
    the keys the metadata sheet declared public, or every key with ``reveal``. Returns the frame
    and the keys withheld (they may hold names: see :mod:`textmine.ingest.metadata`)."""
    if "attrs" not in df.columns or df.empty:
        return df, []
    cols = ["interview_id", "attrs"] + (["attrs_public"] if "attrs_public" in df.columns else [])
    per_itv = df.drop_duplicates("interview_id")[cols]
    rows, withheld = [], set()
    for rec in per_itv.to_dict(orient="records"):
        d = public_attrs(rec.get("attrs"), rec.get("attrs_public"), reveal=reveal)
        withheld |= set(public_attrs(rec.get("attrs"), None, reveal=True)) - set(d)
        rows.append({"interview_id": rec["interview_id"],
                     **{k: (None if v is None else str(v)) for k, v in d.items() if not isinstance(v, (dict, list))}})
    extra = pd.DataFrame(rows)
    extra = extra[[c for c in extra.columns if c == "interview_id" or c not in df.columns]]
    if extra.shape[1] <= 1:
        return df, sorted(withheld)
    return df.merge(extra, on="interview_id", how="left"), sorted(withheld)


def valid_attributes(segments: pd.DataFrame) -> list[str]:
    extra = [c for c in segments.columns if c not in BASE_ATTRS and c not in _NON_ATTR]
    return list(BASE_ATTRS) + sorted(extra)


_NON_ATTR = {
    "segment_id", "turn_index", "seg_index", "speaker", "speaker_pseudo", "text_raw", "text", "text_pseudo",
    "n_words", "start", "end", "line", "char_start", "char_end", "prev_question", "source_file",
    "source_pseudo", "format", "attrs", "attrs_public",
}


def check_by(by: Sequence[str] | None, segments: pd.DataFrame, withheld: Sequence[str] = ()) -> list[str]:
    by = [b.strip() for b in (by or []) if b and b.strip()]
    valid = valid_attributes(segments)
    for b in by:
        if b in withheld and b not in valid:
            raise TextmineError(E.E501, detail=f"{b!r} is a metadata column the sheet did not declare public "
                                               "(it may hold names), so it is withheld",
                                fix=f"Rename its header to `public:{b}` in the metadata sheet and ingest again, "
                                    "or add --reveal (the output then holds that column's real values).")
        if b not in valid:
            raise TextmineError(E.E501, detail=f"{b!r}; valid attributes: {', '.join(valid)}")
    return list(dict.fromkeys(by))


def check_waves(waves: Iterable[str], available: Sequence[str]) -> None:
    for w in waves:
        if str(w) not in available:
            raise TextmineError(E.E502, detail=f"{w!r}; waves in this project: {', '.join(available) or '(none)'}")


def _topic_frames(store: Store) -> tuple[str | None, pd.DataFrame, dict[str, str]]:
    model = topic_query.current_model_id(store, required=False)
    if not model or not topic_query.has_assignments(store):
        return None, pd.DataFrame(), {}
    ta = topic_query.topic_rows(store, model, ("segment_id", "topic", "similarity"), arrow=True)
    ti = topic_query.topic_labels(store, model)
    labels = {f"{TOPIC_PREFIX}{int(t)}": str(lab or f"topic {int(t)}") for t, lab in zip(ti["topic"], ti["label"])}
    return model, ta, labels


def load_items(store: Store, *, kinds: Sequence[str] = KINDS, themes: Sequence[str] | None = None,
               require_codings: bool = True, reveal: bool = False, with_text: bool = True) -> TrackData:
    """Respondent segments with one indicator column per tracked item.

    ``with_text=False``: the segments without their text, speaker or source file (figures need
    none of them; quotes do).

    Raises E006 without segments, E407 without theme codings (when ``require_codings``
    and themes are asked for), E304 when only topics are asked for and no topic model
    exists, E403 for an unknown ``themes`` entry.
    """
    seg = store.segments_frame(roles="respondents", with_text=False, figures_only=not with_text)
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments in this project")
    seg["wave"] = seg["wave"].astype("string").astype(object)
    seg["n_words"] = pd.to_numeric(seg["n_words"], errors="coerce").fillna(0).astype(np.int64)
    seg, withheld = expand_attrs(seg, reveal)
    seg = seg.reset_index(drop=True)
    index = pd.Index(seg["segment_id"])
    items: list[str] = []
    kinds_out: list[str] = []
    labels: dict[str, str] = {}
    cols: list[np.ndarray] = []
    score_cols: list[np.ndarray] = []
    notes: list[str] = []
    n = len(seg)

    def add(item: str, kind: str, label: str, rows: np.ndarray, scores: np.ndarray | None) -> None:
        x = np.zeros(n, dtype=bool)
        s = np.full(n, np.nan)
        ok = rows >= 0
        x[rows[ok]] = True
        if scores is not None:
            s[rows[ok]] = scores[ok]
        items.append(item)
        kinds_out.append(kind)
        labels[item] = label
        cols.append(x)
        score_cols.append(s)

    run_id = None
    want_themes = "theme" in kinds or "posture" in kinds
    if want_themes:
        run_id = codings.current_run(store, required=False)
        if run_id is None:
            if require_codings:
                raise TextmineError(E.E407, path=store.root, detail="table theme_codings is empty or missing")
        else:
            tc = codings.assigned(store, run_id, arrow=True)
            order, cb_labels = theme_labels(store)
            present = [str(t) for t in tc["theme"].astype(str).unique()]     # in order of appearance
            all_ids = order + [t for t in sorted(present) if t not in order]
            rows_all = index.get_indexer(tc["segment_id"])          # one lookup for every coding
            if "theme" in kinds:
                score_all = tc["score"].to_numpy(dtype=float)
                by_theme = tc.groupby(tc["theme"].astype(str), sort=False).indices
                empty = np.zeros(0, dtype=np.int64)
                for t in all_ids:
                    pos = by_theme.get(t, empty)
                    add(t, "theme", cb_labels.get(t, t), rows_all[pos], score_all[pos])
            if "posture" in kinds and "posture" in tc:
                p = tc[tc["posture"].notna() & (tc["posture"].astype(str).str.strip() != "")]
                p = p.sort_values("score", ascending=False).drop_duplicates("segment_id")
                human = set(cal_tables.codes(store)["posture"].dropna().astype(str)) - {""}
                for lab in sorted(set(p["posture"].astype(str)) | human):   # a label only humans use: 0 for the coder
                    sub = p[p["posture"].astype(str) == lab]
                    add(POSTURE_PREFIX + lab, "posture",
                        "Posture : " + cb_labels.get(POSTURE_PREFIX + lab, lab.replace("_", " ")),
                        rows_all[sub.index.to_numpy()], sub["score"].to_numpy(dtype=float))
    topic_model = None
    if "topic" in kinds:
        topic_model, ta, tlabels = _topic_frames(store)
        if topic_model is None:
            if list(kinds) == ["topic"]:
                raise TextmineError(E.E304, path=store.root, detail="no current topic model (kv topics.current_model)")
            notes.append("no topic model: topics not tracked")
        else:
            rows_all = index.get_indexer(ta["segment_id"])          # one lookup for every assignment
            sim_all = ta["similarity"].to_numpy(dtype=float)
            by_topic = ta.groupby(ta["topic"].astype(int), sort=True).indices
            for t, pos in by_topic.items():
                item = f"{TOPIC_PREFIX}{t}"
                add(item, "topic", tlabels.get(item, f"topic {t}"), rows_all[pos], sim_all[pos])
    if themes:
        wanted = [str(t) for t in themes]
        unknown = [t for t in wanted if t not in items]
        if unknown:
            raise TextmineError(E.E403, detail=f"{', '.join(unknown)}; valid: {', '.join(items)}")
        keep = [items.index(t) for t in wanted]
        items = [items[i] for i in keep]
        kinds_out = [kinds_out[i] for i in keep]
        cols = [cols[i] for i in keep]
        score_cols = [score_cols[i] for i in keep]
    X = np.column_stack(cols) if cols else np.zeros((n, 0), dtype=bool)
    S = np.column_stack(score_cols) if score_cols else np.zeros((n, 0))
    return TrackData(seg, items, kinds_out, labels, X, S, run_id, topic_model, notes, withheld=withheld)
