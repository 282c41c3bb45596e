"""Reading a coded sheet back (``textmine themes calibrate --coded FILE``) and storing its codes.

A sheet is checked whole before anything is stored (one transaction): every problem is a coded
error naming the file and the row or cell, and nothing of the sheet is kept.

Tolerated, as a person would expect: rows in any order, deleted or added columns other than
``segment_id`` and the coding columns, extra sheets, numbers stored as text, spaces around values,
``1``, ``1.0``, ``x``, ``oui``, ``yes``, ``vrai`` for yes in a theme column (``0``, ``non``, empty
for no), theme ids in any case, ``,`` or ``|`` between ids, a posture sub-label written with
spaces or accents (``faire à la place``), a posture sub-label without its theme (the posture
theme is added), the same segment twice with the same codes (kept once), a CSV saved by Excel
with ``;`` and in Windows-1252.

Refused (E408 unless said): a formula in a coding cell; an unknown theme id or posture; a
segment that is not in this project (deleted or changed by a re-ingest); a segment that no
calibration sample drew; a segment whose text changed since the sample was drawn; the same
segment twice with different codes; a sheet where no row has any theme, a pre-filled sheet whose
other rows are all empty, or rows left empty in a sheet coded with 1/0 (some row holds a 0): not
coded yet, each would be stored as a human "no theme" (``--allow-empty`` accepts them as such); a
sheet from another project (E410). A sheet that ends with a run of empty rows its theme rate makes
implausible (< 1 %) is stored with a warning: in a CSV, an uncoded row and a coded "none of them"
read the same (``--replace`` withdraws rows deleted from the sheet since).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import E, TextmineError
from ..export.qdpx_export import source_text
from ..export.qdpx_import import read_qdpx_codings
from ..export.sheet import PREFILL_COLUMN, QDPX_PREFIX, Sheet, prefilled_by, read_sheet
from ..store import Store
from ..themes.codebook import POSTURE_LABELS, Codebook, load_codebook, normalise
from . import tables

YES = {"1", "1.0", "x", "oui", "o", "yes", "y", "vrai", "true", "v", "✓", "✔", "+"}
NO = {"", "0", "0.0", "non", "n", "no", "faux", "false", "-"}
DEFAULT_CODER = "human"
QDPX_MIN_OVERLAP = 20        # characters of a segment a QDA selection must cover to code it


@dataclass
class Imported:
    codes: pd.DataFrame                          # tables.CODE_COLUMNS
    coder: str
    samples: list[str]
    notes: list[str] = field(default_factory=list)


def _split(value: str) -> list[str]:
    return [t.strip() for t in re.split(r"[;,|]", value or "") if t.strip()]


def _posture_value(raw: str, codebook: Codebook) -> str | None:
    """A posture cell as a sub-label id (ids, labels, accents and spaces tolerated); None if empty."""
    if not raw.strip():
        return None
    key = re.sub(r"[\s'’-]+", "_", normalise(raw).strip())
    known = {normalise(p): p for p in POSTURE_LABELS}
    if codebook.posture_theme:
        for sid, sub in codebook.theme(codebook.posture_theme).sublabels.items():
            known[re.sub(r"[\s'’-]+", "_", normalise(sub.label).strip())] = sid
    return known.get(key, "?" + raw)


def _bad(path, where: str, detail: str, fix: str | None = None) -> TextmineError:
    return TextmineError(E.E408, path=path, detail=f"{where}: {detail}", fix=fix)


def parse_sheet(sheet: Sheet, codebook: Codebook, path: Path) -> pd.DataFrame:
    """``segment_id, themes (list), posture, where, prefilled, blank, zero`` per row, every cell
    checked. ``blank``: no coding cell filled (theme columns, ``themes``, ``posture`` all empty: in
    a CSV, a "none of them" row is blank too); ``zero``: a theme column holds an explicit no (``0``)."""
    ids = {t.lower(): t for t in codebook.ids}
    out = []
    for row in sheet.rows.to_dict(orient="records"):
        where = row["_where"]
        cells = [row.get(c, "").strip() for c in sheet.theme_columns.values()]
        blank = not any(cells) and not (row.get("themes") or "").strip() and not (row.get("posture") or "").strip()
        zero = any(v and v.lower() in NO for v in cells)
        sid = row.get("segment_id", "")
        if not sid:
            raise _bad(path, where, "empty segment_id", "Restore the segment_id of this row (or delete the row).")
        themes: list[str] = []
        for t in _split(row.get("themes", "")):
            if t.lower() not in ids:
                near = difflib.get_close_matches(t.lower(), list(ids), n=1, cutoff=0.75)
                hint = f"did you mean {ids[near[0]]!r}? " if near else ""
                raise _bad(path, sheet.at(where, "themes"), f"unknown theme id {t!r} ({hint}codebook: "
                                                            f"{', '.join(codebook.ids)})",
                           "Use the theme ids of the codebook (sheet « consignes »), separated by ';'.")
            themes.append(ids[t.lower()])
        for tid, colname in sheet.theme_columns.items():
            v = row.get(colname, "").strip().lower()
            if v in YES:
                themes.append(tid)
            elif v not in NO:
                raise _bad(path, sheet.at(where, colname), f"{row.get(colname)!r} is neither yes (1, x, oui) nor no (0, empty)",
                           "Put 1 when the theme is present, 0 or nothing when it is not.")
            elif v and tid in themes:
                raise _bad(path, sheet.at(where, colname), f"theme {tid} is listed in `themes` but marked {v!r} here",
                           "Make the `themes` column and the theme's own column agree.")
        posture = _posture_value(row.get("posture", ""), codebook)
        if posture is not None and posture.startswith("?"):
            raise _bad(path, sheet.at(where, "posture"), f"unknown posture {posture[1:]!r}",
                       f"Use {', '.join(POSTURE_LABELS)} or leave the cell empty.")
        if posture and codebook.posture_theme:
            themes.append(codebook.posture_theme)
        out.append({"segment_id": sid, "themes": list(dict.fromkeys(t for t in codebook.ids if t in themes)),
                    "posture": posture, "where": where, "prefilled": row.get(PREFILL_COLUMN, "") or "",
                    "blank": blank, "zero": zero})
    return pd.DataFrame(out, columns=["segment_id", "themes", "posture", "where", "prefilled", "blank", "zero"])


def _qdpx_rows(store: Store, path: Path, codebook: Codebook, mapping, sample: str | None) -> tuple[pd.DataFrame, dict]:
    """A QDA project of a sample: every sampled segment is a coded row (no selection = no theme)."""
    df = read_qdpx_codings(path, mapping=mapping, codebook=codebook)
    desc = df.attrs.get("description", "")
    m = re.match(re.escape(QDPX_PREFIX) + r"(\S+); project (\S+)(?:; (revealed))?", desc)
    meta = {"sample_id": m.group(1), "project_id": m.group(2)} if m else {}
    sid = sample or meta.get("sample_id")
    if not sid:
        raise _bad(path, "project", "this .qdpx does not name the textmine sample it was drawn from",
                   "Give the sample with --sample ID (see `textmine themes samples`).")
    _check_project(store, path, meta)
    reveal = bool(m and m.group(3))
    u = tables.units(store, [tables.get_sample(store, sid)["sample_id"]])
    segs = store.segments_frame(roles="all", interview_ids=sorted(set(u["interview_id"])))
    segs = segs[segs["segment_id"].isin(set(u["segment_id"]))]
    by_itv, lengths = {}, {}
    for iid, g in segs.groupby("interview_id", sort=True):
        text, spans = source_text(g, reveal)
        by_itv[str(iid)], lengths[str(iid)] = spans, len(text)
    codes = {s: {"themes": set(), "posture": None, "best": 0} for s in segs["segment_id"]}
    pt = codebook.posture_theme       # the sheet's posture is the posture theme's sub-label, not another theme's
    pt_subs = set(codebook.theme(pt).sublabels) if pt else set()
    for src in df.attrs.get("coded_spans", []):
        iid = src["interview_id"]
        if not src["coded"]:
            continue
        if iid not in by_itv:
            raise _bad(path, f"source {src['source']!r}", f"not an interview of sample {sid}")
        if src["length"] != lengths[iid]:
            raise _bad(path, f"source {src['source']!r}", "its text was edited in the QDA program",
                       "Code the sources as textmine wrote them (do not edit their text), or draw the sheet again.")
        for start, stop, themes, posture in src["coded"]:
            posture = posture if pt in themes and posture in pt_subs else None
            for seg_id, (a, b) in by_itv[iid].items():
                ov = min(b, stop) - max(a, start)
                if ov >= min(QDPX_MIN_OVERLAP, max(1, (b - a) // 2)):
                    c = codes[seg_id]
                    c["themes"] |= set(themes)
                    if posture and ov > c["best"]:
                        c["posture"], c["best"] = posture, ov
    rows = [{"segment_id": s, "themes": [t for t in codebook.ids if t in c["themes"]],
             "posture": c["posture"], "where": f"segment {s}"} for s, c in codes.items()]
    meta["sample_id"] = sid
    return pd.DataFrame(rows, columns=["segment_id", "themes", "posture", "where"]), meta


def _check_project(store: Store, path: Path, meta: dict) -> None:
    pid = meta.get("project_id")
    here = tables.project_id(store)
    if pid and pid != here:
        raise TextmineError(E.E410, path=path, detail=f"it was drawn in project {pid}, this project is {here or 'without samples'}")
    sid = meta.get("sample_id")
    if sid and sid not in set(tables.samples(store)["sample_id"]):
        raise TextmineError(E.E410, path=path, detail=f"it names sample {sid!r}, which was never drawn here")


def read_codes(store: Store, path: str | Path, *, coder: str | None = None, mapping=None, sample: str | None = None,
               allow_empty: bool = False) -> Imported:
    """Read and check a coded sheet against the project's samples (nothing is stored)."""
    path = Path(path)
    codebook = load_codebook(store.config.codebook_path())
    coder = (coder or DEFAULT_CODER).strip()
    if not coder or len(coder) > 100:
        raise TextmineError(E.E005, detail=f"--coder {coder!r}: a name of 1 to 100 characters")
    if path.suffix.lower() == ".qdpx":
        rows, meta = _qdpx_rows(store, path, codebook, mapping, sample)
    else:
        sheet = read_sheet(path, codebook)
        meta = dict(sheet.meta)
        if sample:
            meta["sample_id"] = sample
        _check_project(store, path, meta)
        rows = parse_sheet(sheet, codebook, path)
    if rows.empty:
        raise _bad(path, "sheet", "no coded rows")
    notes: list[str] = []
    rows = _dedupe(rows, path, notes)
    _check_prefilled(rows, coder, path, notes)
    seg = store.segments_frame(roles="respondents")
    current = dict(zip(seg["segment_id"], seg["text"].map(tables.text_hash)))
    known = rows["segment_id"].isin(set(current))
    if not known.any():
        raise TextmineError(E.E410, path=path, detail=f"none of its {len(rows)} segment ids is a segment of this project "
                                                      f"(first: {rows['segment_id'].iloc[0]!r})")
    if not known.all():
        r = rows[~known].iloc[0]
        raise _bad(path, r["where"], f"segment {r['segment_id']!r} is not in this project (removed or renumbered by a "
                                     "re-ingest?)", "Delete the row, or draw a new sample of the current segments.")
    units = tables.units(store)
    if not meta.get("sample_id"):          # a CSV does not name its sample: find it (the estimates count each
        meta["sample_id"] = _sheet_sample(units, rows, path, notes)   # sample's own sheet's codes only)
    if meta.get("sample_id"):
        units = units[units["sample_id"] == meta["sample_id"]]
    else:                                  # rows of several samples: each to the latest sample that drew it
        order = {s: k for k, s in enumerate(tables.samples(store)["sample_id"])}
        units = units.assign(_k=units["sample_id"].map(order)).sort_values("_k", kind="stable")
    drawn = units.drop_duplicates("segment_id", keep="last").set_index("segment_id")
    missing = ~rows["segment_id"].isin(drawn.index)
    if missing.any():
        r = rows[missing].iloc[0]
        which = f"sample {meta['sample_id']}" if meta.get("sample_id") else "any calibration sample of this project"
        raise _bad(path, r["where"], f"segment {r['segment_id']!r} was not drawn in {which}",
                   "Code only the segments of a drawn sample (`textmine themes sample`): the corrected figures need "
                   "each coded segment's probability of being drawn.")
    changed = rows["segment_id"].map(current) != rows["segment_id"].map(drawn["text_hash"])
    if changed.any():
        r = rows[changed].iloc[0]
        raise _bad(path, r["where"], f"the text of segment {r['segment_id']!r} changed since the sample was drawn "
                                     "(re-ingest)", "Draw a new sample of the current segments and code it.")
    if not any(len(t) for t in rows["themes"]) and not allow_empty:
        raise _bad(path, "sheet", f"no theme in any of its {len(rows)} rows: is it filled in?",
                   "Fill the `themes` column or the theme columns; if none of these segments carries any theme, "
                   "import with --allow-empty.")
    _check_unfilled(rows, path, allow_empty)
    _check_untouched(rows, path, allow_empty)
    if codebook.posture_theme:
        bare = sum(1 for t, p in zip(rows["themes"], rows["posture"]) if codebook.posture_theme in t and not p)
        if bare:
            notes.append(f"{bare} row(s) code the posture theme without a sub-label: they count as none of "
                         f"{', '.join(POSTURE_LABELS)} in the sub-label figures")
    stamp = tables.code_stamp()
    out = pd.DataFrame({"sample_id": rows["segment_id"].map(drawn["sample_id"]), "segment_id": rows["segment_id"],
                        "coder": coder, "coded_at": stamp, "themes": rows["themes"].map(";".join),
                        "posture": rows["posture"].fillna(""), "text_hash": rows["segment_id"].map(current),
                        "source": path.name, "row": rows["where"]})
    if not allow_empty:
        _trailing_blank_note(rows, out, coder, notes)
    return Imported(out, coder, sorted(out["sample_id"].unique()), notes)


