"""Drawing a calibration sample of a project (``textmine themes sample``).

The frame is the project's respondent segments of the chosen waves (or their interviews, with
``unit="interviews"``: every respondent segment of a drawn interview is to be coded). Strata are
``wave x role`` by default (any segment attribute can be added); each stratum gets its share of
``n`` per wave (at least 2 units, or all of a smaller stratum), or ``n_per_stratum`` units.

With ``oversample=K`` the segments the coder is least sure about (the top
``calibration.uncertain_share`` of each wave by the expected number of coding errors
``sum_t (assigned_t ? 1 - p_t : p_t)`` over themes, from the current coding's calibrated scores)
form strata of their own, drawn at ``K`` times the rate of the others. Every unit's inclusion
probability ``n_h / N_h`` is recorded, so the corrected estimates stay unbiased.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from ..export.sheet import PREFILL_COLUMN, prefill_note
from ..records import sort_waves
from ..store import Store
from ..themes.codebook import load_codebook
from ..themes.codings import scores as coding_scores
from ..track.data import check_by, check_waves
from . import tables
from .design import allocate, draw, inclusion_probabilities

UNITS = ("segments", "interviews")
UNCERTAIN, CERTAIN = "uncertain", "other"


@dataclass
class Drawn:
    meta: dict
    units: pd.DataFrame               # tables.UNIT_COLUMNS
    reused: bool = False
    notes: list[str] = field(default_factory=list)


def _frame(store: Store, waves: Sequence[str] | None) -> pd.DataFrame:
    seg = store.segments_frame(roles="respondents")
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments to sample from")
    seg["wave"] = seg["wave"].astype("string").astype(object)
    available = sort_waves(seg["wave"].dropna())
    if waves:
        check_waves([str(w) for w in waves], available)
        seg = seg[seg["wave"].isin([str(w) for w in waves])]
    return seg.reset_index(drop=True)


def expected_errors(store: Store, segment_ids: pd.Series) -> np.ndarray:
    """Per segment, the expected number of coding errors under the current coding's calibrated
    scores: ``sum over themes of (assigned ? 1 - score : score)`` (NaN when not coded)."""
    tc = coding_scores(store)
    s = tc["score"].astype(float).clip(0, 1)
    tc = tc.assign(err=np.where(tc["assigned"].astype(bool), 1 - s, s))
    per = tc.groupby("segment_id")["err"].sum()
    return segment_ids.map(per).to_numpy(dtype=float)


def _most_frequent(values: pd.Series):
    m = values.mode(dropna=False)
    return m.iloc[0] if len(m) else None


def _strata_keys(units: pd.DataFrame, strata: list[str]) -> pd.Series:
    return units[strata].astype(str).agg("|".join, axis=1)


def draw_sample(store: Store, *, unit: str = "segments", n: int | None = None, n_per_stratum: int | None = None,
                waves: Sequence[str] | None = None, strata: Sequence[str] = ("wave", "role"),
                seed: int | None = None, oversample: float | None = None, name: str | None = None) -> Drawn:
    """Draw (or, for an existing ``name`` with the same settings, find again) a sample."""
    if unit not in UNITS:
        raise TextmineError(E.E005, detail=f"--unit {unit!r}; valid: {', '.join(UNITS)}")
    if (n is None) == (n_per_stratum is None):
        raise TextmineError(E.E005, detail="the sample size: give --n N (per wave) or --n-per-stratum M, not both")
    size = n if n is not None else n_per_stratum
    if size is None or size < 1:
        raise TextmineError(E.E005, detail=f"the sample size {size}: at least 1")
    if oversample is not None and (oversample < 1 or unit != "segments"):
        raise TextmineError(E.E005, detail=f"--oversample-uncertain {oversample}: a factor >= 1, with --unit segments")
    seed = store.config.random_state if seed is None else int(seed)
    seg = _frame(store, waves)
    strata = list(dict.fromkeys(["wave", *[s for s in strata if s]]))
    check_by([s for s in strata if s != "wave"], seg)
    notes: list[str] = []
    if unit == "segments":
        frame = seg.assign(unit_id=seg["segment_id"])
    else:   # an interview's stratum values: its most frequent respondent role (metadata for the rest)
        frame = (seg.groupby("interview_id", sort=True)
                 .agg({c: _most_frequent for c in strata if c != "interview_id"}).reset_index())
        frame["unit_id"] = frame["interview_id"]
    frame = frame.sort_values("unit_id", kind="stable").reset_index(drop=True)
    key = _strata_keys(frame, strata)
    if oversample is not None:
        err = expected_errors(store, frame["segment_id"])
        if np.isnan(err).all():
            raise TextmineError(E.E407, path=store.root, detail="over-sampling uncertain segments needs the coder's "
                                                                "scores for these waves")
        share = store.config.calibration.uncertain_share
        band = np.full(len(frame), CERTAIN, dtype=object)
        for w, idx in frame.groupby("wave").indices.items():
            e = np.nan_to_num(err[idx], nan=-1.0)
            k = int(np.ceil(share * len(idx)))
            top = idx[np.argsort(-e, kind="stable")[:k]]
            band[top] = UNCERTAIN
        key = key + "|" + pd.Series(band, index=frame.index)
        strata = strata + ["uncertainty"]
    codes, names = pd.factorize(key, sort=True)
    sizes = np.bincount(codes, minlength=len(names))
    weights = np.array([oversample if str(k).endswith("|" + UNCERTAIN) else 1.0 for k in names]) \
        if oversample is not None else np.ones(len(names))
    if n_per_stratum is not None:
        n_h = np.minimum(sizes, int(n_per_stratum))
    else:
        n_h = np.zeros(len(names), dtype=np.int64)
        wave_of = np.array([str(k).split("|")[0] for k in names])
        for w in np.unique(wave_of):
            m = wave_of == w
            n_h[m] = allocate(sizes[m], int(n), weights[m])
    picked = draw(codes, n_h, np.random.default_rng(seed))
    pi = inclusion_probabilities(codes, sizes, n_h)
    params = {"n": n, "n_per_stratum": n_per_stratum, "oversample": oversample,
              "uncertain_share": store.config.calibration.uncertain_share if oversample else None,
              "strata_sizes": {str(k): {"N": int(N), "n": int(m)} for k, N, m in zip(names, sizes, n_h)}}
    waves_drawn = sort_waves(frame["wave"].dropna())
    codebook = load_codebook(store.config.codebook_path())
    meta = {"sample_id": name or tables.next_sample_id(store), "unit": unit, "strata": strata, "seed": seed,
            "created": tables.now(), "waves": waves_drawn, "params": params,
            "frames": tables.frame_fingerprints(seg), "project_id": tables.project_id(store),
            "codebook_hash": codebook.hash}
    chosen = frame[picked].assign(stratum=key[picked].values, inclusion_prob=pi[picked],
                                  n_stratum=sizes[codes[picked]], n_drawn=n_h[codes[picked]])
    if unit == "interviews":
        rows = seg.merge(chosen[["interview_id", "stratum", "inclusion_prob", "n_stratum", "n_drawn"]],
                         on="interview_id").assign(unit_id=lambda d: d["interview_id"])
    else:
        rows = seg.merge(chosen[["segment_id", "stratum", "inclusion_prob", "n_stratum", "n_drawn"]], on="segment_id")
        rows["unit_id"] = rows["segment_id"]
    rows = rows.assign(sample_id=meta["sample_id"], unit=unit, text_hash=rows["text"].map(tables.text_hash),
                       seed=seed, created=meta["created"])
    units = rows.reindex(columns=tables.UNIT_COLUMNS)
    existing = tables.samples(store)
    if name and name in set(existing["sample_id"]):
        return _reuse(store, meta, existing[existing["sample_id"] == name].iloc[0].to_dict(), notes)
    if not name:      # the same settings on the same segments draw the same units: that sample, not a copy
        for old in reversed(existing.to_dict("records")):
            if _same(old, meta):
                notes.append(f"sample {old['sample_id']!r} was drawn with these settings on these segments (the "
                             "same units): its sheet is written again (another --seed draws other units)")
                return Drawn(old, tables.units(store, [old["sample_id"]]), True, notes)
    coded = coded_waves(store)
    for w in waves_drawn:
        if w not in coded:
            notes.append(f"wave {w} is not coded by the machine yet (run `textmine themes apply` or `textmine run`): "
                         "its human codes will be stored, and used once it is")
    return Drawn(meta, units, False, notes)


def _same(old: dict, meta: dict) -> bool:
    """Drawn with the same settings on the same segments (so the same units)."""
    return all(old[k] == meta[k] for k in ("unit", "strata", "seed", "waves", "frames")) and \
        dict(old["params"]) == dict(meta["params"])


def _reuse(store: Store, meta: dict, old: dict, notes: list[str]) -> Drawn:
    """The same name drawn again with the same settings on the same segments is the same sample."""
    if not _same(old, meta):
        raise TextmineError(E.E409, path=store.root,
                            detail=f"a sample named {old['sample_id']!r} exists with other settings or on other segments",
                            fix="Choose another --name (or leave it out) to draw a new sample.")
    notes.append(f"sample {old['sample_id']!r} already drawn with these settings: its sheet is written again")
    return Drawn(old, tables.units(store, [old["sample_id"]]), True, notes)


def coded_waves(store: Store) -> set[str]:
    """Waves with at least one segment coded by the machine's current run."""
    ids = set(coding_scores(store)["segment_id"])
    seg = store.segments_frame(roles="respondents")
    return set(seg.loc[seg["segment_id"].isin(ids), "wave"].astype(str))


