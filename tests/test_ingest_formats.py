"""Every supported format parses into turns with positions, and no speech word is lost."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import docx
import pytest

from textmine.ingest import FORMATS, count_words, parse_file
from textmine.ingest.tags import match_tag

FIX = Path(__file__).resolve().parent / "fixtures" / "formats"


def words_of_turns(tr) -> int:
    return sum(count_words(t.text) for t in tr.turns)


def speakers(tr) -> list[str]:
    return [t.speaker for t in tr.turns]


def test_count_words_definition():
    assert count_words("") == 0 and count_words(None) == 0
    assert count_words("aujourd'hui c'est peut-être  l'école") == 4
    assert count_words("euh + /// [rires] (inaudible) 2021 ?") == 4   # euh, rires, inaudible, 2021
    assert count_words("a - b") == 2


def test_formats_table_covers_the_documented_extensions():
    assert {".txt", ".md", ".docx", ".odt", ".trs", ".textgrid", ".srt", ".vtt", ".csv"} == set(FORMATS)


# ---------------------------------------------------------------------------- plain text
def _independent_txt_words(text: str, tag_re: str, header_lines: int) -> int:
    lines = text.split("\n")[header_lines:]
    return sum(count_words(re.sub(tag_re, "", ln)) for ln in lines)


def test_txt_timestamps_continuations_and_header():
    path = FIX / "entretien_conum.txt"
    tr = parse_file(path)
    assert tr.format == "txt" and tr.encoding == "utf-8"
    assert speakers(tr) == ["Enquêtrice", "Conum"] * 3
    assert [t.start for t in tr.turns] == [5.0, 12.0, 100.0, 106.0, 182.0, 189.0]
    assert [t.line for t in tr.turns] == [4, 5, 9, 10, 13, 14]
    # header kept, not lost silently
    assert tr.attrs["header_lines"] == 2 and "vague 2" in tr.attrs["header"]
    # continuation lines (after a blank line too) stay in the turn; "Il m'a dit : non" is no tag
    assert "ça m'a plu tout de suite" in tr.turns[1].text
    assert "Il m'a dit : non" in tr.turns[3].text and "[oui]" in tr.turns[3].text
    # char offsets point into the decoded text
    raw = path.read_text(encoding="utf-8")
    for t in tr.turns:
        assert raw[t.char_start:t.char_end] == t.text
    # no word lost: independent count from the raw file
    indep = _independent_txt_words(raw, r"^\[[\d:]+\] (Enquêtrice|Conum) : ", header_lines=3)
    assert words_of_turns(tr) == tr.source_words == indep


def test_markdown_bold_labels():
    tr = parse_file(FIX / "entretien_markdown.md")
    assert speakers(tr) == ["Enquêteur", "Responsable"] * 2
    assert tr.attrs.get("markdown") is True and tr.attrs["header_lines"] == 1
    assert tr.turns[3].text.startswith("Beaucoup de choses : les ateliers")
    raw = (FIX / "entretien_markdown.md").read_text(encoding="utf-8")
    indep = _independent_txt_words(raw, r"^\*\*(Enquêteur|Responsable)( :\*\*|\*\* :)", header_lines=1)
    assert words_of_turns(tr) == tr.source_words == indep


def test_qr_style_and_capital_names():
    tr = parse_file(FIX / "entretien_qr.txt")
    assert speakers(tr) == ["Q", "R", "Q", "R", "Q"]
    assert "moitié de mon temps" in tr.turns[3].text
    tr = parse_file(FIX / "entretien_majuscules.txt")
    assert speakers(tr) == ["E", "MARIE DUPONT", "E", "MARIE DUPONT"]
    assert tr.turns[-1].text.endswith("l'enregistrement est coupée.")   # "Note :" is not a speaker
    assert words_of_turns(tr) == tr.source_words


def test_label_with_role_in_parentheses():
    tr = parse_file(FIX / "entretien_parentheses.txt")
    assert speakers(tr) == ["Enquêteur", "Marie (conum)", "Paul (responsable_structure)", "Enquêteur", "Marie (conum)"]


@pytest.mark.parametrize("name,encoding", [("entretien_cp1252.txt", "cp1252"), ("entretien_utf8_bom.txt", "utf-8-bom")])
def test_text_encodings(name, encoding):
    tr = parse_file(FIX / name)
    assert tr.encoding == encoding
    assert speakers(tr) == ["Enquêteur", "Conum"] * 2
    assert all("\r" not in t.text for t in tr.turns)
    assert any(ch in tr.turns[1].text for ch in "àéèÀ")


@pytest.mark.parametrize("line,label", [
    ("Enquêtrice : bonjour", "Enquêtrice"), ("E : oui", "E"), ("**Conum** : oui", "Conum"),
    ("[00:12:03] Marie : oui", "Marie"), ("MARIE DUPONT: oui", "MARIE DUPONT"), ("Marie (conum) : oui", "Marie (conum)"),
    ("- Paul: oui", "Paul"), ("Enquêteur\u00a0: oui", "Enquêteur"),
])
def test_tag_shapes(line, label):
    tm = match_tag(line)
    assert tm is not None and tm.label == label


@pytest.mark.parametrize("line", [
    "Il m'a dit : non", "Elle répond : pas question", "Alors voilà : on commence", "voir http://exemple.fr",
    "Une dame est venue, elle m'a dit : non", "Le problème c'est quoi au fond des choses vraiment : rien",
    "10:30 rendez-vous",
])
def test_sentences_are_not_tags(line):
    assert match_tag(line) is None


# -------------------------------------------------------------------------- docx / odt
def test_docx_plain_and_bold_labels_and_tables():
    path = FIX / "entretien_coordination.docx"
    tr = parse_file(path)
    assert tr.format == "docx"
    assert speakers(tr) == ["Enquêtrice", "Coordinatrice", "Enquêtrice", "Coordinatrice", "Enquêtrice"]
    assert "mutualise les outils" in tr.turns[1].text           # continuation paragraph
    assert [t.line for t in tr.turns] == [2, 3, 5, 6, 7]          # paragraph numbers
    assert "54 minutes" not in " ".join(t.text for t in tr.turns)  # layout table ignored
    # independent count: python-docx paragraphs + the turn table's speech cells
    d = docx.Document(str(path))
    paras = [p.text for p in d.paragraphs][1:]                     # first paragraph = header
    speech = [re.sub(r"^Enquêtrice :", "", p) for p in paras]
    speech[1] = speech[1][len("Coordinatrice"):]
    speech += [d.tables[0].cell(r, 1).text for r in range(2)]
    assert words_of_turns(tr) == tr.source_words == sum(count_words(s) for s in speech)


def test_odt_spans_spaces_line_breaks_annotations_table():
    tr = parse_file(FIX / "entretien_elu.odt")
    assert tr.format == "odt"
    assert speakers(tr) == ["Enquêteur", "Élu", "Enquêteur", "Élu"]
    assert tr.turns[0].text == "Quelle place pour le numérique dans votre mandat ?"   # <text:s/>
    assert tr.turns[1].text == "Une place centrale,\non a recruté deux conseillers.\nOn voulait couvrir les hameaux."
    assert "relecteur" not in " ".join(t.text for t in tr.turns)                        # annotation skipped
    assert tr.turns[3].text == "Positif, mais fragile."
    assert words_of_turns(tr) == tr.source_words == 8 + 13 + 3 + 3


# ------------------------------------------------------------------------------- trs
def _trs_independent_words(path: Path) -> int:
    root = ET.parse(path).getroot()   # test-side reference parse (fixture is trusted)
    return sum(count_words(" ".join(turn.itertext())) for turn in root.iter("Turn"))


@pytest.mark.parametrize("name,enc", [("entretien_latin1.trs", "iso-8859-1"), ("entretien_utf8.trs", "utf-8")])
def test_trs_speakers_overlap_sync_events_topics(name, enc):
    path = FIX / name
    tr = parse_file(path)
    assert tr.format == "trs" and tr.encoding == enc
    assert [s.label for s in tr.speakers] == ["AB", "CN412", "412INC"]
    assert tr.speakers[1].attrs["id"] == "spk2" and tr.speakers[1].attrs["type"] == "female"
    assert speakers(tr) == ["AB", "CN412", "CN412", "AB", "AB", "CN412", "412INC"]
    t = tr.turns[1]
    assert t.text == "depuis deux mille vingt-deux j'étais médiatrice avant à la bibliothèque"
    assert (t.start, t.end) == (6.0, 14.0) and not t.overlap and t.line == 26
    # marks: each line of words (offset, time of the last <Sync>, line), where a <Sync> starts a span
    assert t.marks == [(0, 6.0, 27), (29, 6.0, 29), (54, 10.0, 31)]
    assert t.text[29:].startswith("j'étais") and t.text[54:].startswith("à la bibliothèque")
    assert tr.turns[0].marks == [(0, 1.2, 21), (29, 3.4, 23)]
    assert [x.overlap for x in tr.turns[2:4]] == [True, True]
    assert tr.turns[2].text == "voilà c'est ça" and tr.turns[3].text == "d'accord"
    assert tr.attrs["events"] == {"rire": 1, "pi": 2} and tr.attrs["comments"] == 1
    assert tr.attrs["turn_topics"] == ["parcours"] * 4 + ["usagers"] * 3
    assert words_of_turns(tr) == tr.source_words == _trs_independent_words(path)


# -------------------------------------------------------------------------- TextGrid
@pytest.mark.parametrize("name,enc", [("entretien_long.TextGrid", "utf-8"), ("entretien_short_utf16.TextGrid", "utf-16-le")])
def test_textgrid_long_and_short(name, enc):
    tr = parse_file(FIX / name)
    assert tr.format == "textgrid" and tr.encoding == enc
    assert [s.label for s in tr.speakers] == ["Claire Martin (Enq.)", "Lucien"]
    assert [s.name for s in tr.speakers] == ["Claire Martin", "Lucien"]          # personal data, for pseudonyms
    assert set(tr.attrs["ignored_tiers"]) == {"Turns", "Comments", "points"}
    assert speakers(tr) == ["Claire Martin (Enq.)", "Lucien", "Lucien", "Claire Martin (Enq.)", "Lucien"]
    assert [t.start for t in tr.turns] == [1.5, 4.0, 8.5, 9.0, 10.0]
    assert [t.overlap for t in tr.turns] == [False, False, True, True, True]
    assert tr.turns[1].text == 'depuis trente ans euh + on a vu "tout" changer'   # "" unescaped
    assert words_of_turns(tr) == tr.source_words == 6 + 9 + 2 + 5 + 8


def test_textgrid_positions_point_into_the_file():
    path = FIX / "entretien_long.TextGrid"
    raw = path.read_text(encoding="utf-8")
    tr = parse_file(path)
    lines = raw.split("\n")
    for t in tr.turns:
        assert raw[t.char_start:t.char_end].replace('""', '"') == t.text
        assert t.text.replace('"', '""') in lines[t.line - 1]


# ------------------------------------------------------------------------ srt / vtt
def test_srt_prefixes_and_continuation_cues():
    tr = parse_file(FIX / "entretien.srt")
    assert tr.format == "srt"
    assert speakers(tr) == ["Enquêtrice", "Conum", "Enquêtrice"]
    assert (tr.turns[1].start, tr.turns[1].end) == (4.6, 12.0)          # cue 3 continues Conum
    # each text line is a mark: (offset in the turn text, its cue's start, its line in the file)
    assert tr.turns[1].marks == [(0, 4.6, 7), (22, 4.6, 8), (46, 9.1, 12)]
    assert tr.turns[1].text[46:].startswith("et j'interviens")
    assert tr.turns[1].text.endswith("en itinérance.")
    assert tr.turns[2].text == "Quels publics recevez-vous ?"            # <i> removed
    assert words_of_turns(tr) == tr.source_words == 5 + 13 + 3


def test_vtt_voice_tags_notes_and_short_timecodes():
    tr = parse_file(FIX / "entretien.vtt")
    assert tr.format == "vtt"
    assert speakers(tr) == ["Enquêteur", "Coordinatrice", "Enquêteur"]
    assert "transcription relue" not in " ".join(t.text for t in tr.turns)
    assert (tr.turns[1].start, tr.turns[1].end) == (4.5, 11.0)
    assert tr.turns[2].start == 11.5
    assert words_of_turns(tr) == tr.source_words == 5 + 11 + 3


# ------------------------------------------------------------------------------- csv
def test_csv_rows_times_and_empty_speaker():
    tr = parse_file(FIX / "entretien.csv")
    assert speakers(tr) == ["Enquêteur", "Conum", "Conum", "Enquêteur"]
    assert [t.line for t in tr.turns] == [2, 3, 4, 5]
    assert [(t.start, t.end) for t in tr.turns] == [(0, 4.5), (4.5, 10.0), (10, 12.25), (12.25, 13)]
    assert words_of_turns(tr) == tr.source_words


def test_csv_french_header_semicolon_cp1252():
    tr = parse_file(FIX / "entretien_fr.csv")
    assert tr.encoding == "cp1252" and tr.attrs["delimiter"] == ";"
    assert speakers(tr) == ["Enquêtrice", "Élu"]
    assert tr.turns[1].text == "Nous avons ouvert deux lieux; un troisième arrive"
    assert tr.turns[1].start == 5.0


def test_parse_is_deterministic():
    a = parse_file(FIX / "entretien_conum.txt")
    b = parse_file(FIX / "entretien_conum.txt")
    assert a == b


def test_same_speaker_spelled_differently_is_one_label(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("Enquêtrice : a ?\nCONUM : b.\n**Enquêtrice** : c ?\nConum : d.\nENQUÊTRICE : e ?\n", encoding="utf-8")
    tr = parse_file(p)
    assert speakers(tr) == ["Enquêtrice", "CONUM", "Enquêtrice", "CONUM", "Enquêtrice"]


def test_letter_codes_are_tags(tmp_path):
    p = tmp_path / "ab.txt"
    p.write_text("A : Bonjour, on commence ?\nB : Oui allons-y.\nA : Parfait.\nB : Je vous écoute.\n", encoding="utf-8")
    assert speakers(parse_file(p)) == ["A", "B", "A", "B"]


def test_trs_marks_of_a_one_letter_line_before_a_repeated_sync(tmp_path):
    """A <Sync> repeating the time in force after a one-letter line keeps that line's own mark."""
    p = tmp_path / "x.trs"
    p.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Trans>\n<Speakers>\n'
                 '<Speaker id="spk1" name="MD4"/>\n</Speakers>\n<Episode>\n<Section type="report" startTime="0" '
                 'endTime="9">\n<Turn speaker="spk1" startTime="0" endTime="9">\n<Sync time="0"/>\nbon\n'
                 '<Sync time="2"/>\na\n<Sync time="2"/>\nvoilà\n</Turn>\n</Section>\n</Episode>\n</Trans>\n',
                 encoding="utf-8")
    t = parse_file(p).turns[0]
    assert t.text == "bon a voilà"
    assert t.marks == [(0, 0.0, 10), (4, 2.0, 12), (6, 2.0, 14)]      # "a" keeps its line 12
