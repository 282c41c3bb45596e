"""The default `textmine track` figures cached by the run (textmine.track.cache): the cached frame is
the computed one, the CLI prints the same table from it, and any change to what the figures are
computed from (codings, calibration codes, metadata, topics, codebook, settings) makes it stale."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

import textmine.track
from helpers_calibration import store_codes
from helpers_track import build_store
from textmine.calibrate import sample as cal_sample
from textmine.cli.main import main
from textmine.store import Store
from textmine.track import prevalence
from textmine.track.cache import cached_prevalence, refresh


SHAPE = dict(n_per_wave=8, segs_per_interview=12, n_panel=4, seed=2)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    path = tmp_path_factory.mktemp("track_cache") / "proj"
    with build_store(path, **SHAPE) as store:
        assert refresh(store)
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs


def _cli(capsys, *args) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_cache_is_the_computed_frame(cached):
    with Store(cached, read_only=True) as store:
        hit = cached_prevalence(store)
        assert hit is not None
        _same(hit, prevalence(store))


def test_cli_prints_the_cached_figures_unchanged(cached, tmp_path, capsys, monkeypatch):
    fresh = tmp_path / "fresh"
    build_store(fresh, **SHAPE).close()                        # the same project without the cache
    for fmt in ("table", "json", "csv"):
        want = _cli(capsys, "--project", str(fresh), "track", "--format", fmt)
        with monkeypatch.context() as m:                       # the cached project must not compute them
            m.setattr(textmine.track, "prevalence", lambda *a, **k: pytest.fail("computed despite the cache"))
            got = _cli(capsys, "--project", str(cached), "track", "--format", fmt)
        assert got == want and "precarite" in got


def test_options_other_than_the_default_are_computed(cached, capsys, monkeypatch):
    calls = []
    real = textmine.track.prevalence
    monkeypatch.setattr(textmine.track, "prevalence", lambda *a, **k: calls.append(k) or real(*a, **k))
    _cli(capsys, "--project", str(cached), "track", "--by", "wave", "--format", "json")       # the default
    assert calls == []
    _cli(capsys, "--project", str(cached), "track", "--by", "role", "--format", "json")
    _cli(capsys, "--project", str(cached), "track", "--estimator", "raw", "--format", "json")
    assert [k["by"] for k in calls] == [["role"], ["wave"]] and calls[1]["estimator"] == "raw"


def _recode(store: Store) -> None:        # the coder changes its mind on one segment
    store.con.execute("UPDATE theme_codings SET assigned = NOT assigned WHERE segment_id = "
                      "(SELECT min(segment_id) FROM theme_codings) AND theme = 'precarite'")


def _calibrate(store: Store) -> None:     # a human calibration sample is drawn and coded
    cal_sample.save(store, cal_sample.draw_sample(store, n=20, unit="segments"))
    store_codes(store, "alice")


def _fix_wave(store: Store) -> None:      # a metadata fix updates an interview in place
    store.update_interview_meta("w1-0003", {"wave": "2023"})


def _fix_territory(store: Store) -> None:
    store.update_interview_meta("w1-0003", {"territory": "Z"})


def _relabel_topic(store: Store) -> None:
    store.con.execute("UPDATE topic_info SET label = 'autre_chose' WHERE topic = 1")


def _drop_interview(store: Store) -> None:
    store.delete_interview("w2-0005")


def _new_seed(store: Store) -> None:
    cfg = yaml.safe_load((store.root / "textmine.yaml").read_text(encoding="utf-8")) or {}
    cfg["random_state"] = int(cfg.get("random_state", 42)) + 1
    (store.root / "textmine.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")


@pytest.mark.parametrize("change", [_recode, _calibrate, _fix_wave, _fix_territory, _relabel_topic, _drop_interview,
                                    _new_seed])
def test_any_change_makes_the_cache_stale(cached, tmp_path, change):
    path = shutil.copytree(cached, tmp_path / "p")
    with Store(path) as store:
        before = cached_prevalence(store)
        assert before is not None
        change(store)
    with Store(path) as store:                      # reopened: a changed textmine.yaml is read again
        assert cached_prevalence(store) is None     # never the old figures
        now = prevalence(store)
        assert refresh(store)
        _same(cached_prevalence(store), now)        # the next run's track stage stores the new ones
    if change in (_recode, _calibrate, _fix_wave, _new_seed):     # these change the figures themselves
        assert not before[["share", "ci_low", "ci_high"]].equals(now[["share", "ci_low", "ci_high"]])


def test_a_changed_codebook_file_makes_the_cache_stale(cached, tmp_path):
    from textmine.config import DEFAULT_CODEBOOK
    path = shutil.copytree(cached, tmp_path / "p")
    cb = tmp_path / "codebook.yaml"
    cb.write_bytes(DEFAULT_CODEBOOK.read_bytes())
    cfg = yaml.safe_load((path / "textmine.yaml").read_text(encoding="utf-8")) or {}
    cfg.setdefault("themes", {})["codebook"] = str(cb)
    (path / "textmine.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with Store(path) as store:
        assert refresh(store) and cached_prevalence(store) is not None
        cb.write_text(cb.read_text(encoding="utf-8").replace("label: Précarité", "label: Précarités", 1),
                      encoding="utf-8")
        assert cached_prevalence(store) is None


def test_a_text_change_counts_once_human_codes_exist(cached, tmp_path):
    path = shutil.copytree(cached, tmp_path / "p")
    with Store(path) as store:
        _calibrate(store)
        assert refresh(store)
        sid = store.query("SELECT min(segment_id) AS s FROM calibration_codes")["s"].iloc[0]
        store.con.execute("UPDATE segments SET text = text || ' encore' WHERE segment_id = ?", [sid])
        assert cached_prevalence(store) is None     # the human code no longer matches the text it coded


def test_no_codings_no_cache(tmp_path):
    with build_store(tmp_path / "p", codings=False, topics=False, n_per_wave=4, segs_per_interview=5) as store:
        assert not refresh(store)
        assert cached_prevalence(store) is None


@pytest.mark.slow
def test_a_run_leaves_the_default_figures_cached(baseline_project):
    with Store(baseline_project, read_only=True) as store:
        hit = cached_prevalence(store)
        assert hit is not None
        _same(hit, prevalence(store))


def test_a_store_whose_last_blocks_were_freed_opens(tmp_path):
    """Deleting rows (as the cache's refresh does) can free the store's last blocks, which DuckDB's
    checkpoint cuts off the file while its header still counts them: not a damaged store (E009)."""
    path = tmp_path / "p"
    build_store(path, **SHAPE).close()
    with Store(path) as store:
        store.con.execute("DELETE FROM topic_info")
    with Store(path, read_only=True) as store:      # E009 before
        block, total, free = store.con.execute(
            "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size()").fetchall()[0]
        assert (path / "textmine.duckdb").stat().st_size < 3 * 4096 + block * total    # the case at hand
        assert free > 0 and store.query("SELECT count(*) AS n FROM segments")["n"].iloc[0] > 0


def test_refresh_computes_nothing_when_the_cache_is_fresh(cached, tmp_path, monkeypatch):
    import textmine.track.cache as cache_mod
    path = shutil.copytree(cached, tmp_path / "p")
    with Store(path) as store:
        with monkeypatch.context() as m:
            m.setattr(cache_mod, "prevalence", lambda *a, **k: pytest.fail("computed although fresh"))
            assert refresh(store)
        _recode(store)
        assert refresh(store)                       # stale: computed again
        _same(cached_prevalence(store), prevalence(store))


def test_a_runs_changes_are_cached_and_go_stale(cached, tmp_path, monkeypatch):
    """The changes a run's summary shows (`run_changes`): computed once, read back the same, and
    computed again after any change to what they come from."""
    import textmine.track.cache as cache_mod
    from textmine.track import changes
    path = shutil.copytree(cached, tmp_path / "p")
    with Store(path) as store:
        first = cache_mod.run_changes(store, "2022", "2023")
        _same(first, changes(store, "2022", "2023"))
        assert "precarite" in set(first["theme"])
        with monkeypatch.context() as m:
            m.setattr(cache_mod, "changes", lambda *a, **k: pytest.fail("computed although cached"))
            _same(cache_mod.run_changes(store, "2022", "2023"), first)
        _recode(store)
        again = cache_mod.run_changes(store, "2022", "2023")
        _same(again, changes(store, "2022", "2023"))
        assert not again[["delta"]].equals(first[["delta"]])
