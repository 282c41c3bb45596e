"""`themes sample` -> coded sheet -> `themes calibrate` -> corrected `track` output, from the CLI:
exit codes and outputs, the CSV contract round trip, XLSX and QDPX sheets, Excel edits that are
accepted and bad sheets that are refused (nothing stored)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers_calibration import OVER, human_codes
from helpers_track import build_store
from textmine.calibrate import tables
from textmine.export.sheet import SHEET_COLUMNS
from textmine.store import Store
from textmine.themes.codebook import load_codebook

XSD = Path(__file__).resolve().parents[2] / "shared" / "refi-qda" / "Project-mrt2019.xsd"
IDS = load_codebook().ids


@pytest.fixture()
def proj(tmp_path):
    build_store(tmp_path / "p", n_per_wave=10, segs_per_interview=12, n_panel=5, seed=5).close()
    (tmp_path / "p" / "textmine.yaml").write_text("random_state: 42\ntrack: {n_boot: 300, n_perm: 300}\n",
                                                  encoding="utf-8")
    return tmp_path / "p"


def _fill(proj: Path, sheet: Path, out: Path) -> pd.DataFrame:
    df = pd.read_csv(sheet, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    with Store(proj, read_only=True) as st:
        h = human_codes(st).set_index("segment_id")
    df["themes"] = df["segment_id"].map(h["themes"])
    df["posture"] = df["segment_id"].map(h["posture"])
    df.to_csv(out, index=False, encoding="utf-8-sig")
    return df


def err(res) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(res.stderr.split())


def _n_codes(proj: Path) -> int:
    with Store(proj, read_only=True) as st:
        return len(tables.codes(st))


@pytest.mark.slow
def test_end_to_end_sample_code_calibrate_track(proj, tmp_path, cli):
    sheet = tmp_path / "sample.csv"
    res = cli("--project", proj, "themes", "sample", "--n", "30", "--seed", "7", "--output", sheet, "--format", "json")
    assert res.exit_code == 0, res
    strata = json.loads(res.stdout)
    assert {r["wave"] for r in strata} == {"2022", "2023"} and sum(r["drawn"] for r in strata) == 60
    assert "themes calibrate --coded" in err(res)
    filled = _fill(proj, sheet, tmp_path / "coded.csv")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "coded.csv", "--coder", "alice",
              "--format", "json")
    assert res.exit_code == 0, res
    assert json.loads(res.stdout) == [{"sample_id": "s1", "wave": "2022", "drawn": 30, "coded": 30},
                                      {"sample_id": "s1", "wave": "2023", "drawn": 30, "coded": 30}]
    assert "60 coded segment(s) by alice" in err(res) and "2022 (sample s1), 2023 (sample s1)" in err(res)
    from textmine.track import prevalence
    from textmine.track.cache import cached_prevalence
    with Store(proj, read_only=True) as st:      # calibrate leaves the corrected default figures cached
        hit = cached_prevalence(st)
        assert hit is not None and hit["estimator"].eq("calibrated").any()
        pd.testing.assert_frame_equal(hit, prevalence(st), check_exact=True)
    res = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--format", "json")
    assert res.exit_code == 0, res
    rows = {r["theme"]: r for r in json.loads(res.stdout)}
    assert rows[OVER]["estimator"] == "calibrated" and rows[OVER]["n_calibration"] == 60
    assert rows["topic:0"]["estimator"] == "raw" and rows["topic:0"]["n_calibration"] == 0
    raw = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--estimator", "raw",
              "--format", "json")
    raw_rows = {r["theme"]: r for r in json.loads(raw.stdout)}
    assert raw.exit_code == 0 and raw_rows[OVER]["estimator"] == "raw"
    assert rows[OVER]["delta"] < raw_rows[OVER]["delta"]                  # the coder over-reports the rise
    res = cli("--project", proj, "track", "--by", "wave", "--format", "csv")
    assert res.exit_code == 0 and "estimator,n_calibration" in res.stdout.splitlines()[0]
    res = cli("--project", proj, "track", "panel", "--view", "summary", "--format", "json")
    assert res.exit_code == 0 and {"estimator", "ci_low", "n_calibration"} <= set(json.loads(res.stdout)[0])
    res = cli("--project", proj, "themes", "evaluate", "--calibration", "--bootstrap", "200", "--format", "json")
    assert res.exit_code == 0, res
    ev = json.loads(res.stdout)
    assert set(ev["waves"]) == {"2022", "2023"} and ev["waves"]["2022"]["n"] == 30
    assert ev["drift"] and {"error_from", "error_to", "q_value"} <= set(ev["drift"][0])
    res = cli("--project", proj, "themes", "samples", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["coded"] == "alice: 60"
    assert len(filled) == 60


def test_csv_contract_round_trips(proj, tmp_path, cli):
    sheet = tmp_path / "s.csv"
    assert cli("--project", proj, "themes", "sample", "--n", "12", "--output", sheet).exit_code == 0
    df = pd.read_csv(sheet, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(df.columns) == SHEET_COLUMNS and (df["themes"] == "").all() and (df["posture"] == "").all()
    with Store(proj, read_only=True) as st:
        units = tables.units(st)
        seg = st.segments_frame(roles="respondents").set_index("segment_id")
    assert set(df["segment_id"]) == set(units["segment_id"]) and len(df) == 24
    assert (df["text"] == seg.loc[df["segment_id"], "text_pseudo"].values).all()   # pseudonymised by default
    filled = _fill(proj, sheet, tmp_path / "c.csv")
    assert cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "c.csv").exit_code == 0
    with Store(proj, read_only=True) as st:
        stored = tables.codes(st).set_index("segment_id")
    for r in filled.itertuples():
        assert set(stored.loc[r.segment_id, "themes"].split(";")) == set(r.themes.split(";"))
        assert stored.loc[r.segment_id, "posture"] == r.posture
        assert stored.loc[r.segment_id, "coder"] == "human"
    # the same sheet again by the same coder replaces, not duplicates
    assert cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "c.csv").exit_code == 0
    assert _n_codes(proj) == 24


def test_xlsx_sheet_and_excel_edits(proj, tmp_path, cli):
    from openpyxl import load_workbook
    x = tmp_path / "s.xlsx"
    assert cli("--project", proj, "themes", "sample", "--n", "10", "--output", x).exit_code == 0
    wb = load_workbook(x)
    assert wb.sheetnames == ["codage", "consignes", "textmine"] and wb["textmine"].sheet_state == "hidden"
    ws = wb["codage"]
    header = [c.value for c in ws[1]]
    assert header == SHEET_COLUMNS + IDS and ws.freeze_panes == "B2"
    assert ws.cell(2, 5).alignment.wrap_text
    dv = {str(d.sqref): d.formula1 for d in ws.data_validations.dataValidation}
    assert any("faire_avec" in f for f in dv.values()) and any(f == '"1,0"' for f in dv.values())
    help_text = " ".join(str(c.value) for row in wb["consignes"].iter_rows() for c in row if c.value)
    assert "précarité" in help_text.lower() and "posture = faire_avec" in help_text
    with Store(proj, read_only=True) as st:
        h = human_codes(st).set_index("segment_id")
    yes = ["x", "oui", "1.0", 1, " 1 ", "X"]
    expected = {}
    for k, row in enumerate(ws.iter_rows(min_row=2), 0):
        sid = row[0].value
        ths = [t for t in str(h.loc[sid, "themes"]).split(";") if t]
        for t in ths:                                     # theme columns, in every spelling of yes
            row[header.index(t)].value = yes[k % len(yes)]
        if k % 4 == 0 and ths:                            # and once in a while the `themes` column instead
            row[header.index(ths[0])].value = None
            row[header.index("themes")].value = f" {ths[0].upper()} "
        row[header.index("wave")].value = int(row[header.index("wave")].value)   # numbers as numbers
        expected[sid] = set(ths) | ({"posture_faire_avec_vs_a_la_place"} if h.loc[sid, "posture"] else set())
        row[header.index("posture")].value = (h.loc[sid, "posture"] or "").replace("_", " ") + "  "
    ws.delete_cols(header.index("text") + 1)              # a deleted non-key column
    wb.create_sheet("mes notes", 0).append(["segment", "remarque"])   # an extra sheet, first
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    for r_i, vals in enumerate(reversed(rows), 2):        # reordered rows
        for c_i, v in enumerate(vals, 1):
            ws.cell(r_i, c_i).value = v
    wb.save(tmp_path / "edited.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "edited.xlsx", "--coder", "bea")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        stored = tables.codes(st).set_index("segment_id")
    for sid, ths in expected.items():
        assert set(filter(None, stored.loc[sid, "themes"].split(";"))) == ths, sid


def _sheet(proj, tmp_path, cli, n="10") -> pd.DataFrame:
    assert cli("--project", proj, "themes", "sample", "--n", n, "--output", tmp_path / "s.csv").exit_code == 0
    return _fill(proj, tmp_path / "s.csv", tmp_path / "ok.csv")


@pytest.mark.parametrize("case", ["unknown_segment", "not_drawn", "duplicate", "unknown_theme", "bad_posture",
                                  "empty", "other_project", "no_key_column"])
@pytest.mark.slow
def test_bad_csv_sheets_are_refused_and_nothing_is_stored(proj, tmp_path, cli, case):
    df = _sheet(proj, tmp_path, cli)
    with Store(proj, read_only=True) as st:
        undrawn = sorted(set(st.segments_frame(roles="respondents")["segment_id"]) - set(df["segment_id"]))[0]
    bad = df.copy()
    expect = {"unknown_segment": ("E408", "line 4", "not in this project"),
              "not_drawn": ("E408", "line 3", "was not drawn"),
              "duplicate": ("E408", "line 2 and line 22", "coded twice"),
              "unknown_theme": ("E408", "line 5", "unknown theme id 'precarity' (did you mean 'precarite'?"),
              "bad_posture": ("E408", "line 2", "unknown posture"),
              "empty": ("E408", "sheet", "no theme in any"),
              "other_project": ("E410", "", "none of its"),
              "no_key_column": ("E408", ":1", "segment_id")}[case]
    if case == "unknown_segment":
        bad.loc[2, "segment_id"] = "w9-9999:0001:00"
    elif case == "not_drawn":
        bad.loc[1, "segment_id"] = undrawn
    elif case == "duplicate":
        other = "coordination_territoriale" if bad.iloc[0]["themes"] != "coordination_territoriale" else ""
        extra = bad.iloc[[0]].assign(themes=other)
        bad = pd.concat([bad, extra], ignore_index=True)
    elif case == "unknown_theme":
        bad.loc[3, "themes"] = "precarity"
    elif case == "bad_posture":
        bad.loc[0, "posture"] = "faire_pour"
    elif case == "empty":
        bad["themes"], bad["posture"] = "", ""
    elif case == "other_project":
        bad["segment_id"] = "autre-projet:" + bad["segment_id"]
    elif case == "no_key_column":
        bad = bad.drop(columns="segment_id")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "bad.csv")
    code, where, what = expect
    assert res.exit_code == 1 and code in err(res) and what in err(res) and where in err(res), res
    assert "Traceback" not in err(res) + res.stdout
    assert _n_codes(proj) == 0
    if case == "empty":
        assert cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "bad.csv",
                   "--allow-empty").exit_code == 0


def _code_xlsx(proj, ws, header, rows) -> None:
    """Code ``rows`` of an .xlsx sheet the 1/0 way: 1 for each theme present, 0 in every other column."""
    with Store(proj, read_only=True) as st:
        h = human_codes(st).set_index("segment_id")
    for row in rows:
        ths = set(filter(None, str(h.loc[row[0].value, "themes"]).split(";")))
        for t in IDS:
            row[header.index(t)].value = 1 if t in ths else 0
        row[header.index("posture")].value = h.loc[row[0].value, "posture"] or None


def test_half_coded_xlsx_with_1_0_is_refused_naming_the_empty_rows(proj, tmp_path, cli):
    """The defect: a sheet coded with 1/0 in its first half and imported whole stored every row
    left empty as the coder's "no theme", biasing every corrected figure down. A coder who writes 0
    for absent does not leave a coded row empty: E408 naming the rows, nothing stored."""
    from openpyxl import load_workbook
    x = tmp_path / "s.xlsx"
    assert cli("--project", proj, "themes", "sample", "--n", "10", "--output", x).exit_code == 0
    wb = load_workbook(x)
    ws = wb["codage"]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == 20
    _code_xlsx(proj, ws, header, rows[:12])
    wb.save(tmp_path / "half.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "half.xlsx", "--coder", "alice")
    assert res.exit_code == 1 and "E408" in err(res), res
    assert "codage!row 14, codage!row 15, codage!row 16" in err(res) and "8 row(s) left empty" in err(res)
    assert "delete the rows not coded yet" in err(res) and "Traceback" not in err(res)
    assert _n_codes(proj) == 0
    # --allow-empty: the empty rows are the coding ("no theme")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "half.xlsx", "--coder", "bea",
              "--allow-empty")
    assert res.exit_code == 0 and "warning" not in err(res), res
    # the rows not coded yet deleted: the coded half is imported, without a word of warning
    ws.delete_rows(14, 8)
    wb.save(tmp_path / "coded_part.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "coded_part.xlsx", "--coder", "alice")
    assert res.exit_code == 0 and "warning" not in err(res), res
    assert "12 coded segment(s) by alice" in err(res)
    # a row coded "none of them" with a single 0 is a coded row
    wb = load_workbook(x)
    ws = wb["codage"]
    rows = list(ws.iter_rows(min_row=2))
    _code_xlsx(proj, ws, header, rows[:-1])
    rows[-1][header.index(IDS[0])].value = 0
    wb.save(tmp_path / "full.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "full.xlsx", "--coder", "alice")
    assert res.exit_code == 0 and "warning" not in err(res), res
    with Store(proj, read_only=True) as st:
        c = tables.codes(st, "alice")
    assert len(c) == 20 and c.set_index("segment_id").loc[rows[-1][0].value, "themes"] == ""
    # coded with 1s alone (empty = absent): an empty row may be a coded "none", so a half-coded sheet
    # is stored, with the warning a CSV gets
    wb = load_workbook(x)
    ws = wb["codage"]
    rows = list(ws.iter_rows(min_row=2))
    _code_xlsx(proj, ws, header, rows[:12])
    for row in rows[:12]:
        for t in IDS:
            if row[header.index(t)].value == 0:
                row[header.index(t)].value = None
    wb.save(tmp_path / "ones.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "ones.xlsx", "--coder", "dan")
    assert res.exit_code == 0 and "warning: the sheet ends with" in err(res) and "to codage!row 21)" in err(res), res


def test_half_coded_csv_warns_and_replace_withdraws_the_rows(proj, tmp_path, cli):
    """A CSV cannot tell an uncoded row from a coded "none of them" (empty `themes` both): a sheet
    ending with a run of empty rows that its theme rate makes implausible gets a warning saying how
    many rows were stored as "no theme" and how to withdraw them (--replace)."""
    df = _sheet(proj, tmp_path, cli)
    assert len(df) == 20 and (df["themes"] != "").sum() >= 12
    half = df.copy()
    half.loc[12:, ["themes", "posture"]] = ""
    k = 8
    while half.loc[19 - k, "themes"] == "":                  # the run also holds the coded "none" rows before it
        k += 1
    half.to_csv(tmp_path / "half.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "half.csv", "--coder", "alice")
    assert res.exit_code == 0, res
    assert f"warning: the sheet ends with {k} row(s) without any code (line {22 - k} to line 21)" in err(res)
    assert "They were stored as alice's 'no theme' in sample s1" in err(res) and "--replace" in err(res)
    assert _n_codes(proj) == 20
    half.iloc[:12].to_csv(tmp_path / "part.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "part.csv", "--coder", "alice",
              "--sample", "s1")
    assert res.exit_code == 0 and "warning" not in err(res), res
    assert _n_codes(proj) == 20                              # a re-import replaces codes of its own rows only
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "part.csv", "--coder", "alice",
              "--sample", "s1", "--replace")
    assert res.exit_code == 0 and "--replace: 8 code(s) of alice in sample s1" in err(res), res
    with Store(proj, read_only=True) as st:
        c = tables.codes(st)
    assert set(c["segment_id"]) == set(df["segment_id"].iloc[:12]) and len(c) == 12
    # a fully coded sheet with its "none" rows spread through it: no warning
    assert (df["themes"] == "").any()
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "ok.csv", "--coder", "alice")
    assert res.exit_code == 0 and "warning" not in err(res), res
    assert _n_codes(proj) == 20
    # ... nor with two of them at the end
    none = df[df["themes"] == ""]
    if len(none) >= 2:
        ends = pd.concat([df[df["themes"] != ""], none]).iloc[: len(df) - len(none) + 2]
        ends.to_csv(tmp_path / "ends.csv", index=False, encoding="utf-8-sig")
        res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "ends.csv", "--coder", "carl",
                  "--sample", "s1")
        assert res.exit_code == 0 and "warning" not in err(res), res


@pytest.mark.slow
def test_excel_csv_with_semicolons_and_cp1252_is_read(proj, tmp_path, cli):
    df = _sheet(proj, tmp_path, cli)
    df.to_csv(tmp_path / "excel.csv", index=False, sep=";", encoding="cp1252", errors="replace")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "excel.csv")
    assert res.exit_code == 0, res
    assert _n_codes(proj) == len(df)


@pytest.mark.slow
def test_bad_xlsx_cells_name_the_cell(proj, tmp_path, cli):
    from openpyxl import load_workbook
    x = tmp_path / "s.xlsx"
    assert cli("--project", proj, "themes", "sample", "--n", "8", "--output", x).exit_code == 0
    wb = load_workbook(x)
    ws = wb["codage"]
    ws["I3"] = "=1+0"                                  # a formula in a theme column (precarite)
    wb.save(tmp_path / "formula.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "formula.xlsx")
    assert res.exit_code == 1 and "E408" in err(res) and "codage!I3" in err(res) and "formula" in err(res)
    ws["I3"] = "peut-être"
    wb.save(tmp_path / "maybe.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "maybe.xlsx")
    assert res.exit_code == 1 and "codage!I3" in err(res) and "neither yes" in err(res)
    ws["I3"] = None
    wb["textmine"]["B1"] = "0123456789abcdef"          # the sheet of another project
    wb.save(tmp_path / "other.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "other.xlsx")
    assert res.exit_code == 1 and "E410" in err(res) and "0123456789abcdef" in err(res)
    assert _n_codes(proj) == 0


@pytest.mark.slow
def test_reingested_segment_is_refused(proj, tmp_path, cli):
    df = _sheet(proj, tmp_path, cli)
    with Store(proj) as st:
        st.con.execute("UPDATE segments SET text = 'un autre texte' WHERE segment_id = ?", [df["segment_id"].iloc[2]])
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "ok.csv")
    assert res.exit_code == 1 and "changed since the sample was drawn" in err(res) and "line 4" in err(res)
    with Store(proj) as st:
        st.con.execute("DELETE FROM segments WHERE segment_id = ?", [df["segment_id"].iloc[2]])
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "ok.csv")
    assert res.exit_code == 1 and "not in this project" in err(res)
    assert _n_codes(proj) == 0


def test_qdpx_sheet_round_trip(proj, tmp_path, cli):
    q = tmp_path / "s.qdpx"
    res = cli("--project", proj, "themes", "sample", "--n", "6", "--output", q)
    assert res.exit_code == 0, res
    with zipfile.ZipFile(q) as z:
        qde = z.read("project.qde").decode("utf-8")
        texts = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("Sources/")}
    if XSD.exists():
        import xmlschema
        xmlschema.XMLSchema(str(XSD)).validate(qde)
    assert "textmine calibration sample s1" in qde and "<Coding" not in qde     # blind: no machine codes
    with Store(proj, read_only=True) as st:
        units = tables.units(st)
        seg = st.segments_frame(roles="respondents").set_index("segment_id")
    assert sum(t.count("\n") for t in texts.values()) == len(units) == 16      # 4 roles x at least 2, 2 waves
    # a QDA user codes one segment with `precarite`: a selection over part of its text
    import re
    sid = units["segment_id"].iloc[0]
    body = " ".join(str(seg.loc[sid, "text_pseudo"]).split())
    src_name, text = next((n, t) for n, t in texts.items() if body in t)
    a = text.index(body)
    guid = src_name.split("/")[1][:-4]
    prec = re.search(r'<Code guid="([^"]+)" name="[^"]*"[^>]*>\s*<Description>textmine theme id: precarite<', qde)
    sel = (f'<PlainTextSelection guid="0b0b0b0b-0000-4000-8000-000000000001" startPosition="{a + 2}" '
           f'endPosition="{a + len(body) - 1}"><Coding guid="0b0b0b0b-0000-4000-8000-000000000002">'
           f'<CodeRef targetGUID="{prec.group(1)}"/></Coding></PlainTextSelection>')
    src_tag = re.search(rf'<TextSource guid="{guid}"[^>]*?(/?)>', qde)
    if src_tag.group(1):
        qde = qde.replace(src_tag.group(0), src_tag.group(0)[:-2] + ">" + sel + "</TextSource>")
    else:
        qde = qde.replace(src_tag.group(0), src_tag.group(0) + sel)
    with zipfile.ZipFile(q) as z, zipfile.ZipFile(tmp_path / "coded.qdpx", "w") as out:
        for n in z.namelist():
            out.writestr(n, qde if n == "project.qde" else z.read(n))
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "coded.qdpx", "--coder", "qda")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        stored = tables.codes(st).set_index("segment_id")
    assert len(stored) == 16 and stored.loc[sid, "themes"] == "precarite"
    assert (stored.drop(index=sid)["themes"] == "").all()


@pytest.mark.slow
def test_sample_options_and_errors(proj, tmp_path, cli):
    res = cli("--project", proj, "themes", "sample", "--n", "5", "--n-per-stratum", "2", "--output", tmp_path / "a.csv")
    assert res.exit_code == 1 and "E005" in err(res)
    res = cli("--project", proj, "themes", "sample", "--wave", "2031", "--output", tmp_path / "a.csv")
    assert res.exit_code == 1 and "E502" in err(res)
    res = cli("--project", proj, "themes", "sample", "--output", tmp_path / "a.docx")
    assert res.exit_code == 1 and "E604" in err(res)
    with Store(proj, read_only=True) as st:
        assert tables.samples(st).empty                   # a sheet that cannot be written leaves no sample
    res = cli("--project", proj, "themes", "sample", "--n-per-stratum", "3", "--wave", "2023", "--unit", "interviews",
              "--name", "itv", "--output", tmp_path / "i.csv", "--format", "json")
    assert res.exit_code == 0, res
    assert all(r["drawn"] == min(3, r["in_stratum"]) for r in json.loads(res.stdout))
    # same name, same settings: the same sample again; other settings: refused
    res = cli("--project", proj, "themes", "sample", "--n-per-stratum", "3", "--wave", "2023", "--unit", "interviews",
              "--name", "itv", "--output", tmp_path / "i2.csv")
    assert res.exit_code == 0 and "already drawn" in err(res)
    assert (tmp_path / "i.csv").read_text(encoding="utf-8-sig") == (tmp_path / "i2.csv").read_text(encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "sample", "--n", "4", "--name", "itv", "--output", tmp_path / "i3.csv")
    assert res.exit_code == 1 and "E409" in err(res)
    res = cli("--project", proj, "themes", "sample", "--n", "20", "--oversample-uncertain", "3",
              "--output", tmp_path / "o.csv", "--format", "json")
    assert res.exit_code == 0, res
    st_rows = json.loads(res.stdout)
    unc = [r for r in st_rows if r["stratum"].endswith("|uncertain")]
    oth = [r for r in st_rows if r["stratum"].endswith("|other")]
    assert unc and oth and max(r["probability"] for r in unc) > max(r["probability"] for r in oth)
    res = cli("--project", proj, "track", "--estimator", "calibrated", "--format", "json")
    assert res.exit_code == 1 and "E409" in err(res)               # nothing coded yet
