"""IRaMuTeQ / Alceste corpus export of the respondent segments (format: :mod:`textmine.ingest.iramuteq`).

One text per interview of one respondent: a ``****`` line with its starred variables
(``*vague``, ``*date``, ``*role``, ``*territoire``, ``*structure``, ``*enquete``, ``*id``, then
its other metadata columns), then one paragraph per respondent turn (its segments' text,
pseudonymised unless ``reveal``). ``*role_`` and ``*enquete_`` are the speaker's own (a
``speakers`` sheet's role and respondent id win over the interview's). An interview of
several respondents is written as one text per run of consecutive turns of one speaker, in
the interview's order, each with that speaker's ``*role_`` and ``*enquete_`` and
``*locuteur_<pseudonymous label>`` (``CONUM1``, never the real label, even with ``reveal``);
the import puts such texts back together as one interview. Other metadata columns are
exported, as in every export, only when the sheet declared them ``public:NAME`` (and never
those that may hold names: ``nom``, ``prenom``, ``enqueteur``...), all of them with
``reveal``. Written in UTF-8 without a byte-order mark (IRaMuTeQ reads the first line as
given).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import E, TextmineError
from ..ingest.iramuteq import EXPORT_VARIABLES, NAME_ATTRS, SPEAKER_VARIABLE, clean_text, star_line
from ..store import Store, public_attrs
from .files import atomic_write


def _runs(g: pd.DataFrame) -> list[pd.DataFrame]:
    """An interview's respondent segments cut into runs of consecutive turns of one speaker."""
    g = g.sort_values(["turn_index", "seg_index"])
    speaker = g["speaker"].fillna("")
    return [run for _, run in g.groupby((speaker != speaker.shift()).cumsum(), sort=True)]


def _value(v) -> object:
    return None if v is None or (isinstance(v, float) and v != v) or v == "" else v


def iramuteq_corpus(store: Store, *, reveal: bool = False) -> tuple[str, int, int]:
    """``(corpus text, interviews, segments)`` of the project's respondent segments."""
    seg = store.segments_frame(roles="respondents")
    if seg.empty:
        raise TextmineError(E.E006, path=store.root, detail="no respondent segments to export")
    itv = store.interviews_frame().set_index("interview_id")
    text_col = "text" if reveal else "text_pseudo"
    lines: list[str] = []
    for iid, g in seg.groupby("interview_id", sort=True):
        row = itv.loc[iid]
        extra = public_attrs(row["attrs"], row.get("attrs_public"), reveal=reveal)   # as every export
        extra_pairs = [(k, v) for k, v in extra.items()
                       if not isinstance(v, (dict, list)) and (reveal or k.lower() not in NAME_ATTRS)]
        several = g["speaker"].fillna("").nunique() > 1
        for run in (_runs(g) if several else [g.sort_values(["turn_index", "seg_index"])]):
            # the speaker's own role and respondent id (segments carry them), the interview's otherwise
            role = run.groupby("role")["n_words"].sum().idxmax() if run["role"].notna().any() else row["role"]
            rid = next((r for r in run["respondent_id"] if _value(r) is not None), _value(row["respondent_id"]))
            values = {**row.to_dict(), "role": role, "respondent_id": rid, "interview_id": iid}
            pairs = [(var, _value(values.get(col))) for col, var in EXPORT_VARIABLES]
            if several:
                label = next((p for p in run["speaker_pseudo"] if _value(p) is not None), None) or "R"
                at = [var for _, var in EXPORT_VARIABLES].index("enquete") + 1
                pairs.insert(at, (SPEAKER_VARIABLE, label))
            paras = [clean_text(" ".join(str(t) for t in turn[text_col].fillna("")))
                     for _, turn in run.groupby("turn_index", sort=True)]
            if any(paras):          # a text without words would not read back
                lines.append(star_line(pairs + extra_pairs))
                lines += [p for p in paras if p]
    return "\n".join(lines) + "\n", int(seg["interview_id"].nunique()), len(seg)


def write_iramuteq(store: Store, output: str | Path, *, reveal: bool = False) -> tuple[int, int]:
    """Write the corpus atomically; returns ``(interviews, segments)``."""
    text, n_itv, n_seg = iramuteq_corpus(store, reveal=reveal)
    atomic_write(output, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return n_itv, n_seg
