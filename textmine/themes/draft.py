"""Start a codebook from the corpus: one theme per fitted topic (``textmine themes draft``).

Each topic of the current topic model (outliers excluded) becomes a theme skeleton:

- ``id``: ``t<topic>_<first two words>`` (lowercase, accents removed);
- ``label``: the topic's words, as the corpus writes them;
- ``definition``, ``include``, ``exclude``: empty, for the team to write (the codebook
  loads with them empty; ``themes list`` shows what is still to write);
- ``cues``: the topic's top words (a cue matches at the start of a word, so words of fewer
  than five letters are written as whole-word patterns ``re:\\bword\\b``);
- ``examples``: the topic's representative segments, pseudonymised, cut to
  :data:`EXAMPLE_WORDS` words.

The team then merges, splits, renames and defines the themes: it is a starting point for
inductive coding, not a codebook.
"""
from __future__ import annotations

import datetime as _dt
import re

from ..topics.query import current_model_id, read_info, topics_table
from .codebook import normalise

EXAMPLE_WORDS = 60
MIN_WORD = 3


def _slug(words: list[str], n: int = 2) -> str:
    parts = [re.sub(r"[^a-z0-9]+", "_", normalise(w)).strip("_") for w in words[:n]]
    return "_".join(p for p in parts if p) or "theme"


def _cue(word: str) -> str | None:
    w = normalise(word).strip()
    if len(w) < MIN_WORD or not re.fullmatch(r"[a-z0-9' -]+", w):
        return None
    return w if len(w) >= 5 else "re:\\b" + re.escape(w) + "\\b"


def _example(text: str) -> str:
    words = str(text or "").split()
    return " ".join(words[:EXAMPLE_WORDS]) + (" …" if len(words) > EXAMPLE_WORDS else "")


def draft_codebook(store, *, n_cues: int = 8, n_examples: int = 3) -> tuple[dict, str]:
    """``(codebook data, header comment)`` drafted from the current topic model (E304 without one)."""
    mid = current_model_id(store)
    table = topics_table(store, mid)
    info = read_info(store, mid).set_index("topic")
    texts = store.segment_texts().set_index("segment_id")["text"]
    themes, seen = [], set()
    for row in table[table["id"] >= 0].itertuples():
        words = [w for w in row.words if w]
        cues = list(dict.fromkeys(c for c in (_cue(w) for w in words[:n_cues]) if c))
        ids = [s for s in info.loc[row.id, "representative_ids"] if s in texts.index][:n_examples]
        examples = [_example(texts[s]) for s in ids if str(texts[s]).strip()]
        if not cues or not examples:
            continue
        tid = f"t{int(row.id):02d}_{_slug(words)}"
        while tid in seen:
            tid += "_b"
        seen.add(tid)
        themes.append({"id": tid, "label": ", ".join(words[:3]).capitalize(), "definition": "",
                       "include": [], "exclude": [], "cues": cues, "examples": examples})
    header = (f"Codebook drafted by `textmine themes draft` on {_dt.date.today().isoformat()} from topic model {mid}\n"
              f"({len(themes)} topics with {int(table[table['id'] >= 0]['count'].sum())} segments).\n"
              "A starting point for inductive coding: merge, split and rename the themes, write each\n"
              "definition and its include/exclude criteria, check the cues (a plain cue matches at the\n"
              "start of a word; `re:` cues are regular expressions) and the examples (pseudonymised).\n"
              "Check it with `textmine themes list --codebook FILE`; use it with `themes.codebook: FILE`\n"
              "in the project's textmine.yaml.")
    return {"version": 1, "language": "fr", "themes": themes}, header
