"""Benchmark: segmentation (+ optionally pseudonymisation) of the CFPP2000 corpus (~0.9 M words).

Usage: PYTHONPATH=. .venv/bin/python benchmarks/segment_pseudonymise.py [--pseudo] [--limit N]
Prints words, turns, segments, seconds and words/s per step. Reads ../shared (never copied).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers_segment import CFPP, read_textgrid_turns  # noqa: E402

from textmine.config import load_config  # noqa: E402
from textmine.pseudonymise import Pseudonymiser, names_from_filename  # noqa: E402
from textmine.segment import clean_for_analysis, load_nlp, segment_interview  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pseudo", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    if not CFPP.exists():
        print("CFPP2000 not found at", CFPP)
        return
    cfg = load_config()
    files = sorted(CFPP.glob("*.TextGrid"))[: args.limit or None]
    data = [(f, *read_textgrid_turns(f, f"itv{i:02d}")) for i, f in enumerate(files)]
    n_words = sum(int(t.text.str.split().str.len().sum()) for _, t, _ in data)
    n_turns = sum(len(t) for _, t, _ in data)
    t = time.perf_counter()
    nlp = load_nlp(cfg.segment.spacy_model)
    print(f"load {cfg.segment.spacy_model} (senter only): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    for _, turns, _ in data:
        for x in turns.text:
            clean_for_analysis(x)
    t_clean = time.perf_counter() - t
    t = time.perf_counter()
    segs = [segment_interview(f"itv{i:02d}", turns, cfg.segment, nlp) for i, (_, turns, _) in enumerate(data)]
    t_seg = time.perf_counter() - t
    n_seg = sum(len(s) for s in segs)
    print(f"{len(files)} files, {n_turns} turns, {n_words} raw words")
    print(f"clean_for_analysis alone: {t_clean:.1f} s")
    print(f"segment (clean + senter + grouping): {t_seg:.1f} s, {n_words / t_seg:,.0f} words/s, {n_seg} segments, "
          f"mean {sum(s.n_words.sum() for s in segs) / max(n_seg, 1):.1f} analysis words/segment")
    if not args.pseudo:
        return
    t = time.perf_counter()
    ps = Pseudonymiser(None, cfg.pseudonymise)
    for f, _, tiers in data:
        ps.add_names(names_from_filename(f))
        ps.add_names(tiers)
    _ = ps.nlp
    print(f"load {cfg.pseudonymise.spacy_model} (ner only) + names: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    n_words_seg = 0
    for i, s in enumerate(segs):
        ps.pseudonymise(list(s.text), source=f"itv{i:02d}")
        n_words_seg += int(s.n_words.sum())
    dt = time.perf_counter() - t
    rows = ps.new_rows()
    print(f"pseudonymise: {dt:.1f} s, {n_words_seg / dt:,.0f} words/s, {len(rows)} map rows "
          f"({rows.first_seen.str.startswith('ner:').sum()} from NER; by kind: {rows.kind.value_counts().to_dict()})")


if __name__ == "__main__":
    main()
