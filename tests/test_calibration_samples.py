"""Which calibration sample corrects which wave. A sample is used for a wave once codes imported
from its own sheet exist there; until then the earlier sample stays in use, so drawing a sample
changes no published figure. Only the codes of the used sample's own sheet count as its coded
units. The notes (stderr, frame attributes) name only the samples used, per measure."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers_calibration import OVER, calibrated_project, human_codes, store_codes
from textmine.calibrate import sample as cal_sample
from textmine.calibrate import tables
from textmine.store import Store
from textmine.track import changes, load_items, panel, prevalence
from textmine.track.calibrated import calibration


@pytest.fixture()
def proj(tmp_path):
    """Sample s1 (40 segments per wave) coded by alice from its own sheet."""
    return calibrated_project(tmp_path / "p", n=40)


def _figures(st: Store, **kw) -> dict[str, pd.DataFrame]:
    data = load_items(st)               # a fresh view: the calibration is cached on it
    return {"waves": prevalence(st, by=["wave"], data=data, **kw),
            "roles_words": prevalence(st, by=["wave", "role"], measure="words", data=data, **kw),
            "interviews": prevalence(st, measure="interviews", data=data, **kw),
            "changes": changes(st, "2022", "2023", data=data, **kw),
            "panel": panel(st, "2022", "2023", data=data, **kw).theme_summary}


def _draw(st: Store, **kw) -> str:
    drawn = cal_sample.draw_sample(st, **kw)
    cal_sample.save(st, drawn)
    return drawn.meta["sample_id"]


def _ids(st: Store, sample: str, wave: str | None = None) -> list[str]:
    u = tables.units(st, [sample])
    return sorted(u.loc[u["wave"] == wave, "segment_id"] if wave else u["segment_id"])


def _row(df: pd.DataFrame, wave: str, theme: str = OVER) -> pd.Series:
    return df.set_index(["theme", "wave"]).loc[(theme, wave)]


def test_drawing_samples_without_coding_them_changes_no_figure(proj):
    with Store(proj) as st:
        before = _figures(st)
        assert before["waves"].attrs["calibration_samples"] == {"2022": "s1", "2023": "s1"}
        assert _draw(st, n=60) == "s2"                                   # same seed: holds every unit of s1
        assert _draw(st, unit="interviews", n_per_stratum=2) == "s3"
        assert _draw(st, n=30, oversample=3, waves=["2023"]) == "s4"
        assert set(_ids(st, "s1")) <= set(_ids(st, "s2"))              # s1's codes are on s2's units
        after = _figures(st)
        cal = calibration(st, load_items(st))
    for name, df in before.items():
        pd.testing.assert_frame_equal(after[name], df, check_exact=True, obj=name)
    assert after["waves"].attrs["calibration_samples"] == {"2022": "s1", "2023": "s1"}
    assert after["waves"].attrs["calibration_sample_units"] == {"s1": "segments"}
    assert cal.samples == {"2022": "s1", "2023": "s1"} and cal.itv_samples == {}
    notes = " ".join(cal.notes)
    for s in ("s2", "s3", "s4"):
        assert f"sample {s} has no codes imported from its own sheet" in notes
    assert (before["waves"]["estimator"] == "calibrated").any()


def test_a_sample_is_used_once_codes_from_its_own_sheet_exist_in_that_wave(proj):
    with Store(proj) as st:
        before = _figures(st)["waves"]
        _draw(st, n=60)
        store_codes(st, "bob", _ids(st, "s2", "2023"), sample="s2")      # bob codes s2's 2023 rows only
        now = _figures(st)["waves"]
        explicit = _figures(st, sample="s2")["waves"]
        old = _figures(st, sample="s1")["waves"]
    assert now.attrs["calibration_samples"] == {"2022": "s1", "2023": "s2"}
    assert _row(now, "2023")["n_calibration"] == 60 and _row(now, "2022")["n_calibration"] == 40
    pd.testing.assert_frame_equal(now[now["wave"] == "2022"], before[before["wave"] == "2022"], check_exact=True)
    assert _row(now, "2023")["share"] != _row(before, "2023")["share"]
    # --sample s2 gives the same 2023 figures; 2022 has no code from s2's sheet: raw, and said so
    pd.testing.assert_frame_equal(explicit[explicit["wave"] == "2023"], now[now["wave"] == "2023"],
                                  check_exact=True)
    assert _row(explicit, "2022")["estimator"] == "raw"
    assert explicit.attrs["calibration_samples"] == {"2023": "s2"}
    assert any("sample s2 (--sample) has no codes imported from its own sheet for wave(s) 2022" in n
               for n in explicit.attrs["calibration_notes"])
    # --sample s1: the earlier figures (its own codes are all there; bob's codes of the same units agree with them)
    assert old.attrs["calibration_samples"] == {"2022": "s1", "2023": "s1"}
    pd.testing.assert_frame_equal(old, before, check_exact=True)


def test_only_the_used_samples_own_sheet_counts_as_coded(proj):
    """Units of the sample coded through another sample's sheet are not a random part of it."""
    with Store(proj) as st:
        _draw(st, n=60)
        mine = _ids(st, "s2", "2023")[::2]                             # bob codes half of s2's 2023 rows
        store_codes(st, "bob", mine, sample="s2")
        data = load_items(st)
        cal = calibration(st, data)
        u = tables.units(st, ["s2"]).set_index("segment_id")
    seg = data.segments
    in_2023 = (seg["wave"].astype(str) == "2023").to_numpy()
    coded = set(seg["segment_id"][cal.coded & in_2023])
    assert cal.samples["2023"] == "s2" and coded == set(mine)         # not s1's codes of s2's other units
    # each coded unit's probability is scaled by the share of its stratum coded from s2's sheet
    sub = u.loc[u["wave"] == "2023"]
    rate = sub.index.isin(mine).astype(float)
    share = pd.Series(rate, index=sub.index).groupby(sub["stratum"]).mean()
    idx = pd.Index(seg["segment_id"])
    for sid in mine:
        expect = u.loc[sid, "inclusion_prob"] * share[u.loc[sid, "stratum"]]
        assert cal.pi[idx.get_loc(sid)] == pytest.approx(expect, rel=1e-12)
    assert any("sample s2 are coded only through other samples' sheets" in n for n in cal.notes)