def _sheet_sample(units: pd.DataFrame, rows: pd.DataFrame, path: Path, notes: list[str]) -> str | None:
    """The sample whose sheet this is, for a sheet that does not say (CSV): the one sample that drew
    exactly its segments, else the one that drew all of them; E408 when several did (samples drawn
    with the same seed nest: give --sample); None when no sample drew them all (rows of several)."""
    ids = set(rows["segment_id"])
    drawn = {str(s): set(g["segment_id"]) for s, g in units.groupby("sample_id", sort=False)}
    exact = [s for s, u in drawn.items() if u == ids]
    holders = [s for s, u in drawn.items() if ids <= u]
    pick = exact if len(exact) == 1 else holders
    if len(pick) == 1:
        return pick[0]
    if len(pick) > 1:
        raise _bad(path, "sheet", f"it does not name its sample, and samples {', '.join(sorted(pick))} all drew its "
                                  "segments", "Import it with --sample NAME (the sample whose sheet this is).")
    if ids & set().union(*drawn.values()) and len(drawn) > 1:
        notes.append("the sheet holds segments of several samples: each code is stored with the latest sample that "
                     "drew its segment")
    return None


def _check_prefilled(rows: pd.DataFrame, coder: str, path: Path, notes: list[str]) -> None:
    """Rows `themes sample` pre-filled with a coder's codes (``prefilled`` cell) are that coder's:
    imported under another name they would count as a second, independent coding (E408)."""
    if "prefilled" not in rows.columns:
        return
    named = [(w, prefilled_by(c)) for w, c in zip(rows["where"], rows["prefilled"].fillna(""))]
    named = [(w, p) for w, p in named if p is not None]
    other = [(w, p) for w, p in named if p[0] != coder]
    if other:
        where, (who, smp) = other[0]
        raise _bad(path, where, f"this row was pre-filled with {who}'s code (sample {smp}'s sheet) and would be "
                                f"imported as {coder}'s ({len(other)} such row(s))",
                   f"Import the sheet with --coder {who}; or, if {coder} checked these rows, empty their "
                   "`prefilled` cells (or delete the column).")
    if named:
        froms = sorted({p[1] for _, p in named})
        notes.append(f"{len(named)} pre-filled row(s) (codes of {coder} through the sheet of sample(s) "
                     f"{', '.join(froms)}) imported as checked")


