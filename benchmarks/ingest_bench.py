"""Ingestion benchmark: parse all of CFPP2000 (+ ESLO1) from ../shared and assign roles.

Prints, per corpus: files, words, turns, parse seconds, words/s, role-assignment seconds,
the tracemalloc peak while parsing the largest file (tracemalloc slows parsing ~5x, so it
is not on during the timed pass) and the process peak RSS (``ru_maxrss``) so far. Not a test.
Run: ``.venv/bin/python benchmarks/ingest_bench.py``
"""
from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textmine.config import load_config  # noqa: E402
from textmine.ingest import count_words, parse_file  # noqa: E402
from textmine.roles import assign_roles  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
SETS = {"cfpp2000 (.TextGrid)": sorted((CORPORA / "cfpp2000" / "TextGrid-corpus").glob("*.TextGrid")),
        "eslo1 (.trs)": sorted((CORPORA / "eslo1").glob("*/*.trs"))}


def run(files: list[Path]) -> dict:
    cfg = load_config().roles
    t0 = time.perf_counter()
    parsed = [parse_file(f) for f in files]
    t_parse = time.perf_counter() - t0
    t1 = time.perf_counter()
    for tr in parsed:
        assign_roles(tr, None, cfg)
    t_roles = time.perf_counter() - t1
    words = sum(count_words(t.text) for tr in parsed for t in tr.turns)
    turns = sum(len(tr.turns) for tr in parsed)
    biggest = max(files, key=lambda f: f.stat().st_size)
    tracemalloc.start()
    parse_file(biggest)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"files": len(files), "words": words, "turns": turns, "parse": t_parse, "roles": t_roles,
            "peak_file": peak, "biggest_kb": biggest.stat().st_size / 1024}


def main() -> None:
    if not all(SETS.values()):
        print(f"skipped: {CORPORA} not present")
        return
    print(f"{'corpus':22} {'files':>5} {'words':>9} {'turns':>7} {'parse s':>8} {'words/s':>9} {'roles s':>8} "
          f"{'peak MB/largest file':>21} {'max RSS MB':>10}")
    for name, files in SETS.items():
        r = run(files)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name:22} {r['files']:5d} {r['words']:9d} {r['turns']:7d} {r['parse']:8.2f} "
              f"{r['words'] / r['parse']:9.0f} {r['roles']:8.2f} "
              f"{r['peak_file'] / 2**20:8.1f} ({r['biggest_kb']:5.0f} kB) {rss:10.0f}")


if __name__ == "__main__":
    main()