def test_notes_name_the_samples_used_per_wave_and_measure(proj, cli):
    """The walkthrough's case: an interview sample whose own codes in 2022 cover no whole interview
    corrects the segments there but not the interviews measure, which must not name it."""
    with Store(proj) as st:
        _draw(st, unit="interviews", n=10)                             # s2: 10 interviews per wave
        u = tables.units(st, ["s2"])
        whole = u.loc[u["wave"] == "2023", "segment_id"]               # every segment of its 2023 interviews
        two = u[u["wave"] == "2022"].groupby("interview_id")["segment_id"].head(2)   # 2 per 2022 interview
        store_codes(st, "bob", list(whole) + list(two), sample="s2")
        seg = _figures(st)
    itv = seg["interviews"]
    assert itv.attrs["calibration_samples"] == {"2023": "s2"}
    assert seg["waves"].attrs["calibration_samples"] == {"2022": "s2", "2023": "s2"}
    assert seg["waves"].attrs["calibration_sample_units"] == {"s2": "interviews"}
    assert any("stratum" in n and "of sample s2 has no coded interview" in n for n in itv.attrs["calibration_notes"])
    res = cli("--project", proj, "track", "--measure", "interviews", "--format", "json")
    assert res.exit_code == 0, res
    err = " ".join(res.stderr.split())
    assert "samples used: 2023: s2 (interview sample))" in err and "2022: s2" not in err
    res = cli("--project", proj, "track", "--by", "wave", "--theme", OVER, "--format", "json")
    err = " ".join(res.stderr.split())
    assert res.exit_code == 0 and "samples used: 2022: s2 (interview sample), 2023: s2 (interview sample))" in err
    # a wave with no corrected figure is not named
    res = cli("--project", proj, "track", "changes", "--from", "2022", "--to", "2023", "--measure", "interviews",
              "--format", "json")
    assert res.exit_code == 0 and all(r["estimator"] == "raw" for r in json.loads(res.stdout))
    assert "samples used" not in " ".join(res.stderr.split())


