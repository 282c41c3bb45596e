"""REFI-QDA: schema validation, offsets round trip, no leak, mapping, untrusted archives."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers_search import REAL_FILES, REAL_NAMES, all_output_text, make_store
from textmine.errors import E, TextmineError
from textmine.export.qdpx import read_qdpx_codings, source_text, write_qdpx
from textmine.safeio import SafeZip

XSD = Path(__file__).resolve().parents[2] / "shared" / "refi-qda" / "Project-mrt2019.xsd"
NS = "{urn:QDA-XML:project:1.0}"
LEAKS = REAL_NAMES + [f.rsplit(".", 1)[0] for f in REAL_FILES]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    st = make_store(tmp_path_factory.mktemp("qdpx"))
    # a topic model with two topics, as the topics stage writes it
    st.write_frame("topic_info", pd.DataFrame({"model_id": "tm-1", "topic": [-1, 0, 1], "count": [1, 5, 4],
                                               "label": ["outliers", "financement_poste", "ateliers_usagers"],
                                               "words": ["", "financement poste", "atelier usager"]}))
    segs = st.segments_frame(roles="respondents")
    st.write_frame("topic_assignments", pd.DataFrame({"model_id": "tm-1", "segment_id": segs["segment_id"],
                                                      "topic": [i % 3 - 1 for i in range(len(segs))],
                                                      "probability": 0.8}))
    st.set_kv("topics.current_model", "tm-1")
    yield st
    st.close()


@pytest.fixture(scope="module")
def qdpx(project, tmp_path_factory):
    return write_qdpx(project, tmp_path_factory.mktemp("out") / "project.qdpx")


def _qde(path):
    import defusedxml.ElementTree as DET
    with zipfile.ZipFile(path) as z:
        return DET.fromstring(z.read("project.qde")), {n: z.read(n).decode("utf-8") for n in z.namelist()}


def test_validates_against_refi_qda_schema(qdpx):
    if not XSD.exists():
        pytest.skip("../shared/refi-qda/Project-mrt2019.xsd absent")
    import xmlschema
    schema = xmlschema.XMLSchema(str(XSD))
    with zipfile.ZipFile(qdpx) as z:
        schema.validate(z.read("project.qde").decode("utf-8"))


def test_selections_point_at_segment_text(project, qdpx):
    root, files = _qde(qdpx)
    segs = project.segments_frame()
    text_of = dict(zip(segs["segment_id"], segs["text_pseudo"]))
    n = 0
    for src in root.iter(f"{NS}TextSource"):
        body = files["Sources/" + src.get("plainTextPath").split("://", 1)[1]]
        for sel in src.iter(f"{NS}PlainTextSelection"):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert body[a:b] == text_of[sel.get("name")]
            n += 1
    assert n == 14                       # every assigned respondent segment


def _place(row, reveal=False) -> str:
    """``file, hh:mm:ss`` (rounded down), else ``file, l. N``: how the quote banks cite a segment."""
    name = Path(str(row["source_file"])).name if reveal else row["source_pseudo"]
    if pd.notna(row["start"]):
        t = int(row["start"])
        return f"{name}, {t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"
    return f"{name}, l. {int(row['line'])}"


def test_selections_cite_their_place_in_the_transcript(project, qdpx, tmp_path):
    """A coded passage opened in a QDA program says where it is in the transcript (file and
    timecode or line, as the quote banks cite it): before, only the segment id did."""
    segs = project.segments_frame(roles="all").set_index("segment_id")
    for path, reveal in ((qdpx, False), (write_qdpx(project, tmp_path / "real.qdpx", reveal=True), True)):
        root, _ = _qde(path)
        sels = list(root.iter(f"{NS}PlainTextSelection"))
        assert len(sels) == 14
        for sel in sels:
            row = segs.loc[sel.get("name")].to_dict()
            assert sel.findtext(f"{NS}Description") == _place(row, reveal)


def test_codebook_cases_and_topics(qdpx):
    root, files = _qde(qdpx)
    codes = {c.get("name"): c for c in root.iter(f"{NS}Code")}
    posture = next(c for c in codes.values() if "faire avec" in c.get("name").lower() and c.find(f"{NS}Code") is not None)
    assert {c.get("name") for c in posture.findall(f"{NS}Code")} == {"Faire avec", "Faire à la place", "Mixte"}
    assert "Topic 0: financement_poste" in codes and "Topic -1: outliers" not in codes
    assert codes["Topics"].get("isCodable") == "false"
    cases = root.findall(f"{NS}Cases/{NS}Case")
    assert len(cases) == 4
    vars_ = {v.get("guid"): v.get("name") for v in root.iter(f"{NS}Variable")}
    vals = {vars_[vv.find(f"{NS}VariableRef").get("targetGUID")]: vv.find(f"{NS}TextValue").text
            for vv in cases[0].findall(f"{NS}VariableValue")}
    assert set(vals) == {"Cases:wave", "Cases:territory", "Cases:role", "Cases:respondent", "Cases:structure_type"}


def test_round_trip_codings(project, qdpx):
    coded = read_qdpx_codings(qdpx)
    assert list(coded.columns) == ["id", "text", "themes", "posture", "interview_id", "role", "wave", "territory",
                                   "segment_id"]
    cod = project.query("SELECT segment_id, theme, posture FROM theme_codings WHERE assigned")
    segs = project.segments_frame().set_index("segment_id")
    expected = {(segs.loc[r.segment_id, "interview_id"], " ".join(segs.loc[r.segment_id, "text_pseudo"].split()),
                 r.theme, r.posture if isinstance(r.posture, str) else "") for r in cod.itertuples()}
    got = {(r.interview_id, r.text, r.themes, r.posture) for r in coded.itertuples()}
    assert got == expected
    assert coded.attrs["unmapped_codes"] == ["Topics/Topic 0: financement_poste", "Topics/Topic 1: ateliers_usagers"]


def test_deterministic_export(project, qdpx, tmp_path):
    again = write_qdpx(project, tmp_path / "again.qdpx")
    assert zipfile.ZipFile(again).read("project.qde") == zipfile.ZipFile(qdpx).read("project.qde")


def test_no_real_names_unless_reveal(project, qdpx, tmp_path):
    text = all_output_text(qdpx)
    assert not [n for n in LEAKS if n in text] and "[PERSONNE_1]" in text
    real = all_output_text(write_qdpx(project, tmp_path / "real.qdpx", reveal=True))
    assert "Martine Dubreuil" in real and "entretien_Martine_Dubreuil.docx" in real


def test_source_text_offsets():
    segs = pd.DataFrame({"segment_id": ["x:0000:00", "x:0001:00"], "speaker": ["Enq", "Ana"],
                         "speaker_pseudo": ["Enquêteur", "Conum_1"], "role": ["interviewer", "conum"],
                         "text": ["Bonjour ?", "Oui,  bien sûr."], "text_pseudo": ["Bonjour ?", "Oui,  bien sûr."]})
    text, spans = source_text(segs)
    assert text == "Enquêteur: Bonjour ?\nConum_1: Oui, bien sûr.\n"
    assert text[slice(*spans["x:0001:00"])] == "Oui, bien sûr."


# ---------------------------------------------------------------- foreign projects and mapping
FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="nvivo">
 <CodeBook><Codes>
  <Code guid="00000000-0000-0000-0000-000000000001" name="Argent" isCodable="true"/>
  <Code guid="00000000-0000-0000-0000-000000000002" name="precarite" isCodable="true"/>
  <Code guid="00000000-0000-0000-0000-000000000003" name="Posture d'accompagnement « faire avec » / « faire à la place »" isCodable="true">
   <Code guid="00000000-0000-0000-0000-000000000004" name="Faire à la place" isCodable="true"/>
  </Code>
  <Code guid="00000000-0000-0000-0000-000000000005" name="Divers" isCodable="true"/>
 </Codes></CodeBook>
 <Sources>
  <TextSource guid="00000000-0000-0000-0000-0000000000a1" name="ENQ07.txt">
   <PlainTextContent>Q: Et alors ?
R: Le budget baisse. Mon contrat finit. Je remplis pour eux.</PlainTextContent>
   <PlainTextSelection guid="00000000-0000-0000-0000-0000000000b1" startPosition="17" endPosition="34">
    <Coding guid="00000000-0000-0000-0000-0000000000c1"><CodeRef targetGUID="00000000-0000-0000-0000-000000000001"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="00000000-0000-0000-0000-0000000000b2" startPosition="35" endPosition="53">
    <Coding guid="00000000-0000-0000-0000-0000000000c2"><CodeRef targetGUID="00000000-0000-0000-0000-000000000002"/></Coding>
    <Coding guid="00000000-0000-0000-0000-0000000000c3"><CodeRef targetGUID="00000000-0000-0000-0000-000000000005"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="00000000-0000-0000-0000-0000000000b3" startPosition="54" endPosition="74">
    <Coding guid="00000000-0000-0000-0000-0000000000c4"><CodeRef targetGUID="00000000-0000-0000-0000-000000000004"/></Coding>
   </PlainTextSelection>
  </TextSource>
 </Sources>
</Project>"""


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)
    return path


