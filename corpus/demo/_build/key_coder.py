"""The demo's answer key plays the human coder of a calibration sample.

The key (``corpus/demo/answer_key.csv``) codes *passages*: exact excerpts of respondent turns,
written when the corpus was. textmine codes *segments*: pieces of turns cut at sentence
boundaries when the corpus is ingested. They are not the same units, so a segment gets the
codes a human reading it would give from the key: the themes (and posture sub-label) of every key
passage of the same turn that covers at least half of the segment or half of the passage (on
the demo, 202 of the 205 segment/passage overlaps are a full containment; 3 are below half and
do not count). A segment that no passage covers gets no theme: the key's author coded every
passage about a theme, but the key is not an exhaustive coding (see corpus/demo/README.md), so
read the corrected figures as "what a coder following the key would find".

Usage (what ``make demo`` runs)::

    python corpus/demo/_build/key_coder.py --project demo-project SHEET.csv OUT.csv

fills the ``themes`` and ``posture`` columns of a sample's CSV sheet (``textmine themes sample
--output SHEET.csv``) and writes OUT.csv, ready for ``textmine themes calibrate --coded OUT.csv``.
:func:`key_codes` gives the same codes for every respondent segment of a project (the census the
README's tracking table and ``benchmarks/calibration_coverage.py`` call the truth).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEY = Path(__file__).resolve().parents[1] / "answer_key.csv"


def key_codes(store, key_path: Path = KEY) -> pd.DataFrame:
    """``segment_id, themes (';'-joined), posture`` for every respondent segment of ``store``."""
    key = pd.read_csv(key_path, dtype=str, keep_default_na=False)
    turns = store.turns_frame()
    seg = store.segments_frame(roles="respondents")
    text_of = {(r.interview_id, int(r.turn_index)): str(r.text) for r in turns.itertuples()}
    passages: dict[tuple[str, int], list[tuple[int, int, str, str]]] = {}
    by_itv: dict[str, list[tuple[int, str]]] = {}
    for (iid, ti), text in text_of.items():
        by_itv.setdefault(iid, []).append((ti, text))
    for k in key.itertuples():
        for ti, text in by_itv.get(k.interview_id, []):
            a = text.find(k.text)
            if a >= 0:
                passages.setdefault((k.interview_id, ti), []).append((a, a + len(k.text), k.themes, k.posture))
                break
        else:
            raise SystemExit(f"answer key passage {k.id} is not in the transcript of {k.interview_id}: "
                             "was the corpus ingested with another segmentation or an older key?")
    rows = []
    for s in seg.itertuples():
        turn = text_of.get((s.interview_id, int(s.turn_index)), "")
        a = turn.find(str(s.text_raw))
        b = a + len(str(s.text_raw))
        themes: list[str] = []
        posture, best = "", 0
        for c, d, th, po in passages.get((s.interview_id, int(s.turn_index)), []) if a >= 0 else []:
            ov = min(b, d) - max(a, c)
            if ov > 0 and ov >= 0.5 * min(b - a, d - c):
                themes += [t for t in th.split(";") if t]
                if po and ov > best:
                    posture, best = po, ov
        rows.append({"segment_id": s.segment_id, "themes": ";".join(dict.fromkeys(themes)), "posture": posture})
    return pd.DataFrame(rows, columns=["segment_id", "themes", "posture"])


def main(argv: list[str] | None = None) -> int:
    from textmine.store import Store
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", required=True)
    ap.add_argument("sheet", type=Path, help="a sample's CSV sheet (textmine themes sample --output X.csv)")
    ap.add_argument("output", type=Path)
    args = ap.parse_args(argv)
    with Store(args.project, read_only=True) as store:
        codes = key_codes(store).set_index("segment_id")
    sheet = pd.read_csv(args.sheet, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    sheet["themes"] = sheet["segment_id"].map(codes["themes"]).fillna("")
    sheet["posture"] = sheet["segment_id"].map(codes["posture"]).fillna("")
    sheet.to_csv(args.output, index=False, encoding="utf-8-sig")
    print(f"{len(sheet)} segments coded from the answer key ({(sheet['themes'] != '').sum()} with a theme) "
          f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
