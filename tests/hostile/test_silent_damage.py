"""Issue 20, items 1-5: nothing silently wrong in the store.

1. an edited transcript drops what was derived from its old text, and `topics apply` assigns it again;
2. an interview id reused in another wave is refused (E118) unless --replace;
3. the same files ingested again without a sheet are not stored twice (E119);
4. real names in extra metadata columns never reach an export without --reveal;
5. mixed UTF-8/cp1252 text, an unterminated CSV quote, UTF-16 without BOM.
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from .hostile_helpers import ITV, assert_clean, assert_coded, flat, transcript, write_itv
from textmine.store import Store

pytestmark = pytest.mark.slow   # real ingest (spaCy sentences + NER)


def _fake_theme_run(store: Store) -> None:
    """Codings for every respondent segment (stands in for `themes apply`, which needs the encoder)."""
    segs = store.segments_frame(roles="respondents")
    rows = pd.DataFrame({"run_id": "run-h", "model_id": "zeroshot-h", "segment_id": segs["segment_id"],
                         "theme": "precarite", "score": 0.9, "assigned": True, "posture": None})
    rows["posture"] = rows["posture"].astype("string")
    store.write_frame("theme_codings", rows, replace=store.has_table("theme_codings"))
    store.set_kv("themes.current_run", {"run_id": "run-h", "model_id": "zeroshot-h",
                                        "applied_at": _dt.datetime.now(_dt.timezone.utc).isoformat()})


# ------------------------------------------------------------------ 1. edited transcript
def test_edited_transcript_drops_its_derivations_and_apply_reassigns(tmp_path_factory, tmp_path, cli):
    from conftest import copy_project
    from helpers_topics import fitted_project
    from textmine.lexicon.tokens import update_tokens
    from textmine.search import get_index
    from textmine.topics import apply_topics, topic_assignments, topics_table

    root, _ = fitted_project(tmp_path_factory)
    proj = copy_project(root, tmp_path / "proj")
    src = write_itv(tmp_path / "w", "alpha.txt")
    assert cli("-q", "--project", proj, "ingest", src, "--wave", "2").exit_code == 0
    with Store(proj) as st:
        iid = st.query("SELECT interview_id FROM interviews WHERE source_file LIKE '%alpha.txt'")["interview_id"][0]
        assert apply_topics(st) > 0
        _fake_theme_run(st)
        get_index(st)                      # search lemmas, form counts and the DIR/index snapshot
        update_tokens(st)
        mine = st.segments_frame(roles="respondents", interview_ids=[iid])
        before = topic_assignments(st).set_index("segment_id").loc[mine["segment_id"]]
        old_forms = st.query("SELECT form, lemma, keep, n FROM search_form_counts WHERE interview_id = ?", [iid])
        assert len(old_forms) and list((proj / "index").glob("search*.npy"))
    # the respondent's first answer is rewritten, the file shortened by its last exchange
    turns = list(ITV["alpha"])
    turns[1] = ("Conum", "Je passe la matinée au téléphone avec la caisse de retraite et les impôts, "
                         "les dossiers sont bloqués et les personnes âgées attendent des semaines sans réponse.")
    src.write_text(transcript(turns[:2]), encoding="utf-8")
    res = cli("--project", proj, "ingest", src, "--wave", "2")
    assert res.exit_code == 0 and "1 replaced" in flat(res.stderr), res
    with Store(proj, read_only=True) as st:
        n_seg = len(st.segments_frame(roles="respondents", interview_ids=[iid]))
        for table in ("topic_assignments", "theme_codings", "search_lemmas", "lexicon_tokens"):
            left = st.query(f"SELECT count(*) AS n FROM {table} WHERE segment_id LIKE ?", [f"{iid}:%"])["n"][0]
            assert left == 0, table            # nothing computed on the old text survives
        assert st.query("SELECT count(*) AS n FROM search_form_counts WHERE interview_id = ?", [iid])["n"][0] == 0
    assert not list((proj / "index").glob("search*"))       # the snapshot held its ids and words
    rows = assert_clean(cli, proj)              # consistent; topics, codings, lemmas, forms pending
    pending = {r["check"] for r in rows if r["status"] == "pending"}
    assert {"segments without a topic", "segments without codings", "search lemmas up to date",
            "search form table up to date", "lexicon tokens up to date"} <= pending
    with Store(proj) as st:
        assert apply_topics(st) == n_seg
        after = topic_assignments(st).set_index("segment_id")
        first = before.index[0]
        assert after.loc[first, "similarity"] != pytest.approx(before.loc[first, "similarity"])
        counts = topics_table(st)["count"].sum()
        assert counts == len(st.segments_frame(roles="respondents"))      # no orphan counted
        get_index(st)
        update_tokens(st)
        # the form table is the sum of the stored interviews' counts: the old text's forms left it
        assert st.query("SELECT (SELECT sum(n) FROM search_forms) = (SELECT sum(n) FROM search_form_counts) AS ok"
                        )["ok"][0]
        kept = st.query("SELECT form, lemma, keep, n FROM search_form_counts WHERE interview_id = ?", [iid])
        assert 0 < kept["n"].sum() < old_forms["n"].sum()        # the shortened text's forms only
    rows = assert_clean(cli, proj)
    pending = {r["check"] for r in rows if r["status"] == "pending"}
    assert not pending & {"segments without a topic", "search lemmas up to date", "search form table up to date",
                          "lexicon tokens up to date", "index snapshot holds only stored segments"}


# ------------------------------------------------------------------ 2. id reused in another wave
def test_interview_id_of_another_wave_is_refused_unless_replace(project, tmp_path, cli):
    d = tmp_path / "w23"
    write_itv(d, "beta.txt")
    sheet = d / "metadata.csv"
    with Store(project, read_only=True) as st:
        old = st.query("SELECT interview_id, source_file FROM interviews WHERE source_file LIKE '%alpha.txt'").iloc[0]
    sheet.write_text("file,interview_id,wave,date,territory,structure_type,respondent_id,role\n"
                     f"beta.txt,{old.interview_id},2023,2023-03-01,A,association,R9,conum\n", encoding="utf-8")
    res = cli("--project", project, "ingest", d, "--metadata", sheet)
    assert_coded(res, "E118")
    assert "2022" in res.stderr and "2023" in res.stderr and "alpha.txt" in res.stderr and "beta.txt" in res.stderr
    with Store(project, read_only=True) as st:            # the 2022 interview is still there, untouched
        assert st.query("SELECT wave FROM interviews WHERE interview_id = ?", [old.interview_id])["wave"][0] == "2022"
    assert_clean(cli, project)
    res = cli("--project", project, "ingest", d, "--metadata", sheet, "--replace")
    assert res.exit_code == 0 and "1 replaced" in flat(res.stderr), res
    assert_clean(cli, project)


# ------------------------------------------------------------------ 3. same files, no sheet
def test_same_content_is_not_stored_twice(project, corpus3, tmp_path, cli):
    copy = Path(shutil.copytree(corpus3, tmp_path / "autre_dossier"))
    res = cli("--project", project, "ingest", copy, "--wave", "2023")     # other folder and wave: other ids
    assert_coded(res, "E119")
    assert "alpha.txt" in res.stderr and "byte for byte" in res.stderr
    with Store(project, read_only=True) as st:
        assert st.query("SELECT count(*) AS n FROM interviews")["n"][0] == 3
    sheet = copy / "metadata.csv"
    sheet.write_text("file,interview_id,wave,date,territory,structure_type,respondent_id,role\n"
                     + "".join(f"{n}.txt,V1-{n},2022,2022-01-01,A,commune,R{k},conum\n" for k, n in enumerate(ITV)),
                     encoding="utf-8")
    assert_coded(cli("--project", project, "ingest", copy, "--metadata", sheet), "E119")
    # --replace: the sheet's ids take over the earlier anonymous ones, nothing is doubled
    assert cli("-q", "--project", project, "ingest", copy, "--metadata", sheet, "--replace").exit_code == 0
    with Store(project, read_only=True) as st:
        assert sorted(st.query("SELECT interview_id FROM interviews")["interview_id"]) == [f"V1-{n}" for n in ITV]
    assert_clean(cli, project)
    dup = Path(tmp_path / "doublon")
    write_itv(dup, "un.txt", ITV["beta"])
    write_itv(dup, "deux.txt", ITV["beta"])
    assert_coded(cli("--project", project, "ingest", dup, "--wave", "2024"), "E119")


# ------------------------------------------------------------------ 4. names in metadata columns
def test_extra_metadata_columns_are_withheld_unless_public_or_reveal(tmp_path, corpus3, cli):
    from textmine.cli.main import main
    d = Path(shutil.copytree(corpus3, tmp_path / "w"))
    (d / "metadata.csv").write_text(
        "file,interview_id,wave,date,territory,structure_type,respondent_id,role,nom,contact_referent,public:genre\n"
        "alpha.txt,I1,2022,2022-01-01,A,commune,R1,conum,Gaëlle Fromentin,Mme Ortolan,F\n"
        "beta.txt,I2,2022,2022-01-02,B,association,R2,conum,Yannick Brossard,M. Quenouille,H\n"
        "gamma.txt,I3,2022,2022-01-03,C,commune,R3,conum,Odette Vallin,Mme Ortolan,F\n", encoding="utf-8")
    proj = tmp_path / "p"
    assert main(["-q", "--project", str(proj), "ingest", str(d), "--metadata", str(d / "metadata.csv")]) == 0
    secrets = ("Fromentin", "Brossard", "Vallin", "Ortolan", "Quenouille")
    out = tmp_path / "seg.csv"
    assert cli("--project", proj, "segments", "export", "-o", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert not any(s in text for s in secrets) and '""genre"": ""F""' in text
    with Store(proj) as st:
        _fake_theme_run(st)
    res = cli("--project", proj, "track", "--by", "nom", "--format", "json")
    assert_coded(res, "E501")
    assert "public:nom" in res.stderr and not any(s in res.stderr for s in secrets)
    res = cli("--project", proj, "track", "--by", "genre", "--format", "json")
    assert res.exit_code == 0 and {r["genre"] for r in json.loads(res.stdout)} == {"F", "H"}
    res = cli("--project", proj, "track", "--by", "nom", "--reveal", "--format", "json")
    assert res.exit_code == 0 and "Brossard" in res.stdout                 # --reveal unlocks it
    for fmt in ("md", "csv", "xlsx"):
        q = tmp_path / f"q.{fmt}"
        assert cli("--project", proj, "quotes", "export", "-o", q).exit_code == 0
        raw = q.read_bytes() if fmt != "xlsx" else _xlsx_text(q).encode()
        assert not any(s.encode() in raw for s in secrets), fmt
    rep = tmp_path / "r.html"
    assert cli("--project", proj, "report", "-o", rep, "--no-figures").exit_code == 0
    assert not any(s in rep.read_text(encoding="utf-8") for s in secrets)
    assert_clean(cli, proj)


def _xlsx_text(path: Path) -> str:
    import openpyxl
    wb = openpyxl.load_workbook(path)
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)


# ------------------------------------------------------------------ 5. encodings and CSV quoting
def test_mixed_utf8_cp1252_is_read_without_mojibake(tmp_path, cli):
    d = tmp_path / "w"
    d.mkdir()
    data = (transcript(ITV["alpha"][:2]).encode("utf-8")
            + "Enquêteur : Et les démarches à leur place ?\nConum : Ça m'arrive, à contrecœur.\n".encode("cp1252"))
    (d / "mix.txt").write_bytes(data)
    proj = tmp_path / "p"
    assert cli("-q", "--project", proj, "ingest", d, "--wave", "1").exit_code == 0
    with Store(proj, read_only=True) as st:
        text = " ".join(st.query("SELECT text FROM turns")["text"])
        enc = st.query("SELECT encoding FROM interviews")["encoding"][0]
    assert "à leur place" in text and "à contrecœur" in text and "médiathèque" in text and "Ã" not in text
    assert enc == "utf-8+cp1252"
    assert_clean(cli, proj)


def test_unterminated_csv_quote_is_refused_with_its_line(tmp_path, cli):
    d = tmp_path / "w"
    d.mkdir()
    (d / "itv.csv").write_text('speaker,text\nEnquêteur,"Comment se passe la permanence ?\n'
                               "Conum,Les gens viennent avec leurs courriers et on cherche ensemble.\n"
                               "Enquêteur,Merci.\n", encoding="utf-8")
    res = cli("--project", tmp_path / "p", "ingest", d, "--wave", "1")
    assert_coded(res, "E110")
    assert "itv.csv:2" in res.stderr
    (d / "itv.csv").write_text('speaker,text\nEnquêteur,"Comment se passe la permanence ?\n'
                               'Conum,Les gens viennent avec leurs courriers."\nEnquêteur,Merci.\n', encoding="utf-8")
    res = cli("--project", tmp_path / "p", "ingest", d, "--wave", "1")       # balanced, but a row swallowed
    assert_coded(res, "E110")
    assert "line 3" in res.stderr and "Conum" in res.stderr
    assert not (tmp_path / "p").exists()        # nothing stored: the new project folder is removed


def test_utf16_without_bom_is_text_not_binary(tmp_path, cli):
    d = tmp_path / "w"
    d.mkdir()
    (d / "u16.txt").write_bytes(transcript(ITV["gamma"]).encode("utf-16-le"))
    (d / "u16be.txt").write_bytes(transcript(ITV["beta"]).encode("utf-16-be"))
    proj = tmp_path / "p"
    assert cli("-q", "--project", proj, "ingest", d, "--wave", "1").exit_code == 0
    with Store(proj, read_only=True) as st:
        assert sorted(st.query("SELECT encoding FROM interviews")["encoding"]) == ["utf-16-be", "utf-16-le"]
        assert "souris" in " ".join(st.query("SELECT text FROM turns")["text"])
    assert_clean(cli, proj)
