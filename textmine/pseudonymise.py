"""Pseudonymisation consistent across a project and across waves.

Names of people, places and organisations in analysis texts become placeholders
``[PERSONNE_n]``, ``[LIEU_n]``, ``[COMMUNE_n]``, ``[ORGANISATION_n]``, ``[VOIE_n]`` (streets);
e-mail addresses and
phone numbers become ``[EMAIL]`` / ``[TELEPHONE]``; ``@handles`` become ``[PERSONNE_n]``. The
placeholders' syntax is :data:`textmine.pseudonymise_lex.PLACEHOLDER_PATTERN` (the segmenter keeps
them when it reads a pseudonymised text). The mapping lives in the store's
``pseudonym_map`` table (the only link between originals and placeholders). A
:class:`Pseudonymiser` is built from that map, so a name seen in wave 1 keeps its placeholder
in wave 2. Keys are normalised (:func:`normalise_key`: casefold, accents stripped, hyphens,
apostrophes and spaces collapsed): ``Hélène Dupont-Durand`` and ``helene dupont durand`` are
one key.

Detectors, by priority:

1. **Known names**: metadata names, speaker names (Transcriber Speakers, TextGrid tiers),
   names parsed from file names, the user list ``pseudonymise.user_list`` and every entry of
   the stored map. Matched on word boundaries, accent- and case-insensitively, longest match
   first. A person's full name, its parts and both orders share one placeholder. Names that
   are also common French words (``Rose``, ``Blanche``, ``Marie``) and names first found by
   NER only match when capitalised.
2. **spaCy NER** (``pseudonymise.spacy_model``, only the ``ner`` component, batched with
   ``nlp.pipe``): PER -> PERSONNE, LOC -> LIEU (COMMUNE when it is a known commune, i.e. a
   name added with kind COMMUNE), ORG -> ORGANISATION. NER on spoken transcripts is noisy,
   so a hit is trimmed to its capitalised words (articles, honorifics such as ``Mme`` and
   lowercase words stay in the text), must start with a capital and have two letters or
   more, and is dropped when it is one stop word, filler or discourse marker (``Voilà``,
   ``Bon``, ``Enfin``, ``Donc``), one common French word opening a sentence, or (places and
   organisations) one common word (demonyms ``Chinois``, nouns ``République``) unless a place
   follows ``à``/``vers``/``depuis`` (``à Pannes``, ``vers Tours``). Accepted hits
   join the known names, so later occurrences that NER misses are replaced too. A lone
   first name takes the placeholder of the one person whose full name starts with it
   (known, or found in the same batch: "Sandrine" and "Sandrine Vautrin" are one person);
   when two people share it, it keeps a placeholder of its own.

3. **Person cues**: a capitalised word that is no common French word right after an
   honorific or a title (``monsieur``, ``Mme``, ``docteur``, ``l'architecte``, ``maître``...)
   or after ``chez``/``avec`` is a person, also where NER misses it in a short turn (an
   interviewer suggesting a name). NER's ``MISC`` hits written with letters French does not
   use (``Jürgen``, ``Björn``) are people too.
4. **Places**: a hit starting with ``Saint-``/``Sainte-`` (``Saint-Ouen``) is a place
   whatever NER says; street names (``rue``, ``avenue``, ``boulevard``, ``place``,
   ``impasse``... followed by capitalised words: ``rue Victor Hugo``, ``avenue du Général
   Leclerc``) become ``[VOIE_n]`` as a whole (``pseudonymise.streets: mask``, the default;
   ``keep`` keeps them as written, person names in them included). A street, with an age
   and a sex, can re-identify someone. ``à la place de``, ``au cours de``, ``en lieu et place
   de`` are idioms, not streets; ``à la place du Martray`` is a square (:func:`_square`) and
   ``au cours Mirabeau`` a street (:func:`_bare_name`).
5. **Handles**: a social-network or forum handle (``@jeanne_dupont``, ``@SociétéXYZ``; not an
   e-mail address) is a person: ``[PERSONNE_n]``, the same for the same handle across the
   project and waves (map key ``@jeanne_dupont``, :meth:`Pseudonymiser._handle`), the known
   person's placeholder when its words are a known name (``@MarieDurand``), kept when they are
   a ``pseudonymise.keep`` name (``@FranceServices``).
6. **Glued names**: a known person's name glued to the next word by the transcription
   (``Sandrinene``, ``Sandrineétait``) is replaced in that token when the rest is a French
   word and the whole token is not one (``années`` never loses ``Anne``).

``pseudonymise.enabled: false`` makes :meth:`Pseudonymiser.pseudonymise` return the texts
unchanged (the map is still kept for speaker names registered with :meth:`add_names`).

Words of ``pseudonymise.keep`` (generic institutions: ``France Services``, ``CAF``...) and
existing placeholders are never replaced. Speaker pseudonyms come from roles
(:meth:`Pseudonymiser.speaker_pseudo`), never from the real label.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pandas as pd

from .config import PseudonymiseConfig
from .errors import E, TextmineError
from .french import fold, load_nlp
from .pseudonymise_lex import (DISCOURSE, HONORIFICS, PARTICLES, PLACEHOLDER, PLACEHOLDER_KINDS, clean_label,
                               is_common_word, names_from_filename, normalise_key, stop_words)
from .vocabulary import ROLE_PREFIX

__all__ = ["Pseudonymiser", "names_from_filename", "normalise_key", "clean_label", "load_user_list",
           "speaker_pseudo", "KINDS", "MAP_COLUMNS"]

KINDS = PLACEHOLDER_KINDS
MAP_COLUMNS = ["kind", "key", "original", "placeholder", "first_seen"]
_NER_KIND = {"PER": "PERSONNE", "LOC": "LIEU", "ORG": "ORGANISATION", "MISC": "PERSONNE"}
_PLACEHOLDER = PLACEHOLDER     # pseudonymise_lex owns the placeholders' syntax (the segmenter reads it too)
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][\w’'-]*"
#: street types: with the capitalised words after them, a street name (``rue Victor Hugo``)
_STREET = re.compile(
    r"\b(?:rue|avenue|av\.|boulevard|bd|place|impasse|allée|allee|chemin|quai|cours|passage|square|villa|cité|"
    r"cite|route|faubourg|rond-point|esplanade|parvis|sentier|ruelle|voie|Rue|Avenue|Boulevard|Place|Impasse|"
    r"Allée|Chemin|Quai|Cours|Passage|Square|Villa|Cité|Route|Faubourg)\s+"
    r"(?:(?:de la|de l['’]|des|du|de|d['’]|la|le|les|l['’])\s*)?"
    rf"(?:{_CAP_WORD}|\d+)(?:[\s-]+(?:(?:de la|de l['’]|des|du|de|d['’]|la|le|les|l['’]|et)\s*)?{_CAP_WORD})*")
#: words after which a capitalised word is a person: honorifics, titles, ``chez``, ``avec``
_PERSON_CUE = re.compile(
    r"(?:\b(?:monsieur|madame|mademoiselle|messieurs|mesdames|M\.|Mme|Mlle|Mr|Dr|docteur|maître|maitre|"
    r"professeur|architecte|abbé|curé|pasteur|notaire|avocat|avocate|commissaire|inspecteur|inspectrice|"
    r"chez|avec|Monsieur|Madame|Mademoiselle|Docteur|Maître)\s+)"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD})?)")
_SAINT = re.compile(r"^(?:saint|sainte|st|ste)[\s-]", re.IGNORECASE)
_NON_FRENCH_LETTER = re.compile(r"[äöüßåøñãõæ]", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: a social-network or forum handle (``@jeanne_dupont``, ``@SociétéXYZ``): ``@`` then letters (accents
#: included), digits, ``_``, ``.``, ``-``, ending on a letter or digit, with a letter in it; an ``@``
#: glued to a word (an e-mail address, ``jean@exemple``) starts none
_HANDLE = re.compile(r"(?<![\w.+@-])@(?=[\w.-]*[^\W\d_])(\w(?:[\w.-]*\w)?)")
_CAMEL = re.compile(r"(?<=[^\W\d_])(?<![A-ZÀ-ÖØ-Þ])(?=[A-ZÀ-ÖØ-Þ])")
_PHONE = re.compile(r"(?<![\d\w])(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?![\d\w])")
_TOKEN = re.compile(r"\w+")
_SEP_OK = re.compile(r"[\s\-'’]*")
_SENT_END = re.compile(r"(?:^|[.!?…:;«\"\n]\s*)$")
_PLACE_PREP = re.compile(r"(?:^|\s)(?:à|a|vers|depuis|jusqu'à|jusqu’à)\s+$", re.IGNORECASE)
_ELIDED = re.compile(r"^[A-Za-z]{1,5}['’](?=\w)")



class _Ent(NamedTuple):
    """What pseudonymisation reads of a spaCy entity."""

    text: str
    label_: str
    start_char: int
    end_char: int


class _Doc(NamedTuple):
    """What pseudonymisation reads of a spaCy doc: its text and NER's hits."""

    text: str
    ents: tuple[_Ent, ...]


