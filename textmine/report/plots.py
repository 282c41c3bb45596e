"""Matplotlib figures (Agg) for the report: inline SVG for the HTML, PNG + SVG files for papers.

Small cells (fewer than ``track.min_interviews`` interviews) are drawn grey and hatched,
never as meaningful values. Output is deterministic (fixed SVG hash salt, no dates).
"""
from __future__ import annotations

import io
import re
import textwrap
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..errors import E, TextmineError  # noqa: E402
from ..export.files import atomic_write  # noqa: E402
from ..records import safe_name  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "textmine", "svg.fonttype": "none", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]
SMALL = "#bbbbbb"


def _wrap(s: str, n: int = 38) -> str:
    return "\n".join(textwrap.wrap(str(s), n)[:2])


def _percent(lang: str) -> matplotlib.ticker.Formatter:
    """Axis ticks as percentages: ``10%`` in English, ``10 %`` with a decimal comma in French."""
    def fmt(x, _pos=None):
        text = f"{100 * x:.1f}".rstrip("0").rstrip(".")
        if lang == "fr":
            return text.replace(".", ",").replace("-", "\u2212") + "\u202f%"
        return text.replace("-", "\u2212") + "%"
    return matplotlib.ticker.FuncFormatter(fmt)


def _thousands(lang: str) -> matplotlib.ticker.Formatter:
    sep = "\u202f" if lang == "fr" else ","
    return matplotlib.ticker.FuncFormatter(lambda x, _pos=None: f"{x:,.0f}".replace(",", sep))


def _legend_below(fig: plt.Figure, ax, ncol: int, gap: float = 0.55, **kw) -> None:
    """Legend under the axes, outside the plotting area: it never covers a mark."""
    h = fig.get_size_inches()[1] * ax.get_position().height
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -gap / h), ncol=max(1, ncol), frameon=False, fontsize=8, **kw)


def _margins(fig: plt.Figure, left: float = 2.8, right: float = 0.25, top: float = 0.45,
             bottom: float = 0.6) -> None:
    """Fixed margins in inches (room for two-line wrapped labels): one layout-free draw per
    format instead of ``tight_layout`` (which costs an extra text-layout pass per figure)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(left / w, 0.6), right=1 - right / w, top=1 - top / h, bottom=bottom / h)
    fig._tm_fixed = True


def save(fig: plt.Figure, name: str, out_dir: Path | None) -> str:
    """Write ``name``.png/.svg into ``out_dir`` (if given) and return the SVG markup for inlining."""
    buf = io.StringIO()
    if not getattr(fig, "_tm_fixed", False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout()   # one layout pass instead of bbox_inches="tight" (a second draw per format)
    name = safe_name(name)      # wave labels (2023/24) are data, not paths
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            plt.close(fig)
            raise TextmineError(E.E602, path=out_dir, detail=str(exc)) from exc
        try:
            atomic_write(out_dir / f"{name}.svg", lambda tmp: tmp.write_text(svg, encoding="utf-8"))
            atomic_write(out_dir / f"{name}.png",
                         lambda tmp: fig.savefig(tmp, format="png", dpi=150, metadata={"Software": None}))
        finally:
            plt.close(fig)
    plt.close(fig)
    svg = re.sub(r"^.*?(<svg\b)", r"\1", svg, count=1, flags=re.S)   # drop XML prolog / doctype
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # several SVGs inline in one page: make their ids (clip paths, glyphs, markers) unique per figure
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', rf'url(#{name}-\1)', svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{name}-\1"', svg)
    svg = re.sub(r'(?<![:\w])href="#([^"]+)"', rf'href="#{name}-\1"', svg)
    return svg.replace("<svg ", f'<svg class="chart" data-figure="{name}" role="img" ', 1)


def _raw(df: pd.DataFrame) -> np.ndarray:
    """Rows that are the coder's raw output (``estimator == "raw"``) among themes and postures."""
    if "estimator" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df["estimator"].astype(str).eq("raw").to_numpy()


