"""HTML report: self-contained, pseudonymised, bilingual, deterministic; figures for papers; CLI."""
from __future__ import annotations

import re

import pytest

from helpers_track import build_store
from textmine.cli.main import main
from textmine.errors import TextmineError
from textmine.report import build_html, write_report
from textmine.store import Store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    store = build_store(root / "proj", n_per_wave=10, segs_per_interview=15, n_panel=5, seed=2)
    path = write_report(store, root / "report.html", language="fr")
    store.close()
    return root, path


def test_report_is_self_contained_and_complete(built):
    root, path = built
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    # no network: no external script, stylesheet, image or font
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<script" not in html and "@import" not in html
    for sid in ("overview", "prevalence", "changes", "heatmaps", "panel", "topics", "quotes", "method"):
        assert f'<section id="{sid}">' in html, sid
    charts = re.findall(r'<svg class="chart" data-figure="([^"]+)"', html)
    assert {"overview", "prevalence_by_wave", "changes_2022_2023", "heatmap_role", "heatmap_territory",
            "panel_transitions", "topics_by_wave"} <= set(charts)
    assert "Benjamini" in html and "q &lt; 0.05" in html
    assert "faire avec" in html.lower() and "(Conum" in html and "vague 2023" in html
    assert "apparu" in html and "disparu" in html          # topic 2 appears, topic 1 vanishes
    # several inline SVGs: ids unique in the page and every internal reference resolves
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r"url\(#([^)]+)\)", html)) | set(re.findall(r'href="#([^"]+)"', html))
    assert refs and refs <= set(ids)


def test_report_is_pseudonymised(built):
    _, path = built
    html = path.read_text(encoding="utf-8")
    assert "Nom Prenom" not in html and "/secret/" not in html
    assert re.search(r"w\d-\d{4}\.txt, l\. \d+", html)   # pseudonymous source references


def test_figures_written_for_papers(built):
    root, _ = built
    figs = root / "report_figures"
    for name in ("prevalence_by_wave", "changes_2022_2023", "heatmap_role", "panel_transitions"):
        png, svg = figs / f"{name}.png", figs / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert "<svg" in svg.read_text(encoding="utf-8")
    # small cells (fewer than min_interviews interviews) are hatched, not coloured
    assert "<pattern" in (figs / "heatmap_role.svg").read_text(encoding="utf-8")


def test_cli_report_deterministic_and_english(built, capsys):
    root, path = built
    out = root / "cli.html"
    code = main(["--project", str(root / "proj"), "report", "--output", str(out), "--no-figures"])
    assert code == 0 and out.exists() and str(out) in capsys.readouterr().out
    assert out.read_bytes() == path.read_bytes()            # same project + config -> same bytes
    with Store(root / "proj", read_only=True) as store:
        en = build_html(store, "en")
    assert '<html lang="en">' in en and "Changes between waves" in en and "(Digital advisor" in en
    assert "Évolutions entre vagues" not in en


def test_report_errors(built, capsys):
    root, _ = built
    code = main(["--project", str(root / "proj"), "report", "--output", str(root / "nope" / "r.html")])
    assert code == 1 and "E602" in capsys.readouterr().err
    code = main(["--project", str(root / "proj"), "report", "--lang", "de"])
    assert code == 1 and "E005" in capsys.readouterr().err
    with Store(root / "proj", read_only=True) as store, pytest.raises(TextmineError):
        build_html(store, "de")


def test_report_without_codings(tmp_path):
    store = build_store(tmp_path / "p", codings=False, topics=False, n_per_wave=2, segs_per_interview=3)
    html = build_html(store, "fr")
    store.close()
    assert 'id="overview"' in html and "themes apply" in html


def test_report_single_wave(tmp_path):
    store = build_store(tmp_path / "p", n_per_wave=4, segs_per_interview=5, n_panel=2)
    for iid in store.query("SELECT interview_id FROM interviews WHERE wave = '2023'")["interview_id"]:
        store.delete_interview(iid)
    html = build_html(store, "en")
    store.close()
    assert 'id="prevalence"' in html and 'id="quotes"' in html
    assert 'id="changes"' not in html and 'id="panel"' not in html
