"""The one word-count definition shared by every parser, the store and the tests.

A *word* is a maximal run of letters or digits, where an apostrophe or hyphen between two
such runs joins them (``aujourd'hui``, ``peut-être``, ``c'est`` count as one word each).
Punctuation, noise marks such as ``+`` or ``///`` and bare brackets count for nothing; the
letters inside bracketed annotations (``[rires]``) do count, because they are in the text.
"""
from __future__ import annotations

import re

_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def count_words(text: str | None) -> int:
    """Number of words in ``text`` (see module docstring); 0 for None/empty."""
    if not text:
        return 0
    return sum(1 for _ in _WORD_RE.finditer(text))
