"""Report sections. Each builder returns ``(id, title, html_body)``; figures are inline SVG."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..attribution import attribution, role_label, source_ref
from ..store import Store
from ..records import sort_by_wave
from ..track import changes, panel, prevalence
from ..track.data import TrackData
from . import plots
from .html import esc, figure, num, pct, signed_pct, table


@dataclass
class Ctx:
    store: Store
    data: TrackData | None
    lang: str
    t: dict
    fig_dir: Path | None

    def fmt(self, key: str, **kw) -> str:
        cfg = self.store.config
        base = dict(n_boot=cfg.track.n_boot, n_perm=cfg.track.n_perm, seed=cfg.random_state,
                    min_itv=cfg.track.min_interviews, alpha=cfg.track.alpha)
        return self.t[key].format(**{**base, **kw})

    def role(self, r) -> str:
        return role_label(r, self.lang)


def overview(c: Ctx) -> tuple[str, str, str]:
    seg = c.store.query(
        "SELECT i.wave, s.role, count(DISTINCT s.interview_id) AS n_interviews, count(*) AS n_segments, "
        "coalesce(sum(s.n_words), 0) AS n_words FROM segments s JOIN interviews i USING (interview_id) "
        "GROUP BY i.wave, s.role ORDER BY i.wave, s.role")
    seg = sort_by_wave(seg)
    rows = [(r.wave, c.role(r.role), num(int(r.n_interviews)), num(int(r.n_segments)), num(int(r.n_words)))
            for r in seg.itertuples()]
    body = table([c.t["wave"], c.t["role"], c.t["interviews"], c.t["segments"], c.t["words"]], rows,
                 numeric=(2, 3, 4))
    resp = seg[~seg["role"].isin(["interviewer", "other"])].assign(role=lambda d: d["role"].map(c.role))
    if len(resp):
        fig = plots.overview(resp, c.t["overview_fig"], c.t["words"])
        body += figure(plots.save(fig, "overview", c.fig_dir), c.t["overview_fig"])
    return "overview", c.t["overview"], body


def _themes_only(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["kind"].isin(["theme", "posture"])]


def prevalence_section(c: Ctx, prev: pd.DataFrame) -> tuple[str, str, str]:
    p = _themes_only(prev)
    svg = plots.save(plots.prevalence_by_wave(p, c.t["prevalence_fig"], c.t["share_segments"],
                                                c.fmt("small_cells")),
                     "prevalence_by_wave", c.fig_dir)
    body = f'<p class="note">{esc(c.fmt("prevalence_note"))}</p>' + figure(svg, c.t["prevalence_fig"])
    rows = [(r.label, r.wave, pct(r.share), f"{pct(r.ci_low)} – {pct(r.ci_high)}", num(r.n_hits),
             num(r.n_interviews_hit)) for r in p.itertuples()]
    body += "<details><summary>" + esc(c.t["prevalence"]) + "</summary>" + table(
        [c.t["theme"], c.t["wave"], c.t["share"], c.t["ci"], c.t["segments"], c.t["interviews"]], rows,
        numeric=(2, 3, 4, 5), row_classes=["small" if s else "" for s in p["small_cell"]]) + "</details>"
    return "prevalence", c.t["prevalence"], body


def changes_section(c: Ctx, waves: list[str]) -> tuple[tuple[str, str, str], list[pd.DataFrame]]:
    body, frames = "", []
    for a, b in zip(waves, waves[1:]):
        ch = changes(c.store, a, b, data=c.data)
        frames.append(ch)
        th = _themes_only(ch)
        title = c.fmt("changes_fig", a=a, b=b)
        svg = plots.save(plots.forest(th, title, "Δ", c.fmt("significant")), f"changes_{a}_{b}", c.fig_dir)
        body += f"<h3>{esc(a)} → {esc(b)}</h3>" + figure(svg, title)
        body += f'<p class="note">{esc(c.fmt("changes_note", a=a, b=b))}</p>'
        rows = [(r.label, pct(r.share_from), pct(r.share_to), signed_pct(r.delta),
                 f"{signed_pct(r.ci_low)} ; {signed_pct(r.ci_high)}", num(r.p_value), num(r.q_value))
                for r in th.itertuples()]
        body += table([c.t["theme"], a, b, c.t["delta"], c.t["ci"], c.t["p"], c.t["q"]], rows,
                      numeric=(1, 2, 3, 4, 5, 6),
                      row_classes=["small" if s else ("sig" if g else "") for s, g in
                                   zip(th["small_cell"], th["significant"])])
    return ("changes", c.t["changes"], body), frames


def heatmaps(c: Ctx) -> tuple[str, str, str]:
    body = ""
    for col, key in (("role", "heat_role"), ("territory", "heat_territory")):
        prev = _themes_only(prevalence(c.store, by=[col], data=c.data))
        if prev[col].notna().sum() == 0:
            continue
        if col == "role":
            prev = prev.assign(role=prev["role"].map(c.role))
        svg = plots.save(plots.heatmap(prev, col, c.t[key], c.fmt("small_cells")), f"heatmap_{col}", c.fig_dir)
        body += figure(svg, c.t[key])
    return "heatmaps", c.t["heatmaps"], body


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
        body += figure(svg, title)
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
        rows = [(r.label, num(int(r.n_up)), num(int(r.n_down)), num(int(r.n_same)), signed_pct(r.mean_delta))
                for r in res.theme_summary.itertuples()]
        body += table([c.t["theme"], c.t["up"], c.t["down"], c.t["same"], c.t["mean_delta"]], rows,
                      numeric=(1, 2, 3, 4))
    return "panel", c.t["panel"], body


def topics_section(c: Ctx, prev: pd.DataFrame, change_frames: list[pd.DataFrame]) -> tuple[str, str, str]:
    tp = prev[prev["kind"] == "topic"]
    if tp.empty:
        return "topics", c.t["topics"], f"<p>{esc(c.t['topics_none'])}</p>"
    fig = plots.prevalence_by_wave(tp, c.t["topics_fig"], c.t["share_segments"], c.fmt("small_cells"))
    svg = plots.save(fig, "topics_by_wave", c.fig_dir)
    body = figure(svg, c.t["topics_fig"]) + _topic_words(c)
    for ch in change_frames:
        t = ch[ch["kind"] == "topic"]
        if t.empty:
            continue
        a, b = t["wave_from"].iloc[0], t["wave_to"].iloc[0]
        rows = [(r.theme, r.label, pct(r.share_from), pct(r.share_to), signed_pct(r.delta), num(r.q_value),
                 c.t.get(r.status, r.status)) for r in t.itertuples()]
        body += f"<h3>{esc(a)} → {esc(b)}</h3>" + table(
            ["id", c.t["theme"], a, b, c.t["delta"], c.t["q"], c.t["status"]], rows, numeric=(2, 3, 4, 5),
            row_classes=["sig" if s else "" for s in t["significant"]])
    return "topics", c.t["topics"], body


def _topic_words(c: Ctx) -> str:
    """Table of the current model's topics with their top words (topic_info.words: JSON list)."""
    if not c.data.topic_model or not c.store.has_table("topic_info"):
        return ""
    info = c.store.query("SELECT topic, label, words FROM topic_info WHERE model_id = ? AND topic >= 0 ORDER BY topic",
                         [c.data.topic_model])
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
    for j, item in enumerate(d.items):
        if d.kinds[j] != "theme":
            continue
        block = ""
        for w in waves:
            rows = np.flatnonzero(d.X[:, j] & (seg["wave"] == w).to_numpy())
            if not len(rows):
                continue
            order = rows[np.argsort(-np.nan_to_num(d.scores[rows, j], nan=-1.0), kind="stable")]
            picked = seg.iloc[order].drop_duplicates("interview_id").head(k)
            for r in picked.to_dict(orient="records"):
                block += (f"<blockquote>« {esc(r.get('text_pseudo'))} »<span class=\"attr\">"
                          f"{esc(attribution(r, c.lang))} — {esc(source_ref(r))}</span></blockquote>")
        if block:
            body += f"<details><summary>{esc(d.labels.get(item, item))}</summary>{block}</details>"
    return "quotes", c.t["quotes"], body
