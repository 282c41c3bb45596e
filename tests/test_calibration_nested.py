"""Nested calibration samples (the default seed: a larger second sample of a wave holds the first
one's units). Each human code is kept with the sheet it came through (one row per sample, segment
and coder): importing the second sample's sheet leaves the first sample's codes, and so its
figures, as they were; re-importing a sheet replaces that sheet's codes. The uses that pool the
codes (training, agreement between coders, counts) take one code per segment and coder, the latest
import. The second sample's sheet comes pre-filled with the codes of its units already coded
through the first one's sheet, marked, and importing it files them under the second sample."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers_calibration import OVER, calibrated_project, human_codes, store_codes
from textmine.calibrate import codes as cal_codes
from textmine.calibrate import drift
from textmine.calibrate import sample as cal_sample
from textmine.calibrate import tables
from textmine.export.sheet import PREFILL_COLUMN, SHEET_COLUMNS
from textmine.integrity import check_store
from textmine.store import Store
from textmine.themes.codebook import load_codebook
from textmine.track import changes, load_items, prevalence
from textmine.track.calibrated import calibration

IDS = load_codebook().ids


@pytest.fixture()
def proj(tmp_path):
    """Sample s1 (40 segments per wave) coded by alice from its own sheet."""
    return calibrated_project(tmp_path / "p", n=40)


def _draw(st: Store, **kw) -> str:
    drawn = cal_sample.draw_sample(st, **kw)
    cal_sample.save(st, drawn)
    return drawn.meta["sample_id"]


def _ids(st: Store, sample: str) -> list[str]:
    return sorted(tables.units(st, [sample])["segment_id"])


def _per_sample(st: Store, coder: str) -> dict[str, int]:
    return tables.codes(st, coder).groupby("sample_id").size().to_dict()


def err(res) -> str:
    return " ".join(res.stderr.split())


def _row(df: pd.DataFrame, wave: str, theme: str = OVER) -> pd.Series:
    return df.set_index(["theme", "wave"]).loc[(theme, wave)]


# ------------------------------------------------------------------- (a) codes kept per sheet
def test_a_later_sheet_keeps_the_earlier_samples_codes(proj):
    """The defect: importing s2's sheet re-labelled alice's codes of the units s2 shares with s1,
    so s1 then counted them as uncoded and its corrected figures changed."""
    with Store(proj) as st:
        before = prevalence(st, by=["wave"], data=load_items(st), sample="s1")
        assert _draw(st, n=60) == "s2" and set(_ids(st, "s1")) <= set(_ids(st, "s2"))
        store_codes(st, "alice", _ids(st, "s2"), sample="s2")            # s2's whole sheet, by alice
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}
        data = load_items(st)
        again = prevalence(st, by=["wave"], data=data, sample="s1")
        cal1 = calibration(st, data, sample="s1")
        now = prevalence(st, by=["wave"], data=load_items(st))
    pd.testing.assert_frame_equal(again, before, check_exact=True)      # s1's figures are s1's
    assert not any("coded only through other samples' sheets" in n for n in cal1.notes)
    assert int(cal1.coded.sum()) == 80
    assert now.attrs["calibration_samples"] == {"2022": "s2", "2023": "s2"}
    assert _row(now, "2023")["n_calibration"] == 60


def test_re_importing_a_sheet_replaces_that_sheets_codes_only(proj):
    with Store(proj) as st:
        _draw(st, n=60)
        store_codes(st, "alice", _ids(st, "s2"), sample="s2")
        sid = _ids(st, "s1")[0]
        first = human_codes(st, [sid])["themes"].iloc[0]
        fixed = human_codes(st, [sid]).assign(themes="france_services")
        u = tables.units(st, ["s2"]).set_index("segment_id")
        tables.save_codes(st, fixed.assign(sample_id="s2", text_hash=u.loc[sid, "text_hash"], coder="alice",
                                           coded_at=tables.code_stamp(), source="s2_corrige.csv", row="3"))
        cod = tables.codes(st, "alice")
    assert cod.groupby("sample_id").size().to_dict() == {"s1": 80, "s2": 120}    # replaced, not added
    mine = cod[cod["segment_id"] == sid].set_index("sample_id")
    assert mine.loc["s2", "themes"] == "france_services" and mine.loc["s2", "source"] == "s2_corrige.csv"
    assert mine.loc["s1", "themes"] == first and first != "france_services"


def test_one_coder_two_sheets_that_disagree(proj):
    """Each sample's estimate reads its own sheet's code; training and the agreement between coders
    take the coder's latest import; nothing counts a segment twice for one coder."""
    with Store(proj) as st:
        _draw(st, n=60)
        h = human_codes(st).set_index("segment_id")
        sid = next(s for s in _ids(st, "s1") if OVER in h.loc[s, "themes"].split(";"))
        rows = store_codes(st, "alice", _ids(st, "s2"), sample="s2")
        rows = rows.assign(coded_at=tables.code_stamp())
        rows.loc[rows["segment_id"] == sid, "themes"] = ""             # alice now codes it "no theme"
        tables.save_codes(st, rows)
        store_codes(st, "bob", _ids(st, "s1"), sample="s1")             # bob agrees with alice's s1 codes
        data = load_items(st)
        j = data.items.index(OVER)
        r = pd.Index(data.segments["segment_id"]).get_loc(sid)
        cal1 = calibration(st, data, sample="s1", coder="alice")
        cal2 = calibration(st, load_items(st), coder="alice")
        train = cal_codes.training_frame(st, None, "alice")
        train_s1 = cal_codes.training_frame(st, ["s1"], "alice")
        both = cal_codes.training_frame(st, ["s1"])
        agree = drift.coder_agreement(st, data)
        by_wave = drift.agreement_by_wave(st, load_items(st), sample="s1", coder="alice", n_boot=0)
    assert cal1.coded[r] and cal1.y[r, j] == 1.0                        # s1's own code
    assert cal2.samples["2022"] == "s2" and cal2.coded[r] and cal2.y[r, j] == 0.0     # s2's own code
    assert len(cal1.human) == 1 and set(np.unique(cal1.y[cal1.coded])) <= {0.0, 1.0}  # never a mean of one coder
    for tf in (train, train_s1):
        assert tf["id"].is_unique and tf.set_index("id").loc[sid, "themes"] == []   # the latest import
    assert len(train) == 120 and len(train_s1) == 80
    # alice (latest: none) and bob (the theme): half of the coders gave it -> kept; one row per segment
    assert both["id"].is_unique and OVER in both.set_index("id").loc[sid, "themes"]
    pair = agree.iloc[0]
    assert pair["n"] == 80 and pair["kappa"] < 1.0                     # one disagreement: sid, alice's latest
    assert sum(r["n"] for r in by_wave.values()) == 80


