"""Each concordance line cites the time and line of its keyword, not of its segment's first word.

A segment cut from a long timed turn (Transcriber ``<Sync>`` every few seconds) cites the mark at
or before its first word; a keyword later in the segment was said one or several marks later
(in ESLO1 up to a minute). ``lexicon kwic`` and ``search --kwic`` lines (terminal, CSV, XLSX,
JSON) give each keyword the mark at or before its own first character, by the same rule, through
the pseudonymised text the lines show. Expected times and lines are read from the files here."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_path
from test_timemarks import CONFIG, TRS
from textmine.corpus import ingest_paths
from textmine.search.cite import display_offsets
from textmine.store import Store

pytestmark = pytest.mark.slow

# a turn of two lines with a name (pseudonymised: the placeholder is longer than the name)
# before a keyword, two occurrences of one word in the segment, no time marks
TXT = ("Enquêteur : et comment se passe une journée ordinaire à la permanence de la médiathèque ?\n"
       "Conum : alors le matin on ouvre à neuf heures et les gens attendent déjà devant la porte,\n"
       "avec leurs formulaires, et Madame Dupont les accueille avec un café chaud.\n"
       "Ensuite on regarde les formulaires ensemble un par un.\n")
TXT_CONFIG = "segment:\n  min_words: 12\n  max_words: 60\n"


def _project(tmp_path: Path, name: str, data: bytes, config: str = CONFIG) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / name).write_bytes(data)
    (tmp_path / "cfg.yaml").write_text(config, encoding="utf-8")
    with Store(tmp_path / "p", create=True, config_path=tmp_path / "cfg.yaml") as store:
        ingest_paths(store, [folder], wave="1")
    return tmp_path / "p"


@pytest.fixture(scope="module")
def trs_project(tmp_path_factory):
    return _project(tmp_path_factory.mktemp("kwic-trs"), "permanence.trs", TRS.encode("latin-1"))


def test_a_keyword_after_a_sync_cites_that_sync(trs_project):
    """``certains reviennent ... des formulaires <Sync 52.0> tout seuls, ...``: one segment timed
    41.3 s; ``seuls`` is said from 52 s, ``formulaires`` before it."""
    from textmine.lexicon import concordance
    with Store(trs_project, read_only=True) as store:
        seg = store.segments_frame(with_text=True)
        row = seg[seg.text_raw.str.startswith("certains reviennent")].iloc[0]
        assert row.start == 41.3 and row.line == 23                  # the segment's own citation, unchanged
        iid = row.interview_id
        seuls = concordance(store, "seul")
        assert seuls["source"].tolist() == [f"{iid}.trs, 00:00:52"]   # was 00:00:41 (the segment's)
        assert concordance(store, "formulaire")["source"].tolist() == [f"{iid}.trs, 00:00:41"]
        assert concordance(store, "plaisir")["source"].tolist() == [f"{iid}.trs, 00:00:52"]
        # a segment within one Sync span keeps its time
        assert concordance(store, "tablette")["source"].tolist() == [f"{iid}.trs, 00:01:00"]
        # revealed text: the same places, the real file name
        assert concordance(store, "seul", reveal=True)["source"].tolist() == ["permanence.trs, 00:00:52"]


def test_search_kwic_cites_the_keyword(trs_project):
    from textmine.search import kwic, search, update_index
    with Store(trs_project) as store:
        update_index(store)
        hits = search(store, "seuls formulaires", mode="keyword")
        lines = kwic(store, hits, "seuls formulaires")
    iid = hits["segment_id"].iat[0].split(":")[0]
    got = dict(zip(lines["keyword"], lines["source"]))
    assert got == {"formulaires": f"{iid}.trs, 00:00:41", "seuls": f"{iid}.trs, 00:00:52"}
    # the segment's own citation stays on the search results
    assert set(hits["source"]) == {f"{iid}.trs, 00:00:41"}


def test_cli_outputs_cite_the_keyword(trs_project, tmp_path, capsys):
    """Terminal table, JSON, CSV and XLSX of ``lexicon kwic``, JSON of ``search --kwic``: the
    keyword's time."""
    from textmine.cli.main import main

    def run(*args) -> str:
        assert main(["--project", str(trs_project), *args]) == 0
        return capsys.readouterr().out

    for out in (run("lexicon", "kwic", "seul"), run("lexicon", "kwic", "seul", "--format", "json"),
                run("search", "seuls", "--mode", "keyword", "--kwic", "--format", "json")):
        assert "00:00:52" in out and "00:00:41" not in out, out
    run("lexicon", "kwic", "seul", "-o", str(tmp_path / "seul.csv"))
    run("lexicon", "kwic", "seul", "-o", str(tmp_path / "seul.xlsx"))
    for got in (pd.read_csv(tmp_path / "seul.csv", encoding="utf-8-sig"),
                pd.read_excel(tmp_path / "seul.xlsx", sheet_name="concordance")):
        assert got["source"].str.endswith("00:00:52").all() and len(got) == 1


