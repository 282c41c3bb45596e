"""Quote banks and REFI-QDA: `quotes export`, `export qdpx`, `import qdpx`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..export.cells import to_csv
from ..export.files import check_writable
from .common import FormatOpt, RevealOpt, check_format, emit, info, require_project, state


def register(app: typer.Typer) -> None:
    quotes_app = typer.Typer(help="Quote banks per theme, wave and role.", no_args_is_help=True)
    export_app = typer.Typer(help="Export the project for other tools.", no_args_is_help=True)
    import_app = typer.Typer(help="Import human codings from other tools.", no_args_is_help=True)
    app.add_typer(quotes_app, name="quotes")
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")

    @quotes_app.command("export")
    def quotes_export(
        output: Path = typer.Option(..., "--output", "-o", help="File to write (.md, .docx, .xlsx or .csv)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help="md, docx, xlsx or csv (default: from the file suffix)."),
        theme: Optional[List[str]] = typer.Option(None, "--theme", "-t", help="Only this theme (repeatable)."),
        wave: Optional[List[str]] = typer.Option(None, "--wave", "-w", help="Only this wave (repeatable)."),
        role: Optional[List[str]] = typer.Option(None, "--role", "-r", help="Only this role (repeatable)."),
        per_group: int = typer.Option(3, "--per-group", "-n", help="Quotes per theme x wave x role."),
        with_question: bool = typer.Option(False, "--with-question", help="Show the interviewer's question before each quote."),
        reveal: bool = RevealOpt,
    ) -> None:
        """Write a quote bank (pseudonymised unless --reveal)."""
        from ..errors import E, TextmineError
        from ..export.quotes import FORMATS, select_quotes, write_quotes
        f = (fmt or output.suffix.lstrip(".")).lower()
        if f not in FORMATS:
            raise TextmineError(E.E604, path=output, detail=f"{f!r}; valid: {', '.join(FORMATS)}")
        check_writable(output)         # before the quotes are selected and embedded
        store = require_project()
        try:
            df = select_quotes(store, themes=theme, waves=wave, roles=role, per_group=per_group,
                               with_question=with_question, reveal=reveal)
            if df.empty:
                raise TextmineError(E.E006, detail="no assigned theme coding matches these filters")
            write_quotes(df, output, f, language=store.config.report.language,
                         page_size=store.config.report.page_size)
        finally:
            store.close()
        info(f"{len(df)} quote(s), {df['theme'].nunique()} theme(s) -> {output}")

    @export_app.command("qdpx")
    def export_qdpx(
        output: Path = typer.Option(..., "--output", "-o", help="The .qdpx file to write."),
        reveal: bool = RevealOpt,
    ) -> None:
        """REFI-QDA project (NVivo, ATLAS.ti, MAXQDA, QualCoder) with sources, codes, codings, cases."""
        from ..export.qdpx import write_qdpx
        check_writable(output)
        store = require_project()
        try:
            write_qdpx(store, output, reveal=reveal)
        finally:
            store.close()
        info(f"REFI-QDA project -> {output}")

    @import_app.command("qdpx")
    def import_qdpx(
        file: Path = typer.Argument(..., help="A .qdpx exported by a QDA program."),
        mapping: Optional[Path] = typer.Option(None, "--mapping", help="CSV (code,theme[,posture]) or YAML from QDA code names to theme ids."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the coded CSV here (id,text,themes,posture,interview_id,role,wave,territory,segment_id)."),
        fmt: str = FormatOpt,
    ) -> None:
        """Read human codings back as a coded CSV for `themes train`.

        Prints what was read per source (selections, mapped, unmapped, split by speaker turn)
        and the codes without a theme; exits with E606 when nothing could be imported. With
        --project, `segment_id` names the stored segment of each passage."""
        from rich.markup import escape

        from ..export.files import atomic_write
        from ..export.qdpx import import_summary, read_qdpx_codings, require_codings
        from ..themes.codebook import load_codebook
        check_format(fmt)
        segments = None
        if state.project is not None:
            store = require_project(read_only=True)
            try:
                codebook = load_codebook(store.config.codebook_path())
                segments = store.segments_frame(roles="respondents")
            finally:
                store.close()
        else:
            codebook = load_codebook()
        df = read_qdpx_codings(file, mapping=mapping, codebook=codebook, segments=segments)
        for line in import_summary(df, codebook.ids):
            info(escape(line))
        require_codings(df, file)
        if output:
            atomic_write(output, lambda tmp: to_csv(df, tmp))
            info(f"{len(df)} coded passage(s) -> {escape(str(output))}")
        else:
            emit(df, fmt)
