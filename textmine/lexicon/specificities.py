"""Lafon's specificities (hypergeometric model), as TXM computes them.

For a word of total frequency ``F`` in a corpus of ``T`` word occurrences, its frequency
``f`` in a part of ``t`` occurrences is compared with the hypergeometric law of ``F`` draws
(Lafon 1980). TXM (R package ``textometry``, ``specificities``) scores it with the
probability of a deviation at least as large as the observed one, on the side of the
observation:

- over-use, ``f >= F t / T``: ``score = -log10 P(X >= f)`` (positive);
- under-use, ``f < F t / T``: ``score = log10 P(X <= f)`` (negative).

A score of +3 reads "a frequency this high has a 1 in 1,000 chance". Tails are computed in
log space (``scipy.stats.hypergeom.logsf`` / ``logcdf``), so extreme scores stay finite where
TXM's R code returns infinity. A word is *banal* in a part when ``|score|`` stays below the
banality threshold (TXM's default 2.0, ``lexicon.banality``); only specific (non-banal) words
are listed.

Part and corpus sizes count every word occurrence (stop words included), as TXM's lexical
tables do; stop words, fillers and words rarer than ``min_freq`` are only left out of the
lists. A partition is any interview attribute (``wave``, ``role``, ``territory``,
``structure_type``, a metadata column), ``theme:<id>`` (segments coded with the theme vs
not), ``topic`` (topics of the current model) or ``class`` (classes of the current Reinert
run). Segments outside every part (no topic, unclassified) are outside the corpus compared.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from ..records import wave_key
from ..store import Store
from ..track.data import check_by, load_items
from .classes import class_labels, current_classes
from .tokens import part_counts, reportable

COLUMNS = ["group", "word", "freq_part", "freq_total", "part_size", "corpus_size", "score"]
_LN10 = math.log(10.0)


def specificity_scores(freq: np.ndarray, part_sizes: np.ndarray) -> np.ndarray:
    """Signed specificity scores of a lexical table (words x parts), as TXM's ``specificities``.

    ``freq[i, j]`` is the frequency of word ``i`` in part ``j``; ``part_sizes[j]`` the number
    of word occurrences of part ``j`` (at least the column sum). Word totals are the row sums,
    the corpus size the sum of the part sizes.
    """
    from scipy.stats import hypergeom     # 0.4 s to import: only when scores are computed, not in every run
    f = np.asarray(freq, dtype=np.int64)
    t = np.broadcast_to(np.asarray(part_sizes, dtype=np.int64)[None, :], f.shape)
    F = np.broadcast_to(f.sum(axis=1, keepdims=True), f.shape)
    T = int(np.asarray(part_sizes).sum())
    over = f * T >= F * t                     # f >= F t / T, in exact integer arithmetic
    # sf / cdf are vectorised (Boost); the log-space versions loop in Python, so they are kept
    # for the tails too small for a double
    p = np.where(over, hypergeom.sf(f - 1, T, F, t), hypergeom.cdf(f, T, F, t))
    with np.errstate(divide="ignore"):
        score = np.where(over, -np.log10(p), np.log10(p))
    for i, j in zip(*np.nonzero(~(p > 1e-250))):
        args = (T, F[i, j], t[i, j])
        score[i, j] = (-hypergeom.logsf(f[i, j] - 1, *args) if over[i, j] else hypergeom.logcdf(f[i, j], *args)) / _LN10
    return score + 0.0                          # no negative zeros


def _natural(values) -> list[str]:
    return sorted({str(v) for v in values}, key=wave_key)


def partition(store: Store, by: str, segments: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Respondent segments (with metadata) and each one's part under ``by`` (None = outside).
    ``segments``: the respondent segments as :func:`load_items` gives them, when the caller has
    them already (the report): not read again for an attribute or ``class`` partition."""
    by = (by or "").strip()
    if by.startswith("theme:"):
        theme = by.split(":", 1)[1]
        data = load_items(store, kinds=("theme",), themes=[theme], with_text=False)
        labels = pd.Series(np.where(data.X[:, 0], "coded", "not_coded"), dtype=object)
        return data.segments, labels
    if by == "topic":
        data = load_items(store, kinds=("topic",), with_text=False)
        lab = np.full(len(data.segments), None, dtype=object)
        for j, item in enumerate(data.items):
            lab[data.X[:, j]] = item
        return data.segments, pd.Series(lab, dtype=object)
    seg = segments if segments is not None else load_items(store, kinds=(), require_codings=False,
                                                           with_text=False).segments
    if by == "class":
        run = current_classes(store)
        cls = run.assignments.set_index("segment_id")["class"]
        names = class_labels(run)
        lab = seg["segment_id"].map(cls).map(lambda c: names.get(int(c)) if pd.notna(c) else None)
        return seg, lab.astype(object)
    check_by([by], seg)
    return seg, seg[by].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                            or str(v).strip() == "" else str(v)).astype(object)


def specificities(store: Store, by: str = "wave", *, unit: str | None = None, min_freq: int | None = None,
                  top: int | None = None, banality: float | None = None, keep_stop: bool = False,
                  under: bool = True, advance: Callable[[int], None] | None = None,
                  segments: pd.DataFrame | None = None) -> pd.DataFrame:
    """The words each part of ``by`` over-uses (then under-uses), specific words only.

    Columns :data:`COLUMNS`; sizes in word occurrences; ``score`` signed (TXM). Per part, the
    ``top`` over-used words by decreasing score, then (``under``) the ``top`` under-used ones
    by increasing score; ``top=None`` lists them all. E801 when fewer than two parts exist.
    ``segments``: see :func:`partition`.
    """
    cfg = store.config.lexicon
    unit = unit or cfg.unit
    min_freq = cfg.min_freq if min_freq is None else int(min_freq)
    top = cfg.top if top is None else top
    banality = cfg.banality if banality is None else float(banality)
    seg, labels = partition(store, by, segments)
    inside = labels.notna().to_numpy()
    groups = _natural(labels[inside])
    if len(groups) < 2:
        raise TextmineError(E.E801, detail=f"--by {by} gives {len(groups)} group(s) "
                                           f"({', '.join(groups) or 'none'}) over {int(inside.sum())} segment(s)")
    code = pd.Categorical(labels[inside].astype(str), categories=groups).codes
    vocab, freq, sizes = part_counts(store, seg["segment_id"][inside].tolist(), code, len(groups), unit,
                                     advance=advance)
    total = freq.sum(axis=1)
    ok = np.flatnonzero([total[i] >= min_freq and reportable(w, keep_stop) for i, w in enumerate(vocab)])
    vocab, freq, total = [vocab[i] for i in ok], freq[ok], total[ok]
    scores = specificity_scores(freq, sizes)           # word totals are row sums: unchanged by the filter
    rows = []
    corpus = int(sizes.sum())
    for j, g in enumerate(groups):
        s = scores[:, j]
        for sign in ((1, -1) if under else (1,)):
            idx = np.flatnonzero((sign * s >= banality) & (s != 0))
            idx = sorted(idx, key=lambda i: (-sign * s[i], vocab[i]))
            for i in idx[:top] if top is not None else idx:
                rows.append((g, vocab[i], int(freq[i, j]), int(total[i]), int(sizes[j]), corpus, round(float(s[i]), 4)))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update(by=by, unit=unit, banality=banality, min_freq=min_freq, groups=groups,
                     part_sizes=dict(zip(groups, map(int, sizes))), n_segments=int(inside.sum()))
    return out