def ner_texts(texts: list[str]) -> list[str]:
    """The texts NER reads, in order: hits must be capitalised, so texts without capitals
    (lowercase CFPP-style transcripts) skip it."""
    return [t for t in texts if t != t.lower()]


def entity_spans(nlp: Any, texts: list[str]) -> dict[str, tuple[tuple[str, int, int], ...]]:
    """NER's hits in :func:`ner_texts` of ``texts``: ``{text: ((label, start, end), ...)}``, with
    ``nlp`` a pipeline with ``ner`` (:attr:`Pseudonymiser.nlp`), batched as
    :meth:`Pseudonymiser.pseudonymise` does (ingest runs it in worker processes for many texts)."""
    need = ner_texts(texts)
    return {t: tuple((e.label_, e.start_char, e.end_char) for e in doc.ents)
            for t, doc in zip(need, nlp.pipe(need, batch_size=32))}


def speaker_pseudo(role: str | None, index: int) -> str:
    """``ENQ1``, ``CONUM2``, ``AUTRE1``...: from the role only, never from the real label."""
    prefix = ROLE_PREFIX.get(role or "other") or re.sub(r"[^A-Z0-9]", "", fold(role or "", keep_length=True).upper())[:8] or "REP"
    return f"{prefix}{int(index)}"


