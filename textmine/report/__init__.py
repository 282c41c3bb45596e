"""One self-contained HTML report (inline SVG charts, no script, no network) + PNG/SVG figures.

``write_report(store, "report.html", language="fr")`` writes ``report.html`` and, next to it,
``report_figures/*.png|svg`` (matplotlib, for papers). Text is pseudonymised.
"""
from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..errors import E, TextmineError
from ..export.files import atomic_write, check_writable
from ..i18n import REPORT
from ..stats import ci_label
from ..store import Store
from ..track import prevalence
from ..track.data import load_items
from . import sections as S
from .html import esc, page


def build_html(store: Store, language: str = "fr", fig_dir: Path | None = None) -> str:
    if language not in REPORT:
        raise TextmineError(E.E005, detail=f"language {language!r}; valid: {', '.join(REPORT)}")
    t = REPORT[language]
    if store.config.track.alpha != 0.05:      # the texts say "95 %": the intervals' level is 1 - alpha
        t = {k: (v.replace("95 %", ci_label(store.config.track.alpha)) if isinstance(v, str) else v)
             for k, v in t.items()}
    data = load_items(store, require_codings=False)
    c = S.Ctx(store, data, language, t, fig_dir)
    secs = [S.overview(c)]
    has_items = len(data.items) > 0
    if not has_items:
        secs.append(("themes", t["prevalence"], f"<p>{esc(t['no_codings'])}</p>"))
    else:
        waves = data.waves()
        prev = prevalence(store, by=["wave"], data=data)
        if (prev["kind"] != "topic").any():
            secs.append(S.prevalence_section(c, prev))
        change_frames = []
        if len(waves) > 1:
            sec, change_frames = S.changes_section(c, waves)
            if (prev["kind"] != "topic").any():
                secs.append(sec)
        if (prev["kind"] != "topic").any():
            secs.append(S.calibration_section(c, prev))
            secs.append(S.heatmaps(c))
            if len(waves) > 1:
                secs.append(S.panel_section(c, waves))
        secs.append(S.topics_section(c, prev, change_frames))
        if data.run_id:
            secs.append(S.quotes_section(c))
        else:
            secs.append(("quotes", t["quotes"], f"<p>{esc(t['no_codings'])}</p>"))
    secs.append(S.lexicon_section(c))
    secs.append(S.method_section(c))
    footer = f"textmine {__version__} — config {store.config.hash()}"
    return page(language, t["title"], t["subtitle"], t["privacy"], t["toc"], secs, footer)


def write_report(store: Store, output: str | Path, language: str = "fr", *, figures: bool = True) -> Path:
    """Write the report atomically (temp file + rename, mode from the umask); figures in
    ``<stem>_figures/``. An unwritable destination is E602 before anything is computed."""
    output = check_writable(output)
    fig_dir = output.parent / f"{output.stem}_figures" if figures else None
    text = build_html(store, language, fig_dir)
    return atomic_write(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))


__all__ = ["write_report", "build_html"]