def test_foreign_project_with_mapping(tmp_path):
    p = _zip(tmp_path / "nvivo.qdpx", {"project.qde": FOREIGN})
    plain = read_qdpx_codings(p)
    assert plain["themes"].tolist() == ["precarite", "posture_faire_avec_vs_a_la_place"]
    assert plain["posture"].tolist() == ["", "faire_a_la_place"]
    assert plain["text"].tolist() == ["Mon contrat finit.", "Je remplis pour eux."]
    assert plain.attrs["unmapped_codes"] == ["Argent", "Divers"] and set(plain["interview_id"]) == {"ENQ07"}
    (tmp_path / "map.csv").write_text("code,theme\nArgent,financement_renouvellement\nDivers,ignore\n", encoding="utf-8")
    mapped = read_qdpx_codings(p, mapping=tmp_path / "map.csv")
    assert mapped["themes"].tolist()[0] == "financement_renouvellement"
    assert mapped["text"].tolist()[0] == "Le budget baisse."
    assert mapped.attrs["unmapped_codes"] == []
    (tmp_path / "map.yaml").write_text("argent: financement_renouvellement\n", encoding="utf-8")
    assert read_qdpx_codings(p, mapping=tmp_path / "map.yaml")["themes"].iloc[0] == "financement_renouvellement"


