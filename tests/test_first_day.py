"""Issue 19, tried as a new user would, on real corpora nobody on the project wrote and on the
demo project: config changes reaching an ingested project (item 2), data without an
interviewer (3), several interviewees per file (4), the codebook that does not fit (7), a
codebook drafted from topics (8), topics a researcher can read (9), points (10), the run's
summary and output (12). The real corpora are read from ../shared at run time, never copied.
"""
from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import DEMO, ROOT, shared_path

pytestmark = pytest.mark.slow


def _strip(body: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body or ""))).strip()


def consultation_csvs(folder: Path, n: int = 24) -> Path:
    """République numérique proposals converted to CSV transcripts the way a researcher would:
    the author's proposal, then each argument under "Pour" or "Contre" (no interviewer)."""
    src = shared_path("corpora", "republique_numerique_2015", "opinions")
    folder.mkdir(parents=True)
    k = 0
    for f in sorted(src.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
        if f.stat().st_size == 0:
            continue
        op = json.loads(f.read_text(encoding="utf-8")).get("opinion") or {}
        args = [a for a in op.get("arguments") or [] if _strip(a.get("body", ""))]
        if not _strip(op.get("body", "")) or len(args) < 3:
            continue
        rows = [{"speaker": "Auteur", "text": _strip(op["body"])}]
        rows += [{"speaker": "Pour" if str(a.get("type")) == "1" else "Contre", "text": _strip(a["body"])} for a in args]
        with open(folder / f"proposition_{f.stem}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["speaker", "text"])
            w.writeheader()
            w.writerows(rows)
        k += 1
        if k >= n:
            break
    return folder


# ------------------------------------------------------------------ item 3: data without an interviewer
def test_consultation_keeps_every_contributor(tmp_path, cli):
    from textmine.corpus import ingest_paths
    from textmine.ingest import count_words, parse_file
    from textmine.store import Store
    folder = consultation_csvs(tmp_path / "rn")
    with Store(tmp_path / "p", create=True) as store:
        rep = ingest_paths(store, [folder], wave="2015")
        assert len(rep.added) == 24
        assert len(rep.no_interviewer) >= 22, rep.no_interviewer          # 5 of 717 keep one (README)
        sp = store.query("SELECT role, role_method, sum(words) AS w FROM speakers GROUP BY 1, 2")
        itv_words = sp.loc[sp["role"] == "interviewer", "w"].sum()
        total = sum(count_words(t.text) for f in folder.iterdir() for t in parse_file(f).turns)
        assert itv_words / total < 0.03, sp                  # was 27 % of the citizens' text
        assert (sp.loc[sp["role"] == "respondent", "w"].sum() + itv_words) == total    # nobody dropped as `other`
    res = cli("--project", tmp_path / "p", "speakers", "--format", "json")
    rows = json.loads(res.stdout)
    none = [r for r in rows if r["role_method"] == "no-interviewer"]
    assert none and all(r["role_evidence"].startswith("no speaker looks like an interviewer") for r in none)
    assert all("Auteur" not in r["role_evidence"] and "Pour" not in r["role_evidence"] for r in none)   # pseudonymous
    revealed = json.loads(cli("--project", tmp_path / "p", "speakers", "--format", "json", "--reveal").stdout)
    assert any("«" not in r["role_evidence"] and re.search(r"\b(Auteur|Pour|Contre)\b", r["role_evidence"])
               for r in revealed if r["role_method"] == "no-interviewer")


def test_real_interviews_keep_their_interviewer_and_consultations_get_none():
    """The evidence rule's figures, as the README gives them."""
    import dataclasses
    from textmine.config import load_config
    from textmine.ingest import parse_file
    from textmine.records import Transcript, Turn
    from textmine.roles import assign_roles
    cfg = load_config().roles
    files = sorted(shared_path("corpora", "eslo1").glob("*/*.trs")) + \
        sorted(shared_path("corpora", "cfpp2000", "TextGrid-corpus").glob("*.TextGrid"))
    kept = 0
    for f in files:
        tr = parse_file(f)
        code = {lb: f"S{i}" for i, lb in enumerate(dict.fromkeys(t.speaker for t in tr.turns))}
        anon = Transcript(tr.source_file, tr.format, tr.encoding,
                          [dataclasses.replace(t, speaker=code[t.speaker]) for t in tr.turns])
        kept += any(d.role == "interviewer" for d in assign_roles(anon, None, cfg).values())
    assert (len(files), kept) == (86, 85)
    invented = n = 0
    for f in shared_path("corpora", "republique_numerique_2015", "opinions").glob("*.json"):
        if f.stat().st_size == 0:
            continue
        op = json.loads(f.read_text(encoding="utf-8")).get("opinion") or {}
        args = [a for a in op.get("arguments") or [] if _strip(a.get("body", ""))]
        if not _strip(op.get("body", "")) or not args:
            continue
        turns = [Turn("Auteur", _strip(op["body"]))] + [
            Turn("Pour" if str(a.get("type")) == "1" else "Contre", _strip(a["body"])) for a in args]
        n += 1
        invented += any(d.role == "interviewer" for d in assign_roles(Transcript("x.csv", "csv", "utf-8", turns),
                                                                       None, cfg).values())
    assert (n, invented) == (522, 5)        # the rule before named one in 363 of them


# ------------------------------------------------------------------ item 4: several interviewees in one file
CFPP_MULTI = {"Mathis_H_19_Delphine_F_16_Alienor_F_15_Ch.TextGrid": "F-MULTI-1",
              "Pierre_Beysson_H_59_Marie_Beysson_F_X_12e-v2.TextGrid": "F-MULTI-2"}


def test_several_interviewees_get_the_metadata_role(tmp_path, cli):
    from textmine.corpus import ingest_paths
    from textmine.ingest import parse_file
    from textmine.store import Store
    src = shared_path("corpora", "cfpp2000", "TextGrid-corpus")
    wave = tmp_path / "cfpp"
    wave.mkdir()
    for name in CFPP_MULTI:
        shutil.copy(src / name, wave / name)
    lines = ["file,interview_id,wave,date,territory,structure_type,respondent_id,role"]
    lines += [f"{n},{iid},2000,,Paris,,R-{iid},usager" for n, iid in CFPP_MULTI.items()]
    (wave / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (wave / "SOURCE.md").write_text("# CFPP2000, two files, for the test\n", encoding="utf-8")
    first = next(iter(CFPP_MULTI))
    labels = list(dict.fromkeys(t.speaker for t in parse_file(wave / first).turns))
    others = [lb for lb in labels if not re.search(r"enq", lb, re.I)]
    assert len(others) >= 3, labels
    with Store(tmp_path / "p", create=True) as store:
        rep = ingest_paths(store, [wave], metadata=wave / "metadata.csv")
        assert sorted(rep.added) == sorted(CFPP_MULTI.values())
        assert [Path(f).name for f, _ in rep.skipped] == ["SOURCE.md"]      # item 5: named, not fatal
        sp = store.query("SELECT interview_id, speaker, role, role_method FROM speakers")
    for iid in CFPP_MULTI.values():
        part = sp[(sp["interview_id"] == iid) & (sp["role"] != "interviewer")]
        named = part[~part["speaker"].str.contains(r"^(?:Turns|Comments|Sections|inconnu|tous)$", regex=True)]
        assert (named["role"] == "usager").all() and len(named) >= 2, part          # all interviewees
    # a speakers sheet gives one of them another role and her own respondent id
    (wave / "speakers.csv").write_text(f"file,speaker,role,respondent_id\n{first},{others[-1]},other,\n"
                                       f"{first},{others[0]},usager,R-OWN\n", encoding="utf-8")
    with Store(tmp_path / "p") as store:
        rep = ingest_paths(store, [wave], metadata=wave / "metadata.csv", speakers=wave / "speakers.csv")
        assert rep.replaced == [CFPP_MULTI[first]], rep                 # the other file is untouched
        assert "speakers.csv" not in [Path(f).name for f, _ in rep.skipped]
        roles = dict(store.con.execute("SELECT speaker, role FROM speakers WHERE interview_id = ?",
                                       [CFPP_MULTI[first]]).fetchall())
        assert roles[others[-1]] == "other" and roles[others[0]] == "usager"
        segs = store.segments_frame(interview_ids=[CFPP_MULTI[first]])
        rid = segs.groupby("speaker")["respondent_id"].first()
        assert rid[others[0]] == "R-OWN" and rid[others[1]] == f"R-{CFPP_MULTI[first]}"
    res = cli("--project", tmp_path / "p", "speakers", "--format", "csv")
    assert "speakers sheet" in res.stdout and others[0] not in res.stdout      # labels stay pseudonymous


# ------------------------------------------------------------------ item 2: settings and sheets reach the project
@pytest.fixture(scope="module")
def changed(tmp_path_factory, demo_project):
    """A copy of the demo project: wave 1 run again after roles.map names a voice of one file,
    then after a metadata fix. The same folder's run before and after each change."""
    from textmine.pipeline import run_wave
    root = tmp_path_factory.mktemp("changed")
    p = root / "p"
    shutil.copytree(demo_project, p)
    cfg = p / "textmine.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.setdefault("roles", {})["map"] = {"Collègue": "responsable_structure"}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    w1 = root / "vague1"
    shutil.copytree(DEMO / "vague1", w1)
    roles = run_wave(p, w1, wave="2022", metadata=w1 / "metadata.csv")
    again = run_wave(p, w1, wave="2022", metadata=w1 / "metadata.csv")
    sheet = (w1 / "metadata.csv").read_text(encoding="utf-8").splitlines()
    row = next(i for i, ln in enumerate(sheet) if "entretien_07" in ln)
    header = sheet[0].split(",")
    cells = sheet[row].split(",")
    old_territory = cells[header.index("territory")]
    cells[header.index("territory")] = "Z"
    sheet[row] = ",".join(cells)
    (w1 / "metadata.csv").write_text("\n".join(sheet) + "\n", encoding="utf-8")
    meta = run_wave(p, w1, wave="2022", metadata=w1 / "metadata.csv")
    return p, roles, again, meta, cells[header.index("interview_id")], old_territory


def test_roles_map_re_derives_the_speakers_it_names(changed):
    from textmine.store import Store
    p, roles, again, _, _, _ = changed
    ing = roles.stages["ingest"]
    assert not roles.did_nothing
    assert len(ing["replaced"]) == 1 and ing["reasons"][ing["replaced"][0]].startswith("speaker roles changed")
    assert len(ing["updated"]) == 9                    # same roles: rows updated, nothing re-derived
    assert ing["stale"] and all(i.startswith("V2") for i in ing["stale"])    # wave 2 said to be behind
    assert roles.stages["topics"].get("action") == "apply" and roles.stages["themes"].get("run_id")
    with Store(p, read_only=True) as s:
        sp = s.query("SELECT interview_id, role, role_method FROM speakers WHERE speaker = 'Collègue'")
        assert sp[["role", "role_method"]].values.tolist() == [["responsable_structure", "config"]]
        iid = sp["interview_id"].iloc[0]
        segs = s.query("SELECT s.segment_id, a.topic FROM segments s LEFT JOIN topic_assignments a USING (segment_id) "
                       "WHERE s.interview_id = ? AND s.speaker = 'Collègue'", [iid])
        assert len(segs) and segs["topic"].notna().all()              # its segments now have topics
        n = s.query("SELECT count(*) AS n FROM theme_codings c JOIN segments s USING (segment_id) "
                    "WHERE s.speaker = 'Collègue'")["n"][0]
        assert n > 0                                                   # and themes
    assert again.did_nothing, again.stages


def test_metadata_fix_updates_in_place(changed):
    from textmine.store import Store
    p, _, _, meta, iid, old = changed
    ing = meta.stages["ingest"]
    assert ing["updated"] == [iid] and ing["replaced"] == [] and ing["added"] == [] and old != "Z"
    for stage in ("embed", "topics", "themes"):
        assert meta.stages[stage].get("skipped"), stage            # no segment changed
    assert not meta.stages["outputs"].get("skipped")                # tracking and outputs follow the metadata
    with Store(p, read_only=True) as s:
        assert s.query("SELECT territory FROM interviews WHERE interview_id = ?", [iid])["territory"][0] == "Z"


# ------------------------------------------------------------------ items 7, 12: a run on a corpus the codebook does not fit
def test_run_summary_on_stdout_and_codebook_warning(tmp_path, cli):
    folder = consultation_csvs(tmp_path / "rn")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("embed:\n  encoder: use-multilingual\ntrack:\n  n_boot: 100\n  n_perm: 100\n", encoding="utf-8")
    res = cli("--config", cfg, "run", folder, "--project", tmp_path / "p", "--wave", "2015")
    assert res.exit_code == 0, res
    out, err = res.stdout, res.stderr
    assert out.startswith("── run ") and "time per stage:" in out and "manifest" in out     # the summary: stdout
    assert "ingest done in" in err and "ingest done in" not in out                          # progress: stderr
    assert "ingest: started (24 to do)" in err                   # a line per stage when not a terminal
    assert "BERTopic" not in out + err and "WARNING" not in out + err
    assert "codebook: the packaged codebook of the Conseiller numérique study (11 themes)" in out
    assert "to code with your own themes: set themes.codebook" in out                       # first run only
    assert "warning: the codebook codes only" not in out   # a consultation on digital policy: it codes 45 %
    assert "interview(s) without an interviewer" in out
    res = cli("--config", cfg, "run", folder, "--project", tmp_path / "p", "--wave", "2015")
    assert "Nothing new" in res.stdout and "to code with your own themes" not in res.stdout


# ------------------------------------------------------------------ items 8, 9, 10 on the demo project
def test_draft_codebook_validates_and_codes(demo_project, tmp_path, cli):
    out = tmp_path / "codebook.yaml"
    res = cli("--project", demo_project, "themes", "draft", "--output", out)
    assert res.exit_code == 0, res
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Codebook drafted by `textmine themes draft`")
    listed = cli("themes", "list", "--codebook", out, "--format", "json")
    assert listed.exit_code == 0, listed
    themes = json.loads(listed.stdout)
    assert len(themes) >= 2 and all(t["to_write"] == "definition,include,exclude" for t in themes)
    data = yaml.safe_load(text)
    assert all(t["definition"] == "" and t["cues"] and t["examples"] for t in data["themes"])
    assert not re.search(r"Vautrin|Rigaud|Castagnet", text)        # examples are pseudonymised
    res = cli("--project", demo_project, "themes", "draft", "--output", out)
    assert res.exit_code == 1 and "E602" in res.stderr and "--force" in res.stderr
    from textmine.themes import classify_texts, load_codebook
    coded = classify_texts([data["themes"][0]["examples"][0]], codebook=load_codebook(out))
    assert data["themes"][0]["id"] in coded[0]["themes"]           # the coder uses a drafted codebook


def test_topic_labels_show_and_units(demo_project, cli):
    from textmine.store import Store
    from textmine.topics import topics_table
    from textmine.topics.french import surface_forms
    with Store(demo_project, read_only=True) as s:
        table = topics_table(s)
        texts = s.query("SELECT text_pseudo FROM segments WHERE role NOT IN ('interviewer', 'other')")["text_pseudo"]
    words = {w.lower() for t in texts for w in re.findall(r"[^\W\d_]+", t)}
    topic_words = [w for ws in table["words"] for w in ws]
    assert topic_words and all(w in words for w in topic_words), [w for w in topic_words if w not in words]
    forms = surface_forms(texts.tolist())
    assert any(k != v for k, v in forms.items())                     # some lemmas read as the corpus's word
    # a new process, cold, shows a topic without importing BERTopic or UMAP (25 s or more before)
    code = ("import sys\nfrom textmine.cli.main import main\n"
            f"rc = main(['--project', {str(demo_project)!r}, 'topics', 'show', '0'])\n"
            "assert 'bertopic' not in sys.modules and 'umap' not in sys.modules\nsys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Topic 0" in proc.stdout, proc.stderr
    res = cli("--project", demo_project, "topics", "change")
    assert res.exit_code == 0 and "delta (pts)" in res.stdout and "share_a (%)" in res.stdout
    js = json.loads(cli("--project", demo_project, "topics", "change", "--format", "json").stdout)
    assert {"share_a", "share_b", "delta_pts"} <= set(js[0])
    res = cli("--project", demo_project, "track", "changes", "--from", "2022", "--to", "2023", "--theme", "topic:0")
    label = table.loc[table["id"] == 0, "label"].iloc[0]
    assert f"topic:0 {label}" in res.stdout
    assert "delta (pts)" in res.stdout