def test_samples_command_counts_each_segment_once_per_coder(proj, cli):
    with Store(proj) as st:
        _draw(st, n=60)
        s2 = _ids(st, "s2")
        shared = sorted(set(_ids(st, "s1")))[:10]
        store_codes(st, "alice", shared + [s for s in s2 if s not in set(_ids(st, "s1"))][:5], sample="s2")
    res = cli("--project", proj, "themes", "samples", "--format", "json")
    assert res.exit_code == 0, res
    rows = {r["sample_id"]: r for r in json.loads(res.stdout)}
    assert rows["s1"]["coded"] == "alice: 80" and rows["s1"]["coded_via_other_samples"] == ""
    # s2: 15 in its own sheet; of s1's 80, the 10 also coded in s2's sheet are not "via other samples"
    assert rows["s2"]["coded"] == "alice: 15" and rows["s2"]["coded_via_other_samples"] == "alice: 70"


def test_a_store_of_the_old_layout_still_reads_and_recovers(proj, tmp_path, cli):
    """A store written before: alice's codes of s1's units re-labelled to s2 by s2's import (seconds
    in coded_at). It reads as before; writing s1's sheet again pre-fills it from s2's codes, and
    importing it gives s1 its codes back, without touching s2's."""
    with Store(proj) as st:
        before = prevalence(st, by=["wave"], data=load_items(st), sample="s1")
        _draw(st, n=60)
        rows = store_codes(st, "alice", _ids(st, "s2"), sample="s2")
        st.con.execute(f"DELETE FROM {tables.CODES} WHERE sample_id = 's1'")   # what the old import did
        st.con.execute(f"UPDATE {tables.CODES} SET coded_at = '2026-01-02T10:00:00+00:00'")
        assert _per_sample(st, "alice") == {"s2": 120} and len(rows) == 120
        cal = calibration(st, load_items(st))
        old = prevalence(st, by=["wave"], data=load_items(st), sample="s1")
    assert cal.samples == {"2022": "s2", "2023": "s2"}
    assert (old["estimator"] == "raw").all()                           # s1 has no codes of its own sheet
    assert any("s1" in n and "own sheet" in n for n in old.attrs["calibration_notes"])
    with Store(proj, read_only=True) as st:
        chk = check_store(st)
    assert not ((chk["table"] == tables.CODES) & (chk["status"] == "problem")).any()
    sheet = tmp_path / "s1.xlsx"
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s1", "--output", sheet)
    assert res.exit_code == 0, res
    assert "80 row(s) pre-filled with alice's codes" in err(res)
    res = cli("--project", proj, "themes", "calibrate", "--coded", sheet, "--coder", "alice")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}
        again = prevalence(st, by=["wave"], data=load_items(st), sample="s1")
    pd.testing.assert_frame_equal(again, before, check_exact=True)


