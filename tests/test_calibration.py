"""Calibration samples and the bias-corrected (design-based supervised learning) estimator:
hand-computed figures, reference formulas, exact unbiasedness, sample design, coverage rules,
cross-fitting, coder drift."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from helpers_calibration import OVER, calibrated_project, human_codes, store_codes
from helpers_track import build_store
from textmine.calibrate import tables
from textmine.calibrate.design import allocate, draw, inclusion_probabilities
from textmine.calibrate.drift import coder_drift
from textmine.errors import TextmineError
from textmine.store import Store
from textmine.themes.crossfit import fold_of, interview_folds
from textmine.track import changes, load_items, panel, prevalence
from textmine.stats import percentile_ci, resample_weights, rng_for
from textmine.track.calibrated import boot_pvalue, calibration, pseudo_outcomes


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return calibrated_project(tmp_path_factory.mktemp("cal") / "p", n=40)


# ------------------------------------------------------------------ the estimator by hand
def test_pseudo_outcomes_by_hand():
    # five segments, two coded (probability 1/2): Ỹ = Ŷ + R (Y − Ŷ) / π
    yhat = np.array([1, 0, 1, 0, 1], dtype=float)
    y = np.array([0, 0, 0, 1, 0], dtype=float)          # only read where coded
    coded = np.array([True, False, False, True, False])
    pi = np.array([0.5, np.nan, np.nan, 0.5, np.nan])
    yt = pseudo_outcomes(yhat, y, coded, pi)
    assert yt.tolist() == [-1.0, 0.0, 1.0, 2.0, 1.0]
    assert yt.mean() == pytest.approx(0.6)
    # reference formula: mean(Ŷ) + (1/N) Σ_{coded} (Y − Ŷ) / π
    assert yt.mean() == pytest.approx(yhat.mean() + ((y - yhat)[coded] / pi[coded]).sum() / 5)


def test_boot_pvalue_by_hand():
    reps = np.array([[0.1, -0.2], [0.3, 0.1], [-0.1, 0.2], [0.2, 0.3]])
    # column 0: one replicate <= 0 of 4 -> 2 * (1 + 1) / 5 = 0.8; column 1: 2 * (1 + 1) / 5 = 0.8
    assert boot_pvalue(reps).tolist() == pytest.approx([0.8, 0.8])
    assert boot_pvalue(np.full((9, 1), 0.5))[0] == pytest.approx(0.2)     # 2 * 1 / 10


def test_unbiased_over_every_possible_sample():
    """Exact expectation over all stratified samples: the corrected share equals the human share
    of the population; the coder's raw share does not."""
    y = np.array([1, 0, 0, 1, 1, 0, 0, 0, 1, 0], dtype=float)
    yhat = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1, 1], dtype=float)
    strata = np.array([0] * 6 + [1] * 4)
    sizes, n_h = np.bincount(strata), np.array([2, 3])
    pi = inclusion_probabilities(strata, sizes, n_h)
    assert pi.tolist() == pytest.approx([2 / 6] * 6 + [3 / 4] * 4)
    ests = []
    for a in itertools.combinations(range(6), 2):
        for b in itertools.combinations(range(6, 10), 3):
            coded = np.isin(np.arange(10), a + b)
            ests.append(pseudo_outcomes(yhat, y, coded, pi).mean())
    assert len(ests) == 15 * 4
    assert np.mean(ests) == pytest.approx(y.mean(), abs=1e-12)
    assert yhat.mean() != pytest.approx(y.mean())


def test_allocation_and_draw():
    sizes = np.array([100, 50, 5, 1])
    n_h = allocate(sizes, 40)
    assert n_h.tolist() == [25, 12, 2, 1] and n_h.sum() == 40
    assert allocate([10, 10], 100).tolist() == [10, 10]                   # census when n >= N
    assert allocate([100, 100], 10, [2, 1]).tolist() == [7, 3]           # over-sampling weight
    strata = np.repeat([0, 1, 2], [30, 20, 10])
    k = np.array([6, 2, 5])
    hits = np.zeros(60)
    rng = np.random.default_rng(0)
    for _ in range(4000):
        m = draw(strata, k, rng)
        assert [int(m[strata == h].sum()) for h in range(3)] == k.tolist()
        hits += m
    freq = hits / 4000
    expected = inclusion_probabilities(strata, np.bincount(strata), k)
    assert np.abs(freq - expected).max() < 0.04                       # empirical frequency ≈ π


