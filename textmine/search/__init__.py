"""Hybrid search over respondent segments (BM25 over spaCy lemmas + embeddings, RRF) and KWIC.

    from textmine.search import search, kwic
    hits = search(store, "faire à la place", themes=["autonomie"], waves=["2"], mode="hybrid")
    lines = kwic(store, hits, "faire à la place")
"""
from .index import SearchIndex, get_index, refresh_index, update_index
from .kwic import format_kwic, kwic
from .query import MODES, RESULT_COLUMNS, check_options, search

__all__ = ["search", "check_options", "kwic", "format_kwic", "update_index", "get_index", "refresh_index",
           "SearchIndex", "MODES", "RESULT_COLUMNS"]
