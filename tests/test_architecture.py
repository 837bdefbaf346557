"""The shape of the code, held by a test: no import circle, and no arrow running back up.

Every ``import`` and ``from … import`` of hullcheck's modules is read (function-local ones
too: an import deferred for start-up time is still a dependency). Layers, lowest first:
``model``/``errors`` → ``engine``, ``sources``, ``sbom``, ``vulndb``, ``report`` → ``store``
and ``fleet`` (the store implements the Protocols its consumers own: ``LayerCache``,
``VulnIndex``, ``FleetStore``; neither imports the other) → ``api`` (the one door) → ``cli``,
``daemon`` (handed the program it serves; imports no CLI).
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src")
PACKAGE = os.path.join(SRC, "hullcheck")


def _modules() -> dict[str, str]:
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                module = os.path.relpath(path, SRC)[:-3].replace(os.sep, ".")
                found[module.removesuffix(".__init__")] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        with open(path) as handle:
            tree = ast.parse(handle.read())
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                named = [f"{base}.{alias.name}" for alias in node.names]
                targets = [name for name in named if name in modules]
                if len(targets) < len(named):
                    targets.append(base)  # an attribute of the module itself
            edges[module].update(t for t in targets if t in modules and t != module)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_itself_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_no_package_imports_itself_in_a_circle() -> None:
    areas: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        areas[_area(module)].update(_area(t) for t in targets if _area(t) != _area(module))
    assert _cycles(areas) == []


@pytest.mark.parametrize(
    ("area", "forbidden"),
    [
        (
            "model",
            {
                "store",
                "vulndb",
                "sbom",
                "engine",
                "sources",
                "report",
                "fleet",
                "api",
                "cli",
                "daemon",
            },
        ),
        (
            "engine",
            {
                "store",
                "vulndb",
                "sbom",
                "sources",
                "report",
                "fleet",
                "api",
                "cli",
                "daemon",
                "registry",
            },
        ),
        ("sbom", {"store", "vulndb", "fleet", "api", "cli", "daemon"}),
        ("vulndb", {"store", "fleet", "api", "cli", "daemon"}),
        ("report", {"store", "fleet", "api", "cli", "daemon"}),
        ("store", {"fleet", "api", "cli", "daemon"}),
        ("fleet", {"store", "api", "cli", "daemon"}),  # it owns the Protocols the store fills
        ("audit", {"store", "api", "cli", "daemon"}),  # as the fleet does
        ("policy", {"store", "audit", "api", "cli", "daemon"}),  # the layer cache: a Protocol
        (
            "registry",
            {
                "store",
                "vulndb",
                "sbom",
                "sources",
                "report",
                "fleet",
                "audit",
                "policy",
                "engine",
                "api",
                "cli",
                "daemon",
            },
        ),
        ("daemon", {"api", "cli", "store", "fleet"}),
        ("api", {"cli", "daemon"}),
        # the command line goes through the one door: never around it to what stands behind
        ("cli", {"store", "fleet", "vulndb", "engine", "sbom", "sources", "policy", "registry"}),
    ],
)
def test_no_arrow_runs_back_up(area: str, forbidden: set[str]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _area(module) == area
        for target in targets
        if _area(target) in forbidden
    )
    assert wrong == []


DEFERRED_ON_PURPOSE = {
    # the thin client: asks a running daemon before typer and the rest of hullcheck load
    "hullcheck.cli": {"hullcheck.daemon.client", "hullcheck.cli.app"},
    # the SQLAlchemy seam: a scan on the embedded store never imports SQLAlchemy (0.4 s)
    "hullcheck.store.facade": {
        "hullcheck.store.database",
        "hullcheck.store.vulns",
        "hullcheck.store.images",
        "hullcheck.store.hosts",
        "hullcheck.store.actions",
        "hullcheck.store.audit",
        "hullcheck.store.fleet",
        "hullcheck.store.findings",
        "hullcheck.store.samples",
    },
}


def test_own_modules_are_imported_at_the_top() -> None:
    """A function-local import of hullcheck's own code hides a dependency and must be kept
    in the daemon's preload by hand; only heavy third-party libraries are deferred (httpx,
    SQLAlchemy, docker, rich's bars), where their import time was measured to matter."""
    hidden = []
    for module, path in _modules().items():
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    names = [("." * node.level) + (node.module or "")]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                hidden.extend(
                    f"{module}:{node.lineno} {name}"
                    for name in names
                    if name.split(".")[0] in ("", "hullcheck")
                    and name not in DEFERRED_ON_PURPOSE.get(module, set())
                )
    assert hidden == []


@pytest.mark.parametrize(
    "name",
    sorted(
        f"bench.{n[:-3]}"
        for n in os.listdir(os.path.join(os.path.dirname(__file__), "..", "bench"))
        if n.endswith(".py") and n != "__init__.py"
    ),
)
def test_every_benchmark_still_imports(name: str) -> None:
    """``make bench`` is run rarely: a module moved under it must not wait until then."""
    import importlib

    importlib.import_module(name)
