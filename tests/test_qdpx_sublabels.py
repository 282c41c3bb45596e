"""REFI-QDA codes of sub-labels whose labels collide: two themes with a sub-label "Mixte" or
"Autre", or a sub-label named like another theme. QualCoder knows codes by name and merges
codes of the same name, so the export names such sub-labels after their theme too; the import
(and the calibration sheet's import) maps them back to their own theme and sub-label, directly
and after a QualCoder-style re-export."""
from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers_refi import Q, qualcoder_reexport
from helpers_search import make_store
from textmine.export.qdpx import read_qdpx_codings, write_qdpx
from textmine.export.qdpx_export import code_names
from textmine.themes.codebook import label_key, load_codebook

XSD = Path(__file__).resolve().parents[2] / "shared" / "refi-qda" / "Project-mrt2019.xsd"
PACKAGED = Path(__file__).resolve().parents[1] / "textmine" / "data" / "codebook.yaml"
POSTURE, PREC, FORM = "posture_faire_avec_vs_a_la_place", "precarite", "formation_recrutement_professionnalisation"
FIN_LABEL = "Financement et renouvellement du dispositif"


def _sub(label: str) -> dict:
    return {"label": label, "definition": f"Sous-catégorie {label}.", "cues": ["sous categorie test"],
            "examples": ["un exemple écrit pour ce test"]}


def colliding_codebook(path: Path) -> Path:
    """The packaged codebook plus sub-labels: precarite and formation both have "Autre",
    precarite has "Mixte" (as the posture theme), formation one named like the financement theme."""
    data = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    th = {t["id"]: t for t in data["themes"]}
    th[PREC]["sublabels"] = {"court": _sub("Mixte"), "autre": _sub("Autre")}
    th[FORM]["sublabels"] = {"autre": _sub("autre"), "financement": _sub(FIN_LABEL)}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


#: (segment, theme) -> sub-label, over make_store's segments; the extra rows add a theme to a segment
POSTURES = {("itv-a1:0007:00", PREC): "court",          # the precarite segment: precarite's "Mixte"
            ("itv-a1:0005:00", PREC): "autre",          # the long modalites segment, + precarite "Autre"
            ("itv-a2:0003:00", FORM): "autre",          # the formation segment: formation's "autre"
            ("itv-a2:0005:00", FORM): "financement",    # a demarches segment, + formation's "Financement…"
            ("itv-d2:0005:00", POSTURE): "mixte"}       # a faire-à-la-place segment recoded posture "Mixte"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("collide")
    colliding_codebook(root / "cb.yaml")
    (root / "p").mkdir()
    (root / "p" / "textmine.yaml").write_text("themes: {codebook: ../cb.yaml}\n", encoding="utf-8")
    st = make_store(root / "p")
    assert Path(st.config.codebook_path()).name == "cb.yaml"
    tc = st.query("SELECT * FROM theme_codings")
    for (sid, theme), post in POSTURES.items():
        hit = (tc["segment_id"] == sid) & (tc["theme"] == theme)
        assert hit.sum() == 1, (sid, theme)
        tc.loc[hit, ["assigned", "posture"]] = [True, post]
    st.con.execute("DELETE FROM theme_codings")
    st.write_frame("theme_codings", tc)
    yield st
    st.close()


@pytest.fixture(scope="module")
def qdpx(project, tmp_path_factory):
    return write_qdpx(project, tmp_path_factory.mktemp("out") / "project.qdpx")


def _codes(path: Path) -> list[ET.Element]:
    import defusedxml.ElementTree as DET
    with zipfile.ZipFile(path) as z:
        return list(DET.fromstring(z.read("project.qde")).iter(Q + "Code"))


def _expected(store) -> set[tuple[str, str, str]]:
    cb = load_codebook(store.config.codebook_path())
    cod = store.query("SELECT segment_id, theme, posture FROM theme_codings WHERE assigned")
    out = {}
    for r in cod.itertuples():
        themes, post = out.get(r.segment_id, (set(), ""))
        out[r.segment_id] = (themes | {r.theme}, post or (r.posture if isinstance(r.posture, str) else ""))
    order = {t: i for i, t in enumerate(cb.ids)}
    return {(s, ";".join(sorted(t, key=order.get)), p) for s, (t, p) in out.items()}


