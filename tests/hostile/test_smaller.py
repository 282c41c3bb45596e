"""Issue 20, "smaller ones": one test each."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .hostile_helpers import ITV, assert_clean, assert_coded, write_itv
from textmine.errors import TextmineError

ROOT = Path(__file__).resolve().parents[2]


def _coded(n: int = 12) -> pd.DataFrame:
    from helpers_themes import coded_frame
    return coded_frame().head(n)


def test_one_theme_codebook_is_e401_not_nan(tmp_path, cli):
    cb = yaml.safe_load((ROOT / "configs" / "codebook.yaml").read_text(encoding="utf-8"))
    cb["themes"] = cb["themes"][1:2]
    cb.pop("posture_theme", None)
    path = tmp_path / "un_theme.yaml"
    path.write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    (tmp_path / "in.csv").write_text("id,text\n1,Mon contrat se termine en juin.\n", encoding="utf-8")
    res = cli("themes", "classify", "-i", tmp_path / "in.csv", "-o", tmp_path / "o.jsonl", "--codebook", path)
    assert_coded(res, "E401")
    assert "at least two themes" in res.stderr and not (tmp_path / "o.jsonl").exists()


def test_cp1252_and_binary_coded_files(tmp_path, cli):
    from textmine.themes.codebook import load_codebook
    from textmine.export.coded import read_coded
    df = _coded()
    cp = tmp_path / "cp1252.csv"
    cp.write_bytes(df.to_csv(index=False).encode("cp1252"))
    back = read_coded(cp, load_codebook())
    assert back["text"].tolist() == df["text"].tolist()
    binary = tmp_path / "binaire.csv"
    binary.write_bytes(b"id,text,themes\n1,\x00\x01\x02\x00,precarite\n" + bytes(range(256)) * 4)
    res = cli("themes", "train", "--coded", binary, "-o", tmp_path / "m")
    assert_coded(res, "E402")
    assert not (tmp_path / "m").exists()


def test_duplicate_ids_and_single_class_coded_files(tmp_path, cli):
    df = _coded()
    dup = df.copy()
    dup.loc[5, "id"] = dup.loc[2, "id"]
    dup.to_csv(tmp_path / "dup.csv", index=False)
    res = cli("themes", "train", "--coded", tmp_path / "dup.csv", "-o", tmp_path / "m")
    assert_coded(res, "E402")
    assert "lines 4 and 7" in res.stderr
    same = df.assign(themes="precarite", posture="")
    same.to_csv(tmp_path / "same.csv", index=False)
    res = cli("themes", "train", "--coded", tmp_path / "same.csv", "-o", tmp_path / "m")
    assert_coded(res, "E406")
    assert "nothing" in res.stderr and not (tmp_path / "m").exists()


def test_search_options_are_checked_before_any_loading(tmp_path, cli, monkeypatch):
    from helpers_search import make_store
    make_store(tmp_path / "p").close()
    import textmine.search.index as index

    def boom(*a, **k):
        raise AssertionError("the index was loaded before the options were checked")
    monkeypatch.setattr(index, "update_index", boom)
    monkeypatch.setattr(index, "get_index", boom)
    import textmine.search as search_pkg
    monkeypatch.setattr(search_pkg, "update_index", boom)
    for args, code in ((["--mode", "fuzzy"], "E005"), (["--limit", "0"], "E005"), (["--wave", "2031"], "E502"),
                       (["--theme", "inconnu"], "E403")):
        res = cli("--project", tmp_path / "p", "search", "démarches", *args)
        assert_coded(res, code)
    assert_clean(cli, tmp_path / "p")


def test_unbalanced_quote_in_a_metadata_sheet_names_the_sheet_and_line(tmp_path, cli):
    d = tmp_path / "w"
    for name in ITV:
        write_itv(d, f"{name}.txt")
    (d / "metadata.csv").write_text(
        "file,interview_id,wave,date,territory,structure_type,respondent_id,role\n"
        'alpha.txt,I1,2022,2022-01-01,"A,commune,R1,conum\n'
        "beta.txt,I2,2022,2022-01-02,B,commune,R2,conum\n"
        "gamma.txt,I3,2022,2022-01-03,C,commune,R3,conum\n", encoding="utf-8")
    res = cli("--project", tmp_path / "p", "ingest", d, "--metadata", d / "metadata.csv")
    assert_coded(res, "E111")                                  # was E113 on beta.txt
    assert "metadata.csv:2" in res.stderr
    assert not (tmp_path / "p").exists()        # nothing stored: the new project folder is removed


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\n\n"])
def test_empty_metadata_sheet_is_e111(tmp_path, cli, content):
    d = tmp_path / "w"
    write_itv(d, "alpha.txt")
    (d / "metadata.csv").write_bytes(content)
    res = cli("--project", tmp_path / "p", "ingest", d, "--metadata", d / "metadata.csv")
    assert_coded(res, "E111")
    assert "sheet is empty" in res.stderr and "Transcript" not in res.stderr
    assert not (tmp_path / "p").exists()        # nothing stored: the new project folder is removed


def test_doctype_in_odt_styles_is_refused(tmp_path):
    from textmine.ingest import parse_file
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    body = "".join(f"<text:p>{w} : {t}</text:p>" for w, t in ITV["alpha"])
    p = tmp_path / "styles.odt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("content.xml", f"<office:document-content {ns}><office:body><office:text>{body}"
                                  "</office:text></office:body></office:document-content>")
        z.writestr("styles.xml", '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY e SYSTEM "http://exemple.invalid/">]>'
                                 f"<office:document-styles {ns}/>")
    with pytest.raises(TextmineError) as ei:
        parse_file(p)
    assert ei.value.code == "E106" and "styles.xml" in ei.value.detail


def test_mapping_row_matching_no_code_is_e605(tmp_path, cli):
    qde = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x"><CodeBook>'
           '<Codes><Code guid="g1" name="Argent" isCodable="true"/></Codes></CodeBook></Project>')
    p = tmp_path / "p.qdpx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("project.qde", qde)
    (tmp_path / "map.csv").write_text("code,theme\nArgent,financement_renouvellement\n"
                                      "Argnet,precarite\n", encoding="utf-8")
    res = cli("import", "qdpx", p, "--mapping", tmp_path / "map.csv")
    assert_coded(res, "E605")
    assert "'argnet'" in res.stderr and "Argent" in res.stderr


def test_a_sheet_whose_rows_name_files_outside_the_folder_says_so(tmp_path, cli):
    """Every row of the sheet names a file outside the folder given (``../``, an absolute path):
    the command said "no transcript under c; passed over: 1 .txt file(s)", about a folder that
    holds a transcript. It now names the sheet's row and why it is not ingested."""
    write_itv(tmp_path / "c", "alpha.txt")
    write_itv(tmp_path / "dehors", "beta.txt")
    sheet = tmp_path / "c" / "meta.csv"
    sheet.write_text("file,interview_id,wave,date,territory,structure_type,respondent_id,role\n"
                     "../dehors/beta.txt,B1,2023,2023-01-02,A,association,R1,conum\n", encoding="utf-8")
    res = cli("--project", tmp_path / "p", "ingest", tmp_path / "c", "--metadata", sheet)
    assert_coded(res, "E112")
    out = " ".join(res.stderr.split())
    assert "meta.csv:2" in out and "none of the 1 file(s) meta.csv lists is under" in out, out
    assert not (tmp_path / "p").exists()


def test_segments_export_jsonl_is_strict_json(project, tmp_path, cli):
    """Segments of a .txt transcript have no start or end time: the JSON Lines export wrote
    `"start": NaN`, which JSON does not have (JavaScript's JSON.parse, Python's strict readers and
    most JSON tools refuse the file). Missing values are null."""
    import json

    out = tmp_path / "segments.jsonl"
    assert cli("--project", project, "segments", "export", "--format", "jsonl", "--output", out).exit_code == 0

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    rows = [json.loads(line, parse_constant=refuse) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["start"] is None and r["end"] is None for r in rows)