def test_check_finds_a_code_stored_twice_for_one_sheet(proj, cli):
    with Store(proj) as st:
        dup = tables.codes(st, "alice").iloc[:2]
        st.write_frame(tables.CODES, dup)                               # not through save_codes
    res = cli("--project", proj, "check", "--format", "json")
    assert res.exit_code != 0
    bad = [r for r in json.loads(res.stdout) if r["status"] == "problem" and r["table"] == tables.CODES]
    assert [r["check"] for r in bad] == ["one code per sample, segment and coder"] and bad[0]["rows"] == 2
    assert "s1 " in bad[0]["detail"] and "alice" in bad[0]["detail"]


# ------------------------------------------------------------------- (b) pre-filled sheets
def test_a_nested_samples_csv_sheet_comes_prefilled(proj, tmp_path, cli):
    with Store(proj) as st:
        s1 = set(_ids(st, "s1"))
        changed = sorted(s1)[0]                 # its text changes after alice coded it: not pre-filled
        st.con.execute("UPDATE segments SET text = text || ' (relu)' WHERE segment_id = ?", [changed])
        h = human_codes(st).set_index("segment_id")
    out = tmp_path / "s2.csv"
    res = cli("--project", proj, "themes", "sample", "--n", "60", "--output", out)
    assert res.exit_code == 0, res
    assert "79 row(s) pre-filled with alice's codes of the same segments through the sheet of sample(s) s1" in err(res)
    df = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(df.columns) == SHEET_COLUMNS + [PREFILL_COLUMN]
    pre = df[df[PREFILL_COLUMN] != ""].set_index("segment_id")
    assert set(pre.index) == s1 - {changed}
    assert (pre["themes"] == h.loc[pre.index, "themes"]).all() and (pre["posture"] == h.loc[pre.index, "posture"]).all()
    assert pre[PREFILL_COLUMN].str.contains("alice").all() and pre[PREFILL_COLUMN].str.contains("s1").all()
    assert (df.loc[df[PREFILL_COLUMN] == "", "themes"] == "").all()
    # alice codes the rest and imports: every row is filed under s2, s1 keeps its own
    todo = df[PREFILL_COLUMN] == ""
    df.loc[todo, "themes"] = df.loc[todo, "segment_id"].map(h["themes"])
    df.to_csv(tmp_path / "s2_coded.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "s2_coded.csv", "--coder", "alice")
    assert res.exit_code == 0, res
    assert "79 pre-filled row(s)" in err(res)
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}
        now = prevalence(st, by=["wave"], data=load_items(st))
    assert now.attrs["calibration_samples"] == {"2022": "s2", "2023": "s2"}
    assert _row(now, "2022")["n_calibration"] + _row(now, "2023")["n_calibration"] == 120


def test_a_prefilled_xlsx_sheet_and_another_coder(proj, tmp_path, cli):
    from openpyxl import load_workbook
    out = tmp_path / "s2.xlsx"
    assert cli("--project", proj, "themes", "sample", "--n", "60", "--output", out).exit_code == 0
    with Store(proj, read_only=True) as st:
        s1 = set(_ids(st, "s1"))
        h = human_codes(st).set_index("segment_id")
    wb = load_workbook(out)
    ws = wb["codage"]
    header = [c.value for c in ws[1]]
    assert header == SHEET_COLUMNS + [PREFILL_COLUMN] + IDS
    col = {name: k for k, name in enumerate(header)}
    seen = 0
    for row in ws.iter_rows(min_row=2):
        sid = row[0].value
        if sid not in s1:
            assert row[col[PREFILL_COLUMN]].value is None and all(row[col[t]].value is None for t in IDS)
            continue
        seen += 1
        want = set(filter(None, h.loc[sid, "themes"].split(";")))
        assert {t for t in IDS if row[col[t]].value == 1} == want            # 1/0 in the theme columns
        assert all(row[col[t]].value in (0, 1) for t in IDS) and row[col["themes"]].value is None
        assert (row[col["posture"]].value or "") == h.loc[sid, "posture"]
        assert "alice" in row[col[PREFILL_COLUMN]].value and row[0].fill.start_color.rgb.endswith("FFF2CC")
    assert seen == 80
    help_text = " ".join(str(c.value) for r in wb["consignes"].iter_rows() for c in r if c.value)
    assert "pré-remplies" in help_text
    for row in ws.iter_rows(min_row=2):                                 # the rest coded by hand
        if row[0].value not in s1:
            row[col["themes"]].value = h.loc[row[0].value, "themes"] or None
    wb.save(tmp_path / "s2_coded.xlsx")
    # imported under another coder's name: refused (alice's codes would count as bob's), nothing stored
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "s2_coded.xlsx", "--coder", "bob")
    assert res.exit_code != 0 and "E408" in res.stderr and "--coder alice" in err(res) and "codage!row" in err(res)
    with Store(proj, read_only=True) as st:
        assert set(tables.coders(st)) == {"alice"}
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "s2_coded.xlsx", "--coder", "alice")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}
        stored = tables.codes(st, "alice").query("sample_id == 's2'").set_index("segment_id")
    for sid in s1:
        assert set(filter(None, stored.loc[sid, "themes"].split(";"))) == set(filter(None, h.loc[sid, "themes"].split(";")))


