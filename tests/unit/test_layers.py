"""The library's packages form floors in pipeline order (docs/ARCHITECTURE.md, "Layout"): a
module imports only from its own floor or the floors below, and no modules import each other
in a circle. Read from the source (every `import` statement, those inside functions too), so a
lazy import cannot hide an arrow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "echocmr"

# Lowest first. `core` is the package root and its top-level modules (keys, secret, logutil,
# codehash, config checks and schema, cpu_pin, study_period): plain helpers with no stage.
FLOORS = ["core", "vocab", "media", "simulate", "ingest", "deid", "crop", "views", "cohort",
          "model", "stats", "report", "audit"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def library_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) <= 2 and not (PACKAGE / parts[-1]).is_dir():
        return "core"  # echocmr itself or a top-level module
    return parts[1]


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The library modules `module` imports (a name imported from a package counts as the
    submodule when there is one, else the package)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".")[: None if is_package else -1]
                here = here[: len(here) - node.level + 1]
                base = ".".join(here + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = library_modules()
    return {m: imported_modules(m, p, modules) for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_floor():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(FLOORS), f"place {sorted(packages - set(FLOORS))} in FLOORS"


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_no_upward_imports():
    rank = {floor: i for i, floor in enumerate(FLOORS)}
    upward = sorted(f"{m} -> {d}" for m, deps in import_graph().items() for d in deps
                    if rank[floor_of(d)] > rank[floor_of(m)])
    assert upward == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_cycle_finder_finds_circles(graph, expected):
    assert cycles(graph) == expected


def test_an_upward_import_would_be_seen(tmp_path):
    """The parser resolves the forms the library uses: absolute, `from pkg import module`,
    inside a function, relative."""
    modules = {"echocmr.media.store": tmp_path / "store.py", "echocmr.audit.stage": tmp_path,
               "echocmr.media": tmp_path / "__init__.py"}
    source = tmp_path / "store.py"
    source.write_text("def f():\n    from echocmr.audit import stage\n")
    assert imported_modules("echocmr.media.store", source, modules) == {"echocmr.audit.stage"}
    source.write_text("from . import nothing\nfrom ..audit import stage\n")
    assert "echocmr.audit.stage" in imported_modules("echocmr.media.store", source, modules)
