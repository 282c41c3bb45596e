"""HTML report: self-contained, pseudonymised, bilingual, deterministic; figures for papers; CLI."""
from __future__ import annotations

import re
from html import unescape

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
    assert "Benjamini" in html and "q &lt; 0,05" in html
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


@pytest.mark.slow
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


# ---------------------------------------------------------------- issue 16: a report a French team can print
def _num_cells(html: str) -> list[str]:
    return [unescape(c) for c in re.findall(r'<td class="num">([^<]*)</td>', html)]


def test_french_numbers(built, tmp_path):
    _, path = built
    html = path.read_text(encoding="utf-8")
    cells = _num_cells(html)
    assert cells and not [c for c in cells if re.search(r"\d\.\d|e-\d|e\+\d", c)]
    assert any(re.fullmatch(r"\d+,\d\u00a0%", c) for c in cells)                  # 12,5 %
    assert any(re.fullmatch(r"[+\u2212]\d+,\d\u00a0pts", c) for c in cells)       # +1,5 pts / −1,5 pts
    number = r"–|<\u00a00,001|[+\u2212]?\d+(,\d+)?(\u00a0%|\u00a0pts)?|\d{1,3}(\u202f\d{3})+"
    number = rf"(?:{number})(?: (?:–|;) (?:{number}))?"                          # and intervals
    assert all(re.fullmatch(number, c) for c in cells), [c for c in cells if not re.fullmatch(number, c)]
    with Store(built[0] / "proj", read_only=True) as store:
        en = build_html(store, "en")
    assert any(re.fullmatch(r"\d+\.\d\u00a0%", c) for c in _num_cells(en)) and "q &lt; 0.05" in en


def test_method_note_names_codebook_and_encoder(built):
    _, path = built
    html = path.read_text(encoding="utf-8")
    method = html[html.index('<section id="method">'):]
    assert "livre de codes « codebook.yaml » (version 1, 11 thèmes" in method
    assert "multilingual-e5-small" in method and "BERTopic, " in method
    assert not re.search(r"themes-[0-9a-f]{6}|run-\d|tm-\d|zero-shot-test", method)     # no internal ids


def test_extracts_are_printable_and_captions_explain(built):
    _, path = built
    html = path.read_text(encoding="utf-8")
    quotes = html[html.index('<section id="quotes">'):html.index('<section id="method">')]
    assert "<details" not in quotes and quotes.count("<blockquote>") >= 10 and "<h3>" in quotes
    assert "@media print" in html
    for fig in re.findall(r"<figure>(.*?)</figure>", html, flags=re.S):
        svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", fig))
        cap = re.findall(r"<figcaption>(.*?)</figcaption>", fig)
        assert not cap or cap[0] not in svg_text            # a caption says how to read, not the title again
    assert "Point : part estimée" in html


def test_legends_never_cover_the_data():
    import pandas as pd

    from textmine.report import plots
    prev = pd.DataFrame([{"theme": f"t{i}", "label": f"Thème {i}", "wave": w, "share": 0.1 * i + 0.02,
                          "ci_low": 0.05 * i, "ci_high": 0.1 * i + 0.08, "small_cell": i == 3}
                         for i in range(6) for w in ("2022", "2023")])
    ch = pd.DataFrame([{"label": f"Thème {i}", "delta": 0.05 * (i - 3), "ci_low": 0.05 * (i - 3) - 0.04,
                        "ci_high": 0.05 * (i - 3) + 0.04, "significant": i == 5, "small_cell": False}
                       for i in range(6)])
    for fig in (plots.prevalence_by_wave(prev, "Titre", "part", "petit", lang="fr"),
                plots.forest(ch, "Titre", "Δ", "significatif", lang="fr")):
        fig.canvas.draw()
        ax = fig.axes[0]
        leg, box, page = ax.get_legend().get_window_extent(), ax.get_window_extent(), fig.bbox
        assert not leg.overlaps(box) and leg.x0 >= page.x0 and leg.y0 >= page.y0 and leg.x1 <= page.x1
        assert "," in ax.get_xticklabels()[1].get_text() or "%" in ax.get_xticklabels()[1].get_text()
        plots.plt.close(fig)


@pytest.mark.slow
def test_territory_heatmap_pools_small_territories(tmp_path):
    from textmine.report.sections import merge_small_groups
    assert merge_small_groups({"A": 2, "B": 2, "C": 2, "D": 1, "E": 5}, 3) == {
        "A": "A + D", "D": "A + D", "B": "B + C", "C": "B + C", "E": "E"}
    assert merge_small_groups({"A": 5, "B": 1}, 3) == {"A": "A", "B": "B"}          # nothing small to join
    assert merge_small_groups({"A": 1, "B": 1, "C": 1, "D": 5}, 3) == {"A": "A + B + C", "B": "A + B + C",
                                                                        "C": "A + B + C", "D": "D"}
    store = build_store(tmp_path / "p", n_per_wave=4, segs_per_interview=6, n_panel=2, seed=3)
    sizes = store.query("SELECT territory, count(*) AS n FROM interviews GROUP BY territory")
    assert (sizes["n"] < store.config.track.min_interviews).all()               # every territory is small
    html = build_html(store, "fr", tmp_path / "figs")
    store.close()
    heat = (tmp_path / "figs" / "heatmap_territory.svg").read_text(encoding="utf-8")
    assert "<pattern" not in heat and " + " in heat                              # pooled, nothing hatched
    assert "Territoires regroupés faute d'entretiens (moins de 3 chacun) : A + " in unescape(html)
