"""The package's shape, read from its imports: layers, no cycles, no private name across modules.

LAYERS is the one place the layers are written down (the README's Development
section shows the same table). A module may import only modules of a lower
layer — at the top, inside a function or under TYPE_CHECKING alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import omega_db

PACKAGE = Path(omega_db.__file__).parent

# Lowest first. Why this order: the chain as data and the connection at the bottom;
# what can be read from a file (structure, history, answers, copies) above them;
# then the one transaction that applies a migration (shared by migrate and repair)
# and the comparison of structures; then half-applied detection and planning, then
# its execution and the checks; then the commands' cores; then output; the CLI on top.
LAYERS: dict[str, int] = {
    "omega_db": 0,  # the package itself: only __version__
    "errors": 0,
    "choices": 0,
    "text": 0,
    "sql": 0,
    "lenient": 0,
    "decoding": 0,
    "chain": 1,
    "db": 1,
    "paths": 1,
    "procfs": 1,
    "screen": 1,
    "schema": 2,
    "history": 2,
    "answers": 2,
    "queries": 3,
    "backup": 2,
    "compare": 3,
    "apply": 3,
    "copies": 3,
    "halfapplied": 4,
    "checks": 4,
    "repair": 5,
    "structure_checks": 5,
    "data_checks": 5,
    "migrate": 6,
    "verify": 6,
    "status": 6,
    "scoped": 6,
    "backups": 6,
    "restore": 6,
    "completion": 6,
    "output": 7,
    "table": 7,
    "reports": 8,
    "listing": 8,
    "backup_reports": 8,
    "options": 8,
    "cli_core": 9,
    "cli_listings": 9,
    "cli_backups": 9,
    "cli": 10,
    "__main__": 11,
}


def module_name(path: Path) -> str:
    """omega_db/x.py -> x; omega_db/__init__.py -> omega_db."""
    return "omega_db" if path.name == "__init__.py" else path.stem


def imports_of(tree: ast.AST) -> list[tuple[str, str, int]]:
    """(imported module, name taken from it or '', line) for every omega_db import in the tree."""
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "omega_db":
            parts = node.module.split(".")
            for alias in node.names:
                if len(parts) == 1:  # from omega_db import db / __version__
                    target = alias.name if alias.name in LAYERS else "omega_db"
                    found.append((target, "" if alias.name in LAYERS else alias.name, node.lineno))
                else:
                    found.append((parts[1], alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "omega_db":
                    found.append((parts[1] if len(parts) > 1 else "omega_db", "", node.lineno))
    return found


def private_attributes(tree: ast.AST, modules: set[str]) -> list[tuple[str, str, int]]:
    """module._name uses, where module is an imported omega_db module."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "omega_db":
            for alias in node.names:
                if alias.name in modules:
                    bound[alias.asname or alias.name] = alias.name
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append((bound[node.value.id], node.attr, node.lineno))
    return found


def problems(sources: dict[str, str], layers: dict[str, int]) -> list[str]:
    """Everything wrong with the shape of a package given as {module: source}."""
    found: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name in sorted(sources):
        if name not in layers:
            found.append(f"{name} has no layer in the table")
            continue
        tree = ast.parse(sources[name])
        for target, taken, line in imports_of(tree):
            if target == name:
                continue
            graph[name].add(target)
            if target not in layers:
                found.append(f"{name}:{line} imports {target}, which has no layer")
            elif layers[target] >= layers[name]:
                found.append(f"{name}:{line} imports {target}, which is not below it")
            if taken.startswith("_") and not taken.startswith("__"):
                found.append(f"{name}:{line} takes the private {taken} from {target}")
        for target, attr, line in private_attributes(tree, set(sources)):
            found.append(f"{name}:{line} uses the private {target}.{attr}")
    found += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other."""
    found, state = [], dict.fromkeys(graph, 0)  # 0 unseen, 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif state.get(nxt) == 0:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node, [node])
    return found


def package_sources() -> dict[str, str]:
    """Every module of the installed omega_db package (the SQL files' package aside)."""
    return {module_name(p): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.glob("*.py"))}


def test_the_package_keeps_its_layers() -> None:
    assert problems(package_sources(), LAYERS) == []


def test_every_module_has_a_layer_and_every_layer_a_module() -> None:
    assert set(package_sources()) == set(LAYERS)


def test_no_module_is_much_over_300_lines() -> None:
    long = {name: text.count("\n") for name, text in package_sources().items() if text.count("\n") > 330}
    assert long == {}


# The checker itself must be able to fail: each breach, added by hand to a copy.

def _with(module: str, extra: str) -> dict[str, str]:
    sources = package_sources()
    sources[module] += "\n" + extra + "\n"
    return sources


@pytest.mark.parametrize(
    ("module", "extra", "expected"),
    [
        ("schema", "from omega_db import migrate", "schema:"),  # upward, and a cycle
        ("db", "def f():\n    from omega_db.history import Plan", "db:"),  # upward, inside a function
        ("verify", "from omega_db.db import _open", "takes the private _open from db"),
        ("verify", "x = db._open", "uses the private db._open"),
        ("sql", "import omega_db.cli", "sql:"),
    ],
)
def test_the_checker_catches_a_breach(module: str, extra: str, expected: str) -> None:
    found = problems(_with(module, extra), LAYERS)
    assert any(expected in line for line in found), found


def test_the_checker_reports_a_cycle_even_with_a_permissive_table() -> None:
    flat = dict.fromkeys(LAYERS, 0)
    sources = _with("schema", "from omega_db import migrate")
    found = [line for line in problems(sources, flat) if line.startswith("import cycle")]
    assert found and "schema" in found[0] and "migrate" in found[0]
