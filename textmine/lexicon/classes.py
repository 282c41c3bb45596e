"""Reinert classes of a project's respondent segments: fit, store, profiles, cross-tabulation.

Tables (owned here): ``lexicon_class_runs`` (run_id, created_at, n_classes, k, params JSON,
tree JSON, n_segments, n_classified) and ``lexicon_classes`` (run_id, segment_id, class;
class NULL = unclassified); kv ``lexicon.current_classes`` names the current run, as
``topics.current_model`` does for topics. A run id hashes the parameters and the segments'
tokens, so the same classification of the same corpus keeps its id.

The matrix is the presence of full-word lemmas (:func:`textmine.lexicon.tokens.presence_matrix`)
in the segments of :meth:`Store.segments_frame` order (interview, turn, segment), so that
``min_segment_size`` merges consecutive segments of one interview.

Profiles, as IRaMuTeQ lists them: for each class, the words and the starred modalities
(``*vague_2023``, ``*role_conum``, ``*territoire_A``, ``*structure_association``) whose presence
in segments is most associated with the class (signed chi-square of the 2 x 2 table with
Yates' correction, positive = over-represented, with its p-value), the class's share of
every wave and role, and its characteristic segments (largest sum of the chi-squares of the
class's words they contain).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import chdtrc     # chi-square survival function, without importing scipy.stats (0.4 s)

from ..attribution import attribution, source_ref
from ..errors import E, TextmineError
from ..ingest.iramuteq import EXPORT_VARIABLES, modality, variable
from ..records import sort_waves, wave_key
from ..stats import yates_chi2
from ..store import Store
from ..track.data import load_items
from .tokens import load_tokens, presence_matrix

RUNS = "lexicon_class_runs"
CLASSES = "lexicon_classes"
KV_CURRENT = "lexicon.current_classes"
#: interview columns whose modalities enter the profiles (starred, as in IRaMuTeQ)
PROFILE_VARIABLES = tuple(p for p in EXPORT_VARIABLES if p[0] in ("wave", "role", "territory", "structure_type"))
SIGNIFICANT = 3.84            # chi-square of p = 0.05 with one degree of freedom


@dataclass
class ClassRun:
    """A stored (or just fitted) classification."""

    run_id: str
    params: dict
    n_classes: int
    assignments: pd.DataFrame         # segment_id, class (Int64; <NA> = unclassified)
    tree: dict                        # simple classification: splits and leaves; {} for a double one
    created_at: str = ""

    @property
    def sizes(self) -> pd.Series:
        return self.assignments["class"].value_counts().sort_index()


def class_labels(run: ClassRun) -> dict[int, str]:
    return {c: f"class_{c}" for c in range(1, run.n_classes + 1)}


def _run_id(params: dict, seg_ids: list[str], vocab: list[str], X: sp.csr_matrix) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    h.update("\x1f".join(seg_ids).encode())
    h.update("\x1f".join(vocab).encode())
    h.update(np.ascontiguousarray(X.indptr).tobytes())
    h.update(np.ascontiguousarray(X.indices).tobytes())
    return "reinert-" + h.hexdigest()[:12]


def _params(cfg, **kw) -> dict:
    out = {k: getattr(cfg, k) for k in ("k", "min_split_members", "min_segment_size", "min_docfreq", "cc_test",
                                        "tsj", "double")}
    out["double_sizes"] = list(cfg.double_sizes)
    out.update({k: v for k, v in kw.items() if v is not None})
    out["double_sizes"] = [int(x) for x in out["double_sizes"]]
    return out


def fit_classes(store: Store, *, k: int | None = None, min_split_members: int | None = None,
                min_segment_size: int | None = None, min_docfreq: int | None = None, double: bool | None = None,
                double_sizes: tuple[int, int] | None = None, allow_fewer: bool = False, save: bool = True,
                advance: Callable[[int], None] | None = None) -> ClassRun:
    """Classify the respondent segments into ``k`` classes (config ``lexicon`` for every
    parameter not given) and, with ``save``, store the run and make it current.

    E006 without segments, E803 when ``k`` classes cannot be reached (unless ``allow_fewer``:
    then the classes reached are kept; fewer than two is still E803).
    """
    from .reinert import ReinertClassifier, double_classification   # scikit-learn: only to classify
    cfg = store.config.lexicon
    p = _params(cfg, k=k, min_split_members=min_split_members, min_segment_size=min_segment_size,
                min_docfreq=min_docfreq, double=double, double_sizes=double_sizes)
    p["random_state"] = store.config.random_state
    if int(p["k"]) < 2:
        raise TextmineError(E.E005, detail=f"--k {p['k']}: a classification has at least 2 classes")
    segs = store.segments_frame(roles="respondents")
    if segs.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments in this project")
    toks = load_tokens(store, segs, advance=advance)
    X, vocab = presence_matrix(toks, p["min_docfreq"])
    n_rows = int((X.getnnz(axis=1) > 0).sum())
    if int(p["k"]) > n_rows:
        raise TextmineError(E.E803, detail=f"--k {p['k']} is more than the {n_rows} segment(s) holding full words "
                                           f"(in at least {p['min_docfreq']} segments)")
    groups = segs["interview_id"].astype(str).to_numpy()

    def simple(min_size: int, min_split: int) -> ReinertClassifier:
        return ReinertClassifier(k=int(p["k"]), min_split_members=min_split, min_segment_size=min_size,
                                 cc_test=p["cc_test"], tsj=p["tsj"], random_state=p["random_state"]
                                 ).fit(X, groups=groups)

    if p["double"]:
        a = simple(p["double_sizes"][0], p["min_split_members"])
        b = simple(p["double_sizes"][1], p["min_split_members"])
        max_k = min(int(p["k"]), a.n_classes_, b.n_classes_)
        res = double_classification(a.tree_, b.tree_, len(segs), max_k=max_k, min_members=p["min_split_members"])
        reached = max(res.partitions, default=1)
        k_used = int(p["k"]) if int(p["k"]) in res.partitions else reached
        labels = res.partitions[k_used]["chi2"]["labels"] if k_used in res.partitions else np.zeros(len(segs), int)
        tree = {"double": True, "clusters": res.partitions[k_used]["chi2"]["clusters"] if k_used in res.partitions
                else [], "chi2": res.partitions.get(k_used, {}).get("chi2", {}).get("chi2")}
    else:
        m = simple(p["min_segment_size"], p["min_split_members"])
        reached = k_used = m.n_classes_
        labels = m.labels_
        tree = {"splits": [{"parent": s.parent, "children": list(s.children), "chi2": round(s.chi2, 4),
                            "sizes": list(s.sizes), "moves": s.moves} for s in m.tree_.splits[:k_used - 1]],
                "leaves": m.tree_.leaves.get(k_used, [0])}
    if reached < int(p["k"]) and (not allow_fewer or reached < 2):
        raise TextmineError(E.E803, detail=f"--k {p['k']}: the classification stopped at {reached} class(es) "
                                           f"({n_rows} segments with full words, {len(vocab)} words in at least "
                                           f"{p['min_docfreq']} segments)")
    seg_ids = segs["segment_id"].astype(str).tolist()
    assign = pd.DataFrame({"segment_id": seg_ids,
                           "class": pd.array([int(c) if c > 0 else None for c in labels], dtype="Int64")})
    run = ClassRun(_run_id(p, seg_ids, vocab, X), p, int(k_used), assign, tree,
                   _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    if save:
        save_run(store, run, n_segments=len(segs))
    return run


def save_run(store: Store, run: ClassRun, *, n_segments: int) -> None:
    """Store a run (replacing one with the same id) and make it current, in one transaction."""
    record = pd.DataFrame([{"run_id": run.run_id, "created_at": run.created_at, "n_classes": run.n_classes,
                            "k": int(run.params["k"]), "params": json.dumps(run.params, sort_keys=True),
                            "tree": json.dumps(run.tree), "n_segments": int(n_segments),
                            "n_classified": int(run.assignments["class"].notna().sum())}])
    rows = run.assignments.assign(run_id=run.run_id)[["run_id", "segment_id", "class"]]
    rows["class"] = rows["class"].astype("Int32")
    with store.transaction():
        store.write_frame(RUNS, record, delete_where={"run_id": run.run_id})
        store.write_frame(CLASSES, rows, delete_where={"run_id": run.run_id})
        store.set_kv(KV_CURRENT, run.run_id)


def current_classes(store: Store, *, required: bool = True) -> ClassRun | None:
    """The current stored run (E804 when there is none and ``required``)."""
    rid = store.get_kv(KV_CURRENT)
    rec = store.read_frame(RUNS, where={"run_id": rid}) if rid and store.has_table(RUNS) else pd.DataFrame()
    if rec.empty:
        if required:
            raise TextmineError(E.E804, path=store.root, detail="no run recorded (kv lexicon.current_classes)")
        return None
    r = rec.iloc[0]
    assign = store.query(f'SELECT segment_id, "class" FROM {CLASSES} WHERE run_id = ? ORDER BY segment_id', [rid])
    assign["class"] = assign["class"].astype("Int64")
    return ClassRun(str(rid), json.loads(r["params"]), int(r["n_classes"]), assign, json.loads(r["tree"]),
                    str(r["created_at"]))


# --------------------------------------------------------------------------- profiles
def association(members: np.ndarray, B: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each column of the binary ``B`` (segments x terms): segments of the class with the
    term, segments with the term, and the signed chi-square of the class x term table."""
    n = B.shape[0]
    in_class = np.asarray(B[members].sum(axis=0)).ravel().astype(np.int64)
    total = np.asarray(B.sum(axis=0)).ravel().astype(np.int64)
    chi = yates_chi2(in_class, np.full_like(total, int(members.sum())), total, n)
    return in_class, total, chi


