"""Which files an ingest takes, and the speakers sheet (issue 19, items 4 and 5).

Only the validation phase runs here (parsing, no spaCy model): with a metadata sheet exactly
the files it lists are ingested and the others named as skipped; without one every unreadable
file is listed at once (E117) unless ``skip_invalid``; the speakers sheet is read from a CSV or
from the metadata workbook and checked against the transcript's labels.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from textmine.corpus import IngestReport, _validate
from textmine.errors import TextmineError
from textmine.ingest import read_metadata
from textmine.store import Store

HEADER = "file,interview_id,wave,date,territory,structure_type,respondent_id,role"
TURNS = ("Enquêtrice : Comment se passent les permanences à la médiathèque ?\n"
         "Odile : Plutôt bien, on a du monde le mardi et les gens reviennent avec leurs papiers.\n"
         "Armand : Et moi je viens surtout pour les démarches de la retraite, c'est compliqué.\n")


def _wave(tmp_path: Path) -> Path:
    d = tmp_path / "vague1"
    d.mkdir()
    (d / "e1.txt").write_text(TURNS, encoding="utf-8")
    (d / "e2.txt").write_text(TURNS.replace("mardi", "jeudi"), encoding="utf-8")
    (d / "SOURCE.md").write_text("# Source\n\nEnregistrements de la vague 1, transcrits en mai.\n", encoding="utf-8")
    (d / "notes.pdf").write_bytes(b"%PDF-1.4 not a transcript")
    return d


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "p", create=True) as s:
        yield s


def test_with_a_sheet_exactly_its_files(tmp_path, store):
    d = _wave(tmp_path)
    (d / "metadata.csv").write_text(f"{HEADER}\ne1.txt,I1,1,,,,R1,usager\ne2.txt,I2,1,,,,R2,usager\n",
                                    encoding="utf-8")
    rep = IngestReport()
    parsed, unchanged = _validate(store, [d], "1", d / "metadata.csv", report=rep)
    assert sorted(p.interview_id for p in parsed) == ["I1", "I2"] and not unchanged
    skipped = {Path(f).name: why for f, why in rep.skipped}
    assert set(skipped) == {"SOURCE.md", "notes.pdf"}
    assert skipped["SOURCE.md"] == "not listed in metadata.csv"


def test_without_a_sheet_every_unreadable_file_at_once(tmp_path, store):
    d = _wave(tmp_path)
    (d / "vide.txt").write_text("", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        _validate(store, [d], "1", None)
    err = str(e.value)
    assert e.value.code == "E117" and "2 of 4 files" in err
    assert "SOURCE.md: [E109]" in err and "vide.txt: [E102]" in err and "--skip-invalid" in err
    rep = IngestReport()
    parsed, _ = _validate(store, [d], "1", None, skip_invalid=True, report=rep)
    assert sorted(p.path.name for p in parsed) == ["e1.txt", "e2.txt"]
    skipped = {Path(f).name: why for f, why in rep.skipped}
    assert skipped["notes.pdf"] == "not a transcript format (.pdf)"       # named, not silently ignored
    assert skipped["SOURCE.md"].startswith("[E109]") and skipped["vide.txt"].startswith("[E102]")


def test_one_bad_file_keeps_its_own_error_and_says_how_to_go_on(tmp_path, store):
    d = _wave(tmp_path)
    (d / "SOURCE.md").unlink()
    (d / "vide.txt").write_text("", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        _validate(store, [d], "1", None)
    assert e.value.code == "E102" and "--skip-invalid" in e.value.fix


def test_speakers_sheet_csv_and_workbook(tmp_path, store):
    import openpyxl
    d = _wave(tmp_path)
    (d / "metadata.csv").write_text(f"{HEADER},interviewer\ne1.txt,I1,1,,,,R1,usager,Enquêtrice\n"
                                    "e2.txt,I2,1,,,,R2,usager,\n", encoding="utf-8")
    sp = tmp_path / "speakers.csv"
    sp.write_text("fichier,locuteur,rôle,id_repondant\nvague1/e1.txt,Armand,elu,E9\n", encoding="utf-8")
    metas = {m.interview_id: m for m in read_metadata(d / "metadata.csv", known_roles=["usager", "elu"],
                                                      speakers=sp)}
    assert [(s.speaker, s.role, s.respondent_id, s.sheet_line) for s in metas["I1"].speakers] == [("Armand", "elu", "E9", 2)]
    assert metas["I2"].speakers == [] and metas["I1"].attrs["interviewer"] == "Enquêtrice"
    # the same rows as a `speakers` worksheet of the metadata workbook
    wb = openpyxl.Workbook()
    wb.active.append(HEADER.split(","))
    wb.active.append(["e1.txt", "I1", "1", None, None, None, "R1", "usager"])
    ws = wb.create_sheet("speakers")
    ws.append(["file", "speaker", "role"])
    ws.append(["e1.txt", "Armand", "elu"])
    wb.save(d / "metadata.xlsx")
    (meta,) = read_metadata(d / "metadata.xlsx", known_roles=["usager", "elu"])
    assert [(s.speaker, s.role) for s in meta.speakers] == [("Armand", "elu")]
    # a label the transcript does not have is refused at validation, with the sheet's line
    sp.write_text("file,speaker,role\nvague1/e1.txt,Armande,elu\n", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        _validate(store, [d], "1", d / "metadata.csv", speakers=sp)
    assert e.value.code == "E116" and e.value.line == 2 and "Armand" in str(e.value)
    # unknown role and a file with no metadata row
    sp.write_text("file,speaker,role\nvague1/e1.txt,Armand,maire\n", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        read_metadata(d / "metadata.csv", known_roles=["usager"], speakers=sp)
    assert e.value.code == "E115"
    sp.write_text("file,speaker,role\nvague1/e9.txt,Armand,elu\n", encoding="utf-8")
    with pytest.raises(TextmineError) as e:
        read_metadata(d / "metadata.csv", known_roles=["usager", "elu"], speakers=sp)
    assert e.value.code == "E112" and "e9.txt" in str(e.value)
