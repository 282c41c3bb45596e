"""The project concordancer: lemma and form matching, references back to the transcript,
pseudonymised text, sorting, grouping, CSV/XLSX export, errors, the CLI."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from helpers_lexicon import build_lexicon_store
from textmine.errors import TextmineError
from textmine.lexicon import concordance
from textmine.search.kwic import sort_kwic
from textmine.search.text import fold


def words(s: str) -> list[str]:
    return re.findall(r"\w+", fold(s))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("kwic") / "p"
    store, _ = build_lexicon_store(path)
    store.close()
    return path


def test_lemma_matches_all_forms_form_only_one(project):
    from textmine.store import Store
    with Store(project) as store:
        lines = concordance(store, "aider")
        assert len(lines) and set(lines["keyword"].str.lower()) == {"aidée"}
        assert lines.attrs["occurrences"] == len(lines)
        # the surface form alone
        assert len(concordance(store, "aidée", form_only=True)) == len(lines)
        with pytest.raises(TextmineError) as e:
            concordance(store, "aider", form_only=True)
        assert e.value.code == "E802"
        # accents and case do not matter
        assert len(concordance(store, "PRECARITE")) == len(concordance(store, "précarité")) > 0


def test_phrases_are_sequences(project):
    from textmine.store import Store
    with Store(project) as store:
        n = len(concordance(store, "aider"))
        phrase = concordance(store, "aider ce matin")              # content words by lemma, stop words by form
        assert len(phrase) == n and set(phrase["keyword"]) == {"aidée ce matin"}
        elided = concordance(store, "m'a aidée")                   # the tokenizer's elision: m' + a + aidée
        assert len(elided) == n and elided["keyword"].str.startswith("m'a").all()
        with pytest.raises(TextmineError) as e:
            concordance(store, "matin ce aider")
        assert e.value.code == "E802" and "never in this order" in str(e.value)


def test_references_pseudonymised_and_reveal(project):
    from textmine.store import Store
    with Store(project) as store:
        lines = concordance(store, "aider", width=60)
        assert lines["source"].str.match(r"^I\d\d\.docx, l\. \d+$").all()      # pseudonymous file + line
        assert lines["left"].str.contains(r"\[PERSONNE_1\]").all()
        assert not lines.apply(lambda r: "Durand" in " ".join(map(str, r.values)), axis=1).any()
        assert lines["attribution"].str.startswith("(").all()
        assert (lines["left"].str.len() <= 61).all() and (lines["right"].str.len() <= 61).all()
        seg = store.segments_frame(roles="respondents").set_index("segment_id")
        first = lines.iloc[0]
        assert int(seg.loc[first["segment_id"], "line"]) == int(first["source"].rsplit(" ", 1)[1])
        revealed = concordance(store, "aider", reveal=True)
        assert revealed["left"].str.contains("Marie Durand").all()
        assert revealed["source"].str.contains("Nom Prenom").all()


def test_sorting_and_grouping(project):
    from textmine.store import Store
    with Store(project) as store:
        right = concordance(store, "tablette", sort="right", width=30)
        keys = [words(k) + words(r) for k, r in zip(right["keyword"], right["right"])]
        assert keys == sorted(keys) and len(keys) > 20
        left = concordance(store, "tablette", sort="left", width=30)
        keys = [words(x)[::-1] for x in left["left"]]
        assert keys == sorted(keys)
        by = concordance(store, "tablette", by="wave", sort="left")
        assert list(by["wave"]) == sorted(by["wave"]) and set(by["wave"]) == {"2022", "2023"}
        assert len(concordance(store, "tablette", limit=3)) == 3
        with pytest.raises(TextmineError) as e:
            concordance(store, "tablette", by="colour")
        assert e.value.code == "E501"
        with pytest.raises(TextmineError) as e:
            concordance(store, "zeppelin")
        assert e.value.code == "E802"
        with pytest.raises(TextmineError) as e:
            concordance(store, "  ")
        assert e.value.code == "E601"


def test_sort_kwic_left_context_reads_backwards():
    lines = pd.DataFrame({"left": ["…la belle", "une autre", "le grand"], "keyword": ["maison"] * 3,
                          "right": ["a", "b", "c"]})
    assert sort_kwic(lines, "left")["left"].tolist() == ["une autre", "…la belle", "le grand"]
    assert sort_kwic(lines, "right")["right"].tolist() == ["a", "b", "c"]


def test_cli_kwic_and_exports(project, cli, tmp_path):
    res = cli("--project", project, "lexicon", "kwic", "tablette", "--by", "wave", "--width", "40")
    assert res.exit_code == 0, res
    assert "== wave 2022" in res.stdout and "== wave 2023" in res.stdout and ".docx, l. " in res.stdout
    res = cli("--project", project, "lexicon", "kwic", "aider", "--format", "json")
    rows = json.loads(res.stdout)
    assert res.exit_code == 0 and {"left", "keyword", "right", "source", "interview_id"} <= set(rows[0])
    out = tmp_path / "kwic.csv"
    res = cli("--project", project, "lexicon", "kwic", "aider", "--output", out)
    assert res.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert len(df) == len(rows) and df["left"].str.contains(r"\[PERSONNE_1\]").all()
    xlsx = tmp_path / "kwic.xlsx"
    res = cli("--project", project, "lexicon", "kwic", "aider", "--sort", "left", "--output", xlsx)
    assert res.exit_code == 0, res
    import openpyxl
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["concordance"]
    assert [c.value for c in ws[1]][:4] == ["segment_id", "left", "keyword", "right"]
    assert ws.max_row == len(rows) + 1 and "provenance" in wb.sheetnames
    assert not any("Durand" in str(c.value) for row in ws.iter_rows() for c in row)
    res = cli("--project", project, "lexicon", "kwic", "aider", "--output", tmp_path / "kwic.pdf")
    assert res.exit_code == 1 and "E604" in res.stderr
    res = cli("--project", project, "lexicon", "kwic", "zeppelin")
    assert res.exit_code == 1 and "E802" in res.stderr and "Traceback" not in res.stderr
    res = cli("--project", project, "lexicon", "kwic", "tablette", "--sort", "middle")
    assert res.exit_code == 1 and "E005" in res.stderr
    res = cli("--project", project, "lexicon", "kwic", "--help")
    assert res.exit_code == 0 and "--width" in res.stdout
