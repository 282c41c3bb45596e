"""IRaMuTeQ / Alceste corpus export of the respondent segments (format: :mod:`textmine.ingest.iramuteq`).

One text per interview: a ``****`` line with the interview's starred variables (``*vague``,
``*role``, ``*territoire``, ``*structure``, ``*enquete``, ``*id``, then its other metadata
columns), then one paragraph per respondent turn (its segments' text, pseudonymised unless
``reveal``). Other metadata columns are exported, as in every export, only when the sheet
declared them ``public:NAME`` (and never those that may hold names: ``nom``, ``prenom``,
``enqueteur``...), all of them with ``reveal``. Written in UTF-8 without a byte-order mark (IRaMuTeQ reads the
first line as given).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import E, TextmineError
from ..ingest.iramuteq import EXPORT_VARIABLES, NAME_ATTRS, clean_text, star_line
from ..store import Store, public_attrs
from .files import atomic_write


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
        role = row["role"] if isinstance(row["role"], str) and row["role"] else \
            g.groupby("role")["n_words"].sum().idxmax()
        values = {**row.to_dict(), "role": role, "interview_id": iid}
        pairs = [(var, values.get(col)) for col, var in EXPORT_VARIABLES]
        extra = public_attrs(row["attrs"], row.get("attrs_public"), reveal=reveal)   # as every export
        pairs += [(k, v) for k, v in extra.items()
                  if not isinstance(v, (dict, list)) and (reveal or k.lower() not in NAME_ATTRS)]
        lines.append(star_line(pairs))
        for _, turn in g.groupby("turn_index", sort=True):
            para = clean_text(" ".join(str(t) for t in turn[text_col].fillna("")))
            if para:
                lines.append(para)
    return "\n".join(lines) + "\n", int(seg["interview_id"].nunique()), len(seg)


def write_iramuteq(store: Store, output: str | Path, *, reveal: bool = False) -> tuple[int, int]:
    """Write the corpus atomically; returns ``(interviews, segments)``."""
    text, n_itv, n_seg = iramuteq_corpus(store, reveal=reveal)
    atomic_write(output, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return n_itv, n_seg