def _check_unfilled(rows: pd.DataFrame, path: Path, allow_empty: bool) -> None:
    """A pre-filled sheet imported before its other rows were coded: the pre-filled rows carry
    themes, so "no theme in any row" does not catch it, and every row left empty would be stored as
    a human "no theme" (E408 unless --allow-empty)."""
    if allow_empty or "prefilled" not in rows.columns:
        return
    pre = rows["prefilled"].fillna("").map(lambda c: prefilled_by(str(c)) is not None)
    rest = rows[~pre]
    if not pre.any() or rest.empty or any(len(t) for t in rest["themes"]):
        return
    if "zero" in rest.columns and rest["zero"].astype(bool).any():
        return      # coded with 1/0: a 0 says "none of them" (rows left blank beside it: _check_untouched)
    raise _bad(path, "sheet", f"no theme in any of its {len(rest)} row(s) that were not pre-filled (only its "
                              f"{int(pre.sum())} pre-filled row(s) carry themes): were they coded?",
               "Code them, or delete the rows not coded yet and import the rest (the pre-filled rows may be "
               "imported alone); if none of these segments carries any theme, import with --allow-empty.")


def _own_rows(rows: pd.DataFrame) -> pd.Series:
    """Rows of the coder's own work in this sheet: not pre-filled by textmine, and read from an
    .xlsx or .csv (a .qdpx has no blank rows: it counts as wholly coded)."""
    if "blank" not in rows.columns:
        return pd.Series(False, index=rows.index)
    pre = rows["prefilled"].fillna("").map(lambda c: prefilled_by(str(c)) is not None)
    return ~pre