def test_lines_of_a_file_without_times_through_placeholders(tmp_path):
    """.txt: no time, a turn over three lines; the name before ``café`` is a longer placeholder in
    the shown text; two ``formulaires`` of one segment each cite their own line."""
    from textmine.lexicon import concordance
    project = _project(tmp_path, "itv.txt", TXT.encode("utf-8"), TXT_CONFIG)
    with Store(project, read_only=True) as store:
        seg = store.segments_frame(with_text=True)
        row = seg[seg.text_raw.str.startswith("alors le matin")].iloc[0]
        assert "[PERSONNE_" in row.text_pseudo and "Dupont" not in row.text_pseudo and row.line == 2
        lines = concordance(store, "formulaire", sort="none")
        iid = row.interview_id
        assert lines["source"].tolist() == [f"{iid}.txt, l. 3", f"{iid}.txt, l. 4"]
        assert concordance(store, "café")["source"].tolist() == [f"{iid}.txt, l. 3"]
        assert concordance(store, "porte")["source"].tolist() == [f"{iid}.txt, l. 2"]


def test_display_offsets_through_placeholders():
    text = "avec Madame Dupont et Jean-Pierre Martin le café"
    shown = "avec Madame [PERSONNE_1] et [PERSONNE_2] le café"
    off = display_offsets(shown, text)
    assert text[off[shown.index("café")]:].startswith("café")
    assert text[off[shown.index(" et ")]:].startswith(" et ")
    assert off[shown.index("[PERSONNE_2]") + 3] == text.index("Jean-Pierre")
    assert display_offsets(text, text) == list(range(len(text)))
    assert display_offsets("tout autre chose [PERSONNE_1]", text) is None


def test_eslo_keywords_cite_the_sync_before_them(tmp_path):
    """ESLO1 (../shared): every line of a frequent word cites the last <Sync> before that very
    occurrence in the file, read by this test's own reader; many differ from their segment's."""
    from textmine.lexicon import concordance
    src = shared_path("corpora", "eslo1", "eslo_entretien", "ESLO1_ENT_001_C.trs")
    text = src.read_bytes().decode("latin-1")
    project = _project(tmp_path, src.name, src.read_bytes())
    # the time in force at each word of the file (Sync before it), by word
    times: dict[str, list[float]] = {}
    t = None
    for ln in text.split("\n"):
        m = re.match(r'<Sync time="([\d.]+)"/>', ln)
        if m:
            t = float(m.group(1))
        elif not ln.startswith("<"):
            for w in re.findall(r"\w+", ln.lower()):
                times.setdefault(w, []).append(t)
    checked = moved = 0
    with Store(project, read_only=True) as store:
        seg = store.segments_frame(with_text=True).set_index("segment_id")
        for word in ("maison", "travail", "enfants", "quartier"):
            try:
                lines = concordance(store, word, form_only=True, sort="none")
            except Exception:
                continue
            for r in lines.itertuples():
                h, m_, s = map(int, r.source.rsplit(", ", 1)[1].split(":"))
                cited = h * 3600 + m_ * 60 + s
                assert any(int(x) == cited for x in times[word] if x is not None), (word, r.source)
                own = seg.loc[r.segment_id, "start"]
                moved += int(own) != cited
                assert cited >= int(own)
                checked += 1
    assert checked >= 10 and moved >= 1, (checked, moved)
