"""Report sections. Each builder returns ``(id, title, html_body)``; figures are inline SVG."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..attribution import attribution, role_label, source_ref
from ..calibrate.drift import agreement_by_wave, coder_drift
from ..errors import TextmineError
from ..lexicon import class_crosstab, class_profiles, current_classes, specificities
from ..store import Store
from ..records import sort_by_wave
from ..track import changes, panel, prevalence
from ..track.data import TrackData
from ..themes import codings
from ..themes.codebook import load_codebook
from ..topics import query as topic_query
from . import plots
from .html import decimal, esc, figure, num, pct, signed_pct, table


@dataclass
class Ctx:
    store: Store
    data: TrackData | None
    lang: str
    t: dict
    fig_dir: Path | None

    def fmt(self, key: str, **kw) -> str:
        cfg = self.store.config
        base = dict(n_boot=self.num(cfg.track.n_boot), n_perm=self.num(cfg.track.n_perm), seed=cfg.random_state,
                    min_itv=cfg.track.min_interviews, alpha=decimal(cfg.track.alpha, self.lang),
                    min_coded=cfg.calibration.min_coded)
        return self.t[key].format(**{**base, **kw})

    def role(self, r) -> str:
        return role_label(r, self.lang)

    # numbers as written in the report's language (decimal comma in French)
    def pct(self, v) -> str:
        return pct(v, lang=self.lang)

    def spct(self, v) -> str:
        return signed_pct(v, lang=self.lang)

    def num(self, v) -> str:
        return num(v, lang=self.lang)

    def est(self, e) -> str:
        """``corrigé`` / ``brut`` (corrected / raw) for an estimator value."""
        return self.t.get(str(e), str(e))


def overview(c: Ctx) -> tuple[str, str, str]:
    seg = sort_by_wave(c.store.segment_counts())
    rows = [(r.wave, c.role(r.role), c.num(int(r.n_interviews)), c.num(int(r.n_segments)), c.num(int(r.n_words)))
            for r in seg.itertuples()]
    body = table([c.t["wave"], c.t["role"], c.t["interviews"], c.t["segments"], c.t["words"]], rows,
                 numeric=(2, 3, 4))
    resp = seg[~seg["role"].isin(["interviewer", "other"])].assign(role=lambda d: d["role"].map(c.role))
    if len(resp):
        fig = plots.overview(resp, c.t["overview_fig"], c.t["words"], lang=c.lang)
        body += figure(plots.save(fig, "overview", c.fig_dir))
    return "overview", c.t["overview"], body


def _themes_only(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["kind"].isin(["theme", "posture"])]


def prevalence_section(c: Ctx, prev: pd.DataFrame) -> tuple[str, str, str]:
    p = _themes_only(prev)
    svg = plots.save(plots.prevalence_by_wave(p, c.t["prevalence_fig"], c.t["share_segments"],
                                                c.fmt("small_cells"), lang=c.lang, raw_label=c.t["raw_mark"]),
                     "prevalence_by_wave", c.fig_dir)
    body = f'<p class="note">{esc(c.fmt("prevalence_note"))}</p>' + figure(svg, c.fmt("prevalence_read"))
    rows = [(r.label, r.wave, c.pct(r.share), f"{c.pct(r.ci_low)} – {c.pct(r.ci_high)}", c.est(r.estimator),
             c.num(r.n_hits), c.num(r.n_interviews_hit)) for r in p.itertuples()]
    body += "<details><summary>" + esc(c.t["prevalence"]) + "</summary>" + table(
        [c.t["theme"], c.t["wave"], c.t["share"], c.t["ci"], c.t["estimator"], c.t["segments"], c.t["interviews"]],
        rows, numeric=(2, 3, 5, 6), row_classes=["small" if s else "" for s in p["small_cell"]]) + "</details>"
    return "prevalence", c.t["prevalence"], body


def changes_section(c: Ctx, waves: list[str]) -> tuple[tuple[str, str, str], list[pd.DataFrame]]:
    body, frames = "", []
    for a, b in zip(waves, waves[1:]):
        ch = changes(c.store, a, b, data=c.data)
        frames.append(ch)
        th = _themes_only(ch)
        title = c.fmt("changes_fig", a=a, b=b)
        svg = plots.save(plots.forest(th, title, "Δ", c.fmt("significant"), lang=c.lang, raw_label=c.t["raw_mark"]),
                         f"changes_{a}_{b}", c.fig_dir)
        body += f"<h3>{esc(a)} → {esc(b)}</h3>" + figure(svg, c.fmt("changes_read"))
        body += f'<p class="note">{esc(c.fmt("changes_note", a=a, b=b))}</p>'
        rows = [(r.label, c.pct(r.share_from), c.pct(r.share_to), c.spct(r.delta),
                 f"{c.spct(r.ci_low)} ; {c.spct(r.ci_high)}", c.num(r.p_value), c.num(r.q_value),
                 c.est(r.estimator)) for r in th.itertuples()]
        body += table([c.t["theme"], a, b, c.t["delta"], c.t["ci"], c.t["p"], c.t["q"], c.t["estimator"]], rows,
                      numeric=(1, 2, 3, 4, 5, 6),
                      row_classes=["small" if s else ("sig" if g else "") for s, g in
                                   zip(th["small_cell"], th["significant"])])
    return ("changes", c.t["changes"], body), frames


def merge_small_groups(sizes: dict[str, int], min_size: int) -> dict[str, str]:
    """Group -> shown group: groups with fewer than ``min_size`` interviews are pooled, smallest
    first, into ``A + B`` groups of at least ``min_size`` (a remainder joins the previous pool).
    Large groups keep their name, and so does a small group with nothing small to join."""
    small = sorted((g for g, n in sizes.items() if n < min_size), key=lambda g: (sizes[g], str(g)))
    pools: list[list[str]] = [[]]
    for g in small:
        if sum(sizes[x] for x in pools[-1]) >= min_size:
            pools.append([])
        pools[-1].append(g)
    if len(pools) > 1 and sum(sizes[x] for x in pools[-1]) < min_size:
        last = pools.pop()
        pools[-1] += last
    out = {g: g for g in sizes}
    for pool in pools:
        name = " + ".join(sorted(pool, key=str))
        out.update({g: name for g in pool})
    return out


def heatmaps(c: Ctx) -> tuple[str, str, str]:
    body = ""
    for col, key in (("role", "heat_role"), ("territory", "heat_territory")):
        data, note = c.data, ""
        if col == "territory" and c.data.segments[col].notna().any():
            seg = c.data.segments
            sizes = seg.dropna(subset=[col]).groupby(col)["interview_id"].nunique().to_dict()
            shown = merge_small_groups({str(k): int(v) for k, v in sizes.items()}, c.store.config.track.min_interviews)
            merged = sorted({v for k, v in shown.items() if v != k})
            if merged:
                data = replace(c.data, segments=seg.assign(**{col: seg[col].map(lambda v: shown.get(str(v), v)
                                                                                 if isinstance(v, str) else v)}))
                note = " " + c.fmt("heat_merged", groups=", ".join(merged))
        prev = _themes_only(prevalence(c.store, by=[col], data=data))
        if prev[col].notna().sum() == 0:
            continue
        if col == "role":
            prev = prev.assign(role=prev["role"].map(c.role))
        svg = plots.save(plots.heatmap(prev, col, c.t[key], c.fmt("small_cells"), lang=c.lang,
                                       raw_label=c.t["raw_mark"]), f"heatmap_{col}", c.fig_dir)
        body += figure(svg, c.fmt("heat_read") + note)
        n_cal = int((prev["estimator"] == "calibrated").sum())
        if n_cal:
            body += f'<p class="note">{esc(c.fmt("heat_mixed", n_cal=n_cal, n_raw=len(prev) - n_cal))}</p>'
    return "heatmaps", c.t["heatmaps"], body


def calibration_section(c: Ctx, prev: pd.DataFrame) -> tuple[str, str, str]:
    """Which figures are corrected and with what; the coder against the human codes per wave; its drift."""
    smp = prev.attrs.get("calibration_samples", {})
    if not smp:
        notes = "".join(f"<li>{esc(n)}</li>" for n in prev.attrs.get("calibration_notes", []))
        return "calibration", c.t["calibration"], (f"<p>{esc(c.t['calibration_none'])}</p>"
                                                   + (f'<ul class="note">{notes}</ul>' if notes else ""))
    body = f"<p>{esc(c.fmt('calibration_note'))}</p>"
    used = ", ".join(f"{w}: {s}" for w, s in smp.items())
    body += f'<p class="note">{esc(c.fmt("calibration_samples", samples=used))}</p>'
    res = agreement_by_wave(c.store, c.data, n_boot=c.store.config.track.n_boot)
    for w, r in res.items():
        t = r["table"]
        t = t[~t["theme"].isin(["all_decisions"])]
        rows = [(c.data.labels.get(x.theme, x.theme), c.num(x.kappa), f"{c.num(x.kappa_lo)} – {c.num(x.kappa_hi)}",
                 c.num(x.f1), c.num(x.precision), c.num(x.recall), c.num(int(x.support))) for x in t.itertuples()]
        body += f"<h3>{esc(c.fmt('agreement_wave', w=w, s=r['sample'], n=r['n']))}</h3>" + table(
            [c.t["theme"], "kappa", c.t["ci"], "F1", c.t["precision"], c.t["recall"], "n+"], rows,
            numeric=(1, 2, 3, 4, 5, 6))
    body += f'<p class="note">{esc(c.t["agreement_note"])}</p>'
    waves = [w for w in c.data.waves() if w in smp]
    for a, b in zip(waves, waves[1:]):
        d = coder_drift(c.store, a, b, c.data)
        if d.empty:
            continue
        body += f"<h3>{esc(c.t['drift'])} : {esc(a)} → {esc(b)}</h3>"
        rows = [(c.data.labels.get(x.theme, x.theme), c.pct(x.error_from), c.pct(x.error_to), c.spct(x.delta),
                 f"{c.spct(x.ci_low)} ; {c.spct(x.ci_high)}", c.num(x.q_value)) for x in d.itertuples()]
        body += table([c.t["theme"], a, b, c.t["delta"], c.t["ci"], c.t["q"]], rows, numeric=(1, 2, 3, 4, 5),
                      row_classes=["sig" if s else "" for s in d["significant"]])
        for x in d[d["significant"]].itertuples():
            warn = c.fmt("drift_warn", t=c.data.labels.get(x.theme, x.theme), a=c.pct(x.error_from), wa=a,
                         b=c.pct(x.error_to), wb=b, q=c.num(x.q_value))
            body += f'<p class="privacy">{esc(warn)}</p>'
    return "calibration", c.t["calibration"], body


def panel_section(c: Ctx, waves: list[str]) -> tuple[str, str, str]:
    res = panel(c.store, waves[0], waves[-1], language=c.lang, data=c.data)
    if res.respondents.empty:
        return "panel", c.t["panel"], f"<p>{esc(c.t['panel_none'])}</p>"
    a, b = res.wave_from, res.wave_to
    body = f"<p>{esc(c.fmt('panel_intro', n=len(res.respondents), a=a, b=b, m=int(res.respondents['moved'].sum())))}</p>"
    if len(res.transitions) and (res.transitions["posture_from"] != "none").any():
        title = c.fmt("transitions_fig", a=a, b=b)
        svg = plots.save(plots.transitions(res.transitions, title, c.fmt("to_wave", b=b), c.fmt("from_wave", a=a)),
                         "panel_transitions", c.fig_dir)
        body += figure(svg)
    if len(res.movers):
        body += f"<h3>{esc(c.t['movers'])}</h3>"
        for m in res.movers.itertuples():
            body += (f"<p><strong>{esc(m.respondent_id)}</strong> ({esc(c.role(m.role))}) : "
                     f"{esc(m.posture_from.replace('_', ' '))} → {esc(m.posture_to.replace('_', ' '))}</p>")
            for side in ("from", "to"):
                body += (f"<blockquote>« {esc(getattr(m, 'quote_' + side))} »<span class=\"attr\">"
                         f"{esc(getattr(m, 'attribution_' + side))} — {esc(getattr(m, 'source_' + side))}"
                         f"</span></blockquote>")
    if len(res.theme_summary):
        body += f"<h3>{esc(c.t['theme_panel'])}</h3>"
        rows = [(r.label, c.num(int(r.n_up)), c.num(int(r.n_down)), c.num(int(r.n_same)), c.spct(r.mean_delta),
                 f"{c.spct(r.ci_low)} ; {c.spct(r.ci_high)}", c.est(r.estimator))
                for r in res.theme_summary.itertuples()]
        body += table([c.t["theme"], c.t["up"], c.t["down"], c.t["same"], c.t["mean_delta"], c.t["ci"],
                       c.t["estimator"]], rows, numeric=(1, 2, 3, 4, 5))
    return "panel", c.t["panel"], body


def topics_section(c: Ctx, prev: pd.DataFrame, change_frames: list[pd.DataFrame]) -> tuple[str, str, str]:
    tp = prev[prev["kind"] == "topic"]
    if tp.empty:
        return "topics", c.t["topics"], f"<p>{esc(c.t['topics_none'])}</p>"
    fig = plots.prevalence_by_wave(tp, c.t["topics_fig"], c.t["share_segments"], c.fmt("small_cells"), lang=c.lang)
    svg = plots.save(fig, "topics_by_wave", c.fig_dir)
    body = figure(svg, c.fmt("prevalence_read")) + _topic_words(c)
    for ch in change_frames:
        t = ch[ch["kind"] == "topic"]
        if t.empty:
            continue
        a, b = t["wave_from"].iloc[0], t["wave_to"].iloc[0]
        rows = [(r.theme, r.label, c.pct(r.share_from), c.pct(r.share_to), c.spct(r.delta), c.num(r.q_value),
                 c.t.get(r.status, r.status)) for r in t.itertuples()]
        body += f"<h3>{esc(a)} → {esc(b)}</h3>" + table(
            ["id", c.t["theme"], a, b, c.t["delta"], c.t["q"], c.t["status"]], rows, numeric=(2, 3, 4, 5),
            row_classes=["sig" if s else "" for s in t["significant"]])
    return "topics", c.t["topics"], body


def _topic_words(c: Ctx) -> str:
    """Table of the current model's topics with their top words (topic_info.words: JSON list)."""
    if not c.data.topic_model:
        return ""
    info = topic_query.topic_labels(c.store, c.data.topic_model, ("topic", "label", "words"))
    rows = []
    for r in info.itertuples():
        try:
            words = json.loads(r.words) if isinstance(r.words, str) and r.words.startswith("[") else r.words
        except ValueError:
            words = r.words
        words = ", ".join(map(str, words[:10])) if isinstance(words, list) else str(words or "")
        rows.append((f"topic:{int(r.topic)}", r.label, words))
    return table(["id", c.t["theme"], c.t["words"]], rows) if rows else ""


