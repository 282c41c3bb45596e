"""Shape of the demo corpus (corpus/demo): counts, formats, metadata, answer key, planted changes.

The transcripts are read here with small format readers of their own (independent of
textmine's ingestion) so that a broken demo file is reported against the corpus itself.
"""
from __future__ import annotations

import csv
import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from textmine.records import KNOWN_ROLES

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpus" / "demo"
SHARED = Path(__file__).resolve().parents[2] / "shared"
THEMES = {
    "posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale",
    "financement_renouvellement", "demarches_administratives", "france_services",
    "publics_usagers", "modalites_intervention", "pilotage_politique_elus",
    "formation_recrutement_professionnalisation", "reconnaissance_isolement",
}
INTERVIEWER_LABELS = {"Enquêtrice", "Enquêteur", "E", "Q", "CM"}
OTHER_LABELS = {"Collègue"}
META_COLS = ["file", "interview_id", "wave", "date", "territory", "structure_type", "respondent_id", "role"]
LABEL_RE = re.compile(r"^(?:\[\d\d:\d\d:\d\d\]\s*)?(?:\*\*(?P<b>[^*]{1,30})\*\*|(?P<p>[^:\n]{1,30}?))\s:\s(?P<t>.*)$", re.S)


# --------------------------------------------------------------------------- readers
def _split_label(s: str):
    m = LABEL_RE.match(s.strip())
    assert m, f"no 'Label : ' at {s[:60]!r}"
    return (m.group("b") or m.group("p")).strip(), " ".join(m.group("t").split())