@pytest.mark.parametrize("content,name", [("code,theme\nArgent,pas_un_theme\n", "m.csv"),
                                          ("nom,cible\nA,B\n", "m.csv"), ("- a\n- b\n", "m.yaml")])
def test_bad_mapping_is_e605(tmp_path, content, name):
    p = _zip(tmp_path / "nvivo.qdpx", {"project.qde": FOREIGN})
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(TextmineError) as ei:
        read_qdpx_codings(p, mapping=tmp_path / name)
    assert ei.value.code == "E605"


@pytest.mark.parametrize("members", [
    {"project.qde": FOREIGN, "../evil.txt": "x"},
    {"project.qde": FOREIGN, "/etc/passwd": "x"},
    {"project.qde": FOREIGN, "Sources/bomb.txt": "0" * 5_000_000},          # ratio >> 200
    {"project.qde": '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><Project name="x">&a;</Project>'},
    {"project.qde": "<Project name='x'><unclosed></Project>"},
    {"other.xml": "<x/>"},
])
def test_untrusted_archives_refused(tmp_path, members):
    p = _zip(tmp_path / "bad.qdpx", members)
    with pytest.raises(TextmineError) as ei:
        read_qdpx_codings(p)
    assert ei.value.code == "E603"


def test_member_count_limit_and_not_a_zip(tmp_path):
    p = _zip(tmp_path / "many.qdpx", {f"Sources/{i}.txt": "x" for i in range(30)})
    with pytest.raises(TextmineError) as ei:
        SafeZip(p, code=E.E603, max_members=10)
    assert ei.value.code == "E603"
    (tmp_path / "x.qdpx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(TextmineError) as ei:
        read_qdpx_codings(tmp_path / "x.qdpx")
    assert ei.value.code == "E603"


def test_selection_outside_source_refused(tmp_path):
    bad = FOREIGN.replace('startPosition="54" endPosition="74"', 'startPosition="54" endPosition="999"')
    with pytest.raises(TextmineError) as ei:
        read_qdpx_codings(_zip(tmp_path / "b.qdpx", {"project.qde": bad}))
    assert ei.value.code == "E603" and "outside" in ei.value.message


def test_import_feeds_the_theme_trainer(qdpx, tmp_path):
    """The classifier's coded-file reader accepts both the .qdpx and the CSV we write from it."""
    from textmine.themes.codebook import load_codebook
    from textmine.export.coded import read_coded
    cb = load_codebook()
    direct = read_coded(qdpx, cb)
    assert len(direct) == 14 and set(direct["posture"].dropna()) == {"faire_avec", "faire_a_la_place"}
    csv_path = tmp_path / "coded.csv"
    read_qdpx_codings(qdpx, codebook=cb).to_csv(csv_path, index=False)
    via_csv = read_coded(csv_path, cb)
    assert via_csv["themes"].tolist() == direct["themes"].tolist()


def test_export_without_theme_run_still_valid(tmp_path):
    st = make_store(tmp_path / "p", with_codings=False)
    path = write_qdpx(st, tmp_path / "bare.qdpx")
    root, files = _qde(path)
    assert len(root.findall(f"{NS}Sources/{NS}TextSource")) == 4
    assert not list(root.iter(f"{NS}PlainTextSelection"))
    if XSD.exists():
        import xmlschema
        xmlschema.XMLSchema(str(XSD)).validate(files["project.qde"])
    st.close()
