"""Ingest's spaCy work (sentence splitting and NER) in worker processes (:mod:`textmine.workers`):
the stored interviews, segments and pseudonyms are those of one process, in order, whatever
the number of workers and whether they fail."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO, shared_path
from textmine.corpus import ingest_paths
from textmine.store import Store

pytestmark = pytest.mark.slow

TABLES = {"interviews": "SELECT * EXCLUDE (ingested_at) FROM interviews ORDER BY interview_id",
          "segments": "SELECT * FROM segments ORDER BY segment_id",
          "speakers": "SELECT * FROM speakers ORDER BY interview_id, speaker",
          "pseudonyms": "SELECT * EXCLUDE (first_seen) FROM pseudonym_map ORDER BY 1, 2"}


def _ingest(project: Path, corpus: Path, **kw) -> tuple[dict[str, pd.DataFrame], list[str]]:
    said: list[str] = []
    with Store(project, create=True) as s:
        ingest_paths(s, [corpus], note=said.append, **kw)
        tables = {k: s.query(q) for k, q in TABLES.items()}
    return tables, said


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for k in TABLES:
        pd.testing.assert_frame_equal(a[k], b[k], obj=k)


@pytest.fixture()
def pooled(monkeypatch):
    """Every ingest of the test runs its spaCy work in two workers (from one word)."""
    from textmine import corpus, workers
    monkeypatch.setattr(corpus, "POOL_MIN_WORDS", 1)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    return monkeypatch


def test_workers_store_what_one_process_stores(tmp_path, pooled):
    corpus = DEMO / "vague1"
    kw = {"wave": "2022", "metadata": corpus / "metadata.csv"}
    pooled.setattr("textmine.corpus.POOL_MIN_WORDS", 10 ** 12)           # one process
    want, said = _ingest(tmp_path / "one", corpus, **kw)
    assert not any("worker processes" in m for m in said)
    assert len(want["segments"]) > 100 and len(want["pseudonyms"]) > 5
    pooled.setattr("textmine.corpus.POOL_MIN_WORDS", 1)
    from textmine import french
    pooled.setattr(french, "_NLP_CACHE", {})
    got, said = _ingest(tmp_path / "two", corpus, **kw)
    assert any("in 2 worker processes" in m for m in said), said
    assert french._NLP_CACHE == {}         # the workers did the spaCy work: none loaded here
    _same(got, want)
    from textmine import workers
    pooled.setattr(workers.sys, "executable", "/bin/false")               # the workers fail: done here
    got, said = _ingest(tmp_path / "failed", corpus, **kw)
    _same(got, want)
    assert any("2 of 2 worker processes failed (exit status 1)" in m for m in said), said


def test_workers_on_real_transcripts_with_names(tmp_path, pooled):
    """CFPP2000 interviews (../shared; real names in tiers and speech): same segments and pseudonyms."""
    src = shared_path("corpora", "cfpp2000", "TextGrid-corpus")
    corpus = tmp_path / "cfpp"
    corpus.mkdir()
    for f in sorted(src.glob("*.TextGrid"))[:3]:
        shutil.copy(f, corpus / f.name)
    pooled.setattr("textmine.corpus.POOL_MIN_WORDS", 10 ** 12)
    want, _ = _ingest(tmp_path / "one", corpus, wave="cfpp")
    pooled.setattr("textmine.corpus.POOL_MIN_WORDS", 1)
    got, said = _ingest(tmp_path / "two", corpus, wave="cfpp")
    assert any("worker processes" in m for m in said), said
    assert len(want["segments"]) > 1000 and len(want["pseudonyms"]) > 20
    _same(got, want)