def _check_untouched(rows: pd.DataFrame, path: Path, allow_empty: bool) -> None:
    """A sheet coded with 1/0 in the theme columns (some row holds a 0) whose other rows were left
    blank: they were not coded yet (a coder who writes 0 for "absent" does not leave a coded row
    empty), and each would be stored as a human "no theme" (E408 naming them, unless --allow-empty).

    Refused rather than left out: leaving them out is right when they were not coded (the rest is a
    random part of the sample), but biases the figures upward when blank meant "none of them"
    (rows left out for having no theme); only the coder knows which, and one 0 says it."""
    if allow_empty or "zero" not in rows.columns:
        return
    own = _own_rows(rows)
    if not (own & rows["zero"].astype(bool)).any():
        return
    blank = rows[own & rows["blank"].astype(bool)]
    if blank.empty:
        return
    first = ", ".join(blank["where"].head(3)) + (", …" if len(blank) > 3 else "")
    raise _bad(path, first, f"{len(blank)} row(s) left empty (no 1 or 0 in any theme column, no `themes`, no "
                            f"`posture`) while the other rows are coded with 1/0: were they coded? Imported, each "
                            "would count as a human \"no theme\"",
               "Code them (a 0 in a theme column says 'none of them'), or delete the rows not coded yet and import "
               "the rest (import them later); --allow-empty stores the empty rows as 'no theme'.")