def _modality_matrix(seg: pd.DataFrame) -> tuple[sp.csr_matrix, list[str]]:
    names: list[str] = []
    cols: list[np.ndarray] = []
    for col, var in PROFILE_VARIABLES:
        if col not in seg:
            continue
        vals = seg[col].map(lambda v: modality(v) if v is not None and v == v and str(v).strip() else "")
        for m in sorted(set(vals) - {""}, key=wave_key):
            names.append(f"*{variable(var)}_{m}")
            cols.append((vals == m).to_numpy())
    if not cols:
        return sp.csr_matrix((len(seg), 0), dtype=np.int8), []
    return sp.csr_matrix(np.column_stack(cols).astype(np.int8)), names


def _profile_rows(cls: int, kind: str, names: list[str], a, tot, chi, n: int) -> list[tuple]:
    keep = np.flatnonzero((chi >= SIGNIFICANT) & (a > 0))
    keep = sorted(keep, key=lambda j: (-chi[j], names[j]))[:n]
    return [(cls, kind, names[j], int(a[j]), int(tot[j]), round(100.0 * a[j] / tot[j], 1), round(float(chi[j]), 2),
             float(chdtrc(1, chi[j]))) for j in keep]


@dataclass
class ClassProfiles:
    """Everything a class report shows (see the module docstring)."""

    run: ClassRun
    sizes: pd.DataFrame        # class, label, segments, share, interviews
    profiles: pd.DataFrame     # class, kind (word | modality), term, n_class, n_total, pct, chi2, p
    shares: pd.DataFrame       # class, by (wave | role), value, segments, share (of that value's classified segments)
    segments: pd.DataFrame     # class, rank, segment_id, score, text, attribution, source
    n_segments: int
    n_classified: int


