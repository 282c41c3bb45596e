"""`textmine check` (issue 20, item 1): an inconsistent store is E010, pending work is not."""
from __future__ import annotations

import json

import pandas as pd

from .hostile_helpers import assert_clean, assert_coded
from textmine.store import DERIVED_TABLES, Store


def test_check_finds_orphans_counts_and_stale_rows(tmp_path, cli):
    from helpers_search import make_store
    st = make_store(tmp_path / "p")
    st.close()
    rows = assert_clean(cli, tmp_path / "p")
    assert {r["check"] for r in rows} >= {"orphan rows", "turn counts", "derived rows without their segment"}
    with Store(tmp_path / "p") as st:
        st.con.execute("DELETE FROM interviews WHERE interview_id = 'itv-b1'")      # a half-deleted interview
        st.con.execute("UPDATE interviews SET n_turns = n_turns + 1 WHERE interview_id = 'itv-a1'")
        st.write_frame("topic_assignments", pd.DataFrame({"model_id": ["m"], "segment_id": ["itv-zz:0001:00"],
                                                          "topic": [0], "similarity": [0.5], "probability": [None]}))
    res = cli("--project", tmp_path / "p", "check", "--format", "json")
    assert_coded(res, "E010")
    bad = {(r["check"], r["table"]) for r in json.loads(res.stdout) if r["status"] == "problem"}
    assert {("orphan rows", "segments"), ("orphan rows", "turns"), ("turn counts", "interviews"),
            ("derived rows without their segment", "topic_assignments")} <= bad
    assert "itv-b1" in res.stdout and "itv-a1" in res.stdout


def test_deleting_an_interview_drops_every_derived_row(tmp_path, cli):
    from helpers_search import make_store
    st = make_store(tmp_path / "p")
    st.write_frame("topic_assignments", pd.DataFrame({"model_id": "m", "segment_id": st.segments_frame()["segment_id"],
                                                      "topic": 0, "similarity": 0.5, "probability": None}))
    for table, col in DERIVED_TABLES:        # every registered table, as its stage would have left it
        if not st.has_table(table):
            st.con.execute(f'CREATE TABLE "{table}" ("{col}" VARCHAR)')
            key = "segment_id" if col != "interview_id" else "DISTINCT interview_id"
            st.con.execute(f'INSERT INTO "{table}" SELECT {key} FROM segments')
    st.save_arrays("search", {"segment_ids": st.segments_frame()["segment_id"].to_numpy().astype(str)}, {})
    st.delete_interview("itv-a1")
    assert not list(st.index_dir.iterdir())     # the snapshot named its segments: removed with them
    for table, col in DERIVED_TABLES:
        mine = "= 'itv-a1'" if col == "interview_id" else "LIKE 'itv-a1:%'"
        assert st.query(f'SELECT count(*) AS n FROM "{table}" WHERE "{col}" {mine}')["n"][0] == 0, table
        assert st.query(f'SELECT count(*) AS n FROM "{table}"')["n"][0] > 0, table
    st.close()
    assert_clean(cli, tmp_path / "p")


def test_human_calibration_codes_are_kept_and_listed_when_their_segment_goes(tmp_path, cli):
    from helpers_search import make_store
    from textmine.calibrate import tables as cal_tables
    st = make_store(tmp_path / "p")
    sid = st.segments_frame(roles="respondents", interview_ids=["itv-a1"])["segment_id"].iloc[0]
    codes = pd.DataFrame([{"sample_id": "s1", "segment_id": sid, "coder": "ana", "coded_at": "2026-01-01",
                           "themes": "precarite", "posture": "", "text_hash": "h", "source": "x.csv", "row": "2"}])
    st.write_frame(cal_tables.CODES, codes)
    st.delete_interview("itv-a1")
    assert st.query(f"SELECT count(*) AS n FROM {cal_tables.CODES}")["n"][0] == 1     # a coder's work is kept
    st.close()
    rows = assert_clean(cli, tmp_path / "p")
    listed = [r for r in rows if r["table"] == cal_tables.CODES and r["status"] == "pending"]
    assert listed and sid in listed[0]["detail"]


def test_check_lists_a_snapshot_of_segments_no_longer_stored(tmp_path, cli):
    from helpers_search import make_store
    st = make_store(tmp_path / "p")
    ids = st.segments_frame()["segment_id"].to_numpy().astype(str)
    st.delete_interview("itv-a1")
    st.save_arrays("search", {"segment_ids": ids}, {})       # as a version before the sweep left it
    st.close()
    rows = assert_clean(cli, tmp_path / "p")
    listed = [r for r in rows if r["table"] == "index/search.json"]
    assert listed[0]["status"] == "pending" and "itv-a1:" in listed[0]["detail"], listed