def quotes_section(c: Ctx) -> tuple[str, str, str]:
    d = c.data
    seg = d.segments
    k = c.store.config.report.quotes_per_theme
    body = f'<p class="note">{esc(c.t["quotes_note"])}</p>'
    waves = d.waves()
    in_wave = {w: (seg["wave"] == w).to_numpy() for w in waves}
    itv = pd.factorize(seg["interview_id"])[0]       # missing ids: one code, as drop_duplicates treats them
    for j, item in enumerate(d.items):
        if d.kinds[j] != "theme":
            continue
        block = ""
        for w in waves:
            rows = np.flatnonzero(d.X[:, j] & in_wave[w])
            if not len(rows):
                continue
            order = rows[np.argsort(-np.nan_to_num(d.scores[rows, j], nan=-1.0), kind="stable")]
            first = np.sort(np.unique(itv[order], return_index=True)[1])[:k]    # each interview's best, best first
            picked = seg.iloc[order[first]]
            for r in picked.to_dict(orient="records"):
                block += (f"<blockquote>« {esc(r.get('text_pseudo'))} »<span class=\"attr\">"
                          f"{esc(attribution(r, c.lang))} — {esc(source_ref(r))}</span></blockquote>")
        if block:       # headings, not <details>: the extracts must show when the report is printed
            body += f"<h3>{esc(d.labels.get(item, item))}</h3>{block}"
    return "quotes", c.t["quotes"], body