def test_prevalence_and_interval_recomputed_by_hand(project):
    """The corrected share of a wave and its 95 % interval, recomputed from the stored sample,
    codes and coder output with the reference formula and the same bootstrap draws."""
    with Store(project, read_only=True) as st:
        data = load_items(st)
        prev = prevalence(st, by=["wave"], data=data).set_index(["theme", "wave"])
        units = tables.units(st)
        h = human_codes(st).set_index("segment_id")
        cfg, rs = st.config.track, st.config.random_state
    seg = data.segments
    j = data.items.index(OVER)
    for wave in ("2022", "2023"):
        m = (seg["wave"] == wave).to_numpy()
        s = seg[m]
        yhat = data.X[m, j].astype(float)
        pi = s["segment_id"].map(units.set_index("segment_id")["inclusion_prob"]).to_numpy()
        coded = ~np.isnan(pi)
        y = np.array([OVER in str(h.loc[sid, "themes"]).split(";") for sid in s["segment_id"]], dtype=float)
        hand = yhat.mean() + ((y - yhat)[coded] / pi[coded]).sum() / len(s)
        row = prev.loc[(OVER, wave)]
        assert row["estimator"] == "calibrated" and row["n_calibration"] == coded.sum() == 40
        assert row["share"] == pytest.approx(hand, abs=1e-12)
        # interval: percentile of the cluster bootstrap of per-interview sums of Ỹ (clusters sorted by id)
        yt = yhat + np.where(coded, (y - yhat) / np.where(coded, pi, 1), 0)
        itv = s["interview_id"].to_numpy()
        ids = np.unique(itv)
        num = np.array([yt[itv == i].sum() for i in ids])[:, None]
        den = np.array([(itv == i).sum() for i in ids], dtype=float)
        W = resample_weights(len(ids), cfg.n_boot, rng_for(rs, "prevalence", "segments", (wave,)))
        reps = (W @ num) / (W @ den)[:, None]
        # few disagreements: per stratum (same π), Laplace's (k + 1)/(n + 2) instead of k/n in the
        # Horvitz-Thompson variance Σ (1 - π)/π² d², the difference added as normal noise
        d = (y - yhat)[coded]
        extra = 0.0
        for p in np.unique(pi[coded]):
            g = pi[coded] == p
            n_g, k_g = g.sum(), (d[g] ** 2).sum()
            extra += (1 - p) / p ** 2 * max(n_g * (k_g + 1) / (n_g + 2) - k_g, 0.0)
        extra /= len(s) ** 2
        assert extra > 0
        noise = rng_for(rs, "prevalence-widen", "segments", (wave,)).standard_normal((cfg.n_boot, len(data.items)))
        lo, hi = percentile_ci(reps + noise[:, [j]] * np.sqrt(extra), cfg.alpha)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((max(lo[0], 0.0), min(hi[0], 1.0)), abs=1e-12)


def test_changes_corrected_vs_raw(project):
    with Store(project, read_only=True) as st:
        cor = changes(st, "2022", "2023").set_index("theme")
        raw = changes(st, "2022", "2023", estimator="raw").set_index("theme")
        h = human_codes(st)
        seg = st.segments_frame(roles="respondents")
    truth = {w: h[h["segment_id"].isin(seg.loc[seg["wave"] == w, "segment_id"])]["themes"].str.contains(OVER).mean()
             for w in ("2022", "2023")}
    c, r = cor.loc[OVER], raw.loc[OVER]
    assert c["estimator"] == "calibrated" and r["estimator"] == "raw"
    assert c["n_calibration"] == 80 and c["n_calibration_from"] == c["n_calibration_to"] == 40
    assert r["delta"] > truth["2023"] - truth["2022"] + 0.02             # the coder over-reports the rise
    assert c["ci_low"] <= truth["2023"] - truth["2022"] <= c["ci_high"]
    assert 0 <= c["p_value"] <= 1 and 0 <= c["q_value"] <= 1
    assert (cor.loc[cor["kind"] == "topic", "estimator"] == "raw").all()  # humans do not code topics
    assert (cor.loc[cor["kind"] != "topic", "estimator"] == "calibrated").all()


