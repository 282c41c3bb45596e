"""Search benchmark: index build and warm (in-process) search latency over 100,000 synthetic
segments. What a user lives through, each search as a new process, is ``cli_latency.py``.

Prints:
- spaCy lemmatisation throughput measured on a real sample (segments/s) and the full index
  build time it implies for 100,000 segments, plus the measured incremental update of
  1,000 new segments (only those are lemmatised);
- BM25 rebuild time from the stored lemmas (what a new process pays) and the embedding
  matrix load from the store cache;
- p50/p95 latency of warm searches (keyword, semantic, hybrid, hybrid + filters), the
  query embedded with the real e5-small encoder. Target: p95 < 200 ms on 2 cores.

Honest shortcuts, stated in the output: the 100,000 segments are drawn from a pool of
synthetic French sentences; their stored lemmas are the concatenation of the sentences'
real spaCy lemmas (lemmatised once), and their passage vectors are random unit vectors
written into the embedding cache (latency does not depend on the vector values; relevance
is not measured here).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from textmine.embed import encoder_key, get_encoder, text_hash  # noqa: E402
from textmine.search import search  # noqa: E402
from textmine.search.index import _CACHE, INDEX_VERSION, SearchIndex, content_signature, update_index  # noqa: E402
from textmine.search.text import lemmatise  # noqa: E402
from textmine.store import Store  # noqa: E402

N = int(os.environ.get("BENCH_SEGMENTS", 100_000))
PER_ITV = 200
SUBJ = ["les usagers", "les personnes âgées", "la mairie", "le conseiller numérique", "les jeunes",
        "la coordinatrice", "le centre social", "les bénévoles", "la préfecture", "les familles"]
VERB = ["demandent de l'aide pour", "viennent surtout pour", "ont du mal avec", "organisent",
        "découvrent", "financent", "abandonnent", "apprennent", "oublient souvent", "redoutent"]
OBJ = ["la déclaration d'impôts", "le compte Ameli", "les ateliers collectifs", "la formation",
       "le renouvellement du poste", "les démarches en ligne", "la carte grise", "le dossier de retraite",
       "les mots de passe", "l'espace France Services", "la tablette", "le rendez-vous à la CAF"]
TAIL = ["chaque semaine", "depuis la rentrée", "sans rendez-vous", "avec difficulté", "dans les villages",
        "au guichet", "à distance", "avec leurs enfants", "", "pendant les permanences"]
QUERIES = ["faire la démarche à la place de l'usager", "financement du poste de conseiller",
           "ateliers collectifs tablette", "carte grise en ligne", "coordination avec la préfecture",
           "personnes âgées isolées", "mot de passe oublié", "France Services guichet",
           "renouvellement du contrat", "jeunes et démarches administratives"]


def segment_row(iid: str, j: int, text: str, role: str) -> dict:
    """One synthetic respondent segment (the ``segments`` columns; pseudonymised text = text)."""
    return {"segment_id": f"{iid}:{j:04d}:00", "interview_id": iid, "turn_index": j, "seg_index": 0,
            "speaker": "R", "speaker_pseudo": "R", "role": role, "text_raw": text, "text": text,
            "text_pseudo": text, "n_words": len(text.split()), "line": j + 1, "prev_question": ""}


def pct(xs, q):
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} (machine shared with other jobs)")
    rng = np.random.default_rng(0)
    pool = [f"{s[0].upper()}{s[1:]} {v} {o} {t}".strip() + "." for s in SUBJ for v in VERB for o in OBJ
            for t in TAIL[:3]]
    print(f"segments: {N:,} (pool of {len(pool):,} synthetic sentences, 3-6 per segment), cores: {os.cpu_count()}")
    t0 = time.perf_counter()
    pool_lem = [" ".join(x) for x in lemmatise(pool)]
    t_pool = time.perf_counter() - t0
    print(f"spaCy lemmatisation of the sentence pool: {len(pool) / t_pool:,.0f} sentences/s")

    root = Path(tempfile.mkdtemp(prefix="tm-search-bench-"))
    store = Store(root, create=True)
    enc = get_encoder(store.config.embed.encoder)
    key = encoder_key(enc)
    t0 = time.perf_counter()
    lem_rows, texts_all = [], []
    roles = ["conum", "responsable_structure", "coordinateur", "elu"]
    for k in range(N // PER_ITV):
        iid = f"itv-{k:05d}"
        segs = []
        for j in range(PER_ITV):
            idx = rng.integers(0, len(pool), rng.integers(3, 7))
            text = " ".join(pool[i] for i in idx)
            segs.append(segment_row(iid, j, text, roles[k % 4]))
            sid = segs[-1]["segment_id"]
            lem_rows.append((sid, " ".join(pool_lem[i] for i in idx), text))
            texts_all.append(text)
        store.replace_interview({"interview_id": iid, "source_pseudo": f"{iid}.txt", "wave": str(1 + k % 2),
                                 "territory": "ABCDE"[k % 5], "structure_type": "association",
                                 "attrs": json.dumps({"zone": ["rural", "urbain"][k % 2]})},
                                pd.DataFrame(), pd.DataFrame(), pd.DataFrame(segs))
    print(f"store filled in {time.perf_counter() - t0:.1f} s")

    # real lemmatisation throughput on a sample of whole segments
    sample = texts_all[:1000]
    t0 = time.perf_counter()
    list(lemmatise(sample))
    rate = len(sample) / (time.perf_counter() - t0)
    print(f"index build (spaCy lemmas of whole segments): {rate:,.0f} segments/s measured on 1,000 "
          f"-> {N / rate / 60:.1f} min for {N:,} segments (done once; later waves are incremental)")

    # stored lemmas for the 100k (pool lemmas concatenated), then the incremental update of 1,000 new ones
    frame = pd.DataFrame(lem_rows, columns=["segment_id", "lemmas", "text"])
    frame["text_hash"] = [None] * len(frame)
    store.con.execute("CREATE TABLE IF NOT EXISTS search_lemmas (segment_id VARCHAR PRIMARY KEY, text_hash VARCHAR, lemmas VARCHAR)")
    store.con.register("_b", frame)
    store.con.execute("INSERT INTO search_lemmas SELECT b.segment_id, md5(s.text_pseudo), b.lemmas FROM _b b "
                      "JOIN segments s USING (segment_id)")
    store.con.unregister("_b")
    store.set_kv("search.index", {"version": INDEX_VERSION, "spacy_model": store.config.segment.spacy_model})
    store.con.execute("DELETE FROM search_lemmas WHERE segment_id IN (SELECT segment_id FROM segments "
                      "WHERE interview_id IN ('itv-00000', 'itv-00001', 'itv-00002', 'itv-00003', 'itv-00004'))")
    t0 = time.perf_counter()
    res = update_index(store)
    print(f"incremental index update: {res['lemmatised']:,} new segments lemmatised in "
          f"{time.perf_counter() - t0:.1f} s (index holds {res['segments']:,})")

    # passage vectors: random unit vectors in the cache (stand-ins, see docstring)
    t0 = time.perf_counter()
    V = rng.standard_normal((len(texts_all), enc.dim)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    hashes = [text_hash(t) for t in texts_all]
    for i in range(0, len(hashes), 20_000):
        store.put_embeddings(key, hashes[i:i + 20_000], V[i:i + 20_000])
    print(f"(random passage vectors cached in {time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    sig = content_signature(store)
    t_sig = time.perf_counter() - t0
    t0 = time.perf_counter()
    SearchIndex.build(store, sig)                 # first time: BM25 from the stored lemmas, snapshot saved
    t_bm = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx = SearchIndex.load(store, sig)            # any later process: the snapshot memory-mapped
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.passage_vectors(store, enc)
    t_vec = time.perf_counter() - t0
    _CACHE[str(store.db_path.resolve())] = idx
    print(f"BM25 index from stored lemmas (once, then saved): {t_bm:.1f} s; "
          f"cold load in a new process: memory-mapped snapshot {t_load:.3f} s, "
          f"embedding matrix from cache {t_vec:.1f} s; staleness check {t_sig * 1000:.0f} ms")

    enc_times = []
    for q in QUERIES:
        t0 = time.perf_counter()
        enc.encode([q], mode="query")
        enc_times.append(time.perf_counter() - t0)
    print(f"query embedding alone (e5-small): p50 {pct(enc_times, 50):.1f} ms, p95 {pct(enc_times, 95):.1f} ms")
    search(store, "premier appel", mode="hybrid")     # warm-up (spaCy + encoder loaded)
    print(f"{'mode':<24}{'p50 ms':>8}{'p95 ms':>8}   (warm, {3 * len(QUERIES)} queries each, limit 20)")
    for label, kw in (("keyword", {"mode": "keyword"}), ("semantic", {"mode": "semantic"}),
                      ("hybrid", {"mode": "hybrid"}),
                      ("hybrid + wave/role/attr", {"mode": "hybrid", "waves": ["2"], "roles": ["responsable_structure"],
                                                   "attrs": ["zone=urbain"]})):
        times = []
        for _ in range(3):
            for q in QUERIES:
                t0 = time.perf_counter()
                hits = search(store, q, **kw)
                times.append(time.perf_counter() - t0)
                assert len(hits) > 0
        print(f"{label:<24}{pct(times, 50):>8.1f}{pct(times, 95):>8.1f}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    store.close()


if __name__ == "__main__":
    main()