def load_user_list(path: str | Path) -> list[tuple[str, str]]:
    """Read a user list: one name per line, or ``name<TAB>KIND``; ``#`` comments and blank
    lines are skipped. Raises E202 (with file and line) on a bad kind or a bad line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TextmineError(E.E202, path=p, detail=f"cannot read the file ({exc})") from exc
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        kind = (fields[1].upper() if len(fields) > 1 else "") or "PERSONNE"
        if len(fields) > 2 or not fields[0] or kind not in KINDS or not _TOKEN.search(fields[0]):
            raise TextmineError(E.E202, path=p, line=n, detail=f"line {n}: {line.strip()[:60]!r}")
        out.append((fields[0], kind))
    return out


@dataclass
class _Entry:
    kind: str
    placeholder: str
    cap: bool          # match only when the first letter is capitalised


class Pseudonymiser:
    """Replace personal names with project-wide placeholders (see the module doc).

    ``existing`` is ``store.pseudonym_map()`` (or None); ``nlp`` an already loaded spaCy
    pipeline with ``ner`` (default: :func:`textmine.french.load_nlp` of
    ``cfg.spacy_model`` with only ``ner``). ``source`` labels new map rows (``first_seen``).
    """

    def __init__(self, existing: pd.DataFrame | None, cfg: PseudonymiseConfig, nlp: Any = None, *,
                 source: str | None = None, base_dir: str | Path | None = None) -> None:
        self.cfg = cfg
        self._nlp = nlp
        self.source = source or _dt.date.today().isoformat()
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._counters = {k: 0 for k in KINDS}
        self._new: list[dict] = []
        self._keep = {tuple(normalise_key(k).split()) for k in cfg.keep if normalise_key(k)}
        if existing is not None and not existing.empty:
            for r in existing.itertuples(index=False):
                key = tuple(str(r.key).split())
                m = re.fullmatch(r"\[([A-Z]+)_(\d+)\]", str(r.placeholder))
                if m and m.group(1) in self._counters:
                    self._counters[m.group(1)] = max(self._counters[m.group(1)], int(m.group(2)))
                if key and key not in self._entries:
                    cap = str(r.first_seen or "").startswith("ner:") or is_common_word(" ".join(key))
                    self._entries[key] = _Entry(str(r.kind), str(r.placeholder), cap)
        self._reindex()
        if cfg.user_list:
            path = Path(cfg.user_list)
            if base_dir is not None and not path.is_absolute():
                path = Path(base_dir) / path
            for name, kind in load_user_list(path):
                self.add_names([name], kind=kind, _clean=False)

    # ------------------------------------------------------------------ registry
    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = load_nlp(self.cfg.spacy_model, only=["ner"])
        return self._nlp

    def _reindex(self) -> None:
        self._first = {k[0] for k in self._entries} | {k[0] for k in self._keep}
        self._maxlen = max([len(k) for k in self._entries] + [len(k) for k in self._keep] + [1])
        self._persons = {k[0] for k, e in self._entries.items() if len(k) == 1 and e.kind == "PERSONNE"
                         and len(k[0]) >= 3}

    def _register(self, key: tuple[str, ...], original: str, kind: str, *, placeholder: str | None = None,
                  cap: bool = False, origin: str = "name") -> str | None:
        """Add ``key`` unless present or kept; returns its placeholder."""
        if not key or key in self._keep:
            return None
        if key in self._entries:
            return self._entries[key].placeholder
        if placeholder is None:
            self._counters[kind] += 1
            placeholder = f"[{kind}_{self._counters[kind]}]"
        self._entries[key] = _Entry(kind, placeholder, cap or is_common_word(" ".join(key)))
        self._new.append({"kind": kind, "key": " ".join(key), "original": original, "placeholder": placeholder,
                          "first_seen": f"{origin}:{self.source}"})
        self._first.add(key[0])
        self._maxlen = max(self._maxlen, len(key))
        if kind == "PERSONNE" and len(key) == 1 and len(key[0]) >= 3:
            self._persons.add(key[0])
        return placeholder

    def add_names(self, names: Iterable[str], kind: str = "PERSONNE", *, _clean: bool = True,
                  _origin: str = "name") -> None:
        """Register known names. Speaker labels are cleaned first (``(ENQ)``, ``speaker#2``,
        ``inconnu``... are not names). For a person, the full name, both word orders, the
        surname and each part (first name, last name, parts of compound surnames) share the
        person's placeholder; a part already used by another person keeps its first owner;
        stop words and particles (``de``, ``du``, ``le``) are never parts, and a label that is
        not shaped like a name (lowercase words: ``quartier des Tilleuls``) has no parts."""
        if kind not in KINDS:
            raise TextmineError(E.E202, detail=f"unknown kind {kind!r}")
        for raw in names:
            label = clean_label(raw) if _clean else (raw or "").strip()
            key = tuple(normalise_key(label or "").split())
            if not key or all(k in stop_words() or len(k) < 2 for k in key):
                continue
            if kind == "PERSONNE" and is_saint_place(label):   # "Saint-Ouen" is a place, not a person
                self._register(key, label, "LIEU", cap=_origin == "ner", origin=_origin)
                continue
            if kind != "PERSONNE":
                ph = self._register(key, label, kind, origin=_origin)
                while ph and len(key) > 1 and key[0] in PARTICLES:   # "Les Trois Chênes" -> "Trois Chênes"
                    key = key[1:]
                    self._register(key, label, kind, placeholder=ph, origin=_origin)
                continue
            cap = _origin == "ner"
            ph = self._register(key, label, kind, cap=cap, origin=_origin)
            if ph is None:
                continue
            kind_ph = self._entries[key].kind   # a key first seen as a place keeps its kind
            if not _person_like(label):
                continue                        # "quartier des Tilleuls": the full name only
            words = [tuple(normalise_key(w).split()) for w in label.split()]
            words = [w for w in words if w and not (len(w) == 1 and (w[0] in PARTICLES or len(w[0]) < 2))]
            variants: list[tuple[str, ...]] = []
            if len(words) >= 2:
                variants.append(sum(words[1:] + words[:1], ()))           # "Castagnet Florence"
                rest = sum(words[1:], ())
                variants.append(rest)                                     # surname, incl. "du Breuil"
                while rest and rest[0] in PARTICLES:
                    rest = rest[1:]
                    variants.append(rest)                                 # "Breuil de Pont en Auge"
            if not cap:
                variants += [w for w in words]                            # each word: "Florence", "Jean Paul"
            for w in words[1:]:
                variants += [(p,) for p in w if len(w) > 1 and len(p) > 2 and p not in PARTICLES
                             and not is_common_word(p)]                   # "Marchetti", "Vial" (not "Pont")
            for v in variants:
                if v and v not in self._entries and not all(p in stop_words() for p in v):
                    self._register(v, label, kind_ph, placeholder=ph, cap=cap, origin=_origin)

    def add_communes(self, names: Iterable[str]) -> None:
        self.add_names(names, kind="COMMUNE", _clean=False)

    names_from_filename = staticmethod(names_from_filename)

    def new_rows(self) -> pd.DataFrame:
        """Map rows created since construction (for ``store.add_pseudonyms``)."""
        return pd.DataFrame(self._new, columns=MAP_COLUMNS)

    def speaker_pseudo(self, role: str | None, index: int) -> str:
        return speaker_pseudo(role, index)

    # ------------------------------------------------------------------ matching
    def _scan(self, text: str, folded: str | None = None, *, keep_only: bool = False) -> list[tuple[int, int, Any]]:
        """Longest-first known-name / keep-list matches: ``[(start, end, _Entry | None)]``
        (None = protected by the keep list)."""
        folded = fold(text, keep_length=True) if folded is None else folded
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(folded)]
        spans = []
        i, n = 0, len(toks)
        while i < n:
            if toks[i][2] not in self._first:
                glued = None if keep_only else self._glued(text, toks[i])
                if glued is not None:
                    spans.append(glued)
                i += 1
                continue
            hit = None
            last = i
            for j in range(i + 1, min(n, i + self._maxlen)):   # extent of sep-joined tokens
                if not _SEP_OK.fullmatch(folded, toks[j - 1][1], toks[j][0]):
                    break
                last = j
            for j in range(last, i - 1, -1):
                key = tuple(t[2] for t in toks[i:j + 1])
                if key in self._keep:
                    hit = (j, None)
                    break
                e = None if keep_only else self._entries.get(key)
                if e is not None and (not e.cap or text[toks[i][0]].isupper()):
                    hit = (j, e)
                    break
            if hit is None:
                i += 1
                continue
            spans.append((toks[i][0], toks[hit[0]][1], hit[1]))
            i = hit[0] + 1
        return spans

    def _glued(self, text: str, tok: tuple[int, int, str]) -> tuple[int, int, "_Entry"] | None:
        """A known person's single-word name glued to the next word in token ``tok``
        (``Sandrinene``): ``(start, end, entry)`` of the name part, else None."""
        a, b, w = tok
        if len(w) < 5 or not self._persons:
            return None
        for cut in range(len(w) - 2, 2, -1):          # the longest name first; the rest has 2 letters or more
            if w[:cut] not in self._persons:
                continue
            e = self._entries.get((w[:cut],))
            word = text[a:b]
            if e is None or (e.cap and not word[0].isupper()):
                continue
            if is_common_word(word[cut:]) and not is_common_word(word):
                return (a, a + cut, e)
        return None

    def _candidates(self, doc: Any) -> list[tuple[str, str]]:
        """Accepted NER and person-cue hits of one doc: ``[(surface text, kind)]`` (see the module doc)."""
        out = []
        text = doc.text
        streets = street_spans(text) + [m.span() for m in _HANDLE.finditer(text)]   # and handles

        def in_street(a: int, b: int) -> bool:
            return any(x < b and a < y for x, y in streets)

        for ent in doc.ents:
            kind = _NER_KIND.get(ent.label_)
            if ent.label_ == "MISC":      # NER calls foreign first names MISC ("Jürgen"): people
                if "PER" not in self.cfg.entity_types or not _NON_FRENCH_LETTER.search(ent.text):
                    continue
            elif kind is None or ent.label_ not in self.cfg.entity_types:
                continue
            s, e = ent.start_char, ent.end_char
            if in_street(s, e):
                continue                                   # a street or a handle is replaced (or kept) as a whole
            inner = self._scan(text[s:e], keep_only=True)     # keep-list words split the hit
            pieces, pos = [], 0
            for a, b, _ in inner:
                pieces.append((s + pos, s + a))
                pos = b
            pieces.append((s + pos, e))
            for a, b in pieces:
                cand = _trim(text, a, b)
                if cand and _accept(text, *cand, kind):
                    surface = text[cand[0]:cand[1]]
                    out.append((surface, "LIEU" if kind == "PERSONNE" and is_saint_place(surface) else kind))
        if "PER" in self.cfg.entity_types:
            titled = []
            for m in _PERSON_CUE.finditer(text):
                cand = _trim(text, *m.span(1))
                if cand and not in_street(*cand) and _cue_person(text[cand[0]:cand[1]]):
                    # after an honorific or a title it is a person whatever NER says; after chez/avec, NER's kind wins
                    (out if m.group(0).split()[0].lower() in ("chez", "avec") else titled).append(
                        (text[cand[0]:cand[1]], "PERSONNE"))
            out = titled + out
        return out

    def pseudonymise(self, texts: list[str], *, source: str | None = None,
                     entities: dict[str, tuple] | None = None) -> list[str]:
        """Pseudonymised copies of ``texts`` (same order). Deterministic for a given map,
        name registry and input order. ``entities``: NER's hits in these texts as
        :func:`entity_spans` found them (ingest's worker processes), instead of running NER here."""
        if source:
            self.source = source
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not self.cfg.enabled:
            return list(texts)
        need = ner_texts(texts)
        if need:
            if entities is None or any(t not in entities for t in need):
                entities = entity_spans(self.nlp, texts)
            docs = [_Doc(t, tuple(_Ent(t[a:b], label, a, b) for label, a, b in entities[t])) for t in need]
            found = [(surface, kind, tuple(normalise_key(surface).split()))
                     for doc in docs for surface, kind in self._candidates(doc)]
            full_names = {}        # people's full names NER found in this batch, by first word
            for surface, kind, key in found:
                if kind == "PERSONNE" and len(key) > 1:
                    full_names.setdefault(key[0], {}).setdefault(key, surface)
            for surface, kind, key in found:
                if key in self._entries or key in self._keep:
                    continue
                if kind == "PERSONNE" and len(key) == 1 and self._glued(surface, (0, len(surface), key[0])):
                    continue      # a known name glued to the next word: replaced in place, not a new person
                if kind != "PERSONNE":
                    self._register(key, surface, kind, cap=True, origin="ner")
                elif (owner := self._sole_bearer(key, full_names)) is not None:
                    self._register(key, surface, "PERSONNE", placeholder=owner, cap=True, origin="ner")
                else:
                    self.add_names([surface], _clean=False, _origin="ner")
        return [self._replace(t) for t in texts]

    def _handle(self, handle: str) -> str | None:
        """Placeholder of the handle ``@handle`` (None: a keep-list name, kept as written).

        Its map key is ``@`` and its words joined by ``_`` (``@Jeanne.Dupont``, ``@jeanne_dupont``
        and ``@JeanneDupont`` are one key, never matched as a name in running text), so the same
        handle keeps its placeholder across texts and waves. A new handle whose words are a known
        name (``@MarieDurand``, ``@marie_durand`` or ``@mariedurand`` when "Marie Durand" is known)
        takes that name's placeholder; any other handle is a new person."""
        words = tuple(normalise_key(_CAMEL.sub(" ", handle)).split())
        hkey = ("@" + "_".join(words),)
        if hkey in self._entries:
            return self._entries[hkey].placeholder
        joined = "".join(words)
        if words in self._keep or any("".join(k) == joined for k in self._keep):
            return None
        known = {e.placeholder: e.kind for k, e in self._entries.items()
                 if (k == words or (len(k) > 1 and "".join(k) == joined)) and not k[0].startswith("@")}
        ph, kind = next(iter(known.items())) if len(known) == 1 else (None, "PERSONNE")
        return self._register(hkey, "@" + handle, kind, placeholder=ph, origin="handle")

    def _sole_bearer(self, key: tuple[str, ...], batch: dict[str, dict]) -> str | None:
        """Placeholder of the one person whose full name starts with the single word ``key``
        ("Sandrine" -> "Sandrine Vautrin"), among the known names and the full names NER found
        in the same batch (registered now if needed); None when there is none or several."""
        if len(key) != 1:
            return None
        owners: set = {e.placeholder for k, e in self._entries.items()
                       if len(k) > 1 and k[0] == key[0] and e.kind == "PERSONNE"}
        owners |= {k for k in batch.get(key[0], {}) if k not in self._entries}
        if len(owners) != 1:
            return None
        owner = owners.pop()
        if isinstance(owner, tuple):      # a full name met later in the batch: it is registered first
            self.add_names([batch[key[0]][owner]], _clean=False, _origin="ner")
            entry = self._entries.get(owner)  # (not registered when it is only stop words)
            return entry.placeholder if entry is not None else None
        return owner

    def _replace(self, text: str) -> str:
        if not text:
            return text
        fixed = [(m.start(), m.end(), None) for m in _PLACEHOLDER.finditer(text)]
        fixed += [(m.start(), m.end(), "[EMAIL]") for m in _EMAIL.finditer(text)]
        fixed += [(m.start(), m.end(), "[TELEPHONE]") for m in _PHONE.finditer(text)]
        if "@" in text:
            fixed += [(m.start(), m.end(), self._handle(m.group(1))) for m in _HANDLE.finditer(text)]
        streets = []
        for a, b in street_spans(text):                 # before the names they may contain
            if self.cfg.streets == "keep":
                streets.append((a, b, None))
            else:
                key = tuple(normalise_key(text[a:b]).split())
                ph = self._entries[key].placeholder if key in self._entries else \
                    self._register(key, text[a:b], "VOIE", cap=True, origin="street")
                streets.append((a, b, ph))
        fixed += streets
        spans = [(a, b, e.placeholder if e is not None else None) for a, b, e in self._scan(text)]
        out, pos = [], 0
        for a, b, rep in sorted(fixed + spans, key=lambda x: (x[0], -x[1])):
            if a < pos:
                continue
            out.append(text[pos:a])
            out.append(rep if rep is not None else text[a:b])
            pos = b
        out.append(text[pos:])
        return "".join(out)


def mask_known(text: str, existing: pd.DataFrame | None, cfg: PseudonymiseConfig) -> str:
    """``text`` (a search query) with what the project masks replaced as in its texts: every name
    of the map ``existing`` in any case (names that are also common words only when
    capitalised, as in the transcripts), e-mails, phone numbers, handles and streets. No NER runs
    and nothing is added to the map. A query is compared with embeddings of the analysis text,
    which holds the real names: a name left in the query would rank first the passages that
    name that person, whose text is shown pseudonymised (an oracle for "who is in the corpus")."""
    if not cfg.enabled or not text:
        return text
    # only the names whose every word is in the query can match it: the others need no
    # common-word test, whose lexicon (spaCy's lookups) takes seconds to load in a new process
    words = set(normalise_key(text).split())
    if existing is not None and not existing.empty:
        keys = existing["key"].astype(str).str.split()
        existing = existing[keys.map(lambda k: bool(k) and set(k) <= words)]
    p = Pseudonymiser(existing, cfg.model_copy(update={"user_list": None}), nlp=None)
    if cfg.user_list:       # the user's list: its names that share a word with the query (their parts too)
        for name, kind in load_user_list(Path(cfg.user_list)):
            if (words & set(normalise_key(name).split())) - PARTICLES:     # "le" of "Le Bihan" is not enough
                p.add_names([name], kind=kind, _clean=False)
    for key, entry in p._entries.items():
        entry.cap = is_common_word(" ".join(key))
    return p._replace(text)


_IDIOM_BEFORE = re.compile(r"(?:\bà\s+(?:la|ma|sa|ta|leur|votre|notre)|\bau|\ben|\bsur\s+le|\bdu|\bdans\s+le|"
                           r"\blieu\s+et)\s+$", re.IGNORECASE)
_A_LA = re.compile(r"\bà\s+la\s+$", re.IGNORECASE)
#: the words after ``place``: the link (``du``, ``de la``...) and the first word of the name
_PLACE_NAME = re.compile(r"\S+\s+(?:(de\s+la|des|du|de)\s+|(de\s+l|d)['’]\s*)?(\w[\w-]*)", re.IGNORECASE)
_IDIOM_TYPES = {"place", "cours", "passage", "chemin", "route", "voie", "cite", "villa", "square"}


def street_spans(text: str) -> list[tuple[int, int]]:
    """Street names in ``text`` (``rue Victor Hugo``, ``place de la République``), as
    ``(start, end)``; idioms such as ``à la place de``, ``au cours de`` are not streets."""
    out = []
    for m in _STREET.finditer(text):
        kind = fold(m.group().split()[0], keep_length=True).lower()
        if (kind in _IDIOM_TYPES and _IDIOM_BEFORE.search(text, 0, m.start()) and not _square(text, m)
                and not _bare_name(m, kind)):
            continue
        out.append(m.span())
    return out


def _square(text: str, m: re.Match) -> bool:
    """``à la place du Martray``, ``à la place Vendôme``: a square after ``à la``, not the idiom
    ``à la place de`` ("instead of": ``à la place de Ysolde``, ``à la place du Département``,
    ``à la place de la CAF``). It is a square when the name is not linked by a bare ``de``/``d'``
    (that is the idiom before a person) and its first word is no common French word and no acronym."""
    if fold(m.group().split()[0], keep_length=True).lower() != "place" or not _A_LA.search(text, 0, m.start()):
        return False
    p = _PLACE_NAME.match(m.group())
    if p is None or (p.group(1) or p.group(2) or "").lower() in ("de", "d"):
        return False
    word = p.group(3)
    return not word.isupper() and not is_common_word(word)


def _bare_name(m: re.Match, kind: str) -> bool:
    """``au cours Mirabeau``, ``au passage Pommeraye``: a street type other than ``place`` followed
    directly by a name is a street even after ``au``/``en``; the idioms link their complement
    (``au cours de l'année``, ``au cours du Moyen Âge``) or take no capitalised word
    (``au passage, ...``). ``place`` has its own rule (:func:`_square`: ``à ma place Jeanne...``)."""
    if kind == "place":
        return False
    p = _PLACE_NAME.match(m.group())
    if p is None or p.group(1) or p.group(2):
        return False
    word = p.group(3)
    return word[:1].isupper() and not word.isupper() and not is_common_word(word)


def is_saint_place(name: str) -> bool:
    """``Saint-Ouen``, ``Sainte-Geneviève-des-Bois``: a hyphenated saint's name is a place."""
    return bool(_SAINT.match(name.strip())) and "-" in name


def _cue_person(surface: str) -> bool:
    """A name after a person cue (``monsieur Bourdin``, ``chez Dubois``): capitalised, not
    written all in capitals (``NPERS``, an anonymisation mark), not a common French word."""
    first = surface.split()[0]
    return (sum(c.isalpha() for c in first) >= 2 and not first.isupper() and not is_common_word(first)
            and normalise_key(first) not in HONORIFICS and not is_saint_place(surface))


def _person_like(label: str) -> bool:
    """A label shaped like a person's name: at most 5 words, all capitalised but particles."""
    words = label.split()
    return len(words) <= 5 and all(w[:1].isupper() or normalise_key(w) in PARTICLES for w in words)


def _trim(text: str, a: int, b: int) -> tuple[int, int] | None:
    """Shrink ``text[a:b]`` to its capitalised words (see the module doc)."""
    words = [[m.start() + a, m.end() + a] for m in re.finditer(r"\S+", text[a:b])]
    for w in words:   # strip surrounding punctuation
        while w[0] < w[1] and not text[w[0]].isalnum():
            w[0] += 1
        while w[1] > w[0] and not text[w[1] - 1].isalnum():
            w[1] -= 1
    words = [w for w in words if w[1] > w[0]]
    while words:
        w = words[0]
        el = _ELIDED.match(text, w[0], w[1])
        if el:
            w[0] = el.end()
        key = normalise_key(text[w[0]:w[1]])
        if text[w[0]].isupper() and key not in HONORIFICS and key not in DISCOURSE and key not in stop_words():
            break
        words.pop(0)
    while words and not (text[words[-1][0]].isupper() or text[words[-1][0]].isdigit()):
        words.pop()
    return (words[0][0], words[-1][1]) if words else None


def _accept(text: str, a: int, b: int, kind: str) -> bool:
    surface = text[a:b]
    key = normalise_key(surface)
    if sum(c.isalpha() for c in surface) < 2 or not surface[0].isupper():
        return False
    if " " not in key:
        if key in stop_words() or key in DISCOURSE or key in HONORIFICS:
            return False
        # one common word: a place/organisation hit is a demonym or a common noun ("Chinois",
        # "République"); a person hit is kept unless it opens a sentence ("Marie" vs "Écoutez")
        if is_common_word(surface):
            if kind == "PERSONNE" and not _SENT_END.search(text, 0, a):
                return True
            return kind == "LIEU" and bool(_PLACE_PREP.search(text, 0, a))   # "à Pannes", "vers Tours"
    return True