# ------------------------------------------------------------------ which figures can be corrected
def test_interviews_measure_needs_an_interview_sample(project, tmp_path):
    with Store(project, read_only=True) as st:
        df = prevalence(st, by=["wave"], measure="interviews")
        assert (df["estimator"] == "raw").all()
        words = prevalence(st, by=["wave"], measure="words")
        assert (words.loc[words["kind"] == "theme", "estimator"] == "calibrated").all()
    p = calibrated_project(tmp_path / "itv", n=10, unit="interviews", strata=("wave",))
    with Store(p, read_only=True) as st:
        itv = prevalence(st, by=["wave"], measure="interviews").set_index(["theme", "wave"])
        seg = prevalence(st, by=["wave"]).set_index(["theme", "wave"])
        units = tables.units(st)
    assert units.groupby("wave")["interview_id"].nunique().tolist() == [10, 10]
    assert itv.loc[(OVER, "2023"), "estimator"] == "calibrated" and itv.loc[(OVER, "2023"), "n_calibration"] == 10
    assert seg.loc[(OVER, "2023"), "estimator"] == "calibrated" and seg.loc[(OVER, "2023"), "n_calibration"] == 200


def test_interviews_measure_by_hand(tmp_path):
    p = calibrated_project(tmp_path / "itv", n=10, unit="interviews", segs_per_interview=6, n_per_wave=14,
                           strata=("wave",))
    with Store(p, read_only=True) as st:
        data = load_items(st)
        row = prevalence(st, by=["wave"], measure="interviews", data=data).set_index(["theme", "wave"]).loc[
            (OVER, "2023")]
        units = tables.units(st)
        h = human_codes(st).set_index("segment_id")
    seg = data.segments[data.segments["wave"] == "2023"]
    j = data.items.index(OVER)
    pi_itv = units.drop_duplicates("interview_id").set_index("interview_id")["inclusion_prob"]
    total = 0.0
    for iid, g in seg.groupby("interview_id"):
        yhat = float(data.X[g.index, j].any())
        if iid in pi_itv.index:
            y = float(any(OVER in str(h.loc[s, "themes"]).split(";") for s in g["segment_id"]))
            total += yhat + (y - yhat) / pi_itv[iid]
        else:
            total += yhat
    assert row["share"] == pytest.approx(max(0.0, min(1.0, total / seg["interview_id"].nunique())), abs=1e-12)


def test_small_groups_stay_raw_and_say_so(project):
    with Store(project, read_only=True) as st:
        st.config.calibration.min_coded = 10     # the threshold is read from the project's settings (default 3)
        df = prevalence(st, by=["wave", "territory"])
    themes = df[df["kind"] == "theme"]
    # 40 coded segments per wave over 5 territories: cells under calibration.min_coded (10) stay raw
    small = themes["n_calibration"].eq(0) & themes["estimator"].eq("raw")
    assert small.any() and (themes.loc[themes["estimator"] == "calibrated", "n_calibration"] >= 10).all()
    with Store(project, read_only=True) as st:   # the default: those cells (about 8 coded each) are corrected
        assert st.config.calibration.min_coded == 3
        dflt = prevalence(st, by=["wave", "territory"])
    dflt = dflt[dflt["kind"] == "theme"]
    assert (dflt["estimator"] == "calibrated").sum() > (themes["estimator"] == "calibrated").sum()
    assert (dflt.loc[dflt["estimator"] == "calibrated", "n_calibration"] >= 3).all()


def test_uncoded_stratum_and_reingest_fall_back_to_raw(tmp_path):
    p = calibrated_project(tmp_path / "a", n=40)
    with Store(p) as st:
        u = tables.units(st)
        elu = u[u["stratum"] == "2022|elu"]["segment_id"]
        st.con.execute(f"DELETE FROM calibration_codes WHERE segment_id IN ({','.join('?' * len(elu))})", list(elu))
        df = prevalence(st, by=["wave"]).set_index(["theme", "wave"])
        assert df.loc[(OVER, "2022"), "estimator"] == "raw" and df.loc[(OVER, "2023"), "estimator"] == "calibrated"
        assert any("2022|elu" in n for n in df.attrs["calibration_notes"])
        # partial coding of a stratum: the coded units' probabilities are scaled by the coded share
        keep = elu.iloc[:1]
        store_codes(st, "alice", keep)
        cal = calibration(st, load_items(st))
        assert np.nanmin(cal.pi[cal.coded]) < u["inclusion_prob"].min()
        # a re-ingest changes the wave's segments: its sample no longer covers it
        st.con.execute("UPDATE segments SET text = text || ' modifié' WHERE segment_id = ?",
                       [u["segment_id"].iloc[0]])
        df = prevalence(st, by=["wave"]).set_index(["theme", "wave"])
        assert df.loc[(OVER, "2022"), "estimator"] == "raw"
        assert any("changed since sample" in n for n in df.attrs["calibration_notes"])


