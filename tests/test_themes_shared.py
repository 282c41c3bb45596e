"""Grouped cross-validation on the shared coded report quotes (read from ../shared at run
time, never copied). Skipped when ../shared is absent."""
from __future__ import annotations

import pytest

from textmine.themes.codebook import load_codebook
from textmine.export.coded import read_coded
from textmine.themes.evaluate import cross_validate, evaluation_report
from textmine.themes.supervised import SupervisedThemeClassifier

from helpers_themes import SHARED_CODED

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not SHARED_CODED.exists(), reason="../shared/eval/seed_dev_coded.csv not available")
def test_grouped_cv_on_shared_quotes_has_a_sane_floor():
    cb = load_codebook()
    df = read_coded(SHARED_CODED, cb)                 # accepted as it is (extra columns kept)
    assert len(df) >= 100 and {"section", "role"} <= set(df.columns)
    P, Yp, post, gcol = cross_validate(df, SupervisedThemeClassifier(cb, random_state=42), cb, 5)
    assert gcol == "section"
    table, _ = evaluation_report(df, Yp, post, cb)
    k = table.set_index("theme")["kappa"]
    assert k["posture_faire_avec_vs_a_la_place"] > 0.3
    assert k["france_services"] > 0.3
    assert k["macro"] > 0.2
