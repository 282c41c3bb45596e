"""Segments cut from a long timed turn cite the time and line of their own words in the file.

A turn the file marks with time points inside (Transcriber ``<Sync>``, a subtitle turn made of
several cues) gives each of its segments the time of the last mark before its first word and
the line of that word (``Turn.marks`` -> ``turns.marks`` -> :func:`textmine.segment.provenance`).
Before, times were spread by characters over the whole turn (a segment cited seconds after its
first words) and lines counted from the turn's first line. The expected values are read here from
the files with a reader of their own, independent of textmine's parsers."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_path
from textmine.attribution import format_time, source_ref
from textmine.corpus import ingest_paths
from textmine.store import Store

pytestmark = pytest.mark.slow

CONFIG = "segment:\n  min_words: 12\n  max_words: 30\n"

# a long turn of MD31 whose Sync spans are uneven: a 14 s silence (empty span) in the middle, a
# span of two lines, an event on its own line, a sentence running over two spans
TRS = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE Trans SYSTEM "trans-14.dtd">
<Trans scribe="equipe" audio_filename="permanence_12" version="2" version_date="250101">
<Speakers>
<Speaker id="spk1" name="ENQ2" check="no" dialect="native" accent="" scope="local"/>
<Speaker id="spk2" name="MD31" check="no" dialect="native" accent="" scope="local"/>
</Speakers>
<Episode>
<Section type="report" startTime="0" endTime="120">
<Turn speaker="spk1" startTime="0" endTime="4.2">
<Sync time="0"/>
et comment se passe une journée ordinaire à la permanence de la médiathèque ?
</Turn>
<Turn speaker="spk2" startTime="4.2" endTime="110.5">
<Sync time="4.2"/>
alors le matin on ouvre à neuf heures et les gens attendent déjà devant la porte avec leurs courriers.
<Sync time="11.9"/>
<Sync time="25.6"/>
ensuite je prends les rendez-vous un par un parce que chacun arrive avec une démarche différente,
les impôts, la caisse d'allocations, la retraite ou un dossier de logement social.
<Sync time="41.3"/>
<Event desc="rire" type="noise" extent="instantaneous"/>
certains reviennent chaque semaine et finissent par connaître le chemin des formulaires
<Sync time="52.0"/>
tout seuls, ce qui fait plaisir à voir même si ça prend du temps.
<Sync time="60.7"/>
l'après-midi nous faisons des ateliers en petit groupe sur les tablettes prêtées par la commune.
<Sync time="77.4"/>
le vendredi je vais dans les hameaux avec le véhicule équipé et là ce sont surtout des personnes âgées isolées.
<Sync time="98.0"/>
</Turn>
</Section>
</Episode>
</Trans>
"""

# a long Conum turn over five cues, one of two lines, a gap between cues 3 and 4
SRT = """1
00:00:00,500 --> 00:00:03,900
Enquêtrice : Et comment se passe une journée ordinaire à la permanence ?

2
00:00:04,000 --> 00:00:10,500
Conum : Alors le matin on ouvre à neuf heures et les gens attendent déjà devant la porte.

3
00:00:10,600 --> 00:00:19,000
Ensuite je prends les rendez-vous un par un parce que chacun arrive
avec une démarche différente, les impôts ou la caisse d'allocations.

4
00:00:31,200 --> 00:00:38,000
Certains reviennent chaque semaine et finissent par connaître le chemin des formulaires tout seuls.

5
00:00:38,100 --> 00:00:47,900
L'après-midi nous faisons des ateliers en petit groupe sur les tablettes prêtées par la commune.

6
00:00:48,000 --> 00:00:58,400
Le vendredi je vais dans les hameaux avec le véhicule équipé, surtout chez des personnes âgées isolées.
"""

VTT = """WEBVTT

NOTE relu par l'équipe

00:00.500 --> 00:03.900
<v Enquêteur>Et comment se passe une journée ordinaire à la permanence ?

00:04.000 --> 00:10.500
<v Coordinatrice>Le matin on ouvre à neuf heures et les gens attendent déjà devant la porte.

00:10.600 --> 00:19.000
Ensuite je prends les rendez-vous un par un parce que chacun arrive
avec une démarche différente, les impôts ou la caisse d'allocations.

00:31.200 --> 00:38.000
Certains reviennent chaque semaine et finissent par connaître le chemin des formulaires tout seuls.

00:38.100 --> 00:47.900
L'après-midi nous faisons des ateliers en petit groupe sur les tablettes prêtées par la commune.
"""

