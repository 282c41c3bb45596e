"""Bad input: each failure is a TextmineError with its code, the file, the line when known, a fix."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from textmine.errors import TextmineError
from textmine.ingest import match_metadata, parse_file, read_metadata
from textmine.records import KNOWN_ROLES

FIX = Path(__file__).resolve().parent / "fixtures" / "formats"


def _err(path) -> TextmineError:
    with pytest.raises(TextmineError) as ei:
        parse_file(path)
    e = ei.value
    assert e.fix and e.path and e.code in str(e) and "Fix:" in str(e)
    return e


@pytest.mark.parametrize("name,code,line", [
    ("does_not_exist.txt", "E101", None),
    ("empty.txt", "E102", None),
    ("binary.txt", "E103", 1),
    ("pdf_renamed.txt", "E103", None),
    ("bad_utf8_bom.txt", "E104", 2),
    ("mislabelled_encoding.trs", "E104", 21),
    ("malformed.trs", "E105", 24),
    ("xxe.trs", "E106", None),
    ("billion_laughs.trs", "E106", None),
    ("entities.odt", "E106", None),
    ("bomb.docx", "E107", None),
    ("truncated.docx", "E107", None),
    ("entretien.rtf", "E108", None),
    ("no_tags.txt", "E109", None),
    ("no_turns.trs", "E109", None),
    ("no_speaker.srt", "E109", None),
    ("truncated.TextGrid", "E110", None),
    ("not_textgrid.TextGrid", "E110", 2),
    ("bad_time.csv", "E110", 3),
    ("missing_columns.csv", "E110", 1),
    ("no_header.vtt", "E110", 1),
    ("bad_cue.srt", "E110", 2),
])
def test_bad_fixture_files(name, code, line):
    e = _err(FIX / name)
    assert e.code == code, str(e)
    assert e.path.endswith(name)
    if line is not None:
        assert e.line == line, str(e)


def test_directory_and_missing_unsupported(tmp_path):
    assert _err(tmp_path).code == "E101"
    assert _err(tmp_path / "nope.pdf").code == "E101"
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4")
    assert _err(tmp_path / "x.pdf").code == "E108"


def test_zip_checks(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(2100):
            z.writestr(f"m{i}", b"")
    (tmp_path / "many.docx").write_bytes(buf.getvalue())
    assert "members" in _err(tmp_path / "many.docx").detail
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.xml", "<a/>")
    (tmp_path / "nodoc.docx").write_bytes(buf.getvalue())
    e = _err(tmp_path / "nodoc.docx")      # the fix said "Fix the line given", for a file without lines
    assert e.code == "E110" and "word/document.xml" in e.detail and "save or export it again" in e.fix
    (tmp_path / "sheet.odt").write_bytes(buf.getvalue())   # content.xml without office:text
    assert _err(tmp_path / "sheet.odt").code == "E110"
    (tmp_path / "garbage.odt").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    assert _err(tmp_path / "garbage.odt").code == "E107"


def test_nul_bytes_in_csv_and_textgrid(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"speaker,text\nE,\x00\x00\n")
    assert _err(tmp_path / "a.csv").code == "E103"
    (tmp_path / "a.TextGrid").write_bytes(b"\xef\xbb\xbf")   # BOM only
    assert _err(tmp_path / "a.TextGrid").code == "E102"


# ---------------------------------------------------------------------------- metadata
HEADER = "file;interview_id;wave;date;territory;structure_type;respondent_id;role;interviewer;commune\n"


def _sheet(tmp_path: Path, rows: list[str], header: str = HEADER, name="metadata.csv", enc="utf-8") -> Path:
    (tmp_path / "t").mkdir(exist_ok=True)
    for f in ("a.txt", "b.txt"):
        (tmp_path / "t" / f).write_text("Enquêteur : question ?\nConum : réponse.\n", encoding="utf-8")
    p = tmp_path / name
    p.write_bytes((header + "".join(r + "\n" for r in rows)).encode(enc))
    return p


def test_read_metadata_csv_semicolon_cp1252(tmp_path):
    p = _sheet(tmp_path, ["t/a.txt;C01;2;2024-03-12;D;association;R7;Conum;Enquêteur;Évry",
                          "t/b.txt;C02;2;2024-03-13;D;mairie;R8;élu;;"], enc="cp1252")
    metas = read_metadata(p, known_roles=KNOWN_ROLES)
    assert [m.interview_id for m in metas] == ["C01", "C02"]
    a = metas[0]
    assert a.file == str((tmp_path / "t" / "a.txt").resolve())
    assert (a.wave, a.date, a.territory, a.role, a.sheet_line) == ("2", "2024-03-12", "D", "conum", 2)
    assert a.attrs == {"interviewer": "Enquêteur", "commune": "Évry"} and a.sheet == str(p)
    assert metas[1].role == "elu" and metas[1].attrs["commune"] is None
    m = match_metadata([tmp_path / "t" / "b.txt", tmp_path / "t" / "a.txt"], metas)
    assert m[tmp_path / "t" / "a.txt"].interview_id == "C01"


def test_read_metadata_xlsx(tmp_path):
    _sheet(tmp_path, [])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Fichier", "interview_id", "Vague", "Date", "Territoire", "structure_type", "respondent_id", "Rôle"])
    import datetime
    ws.append(["t/a.txt", "C01", 2023, datetime.datetime(2023, 5, 2), "A", "France Services", "R1", "Responsable structure"])
    ws.append([None] * 8)
    ws.append(["t/b.txt", "C02", 2023, "2023-05-03", "B", "association", "R2", None])
    wb.save(tmp_path / "meta.xlsx")
    metas = read_metadata(tmp_path / "meta.xlsx", known_roles=KNOWN_ROLES)
    assert [(m.interview_id, m.wave, m.date, m.role, m.sheet_line) for m in metas] == [
        ("C01", "2023", "2023-05-02", "responsable_structure", 2), ("C02", "2023", "2023-05-03", None, 4)]


@pytest.mark.parametrize("rows,header,code,line", [
    (["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;"], "file;interview_id;wave;date\n", "E111", 1),
    (["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;", ";C02;2;2023-05-02;D;s;R;conum;;"], HEADER, "E112", 3),
    (["t/missing.txt;C01;2;2023-05-02;D;s;R;conum;;"], HEADER, "E112", 2),
    (["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;", "t/b.txt;C01;2;2023-05-02;D;s;R;conum;;"], HEADER, "E114", 3),
    (["t/a.txt;C01;2;2023-05-02;D;s;R;astronaute;;"], HEADER, "E115", 2),
    # the same transcript on two rows: the second row used to replace the first, whose interview vanished
    (["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;", "t/b.txt;C02;2;2023-05-02;D;s;R;conum;;",
      "./t/a.txt;C03;2;2023-05-02;D;s;R;elu;;"], HEADER, "E111", 4),
])
def test_metadata_errors(tmp_path, rows, header, code, line):
    p = _sheet(tmp_path, rows, header=header)
    with pytest.raises(TextmineError) as ei:
        read_metadata(p, known_roles=KNOWN_ROLES)
    assert ei.value.code == code and ei.value.line == line and ei.value.path == str(p)
    if code == "E115":
        assert "conum" in ei.value.detail and "interviewer" in ei.value.detail
    if code in ("E112",):
        assert "metadata.csv" in ei.value.detail and f"line {line}" in ei.value.detail
    if code == "E111" and len(rows) > 1:
        assert "t/a.txt is listed on lines 2 and 4" in ei.value.detail and "one row" in ei.value.fix


def test_a_misspelt_column_is_named_with_its_near_match(tmp_path):
    p = _sheet(tmp_path, ["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;"], header=HEADER.replace("territory", "teritory"))
    with pytest.raises(TextmineError) as ei:
        read_metadata(p, known_roles=KNOWN_ROLES)
    assert ei.value.code == "E111" and "is 'teritory' meant to be 'territory'?" in str(ei.value)


def test_sheet_roles_in_feminine_or_french_spellings(tmp_path):
    rows = ["t/a.txt;C01;2;2023-05-02;D;s;R;usagère;;", "t/b.txt;C02;2;2023-05-02;D;s;R;Conseillère numérique;;"]
    metas = read_metadata(_sheet(tmp_path, rows), known_roles=KNOWN_ROLES)
    assert [m.role for m in metas] == ["usager", "conum"]


@pytest.mark.parametrize("written, stored", [
    ("2023-05-02", "2023-05-02"), ("02/05/2023", "2023-05-02"), ("2.5.2023", "2023-05-02"), ("2023-5", "2023-05"),
    ("2023", "2023"), ("", None),
])
def test_sheet_dates_are_stored_as_iso(tmp_path, written, stored):
    (meta,) = read_metadata(_sheet(tmp_path, [f"t/a.txt;C01;2;{written};D;s;R;conum;;"]), known_roles=KNOWN_ROLES)
    assert meta.date == stored


@pytest.mark.parametrize("written", ["2012-13-45", "31/02/2023", "printemps 2023"])
def test_an_impossible_date_names_its_line(tmp_path, written):
    rows = ["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;", f"t/b.txt;C02;2;{written};D;s;R;conum;;"]
    with pytest.raises(TextmineError) as ei:
        read_metadata(_sheet(tmp_path, rows), known_roles=KNOWN_ROLES)
    assert ei.value.code == "E111" and ei.value.line == 3 and written in str(ei.value) and "YYYY-MM-DD" in str(ei.value)


def test_match_metadata_missing_row(tmp_path):
    p = _sheet(tmp_path, ["t/a.txt;C01;2;2023-05-02;D;s;R;conum;;"])
    metas = read_metadata(p, known_roles=KNOWN_ROLES)
    with pytest.raises(TextmineError) as ei:
        match_metadata([tmp_path / "t" / "a.txt", tmp_path / "t" / "b.txt"], metas)
    assert ei.value.code == "E113" and ei.value.path.endswith("b.txt")


def test_docx_with_entity_declaration_is_refused(tmp_path):
    src = zipfile.ZipFile(FIX / "entretien_coordination.docx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w:document [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
            z.writestr(info.filename, data)
    (tmp_path / "evil.docx").write_bytes(buf.getvalue())
    e = _err(tmp_path / "evil.docx")
    assert e.code == "E106" and "word/document.xml" in e.detail


def test_a_folder_without_transcripts_says_what_it_holds_and_how_to_convert(tmp_path):
    """A consultation exported as JSON is no transcript: the error counts what was passed over
    and says how to convert it (it said "ingest transcripts first" to the user who just did)."""
    from textmine.corpus import ingest_paths
    from textmine.store import Store
    data = tmp_path / "opinions"
    data.mkdir()
    for k in range(3):
        (data / f"avis_{k}.json").write_text('{"body": "Je propose un droit à la connexion."}', encoding="utf-8")
    (data / "notes.pdf").write_bytes(b"%PDF-1.4")
    with Store(tmp_path / "p", create=True) as store, pytest.raises(TextmineError) as ei:
        ingest_paths(store, [data])
    msg = str(ei.value)
    assert ei.value.code == "E006" and "3 .json file(s), 1 .pdf file(s)" in msg and "CSV" in msg
    assert "Ingest transcripts first" not in msg


def test_new_pseudonymisation_rules_pseudonymise_stored_interviews_again(tmp_path, monkeypatch):
    """Rules that mask more (``@handles``) reach interviews stored before them: ingesting their
    folder again derives them again; other folders are listed as stale."""
    from textmine import pseudonymise_lex
    from textmine.corpus import ingest_paths, stale_interviews
    from textmine.store import Store
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "e1.txt").write_text("Enquêtrice : Vous suivez qui ?\nConum : Je suis @lea_martin sur le forum.\n",
                                   encoding="utf-8")
    with Store(tmp_path / "p", create=True) as store:
        assert ingest_paths(store, [folder], wave="1").added
        assert not ingest_paths(store, [folder], wave="1").changed
        monkeypatch.setattr(pseudonymise_lex, "RULES", pseudonymise_lex.RULES + 1)
        assert stale_interviews(store)
        rep = ingest_paths(store, [folder], wave="1")
        assert rep.replaced and set(rep.reasons.values()) == {"segment/pseudonymise settings or rules changed"}
        assert not stale_interviews(store)
        assert "@lea_martin" not in " ".join(store.segments_frame()["text_pseudo"].fillna(""))