def prevalence_by_wave(prev: pd.DataFrame, title: str, xlabel: str, small_label: str = "small cell",
                       lang: str = "en", raw_label: str | None = None) -> plt.Figure:
    """Dot + interval (level 1 - track.alpha) per item, one colour per wave (rows = items). With
    ``raw_label``, the coder's uncorrected figures are diamonds, named by that legend entry."""
    items = list(dict.fromkeys(prev["theme"]))
    labels = {r.theme: r.label for r in prev.itertuples()}
    waves = list(dict.fromkeys(prev["wave"]))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(items) + 1.2))
    off = np.linspace(-0.25, 0.25, len(waves)) if len(waves) > 1 else np.zeros(1)
    small_shown = raw_shown = False
    for k, w in enumerate(waves):
        sub = prev[prev["wave"] == w].set_index("theme").reindex(items)
        y = np.arange(len(items)) + off[k]
        color = PALETTE[k % len(PALETTE)]
        small = sub["small_cell"].fillna(True).astype(bool).to_numpy()
        x = sub["share"].to_numpy(dtype=float)
        err = np.vstack([x - sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float) - x])
        err = np.clip(np.nan_to_num(err), 0, None)
        raw = _raw(sub.reset_index()) if raw_label else np.zeros(len(items), dtype=bool)
        ok = ~small & ~raw
        ax.errorbar(x[ok], y[ok], xerr=err[:, ok], fmt="o", color=color, ms=5, capsize=2, label=str(w))
        if (raw & ~small).any():
            m = raw & ~small
            ax.errorbar(x[m], y[m], xerr=err[:, m], fmt="D", color=color, mfc="white", ms=5, capsize=2,
                        label=None if raw_shown else raw_label)
            raw_shown = True
        if small.any():
            ax.errorbar(x[small], y[small], xerr=err[:, small], fmt="o", color=SMALL, mfc="white", ms=5,
                        capsize=2, label=None if small_shown else small_label)
            small_shown = True
    ax.set_yticks(range(len(items)), [_wrap(labels[i]) for i in items])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(_percent(lang))
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, bottom=1.0)
    _legend_below(fig, ax, ncol=len(waves) + small_shown + raw_shown)
    return fig


def forest(ch: pd.DataFrame, title: str, xlabel: str, sig_label: str, lang: str = "en",
           raw_label: str | None = None) -> plt.Figure:
    """Change between waves: delta with its interval (level 1 - track.alpha); significant (q <
    alpha) in colour. With ``raw_label``, uncorrected changes are hollow diamonds, so named."""
    ch = ch.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(ch) + 1.2))
    y = np.arange(len(ch))
    d = ch["delta"].to_numpy(dtype=float)
    err = np.clip(np.nan_to_num(np.vstack([d - ch["ci_low"].to_numpy(dtype=float),
                                           ch["ci_high"].to_numpy(dtype=float) - d])), 0, None)
    sig = ch["significant"].to_numpy(dtype=bool)
    small = ch["small_cell"].to_numpy(dtype=bool)
    raw = _raw(ch) if raw_label else np.zeros(len(ch), dtype=bool)
    for mask, color, lab in ((sig & ~small, "#d62728", sig_label), (~sig & ~small, "#555555", None),
                             (small, SMALL, None)):
        for shape, part in (("o", mask & ~raw), ("D", mask & raw)):
            if part.any():
                ax.errorbar(d[part], y[part], xerr=err[:, part], fmt=shape, color=color, capsize=2, ms=5,
                            mfc="white" if shape == "D" else color, label=lab if shape == "o" else None)
    if raw.any():
        ax.errorbar([], [], fmt="D", color="#555555", mfc="white", ms=5, label=raw_label)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [_wrap(s) for s in ch["label"]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_percent(lang))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, bottom=1.0 if (sig.any() or raw.any()) else 0.6)
    if sig.any() or raw.any():
        _legend_below(fig, ax, ncol=1 + int(sig.any() and raw.any()))
    return fig


def heatmap(prev: pd.DataFrame, col: str, title: str, small_label: str, lang: str = "en",
            raw_label: str | None = None) -> plt.Figure:
    """Items x groups of ``col``; small cells hatched grey with no value. With ``raw_label``, the
    coder's uncorrected shares carry a ``*`` and the caption says what it means."""
    items = list(dict.fromkeys(prev["theme"]))
    labels = {r.theme: r.label for r in prev.itertuples()}
    groups = list(dict.fromkeys(prev[col].fillna("?").astype(str)))
    p = prev.assign(_g=prev[col].fillna("?").astype(str))
    share = p.pivot_table(index="theme", columns="_g", values="share", aggfunc="first").reindex(index=items, columns=groups)
    rawm = (p.assign(_raw=_raw(p)).pivot_table(index="theme", columns="_g", values="_raw", aggfunc="first")
            .reindex(index=items, columns=groups).fillna(False).astype(bool).to_numpy()) if raw_label else None
    small = p.pivot_table(index="theme", columns="_g", values="small_cell", aggfunc="first").reindex(
        index=items, columns=groups).fillna(True).astype(bool)
    fig, ax = plt.subplots(figsize=(1.0 * len(groups) + 4, 0.4 * len(items) + 1.4))
    vals = np.ma.masked_array(share.to_numpy(dtype=float), mask=small.to_numpy() | share.isna().to_numpy())
    im = ax.imshow(vals, cmap="Blues", aspect="auto", vmin=0, vmax=max(0.05, float(np.nanmax(share.to_numpy()) or 0.05)))
    for i in range(len(items)):
        for j in range(len(groups)):
            if vals.mask[i, j]:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#eeeeee", hatch="///",
                                           edgecolor=SMALL, lw=0))
            else:
                v = vals[i, j]
                star = "*" if rawm is not None and rawm[i, j] else ""
                ax.text(j, i, _percent(lang)(round(float(v), 2)) + star, ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * im.norm.vmax else "black")
    ax.set_xticks(range(len(groups)), [_wrap(g, 14) for g in groups], rotation=0)
    ax.set_yticks(range(len(items)), [_wrap(labels[i]) for i in items])
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.03, format=_percent(lang))
    if rawm is not None and rawm.any():
        small_label = f"{small_label} * {raw_label}"
    ax.text(0.0, -0.6 / max(len(items), 1) - 0.04, small_label, transform=ax.transAxes, ha="left", va="top", fontsize=7, color="#666666")
    _margins(fig, right=1.0, bottom=0.75)
    return fig