_LONG = ("Le matin on ouvre à neuf heures et les gens attendent déjà devant la porte avec leurs courriers. "
         "Ensuite je prends les rendez-vous un par un parce que chacun arrive avec une démarche différente. "
         "L'après-midi nous faisons des ateliers en petit groupe sur les tablettes prêtées par la commune.")

TEXTGRID = f'''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 80
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "Enquêtrice"
        xmin = 0
        xmax = 80
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 4
            text = "Et comment se passe une journée ordinaire à la permanence ?"
        intervals [2]:
            xmin = 4
            xmax = 80
            text = ""
    item [2]:
        class = "IntervalTier"
        name = "Conum"
        xmin = 0
        xmax = 80
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 4.5
            text = ""
        intervals [2]:
            xmin = 4.5
            xmax = 80
            text = "{_LONG}"
'''

CSV = ("locuteur;texte;debut;fin\n"
       "Enquêtrice;Et comment se passe une journée ordinaire à la permanence ?;0;4\n"
       f"Conum;{_LONG};4,5;80\n")


def _ingest(tmp_path: Path, name: str, text: str, encoding: str = "utf-8"):
    folder = tmp_path / "src"
    folder.mkdir()
    path = folder / name
    path.write_bytes(text.encode(encoding))
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    with Store(tmp_path / "p", create=True, config_path=tmp_path / "cfg.yaml") as store:
        ingest_paths(store, [folder], wave="1")
        segs = store.segments_frame(with_text=True)
        turns = store.turns_frame()
        from textmine.integrity import check_store
        problems = check_store(store).query("status == 'problem'")
    assert problems.empty, problems
    return path, segs, turns


def _token_places(lines: list[tuple[int, float, str]]) -> list[tuple[str, int, float]]:
    """(word, line, time) of each word of ``(line number, time in force, text)`` lines."""
    return [(w, ln, t) for ln, t, text in lines for w in text.split()]


def _where(places: list[tuple[str, int, float]], text_raw: str) -> tuple[int, int]:
    """Indices of the first and last word of ``text_raw`` among ``places`` (a unique run)."""
    words = text_raw.split()
    seq = [w for w, _, _ in places]
    hits = [i for i in range(len(seq) - len(words) + 1) if seq[i:i + len(words)] == words]
    assert len(hits) == 1, text_raw
    return hits[0], hits[0] + len(words) - 1


def _check(segs, places, spans: list[tuple[int, float]], turn_end: float, min_segments: int = 3) -> None:
    """Each segment's start is the time in force at its first word, its line that word's line, and
    its end the first later time point after its last word (``spans``: (line, time) of every time
    point of the turn), else the turn's end."""
    assert len(segs) >= min_segments
    for row in segs.itertuples():
        first, last = _where(places, row.text_raw)
        _, line, t = places[first]
        _, last_line, last_t = places[last]
        end = next((s for ln, s in spans if ln > last_line and s > last_t), turn_end)
        assert (row.start, row.line, row.end) == (t, line, end), row.text_raw


def _trs_places(text: str, speaker_turn: str):
    lines = text.split("\n")
    k = next(i for i, ln in enumerate(lines) if ln.startswith(speaker_turn))
    end = float(re.search(r'endTime="([\d.]+)"', lines[k]).group(1))
    t, body, syncs = None, [], []
    for i in range(k + 1, len(lines)):
        ln = lines[i]
        if ln.startswith("</Turn>"):
            break
        m = re.match(r'<Sync time="([\d.]+)"/>', ln)
        if m:
            t = float(m.group(1))
            syncs.append((i + 1, t))
        elif not ln.startswith("<"):
            body.append((i + 1, t, ln))
    return _token_places(body), syncs, end


