"""HTML building blocks: escaping, tables, the page skeleton (inline CSS, no script, no network)."""
from __future__ import annotations

import html
import math
from typing import Any, Iterable, Sequence

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:0 auto;padding:1.5rem;
color:#222;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #1f77b4;padding-bottom:.2rem;margin-top:2.2rem}
.sub{color:#555;margin-top:0}.privacy{background:#f3f7fb;border-left:4px solid #1f77b4;padding:.5rem .8rem}
nav ol{columns:2}table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.small td{color:#999;font-style:italic}
tr.sig td{font-weight:600}figure{margin:1rem 0}figure svg.chart{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#555}.note{font-size:.85rem;color:#555}
blockquote{margin:.6rem 0;padding:.4rem .8rem;border-left:3px solid #ccc;background:#fafafa}
blockquote .attr{display:block;font-size:.8rem;color:#666;margin-top:.2rem}
details{margin:.5rem 0}summary{cursor:pointer;font-weight:600}
@media print{nav{display:none}body{max-width:none;padding:0}figure,blockquote,tr{break-inside:avoid}
h2,h3{break-after:avoid}}
"""


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _local(text: str, lang: str) -> str:
    """French typography: decimal comma, true minus sign."""
    return text.replace(".", ",").replace("-", "\u2212") if lang == "fr" else text


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def pct(v: Any, digits: int = 1, lang: str = "en") -> str:
    """``12.5 %`` (``12,5 %`` in French)."""
    if _missing(v):
        return "–"
    return _local(f"{100 * float(v):.{digits}f}", lang) + "\u00a0%"


def signed_pct(v: Any, lang: str = "en") -> str:
    """``+1.5 pts`` (``+1,5 pts``, ``\u22121,5 pts`` in French)."""
    if _missing(v):
        return "–"
    return _local(f"{100 * float(v):+.1f}", lang) + "\u00a0pts"


def num(v: Any, digits: int = 3, lang: str = "en") -> str:
    """A count with thin-space thousands (``12\u202f345``) or a decimal with ``digits`` places;
    below ``10**-digits`` it reads ``< 0.001`` (``< 0,001``), never ``5.0e-04``."""
    if _missing(v):
        return "–"
    if isinstance(v, float):
        if v != 0 and abs(v) < 10 ** -digits:
            return "<\u00a0" + _local(f"{10 ** -digits:.{digits}f}", lang)
        return _local(f"{v:.{digits}f}", lang)
    return f"{v:,}".replace(",", "\u202f")


def decimal(v: float, lang: str = "en") -> str:
    """A short decimal as written in ``lang`` (``0.05`` / ``0,05``)."""
    return _local(f"{v:g}", lang)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Iterable[int] = (),
          row_classes: Iterable[str] | None = None, cls: str = "") -> str:
    """``rows`` hold already-formatted strings (escaped here)."""
    numeric = set(numeric)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    classes = list(row_classes) if row_classes is not None else None
    for i, r in enumerate(rows):
        rc = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{esc(v)}</td>' if j in numeric else f"<td>{esc(v)}</td>"
                        for j, v in enumerate(r))
        body.append(f"<tr{rc}>{cells}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def figure(svg: str, caption: str | None = None) -> str:
    """A chart (its title is inside it); ``caption``: how to read it, never the title again."""
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>" if caption else f"<figure>{svg}</figure>"


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


def page(lang: str, title: str, subtitle: str, privacy: str, toc_title: str,
         sections: list[tuple[str, str, str]], footer: str) -> str:
    toc = "".join(f'<li><a href="#{esc(sid)}">{esc(t)}</a></li>' for sid, t, _ in sections)
    body = "".join(section(sid, t, b) for sid, t, b in sections)
    return (f'<!DOCTYPE html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f'<header><h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>'
            f'<p class="privacy">{esc(privacy)}</p></header>'
            f'<nav><h3>{esc(toc_title)}</h3><ol>{toc}</ol></nav><main>{body}</main>'
            f'<footer class="note"><hr>{esc(footer)}</footer></body></html>\n')
