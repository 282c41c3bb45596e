"""Quote banks: spans, MMR selection, grouping, the four formats, no leak of real names."""
from __future__ import annotations

import re
import zipfile
from functools import partial

import numpy as np
import pandas as pd
import pytest

from helpers_search import REAL_FILES, REAL_NAMES, add_interviews, all_output_text, make_store
from textmine.errors import TextmineError
from textmine.records import sort_waves
from textmine.diversity import mmr
from textmine.export.quotes import (LAMBDA, NEAR_DUPLICATE, QUOTE_COLUMNS, SAME_INTERVIEW_PENALTY, quote_id,
                                     select_quotes, write_quotes)
from textmine.export.span import ELLIPSIS, finish, sentences, trim_fillers, windows

LEAKS = REAL_NAMES + [f.rsplit(".", 1)[0] for f in REAL_FILES]
EXTRA = [("itv-c1", "1", "C", "france_services", "conum", "Odile Ferrand", "Conum_3",
          ["faire_place", "faire_avec"], "rural")]


# ---------------------------------------------------------------- spans (fast)
def test_trim_fillers_at_edges_only():
    assert trim_fillers("Euh, ben voilà, on fait les ateliers, bon, le mardi, voilà euh") == \
        "On fait les ateliers, bon, le mardi."
    assert trim_fillers("Bonjour, nous sommes bénévoles.") == "Bonjour, nous sommes bénévoles."


def test_long_text_windows_cut_at_sentences_under_limit():
    text = " ".join(f"Phrase numéro {i} avec quelques mots de plus pour compter." for i in range(30))
    ws = windows(text, max_words=80)
    assert len(ws) > 3
    for w in ws:
        body = w.text.replace(ELLIPSIS, "").strip()
        assert len(body.split()) <= 80
        assert body.endswith(".") and body.startswith("Phrase")     # whole sentences
    assert ws[0].text.endswith(ELLIPSIS) and ws[1].text.startswith(ELLIPSIS)


def test_overlong_sentence_cut_at_clause_never_mid_word():
    words = [f"mot{i}" for i in range(120)]
    words[60] = words[60] + ","
    (w,) = windows(" ".join(words) + ".", max_words=80)
    assert w.text.endswith(ELLIPSIS)
    body = w.text[:-len(ELLIPSIS)].strip()
    assert body.split()[-1] == "mot60"            # cut at the comma, whole word
    assert all(tok in words or tok.rstrip(",") in [x.rstrip(",") for x in words] for tok in body.split())


def test_finish_keeps_ellipsis_and_trims():
    (w,) = [x for x in windows("Ben on commence. " + "Et puis voilà ensuite. " * 2, 80)]
    assert finish(w).text.startswith("On commence.")
    assert sentences("Un. Deux ? Trois… quatre") == ["Un.", "Deux ?", "Trois…", "quatre"]


def test_quote_id_stable_and_span_dependent():
    assert quote_id("itv:0001:00", 0, 1) == quote_id("itv:0001:00", 0, 1)
    assert quote_id("itv:0001:00", 0, 1) != quote_id("itv:0001:00", 1, 2)
    assert quote_id("a", 0, 0).startswith("Q-") and len(quote_id("a", 0, 0)) == 10