def test_trs_segments_cite_their_sync_and_line(tmp_path):
    path, segs, turns = _ingest(tmp_path, "permanence.trs", TRS, "latin-1")
    places, syncs, end = _trs_places(TRS, '<Turn speaker="spk2"')
    mine = segs[segs.speaker == "MD31"].sort_values("seg_index")
    _check(mine, places, syncs, end, min_segments=4)
    # the segment of "certains reviennent..." starts after the event, in the span of 41.3 s; an even
    # spread over the turn's 106 s put it near 49 s, and its line at the turn's Sync line
    row = mine[mine.text_raw.str.startswith("certains reviennent")].iloc[0]
    assert row.start == 41.3 and row.line == 23 and row.end == 60.7
    assert source_ref(row.to_dict()) == f"{row.interview_id}.trs, 00:00:41"
    # the turn keeps its marks (offset, time, line) in the store
    stored = turns[turns.speaker == "MD31"].iloc[0]
    assert stored.marks and "[0, 4.2, 16]" in stored.marks


def _cue_places(text: str, speaker: str):
    lines = text.split("\n")
    body, cues, in_turn = [], [], False
    t = None
    for i, ln in enumerate(lines):
        m = re.match(r"(?:(\d+):)?(\d+):(\d+)[.,](\d+) -->", ln)
        if m:
            h, mi, s, ms = m.groups()
            t = int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000
            if in_turn:
                cues.append((i + 1, t))
            continue
        if not ln.strip() or ln.strip().isdigit() or ln.startswith(("WEBVTT", "NOTE")):
            continue
        label = re.match(r"^(?:<v ([^>]+)>|([^:]{1,20}) : )", ln)
        if label:
            in_turn = (label.group(1) or label.group(2)) == speaker
            ln = ln[label.end():]
        if in_turn:
            body.append((i + 1, t, ln))
    return _token_places(body), cues


@pytest.mark.parametrize("name,text,speaker,end", [("permanence.srt", SRT, "Conum", 58.4),
                                                   ("permanence.vtt", VTT, "Coordinatrice", 47.9)])
def test_subtitle_segments_cite_their_cue_and_line(tmp_path, name, text, speaker, end):
    path, segs, _ = _ingest(tmp_path, name, text)
    places, cues = _cue_places(text, speaker)
    mine = segs[segs.speaker == speaker].sort_values("seg_index")
    _check(mine, places, cues, end)
    row = mine[mine.text_raw.str.startswith("Certains reviennent")].iloc[0]
    assert row.start == 31.2 and row.line == 16


@pytest.mark.parametrize("name,text,line", [("permanence.TextGrid", TEXTGRID, 36), ("permanence.csv", CSV, 3)])
def test_a_long_interval_or_row_cites_its_start_and_line(tmp_path, name, text, line):
    """A TextGrid interval or a CSV row has no time inside: every segment cut from it cites its
    start (at or before its words; an even spread put the last one near 55 s) and its line."""
    path, segs, _ = _ingest(tmp_path, name, text)
    mine = segs[segs.speaker == "Conum"]
    assert len(mine) == 3
    assert mine.start.tolist() == [4.5] * 3 and mine.end.tolist() == [80.0] * 3
    assert mine.line.tolist() == [line] * 3
    assert _LONG.split(". ")[2] in path.read_text(encoding="utf-8").split("\n")[line - 1]
    assert {format_time(s) for s in mine.start} == {"00:00:04"}


def test_eslo_segment_times_lie_in_the_sync_span_of_their_first_words(tmp_path):
    """ESLO1 (../shared): in a real interview's long turns, a segment's time is the <Sync> at or
    before its first words and its line is theirs, read from the file by this test's own reader."""
    src = shared_path("corpora", "eslo1", "eslo_entretien", "ESLO1_ENT_001_C.trs")
    text = src.read_bytes().decode("latin-1")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / src.name).write_bytes(src.read_bytes())
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    with Store(tmp_path / "p", create=True, config_path=tmp_path / "cfg.yaml") as store:
        ingest_paths(store, [folder], wave="1")
        segs = store.segments_frame(with_text=True)
    lines = text.split("\n")
    checked, inside = 0, 0
    # every turn of a single speaker with at least 5 Syncs that gave several segments
    for k, ln in enumerate(lines):
        if not (ln.startswith("<Turn speaker=") and " " not in ln.split('"')[1]):
            continue
        stop = next(i for i in range(k, len(lines)) if lines[i].startswith("</Turn>"))
        if sum(x.startswith("<Sync") for x in lines[k:stop]) < 3:
            continue
        t, body, syncs = None, [], []
        for i in range(k + 1, stop):
            m = re.match(r'<Sync time="([\d.]+)"/>', lines[i])
            if m:
                t = float(m.group(1))
                syncs.append((i + 1, t))
            elif not lines[i].startswith("<") and lines[i].strip():
                body.append((i + 1, t, lines[i]))
        places = _token_places(body)
        words = [w for w, _, _ in places]
        t_in, t_out = (float(re.search(rf'{a}="([\d.]+)"', ln).group(1)) for a in ("startTime", "endTime"))
        turn = segs[(segs.start >= t_in) & (segs.start < t_out) & segs.text_raw.map(lambda r: _run_in(r.split(), words))]
        if len(turn) < 2:
            continue
        for row in turn.itertuples():
            first, _ = _where(places, row.text_raw)
            _, line, t0 = places[first]
            nxt = next((s for ln2, s in syncs if ln2 > line), None)
            assert row.start == t0 and row.line == line, (row.segment_id, row.start, t0, row.line, line)
            assert nxt is None or row.start < nxt          # within the Sync span holding its first words
            checked += 1
            inside += row.start > t_in
    assert checked >= 50 and inside >= 25, (checked, inside)    # many start after their turn's start


