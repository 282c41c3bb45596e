"""Encoders (real bundled models on small inputs) and the store's embedding cache."""
from __future__ import annotations

import numpy as np
import pytest

from helpers_topics import THEMES
from textmine.embed import embed_texts, encoder_key, get_encoder, text_hash
from textmine.errors import TextmineError
from textmine.store import Store

PAIRS = [  # (theme a sentence, theme a sentence, other theme sentence)
    (THEMES["ateliers"][0], THEMES["ateliers"][1], THEMES["financement"][0]),
    (THEMES["financement"][1], THEMES["financement"][2], THEMES["ateliers"][3]),
    (THEMES["demarches"][0], THEMES["demarches"][1], THEMES["formation"][0]),
    (THEMES["formation"][0], THEMES["formation"][2], THEMES["partenariat"][0]),
]


def _same_vs_cross(enc) -> list[tuple[float, float]]:
    out = []
    for a, b, c in PAIRS:
        X = enc.encode([a, b, c])
        assert X.dtype == np.float32 and X.shape == (3, enc.dim)
        assert np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-4)
        out.append((float(X[0] @ X[1]), float(X[0] @ X[2])))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["e5-small", "use-multilingual"])
def test_same_theme_pairs_are_closer(name):
    enc = get_encoder(name)
    for same, cross in _same_vs_cross(enc):
        assert same > cross, (name, same, cross)


@pytest.mark.slow
def test_e5_query_and_passage_modes_differ():
    enc = get_encoder("e5-small")
    t = ["ateliers numériques pour les seniors"]
    q, p = enc.encode(t, mode="query"), enc.encode(t, mode="passage")
    assert q.shape == p.shape == (1, 384)
    assert not np.allclose(q, p, atol=1e-3)
    assert float(q[0] @ p[0]) > 0.8           # same text, different prefix


@pytest.mark.parametrize("name", ["sentence-transformers:/nonexistent/st-model", "model2vec:/nonexistent/m2v"])
def test_missing_local_folder_is_e302(name):
    with pytest.raises(TextmineError) as e:
        get_encoder(name)
    assert e.value.code == "E302" and "/nonexistent/" in str(e.value)


def test_unknown_encoder_is_e301():
    with pytest.raises(TextmineError) as e:
        get_encoder("word2vec-fr")
    assert e.value.code == "E301"


def _tiny_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    words = "atelier tablette senior retraité financement budget subvention poste démarche impôts".split()
    vocab = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok, len(vocab)


@pytest.mark.slow
def test_local_model2vec_and_sentence_transformers_folders(tmp_path):
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import StaticEmbedding
    tok, n = _tiny_tokenizer()
    vec = np.random.default_rng(0).normal(size=(n, 16)).astype(np.float32)
    StaticModel(vectors=vec, tokenizer=tok, normalize=True).save_pretrained(str(tmp_path / "m2v"))
    SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=vec)], device="cpu").save(str(tmp_path / "st"))
    texts = ["atelier tablette senior", "budget subvention poste"]
    for kind, folder in (("model2vec", "m2v"), ("sentence-transformers", "st")):
        enc = get_encoder(f"{kind}:{tmp_path / folder}")
        X = enc.encode(texts)
        assert X.shape == (2, 16) and enc.dim == 16
        assert np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-5)
        assert float(X[0] @ X[1]) < 0.99
        assert encoder_key(enc).startswith(("m2v:", "st:"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TextmineError) as e:
        get_encoder(f"sentence-transformers:{tmp_path / 'empty'}")
    assert e.value.code == "E302"


class CountingEncoder:
    """Deterministic bag-of-characters encoder that counts what it encodes; can fail on a batch."""

    id, version, dim = "counting", "1", 32

    def __init__(self, fail_on_batch: int | None = None):
        self.calls: list[int] = []
        self.fail_on_batch = fail_on_batch

    def encode(self, texts, mode="passage"):
        if self.fail_on_batch is not None and len(self.calls) == self.fail_on_batch:
            raise KeyboardInterrupt("killed")
        self.calls.append(len(texts))
        X = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                X[i, ord(ch) % self.dim] += 1
        X[:, 0] += 1
        return X / np.linalg.norm(X, axis=1, keepdims=True)


TEXTS = [s for sents in THEMES.values() for s in sents][:40]


def test_cache_second_call_encodes_nothing(tmp_path):
    enc = CountingEncoder()
    with Store(tmp_path / "p", create=True) as store:
        X1 = embed_texts(store, TEXTS + TEXTS[:5], enc, batch_size=8)   # duplicates encoded once
        assert sum(enc.calls) == 40
        enc.calls.clear()
        seen = []
        X2 = embed_texts(store, TEXTS, enc, batch_size=8, advance=seen.append)
        assert enc.calls == [] and sum(seen) == 40
        assert np.array_equal(X1[:40], X2)
        assert np.array_equal(X1[40:], X1[:5])
        stored = store.get_embeddings(encoder_key(enc), [text_hash(TEXTS[0])])
        assert np.allclose(stored[text_hash(TEXTS[0])], X1[0])


def test_interrupted_run_resumes_with_the_rest(tmp_path):
    with Store(tmp_path / "p", create=True) as store:
        with pytest.raises(KeyboardInterrupt):
            embed_texts(store, TEXTS, CountingEncoder(fail_on_batch=3), batch_size=8)
        key = encoder_key(CountingEncoder())
        assert len(store.get_embeddings(key, [text_hash(t) for t in TEXTS])) == 24   # 3 batches committed
        enc = CountingEncoder()
        X = embed_texts(store, TEXTS, enc, batch_size=8)
        assert enc.calls == [8, 8] and X.shape == (40, 32)
        assert np.allclose(X, CountingEncoder().encode(TEXTS), atol=1e-6)