#: readable names of the bundled encoders (ids of :mod:`textmine.embed`)
ENCODER_NAMES = {"e5-small": "multilingual-e5-small", "use-multilingual": "Universal Sentence Encoder multilingual"}


def _encoder_name(key: str) -> str:
    name, _, version = str(key).partition("@")
    return f"{ENCODER_NAMES.get(name, name)} ({version})" if version else ENCODER_NAMES.get(name, name)


def method_section(c: Ctx) -> tuple[str, str, str]:
    """The method note: unit, measures, the coder, the codebook and the encoder by name."""
    cfg = c.store.config
    run = (codings.current_run_record(c.store) if c.data is not None and c.data.run_id else None) or {}
    try:
        cb = load_codebook(cfg.codebook_path())
        book = c.fmt("method_codebook", name=Path(cb.path).name, version=cb.version, n=len(cb.themes),
                     hash=cb.hash[:8])
    except TextmineError:
        book = Path(cfg.codebook_path()).name
    if not run:
        coder = c.t["method_none"]
    elif str(run.get("model_id", "")).startswith("zeroshot"):
        coder = c.fmt("method_zeroshot", codebook=book)
    else:
        model = Path(str(run.get("model_dir") or "")).name or str(run.get("model_id"))
        coder = c.fmt("method_supervised", codebook=book, model=model)
    encoder = _encoder_name(run.get("encoder") or cfg.embed.encoder)
    topics = c.t["none"]
    n = topic_query.n_topics(c.store, c.data.topic_model) if c.data is not None and c.data.topic_model else None
    if n is not None:
        topics = c.fmt("method_topics", n=n)
    text = c.fmt("method_text", coder=coder, encoder=encoder, topics=topics)
    return "method", c.t["method"], f"<p>{esc(text)}</p>"