def test_whose_codes_prefill_a_sheet(proj, tmp_path, cli):
    with Store(proj) as st:
        store_codes(st, "bob", _ids(st, "s1")[:10], sample="s1")
    res = cli("--project", proj, "themes", "sample", "--n", "60", "--output", tmp_path / "a.csv")
    assert res.exit_code == 0, res
    assert "nothing pre-filled" in err(res) and "alice, bob" in err(res)      # two coders: none
    assert list(pd.read_csv(tmp_path / "a.csv", dtype=str).columns) == SHEET_COLUMNS
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s2", "--coder", "bob",
              "--output", tmp_path / "b.csv")
    assert res.exit_code == 0, res
    df = pd.read_csv(tmp_path / "b.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert (df[PREFILL_COLUMN] != "").sum() == 10 and df[PREFILL_COLUMN].str.contains("bob").sum() == 10
    # a misspelt (or new) coder: the sheet is blank, and the command says why
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s2", "--coder", "bobb",
              "--output", tmp_path / "b2.csv")
    assert res.exit_code == 0 and "nothing pre-filled: bobb coded none" in err(res) and "alice, bob" in err(res), res
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s2", "--coder", "alice", "--no-prefill",
              "--output", tmp_path / "c.csv")
    assert res.exit_code == 0 and list(pd.read_csv(tmp_path / "c.csv", dtype=str).columns) == SHEET_COLUMNS
    # s1's own sheet again (a second coder, another format): alice's own codes are never pre-filled
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s1", "--coder", "alice",
              "--output", tmp_path / "d.csv")
    assert res.exit_code == 0 and list(pd.read_csv(tmp_path / "d.csv", dtype=str).columns) == SHEET_COLUMNS
    res = cli("--project", proj, "themes", "sample", "--from-sample", "s2", "--coder", "alice",
              "--output", tmp_path / "e.qdpx")
    assert res.exit_code == 0 and "a .qdpx sheet is not pre-filled: 80 of its segments" in err(res)


def test_a_prefilled_sheet_imported_before_its_other_rows_are_coded(proj, tmp_path, cli):
    """The defect: the pre-filled rows carry themes, so a sheet imported as written (nothing coded
    yet) passed the "no theme in any row" check and stored its 40 empty rows as alice's "no theme":
    s2 then corrected the figures with 40 false negatives."""
    out = tmp_path / "s2.csv"
    assert cli("--project", proj, "themes", "sample", "--n", "60", "--output", out).exit_code == 0
    res = cli("--project", proj, "themes", "calibrate", "--coded", out, "--coder", "alice")
    assert res.exit_code != 0 and "E408" in res.stderr
    assert "no theme in any of its 40 row(s) that were not pre-filled" in err(res) and "--allow-empty" in err(res)
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80}                   # nothing stored
    df = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df[df[PREFILL_COLUMN] != ""].to_csv(tmp_path / "pre.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "pre.csv", "--coder", "alice",
              "--sample", "s2")                                          # the pre-filled rows alone
    assert res.exit_code == 0, res
    res = cli("--project", proj, "themes", "calibrate", "--coded", out, "--coder", "alice", "--allow-empty")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}


