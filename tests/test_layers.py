"""The package's shape, read from its folders and imports: layers, no cycles, no private name across modules.

The layers are the package structure itself: `omega_db.PACKAGES` lists the subpackages
lowest first (the `cli` module on top), and each subpackage's `MODULES` lists its modules
lowest first. A module may import a module of a package before its own, or one listed
before it in its own package — at the top, inside a function or under TYPE_CHECKING alike.
A subpackage's `__init__.py` holds its docstring and MODULES, and imports nothing.
The README's Development section names the same packages, one line each.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

import omega_db

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "omega_db"  # the source tree: CI runs the tests against a non-editable install
TOP = "omega_db"  # the package's own __init__: __version__ and PACKAGES
ENTRY = "__main__"  # python -m omega_db: above everything


def literal(source: str, name: str) -> tuple[str, ...]:
    """The tuple of strings assigned to `name` at the top of a module's source."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple) and all(isinstance(v, str) for v in value), name
            return value
    raise AssertionError(f"no {name} = (...) in the module")


def package_sources(root: Path = PACKAGE) -> dict[str, str]:
    """Every module of the package as {dotted name below omega_db: source}; __init__ files as the package's name."""
    sources: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "migrations" or "__pycache__" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or [TOP]
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def layers(sources: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Each module's rank, read from PACKAGES and MODULES: (package's place, module's place in it)."""
    packages = literal(sources[TOP], "PACKAGES")
    ranks: dict[str, tuple[int, int]] = {TOP: (-1, 0), ENTRY: (len(packages), 0)}
    for place, package in enumerate(packages):
        if package not in sources:
            continue
        if not any(name.startswith(f"{package}.") for name in sources) and "MODULES" not in sources[package]:
            ranks[package] = (place, 0)  # a top-level module (cli)
            continue
        ranks[package] = (place, -1)  # the subpackage's __init__
        for index, module in enumerate(literal(sources[package], "MODULES")):
            ranks[f"{package}.{module}"] = (place, index)
    return ranks


def imports_of(tree: ast.AST, known: set[str]) -> list[tuple[str, str, int]]:
    """(imported module, name taken from it or '', line) for every omega_db import in the tree."""
    found: list[tuple[str, str, int]] = []

    def resolve(dotted: str) -> str:
        """The longest known module that `dotted` (below omega_db) names or lies in."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in known:
                return ".".join(parts[:end])
        return dotted

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "omega_db":
            below = node.module.split(".", 1)[1] if "." in node.module else ""
            for alias in node.names:
                whole = f"{below}.{alias.name}" if below else alias.name
                if whole in known:  # from omega_db.chain import history / from omega_db import cli
                    found.append((whole, "", node.lineno))
                else:
                    found.append((resolve(below) if below else TOP, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "omega_db":
                    found.append((resolve(".".join(parts[1:])) if len(parts) > 1 else TOP, "", node.lineno))
    return found


def private_attributes(tree: ast.AST, modules: set[str]) -> list[tuple[str, str, int]]:
    """module._name uses, where module is an imported omega_db module."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "omega_db":
            below = node.module.split(".", 1)[1] if "." in node.module else ""
            for alias in node.names:
                whole = f"{below}.{alias.name}" if below else alias.name
                if whole in modules:
                    bound[alias.asname or alias.name] = whole
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append((bound[node.value.id], node.attr, node.lineno))
    return found


def problems(sources: dict[str, str]) -> list[str]:
    """Everything wrong with the shape of a package given as {module: source}."""
    ranks = layers(sources)
    found: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name in sorted(sources):
        if name not in ranks:
            found.append(f"{name} is in no package's MODULES (or PACKAGES)")
            continue
        tree = ast.parse(sources[name])
        is_init = ranks[name][1] == -1
        for target, taken, line in imports_of(tree, set(sources)):
            if target == name:
                continue
            graph[name].add(target)
            if is_init:
                found.append(f"{name}:{line} imports {target}: a package's __init__ imports nothing")
            elif target not in ranks:
                found.append(f"{name}:{line} imports {target}, which has no layer")
            elif ranks[target] >= ranks[name]:
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


def test_the_package_keeps_its_layers() -> None:
    assert problems(package_sources()) == []


def test_every_module_is_listed_and_every_listed_module_exists() -> None:
    sources = package_sources()
    assert set(sources) == set(layers(sources))


def test_the_top_folder_shows_the_parts() -> None:
    """At most eight entries besides __init__ and __main__: each a listed subpackage, or the cli module."""
    packages = literal(package_sources()[TOP], "PACKAGES")
    entries = {p.name for p in PACKAGE.iterdir() if p.name not in {"__init__.py", "__main__.py", "__pycache__"}}
    entries.discard("migrations")  # the SQL files' package, mapped in by setuptools (absent from an editable tree)
    assert len(entries) <= 8
    assert entries == {f"{p}.py" if (PACKAGE / f"{p}.py").exists() else p for p in packages}
    for package in packages:
        if (PACKAGE / package).is_dir():
            doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
            assert doc and "import" in doc, f"{package}/__init__.py says what it holds and what it may import"


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
        ("chain.schema", "from omega_db.chain import migrate", "chain.schema:"),  # upward in its package, a cycle
        ("ground.db", "def f():\n    from omega_db.chain.history import Plan", "ground.db:"),  # upward, in a function
        ("chain.history", "from omega_db.chain import repair", "chain.history:"),  # sideways: later in the package
        ("verify.run", "from omega_db.ground.db import _open", "takes the private _open from ground.db"),
        ("verify.run", "from omega_db.ground import db\nx = db._open", "uses the private ground.db._open"),
        ("ground.sql", "import omega_db.cli", "ground.sql:"),
        ("output.table", "from omega_db import commands", "output.table:"),  # a later package's __init__
        ("data", "from omega_db.ground import db", "a package's __init__ imports nothing"),
    ],
)
def test_the_checker_catches_a_breach(module: str, extra: str, expected: str) -> None:
    found = problems(_with(module, extra))
    assert any(expected in line for line in found), found


def test_the_checker_reports_a_cycle_and_an_unlisted_module() -> None:
    sources = _with("chain.schema", "from omega_db.chain import migrate")
    found = [line for line in problems(sources) if line.startswith("import cycle")]
    assert found and "chain.schema" in found[0] and "chain.migrate" in found[0]
    sources = package_sources()
    sources["data.stray"] = "x = 1\n"
    assert "data.stray is in no package's MODULES (or PACKAGES)" in problems(sources)


def test_the_order_is_read_from_the_package() -> None:
    """Swapping two modules in MODULES turns a legal import into an upward one."""
    sources = package_sources()
    sources["chain"] = sources["chain"].replace('"files", "schema"', '"schema", "files"')
    assert any(line.startswith("chain.schema:") and "chain.files" in line for line in problems(sources))


def test_the_readme_names_each_package_in_its_order() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("## Development") :]
    rows = [line.split("|")[1].strip(" `/") for line in development.splitlines() if line.startswith("| `")]
    assert tuple(rows) == tuple(p for p in omega_db.PACKAGES if p != "cli")


def test_the_wheel_ships_every_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = set(project["tool"]["setuptools"]["packages"])
    folders = {f"omega_db.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders - {"omega_db.migrations"} <= shipped, sorted(folders - shipped)
    assert {"omega_db", "omega_db.migrations"} <= shipped
    for name in sorted(folders):  # and the installed package (editable or not) has each of them
        importlib.import_module(name)