def lexicon_section(c: Ctx) -> tuple[str, str, str]:
    """Specificities per wave (else per role), the Reinert classes (dendrogram, profiles,
    characteristic segments) and their cross-tabulation with topics and themes."""
    t = c.t
    seg = c.data.segments

    def one(v: float) -> str:      # a score or chi-square with one decimal, as the language writes it
        return num(float(v), digits=1, lang=c.lang)

    by = next((col for col in ("wave", "role") if seg[col].dropna().nunique() > 1), None)
    body = ""
    if by is None:
        body += f"<p>{esc(t['spec_none'])}</p>"
    else:
        sp = specificities(c.store, by=by, top=12, under=False, segments=seg)
        groups = sp.attrs["groups"]
        label = (lambda g: g) if by == "wave" else c.role
        sizes = ", ".join(f"{label(g)} {c.num(n)} {t['words']}" for g, n in sp.attrs["part_sizes"].items())
        body += f"<h3>{esc(c.fmt('spec_title', by=t[by].lower()))}</h3>"
        body += f'<p class="note">{esc(c.fmt("spec_note", banality=one(sp.attrs["banality"]), sizes=sizes))}</p>'
        cols = [[f"{r.word} ({one(r.score)})" for r in sp[sp["group"] == g].itertuples()] for g in groups]
        depth = max((len(x) for x in cols), default=0)
        body += table([label(g) for g in groups], [[x[i] if i < len(x) else "" for x in cols] for i in range(depth)])
    run = current_classes(c.store, required=False)
    if run is None:
        return "lexicon", t["lexicon"], body + f"<h3>{esc(t['classes_title'])}</h3><p>{esc(t['classes_none'])}</p>"
    try:
        prof = class_profiles(c.store, run, n_words=10, n_modalities=4, n_segments=2)
    except TextmineError as exc:          # a run over segments since replaced
        return "lexicon", t["lexicon"], body + f"<h3>{esc(t['classes_title'])}</h3><p>{esc(exc.message)}</p>"
    p = run.params
    body += f"<h3>{esc(t['classes_title'])}</h3>"
    sizes_used = list(p.get("double_sizes", [])) if p.get("double") else [p.get("min_segment_size", 0)]
    merge = (c.fmt("classes_merge", mss=" / ".join(map(str, sizes_used))) if max(sizes_used, default=0) > 1
             else t["classes_nomerge"])
    body += '<p class="note">' + esc(c.fmt("classes_note", kind=t["classes_double" if p.get("double") else "classes_simple"],
                                             k=run.n_classes, merge=merge,
                                             min_split=p.get("min_split_members"), classified=c.num(prof.n_classified),
                                             n=c.num(prof.n_segments),
                                             pct=c.pct(prof.n_classified / max(prof.n_segments, 1)))) + "</p>"
    words = prof.profiles[prof.profiles["kind"] == "word"]
    mods = prof.profiles[prof.profiles["kind"] == "modality"]
    sizes = prof.sizes.set_index("class")
    if run.tree.get("splits"):
        labels = {cl: f"{t['class']} {cl} — {int(sizes.at[cl, 'segments'])} {t['segments_short']} "
                      f"({pct(sizes.at[cl, 'share'], 0, lang=c.lang)})\n"
                      + ", ".join(words[words["class"] == cl]["term"].head(6)) for cl in sizes.index}
        svg = plots.save(plots.dendrogram(run.tree, labels, t["dendrogram"]), "lexicon_dendrogram", c.fig_dir)
        body += figure(svg, t["dendrogram_read"])
    waves = prof.shares[prof.shares["by"] == "wave"]
    rows = []
    for cl in sizes.index:
        rows.append((str(cl), f"{c.num(int(sizes.at[cl, 'segments']))} ({c.pct(sizes.at[cl, 'share'])})",
                     ", ".join(f"{r.term} ({one(r.chi2)})" for r in words[words["class"] == cl].itertuples()),
                     ", ".join(mods[mods["class"] == cl]["term"]),
                     ", ".join(f"{r.value} {pct(r.share, 0, lang=c.lang)}"
                               for r in waves[waves["class"] == cl].itertuples())))
    body += table([t["class"], t["segments"], t["top_words"], t["modalities"], t["share_by_wave"]], rows)
    quotes = "".join(f"<blockquote>{esc(t['class'])} {r.cls} — « {esc(r.text)} »<span class=\"attr\">"
                     f"{esc(r.attribution)} — {esc(r.source)}</span></blockquote>"
                     for r in prof.segments.rename(columns={"class": "cls"}).itertuples())
    if quotes:        # a heading, not <details>: the extracts must show when the report is printed
        body += f"<h4>{esc(t['class_segments'])}</h4>{quotes}"
    ct = class_crosstab(c.store, run)
    body += f"<h3>{esc(t['crosstab_title'])}</h3>"
    if ct.empty:
        return "lexicon", t["lexicon"], body + f"<p>{esc(t['crosstab_none'])}</p>"
    body += f'<p class="note">{esc(t["crosstab_note"])}</p>'

    def items(g: pd.DataFrame) -> str:
        return "; ".join(f"{r.label} ({pct(r.share_of_class, 0, lang=c.lang)}, +{one(r.chi2)})"
                         for r in g.head(4).itertuples())
    rows = [(str(cl), items(g[g["kind"] == "topic"]), items(g[g["kind"] != "topic"]))
            for cl, g in ct[ct["chi2"] > 3.84].sort_values(["class", "chi2"], ascending=[True, False]).groupby("class")]
    body += table([t["class"], t["topic_col"], t["theme"]], rows)
    return "lexicon", t["lexicon"], body
