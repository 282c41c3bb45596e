"""One owner per stored table and kv key: only the owner module (and the store, which owns the
ingest tables and the generic access) reads or writes it with SQL; every other module calls the
owner's functions. Checked over the source of ``textmine/`` (no project is built)."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from textmine.records import INGEST_TABLES, TABLES

PKG = Path(__file__).resolve().parents[1] / "textmine"

#: module -> (tables it owns, kv keys it owns; a key ending in "." is a prefix: one key per item)
OWNERS: dict[str, tuple[set[str], set[str]]] = {
    "store.py": (set(INGEST_TABLES), set()),
    "themes/codings.py": ({"theme_codings", "theme_codings_crossfit"}, {"themes.current_run"}),
    "topics/query.py": ({"topic_models", "topic_assignments", "topic_info"}, {"topics.current_model", "topics.novelty."}),
    "calibrate/tables.py": ({"calibration_samples", "calibration_units", "calibration_codes"},
                            {"project.id", "calibration.version"}),
    "search/index.py": ({"search_lemmas", "search_forms", "search_form_counts"}, {"search.index"}),
    "search/bm25_store.py": ({"search_bm25"}, set()),
    "lexicon/tokens.py": ({"lexicon_tokens"}, {"lexicon.tokens"}),
    "lexicon/classes.py": ({"lexicon_class_runs", "lexicon_classes"}, {"lexicon.current_classes"}),
    "runs.py": ({"runs"}, {"runs.latest"}),
    "track/cache.py": ({"track_cache"}, set()),
    "corpus.py": (set(), {"ingest.inputs."}),
    "pipeline.py": (set(), {"pipeline.stages"}),
}
#: modules that read every table and key (never write): ``textmine check`` compares them with one another
CHECKERS = {"integrity.py"}
#: ``textmine.store`` itself: the generic access (kv, write_frame...) takes any table or key
GENERIC = {"store.py"}

_SQL = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE|ALTER|DROP)\b.*\b(FROM|INTO|TABLE|SET|WHERE)\b|\bFROM\s+\w",
                  re.S)
_WRITE = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE|ALTER\s+TABLE|DROP\s+TABLE|"
                    r"CREATE\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+\"?(\w+)", re.I)
_READ = re.compile(r"\b(?:FROM|JOIN)\s+\"?(\w+)", re.I)
_RAW_CALLS = {"execute", "sql", "register", "unregister"}
_QUERY_CALLS = {"query", "query_arrow"}
_TABLE_CALLS = {"write_frame", "read_frame", "ensure_tables", "has_table", "has_column", "column_or_null"}
_KV_CALLS = {"get_kv", "set_kv", "kv_items"}
ALL_KEYS = {k for _, keys in OWNERS.values() for k in keys}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(p.relative_to(PKG).as_posix(), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(PKG.rglob("*.py"))]


def _docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments."""
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for t in node.targets:
            pairs = (zip(t.elts, node.value.elts) if isinstance(t, ast.Tuple) and isinstance(node.value, ast.Tuple)
                     else [(t, node.value)])
            for name, value in pairs:
                if isinstance(name, ast.Name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    out[name.id] = value.value
    return out


def _strings(tree: ast.Module) -> list[str]:
    skip = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def _resolve(arg: ast.AST, consts: dict[str, str]) -> str | None:
    """A key or table name given as a literal, a module constant, or ``PREFIX + x``."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return consts.get(arg.id)
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
        return _resolve(arg.left, consts)
    return None


def _owner_of_key(key: str) -> str | None:
    for mod, (_, keys) in OWNERS.items():
        if key in keys or any(k.endswith(".") and key.startswith(k) for k in keys):
            return mod
    return None


def _violations() -> list[str]:
    bad = []
    for mod, tree in _modules():
        owned_tables, _ = OWNERS.get(mod, (set(), set()))
        allowed_raw = mod in OWNERS or mod in CHECKERS
        consts = _constants(tree)
        # raw SQL calls and connection access
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "con" and not allowed_raw:
                bad.append(f"{mod}:{node.lineno}: raw connection access ({ast.unparse(node)})")
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            recv = ast.unparse(node.func.value)
            first = node.args[0] if node.args else None
            if name in _RAW_CALLS and ("store" in recv or "con" in recv) and not allowed_raw:
                bad.append(f"{mod}:{node.lineno}: raw SQL call {recv}.{name}()")
            if name in _QUERY_CALLS and first is not None and not allowed_raw and (
                    "store" in recv or _SQL.search(ast.unparse(first))):
                bad.append(f"{mod}:{node.lineno}: raw SQL query {recv}.{name}()")
            if name in _TABLE_CALLS and first is not None and mod not in GENERIC and mod not in CHECKERS:
                table = _resolve(first, consts)
                if table is None:
                    if mod not in OWNERS:     # an owner's helper may take one of its tables as an argument
                        bad.append(f"{mod}:{node.lineno}: {name}() with a table name that is not a literal or "
                                   "module constant")
                elif table not in owned_tables:
                    bad.append(f"{mod}:{node.lineno}: {name}({table!r}) outside the table's owner")
            if name in _KV_CALLS and first is not None and mod not in GENERIC:
                key = _resolve(first, consts)
                if key is None:
                    bad.append(f"{mod}:{node.lineno}: {name}() with a key that is not a literal or module constant")
                elif mod not in CHECKERS and _owner_of_key(key) != mod:
                    bad.append(f"{mod}:{node.lineno}: kv key {key!r} used outside its owner "
                               f"({_owner_of_key(key) or 'no owner: add it to OWNERS'})")
        # tables named in SQL text; kv keys spelled out
        for text in _strings(tree):
            if mod not in GENERIC and mod not in CHECKERS:
                for t in _WRITE.findall(text):
                    if t in TABLES and t not in owned_tables:
                        bad.append(f"{mod}: writes table {t!r} it does not own")
                for t in _READ.findall(text):
                    if t in TABLES and t not in owned_tables and t not in INGEST_TABLES:
                        bad.append(f"{mod}: reads table {t!r} it does not own")
                    if t in INGEST_TABLES and mod not in OWNERS:
                        bad.append(f"{mod}: reads ingest table {t!r} by SQL (use a Store method)")
            if text in ALL_KEYS and _owner_of_key(text) != mod and mod not in CHECKERS:
                bad.append(f"{mod}: spells out kv key {text!r} owned by {_owner_of_key(text)}")
    return bad


def test_owner_map_covers_every_table():
    owned = [t for tables, _ in OWNERS.values() for t in tables]
    assert sorted(owned) == sorted(TABLES), "each table of records.TABLES has exactly one owner module"
    for mod in [*OWNERS, *CHECKERS]:
        assert (PKG / mod).is_file(), mod


def test_no_sql_or_key_outside_its_owner():
    bad = _violations()
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("snippet, expect", [
    ('def f(store):\n    return store.query("SELECT * FROM theme_codings")\n', "raw SQL query"),
    ('def f(store):\n    store.con.execute("DELETE FROM topic_info")\n', "raw connection access"),
    ('def f(store):\n    return store.get_kv("themes.current_run")\n', "outside its owner"),
    ('KEY = "topics.current_model"\n', "spells out kv key"),
    ('def f(store, df):\n    store.write_frame("topic_assignments", df)\n', "outside the table's owner"),
])
def test_the_check_catches(tmp_path, monkeypatch, snippet, expect):
    """The check is not vacuous: a module doing what the owners alone may do is reported."""
    fake = tmp_path / "textmine"
    fake.mkdir()
    (fake / "intruder.py").write_text(snippet, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert any(expect in v for v in _violations()), _violations()


def test_ddl_is_generated_from_the_records():
    """The store's DDL is the records' (one definition per table)."""
    from textmine import store
    for t in INGEST_TABLES:
        assert TABLES[t].ddl() in store._SCHEMA
    assert not re.search(r"CREATE TABLE", "".join(
        s for mod, tree in _modules() if mod != "records.py" for s in _strings(tree)), re.I)
