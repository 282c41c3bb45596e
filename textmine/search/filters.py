"""Validation of search/export filters against what the project and codebook contain."""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import E, TextmineError
from ..records import KNOWN_ROLES
from ..store import Store, public_attrs
from ..themes import codings
from ..themes.codebook import load_codebook


def _as_list(v: str | Iterable[str] | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    out = [str(x) for x in v]
    return out or None


_CATALOGUES: dict[tuple[str, int], dict[str, str]] = {}


def theme_catalogue(store: Store) -> dict[str, str]:
    """``theme id -> label`` from the project's codebook, cached per codebook file and
    modification time."""
    path = store.config.codebook_path()
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _CATALOGUES:
        cb = load_codebook(path, compile_cues=False)
        _CATALOGUES[key] = {t.id: getattr(t, "label", t.id) for t in cb.themes}
    return dict(_CATALOGUES[key])


def check_themes(store: Store, themes: str | Iterable[str] | None,
                 catalogue: dict[str, str] | None = None) -> list[str] | None:
    themes = _as_list(themes)
    if themes is None:
        return None
    valid = catalogue if catalogue is not None else theme_catalogue(store)
    bad = [t for t in themes if t not in valid]
    if bad:
        raise TextmineError(E.E403, detail=f"{', '.join(map(repr, bad))}; valid: {', '.join(valid) or '(none)'}")
    return themes


def check_roles(store: Store, roles: str | Iterable[str] | None) -> list[str] | None:
    roles = _as_list(roles)
    if roles is None:
        return None
    valid = list(dict.fromkeys([*KNOWN_ROLES, *store.config.roles.known]))
    bad = [r for r in roles if r not in valid]
    if bad:
        raise TextmineError(E.E005, detail=f"--role {', '.join(map(repr, bad))}; valid: {', '.join(valid)}")
    return roles


def _check_present(values: list[str] | None, present: Sequence[str], err, opt: str) -> list[str] | None:
    """``values`` as the project spells them (``paris`` -> ``Paris`` when only one value folds to
    it), or ``err`` listing the valid values."""
    if values is None:
        return None
    folded: dict[str, list[str]] = {}
    for p in present:
        folded.setdefault(str(p).casefold(), []).append(str(p))
    out, bad = [], []
    for v in values:
        same = folded.get(str(v).casefold(), [])
        if v in present:
            out.append(v)
        elif len(same) == 1:
            out.append(same[0])
        else:
            bad.append(v)
    if bad:
        raise TextmineError(err, detail=f"{opt} {', '.join(map(repr, bad))}; valid: {', '.join(present) or '(none)'}")
    return out


def _check_interview_column(store: Store, values: str | Iterable[str] | None, present: list[str] | None,
                            column: str, err, opt: str) -> list[str] | None:
    """Validate ``values`` against the distinct values of ``interviews.<column>``."""
    values = _as_list(values)
    if values is None:
        return None
    if present is None:
        present = store.interview_values(column)
    return _check_present(values, present, err, opt)


def check_waves(store: Store, waves: str | Iterable[str] | None, present: list[str] | None = None) -> list[str] | None:
    return _check_interview_column(store, waves, present, "wave", E.E502, "--wave")


def check_territories(store: Store, territories: str | Iterable[str] | None,
                      present: list[str] | None = None) -> list[str] | None:
    return _check_interview_column(store, territories, present, "territory", E.E005, "--territory")


def parse_attrs(pairs: Iterable[str] | dict[str, str] | None) -> dict[str, str]:
    """``["structure=association", "zone=rural"]`` -> dict (E005 if a pair has no ``=``)."""
    if not pairs:
        return {}
    if isinstance(pairs, dict):
        return {str(k): str(v) for k, v in pairs.items()}
    out = {}
    for p in pairs:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise TextmineError(E.E005, detail=f"--attr {p!r}; expected key=value, e.g. --attr zone=rural",
                                fix="Write the metadata column, `=`, and the value to keep: --attr structure_type=association.")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


#: interview columns a filter may name (``source_file`` holds real file names: ``--reveal`` only)
FILTER_COLUMNS = ("wave", "date", "territory", "structure_type", "respondent_id", "role", "interview_id",
                  "source_pseudo", "format")


def check_attrs(store: Store, pairs: Iterable[str] | dict[str, str] | None, reveal: bool = False) -> dict[str, str]:
    """:func:`parse_attrs`, then every key checked against the interviews' metadata: a column of
    :data:`FILTER_COLUMNS` or a key the metadata sheet declared public. A key it did not declare
    public may hold names, so filtering on it (which tells whether a guessed value is there) needs
    ``reveal``, as grouping by it does; an unknown key is refused with the valid ones."""
    attrs = parse_attrs(pairs)
    if not attrs:
        return attrs
    meta = store.interviews_frame()
    public: set[str] = set()
    every: set[str] = {"source_file"}
    for raw, declared in zip(meta.get("attrs", []), meta.get("attrs_public", [None] * len(meta))):
        public |= set(public_attrs(raw, declared))
        every |= set(public_attrs(raw, None, reveal=True))
    allowed = set(FILTER_COLUMNS) | public | (every if reveal else set())
    for k in attrs:
        if k in allowed:
            continue
        if k in every:
            raise TextmineError(E.E005, detail=f"--attr {k}=...: {k!r} is a metadata column the sheet did not "
                                               "declare public (it may hold names), so it is withheld",
                                fix=f"Rename its header to `public:{k}` in the metadata sheet and ingest again, "
                                    "or add --reveal.")
        valid = [*FILTER_COLUMNS, *sorted(public)]
        raise TextmineError(E.E005, detail=f"--attr {k}=...: the interviews have no metadata column {k!r}; "
                                           f"valid: {', '.join(valid)}",
                            fix="Name one of the columns listed (`textmine corpus` shows the interviews' metadata).")
    return attrs


def attrs_mask(meta: pd.DataFrame, attrs: dict[str, str]) -> np.ndarray:
    """Rows whose interview metadata (columns or ``attrs`` JSON) has every ``key=value``."""
    mask = np.ones(len(meta), dtype=bool)
    if not attrs:
        return mask
    raw = meta["attrs"].astype(str) if "attrs" in meta else pd.Series([""] * len(meta))
    parsed = {a: _load(a) for a in raw.unique()}          # attrs are per interview: parse each once
    for k, v in attrs.items():          # values compared case-insensitively, like --territory
        v = v.casefold()
        if k in meta.columns and k != "attrs":
            mask &= (meta[k].astype(str).str.casefold() == v).to_numpy()
        else:
            ok = {a for a, d in parsed.items() if k in d and str(d[k]).casefold() == v}
            mask &= raw.isin(ok).to_numpy()
    return mask


def _load(a: Any) -> dict:
    if isinstance(a, dict):
        return a
    if not isinstance(a, str) or not a.strip():
        return {}
    try:
        d = json.loads(a)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def theme_segment_ids(store: Store, themes: list[str]) -> set[str]:
    """Segments assigned to any of ``themes`` in the current theme run (E407 without one)."""
    return codings.segments_with(store, themes)