#: a run of blank rows at the end of a sheet less likely than this, given the theme rate of the rows
#: before it, is taken for rows not coded yet (a warning: in a CSV an uncoded row and a coded
#: "none of them" read the same)
TRAILING_P = 0.01
TRAILING_MIN = 3


def _trailing_blank_note(rows: pd.DataFrame, out: pd.DataFrame, coder: str, notes: list[str]) -> None:
    """Warn when the sheet ends with a run of blank rows that is implausible given how many of the
    coder's rows before it carry a theme (a sheet coded half-way and imported whole)."""
    own = rows[_own_rows(rows)]
    if own.empty:
        return
    blank = own["blank"].astype(bool).to_numpy()
    k = 0
    while k < len(blank) and blank[len(blank) - 1 - k]:
        k += 1
    before = own.iloc[: len(own) - k]
    m, x = len(before), int(sum(1 for t in before["themes"] if len(t)))
    q = (m - x + 1) / (m + 2)          # the rate of rows with no theme (Laplace: never 0 on few rows)
    if k < TRAILING_MIN or q ** k >= TRAILING_P:
        return
    run = own.iloc[len(own) - k:]
    smp = ", ".join(sorted(out.loc[out["segment_id"].isin(set(run["segment_id"])), "sample_id"].astype(str).unique()))
    notes.append(f"warning: the sheet ends with {k} row(s) without any code ({run['where'].iloc[0]} to "
                 f"{run['where'].iloc[-1]}) while {x} of the {m} row(s) before them carry a theme (such a run has a "
                 f"chance under {TRAILING_P:.0%} in a coded sheet). They were stored as {coder}'s 'no theme' in sample "
                 f"{smp}. If they are not coded yet, delete them from the sheet and import it again with --replace "
                 "(the codes of rows no longer in the sheet are then deleted); or code them and import the whole "
                 "sheet again (it replaces these codes). If they are coded, --allow-empty imports without this "
                 "warning.")