def class_profiles(store: Store, run: ClassRun | None = None, *, n_words: int = 20, n_modalities: int = 10,
                   n_segments: int = 3, reveal: bool = False, update: bool = True) -> ClassProfiles:
    """Sizes, chi-square profiles, shares per wave and role, characteristic segments."""
    run = run or current_classes(store)
    seg = store.segments_frame(roles="respondents")
    cls = seg["segment_id"].map(run.assignments.set_index("segment_id")["class"])
    classified = cls.notna().to_numpy()
    seg = seg[classified].reset_index(drop=True)
    labels = cls[classified].astype(int).to_numpy()
    if seg.empty:
        raise TextmineError(E.E804, path=store.root, detail=f"run {run.run_id} classifies none of the current segments")
    toks = load_tokens(store, seg, update=update)
    B, vocab = presence_matrix(toks, int(run.params.get("min_docfreq", 3)))
    Mm, mods = _modality_matrix(seg)
    n = len(seg)
    size_rows, prof, seg_rows = [], [], []
    for c in range(1, run.n_classes + 1):
        members = labels == c
        size_rows.append((c, f"class_{c}", int(members.sum()), float(members.mean()),
                          int(seg.loc[members, "interview_id"].nunique())))
        a, tot, chi = association(members, B)
        words = _profile_rows(c, "word", vocab, a, tot, chi, n_words)
        prof += words
        if Mm.shape[1]:
            prof += _profile_rows(c, "modality", mods, *association(members, Mm), n_modalities)
        weight = np.zeros(len(vocab))
        for w in words:
            weight[vocab.index(w[2])] = w[6]
        score = np.asarray(B @ weight).ravel()
        idx = np.flatnonzero(members & (score > 0))
        for rank, i in enumerate(sorted(idx, key=lambda i: (-score[i], seg.at[i, "segment_id"]))[:n_segments], 1):
            r = seg.iloc[i].to_dict()
            seg_rows.append((c, rank, r["segment_id"], round(float(score[i]), 2),
                             str(r["text"] if reveal else r["text_pseudo"] or ""), attribution(r), source_ref(r, reveal)))
    share_rows = []
    for by in ("wave", "role"):
        vals = seg[by].fillna("(inconnu)").astype(str)
        order = sort_waves(vals) if by == "wave" else sorted(set(vals))
        for v in order:
            in_v = (vals == v).to_numpy()
            for c in range(1, run.n_classes + 1):
                k = int((in_v & (labels == c)).sum())
                share_rows.append((c, by, v, k, k / max(int(in_v.sum()), 1)))
    return ClassProfiles(
        run,
        pd.DataFrame(size_rows, columns=["class", "label", "segments", "share", "interviews"]),
        pd.DataFrame(prof, columns=["class", "kind", "term", "n_class", "n_total", "pct", "chi2", "p"]),
        pd.DataFrame(share_rows, columns=["class", "by", "value", "segments", "share"]),
        pd.DataFrame(seg_rows, columns=["class", "rank", "segment_id", "score", "text", "attribution", "source"]),
        int(len(cls)), int(n))


