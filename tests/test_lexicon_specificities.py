"""Lafon's specificities as TXM computes them: the published worked example, a hand-made
table recomputed with scipy, signs and banality, partitions of a project, the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from helpers_lexicon import build_lexicon_store
from textmine.errors import TextmineError
from textmine.lexicon import COLUMNS, specificities, specificity_scores

# Lafon (1980), "Sur la variabilité de la fréquence des formes dans un corpus", Mots 1: five
# words of ten Robespierre speeches (D1..D10) plus the rest of each speech, as TXM's R
# package textometry ships it (data "robespierre"); rows de, peuple, republique, ennemi,
# patrie, others.
ROBESPIERRE = np.array([
    [464, 165, 194, 392, 398, 235, 509, 96, 58, 662],
    [45, 18, 15, 14, 53, 30, 42, 16, 4, 59],
    [35, 10, 16, 29, 29, 9, 21, 14, 2, 42],
    [30, 13, 11, 19, 22, 10, 16, 7, 2, 35],
    [6, 5, 16, 8, 23, 10, 35, 8, 3, 39],
    [7815, 2347, 3668, 6441, 7371, 4261, 9519, 1922, 1015, 13096]])
# textometry's test output for specificities(robespierre) (tests/specificities.Rout), the
# scores TXM displays
TXM_SCORES = np.array([
    [1.2477, 2.6891, -0.5534, 1.6471, -0.5096, -0.2909, -0.6132, -0.8098, 0.3884, -2.2050],
    [0.6161, 1.1466, -0.6709, -4.1743, 2.1122, 1.2906, -0.7980, 1.3632, -0.3977, -0.8410],
    [0.9753, 0.4424, 0.6038, 0.9023, 0.4706, -1.2797, -2.2003, 1.9736, -0.5366, -0.6335],
    [1.2133, 1.6778, 0.3146, 0.3091, 0.3364, -0.5024, -2.0550, 0.4965, -0.3552, -0.4359],
    [-4.2432, -0.4160, 1.4491, -2.0903, 0.6178, -0.3834, 1.5961, 0.8409, 0.2942, 0.6414],
    [-1.2657, -3.6429, 0.3542, -0.5984, -0.5387, 0.3333, 1.2439, -0.5569, 0.3377, 2.4355]])


def test_robespierre_matches_txm_published_scores():
    got = specificity_scores(ROBESPIERRE, ROBESPIERRE.sum(axis=0))
    np.testing.assert_allclose(np.round(got, 4), TXM_SCORES, atol=1e-4)
    # "peuple" in D4: 14 occurrences where 33 are expected, TXM's example of under-use
    assert got[1, 3] < -4


def test_hand_made_table_recomputed_with_scipy():
    # 3 words x 2 parts; sizes larger than the column sums (other words exist)
    freq = np.array([[10, 0], [3, 3], [0, 7]])
    sizes = np.array([40, 60])
    T = 100
    got = specificity_scores(freq, sizes)
    for i in range(3):
        F = int(freq[i].sum())
        for j in range(2):
            f, t = int(freq[i, j]), int(sizes[j])
            if f >= F * t / T:   # over-use: P(X >= f)
                want = -math.log10(sum(hypergeom.pmf(x, T, F, t) for x in range(f, min(F, t) + 1)))
            else:                # under-use: P(X <= f)
                want = math.log10(sum(hypergeom.pmf(x, T, F, t) for x in range(0, f + 1)))
            assert got[i, j] == pytest.approx(want, abs=1e-9), (i, j)
    assert got[0, 0] > 0 > got[0, 1]            # all 10 occurrences in the 40-word part: over-used there
    assert got[2, 1] > 0 > got[2, 0]
    assert got[1, 0] > 0 and got[1, 1] < 0      # 3 of 6 in 40 %: above expectation (2.4) in part 1


def test_extreme_tails_stay_finite():
    freq = np.array([[2000, 0], [0, 2000], [48000, 48000]])
    s = specificity_scores(freq, freq.sum(axis=0))
    assert np.isfinite(s).all() and s[0, 0] > 300 and s[0, 1] < -300


def test_project_specificities_by_wave(tmp_path):
    store, _ = build_lexicon_store(tmp_path / "p")
    df = specificities(store, by="wave")
    assert list(df.columns) == COLUMNS
    w23 = df[df["group"] == "2023"].set_index("word")
    assert w23.loc["précarité", "score"] > 10            # planted in wave 2023 only
    assert w23.loc["précarité", "freq_part"] == w23.loc["précarité", "freq_total"]
    w22 = df[df["group"] == "2022"].set_index("word")
    assert w22.loc["précarité", "score"] < -10 and w22.loc["précarité", "freq_part"] == 0
    # banality: nothing listed below |2.0|, sizes are word occurrences of the parts
    assert (df["score"].abs() >= 2.0).all()
    sizes = df.groupby("group")["part_size"].first()
    assert sizes.sum() == df["corpus_size"].iloc[0]
    assert not df["word"].isin(["le", "de", "euh", "avoir"]).any()           # stop words out by default
    # a score recomputed from the row's own figures
    r = w23.loc["précarité"]
    want = -hypergeom.logsf(r.freq_part - 1, r.corpus_size, r.freq_total, r.part_size) / math.log(10)
    assert r.score == pytest.approx(want, abs=1e-4)
    # over-used words first, by decreasing score, then under-used by increasing score
    s = w23["score"].to_numpy()
    pos, neg = s[s > 0], s[s < 0]
    assert (np.diff(pos) <= 0).all() and (np.diff(neg) >= 0).all() and len(s) == len(pos) + len(neg)
    # the token cache is reused: a second call analyses nothing
    from textmine.lexicon import update_tokens
    assert update_tokens(store)["analysed"] == 0
    store.close()


def test_tokens_read_the_text_the_search_index_reads_and_no_placeholder(tmp_path, monkeypatch):
    """The lexicon reads the pseudonymised text as it is (as the topic words and the search index
    do), so a run lemmatises each text once; the pieces spaCy cuts a placeholder into are no words."""
    from textmine import french
    from textmine.lexicon import update_tokens
    from textmine.lexicon.tokens import TABLE, analyse_text
    from textmine.search import update_index
    store, _ = build_lexicon_store(tmp_path / "p")
    french.forget_lemma_tokens()
    try:
        update_index(store)
        monkeypatch.setattr(french, "load_lemmatizer", lambda *a, **k: pytest.fail("a text lemmatised twice"))
        assert update_tokens(store)["analysed"] > 0
    finally:
        french.forget_lemma_tokens()
    rows = store.query(f"SELECT t.forms, t.lemmas, s.text_pseudo FROM {TABLE} t JOIN segments s USING (segment_id)")
    with_name = rows[rows["text_pseudo"].str.contains("[PERSONNE_1]", regex=False)]
    assert len(with_name) and not rows["forms"].str.contains("personne|\\[|_1", regex=True).any()
    assert with_name["forms"].str.contains("aidée").all()
    text = "J'ai vu [PERSONNE_12] avec [ORGANISATION_3]. Merci"
    monkeypatch.undo()
    (forms, _, _), = analyse_text(french.lemma_tokens([text]), [text])
    assert forms.split() == ["j'", "ai", "vu", "avec", "merci"]
    store.close()


def test_partitions_theme_topic_class_and_errors(tmp_path):
    store, truth = build_lexicon_store(tmp_path / "p")
    with pytest.raises(TextmineError) as e:
        specificities(store, by="territory_typo")
    assert e.value.code == "E501"
    store.con.execute("UPDATE interviews SET wave = '2022'")
    with pytest.raises(TextmineError) as e:
        specificities(store, by="wave")
    assert e.value.code == "E801" and "1 group" in str(e.value)
    with pytest.raises(TextmineError) as e:
        specificities(store, by="class")
    assert e.value.code == "E804"
    # a theme partition: coded vs not coded segments
    seg_ids = truth["segment_id"]
    coded = truth["truth"] == 0
    store.write_frame("theme_codings", pd.DataFrame({
        "run_id": "r", "model_id": "m", "segment_id": seg_ids, "theme": "precarite", "score": coded * 1.0,
        "assigned": coded, "posture": None}))
    store.set_kv("themes.current_run", {"run_id": "r"})
    df = specificities(store, by="theme:precarite")
    assert set(df["group"]) == {"coded", "not_coded"}
    over = df[(df["group"] == "coded") & (df["score"] > 0)]["word"]
    assert set(over.head(6)) <= {"tablette", "ordinateur", "messagerie", "application", "smartphone", "logiciel",
                                 "clavier", "écran", "imprimante", "souris", "navigateur", "téléphone"}
    from textmine.lexicon import fit_classes
    fit_classes(store, k=3, min_segment_size=0)
    by_class = specificities(store, by="class")
    assert set(by_class["group"]) == {"class_1", "class_2", "class_3"}
    store.close()


@pytest.mark.slow
def test_cli_specificities(tmp_path, cli):
    store, _ = build_lexicon_store(tmp_path / "p")
    store.close()
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--by", "wave", "--format", "json",
              "--top", "5")
    assert res.exit_code == 0, res
    rows = json.loads(res.stdout)
    assert rows and set(rows[0]) == {"group", "word", "freq_part", "freq_total", "part_size", "corpus_size", "score"}
    assert any(r["word"] == "précarité" and r["group"] == "2023" and r["score"] > 0 for r in rows)
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--by", "role", "--format", "csv",
              "--over-only", "--unit", "form")
    assert res.exit_code == 0 and res.stdout.startswith("group,word,freq_part"), res
    assert "-" not in "".join(line.rsplit(",", 1)[1] for line in res.stdout.splitlines()[1:])   # over-use only
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--by", "interview_id", "--top", "2")
    assert res.exit_code == 0 and "Specificities by interview_id" in res.stdout, res
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--by", "nope")
    assert res.exit_code == 1 and "E501" in res.stderr and "Traceback" not in res.stderr
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--unit", "stem")
    assert res.exit_code == 1 and "E005" in res.stderr
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--help")
    assert res.exit_code == 0 and "--banality" in res.stdout
    from textmine.store import Store
    with Store(tmp_path / "p") as s:
        s.con.execute("UPDATE interviews SET wave = '2023'")
    res = cli("--project", tmp_path / "p", "lexicon", "specificities", "--by", "wave")
    assert res.exit_code == 1 and "E801" in res.stderr and "1 group(s) (2023)" in res.stderr, res


def test_sql_split_is_pythons():
    """DuckDB splits the stored space-separated lists as str.split() does: on every character
    Python calls whitespace, and on no other (zero-width space, word joiner: not whitespace)."""
    import duckdb
    from textmine.lexicon.tokens import split_sql
    chars = [chr(c) for c in range(0x3100)] + ["\u200b", "\u2060", "\ufeff"]
    con = duckdb.connect()
    for text in ("".join(f"a{c}b{c}{c}" for c in chars), "  de la  précarité ", "", "mot", "a\u00a0b c"):
        got = con.execute(f"SELECT list_filter({split_sql('x')}, lambda w: w <> '') FROM (SELECT ? AS x)",
                          [text]).fetchall()[0][0]
        assert got == text.split()
    assert sum(c.isspace() for c in chars) == 29          # every whitespace character is in the first text


def test_part_counts_equal_the_segment_matrix(tmp_path):
    """The lexical table counted in DuckDB equals the per-segment matrix summed by part, with
    segments the cache lacks or holds for another text analysed in memory (read-only store)."""
    import scipy.sparse as sp
    from textmine.lexicon.tokens import count_matrix, load_tokens, part_counts
    from textmine.store import Store
    store, _ = build_lexicon_store(tmp_path / "p")
    specificities(store, by="wave")                 # fills the token cache
    ids = store.query("SELECT segment_id FROM lexicon_tokens ORDER BY 1")["segment_id"].tolist()
    store.con.execute("DELETE FROM lexicon_tokens WHERE segment_id = ?", [ids[0]])       # lacking
    store.con.execute("UPDATE lexicon_tokens SET text_hash = 'x' WHERE segment_id = ?", [ids[1]])   # other text
    store.con.execute("UPDATE lexicon_tokens SET lemmas = replace(lemmas, ' ', ' \u00a0\t') WHERE segment_id = ?",
                      [ids[2]])                      # any Python whitespace separates words
    store.close()
    with Store(tmp_path / "p", read_only=True) as ro:
        seg = ro.segments_frame(roles="respondents", with_text=False)
        parts = (seg["wave"].astype(str) == "2023").to_numpy().astype(int)
        for unit in ("lemma", "form"):
            docs = load_tokens(ro, seg).units(unit)
            X, vocab = count_matrix(docs)
            P = sp.csr_matrix((np.ones(len(parts)), (np.arange(len(parts)), parts)), shape=(len(parts), 2))
            want = np.asarray((X.T @ P).todense(), dtype=np.int64)
            got_vocab, got, sizes = part_counts(ro, seg["segment_id"].tolist(), parts, 2, unit)
            assert got_vocab == vocab and np.array_equal(got, want)
            assert sizes.tolist() == [sum(len(d) for d, p in zip(docs, parts) if p == k) for k in (0, 1)]