def test_estimator_option_and_errors(project, tmp_path):
    with Store(project, read_only=True) as st:
        with pytest.raises(TextmineError) as e:
            prevalence(st, estimator="best")
        assert e.value.code == "E005"
        with pytest.raises(TextmineError) as e:
            prevalence(st, coder="nobody")
        assert e.value.code == "E409"
        assert (prevalence(st, estimator="raw")["estimator"] == "raw").all()
    build_store(tmp_path / "bare", n_per_wave=3, segs_per_interview=4).close()
    with Store(tmp_path / "bare", read_only=True) as st:
        assert (prevalence(st)["estimator"] == "raw").all()       # default: raw when nothing was coded
        with pytest.raises(TextmineError) as e:
            prevalence(st, estimator="calibrated")
        assert e.value.code == "E409"


@pytest.mark.slow
def test_two_coders_mean_and_named_coder(tmp_path):
    p = calibrated_project(tmp_path / "two", n=40)
    with Store(p) as st:
        u = tables.units(st)
        bob = human_codes(st, u["segment_id"]).merge(u[["segment_id", "sample_id", "text_hash"]], on="segment_id")
        bob["themes"] = ""                           # bob codes nothing anywhere
        tables.save_codes(st, bob.assign(coder="bob", coded_at="x", source="t", row="1", posture=""))
        a = changes(st, "2022", "2023", coder="alice").set_index("theme")
        b = changes(st, "2022", "2023", coder="bob").set_index("theme")
        m = changes(st, "2022", "2023").set_index("theme")
        data = load_items(st)
        cal = calibration(st, data)
    # the consensus is the coders' mean, and the (unclipped) change is linear in it
    for t in (OVER, "coordination_territoriale"):
        assert m.loc[t, "delta"] == pytest.approx((a.loc[t, "delta"] + b.loc[t, "delta"]) / 2)
    assert a.loc[OVER, "delta"] != pytest.approx(b.loc[OVER, "delta"])
    assert set(np.unique(cal.y[cal.coded])) <= {0.0, 0.5, 1.0}


def test_panel_mean_delta_corrected_rest_raw(project):
    with Store(project, read_only=True) as st:
        res = panel(st, "2022", "2023")
        raw = panel(st, "2022", "2023", estimator="raw")
    s = res.theme_summary.set_index("theme")
    assert set(s["estimator"]) <= {"calibrated", "raw"} and "ci_low" in s
    assert (raw.theme_summary["estimator"] == "raw").all()
    # counts and transitions do not depend on the estimator
    pd.testing.assert_frame_equal(res.transitions, raw.transitions)
    assert (s["n_up"] == raw.theme_summary.set_index("theme")["n_up"]).all()


# ------------------------------------------------------------------ cross-fitting
def test_interview_folds():
    ids = [f"i{k}" for k in range(11)]
    f = interview_folds(ids + ids[:3], 5, 42)
    assert set(f) == set(ids) and set(f.values()) == set(range(5))
    assert f == interview_folds(list(reversed(ids)), 5, 42)               # order-free, seeded
    assert fold_of("other", f, 5) == fold_of("other", f, 5) and fold_of("i3", f, 5) == f["i3"]
    with pytest.raises(TextmineError) as e:
        interview_folds(["one"], 5, 42)
    assert e.value.code == "E406"


