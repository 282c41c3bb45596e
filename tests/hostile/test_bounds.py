"""Issue 20, items 6-9: every input bounded, no MemoryError / RecursionError / hang.

6. .odt ``<text:s text:c>`` expansions and nesting; DOCTYPE in any part of a .docx/.odt;
7. a .qdpx whose codes nest in themselves or 20,000 deep;
8. a catastrophic ``re:`` cue in the codebook;
9. a transcript above the documented size limit.
"""
from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import yaml

from .hostile_helpers import ITV, assert_coded, flat
from textmine.errors import TextmineError

_ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def _odt(path: Path, body: str) -> Path:
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODT_NS}>'
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
        z.writestr("styles.xml", f'<?xml version="1.0"?><office:document-styles {_ODT_NS}/>')
    return path


def _turns_xml() -> str:
    return "".join(f"<text:p>{who} : {text}</text:p>" for who, text in ITV["alpha"])


# ------------------------------------------------------------------ 6. ODT expansions, nesting, DOCTYPE
@pytest.mark.parametrize("count", ["1000000000", "99999999999999999999", "2.5", "-3", "abc"])
def test_odt_space_counts_are_bounded(tmp_path, count):
    from textmine.ingest import parse_file
    p = _odt(tmp_path / "s.odt", f'<text:p>Conum : un<text:s text:c="{count}"/>deux</text:p>' + _turns_xml())
    tracemalloc.start()
    tr = parse_file(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20                                  # was 1 GB from a 4 KB file
    first = tr.turns[0].text
    assert first.startswith("un") and first.endswith("deux") and len(first) <= 1010


def test_deep_odt_nesting_is_walked_iteratively_or_refused(tmp_path):
    from textmine.ingest import parse_file
    deep = "<text:span>" * 200 + "mot" + "</text:span>" * 200       # under the depth limit: read
    tr = parse_file(_odt(tmp_path / "d.odt", f"<text:p>Conum : {deep}</text:p>" + _turns_xml()))
    assert "mot" in tr.turns[0].text
    deeper = "<text:span>" * 5000 + "mot" + "</text:span>" * 5000   # RecursionError before: now E105
    with pytest.raises(TextmineError) as ei:
        parse_file(_odt(tmp_path / "dd.odt", f"<text:p>Conum : {deeper}</text:p>" + _turns_xml()))
    assert ei.value.code == "E105" and "nested" in ei.value.detail


def test_doctype_in_any_office_part_is_refused(tmp_path):
    from docx import Document

    from textmine.ingest import parse_file
    buf = io.BytesIO()
    doc = Document()
    for who, text in ITV["beta"]:
        doc.add_paragraph(f"{who} : {text}")
    doc.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    evil = tmp_path / "evil.docx"
    with zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/styles.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w:styles [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
            z.writestr(info, data)
    with pytest.raises(TextmineError) as ei:
        parse_file(evil)
    assert ei.value.code == "E106" and "word/styles.xml" in ei.value.detail


# ------------------------------------------------------------------ 7. REFI-QDA code trees
_QDE = '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x"><CodeBook><Codes>{}</Codes></CodeBook></Project>'


def _qdpx(path: Path, codes: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", _QDE.format(codes))
    return path


def test_qdpx_code_nested_in_itself_is_e603(tmp_path, cli):
    g = "00000000-0000-0000-0000-000000000001"
    p = _qdpx(tmp_path / "loop.qdpx", f'<Code guid="{g}" name="A" isCodable="true"><Code guid="{g}" name="A" '
                                       'isCodable="true"/></Code>')
    res = cli("import", "qdpx", p)
    assert_coded(res, "E603")
    assert "used twice" in res.stderr


@pytest.mark.parametrize("n", [100, 20_000])        # over the code-tree limit (64); over the XML depth limit
def test_qdpx_deeply_nested_codes_are_e603_fast(tmp_path, cli, n):
    codes = "".join(f'<Code guid="g{i}" name="c{i}" isCodable="true">' for i in range(n)) + "</Code>" * n
    p = _qdpx(tmp_path / "deep.qdpx", codes)
    t0 = time.perf_counter()
    res = cli("import", "qdpx", p)
    assert_coded(res, "E603")
    assert time.perf_counter() - t0 < 20 and "nested" in res.stderr


# ------------------------------------------------------------------ 8. catastrophic regex cue
def test_catastrophic_regex_cue_stops_with_e411(tmp_path):
    from textmine.themes.codebook import CUE_TIMEOUT_S, load_codebook
    cb = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "codebook.yaml").read_text("utf-8"))
    cb["themes"][0]["cues"].append("re:(a|aa)+$")
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    book = load_codebook(path)
    t0 = time.perf_counter()
    with pytest.raises(TextmineError) as ei:
        book.cue_counts(["a" * 40 + "b"])                 # 86 s with `re`
    assert ei.value.code == "E411" and "(a|aa)+$" in ei.value.detail
    assert time.perf_counter() - t0 < CUE_TIMEOUT_S + 5
    assert book.cue_counts(["une démarche en ligne"]).shape == (1, len(book.themes))   # sane texts unaffected


# ------------------------------------------------------------------ 9. size bound
def test_transcript_above_the_limit_is_refused_before_reading(tmp_path, cli):
    from textmine.ingest import MAX_TEXT_BYTES
    d = tmp_path / "w"
    d.mkdir()
    line = "Conum : " + "on remplit le dossier ensemble à la permanence " * 20 + "\n"
    n = MAX_TEXT_BYTES // len(line.encode()) + 10
    (d / "enorme.txt").write_text("Enquêteur : bonjour\n" + line * n, encoding="utf-8")
    t0 = time.perf_counter()
    res = cli("--project", tmp_path / "p", "ingest", d, "--wave", "1")
    assert_coded(res, "E120")
    assert "enorme.txt" in res.stderr and "Split" in res.stderr
    assert time.perf_counter() - t0 < 10
    assert not (tmp_path / "p").exists()        # nothing stored: the new project folder is removed


def test_iramuteq_text_above_the_limit_is_refused_with_its_line(tmp_path, cli):
    """A text of an IRaMuTeQ corpus is one interview: the same bound, naming its **** line."""
    from textmine.ingest import MAX_TEXT_BYTES
    d = tmp_path / "w"
    d.mkdir()
    para = "on remplit le dossier ensemble à la permanence " * 20 + "\n"
    n = int(MAX_TEXT_BYTES * 1.05) // len(para)              # 5 % over the limit in characters
    (d / "corpus.txt").write_text("**** *vague_1 *id_court\nUn texte court sur la médiathèque.\n"
                                  "**** *vague_1 *id_long\n" + para * n, encoding="utf-8")
    t0 = time.perf_counter()
    res = cli("--project", tmp_path / "p", "ingest", d)
    assert_coded(res, "E120")
    assert "corpus.txt:3" in flat(res.stderr), res.stderr
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "p").exists()        # nothing stored (not even the short text): folder removed