def class_crosstab(store: Store, run: ClassRun | None = None) -> pd.DataFrame:
    """Classes x topics of the current topic model and x codebook themes (and posture
    sub-labels), over the classified respondent segments: ``class, kind, item, label, n,
    class_size, item_size, share_of_class, share_of_item, chi2`` (signed, Yates)."""
    run = run or current_classes(store)
    data = load_items(store, kinds=("theme", "posture", "topic"), require_codings=False)
    cls = data.segments["segment_id"].map(run.assignments.set_index("segment_id")["class"])
    ok = cls.notna().to_numpy()
    labels = cls[ok].astype(int).to_numpy()
    X = data.X[ok]
    n = int(ok.sum())
    rows = []
    item_size = X.sum(axis=0)
    for c in range(1, run.n_classes + 1):
        members = labels == c
        nc = int(members.sum())
        both = X[members].sum(axis=0)
        chi = yates_chi2(both, np.full(len(data.items), nc), item_size, n) if len(data.items) else []
        for j, item in enumerate(data.items):
            rows.append((c, data.kinds[j], item, data.labels.get(item, item), int(both[j]), nc, int(item_size[j]),
                         both[j] / nc if nc else 0.0, both[j] / item_size[j] if item_size[j] else 0.0,
                         round(float(chi[j]), 2)))
    out = pd.DataFrame(rows, columns=["class", "kind", "item", "label", "n", "class_size", "item_size",
                                      "share_of_class", "share_of_item", "chi2"])
    out.attrs["notes"] = list(data.notes)
    return out
