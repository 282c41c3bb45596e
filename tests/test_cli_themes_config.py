"""`themes train/classify/evaluate/disagreements` take their encoder and seed from the project's
config (``--project``), else ``--config``, else the packaged defaults. With the test encoder
(``test-char-ngrams``) in the config, no real model is loaded: these tests run in seconds."""
from __future__ import annotations

import json

import pytest

from textmine.cli.main import main
from textmine.embed import TEST_ENCODER
from textmine.store import init_project

from helpers_themes import write_coded


def _run(args, capsys):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def project(tmp_path):
    cfg = tmp_path / "test.yaml"
    cfg.write_text(f"random_state: 7\nembed:\n  encoder: {TEST_ENCODER}\n", encoding="utf-8")
    init_project(tmp_path / "p", config_path=cfg)
    return tmp_path / "p", cfg


def test_train_classify_evaluate_take_the_project_encoder_and_seed(project, tmp_path, capsys, monkeypatch):
    import textmine.embed.registry as R
    root, _ = project
    real = R.get_encoder

    def only_the_test_encoder(name, **kw):
        assert name == TEST_ENCODER, f"{name} built although the project's config names {TEST_ENCODER}"
        return real(name, **kw)
    monkeypatch.setattr(R, "get_encoder", only_the_test_encoder)
    coded = write_coded(tmp_path / "coded.csv")
    rc, _, err = _run(["--project", root, "themes", "train", "--coded", coded, "--output", tmp_path / "m",
                       "--format", "json"], capsys)
    assert rc == 0, err
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert meta["encoder_name"] == TEST_ENCODER and meta["encoder_key"].startswith(f"{TEST_ENCODER}@")
    assert meta["params"]["random_state"] == 7
    inp = tmp_path / "in.csv"
    inp.write_text("id,text\nx1,Je leur montre et ce sont eux qui font les démarches.\n", encoding="utf-8")
    for extra in ([], ["--model", tmp_path / "m"]):
        rc, _, err = _run(["--project", root, "themes", "classify", "--input", inp, "--output", tmp_path / "o.jsonl",
                           *extra], capsys)
        assert rc == 0, err
    rc, out, err = _run(["--project", root, "themes", "evaluate", "--coded", coded, "--cv", "3", "--bootstrap", "50",
                         "--format", "json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["mode"] == "cv"
    rc, _, err = _run(["--project", root, "themes", "disagreements", "--coded", coded, "--model", tmp_path / "m",
                       "--format", "json"], capsys)
    assert rc == 0, err


def test_config_without_a_project_and_the_seed_reaches_the_coder(project, tmp_path, capsys):
    _, cfg = project
    coded = write_coded(tmp_path / "coded.csv")
    rc, _, err = _run(["--config", cfg, "themes", "train", "--coded", coded, "--output", tmp_path / "m",
                       "--random-state", "3"], capsys)
    assert rc == 0, err
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert meta["encoder_name"] == TEST_ENCODER and meta["params"]["random_state"] == 3