def test_a_csv_turn_or_sheet_cell_longer_than_128_kib_is_read(tmp_path):
    """The csv module refuses a cell over 128 KiB: a CSV transcript with one long turn (a written
    contribution, about 20,000 words) or a sheet with a long note was refused as "a quote opened
    there and not closed?", though no quote was open. A cell may be as long as the file, which
    is bounded (E120); a quote left open is still refused."""
    import csv

    from textmine.ingest import parse_file, read_metadata
    from textmine.records import KNOWN_ROLES
    said = "le conseiller numérique aide les usagers avec leurs démarches en ligne chaque semaine "
    (tmp_path / "long.csv").write_text(f"speaker;text\nEnquêtrice;Bonjour ?\nConum;{said * 2500}\n", encoding="utf-8")
    tr = parse_file(tmp_path / "long.csv")
    assert [t.speaker for t in tr.turns] == ["Enquêtrice", "Conum"] and len(tr.turns[1].text) > 200_000
    assert csv.field_size_limit() == 131072                  # the module's limit is put back
    (tmp_path / "e.txt").write_text("Enquêtrice : Bonjour ?\nConum : on aide les gens.\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text(
        "file,interview_id,wave,date,territory,structure_type,respondent_id,role,notes\n"
        f"e.txt,I1,2023,2023-01-01,A,asso,R1,conum,{'x' * 200_000}\n", encoding="utf-8")
    assert read_metadata(tmp_path / "metadata.csv", known_roles=KNOWN_ROLES)[0].interview_id == "I1"
    (tmp_path / "open.csv").write_text(f'speaker;text\nEnquêtrice;"Bonjour ?\nConum;{said * 2500}\n', encoding="utf-8")
    with pytest.raises(TextmineError) as ei:
        parse_file(tmp_path / "open.csv")
    assert ei.value.code == "E110" and ei.value.line == 2
