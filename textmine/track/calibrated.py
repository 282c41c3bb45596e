"""Bias-corrected figures from a human calibration sample: design-based supervised learning.

For every respondent segment ``i`` the coder gives ``Ŷ_i`` (0/1 per item). A probability sample
(:mod:`textmine.calibrate`) with known inclusion probabilities ``π_i`` gives human codes ``Y_i``
for the sampled segments (``R_i = 1``). The pseudo-outcome

    Ỹ_i = Ŷ_i + R_i (Y_i − Ŷ_i) / π_i

has expectation ``Y_i`` over the draw whatever the coder's errors (Egami, Hinck, Stewart & Wei 2023;
prediction-powered inference, Angelopoulos et al. 2023). A group's corrected share is the ratio
``Σ w_i Ỹ_i / Σ w_i`` over its segments (``w = 1`` for the segments measure, the segment's words for
the words measure), so it is unbiased for the share of the human codes. Its 95 % interval and the
changes between waves come from the cluster bootstrap over interviews of :mod:`.bootstrap`, applied
to the per-interview sums of ``Ỹ``; a change's p-value is the bootstrap's (twice the smaller tail
share of ``Δ* ≤ 0`` and ``Δ* ≥ 0``), since the pseudo-outcomes of two waves need not be exchangeable.

The interviews measure (share of interviews mentioning an item) needs whole interviews coded (a
sample drawn with ``unit="interviews"``): per interview ``j`` (and cell),
``Ỹ_j = Ŷ_j + R_j (Y_j − Ŷ_j) / π_j`` where ``Ŷ_j``/``Y_j`` say whether the coder / the humans
found the item in any of its segments. A segment sample cannot correct it; such figures stay raw.

Which figures are corrected: themes and posture sub-labels (the things humans code), for the
segments and words measures from any sample, for the interviews measure from interview samples;
in a cell whose segments all belong to waves whose sample is usable and that holds at least
``calibration.min_coded`` coded units. Everything else (topics, uncovered waves, small cells) is
the raw coder output, labelled ``raw``.

A wave's sample is usable when its segments are still those it was drawn from (fingerprint) and
every stratum has at least one coded unit. Its coded units are those coded in its OWN sheet
(``calibration_codes.sample_id``): a wave uses the latest usable sample whose sheet was imported
there (or ``sample=``), so drawing a sample changes nothing until it is coded. A unit coded only
through another sample's sheet counts as uncoded: whether it was coded depends on that other
sample's design, not on a random part of this one. Sampled units left uncoded are treated as
missing at random within their stratum: the coded units' probabilities become
``π_i × coded_h / drawn_h``. The human code ``Y_i`` of a counted unit is read from the used
sample's own sheet too: a coder who coded the segment through another sample's sheet as well
(nested samples share units) counts with the code filed under this sample (the interviews measure
reads the sheet of the interview sample it uses).
Several coders: a segment's human code is the mean of its coders' codes in that sheet (two coders
who disagree give 0.5), or one coder's with ``coder=``. When the coder was trained on calibration codes
(``themes train --coded calibration:...``), ``Ŷ`` are its cross-fitted predictions (each from a
model that did not see the segment's interview's codes); without them nothing is corrected.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calibrate import tables
from ..errors import E, TextmineError
from ..store import Store
from ..themes import codings
from .data import POSTURE_PREFIX, TrackData

ESTIMATORS = ("auto", "calibrated", "raw")
CALIBRATED, RAW = "calibrated", "raw"
SEGMENT_MEASURES = ("segments", "words")
#: pseudo-disagreements added per stratum (Laplace: 1, and as many agreements) for the intervals
PSEUDO = 1.0


@dataclass
class Calibration:
    """Everything the estimator needs, aligned with a :class:`TrackData`'s segments and items."""
    yhat: np.ndarray                 # (n, T) coder predictions used here (cross-fitted when needed)
    human: list[np.ndarray]          # per coder (n, T) human codes (0 where not coded)
    coded_by: list[np.ndarray]       # per coder (n,) bool
    coded: np.ndarray                # (n,) bool: R_i, coded by a coder in use, in the wave's sample
    pi: np.ndarray                   # (n,) adjusted inclusion probability (segments measure), nan if none
    covered: np.ndarray              # (n,) bool: the segment's wave has a usable sample (segments, words)
    itv_coded: np.ndarray            # (n,) bool: its interview is wholly coded in an interview sample
    itv_pi: np.ndarray               # (n,) adjusted probability of its interview (interviews measure)
    itv_covered: np.ndarray          # (n,) bool
    item_ok: np.ndarray              # (T,) bool: humans code this item (themes, posture sub-labels)
    min_coded: int
    samples: dict[str, str] = field(default_factory=dict)       # wave -> sample (segments, words)
    itv_samples: dict[str, str] = field(default_factory=dict)   # wave -> sample (interviews)
    notes: list[str] = field(default_factory=list)
    sample_units: dict[str, str] = field(default_factory=dict)  # sample -> its unit (segments | interviews)
    #: per coder, the human codes and coded masks the interviews measure reads (the codes of the sheet of
    #: the interview sample it uses); None: the same as ``human``/``coded_by``
    itv_human: list[np.ndarray] | None = None
    itv_coded_by: list[np.ndarray] | None = None
    #: wave -> why its segments and words figures are raw (no usable sample chosen for it, nor said in
    #: ``notes``): shown with the figures of that wave only
    raw_waves: dict[str, str] = field(default_factory=dict)

    def subset(self, mask: np.ndarray) -> "Calibration":
        """The same view restricted to the segments of ``mask`` (e.g. two waves)."""
        cut = (lambda ms: None if ms is None else [m[mask] for m in ms])
        return Calibration(self.yhat[mask], [h[mask] for h in self.human], [c[mask] for c in self.coded_by],
                           self.coded[mask], self.pi[mask], self.covered[mask], self.itv_coded[mask],
                           self.itv_pi[mask], self.itv_covered[mask], self.item_ok, self.min_coded,
                           self.samples, self.itv_samples, self.notes, self.sample_units,
                           cut(self.itv_human), cut(self.itv_coded_by), self.raw_waves)

    def _itv_codes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(human, coded)`` per coder for the interviews measure."""
        return list(zip(self.human if self.itv_human is None else self.itv_human,
                        self.coded_by if self.itv_coded_by is None else self.itv_coded_by))

    def used(self, measure: str, waves=None) -> dict[str, str]:
        """``wave -> sample`` that corrects ``measure`` in each wave (of ``waves``, default all)."""
        m = self.samples if measure in SEGMENT_MEASURES else self.itv_samples
        return {w: s for w, s in m.items() if waves is None or w in set(waves)}

    @property
    def y(self) -> np.ndarray:
        """Segment-level human code: the mean over the coders who coded the segment."""
        num = sum(c[:, None] * h for c, h in zip(self.coded_by, self.human))
        den = sum(c.astype(float) for c in self.coded_by)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den[:, None] > 0, num / np.maximum(den, 1)[:, None], 0.0)

    def pseudo(self) -> np.ndarray:
        """``Ỹ`` per segment and item (``Ŷ`` where nothing is coded)."""
        return pseudo_outcomes(self.yhat, self.y, self.coded, self.pi)

    def cluster_terms(self, codes: np.ndarray, n_clusters: int, n_words: np.ndarray,
                      measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per cluster: corrected numerators (n_clusters x T), coded units, fully covered (bool)."""
        n = len(codes)
        if measure in SEGMENT_MEASURES:
            w = n_words.astype(float) if measure == "words" else np.ones(n)
            num = np.zeros((n_clusters, self.yhat.shape[1]))
            np.add.at(num, codes, w[:, None] * self.pseudo())
            n_coded = np.bincount(codes, weights=self.coded.astype(float), minlength=n_clusters)
            cov = np.bincount(codes, weights=(~self.covered).astype(float), minlength=n_clusters) == 0
            return num, n_coded, cov
        yhat_c, y_c, r, pi = self._interviews(codes, n_clusters)
        num = yhat_c + (r / pi)[:, None] * (y_c - yhat_c)
        cov = np.bincount(codes, weights=(~self.itv_covered).astype(float), minlength=n_clusters) == 0
        return num, r.astype(float), cov

    def _interviews(self, codes: np.ndarray, n_clusters: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The interviews measure's terms per cluster: ``(Ŷ, Y, R, π)``. ``Ŷ``/``Y``: did the coder /
        the humans find the item anywhere in the cluster (``Y`` averaged over the coders who coded
        all of it); ``R``: wholly coded; ``π``: its inclusion probability (1 when never drawn)."""
        T = self.yhat.shape[1]
        yhat_c = np.zeros((n_clusters, T))
        np.add.at(yhat_c, codes, self.yhat)
        yhat_c = (yhat_c > 0).astype(float)
        y_num, y_den = np.zeros((n_clusters, T)), np.zeros(n_clusters)
        for h, c in self._itv_codes():                # per coder: "any" over the cluster, if all of it is coded
            any_c = np.zeros((n_clusters, T))
            np.maximum.at(any_c, codes, h)
            full = np.bincount(codes, weights=(~c).astype(float), minlength=n_clusters) == 0
            y_num += full[:, None] * any_c
            y_den += full
        r = (np.bincount(codes, weights=(~self.itv_coded).astype(float), minlength=n_clusters) == 0) & (y_den > 0)
        first = np.full(n_clusters, -1)
        first[codes[::-1]] = np.arange(len(codes))[::-1]
        pi = np.where(first >= 0, np.nan_to_num(self.itv_pi, nan=1.0)[np.maximum(first, 0)], 1.0)
        y_c = np.where(y_den[:, None] > 0, y_num / np.maximum(y_den, 1)[:, None], 0.0)
        return yhat_c, y_c, r, pi

    def coded_units(self, codes: np.ndarray, n_clusters: int, n_words: np.ndarray,
                    measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The coded units behind the corrections: ``(cluster, d, weight, pi)`` with ``d = Y − Ŷ``
        (units x T). Segments for the segments and words measures (``weight``: 1 or words), the
        wholly coded interviews (clusters) for the interviews measure (``weight`` 1)."""
        if measure in SEGMENT_MEASURES:
            sel = self.coded
            w = n_words.astype(float)[sel] if measure == "words" else np.ones(int(sel.sum()))
            return codes[sel], (self.y - self.yhat)[sel], w, self.pi[sel]
        yhat_c, y_c, r, pi = self._interviews(codes, n_clusters)
        idx = np.flatnonzero(r)
        return idx, (y_c - yhat_c)[idx], np.ones(len(idx)), pi[idx]

    def use(self, n_coded: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """(T,) bool: correct this cell's items (clusters given by their terms)?"""
        ok = bool(cov.all()) and float(n_coded.sum()) >= self.min_coded
        return self.item_ok & ok


def few_errors_variance(units: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                        cidx: np.ndarray) -> np.ndarray:
    """(T,) variance to add to a cell's corrected total when its sample holds few disagreements.

    The bootstrap sees the correction's spread only through the disagreements (``Y ≠ Ŷ``) the
    sample holds: with none or a handful (a rare theme, a small cell, a sample of 10 to 30 units)
    it is far too narrow (coverage 0.15 to 0.92 in ``benchmarks/calibration_audit.py``). Within
    each group of coded units of the cell with the same probability ``π`` (a stratum), the
    disagreement rate ``k/n`` is replaced by Laplace's ``(k + 1)/(n + 2)``, as a Wilson or
    Agresti–Coull interval does for a proportion, and the difference of the Horvitz–Thompson
    variances ``Σ (1 − π)/π² (w d)²`` is added. It changes little once a group holds a dozen
    disagreements; it adds nothing where ``k/n`` is over one half.

    In a cell whose coded units all come from one interview the interview bootstrap has one
    interview to draw and sees no spread at all: the whole smoothed variance is added there (it
    gave corrected intervals of zero width)."""
    cl, d, w, pi = units
    T = d.shape[1] if d.ndim == 2 else 0
    add = np.zeros(T)
    m = np.isin(cl, cidx)
    if not m.any():
        return add
    blind = len(np.unique(cl[m])) < 2               # the bootstrap saw none of the disagreements' spread
    d, w, pi = d[m], w[m], pi[m]
    for p in np.unique(np.round(pi, 12)):
        g = np.isclose(pi, p, rtol=0, atol=1e-12)
        n = float(g.sum())
        k = (d[g] ** 2).sum(axis=0)                       # disagreements (fractional with several coders)
        seen = ((w[g, None] * d[g]) ** 2).sum(axis=0)
        smooth = float((w[g] ** 2).mean()) * n * (k + PSEUDO) / (n + 2.0 * PSEUDO)
        add += (1.0 - p) / p ** 2 * (smooth if blind else np.maximum(smooth - seen, 0.0))
    return add


def widen(reps: np.ndarray, extra_var: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates (n_boot x T) with independent normal noise of variance ``extra_var``
    added per column (the intervals and bootstrap p-values then carry that variance)."""
    sd = np.sqrt(np.maximum(np.nan_to_num(extra_var), 0.0))
    if not (sd > 0).any():
        return reps
    return reps + rng.standard_normal(reps.shape) * sd[None, :]


def pseudo_outcomes(yhat: np.ndarray, y: np.ndarray, coded: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``Ỹ = Ŷ + R (Y − Ŷ) / π`` row-wise (``R``: coded; ``Y`` and ``π`` are only read where coded)."""
    coded = np.asarray(coded, dtype=bool)
    w = np.where(coded, 1.0 / np.where(coded, pi, 1.0), 0.0)
    yhat = np.asarray(yhat, dtype=float)
    return yhat + w.reshape(-1, *([1] * (yhat.ndim - 1))) * (np.asarray(y, dtype=float) - yhat)


def check_estimator(estimator: str | None) -> str:
    est = estimator or "auto"
    if est not in ESTIMATORS:
        raise TextmineError(E.E005, detail=f"--estimator {est!r}; valid: calibrated, raw (default: calibrated "
                                           "when a sample covers the groups shown)")
    return est


def _crossfit(store: Store, data: TrackData, notes: list[str]) -> np.ndarray | None:
    """The coder's predictions for the estimator: its own (``data.X``), or its cross-fitted ones
    when it was trained on calibration codes (None: trained on them without cross-fitting)."""
    trained = (codings.current_run_record(store) or {}).get("calibration_samples")
    if not trained:
        return data.X.astype(float)
    cf = codings.crossfit_rows(store, data.run_id)
    if cf is None:
        notes.append(f"the coder was trained on calibration codes ({', '.join(trained)}) without cross-fitted "
                     "predictions: figures are raw (retrain with `themes train --coded calibration:...`, which "
                     "cross-fits, then `themes apply`)")
        return None
    if cf.empty:
        notes.append("no cross-fitted predictions for the current coding run: figures are raw")
        return None
    idx = pd.Index(data.segments["segment_id"])
    yhat = np.zeros(data.X.shape)
    col = {it: j for j, it in enumerate(data.items)}
    cf = cf[cf["assigned"].astype(bool)]
    rows = idx.get_indexer(cf["segment_id"])
    for r, theme, post in zip(rows, cf["theme"].astype(str), cf["posture"]):
        if r < 0:
            continue
        if theme in col:
            yhat[r, col[theme]] = 1.0
        if isinstance(post, str) and post and POSTURE_PREFIX + post in col:
            yhat[r, col[POSTURE_PREFIX + post]] = 1.0
    return yhat


def human_matrix(data: TrackData, codes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(n, T) human codes of one coder (``codes``: segment_id, themes ';'-joined, posture) aligned
    with ``data``'s segments and items, and the (n,) mask of the segments it codes."""
    idx = pd.Index(data.segments["segment_id"])
    col = {it: j for j, it in enumerate(data.items)}
    H = np.zeros(data.X.shape)
    coded = np.zeros(len(idx), dtype=bool)
    for r, ths, post in zip(idx.get_indexer(codes["segment_id"]), codes["themes"], codes["posture"]):
        if r < 0:
            continue
        coded[r] = True
        for t in str(ths or "").split(";"):
            if t in col:
                H[r, col[t]] = 1.0
        if isinstance(post, str) and post and POSTURE_PREFIX + post in col:
            H[r, col[POSTURE_PREFIX + post]] = 1.0
    return H, coded


def _rates(done: pd.Series, stratum: pd.Series) -> tuple[pd.Series, str | None]:
    """Share of each stratum's drawn units that were coded, and the first stratum with none."""
    rate = done.groupby(stratum).mean()
    empty = rate[rate == 0]
    return rate, (str(empty.index[0]) if len(empty) else None)


def adjusted_segments(u: pd.DataFrame, coded_ids: set[str]) -> tuple[pd.Series, str | None]:
    """``segment_id -> π_i × coded_h / drawn_h`` for the coded segments of one sample and wave
    (units missing at random within their stratum), and the first stratum without any code."""
    done = u["segment_id"].isin(coded_ids)
    rate, empty = _rates(done, u["stratum"])
    adj = (u["inclusion_prob"] * u["stratum"].map(rate)).set_axis(u["segment_id"])
    return adj[done.to_numpy()], empty


def adjusted_interviews(u: pd.DataFrame, coded_ids: set[str]) -> tuple[pd.Series, str | None]:
    """``interview_id -> π_j × done_h / drawn_h`` for the interviews of an interview sample whose
    every segment is coded, and the first stratum without such an interview."""
    per = (u.assign(done=u["segment_id"].isin(coded_ids)).groupby("interview_id")
           .agg(stratum=("stratum", "first"), pi=("inclusion_prob", "first"), done=("done", "all")))
    rate, empty = _rates(per["done"], per["stratum"])
    adj = per["pi"] * per["stratum"].map(rate)
    return adj[per["done"].to_numpy()], empty


def calibration(store: Store, data: TrackData, estimator: str | None = "auto", *, coder: str | None = None,
                sample: str | None = None) -> Calibration | None:
    """The calibration view of ``data`` (cached on it), or None for the raw estimator or when
    nothing was coded (``estimator="calibrated"`` then raises E409)."""
    est = check_estimator(estimator)
    if est == RAW:
        return None
    key = ("calibration", coder, sample)
    if key in data.cache:
        cal = data.cache[key]
    else:
        cal = data.cache[key] = _build(store, data, coder, sample)
    if cal is None and est == CALIBRATED:
        who = f"by coder {coder!r} " if coder else ""
        raise TextmineError(E.E409, path=store.root, detail=f"no human calibration codes {who}for these waves")
    return cal


def _build(store: Store, data: TrackData, coder: str | None, sample: str | None) -> Calibration | None:
    all_codes = tables.codes(store)
    if all_codes.empty or data.run_id is None:
        return None
    if coder is not None and coder not in set(all_codes["coder"]):
        raise TextmineError(E.E409, path=store.root, detail=f"no codes by coder {coder!r} (coders: "
                                                            f"{', '.join(tables.coders(store))})",
                            fix="Give --coder one of those names (`textmine themes samples` shows who coded "
                                "what), or leave --coder out to use every coder.")
    if sample is not None:
        tables.get_sample(store, sample)
    notes: list[str] = []
    n, T = data.X.shape
    item_ok = np.array([k in ("theme", "posture") for k in data.kinds], dtype=bool)
    use_codes = all_codes if coder is None else all_codes[all_codes["coder"] == coder]
    seg = data.segments
    current = store.respondent_texts()
    current_hash = dict(zip(current["segment_id"], current["text"].map(tables.text_hash)))
    use_codes = use_codes[use_codes["segment_id"].map(current_hash) == use_codes["text_hash"]]
    use_codes = use_codes.assign(sample_id=use_codes["sample_id"].astype(str))
    in_data = set(seg["segment_id"])
    # codes imported from each sample's own sheet (coders in use, current text): a sample counts only these
    own = {str(s): set(g["segment_id"]) & in_data for s, g in use_codes.groupby("sample_id", sort=False)}
    any_ids = set(use_codes["segment_id"]) & in_data
    prints = tables.frame_fingerprints(current)
    smp = tables.samples(store)
    units = tables.units(store)
    unit_of = dict(zip(smp["sample_id"].astype(str), smp["unit"].astype(str)))
    order = list(smp["sample_id"].astype(str))
    waves = seg["wave"].astype(str).to_numpy()
    pos = pd.Index(seg["segment_id"])
    itv_of = seg["interview_id"].to_numpy()
    pi, covered, coded = np.full(n, np.nan), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    itv_pi, itv_cov, itv_coded = np.full(n, np.nan), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    chosen: dict[str, str] = {}
    chosen_itv: dict[str, str] = {}
    machine = codings.machine_coded_waves(store, data.run_id)

    pending: dict[str, list[str]] = {}                          # sample -> waves it would correct once coded
    told: set[str] = set()                                      # waves whose raw figures a note explains
    waiting_in: dict[str, list[str]] = {}                       # wave -> samples drawn there, sheet not imported

    def note(text: str) -> None:
        if text not in notes:
            notes.append(text)

    for w in data.waves():
        if w not in machine:
            if any(w in ws for ws in smp["waves"]):
                notes.append(f"wave {w} is not coded by the machine yet (`textmine themes apply`): its figures are "
                             "raw until it is")
            told.add(w)
            continue
        has_w = np.array([w in ws for ws in smp["waves"]], dtype=bool)
        fresh = np.array([fr.get(w) == prints.get(w) for fr in smp["frames"]], dtype=bool)
        pool = smp[has_w & fresh & ((smp["sample_id"] == sample) if sample is not None else True)]
        in_wave = waves == w
        waiting: list[str] = []                                  # samples whose own sheet is not imported here
        for target, interviews in ((chosen, False), (chosen_itv, True)):
            for s in reversed(list(pool["sample_id"])):          # the latest sample whose own coding has started
                if interviews and unit_of.get(s) != "interviews":
                    continue
                u = units[(units["sample_id"] == s) & (units["wave"] == w)]
                mine = own.get(s, set())
                if not u["segment_id"].isin(mine).any():
                    if not interviews and s not in waiting:
                        waiting.append(s)
                    continue
                adj, empty = (adjusted_interviews if interviews else adjusted_segments)(u, mine)
                if empty is not None:
                    told.add(w)
                    note(f"wave {w}: stratum {empty!r} of sample {s} has no coded "
                         f"{'interview' if interviews else 'unit'} yet: not corrected from it")
                    continue
                other = int((u["segment_id"].isin(any_ids) & ~u["segment_id"].isin(mine)).sum())
                if other:
                    note(f"wave {w}: {other} segment(s) of sample {s} are coded only through other samples' "
                         f"sheets: they count as not coded in {s} (code {s}'s own sheet to use them)")
                target[w] = s
                if interviews:
                    done = np.isin(itv_of, adj.index.to_numpy()) & in_wave
                    itv_coded |= done
                    itv_pi[done] = pd.Series(itv_of[done]).map(adj).to_numpy()
                    itv_cov |= in_wave
                else:
                    p = pos.get_indexer(adj.index)
                    pi[p[p >= 0]] = adj.to_numpy()[p >= 0]
                    coded[p[p >= 0]] = True
                    covered |= in_wave
                break
        waiting_in[w] = waiting
        for s in waiting:
            used = chosen.get(w) or chosen_itv.get(w)
            if sample is not None or (used is not None and order.index(s) > order.index(used)):
                pending.setdefault(s, []).append(f"{w}: {used}" if used else w)
                told.add(w)
        if w not in chosen and (has_w & ~fresh).any():
            told.add(w)
            notes.append(f"wave {w}: its segments changed since sample {smp['sample_id'][has_w & ~fresh].iloc[-1]} "
                         "was drawn (re-ingest?): draw a new sample")
    for s, where in sorted(pending.items(), key=lambda kv: order.index(kv[0])):
        if sample is not None:
            notes.append(f"sample {s} (--sample) has no codes imported from its own sheet for wave(s) "
                         f"{', '.join(where)} yet (`textmine themes calibrate --coded SHEET`): not corrected from it")
        else:
            notes.append(f"sample {s} has no codes imported from its own sheet in wave(s) "
                         f"{', '.join(w.split(':')[0] for w in where)} yet: still corrected from the earlier sample "
                         f"({', '.join(where)}) until its sheet is imported")
    raw_waves: dict[str, str] = {}
    for w in data.waves():                # the other waves' figures are raw: say why, wave by wave
        if w in chosen or w in told:
            continue
        if sample is not None:
            raw_waves[w] = (f"wave {w}: sample {sample} (--sample) was not drawn in it: its figures are raw")
        elif coder is not None:
            raw_waves[w] = (f"wave {w}: no codes by {coder} imported from the sheet of a sample of this wave: "
                            "its figures are raw")
        elif waiting_in.get(w):
            raw_waves[w] = (f"wave {w}: no codes imported from the sheet of its sample(s) "
                            f"{', '.join(waiting_in[w])} yet (`textmine themes calibrate --coded SHEET`): its "
                            "figures are raw")
        else:
            raw_waves[w] = (f"wave {w}: no calibration sample drawn in it (`textmine themes sample --wave {w}`): "
                            "its figures are raw")
    if not chosen and not chosen_itv and not notes and not raw_waves:
        notes.append("no calibration sample with codes imported from its own sheet covers these waves")
    human, coded_by = _human(data, use_codes, chosen)
    itv_human, itv_coded_by = _human(data, use_codes, chosen_itv) if chosen_itv else (None, None)
    yhat = _crossfit(store, data, notes)
    if yhat is None:
        covered[:] = False
        itv_cov[:] = False
        yhat = data.X.astype(float)
    coded &= covered
    return Calibration(yhat, human, coded_by, coded, pi, covered, itv_coded & itv_cov, itv_pi, itv_cov, item_ok,
                       store.config.calibration.min_coded, chosen, chosen_itv, notes, unit_of, itv_human,
                       itv_coded_by, raw_waves)


def _human(data: TrackData, use_codes: pd.DataFrame, chosen: dict[str, str]) -> tuple[list, list]:
    """Per coder in use, the (n, T) human codes and (n,) coded mask read by the estimates: in each
    wave, the codes of the sheet of the sample ``chosen`` for it (a segment coded by one coder
    through two samples' sheets, possibly differently, counts with the sample's own code)."""
    wave_of = pd.Series(data.segments["wave"].astype(str).to_numpy(), index=data.segments["segment_id"])
    want = use_codes["segment_id"].map(wave_of).map(chosen)
    own = use_codes[use_codes["sample_id"] == want]
    human, coded_by = [], []
    for c in sorted(use_codes["coder"].unique()):
        H, m = human_matrix(data, own[own["coder"] == c])
        human.append(H)
        coded_by.append(m)
    return human, coded_by


def sample_attrs(cal: "Calibration | None", measure: str, corrected_waves, waves=None) -> dict:
    """The frame attributes saying which sample corrected which wave: only the waves with at least
    one corrected figure, from the samples that correct ``measure`` there (segment and interview
    samples are told apart by ``calibration_sample_units``). ``waves``: those the frame shows
    (default all): the notes say why each of them without a sample is raw, and
    ``calibration_uncovered`` lists them."""
    if cal is None:
        return {"calibration_notes": [], "calibration_samples": {}, "calibration_sample_units": {},
                "calibration_ready": False, "calibration_uncovered": []}
    avail = cal.used(measure)
    used = {w: s for w, s in avail.items() if w in set(corrected_waves)}
    shown = [w for w in cal.raw_waves if waves is None or w in set(waves)] if measure in SEGMENT_MEASURES else []
    return {"calibration_notes": list(cal.notes) + [cal.raw_waves[w] for w in shown], "calibration_samples": used,
            "calibration_sample_units": {s: cal.sample_units.get(s, "segments") for s in used.values()},
            "calibration_ready": bool(avail), "calibration_uncovered": shown}


def labels_for(use: np.ndarray) -> list[str]:
    return [CALIBRATED if u else RAW for u in use]


def boot_pvalue(reps: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value of "no change" per column of ``reps`` (replicates of Δ): twice
    the smaller share of replicates on either side of 0 (with the +1 of a Monte Carlo p-value)."""
    ok = np.isfinite(reps)
    B = ok.sum(axis=0)
    le = ((reps <= 0) & ok).sum(axis=0)
    ge = ((reps >= 0) & ok).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * np.minimum((1 + le) / (1 + B), (1 + ge) / (1 + B))
    return np.where(B > 0, np.minimum(p, 1.0), np.nan)