def save(store: Store, drawn: Drawn) -> None:
    if not drawn.reused:
        tables.project_id(store, create=True)
        drawn.meta["project_id"] = tables.project_id(store)
        tables.save_sample(store, drawn.meta, drawn.units)


def sheet_rows(store: Store, sample_id: str, reveal: bool = False, *, prefill: bool = True,
               coder: str | None = None) -> pd.DataFrame:
    """The coding sheet's rows: ``segment_id, interview_id, wave, role, text, themes, posture,
    prefilled`` (pseudonymised text unless ``reveal``), themes left empty. The interviews come in a
    random order (seeded by the sample's seed: the same sheet every time), each interview's segments in
    speech order: a sheet coded from the top and imported half-way is then a random part of the
    sample, as the estimator assumes (missing at random within a stratum), not the first
    interviews by name (a territory, a date ...).

    Pre-filled rows (``prefill``): a unit of this sample that one human coder already coded through
    another sample's sheet (nested samples share units), on the same text as now, and that this
    coder has not coded in this sample's own sheet, comes with that coder's code (their latest
    import) and its ``prefilled`` cell naming the coder and the sample (:func:`textmine.export.sheet.prefill_note`).
    Whose codes: ``coder``'s; without it, the one coder who has such codes (none when several
    have: a sheet never mixes two coders, and a second coder must code blind). The frame's
    ``attrs["prefill"]`` says what was done: ``coder``, ``n`` rows, ``from`` samples, ``coders``
    (who had codes to pre-fill with)."""
    u = tables.units(store, [sample_id])
    seg = store.segments_frame(roles="respondents")
    seg = seg[seg["segment_id"].isin(set(u["segment_id"]))]
    seed = pd.to_numeric(u["seed"], errors="coerce").dropna()
    itv = sorted(seg["interview_id"].astype(str).unique())
    rank = dict(zip(itv, np.random.default_rng([int(seed.iloc[0]) if len(seed) else 0, 7]).permutation(len(itv))))
    seg = (seg.assign(_rank=seg["interview_id"].astype(str).map(rank), _pos=np.arange(len(seg)))
           .sort_values(["_rank", "_pos"], kind="stable").drop(columns=["_rank", "_pos"]))
    text = seg["text"] if reveal else seg["text_pseudo"].fillna(seg["text"])
    out = pd.DataFrame({"segment_id": seg["segment_id"], "interview_id": seg["interview_id"],
                        "wave": seg["wave"].astype(str), "role": seg["role"], "text": text, "themes": "",
                        "posture": "", PREFILL_COLUMN: ""}).reset_index(drop=True)
    info = {"coder": None, "n": 0, "from": [], "coders": []}
    if prefill:
        current = dict(zip(seg["segment_id"], seg["text"].map(tables.text_hash)))
        drawn_on = dict(zip(u["segment_id"], u["text_hash"]))
        cod = tables.codes(store)
        cod = cod[cod["segment_id"].isin(set(current)) & (cod["segment_id"].map(current) == cod["text_hash"])
                  & (cod["segment_id"].map(drawn_on) == cod["text_hash"])]
        other = cod[tables.own_and_elsewhere(cod, sample_id)[1]]      # not what this sheet holds already
        info["coders"] = sorted(other["coder"].astype(str).unique())
        who = coder if coder is not None else (info["coders"][0] if len(info["coders"]) == 1 else None)
        got = tables.latest(store, other[other["coder"] == who]) if who is not None else other.iloc[:0]
        if len(got):
            got = got.set_index("segment_id")
            hit = out["segment_id"].isin(got.index)
            ids = out.loc[hit, "segment_id"]
            out.loc[hit, "themes"] = ids.map(got["themes"]).fillna("").astype(str).to_numpy()
            out.loc[hit, "posture"] = ids.map(got["posture"]).fillna("").astype(str).to_numpy()
            out.loc[hit, PREFILL_COLUMN] = [prefill_note(str(who), str(s)) for s in ids.map(got["sample_id"])]
            info.update(coder=who, n=int(hit.sum()), **{"from": sorted(set(got["sample_id"].astype(str)))})
    out.attrs["prefill"] = info
    return out
