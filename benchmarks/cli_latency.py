"""Cold-start latency of the CLI: each command run as a new process, as a user types it.

Projects:
- the demo project (``demo-project`` from ``make demo``, or ``--demo DIR``), if present;
- a generated project of ``--segments`` (default 100,000) respondent segments in 500 interviews
  over 2 waves, 5 territories and 4 roles, written through the store's own API (interviews and
  segments, search lemmas and form table, the lexicon's token cache, embedding cache, theme
  codings, a topic model's assignments and info, run manifests). Its texts come from a pool of synthetic French
  sentences lemmatised once with spaCy (a segment's stored lemmas are its sentences' lemmas);
  its passage vectors are random unit vectors under the e5-small cache key (latency does not
  depend on their values; relevance is not measured here) and its codings are random. Nothing
  is encoded with a real model except the queries.

For each command: min / median / max wall time over ``--runs`` processes, next to the budget
of issue 15. Searches: 20 varied queries with wave/role/theme filters, one process each; the
figure is the median (p50) over the queries. The first search after the project changed builds
the index snapshot; it is timed apart. ``warm`` is the same search repeated in one process.

    python benchmarks/cli_latency.py [--segments 100000] [--runs 5] [--demo DIR] [--keep DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from textmine.embed import encoder_key, get_encoder, text_hash  # noqa: E402
from textmine.french import load_lemmatizer  # noqa: E402
from textmine.lexicon.tokens import analyse_text, save_tokens  # noqa: E402
from textmine.runs import save_manifest  # noqa: E402
from textmine.search import search  # noqa: E402
from textmine.search.index import _CACHE, save_lemmas, update_index  # noqa: E402
from textmine.search.text import analyse  # noqa: E402
from textmine.store import Store  # noqa: E402
from textmine.themes.codebook import load_codebook  # noqa: E402
from textmine.track import cache as track_cache  # noqa: E402
from textmine.topics.query import write_fit  # noqa: E402
from search_bench import OBJ, SUBJ, TAIL, VERB, segment_row  # noqa: E402 - the same synthetic segments
from search_bench import QUERIES as SEARCH_QUERIES  # noqa: E402

TEXTMINE = str(Path(sys.executable).with_name("textmine"))
PER_ITV = 200
ROLES = ["conum", "responsable_structure", "coordinateur", "elu"]
EXTRA_QUERIES = ["impôts", "les bénévoles du centre social", "compte Ameli", "rendez-vous à la CAF",
                 "dossier de retraite", "apprendre la tablette avec les enfants", "permanences sans rendez-vous",
                 "formation", "la mairie finance", "difficultés avec les démarches en ligne"]
QUERIES = SEARCH_QUERIES + EXTRA_QUERIES          # 20 varied queries
BUDGETS = {"--help": 0.5, "--version": 0.5, "corpus": 1.0, "speakers": 1.0, "topics list": 1.0, "track": 1.0,
           "runs list": 1.0, "search keyword": 1.0, "search semantic": 1.5, "search hybrid": 1.5,
           "report": 5.0}        # report: issue 15's budget for 50,000 segments (--segments 50000)


def make_project(root: Path, n: int, seed: int = 0) -> Path:
    """A project of ``n`` respondent segments written through the store's API (see module doc)."""
    rng = np.random.default_rng(seed)
    pool = [f"{s[0].upper()}{s[1:]} {v} {o} {t}".strip() + "." for s in SUBJ for v in VERB for o in OBJ
            for t in TAIL[:3]]
    toks = list(analyse(pool))
    pool_lem = [" ".join(t.lemma for t in tk if t.keep) for tk in toks]
    pool_forms = [Counter((t.form, t.lemma, t.keep) for t in tk) for tk in toks]
    forms = Counter()                  # (interview, form, lemma, keep) -> count, as update_index counts them
    store = Store(root, create=True)
    enc_key = encoder_key(get_encoder("e5-small", light=True))
    cb = load_codebook()
    seg_ids, texts, lem_rows = [], [], []
    with store.transaction():          # one commit for all the interviews (each is written whole)
        for k in range((n + PER_ITV - 1) // PER_ITV):
            iid = f"itv-{k:05d}"
            segs = []
            for j in range(min(PER_ITV, n - k * PER_ITV)):
                idx = rng.integers(0, len(pool), rng.integers(3, 7))
                text = " ".join(pool[i] for i in idx)
                for i in idx:
                    forms.update({(iid, *key): c for key, c in pool_forms[i].items()})
                segs.append(segment_row(iid, j, text, ROLES[k % 4]))
                seg_ids.append(segs[-1]["segment_id"])
                texts.append(text)
                lem_rows.append(" ".join(pool_lem[i] for i in idx))
            store.replace_interview({"interview_id": iid, "source_pseudo": f"{iid}.txt", "wave": str(2022 + k % 2),
                                     "territory": "ABCDE"[k % 5], "structure_type": ["association", "commune"][k % 2],
                                     "respondent_id": f"R{k % 300:03d}", "n_turns": PER_ITV,
                                     "ingested_at": "2026-01-01T00:00:00", "attrs": json.dumps({"zone": ["rural", "urbain"][k % 3 % 2]})},
                                    pd.DataFrame(), pd.DataFrame(), pd.DataFrame(segs))
    chunk = pd.DataFrame({"segment_id": seg_ids, "h": [hashlib.md5(t.encode()).hexdigest() for t in texts]})
    update_index(store)                                   # creates the tables (nothing lemmatised yet...)
    for table in ("search_lemmas", "search_form_counts", "search_forms"):
        store.con.execute(f"DELETE FROM {table}")
    save_lemmas(store, chunk, lem_rows, forms)            # ...the pool's real spaCy lemmas instead
    update_index(store)
    write_tokens(store, pool)
    V = rng.standard_normal((n, 384)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    hashes = [text_hash(t) for t in texts]
    for i in range(0, n, 20_000):
        store.put_embeddings(enc_key, hashes[i:i + 20_000], V[i:i + 20_000])
    T = len(cb.ids)
    P = rng.random((n, T)) ** 3
    Y = P > 0.5
    post = np.where(rng.random(n) < 0.5, "faire_avec", "faire_a_la_place")
    pj = cb.ids.index(cb.posture_theme)
    codings = pd.DataFrame({"run_id": "themes-bench", "model_id": "zeroshot-bench",
                            "segment_id": np.repeat(seg_ids, T), "theme": np.tile(cb.ids, n),
                            "score": P.reshape(-1), "assigned": Y.reshape(-1),
                            "posture": [post[i] if (j == pj and Y[i, j]) else None for i in range(n) for j in range(T)]})
    codings["posture"] = codings["posture"].astype("string")
    store.write_frame("theme_codings", codings, replace=True)
    store.set_kv("themes.current_run", {"run_id": "themes-bench", "model_id": "zeroshot-bench"})
    topic = rng.integers(-1, 25, n)
    write_fit(store, {"model_id": "topics-bench", "encoder": enc_key, "encoder_name": "e5-small", "n_docs": n,
                      "n_topics": 25, "created_at": "2026-01-01T00:00:00", "roles": "respondents"},
              pd.DataFrame({"model_id": "topics-bench", "segment_id": seg_ids, "topic": topic,
                            "similarity": rng.random(n), "probability": np.nan}),
              pd.DataFrame({"model_id": "topics-bench", "topic": np.arange(-1, 25), "count": 0,
                            "label": [f"{t}_sujet" for t in range(-1, 25)],
                            "words": [["atelier", "tablette", "usager"]] * 26, "representative_ids": [seg_ids[:3]] * 26}))
    track_cache.refresh(store)          # the default `track` figures, as the run's track stage leaves them
    for w in ("2022", "2023"):
        save_manifest(store, {"run_id": f"bench-{w}", "wave": w, "started_at": f"{w}-06-01T00:00:00",
                              "finished_at": f"{w}-06-01T00:10:00", "corpus_hash": "bench"})
    store.close()
    return root


def write_tokens(store: Store, pool: list[str]) -> None:
    """The lexicon's token cache, as the run's lexicon stage leaves it: a segment's tokens are
    its pool sentences' tokens (each sentence analysed once with spaCy)."""
    nlp = load_lemmatizer(store.config.segment.spacy_model)
    by_sentence = dict(zip(pool, analyse_text(nlp.pipe(pool, batch_size=256), pool)))
    segs = store.query("SELECT segment_id, text_pseudo AS text, md5(text_pseudo) AS h FROM segments ORDER BY 1")
    rows = []
    for text in segs["text"]:
        parts = [by_sentence[x] for x in re.split(r"(?<=\.) ", text)]
        rows.append(tuple(" ".join(p[k] for p in parts if p[k]) for k in range(3)))
    for i in range(0, len(segs), 20_000):
        save_tokens(store, segs.iloc[i:i + 20_000], rows[i:i + 20_000])


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed ({res.returncode}): {' '.join(args)}\n{res.stderr[-2000:]}")
    return wall


def search_args(project: Path, mode: str, q: str, k: int, themes: list[str], waves: list[str]) -> list[str]:
    filt = [["--wave", waves[k % len(waves)]], ["--role", "conum"], ["--theme", themes[k % len(themes)]],
            ["--wave", waves[-1], "--role", "coordinateur"], []][k % 5]
    return [TEXTMINE, "--project", str(project), "search", q, "--mode", mode, *filt]


def row(label: str, times: list[float], budget: float | None, warm: float | None = None) -> None:
    med = statistics.median(times)
    mark = "" if budget is None else ("ok" if med <= budget else "OVER")
    print(f"  {label:<22}{min(times):>7.2f}{med:>8.2f}{max(times):>7.2f}"
          f"{'' if budget is None else f'{budget:>8.1f}':>8}  {mark:<5}"
          f"{'' if warm is None else f'{warm * 1000:>8.0f} ms'}", flush=True)


def bench(project: Path, label: str, runs: int) -> None:
    print(f"\n{label}: {project}  (load average {os.getloadavg()[0]:.1f})")
    print(f"  {'command':<22}{'min s':>7}{'median':>8}{'max':>7}{'budget':>8}  {'':<5}{'warm p50':>11}")
    with Store(project, read_only=True) as st:
        waves = sorted(st.query("SELECT DISTINCT wave FROM interviews")["wave"].astype(str))
        themes = [t for t in load_codebook(st.config.codebook_path()).ids][:6]
    p = ["--project", str(project)]
    for name, args in (("--help", ["--help"]), ("--version", ["--version"]), ("corpus", [*p, "corpus"]),
                       ("speakers", [*p, "speakers"]), ("topics list", [*p, "topics", "list"]),
                       ("track", [*p, "track"]), ("runs list", [*p, "runs", "list"])):
        row(name, [timed([TEXTMINE, *args]) for _ in range(runs)], BUDGETS[name])
    with tempfile.TemporaryDirectory() as tmp:       # the HTML report and its PNG/SVG figures
        row("report", [timed([TEXTMINE, *p, "report", "-o", str(Path(tmp) / "r.html")])
                       for _ in range(max(1, runs // 2))], BUDGETS["report"])
    t = timed(search_args(project, "hybrid", "premier appel", 0, themes, waves))
    print(f"  first search after a change (lemma tables checked, snapshot + vectors saved): {t:.2f} s")
    kw = {"--wave": "waves", "--role": "roles", "--theme": "themes"}
    cold = {mode: [timed(search_args(project, mode, q, k, themes, waves)) for k, q in enumerate(QUERIES)]
            for mode in ("keyword", "semantic", "hybrid")}
    with Store(project) as st:          # warm: the same searches repeated in this process
        _CACHE.clear()
        for mode, times in cold.items():
            warm = []
            for k, q in enumerate(QUERIES):
                a = search_args(project, mode, q, k, themes, waves)[7:]
                filt = {kw[a[i]]: [a[i + 1]] for i in range(0, len(a), 2)}
                search(st, q, mode=mode, **filt)
                t0 = time.perf_counter()
                search(st, q, mode=mode, **filt)
                warm.append(time.perf_counter() - t0)
            row(f"search {mode}", times, BUDGETS[f"search {mode}"], statistics.median(warm))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--demo", type=Path, default=ROOT / "demo-project")
    ap.add_argument("--keep", type=Path, help="Keep (and reuse) the generated project in this folder.")
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; machine shared with other jobs: "
          "load average printed with each block. Budgets: issue 15 (quiet machine).")
    if (a.demo / "textmine.duckdb").exists():
        bench(a.demo, "demo project", a.runs)
    else:
        print(f"demo project not found at {a.demo} (run `make demo`): skipped")
    big = a.keep or Path(tempfile.mkdtemp(prefix="tm-cli-latency-")) / "project"
    if not (big / "textmine.duckdb").exists():
        t0 = time.perf_counter()
        make_project(big, a.segments)
        print(f"\ngenerated a {a.segments:,}-segment project in {time.perf_counter() - t0:.0f} s")
    else:       # a kept project: the default `track` figures as a run of this code would leave them
        with Store(big) as store:
            track_cache.refresh(store)
    bench(big, f"generated project ({a.segments:,} segments)", a.runs)
    if a.keep is None:
        shutil.rmtree(big.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
