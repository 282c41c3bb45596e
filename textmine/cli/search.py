"""`textmine search QUERY`: hybrid search over respondent segments, with KWIC lines."""
from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..store import project_writable
from .common import FormatOpt, RevealOpt, check_format, emit, info, require_project, stage_progress, state


def register(app: typer.Typer) -> None:
    @app.command("search")
    def search_cmd(
        query: str = typer.Argument("", help="Words or a question, e.g. \"faire à la place\"."),
        theme: Optional[List[str]] = typer.Option(None, "--theme", "-t", help="Only segments the classifier assigned to this theme (repeatable)."),
        wave: Optional[List[str]] = typer.Option(None, "--wave", "-w", help="Only this wave (repeatable)."),
        role: Optional[List[str]] = typer.Option(None, "--role", "-r", help="Only this respondent role (repeatable)."),
        territory: Optional[List[str]] = typer.Option(None, "--territory", help="Only this territory (repeatable)."),
        attr: Optional[List[str]] = typer.Option(None, "--attr", help="Interview metadata filter key=value (repeatable)."),
        mode: Optional[str] = typer.Option(None, "--mode", "-m", help="hybrid (default), semantic or keyword."),
        limit: Optional[int] = typer.Option(None, "--limit", "-n", help="Number of results (default: config search.limit)."),
        kwic_: bool = typer.Option(False, "--kwic", help="Keyword-in-context lines instead of whole segments."),
        reveal: bool = RevealOpt,
        fmt: str = FormatOpt,
    ) -> None:
        """Search the interviews (pseudonymised text unless --reveal)."""
        from ..search import check_options, format_kwic, get_index, kwic, search
        check_format(fmt)
        store = require_project(read_only=not project_writable(state.project))
        try:
            check_options(store, query, themes=theme, waves=wave, roles=role, territories=territory, attrs=attr,
                          mode=mode, limit=limit, reveal=reveal)      # before any model or index is loaded
            if not store.read_only and query.strip():   # up to date: a signature check; else new segments are lemmatised
                with stage_progress("Indexing new segments (spaCy lemmas)") as bar:
                    get_index(store, **bar)
            hits = search(store, query, themes=theme, waves=wave, roles=role, territories=territory,
                          attrs=attr, mode=mode, limit=limit, reveal=reveal)
            if kwic_:
                lines = kwic(store, hits, query, reveal=reveal)
                if fmt == "table":
                    sys.stdout.write(format_kwic(lines, ref=True) + ("\n" if len(lines) else ""))
                else:
                    emit(lines, fmt)
                info(f"{len(lines)} occurrence(s) in {len(hits)} segment(s)")
                return
            if fmt == "table":
                emit(hits[["rank", "score", "text", "attribution", "source"]], fmt, title=f"search: {query}")
            else:
                emit(hits, fmt)
            info(f"{len(hits)} result(s)")
        finally:
            store.close()
