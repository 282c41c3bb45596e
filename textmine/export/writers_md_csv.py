"""Quote bank writers: Markdown and CSV."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from ..i18n import QUOTE_BANK, strings
from .cells import to_csv
from .quote_model import QUOTE_COLUMNS, attributed, grouped

#: Markdown emphasis and code marks: ``*``, `` ` ``, ``~``, and ``_`` unless inside a word
#: (``[PERSONNE_3]``, ``mot_de_passe`` stay as written: CommonMark makes no emphasis there)
_MD_MARKS = re.compile(r"[*`~]|(?<!\w)_|_(?!\w)")


def _md_escape(text) -> str:
    """Text safe in a Markdown line or table cell: HTML (``<img onerror=…>`` from metadata)
    escaped, newlines folded, pipes and emphasis marks escaped (a transcript's ``*rires*`` or an
    unbalanced ``*`` would turn the rest of a quote into italics)."""
    text = html.escape(str(text), quote=False).replace("\n", " ").replace("|", "\\|")
    return _MD_MARKS.sub(lambda m: "\\" + m.group(), text)


def write_md(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr",
             page_size: str = "A4") -> None:
    t = strings(QUOTE_BANK, language)
    title, wave_w, q_w, prov_w, src_w = t["title"], t["wave"], t["question"], t["provenance"], t["source"]
    lines = [f"# {title}", ""]
    if df.empty:
        lines += [t["empty_md"], ""]
    for theme_label, waves in grouped(df):
        lines += [f"## {_md_escape(theme_label)}", ""]
        for wave, roles in waves:
            lines += [f"### {wave_w} {_md_escape(wave)}", ""]
            for role_label, rows in roles:
                lines += [f"#### {_md_escape(role_label)}", ""]
                for r in rows.itertuples(index=False):
                    if r.question:
                        lines.append(f"> *{q_w} : {_md_escape(r.question)}*  ")
                    lines.append(f"> « {_md_escape(r.quote)} » {_md_escape(attributed(r))}")
                    lines += ["", f"<sub>`{r.quote_id}` · {src_w} : {_md_escape(r.source)}</sub>", ""]
    lines += [f"## {prov_w}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in prov]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(df: pd.DataFrame, path: Path, prov: list[tuple[str, str]], language: str = "fr",
              page_size: str = "A4") -> None:
    """One row per quote, every column; UTF-8 with BOM so Excel reads accents; formula-safe cells."""
    to_csv(df.reindex(columns=QUOTE_COLUMNS), path, bom=True)