def test_a_prefilled_sheet_whose_other_rows_are_coded_none_with_zeros(proj, tmp_path, cli):
    """Rows coded with a 0 in every theme column say "none of them" on purpose: a pre-filled sheet
    whose other rows are all so coded was refused as "not coded yet" (only --allow-empty took it)."""
    from openpyxl import load_workbook
    out = tmp_path / "s2.xlsx"
    assert cli("--project", proj, "themes", "sample", "--n", "60", "--output", out).exit_code == 0
    wb = load_workbook(out)
    ws = wb["codage"]
    header = [c.value for c in ws[1]]
    col = {name: k for k, name in enumerate(header)}
    n = 0
    for row in ws.iter_rows(min_row=2):
        if not row[col[PREFILL_COLUMN]].value:
            for t in IDS:
                row[col[t]].value = 0
            n += 1
    wb.save(tmp_path / "s2_none.xlsx")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "s2_none.xlsx", "--coder", "alice")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        s2 = tables.codes(st, "alice").query("sample_id == 's2'")
    assert n == 40 and len(s2) == 120 and (s2["themes"] == "").sum() >= 40


def test_why_a_wave_is_raw_with_sample_or_coder(proj, cli):
    """The defect: `track changes --sample s2` (s2 drawn in 2023 only), or `--coder bob` (bob coded
    2023 only), gave raw rows with "the groups shown have too few coded units or are topics", and
    `track --sample s2` said nothing of 2022's raw rows: the wave without a sample is named now."""
    with Store(proj) as st:
        assert _draw(st, n=60, waves=["2023"]) == "s2"
        store_codes(st, "alice", _ids(st, "s2"), sample="s2")
        store_codes(st, "bob", _ids(st, "s2"), sample="s2")
        data = load_items(st)
        chg = changes(st, "2022", "2023", data=data, sample="s2")
        prev = prevalence(st, by=["wave"], data=data, sample="s2")
        both = changes(st, "2022", "2023", data=data)
    assert (chg["estimator"] == "raw").all() and chg.attrs["calibration_uncovered"] == ["2022"]
    assert any(n.startswith("wave 2022: sample s2 (--sample) was not drawn in it") for n in chg.attrs["calibration_notes"])
    assert _row(prev, "2023")["estimator"] == "calibrated" and _row(prev, "2022")["estimator"] == "raw"
    assert any(n.startswith("wave 2022: sample s2") for n in prev.attrs["calibration_notes"])
    assert both.attrs["calibration_uncovered"] == [] and not any(n.startswith("wave 2022") for n in
                                                                  both.attrs["calibration_notes"])
    res = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--sample", "s2")
    assert res.exit_code == 0, res
    assert "wave(s) 2022 have none here" in err(res) and "too few coded units" not in err(res)
    res = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--coder", "bob")
    assert res.exit_code == 0, res
    assert "wave 2022: no codes by bob" in err(res) and "too few coded units" not in err(res)
    res = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--coder", "bobb")
    assert res.exit_code != 0 and "E409" in res.stderr and "--coder one of those names" in err(res)


def test_the_same_draw_again_is_the_same_sample(proj, tmp_path, cli):
    """The defect: `themes sample --n 60 --output s2.xlsx`, then the same command with `.csv`, drew
    s3, a copy of s2 (same seed, same units); the CSV then matched both and its import failed
    (E408: give --sample). The same settings on the same segments find the same sample now."""
    assert cli("--project", proj, "themes", "sample", "--n", "60", "--output", tmp_path / "s2.xlsx").exit_code == 0
    res = cli("--project", proj, "themes", "sample", "--n", "60", "--output", tmp_path / "s2.csv")
    assert res.exit_code == 0, res
    assert "sample 's2' was drawn with these settings" in err(res)
    res = cli("--project", proj, "themes", "sample", "--n", "60", "--seed", "9", "--output", tmp_path / "s3.csv")
    assert res.exit_code == 0 and "sample s3 " in err(res)                  # another seed: another sample
    with Store(proj, read_only=True) as st:
        assert list(tables.samples(st)["sample_id"]) == ["s1", "s2", "s3"]
        h = human_codes(st).set_index("segment_id")
    df = pd.read_csv(tmp_path / "s2.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    todo = df[PREFILL_COLUMN] == ""
    df.loc[todo, "themes"] = df.loc[todo, "segment_id"].map(h["themes"])
    df.to_csv(tmp_path / "s2_coded.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", proj, "themes", "calibrate", "--coded", tmp_path / "s2_coded.csv", "--coder", "alice")
    assert res.exit_code == 0, res
    with Store(proj, read_only=True) as st:
        assert _per_sample(st, "alice") == {"s1": 80, "s2": 120}
