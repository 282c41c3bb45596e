"""The locks (requirements/*.lock): one per purpose, every pin hashed, no package in two of them,
and every dependency that pyproject.toml declares pinned in the lock of its purpose."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from conftest import ROOT

LOCKS = ("runtime", "notebook", "test")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / f"{name}.lock").read_text(encoding="utf-8")
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n    --hash=sha256:([0-9a-f]{64})$", text, flags=re.M)
    pins = [ln for ln in text.splitlines() if ln and not ln.startswith(("#", " "))]
    assert len(entries) == len(pins), f"{name}.lock: a pin without its sha256"
    return {_norm(n): v for n, v, _ in entries}


def test_every_declared_dependency_is_pinned_once_with_a_hash():
    locks = {name: _pins(name) for name in LOCKS}
    seen: dict[str, str] = {}
    for name, pins in locks.items():
        for pkg in pins:
            assert pkg not in seen, f"{pkg} in {seen.get(pkg)}.lock and {name}.lock"
            seen[pkg] = name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for purpose, reqs in (("runtime", project["dependencies"]),
                          ("notebook", project["optional-dependencies"]["notebook"]),
                          ("test", project["optional-dependencies"]["test"])):
        for r in map(Requirement, reqs):
            if _norm(r.name) == "textmine":
                continue
            where = seen.get(_norm(r.name))
            assert where is not None, f"{r.name} ({purpose}) is in no lock"
            assert LOCKS.index(where) <= LOCKS.index(purpose), f"{r.name} is a {purpose} need but in {where}.lock"
            assert r.specifier.contains(locks[where][_norm(r.name)], prereleases=True), (r, locks[where][_norm(r.name)])
    assert "torch" in locks["runtime"] and locks["runtime"]["torch"] == "2.13.0"     # the CPU build, pinned
