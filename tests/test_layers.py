"""The package's import structure, checked from its source (ARCHITECTURE.md: the layers).

Imports point down: config <- core <- each vendor <- the vendor list <- control <- server
assembly <- test tooling <- the package's public surface. A vendor imports no other
vendor, and no module imports another in a cycle (lazy imports inside functions count: a
cycle held apart by a late import is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mockserver"
VENDOR_PACKAGES = ("visionalert", "parkpow")

#: rank of each top-level part; a module may import only parts of its own rank or lower
RANKS = {
    "config": 0,
    "core": 1,
    **dict.fromkeys(VENDOR_PACKAGES, 2),
    "vendors": 3,
    "migrations": 3,  # Alembic's revisions and env.py: the whole schema, every vendor's tables
    "control": 4,
    "net": 4,  # HTTPS and the forward proxy of `mockserver serve`
    "app": 5,
    "cli": 5,
    "wsgi": 5,
    "parity": 4,  # recording and replaying real traffic: client-side, over HTTP
    "testkit": 6,
    "": 7,  # mockserver/__init__.py: the public surface
}


def module_name(path: Path) -> str:
    parts = ["mockserver", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from pkg import sub`` imports the submodule; ``pkg`` itself only when a name
            # is not a submodule (a parent package is always loaded first: not counted)
            submodules = {f"{target}.{alias.name}" for alias in node.names}
            found.update(submodules & known)
            if not submodules <= known:
                found.add(target)
    return {module for module in found if module in known and module != name}


def part(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def test_every_part_has_a_rank():
    assert {part(name) for name in all_modules()} <= set(RANKS)


def test_imports_point_down():
    upward = []
    for name, targets in import_graph().items():
        for target in targets:
            if RANKS[part(target)] > RANKS[part(name)]:
                upward.append(f"{name} -> {target}")
            elif part(name) in VENDOR_PACKAGES and part(target) in VENDOR_PACKAGES:
                if part(target) != part(name):
                    upward.append(f"{name} -> {target} (a vendor imports another vendor)")
    assert upward == []


def test_no_import_cycles():
    graph = import_graph()
    cycles = [sorted(group) for group in strongly_connected(graph) if len(group) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


@pytest.mark.parametrize(
    "graph, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [{"a", "b", "c"}]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_cycle_check_finds_cycles(graph, expected):
    """The checker itself: a cycle through three modules is found, a chain is not."""
    assert [group for group in strongly_connected(graph) if len(group) > 1] == expected


def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from . import sibling\nfrom ..core import schema\nfrom ..core import CONSTANT\n"
        "def late():\n    from .other import thing\n"
    )
    known = {"pkg.sub", "pkg.sub.sibling", "pkg.core.schema", "pkg.sub.other", "pkg.core"}
    assert imports_of("pkg.sub.mod", source, known) == {
        "pkg.sub.sibling",
        "pkg.core",
        "pkg.core.schema",
        "pkg.sub.other",
    }
