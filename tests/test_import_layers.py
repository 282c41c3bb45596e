"""The import contract of the package: layers, no cycles, no hidden imports.

Read from the source (``ast``), not by importing: every ``import``/``from ... import`` of a
``textmine`` module, at module level or inside a function, is an edge.

- **Layers.** :data:`LAYERS` lists the modules from the lowest layer to the highest; a module
  imports only from its own layer or lower ones. Modules of one layer do not import each other
  unless they are in the same package (``ingest`` and ``embed`` are independent; ``themes``
  modules import each other).
- **No cycle** between modules.
- **Imports at the top.** An internal import inside a function is allowed only where it is
  documented as an optional heavy one: the CLI's command modules (each command imports its stage
  when it runs: the cold-start budget of ``textmine --help`` and the listing commands) and
  :data:`HEAVY_LAZY` (the import pulls scikit-learn, BERTopic/torch, matplotlib or SciPy).
- **No guarded import.** No internal import inside ``try`` (an ``except ImportError`` or
  ``except Exception`` around an import of textmine's own code hides a broken layer).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from conftest import ROOT

PKG = ROOT / "textmine"

#: lowest first; a module belongs to the layer of the longest prefix that names it
LAYERS: list[list[str]] = [
    ["textmine"],                                                       # the package root: __version__
    ["textmine.errors", "textmine.vocabulary"],
    ["textmine.french", "textmine.safeio", "textmine.i18n"],           # the shared text and IO layer
    ["textmine.records"],
    ["textmine.config", "textmine.pseudonymise_lex", "textmine.attribution", "textmine.runlock",
     "textmine.recovery", "textmine.stats", "textmine.diversity"],
    ["textmine.store"],
    ["textmine.ingest", "textmine.segment", "textmine.embed"],
    ["textmine.roles", "textmine.pseudonymise"],
    ["textmine.corpus", "textmine.overview", "textmine.topics"],
    # the calibration tables' owner sits under tracking, which reads the human codes; the rest of
    # calibrate (samples, reading coded sheets, drift) is above tracking and export
    ["textmine.themes", "textmine.calibrate.tables"],
    ["textmine.track"],
    ["textmine.search"],
    ["textmine.lexicon"],
    ["textmine.export"],
    ["textmine.calibrate", "textmine.runs", "textmine.integrity"],     # integrity: `textmine check` reads every table
    ["textmine.report"],
    ["textmine.pipeline"],
    ["textmine.cli"],
    ["textmine.__main__"],                                              # `python -m textmine`
]

#: function-level internal imports outside the CLI, each an optional heavy import
HEAVY_LAZY: dict[tuple[str, str], str] = {
    ("textmine.pipeline", "textmine.themes"): "apply_themes: scikit-learn, only when the themes stage has work",
    ("textmine.pipeline", "textmine.report"): "write_report: matplotlib and SciPy, only when outputs are due",
    ("textmine.themes", "textmine.themes.apply"): "the package's lazy attributes: scikit-learn",
    ("textmine.themes", "textmine.themes.zeroshot"): "the package's lazy attributes: scikit-learn",
    ("textmine.themes", "textmine.themes.supervised"): "the package's lazy attributes: scikit-learn",
    ("textmine.themes", "textmine.themes.agreement"): "the package's lazy attributes: scikit-learn",
    ("textmine.topics.persist", "textmine.topics.backend"): "BERTopic, torch, UMAP and HDBSCAN",
    ("textmine.lexicon", "textmine.lexicon.reinert"): "the package's lazy attributes: scikit-learn",
    ("textmine.lexicon.classes", "textmine.lexicon.reinert"): "fit_classes: scikit-learn, only to classify",
}


def _modname(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_modname(p): p for p in PKG.rglob("*.py")}


def _edges() -> list[tuple[str, str, bool, bool, int]]:
    """``(module, imported module, in a function, inside try, line)`` for every internal import."""
    out = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_pkg = path.name == "__init__.py"

        def visit(node, in_func: bool, in_try: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                    continue
                f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                t = in_try or isinstance(child, ast.Try)
                targets: list[str] = []
                if isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                        base = base[:len(base) - (child.level - 1)]
                        target = ".".join(base + ([child.module] if child.module else []))
                    else:
                        target = child.module or ""
                    if target == "textmine" or target.startswith("textmine."):
                        targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target
                                   for a in child.names]
                elif isinstance(child, ast.Import):
                    targets = [a.name for a in child.names if a.name.startswith("textmine")]
                for tgt in dict.fromkeys(targets):
                    out.append((mod, tgt, in_func, in_try, child.lineno))
                visit(child, f, t)
        visit(tree, False, False)
    return out


EDGES = _edges()


def _layer(mod: str) -> tuple[int, str]:
    best = max((p for layer in LAYERS for p in layer if mod == p or mod.startswith(p + ".")), key=len)
    return next(i for i, layer in enumerate(LAYERS) if best in layer), best


def _package(mod: str) -> str:
    return ".".join(mod.split(".")[:2])


def test_every_module_has_a_layer():
    for mod in MODULES:
        _layer(mod)        # raises ValueError (max of nothing) for a module no layer names


def test_no_import_from_a_higher_layer_or_a_sibling():
    bad = []
    for src, dst, _, _, line in EDGES:
        (ls, ps), (ld, pd_) = _layer(src), _layer(dst)
        if ld > ls or (ld == ls and ps != pd_ and _package(src) != _package(dst)):
            bad.append(f"{MODULES[src].relative_to(ROOT)}:{line}: {src} (layer {ls}) imports {dst} (layer {ld})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst, _, _, _ in EDGES:
        if dst != src and dst in MODULES:
            graph[src].add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:                # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))
    for v in list(MODULES):
        if v not in index:
            strong(v)
    assert not cycles, cycles


def test_internal_imports_are_at_the_top_unless_heavy():
    bad = [f"{MODULES[src].relative_to(ROOT)}:{line}: {dst}" for src, dst, in_func, _, line in EDGES
           if in_func and not src.startswith("textmine.cli") and (src, dst) not in HEAVY_LAZY]
    assert not bad, "function-level internal imports (hoist them, or add a documented heavy one):\n" + "\n".join(bad)
    used = {(src, dst) for src, dst, in_func, _, _ in EDGES if in_func}
    assert set(HEAVY_LAZY) <= used, f"stale HEAVY_LAZY entries: {set(HEAVY_LAZY) - used}"


def test_no_guarded_internal_import():
    bad = [f"{MODULES[src].relative_to(ROOT)}:{line}: {dst}" for src, dst, _, in_try, line in EDGES if in_try]
    assert not bad, "\n".join(bad)


def test_the_contract_sees_the_imports():
    """The checks above run on a real graph (a parser that found nothing would pass them)."""
    assert len(MODULES) > 100 and len(EDGES) > 400
    assert ("textmine.pipeline", "textmine.store") in {(s, d) for s, d, *_ in EDGES}