def test_coder_trained_on_calibration_codes_uses_crossfit_predictions(tmp_path):
    """A coder trained on the calibration codes reproduces them on the sampled segments (no error
    left to correct); the estimator must use the cross-fitted predictions instead, and refuse to
    correct without them."""
    p = calibrated_project(tmp_path / "cf", n=40)
    with Store(p) as st:
        run = st.get_kv("themes.current_run")
        st.set_kv("themes.current_run", {**run, "calibration_samples": ["s1"], "crossfit": True})
        data = load_items(st)
        no_cf = prevalence(st, data=data)
        assert (no_cf["estimator"] == "raw").all()
        assert any("without cross-fitted" in n for n in no_cf.attrs["calibration_notes"])
        # cross-fitted predictions: here, the coder says `precarite` nowhere
        seg_ids = data.segments["segment_id"]
        st.write_frame("theme_codings_crossfit", pd.DataFrame({
            "run_id": data.run_id, "segment_id": seg_ids, "theme": "coordination_territoriale",
            "assigned": False, "posture": pd.Series([None] * len(seg_ids), dtype="string")}))
        data = load_items(st)
        cf = prevalence(st, data=data).set_index(["theme", "wave"])
        units = tables.units(st)
        h = human_codes(st).set_index("segment_id")
    s = data.segments[data.segments["wave"] == "2023"]
    u = units.set_index("segment_id")
    coded = s["segment_id"].isin(u.index)
    y = np.array([OVER in str(h.loc[x, "themes"]).split(";") for x in s["segment_id"][coded]], dtype=float)
    hand = (y / u.loc[s["segment_id"][coded], "inclusion_prob"].to_numpy()).sum() / len(s)   # Ŷ = 0 everywhere
    assert cf.loc[(OVER, "2023"), "estimator"] == "calibrated"
    assert cf.loc[(OVER, "2023"), "share"] == pytest.approx(min(1.0, hand), abs=1e-12)


# ------------------------------------------------------------------ coder drift
def test_coder_drift_flags_a_coder_whose_errors_change(tmp_path):
    p = calibrated_project(tmp_path / "d", n=60, n_per_wave=16)
    with Store(p, read_only=True) as st:
        d = coder_drift(st, "2022", "2023").set_index("theme")
    assert d.loc[OVER, "error_from"] == pytest.approx(0.0)                # the coder is right in 2022
    assert d.loc[OVER, "error_to"] > 0.03 and d.loc[OVER, "delta"] > 0
    assert d.loc["coordination_territoriale", "error_to"] == pytest.approx(0.0)
    assert not d.loc["coordination_territoriale", "significant"]
    assert {"all themes", OVER} <= set(d.index) and d["q_value"].between(0, 1).all()


def test_json_of_calibrated_rows_keeps_todays_fields(project, cli):
    res = cli("--project", project, "track", "changes", "--from", "2022", "--to", "2023", "--format", "json")
    assert res.exit_code == 0, res
    rows = json.loads(res.stdout)
    for key in ("theme", "wave_from", "wave_to", "share_from", "share_to", "delta", "ci_low", "ci_high", "p_value",
                "q_value", "significant", "estimator", "n_calibration"):
        assert key in rows[0]
    assert "corrected with human calibration codes" in " ".join(res.stderr.split())


# ------------------------------------------------------------------ the flywheel, with the real coder
@pytest.mark.slow
def test_flywheel_train_on_calibration_codes_cross_fits(tmp_path, cli):
    """`themes train --coded calibration:s1` fits fold models by interview that never saw their
    fold's codes; `themes apply --model` stores their predictions; the corrected figures use them."""
    p = calibrated_project(tmp_path / "fw", n=100, n_per_wave=5, segs_per_interview=6)
    (p / "textmine.yaml").write_text("random_state: 42\ncalibration: {crossfit_folds: 3}\n", encoding="utf-8")
    res = cli("--project", p, "themes", "train", "--coded", "calibration:s1", "--output", tmp_path / "model",
              "--format", "json")
    assert res.exit_code == 0, res
    meta = json.loads((tmp_path / "model" / "crossfit.json").read_text(encoding="utf-8"))
    model_meta = json.loads((tmp_path / "model" / "model.json").read_text(encoding="utf-8"))
    assert model_meta["calibration_samples"] == ["s1"] and meta["samples"] == ["s1"] and meta["n_folds"] == 3
    with Store(p, read_only=True) as st:
        units = tables.units(st)
    itv_of = dict(zip(units["segment_id"], units["interview_id"]))
    assert sorted(x for ids in meta["left_out"].values() for x in ids) == sorted(units["segment_id"])
    for k, ids in meta["left_out"].items():
        fold_meta = json.loads((tmp_path / "model" / "crossfit" / f"fold_{k}" / "model.json").read_text("utf-8"))
        # fold k was trained on every code but its own fold's, whose interviews all belong to fold k
        assert fold_meta["n_train"] == len(units) - len(ids)
        assert {meta["folds"][itv_of[s]] for s in ids} == {int(k)}
    res = cli("--project", p, "themes", "apply", "--model", tmp_path / "model")
    assert res.exit_code == 0, res
    with Store(p, read_only=True) as st:
        run = st.get_kv("themes.current_run")
        cf = st.query("SELECT count(*) AS n FROM theme_codings_crossfit WHERE run_id = ?", [run["run_id"]])["n"][0]
        assert run["calibration_samples"] == ["s1"] and run["crossfit"] and cf == len(units) * len(load_items(
            st, kinds=("theme",)).items)
        df = changes(st, "2022", "2023")
    assert (df.loc[df["kind"] == "theme", "estimator"] == "calibrated").all()


