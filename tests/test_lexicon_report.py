"""The lexicometry section of the HTML report, and the lexicon stage of `textmine run`."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers_lexicon import build_lexicon_store
from textmine.lexicon import fit_classes
from textmine.report import build_html
from textmine.store import Store


def _section(html: str) -> str:
    return html[html.index('<section id="lexicon">'):html.index("</section>", html.index('<section id="lexicon">'))]


@pytest.mark.slow
def test_report_lexicon_section(tmp_path):
    store, truth = build_lexicon_store(tmp_path / "p")
    no_classes = _section(build_html(store, "fr"))
    assert "Spécificités par vague" in no_classes and "précarité" in no_classes
    assert "textmine lexicon classes" in no_classes
    fit_classes(store, k=3, min_segment_size=0)
    store.write_frame("theme_codings", pd.DataFrame({
        "run_id": "r", "model_id": "m", "segment_id": truth["segment_id"], "theme": "demarches_administratives",
        "score": 1.0, "assigned": truth["truth"] == 1, "posture": None}))
    store.set_kv("themes.current_run", {"run_id": "r"})
    store.close()
    with Store(tmp_path / "p", read_only=True) as ro:          # `textmine report` reads the store only
        sec = _section(build_html(ro, "fr", fig_dir=tmp_path / "fig"))
        en = _section(build_html(ro, "en"))
    assert 'data-figure="lexicon_dendrogram"' in sec and (tmp_path / "fig" / "lexicon_dendrogram.png").exists()
    for word in ("tablette", "préfecture", "subvention", "*role_elu"):
        assert word in sec, word
    assert re.search(r"Démarches administratives[^<]*\(100\s%, \+\d+,\d\)", sec)     # crosstab row, French decimals
    assert "Marie Durand" not in sec and "Segments caractéristiques" in sec and "I0" in sec
    assert "Lexical classes" in en and "Specificities by wave" in en


def test_report_single_wave_and_role(tmp_path):
    store, _ = build_lexicon_store(tmp_path / "p")
    store.con.execute("UPDATE interviews SET wave = '2022'")
    store.con.execute("UPDATE segments SET role = 'conum' WHERE role <> 'interviewer'")
    sec = _section(build_html(store, "fr"))
    assert "pas de spécificités à comparer" in sec
    store.con.execute("UPDATE segments SET role = 'elu' WHERE interview_id IN ('I00', 'I01') AND role <> 'interviewer'")
    assert "Spécificités par rôle" in _section(build_html(store, "fr"))
    store.close()


@pytest.mark.slow
def test_run_stage_classifies_and_reports(demo_project):
    """`textmine run` on the demo corpus leaves classes, a lexicon report section and a stage."""
    with Store(demo_project, read_only=True) as s:
        from textmine.lexicon import current_classes
        run = current_classes(s)
        assert run.n_classes >= 3
        stages = s.get_kv("pipeline.stages")
        assert "lexicon" in stages
    html = (demo_project / "outputs" / "report.html").read_text(encoding="utf-8")
    sec = _section(html)
    assert "Spécificités par vague" in sec and 'data-figure="lexicon_dendrogram"' in sec