def test_samples_command_counts_each_sheets_own_codes(proj, cli):
    with Store(proj) as st:
        _draw(st, n=60)
    res = cli("--project", proj, "themes", "samples", "--format", "json")
    assert res.exit_code == 0, res
    rows = {r["sample_id"]: r for r in json.loads(res.stdout)}
    assert rows["s1"]["coded"] == "alice: 80" and rows["s2"]["coded"] == ""
    assert rows["s1"]["coded_via_other_samples"] == "" and rows["s2"]["coded_via_other_samples"] == "alice: 80"


def test_a_csv_sheet_goes_to_its_own_sample(tmp_path, cli):
    """A CSV does not name its sample: its codes go to the sample that drew exactly its rows, not to
    a later sample that also drew them (same seed: samples nest)."""
    p = calibrated_project(tmp_path / "c", n=4)          # s1, coded: the project has codes and a machine coding
    for name, n in (("a", 12), ("b", 20)):
        res = cli("--project", p, "themes", "sample", "--n", n, "--output", tmp_path / f"{name}.csv", "--no-prefill")
        assert res.exit_code == 0, res
    with Store(p, read_only=True) as st:
        assert set(_ids(st, "s2")) <= set(_ids(st, "s3"))
        h = human_codes(st).set_index("segment_id")
    df = pd.read_csv(tmp_path / "a.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df["themes"] = df["segment_id"].map(h["themes"])
    df.to_csv(tmp_path / "a_coded.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", p, "themes", "calibrate", "--coded", tmp_path / "a_coded.csv", "--coder", "carl")
    assert res.exit_code == 0, res
    with Store(p, read_only=True) as st:
        assert set(tables.codes(st, "carl")["sample_id"]) == {"s2"}
        assert calibration(st, load_items(st)).samples == {"2022": "s2", "2023": "s2"}
    # a part of it (rows deleted) is in both samples: which one is ambiguous, --sample says
    df.iloc[:5].to_csv(tmp_path / "part.csv", index=False, encoding="utf-8-sig")
    res = cli("--project", p, "themes", "calibrate", "--coded", tmp_path / "part.csv", "--coder", "dina")
    assert res.exit_code != 0 and "--sample" in " ".join(res.stderr.split())
    res = cli("--project", p, "themes", "calibrate", "--coded", tmp_path / "part.csv", "--coder", "dina",
              "--sample", "s3", "--allow-empty")
    assert res.exit_code == 0, res
    with Store(p, read_only=True) as st:
        assert set(tables.codes(st, "dina")["sample_id"]) == {"s3"}


def test_sheet_lists_interviews_in_a_seeded_random_order(proj):
    """Half a sheet coded from the top must be a random part of the sample (the estimator takes
    uncoded units as missing at random): sorted by interview name it was the first interviews
    (a territory, a date), which biased the shares in benchmarks/calibration_audit.py --partial."""
    with Store(proj, read_only=True) as st:
        rows = cal_sample.sheet_rows(st, "s1")
        again = cal_sample.sheet_rows(st, "s1")
        frame = st.segments_frame(roles="respondents")
    assert list(rows["segment_id"]) == list(again["segment_id"])           # the same sheet every time
    order = list(dict.fromkeys(rows["interview_id"]))
    assert order != sorted(order)                                           # not by interview name
    assert rows["interview_id"].ne(rows["interview_id"].shift()).sum() == len(order)   # interviews kept whole
    pos = {sid: k for k, sid in enumerate(frame["segment_id"])}
    for _, g in rows.groupby("interview_id", sort=False):                   # speech order inside each
        assert list(g["segment_id"].map(pos)) == sorted(g["segment_id"].map(pos))
