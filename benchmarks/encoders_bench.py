"""Throughput and peak memory of each bundled encoder on 2,000 French segments.

Segments come from CFPP2000 respondent turns (``textmine.ingest.parse_file``, cut into
~40-word windows) when ../shared is present, else from generated varied French sentences.
Each encoder runs in its own process so that its peak RSS is its own (model + activations).

Usage: python benchmarks/encoders_bench.py [--n 2000] [--encoders e5-small,use-multilingual]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cfpp_corpus import cfpp_files  # noqa: E402


def cfpp_segments(n: int) -> list[str]:
    from textmine.config import load_config
    from textmine.ingest import parse_file
    from textmine.roles import assign_roles
    cfg = load_config()
    out: list[str] = []
    for path in cfpp_files():
        tr = parse_file(path)
        roles = assign_roles(tr, None, cfg.roles)
        for t in tr.turns:
            if roles[t.speaker].role in ("interviewer", "other"):
                continue
            words = t.text.split()
            for k in range(0, len(words), 40):
                chunk = words[k:k + 40]
                if len(chunk) >= 8:
                    out.append(" ".join(chunk))
        if len(out) >= n:
            break
    return out[:n]


def generated_segments(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    subj = ["je", "on", "la conseillère", "le responsable", "les usagers", "ma collègue", "l'élu"]
    verb = ["accompagne", "explique", "organise", "finance", "découvre", "oriente", "forme"]
    obj = ["les démarches en ligne", "un atelier tablette", "le budget du poste", "les seniors du quartier",
           "la déclaration d'impôts", "le réseau des partenaires", "la formation continue", "les outils numériques"]
    tail = ["chaque semaine", "depuis deux ans", "à la médiathèque", "avec la mairie", "sans financement stable",
            "quand le site plante", "en petit groupe", "avec beaucoup de patience"]
    return [" ".join(f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)} {rng.choice(tail)}."
                     for _ in range(rng.randint(2, 5))) for _ in range(n)]


def _run(name: str, texts: list[str], q) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from textmine.embed import get_encoder
    t = time.perf_counter()
    enc = get_encoder(name)
    load = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, len(texts), 32):
        enc.encode(texts[i:i + 32], mode="passage")
    dt = time.perf_counter() - t
    q.put((name, enc.dim, load, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--encoders", default="e5-small,use-multilingual")
    args = ap.parse_args()
    texts = cfpp_segments(args.n) if cfpp_files() else []
    source = "CFPP2000 respondent turns (40-word windows)"
    if len(texts) < args.n:
        texts, source = generated_segments(args.n), "generated French sentences"
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} segments from {source}, {words / len(texts):.0f} words on average; "
          f"{os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.1f}")
    ctx = mp.get_context("spawn")
    for name in args.encoders.split(","):
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(name, texts, q))
        p.start()
        name, dim, load, dt, rss = q.get()
        p.join()
        print(f"{name:>18}: dim {dim}, load {load:.1f} s, {len(texts) / dt:.1f} segments/s "
              f"({dt:.1f} s), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