def test_mmr_avoids_duplicates_and_same_interview():
    X = np.array([[1, 0, 0], [1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]], dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    rel = np.array([1.0, 0.99, 0.7, 0.6])
    pick = partial(mmr, weight=LAMBDA, groups=["a", "b", "c", "a"], group_penalty=SAME_INTERVIEW_PENALTY,
                   near_duplicate=NEAR_DUPLICATE)
    picked = pick(rel, X, 3)
    assert picked[0] == 0 and 1 not in picked      # exact duplicate skipped while others remain
    assert pick(rel, X, 4)[-1] == 1


def test_mmr_trades_relevance_for_diversity():
    """Active learning's use (no groups, no duplicate rule): the weight decides."""
    X = np.array([[1, 0], [0.99, 0.141], [0, 1]], dtype=float)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    rel = np.array([1.0, 0.95, 0.5])
    assert mmr(rel, X, 2, weight=1.0) == [0, 1]          # relevance alone
    assert mmr(rel, X, 2, weight=0.5) == [0, 2]          # the near copy of 0 loses to the other direction
    assert mmr(rel, X, 5, weight=0.5) == [0, 2, 1]       # k beyond the rows: every row once
    assert mmr(np.array([0.5, 0.5]), X[:2], 1) == [0]    # ties: lowest index
    assert mmr(np.array([]), np.zeros((0, 2)), 3) == []


# ---------------------------------------------------------------- selection + formats (encoder)
@pytest.fixture(scope="module")
def project(tmp_path_factory):
    st = make_store(tmp_path_factory.mktemp("quotes"))
    add_interviews(st, EXTRA, run_id="run-1")
    yield st
    st.close()


@pytest.fixture(scope="module")
def quotes(project):
    return select_quotes(project, per_group=2, with_question=True)


@pytest.mark.slow
def test_selection_grouped_and_attributed(project, quotes):
    assert list(quotes.columns) == QUOTE_COLUMNS
    assert quotes.groupby(["theme", "wave", "role"]).size().max() <= 2
    ids = project.query("SELECT DISTINCT theme FROM theme_codings WHERE assigned")["theme"]
    assert set(quotes["theme"]) == set(ids)
    # codebook order of themes, waves sorted inside a theme
    first = quotes.drop_duplicates("theme")["theme"].tolist()
    assert first[0] == "posture_faire_avec_vs_a_la_place"
    # the provenance names the waves the bank quotes, in wave order
    assert quotes.attrs["provenance"]["waves"] == ", ".join(sort_waves(set(quotes["wave"])))
    assert len(set(quotes["wave"])) > 1
    row = quotes[(quotes.role == "coordinateur") & (quotes.theme == "financement_renouvellement")].iloc[0]
    assert row["attribution"] == "(Coordinateur, intercommunalité, territoire D, vague 2)"
    assert row["citation"].startswith("« Le financement") and row["citation"].endswith("vague 2)")
    assert row["source"] == "itv-d2.docx, l. 4" and row["question"]
    # the group with three candidates gets two different quotes from two interviews
    g = quotes[(quotes.theme == "posture_faire_avec_vs_a_la_place") & (quotes.wave == "1") & (quotes.role == "conum")]
    assert len(g) == 2 and g["quote"].nunique() == 2
    assert not quotes["quote"].str.match(r"^(Euh|Bon|Ben)\b").any()
    assert (quotes["n_words"] <= 80).all()


@pytest.mark.slow
def test_selection_deterministic_and_filtered(project, quotes):
    again = select_quotes(project, per_group=2, with_question=True)
    assert again["quote_id"].tolist() == quotes["quote_id"].tolist()
    only = select_quotes(project, themes=["financement_renouvellement"], waves=["2"], roles=["conum"], per_group=3)
    assert len(only) == 1 and only.iloc[0]["interview_id"] == "itv-a2" and only.iloc[0]["question"] == ""
    with pytest.raises(TextmineError) as ei:
        select_quotes(project, themes=["nope"])
    assert ei.value.code == "E403"


@pytest.mark.slow
def test_markdown_and_csv(project, quotes, tmp_path):
    md = write_quotes(quotes, tmp_path / "q.md", "md").read_text(encoding="utf-8")
    assert md.startswith("# Banque de citations")
    assert "## Financement et renouvellement du dispositif" in md and "### Vague 2" in md and "#### Coordinateur" in md
    assert "(Coordinateur, intercommunalité, territoire D, vague 2)" in md and "codebook_hash" in md
    csv = pd.read_csv(write_quotes(quotes, tmp_path / "q.csv", "csv"), encoding="utf-8-sig", dtype=str)
    assert list(csv.columns) == QUOTE_COLUMNS and len(csv) == len(quotes)
    assert set(csv["quote_id"]) == set(quotes["quote_id"])


@pytest.mark.slow
def test_docx_structure(project, quotes, tmp_path):
    import docx
    path = write_quotes(quotes, tmp_path / "q.docx", "docx", provenance={"run_id": "run-42"})
    doc = docx.Document(str(path))
    heads = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert ("Heading 1", "Financement et renouvellement du dispositif") in heads
    assert ("Heading 2", "Vague 1") in heads and ("Heading 3", "Conum") in heads
    cited = [p.text for p in doc.paragraphs if p.style.name == "Citation textmine"]
    assert len(cited) == len(quotes) and all(t.startswith("« ") and t.endswith(" »") for t in cited)
    assert any(re.match(r"itv-\S+/Conum_1 \(Conum, association, territoire A, vague 1\)", p.text) for p in doc.paragraphs)
    xml = zipfile.ZipFile(path).read("word/document.xml").decode()
    assert 'TOC \\o "1-2"' in xml and 'w:fldCharType="begin"' in xml
    toc = [p.text for p in doc.paragraphs if p.style.name == "toc 1"]
    assert toc == [t for s, t in heads if s == "Heading 1"][:-1]        # filled with the themes
    prov = {r.cells[0].text: r.cells[1].text for r in doc.tables[-1].rows}
    assert prov["run_id"] == "run-42" and prov["codebook_hash"] and prov["encoder"].startswith("e5-small")
    assert "textmine_version" in prov and "theme_model" in prov


@pytest.mark.slow
def test_xlsx_structure(project, quotes, tmp_path):
    import openpyxl
    wb = openpyxl.load_workbook(write_quotes(quotes, tmp_path / "q.xlsx", "xlsx"))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["Réf.", "Thème", "Vague", "Rôle", "Question", "Citation", "Attribution",
                                        "Source"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.max_row == len(quotes) + 1
    assert [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)] == quotes["quote_id"].tolist()
    q = quotes.iloc[0]
    assert ws.cell(row=2, column=7).value == f"{q.interview_id}/{q.speaker} {q.attribution}"
    assert wb.sheetnames == ["citations", "technique", "provenance"]
    tech = wb["technique"]
    assert [c.value for c in tech[1]][:3] == ["quote_id", "theme", "role"] and tech.max_row == len(quotes) + 1


@pytest.mark.slow
def test_no_real_name_leaks_unless_reveal(project, quotes, tmp_path):
    for fmt in ("md", "csv", "docx", "xlsx"):
        text = all_output_text(write_quotes(quotes, tmp_path / f"q.{fmt}", fmt))
        assert not [n for n in LEAKS if n in text], fmt
        assert "[PERSONNE_1]" in text or "[COMMUNE_1]" in text
    real = select_quotes(project, per_group=2, reveal=True)
    text = all_output_text(write_quotes(real, tmp_path / "r.md", "md"))
    assert "Saint-Aubin-des-Bois" in text and "entretien_Martine_Dubreuil.docx" in text


def test_unknown_format_refused(tmp_path):
    with pytest.raises(TextmineError) as ei:
        write_quotes(pd.DataFrame(columns=QUOTE_COLUMNS), tmp_path / "q.pdf")
    assert ei.value.code == "E604"


def test_xlsx_quote_starting_with_equals_stays_text(tmp_path):
    df = pd.DataFrame([{c: None for c in QUOTE_COLUMNS}]).assign(quote="=SOMME(A1) c'est ce qu'il a dit", theme="t")
    path = write_quotes(df, tmp_path / "f.xlsx")
    assert "<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()


def test_timecode_never_after_the_quote_start():
    """A quote starting at 23.5 s is cited 00:00:23: a player set to the cited time starts
    before its first words (rounding gave 00:00:24, after them; 59 min 59.6 s gave 01:00:00)."""
    from textmine.attribution import source_ref
    row = {"source_pseudo": "itv-5.srt", "start": 23.5, "line": 9}
    assert source_ref(row) == "itv-5.srt, 00:00:23"
    assert source_ref({**row, "start": 3599.6}) == "itv-5.srt, 00:59:59"
    assert source_ref({**row, "start": 62.0}) == "itv-5.srt, 00:01:02"
    assert source_ref({**row, "start": 12.9999999}) == "itv-5.srt, 00:00:13"      # float noise, not a second early
    assert source_ref({**row, "start": None}) == "itv-5.srt, l. 9"