def read_turns(path: Path) -> list[tuple[str, str]]:
    """(label, text) per speaker turn, for every format of the demo corpus."""
    ext = path.suffix.lower()
    if ext in (".txt", ".md"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        paras = [p for p in re.split(r"\r?\n\s*\r?\n", text.strip()) if p.strip()]
        paras = [p for p in paras if not p.startswith("#") and not (p.startswith("*") and not p.startswith("**"))]
        return [_split_label(p) for p in paras]
    if ext in (".srt", ".vtt"):
        text = path.read_text(encoding="utf-8")
        out = []
        for block in re.split(r"\n\s*\n", text.strip()):
            lines = block.strip().splitlines()
            if lines[0].startswith("WEBVTT"):
                continue
            i = next(i for i, ln in enumerate(lines) if "-->" in ln)
            out.append(_split_label(" ".join(lines[i + 1:])))
        return out
    if ext == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == ["speaker", "text", "start", "end"]
        return [(r["speaker"], " ".join(r["text"].split())) for r in rows]
    if ext == ".docx":
        from docx import Document

        out = []
        for p in Document(str(path)).paragraphs[1:]:  # first paragraph: header
            assert p.runs[0].bold, f"{path.name}: speaker label not bold"
            out.append(_split_label(p.text))
        return out
    if ext == ".odt":
        from odf import teletype
        from odf.opendocument import load
        from odf.text import P

        paras = [teletype.extractText(p) for p in load(str(path)).getElementsByType(P)]
        return [_split_label(p) for p in paras[1:]]
    if ext == ".trs":
        from lxml import etree

        tree = etree.parse(str(path))
        root = tree.getroot()
        assert root.tag == "Trans" and tree.docinfo.system_url == "trans-14.dtd"
        names = {s.get("id"): s.get("name") for s in root.iter("Speaker")}
        out = []
        for turn in root.iter("Turn"):
            assert turn.find("Sync") is not None and turn.get("startTime") and turn.get("endTime")
            out.append((names[turn.get("speaker")], " ".join("".join(turn.itertext()).split())))
        return out
    raise AssertionError(f"unexpected file {path}")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def meta() -> pd.DataFrame:
    m1 = pd.read_csv(DEMO / "vague1" / "metadata.csv", dtype=str)
    m2 = pd.read_excel(DEMO / "vague2" / "metadata.xlsx", dtype=str)
    m1["folder"], m2["folder"] = "vague1", "vague2"
    return pd.concat([m1, m2], ignore_index=True)


@pytest.fixture(scope="module")
def turns(meta) -> dict[str, list[tuple[str, str]]]:
    return {r.interview_id: read_turns(DEMO / r.folder / r.file) for r in meta.itertuples()}


@pytest.fixture(scope="module")
def key() -> pd.DataFrame:
    return pd.read_csv(DEMO / "answer_key.csv", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- metadata & files
def test_metadata_columns_and_values(meta):
    for sheet in (pd.read_csv(DEMO / "vague1" / "metadata.csv"), pd.read_excel(DEMO / "vague2" / "metadata.xlsx")):
        assert list(sheet.columns[:8]) == META_COLS and len(sheet.columns) >= 9
    assert set(meta.loc[meta.folder == "vague1", "wave"]) == {"2022"}
    assert set(meta.loc[meta.folder == "vague2", "wave"]) == {"2023"}
    assert meta.interview_id.is_unique
    assert meta.interview_id.str.fullmatch(r"V[12]-[A-E]-[A-Z]+-\d\d").all()
    assert (meta.interview_id.str[1] == meta.folder.str[-1]).all()
    assert (meta.interview_id.str[3] == meta.territory).all()
    assert meta.respondent_id.str.fullmatch(r"R\d\d").all()
    assert set(meta.role) <= set(KNOWN_ROLES)
    assert meta.date.str[:4].eq(meta.wave).all()
    # a respondent keeps role, territory and structure across waves
    assert (meta.groupby("respondent_id")[["role", "territory", "structure_type"]].nunique() == 1).all().all()


def test_counts_roles_territories_panel(meta):
    assert (meta.folder == "vague1").sum() >= 10 and (meta.folder == "vague2").sum() >= 10
    assert (meta.role == "conum").sum() >= 10
    assert len(set(meta.role) - {"conum"}) >= 4
    assert meta.territory.nunique() >= 3 and meta.structure_type.nunique() >= 5
    waves = meta.groupby("respondent_id").wave.nunique()
    assert (waves == 2).sum() >= 6


def test_files_match_metadata_and_formats(meta):
    for folder in ("vague1", "vague2"):
        on_disk = {p.name for p in (DEMO / folder).iterdir() if not p.name.startswith("metadata")}
        assert on_disk == set(meta.loc[meta.folder == folder, "file"])
    exts = {Path(f).suffix for f in meta.file}
    assert {".txt", ".md", ".docx", ".odt", ".csv", ".srt", ".vtt", ".trs"} <= exts
    # the Windows-1252 transcript really is not UTF-8 (tests encoding detection downstream)
    with pytest.raises(UnicodeDecodeError):
        (DEMO / "vague1" / "entretien_07_coordinateur_B.txt").read_bytes().decode("utf-8")


def test_transcripts_shape(meta, turns):
    for iid, tt in turns.items():
        labels = Counter(lab for lab, _ in tt)
        interviewers = [lab for lab in labels if lab in INTERVIEWER_LABELS]
        respondents = [lab for lab in labels if lab not in INTERVIEWER_LABELS and lab not in OTHER_LABELS]
        assert len(interviewers) == 1 and len(respondents) == 1, (iid, labels)
        words = sum(len(t.split()) for _, t in tt)
        assert 850 <= words <= 1500, (iid, words)
        resp_turns = [len(t.split()) for lab, t in tt if lab == respondents[0]]
        assert sum(n >= 60 for n in resp_turns) >= 6, iid
        assert max(resp_turns) <= 250, iid
    all_text = " ".join(t for tt in turns.values() for _, t in tt)
    for mark in ("euh", "du coup", "[rires]", "(inaudible)", "[oui]", "[d'accord]", "voilà", "///"):
        assert mark in all_text, mark


# --------------------------------------------------------------------------- answer key
def test_answer_key_format(key, meta):
    assert list(key.columns) == ["id", "text", "themes", "posture", "interview_id", "wave", "role"]
    assert len(key) >= 120 and key.id.is_unique and key.id.str.fullmatch(r"K\d{3}").all()
    assert set(key.posture) <= {"", "faire_avec", "faire_a_la_place", "mixte"}
    themes = key.themes.str.split(";").explode()
    assert set(themes) <= THEMES
    counts = themes.value_counts()
    assert set(counts.index) == THEMES and counts.min() >= 8
    for t in ("posture_faire_avec_vs_a_la_place", "precarite", "coordination_territoriale"):
        assert counts[t] >= 20, t
    # a posture sub-label only on posture passages
    has_post = key.themes.str.contains("posture_faire_avec_vs_a_la_place")
    assert (key.posture[~has_post] == "").all()
    by_id = meta.set_index("interview_id")
    assert (key.wave == by_id.loc[key.interview_id, "wave"].values).all()
    assert (key.role == by_id.loc[key.interview_id, "role"].values).all()
    n = key.text.str.split().str.len()
    assert n.between(30, 150).all()


def test_answer_key_passages_are_exact_respondent_excerpts(key, turns):
    for row in key.itertuples():
        resp = [t for lab, t in turns[row.interview_id]
                if lab not in INTERVIEWER_LABELS and lab not in OTHER_LABELS]
        assert any(row.text in t for t in resp), (row.id, row.text[:60])


def test_planted_changes(key, turns, meta):
    themes = key.assign(theme=key.themes.str.split(";")).explode("theme")
    per_wave = pd.crosstab(themes.theme, themes.wave)
    post = pd.crosstab(key.posture, key.wave)
    # (1) posture: faire_avec up, faire_a_la_place down
    assert post.loc["faire_avec", "2023"] >= 4 * post.loc["faire_avec", "2022"] + 10
    assert post.loc["faire_a_la_place", "2022"] >= 4 * post.loc["faire_a_la_place", "2023"] + 10
    panel_conum = ["01", "02", "03", "04", "05"]
    for r in panel_conum:
        k = key[key.interview_id.str.endswith(f"CONUM-{r}")]
        assert (k[k.wave == "2022"].posture == "faire_a_la_place").any() and \
               (k[k.wave == "2023"].posture == "faire_avec").any() and \
               not (k[k.wave == "2023"].posture == "faire_a_la_place").any(), r
    # (2)(3) precarite and financement rise, in most 2023 interviews
    for t in ("precarite", "financement_renouvellement"):
        assert per_wave.loc[t, "2023"] >= 4 * per_wave.loc[t, "2022"], t
        assert themes[(themes.theme == t) & (themes.wave == "2023")].interview_id.nunique() >= 8
    # (4)(5) coordination and demarches stable, coordination in every interview
    for t in ("coordination_territoriale", "demarches_administratives"):
        a, b = per_wave.loc[t, "2022"], per_wave.loc[t, "2023"]
        assert 0.8 <= a / b <= 1.25, t
    coord = themes[themes.theme == "coordination_territoriale"].groupby("interview_id").size()
    assert set(coord.index) == set(meta.interview_id) and coord.between(2, 4).all()
    # the transcripts themselves carry the precarity shift, not only the key
    vocab = re.compile(r"\b(contrat|cdd|cdi|renouvel\w*|smic|chômage|précari\w*)\b", re.I)
    rate = {}
    for wave in ("2022", "2023"):
        ids = meta.loc[meta.wave == wave, "interview_id"]
        text = " ".join(t for i in ids for lab, t in turns[i] if lab not in INTERVIEWER_LABELS)
        rate[wave] = len(vocab.findall(text)) / len(text.split())
    assert rate["2023"] >= 2.5 * rate["2022"], rate


# --------------------------------------------------------------------------- build & held-out quotes
def test_text_formats_are_rebuilt_identically(meta):
    spec = importlib.util.spec_from_file_location("demo_build", DEMO / "_build" / "build_corpus.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    checked = 0
    for iid, fname, fmt, *_ in build.INTERVIEWS:
        if fmt in ("docx", "odt"):
            continue
        expected = build.render_text(build.parse_source(iid), fmt, iid)
        raw = (build.wave_dir(iid) / fname).read_bytes()
        if fmt == "txt_cp1252":
            expected_bytes = expected.replace("\n", "\r\n").encode("cp1252")
        elif fmt == "trs":
            expected_bytes = expected.encode("iso-8859-1", errors="xmlcharrefreplace")
        else:
            expected_bytes = expected.encode("utf-8")
        assert raw == expected_bytes, fname
        checked += 1
    assert checked >= 14


def _tokens(s: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", s.lower()))


@pytest.fixture(scope="module")
def report_runs() -> set[str]:
    """Every 12-word run of the report's verbatim quotes (held out for evaluation)."""
    seeds = sorted((SHARED / "seeds").glob("*.txt")) if SHARED.is_dir() else []
    if not seeds:
        pytest.skip("../shared/seeds absent")
    runs = set()
    for q in re.findall(r"«(.*?)»", seeds[0].read_text(encoding="utf-8"), flags=re.S):
        t = _tokens(q)
        runs.update(" ".join(t[i:i + 12]) for i in range(len(t) - 11))
    return runs


def test_no_12_word_run_of_the_report_quotes(report_runs):
    runs = report_runs
    assert runs
    hits = []
    for f in sorted(p for p in DEMO.rglob("*") if p.is_file()):
        if f.suffix in (".docx", ".odt", ".xlsx"):
            continue  # zipped: their text is checked through the readers and the sources
        t = _tokens(f.read_bytes().decode("utf-8", errors="ignore"))
        if any(" ".join(t[i:i + 12]) in runs for i in range(len(t) - 11)):
            hits.append(f.name)
    assert not hits, hits


def test_no_12_word_run_in_binary_transcripts(meta, turns, report_runs):
    runs = report_runs
    for r in meta[meta.file.str.endswith((".docx", ".odt"))].itertuples():
        t = _tokens(" ".join(x for _, x in turns[r.interview_id]))
        assert not any(" ".join(t[i:i + 12]) in runs for i in range(len(t) - 11)), r.file


def test_textmine_ingestion_reads_every_demo_file(meta, key):
    """The package's own parsers and role assignment agree with the corpus design."""
    ingest = pytest.importorskip("textmine.ingest")
    roles_mod = pytest.importorskip("textmine.roles")
    from textmine.config import load_config

    cfg = load_config()
    for folder, sheet in (("vague1", "metadata.csv"), ("vague2", "metadata.xlsx")):
        d = DEMO / folder
        files = sorted(p for p in d.iterdir() if not p.name.startswith("metadata"))
        rows = ingest.read_metadata(d / sheet, known_roles=cfg.roles.known)
        metas = {Path(k).resolve(): v for k, v in ingest.match_metadata(files, rows).items()}
        assert len(metas) == len(files)
        for f in files:
            m = metas[f.resolve()]
            t = ingest.parse_file(f)
            roles = {k: v.role for k, v in roles_mod.assign_roles(t, m, cfg.roles).items()}
            assert sorted(set(roles.values()) - {"other"}) == sorted({"interviewer", m.role}), (f.name, roles)
            resp = [" ".join(tu.text.split()) for tu in t.turns if roles[tu.speaker] not in ("interviewer", "other")]
            for r in key[key.interview_id == m.interview_id].itertuples():
                assert any(r.text in x for x in resp), (f.name, r.id)


def test_name_list_covers_invented_names_in_the_speech(turns):
    """corpus/demo/_noms.txt (a pseudonymise.user_list) only lists names that occur in the speech."""
    lines = [ln.split("\t") for ln in (DEMO / "_noms.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) >= 40
    assert {ln[1] for ln in lines if len(ln) > 1} <= {"PERSONNE", "LIEU", "COMMUNE", "ORGANISATION"}
    speech = " ".join(t for tt in turns.values() for _, t in tt)
    missing = [ln[0] for ln in lines if ln[0] not in speech]
    assert not missing, missing


def test_answer_key_themes_match_the_packaged_codebook():
    path = ROOT / "configs" / "codebook.yaml"
    if not path.exists():
        pytest.skip("configs/codebook.yaml absent")
    import yaml

    ids = {t["id"] for t in yaml.safe_load(path.read_text(encoding="utf-8"))["themes"]}
    assert ids == THEMES