def transitions(trans: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> plt.Figure:
    """Posture transition matrix (rows: earlier wave, columns: later wave)."""
    cats = sorted(set(trans["posture_from"]) | set(trans["posture_to"]))
    m = (trans.pivot_table(index="posture_from", columns="posture_to", values="n_respondents", aggfunc="sum")
         .reindex(index=cats, columns=cats).fillna(0).to_numpy())
    fig, ax = plt.subplots(figsize=(1.3 * len(cats) + 2.5, 1.0 * len(cats) + 1.5))
    ax.imshow(m, cmap="Oranges", vmin=0)
    for i in range(len(cats)):
        for j in range(len(cats)):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", color="black")
    ax.set_xticks(range(len(cats)), [_wrap(c.replace("_", " "), 14) for c in cats])
    ax.set_yticks(range(len(cats)), [_wrap(c.replace("_", " "), 14) for c in cats])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    return fig


def overview(counts: pd.DataFrame, title: str, ylabel: str, lang: str = "en") -> plt.Figure:
    """Stacked bars: respondent words by wave, one colour per role."""
    piv = counts.pivot_table(index="wave", columns="role", values="n_words", aggfunc="sum").fillna(0)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bottom = np.zeros(len(piv))
    for k, role in enumerate(piv.columns):
        ax.bar([str(w) for w in piv.index], piv[role].to_numpy(), bottom=bottom, color=PALETTE[k % len(PALETTE)],
               label=str(role))
        bottom += piv[role].to_numpy()
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(_thousands(lang))
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)   # right of the bars
    return fig


def dendrogram(tree: dict, labels: dict[int, str], title: str) -> plt.Figure:
    """Reinert classes as a horizontal tree: the root on the left, one split per step to the
    right, the classes (``labels[c]``: size and words) at the leaves in class order 1..k."""
    splits = tree.get("splits", [])
    leaves = list(tree.get("leaves", []))
    k = len(leaves)
    y = {node: float(i) for i, node in enumerate(leaves)}
    x = {node: float(len(splits)) for node in leaves}
    for step in range(len(splits) - 1, -1, -1):          # a parent sits between its children, at its split's step
        sp = splits[step]
        a, b = sp["children"]
        y[sp["parent"]] = (y[a] + y[b]) / 2
        x[sp["parent"]] = float(step)
    fig, ax = plt.subplots(figsize=(10, 0.7 * k + 1.0))
    for sp in splits:
        px = x[sp["parent"]]
        a, b = sp["children"]
        ax.plot([px, px], [y[a], y[b]], color="#555555", lw=1.2)
        for child in (a, b):
            ax.plot([px, x[child]], [y[child], y[child]], color="#555555", lw=1.2)
    for i, node in enumerate(leaves):
        color = PALETTE[i % len(PALETTE)]
        ax.plot([x[node]], [y[node]], "o", color=color, ms=7)
        ax.text(x[node] + 0.25, y[node], labels.get(i + 1, str(i + 1)), va="center", ha="left", fontsize=8, color=color)
    ax.set_xlim(-0.3, len(splits) + 0.2)
    ax.set_ylim(k - 0.5, -0.5)
    ax.axis("off")
    ax.set_title(title, loc="left")
    fig.subplots_adjust(left=0.02, right=0.3 if len(splits) else 0.1, top=1 - 0.45 / (0.7 * k + 1.0), bottom=0.02)
    fig._tm_fixed = True
    return fig