def _run_in(words: list[str], seq: list[str]) -> bool:
    n = len(words)
    return n > 0 and sum(seq[i:i + n] == words for i in range(len(seq) - n + 1)) == 1


def test_a_store_from_before_gets_the_column_and_its_interviews_derived_again(tmp_path, monkeypatch):
    """A project stored before turns had marks (no ``turns.marks`` column, segments timed by the
    old rule): it opens (read-only too), ``textmine check`` stays green, and ingesting its folder
    again derives its interviews again with their segments' own times; until then they are
    listed as stale."""
    from textmine import segment
    from textmine.corpus import stale_interviews
    from textmine.integrity import check_store
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "permanence.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    project = tmp_path / "p"
    monkeypatch.setattr(segment, "PROVENANCE", segment.PROVENANCE - 1)
    with Store(project, create=True, config_path=tmp_path / "cfg.yaml") as store:
        ingest_paths(store, [folder], wave="1")
        store.con.execute("ALTER TABLE turns DROP COLUMN marks")
        store.con.execute("UPDATE segments SET start = start + 3")        # as the old rule timed them
    monkeypatch.undo()
    with Store(project, read_only=True) as store:
        assert not store.has_column("turns", "marks") and len(store.turns_frame()) == 2
        assert check_store(store).query("status == 'problem'").empty
        assert stale_interviews(store)
    with Store(project) as store:
        assert store.has_column("turns", "marks")
        assert check_store(store).query("status == 'problem'").empty
        rep = ingest_paths(store, [folder], wave="1")
        assert rep.replaced and set(rep.reasons.values()) == {"segment/pseudonymise settings or rules changed"}
        assert not stale_interviews(store)
        segs = store.segments_frame()
        assert 31.2 in segs.start.tolist() and store.turns_frame().marks.notna().sum() == 1
        assert not ingest_paths(store, [folder], wave="1").changed


def test_workers_give_the_times_and_lines_of_one_process(tmp_path, monkeypatch):
    """The marks travel with the turns to ingest's worker processes: same turns and segments."""
    from textmine import corpus, french, workers
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "permanence.trs").write_bytes(TRS.encode("latin-1"))
    (folder / "permanence.srt").write_text(SRT, encoding="utf-8")
    (folder / "permanence.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    got = {}
    for name, min_words in (("one", 10 ** 12), ("two", 1)):
        monkeypatch.setattr(corpus, "POOL_MIN_WORDS", min_words)
        monkeypatch.setattr(french, "_NLP_CACHE", {})
        said: list[str] = []
        with Store(tmp_path / name, create=True, config_path=tmp_path / "cfg.yaml") as store:
            ingest_paths(store, [folder], wave="1", note=said.append)
            got[name] = [store.query("SELECT * FROM turns ORDER BY interview_id, turn_index"),
                         store.query("SELECT * FROM segments ORDER BY segment_id")]
        assert any("worker processes" in m for m in said) == (name == "two"), said
    for a, b in zip(got["one"], got["two"]):
        pd.testing.assert_frame_equal(a, b)
    assert got["one"][0].marks.notna().sum() >= 3