def _got(df: pd.DataFrame) -> set[tuple[str, str, str]]:
    return {(r.segment_id, r.themes, r.posture) for r in df.itertuples()}


def test_code_names_suffix_only_collisions(project):
    cb = load_codebook(project.config.codebook_path())
    names = code_names(cb)
    label = {t.id: t.label for t in cb.themes}
    assert names[(PREC, "court")] == f"Mixte ({label[PREC]})"
    assert names[(POSTURE, "mixte")] == f"Mixte ({label[POSTURE]})"
    assert names[(PREC, "autre")] == f"Autre ({label[PREC]})" and names[(FORM, "autre")] == f"autre ({label[FORM]})"
    assert names[(FORM, "financement")] == f"{FIN_LABEL} ({label[FORM]})"
    assert names[(POSTURE, "faire_avec")] == "Faire avec"                 # no collision: the plain label
    assert all(names[(t.id, None)] == t.label for t in cb.themes)
    # the packaged codebook has no collision: its code names are the labels (its export is unchanged)
    plain = load_codebook()
    assert code_names(plain) == {**{(t.id, None): t.label for t in plain.themes},
                                 **{(t.id, s): sub.label for t in plain.themes for s, sub in t.sublabels.items()}}


def test_two_sublabels_of_one_theme_with_one_label(tmp_path):
    path = colliding_codebook(tmp_path / "cb.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    prec = next(t for t in data["themes"] if t["id"] == PREC)
    prec["sublabels"]["autre_bis"] = _sub("AUTRE")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    names = code_names(load_codebook(path))
    keys = [label_key(n) for n in names.values()]
    assert len(keys) == len(set(keys))
    assert names[(PREC, "autre_bis")].endswith(", autre_bis)")


def test_export_names_are_unique_and_valid(qdpx):
    names = [c.get("name") for c in _codes(qdpx)]
    keys = [label_key(n) for n in names]
    assert len(keys) == len(set(keys)), sorted(n for n in names if keys.count(label_key(n)) > 1)
    if XSD.exists():
        import xmlschema
        with zipfile.ZipFile(qdpx) as z:
            xmlschema.XMLSchema(str(XSD)).validate(z.read("project.qde").decode("utf-8"))


def test_import_maps_each_sublabel_to_its_theme(project, qdpx):
    cb = load_codebook(project.config.codebook_path())
    got = read_qdpx_codings(qdpx, codebook=cb)
    assert _got(got) == _expected(project)
    assert (("itv-a2:0005:00", "demarches_administratives;" + FORM, "financement") in _got(got))
    assert got.attrs["unmapped_codes"] == []


@pytest.mark.parametrize("descriptions", [True, False], ids=["qualcoder", "names-only"])
def test_import_after_qualcoder_reexport(project, qdpx, tmp_path, descriptions):
    cb = load_codebook(project.config.codebook_path())
    human = "Avec le coordinateur départemental on organise des réunions"         # coded by a QualCoder user
    rt = qualcoder_reexport(qdpx, tmp_path / "qc.qdpx", descriptions=descriptions,
                            human=(human, code_names(cb)[(PREC, "autre")]))
    assert len(_codes(rt)) == len(_codes(qdpx))                                    # nothing merged
    got = read_qdpx_codings(rt, codebook=cb, segments=project.segments_frame())
    mine = got["text"] == human
    assert _got(got[~mine]) == _expected(project)
    # the human's passage (in both interviews that say it) is a passage of its own
    assert _got(got[mine]) == {("itv-b1:0003:00", PREC, "autre"), ("itv-d2:0001:00", PREC, "autre")}


def test_moved_sublabel_code_keeps_theme_and_sublabel(project, qdpx, tmp_path):
    """A renamed sub-label code taken out of its theme (to the top level) still says both."""
    cb = load_codebook(project.config.codebook_path())
    with zipfile.ZipFile(qdpx) as z:
        members = {n: z.read(n) for n in z.namelist()}
    ET.register_namespace("", Q[1:-1])
    root = ET.fromstring(members["project.qde"])
    codes = root.find(f"{Q}CodeBook/{Q}Codes")
    name = code_names(cb)[(FORM, "financement")]
    for parent in list(root.iter(Q + "Code")):
        for c in parent.findall(Q + "Code"):
            if c.get("name") == name:
                parent.remove(c)
                c.remove(c.find(Q + "Description"))
                codes.append(c)
    members["project.qde"] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    moved = tmp_path / "moved.qdpx"
    with zipfile.ZipFile(moved, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    got = read_qdpx_codings(moved, codebook=cb)
    assert _got(got) == _expected(project)


def _add_codings(src: Path, dst: Path, codings: list[tuple[str, str]]) -> Path:
    """``src`` with a selection over each ``(text, code name)`` (a QDA user's coding)."""
    import defusedxml.ElementTree as DET
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    ET.register_namespace("", Q[1:-1])
    root = DET.fromstring(members["project.qde"])
    guid = {c.get("name"): c.get("guid") for c in root.iter(Q + "Code")}
    for k, (text, code) in enumerate(codings):
        for s in root.iter(Q + "TextSource"):
            body = members["Sources/" + s.get("plainTextPath").split("://", 1)[1]].decode("utf-8")
            if text in body:
                a = body.index(text)
                sel = ET.SubElement(s, Q + "PlainTextSelection", guid=f"0c0c0c0c-0000-4000-8000-{k:012d}",
                                    startPosition=str(a), endPosition=str(a + len(text)))
                cd = ET.SubElement(sel, Q + "Coding", guid=f"0d0d0d0d-0000-4000-8000-{k:012d}")
                ET.SubElement(cd, Q + "CodeRef", targetGUID=guid[code])
                s.remove(sel)
                s.insert(len(s.findall(Q + "Description")), sel)       # selections before the variables
                break
        else:
            raise AssertionError(text)
    members["project.qde"] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def test_calibration_qdpx_keeps_colliding_sublabels_apart(tmp_path, cli):
    from helpers_track import build_store
    from textmine.calibrate import tables
    from textmine.store import Store
    proj = tmp_path / "p"
    build_store(proj, n_per_wave=10, segs_per_interview=12, n_panel=5, seed=5).close()
    colliding_codebook(tmp_path / "cb.yaml")
    (proj / "textmine.yaml").write_text("random_state: 42\nthemes: {codebook: ../cb.yaml}\n", encoding="utf-8")
    q = tmp_path / "s.qdpx"
    res = cli("--project", proj, "themes", "sample", "--n", "6", "--output", q)
    assert res.exit_code == 0, res
    cb = load_codebook(tmp_path / "cb.yaml")
    names = code_names(cb)
    with Store(proj, read_only=True) as st:
        units = tables.units(st)
        seg = st.segments_frame(roles="respondents").set_index("segment_id")
    s1, s2, s3 = units["segment_id"].iloc[:3]
    body = {s: " ".join(str(seg.loc[s, "text_pseudo"]).split()) for s in (s1, s2, s3)}
    coded = _add_codings(q, tmp_path / "coded.qdpx", [(body[s1], names[(PREC, "court")]),
                                                      (body[s2], names[(POSTURE, "mixte")]),
                                                      (body[s3], names[(FORM, "financement")])])
    rt = qualcoder_reexport(coded, tmp_path / "qc.qdpx")           # coded in QualCoder, exported again
    res = cli("--project", proj, "themes", "calibrate", "--coded", rt, "--coder", "qda", "--sample", "s1")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        stored = tables.codes(st).set_index("segment_id")
    assert (stored.loc[s1, "themes"], stored.loc[s1, "posture"]) == (PREC, "")   # not the posture theme's mixte
    assert (stored.loc[s2, "themes"], stored.loc[s2, "posture"]) == (POSTURE, "mixte")
    assert (stored.loc[s3, "themes"], stored.loc[s3, "posture"]) == (FORM, "")   # not the financement theme