def _dedupe(rows: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    sig = rows["themes"].map(";".join) + "|" + rows["posture"].fillna("")
    first: dict[str, tuple[str, str]] = {}
    keep = []
    for sid, s, where in zip(rows["segment_id"], sig, rows["where"]):
        if sid in first:
            if first[sid][0] != s:
                raise _bad(path, f"{first[sid][1]} and {where}", f"segment {sid!r} is coded twice, differently",
                           "Keep one row per segment (or give both rows the same codes).")
            keep.append(False)
        else:
            first[sid] = (s, where)
            keep.append(True)
    if not all(keep):
        notes.append(f"{keep.count(False)} duplicated row(s) with the same codes kept once")
    return rows[keep].reset_index(drop=True)


def import_codes(store: Store, path: str | Path, *, replace: bool = False, **kw) -> Imported:
    """Read, check and store a coded sheet (one transaction; on any error nothing is stored).
    ``replace``: the sheet replaces all of the coder's codes in its sample(s), so the codes of rows
    deleted from it since an earlier import go too."""
    imp = read_codes(store, path, **kw)
    if replace and tables.has_codes(store):
        old = tables.codes(store, imp.coder)
        old = old[old["sample_id"].astype(str).isin(set(imp.samples))
                  & ~old["segment_id"].isin(set(imp.codes["segment_id"]))]
        imp.notes.append(f"--replace: {len(old)} code(s) of {imp.coder} in sample {', '.join(imp.samples)} of "
                         "segments no longer in the sheet deleted")
    tables.save_codes(store, imp.codes, replace=replace)
    return imp


def training_frame(store: Store, sample_ids: list[str] | None = None, coder: str | None = None) -> pd.DataFrame:
    """Calibration codes as coded data for ``themes train`` (``id`` = segment id, the segment's
    current analysis text, ``themes`` list, ``posture``, ``interview_id``, ``role``, ``wave``).
    Several coders: a theme is kept when at least half of the segment's coders gave it; the posture
    sub-label is the most frequent one. A coder who coded a segment through several samples'
    sheets counts once, with their latest import. Codes of segments whose text changed are left out."""
    if sample_ids:
        for s in sample_ids:
            tables.get_sample(store, s)
    cod = tables.codes(store, coder)
    units = tables.units(store, sample_ids or None)
    cod = cod[cod["segment_id"].isin(set(units["segment_id"]))]
    seg = store.segments_frame(roles="respondents")
    seg = seg[seg["segment_id"].isin(set(cod["segment_id"]))]
    current = dict(zip(seg["segment_id"], seg["text"].map(tables.text_hash)))
    cod = tables.latest(store, cod[cod["segment_id"].map(current) == cod["text_hash"]])   # a coder's latest code
    if cod.empty:
        which = ", ".join(sample_ids) if sample_ids else "any sample"
        raise TextmineError(E.E406, path=store.root, detail=f"no calibration codes for {which}"
                                                            + (f" by coder {coder!r}" if coder else ""),
                            fix="Import coded sheets first (`textmine themes calibrate --coded FILE`).")
    rows = []
    for sid, g in cod.groupby("segment_id", sort=True):
        k = len(g)
        counts = pd.Series([t for ths in g["themes"] for t in str(ths).split(";") if t]).value_counts()
        themes = [t for t, c in counts.items() if c * 2 >= k]
        post = g["posture"][g["posture"].astype(str) != ""]
        rows.append({"id": sid, "themes": themes, "posture": post.mode().sort_values().iloc[0] if len(post) else None})
    out = pd.DataFrame(rows).merge(seg[["segment_id", "text", "interview_id", "role", "wave"]]
                                   .rename(columns={"segment_id": "id"}), on="id")
    out["wave"] = out["wave"].astype(str)
    return out[["id", "text", "themes", "posture", "interview_id", "role", "wave"]].reset_index(drop=True)