def test_wave_not_coded_by_the_machine_stays_raw(tmp_path, cli):
    p = calibrated_project(tmp_path / "nc", n=40)
    with Store(p) as st:
        st.con.execute("DELETE FROM theme_codings WHERE segment_id IN (SELECT segment_id FROM segments s JOIN "
                       "interviews i USING (interview_id) WHERE i.wave = '2023')")
        df = prevalence(st, by=["wave"]).set_index(["theme", "wave"])
    assert df.loc[(OVER, "2022"), "estimator"] == "calibrated" and df.loc[(OVER, "2023"), "estimator"] == "raw"
    assert any("2023 is not coded by the machine" in n for n in df.attrs["calibration_notes"])
    res = cli("--project", p, "track", "changes", "--from", "2022", "--to", "2023", "--format", "json")
    assert res.exit_code == 0 and "not coded by the machine" in " ".join(res.stderr.split())
    assert {r["estimator"] for r in json.loads(res.stdout)} == {"raw"}


@pytest.mark.slow
def test_demo_corrected_changes_cover_the_key(demo_project, tmp_path, cli):
    """As `make demo` does: 50 segments per wave, coded from the answer key; every corrected change
    of the planted themes and posture sub-labels covers the key's census of all segments."""
    import shutil
    import sys
    from conftest import DEMO
    sys.path.insert(0, str(DEMO / "_build"))
    from key_coder import key_codes
    from textmine.track.calibrated import human_matrix
    p = tmp_path / "demo"
    shutil.copytree(demo_project, p)                       # the session's demo project stays uncalibrated
    assert cli("--project", p, "themes", "sample", "--name", "demo", "--n", "50", "--output",
               tmp_path / "s.csv").exit_code == 0
    sheet = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    with Store(p, read_only=True) as st:
        key = key_codes(st)
    codes = key.set_index("segment_id")
    sheet["themes"] = sheet["segment_id"].map(codes["themes"])
    sheet["posture"] = sheet["segment_id"].map(codes["posture"])
    sheet.to_csv(tmp_path / "coded.csv", index=False)
    res = cli("--project", p, "themes", "calibrate", "--coded", tmp_path / "coded.csv", "--coder", "answer_key")
    assert res.exit_code == 0 and "warning" not in res.stderr, res     # a fully coded sheet: no word of warning
    res = cli("--project", p, "track", "changes", "--from", "2022", "--to", "2023", "--format", "json")
    assert res.exit_code == 0, res
    rows = {r["theme"]: r for r in json.loads(res.stdout)}
    with Store(p, read_only=True) as st:
        data = load_items(st)
    Y, _ = human_matrix(data, key)
    w = data.segments["wave"].to_numpy()
    truth = Y[w == "2023"].mean(axis=0) - Y[w == "2022"].mean(axis=0)
    for item in ("precarite", "financement_renouvellement", "coordination_territoriale", "demarches_administratives",
                 "posture:faire_avec", "posture:faire_a_la_place"):
        r = rows[item]
        assert r["estimator"] == "calibrated" and r["n_calibration"] == 100, r
        assert r["ci_low"] <= truth[data.items.index(item)] <= r["ci_high"], (item, r)
    for item in ("precarite", "financement_renouvellement", "posture:faire_avec"):
        assert rows[item]["ci_low"] > 0                    # the planted rises are still found
