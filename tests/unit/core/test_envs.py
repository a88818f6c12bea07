"""Conda envs are complete and pinned: what `--use-conda` users get must run every script.

Conda cannot be exercised on the test machine, so this test does statically what conda would
reveal at run time: for every rule it reads the `conda:` env and the `script:`, follows the
script's imports into the `echocmr` library (transitively, by AST), maps each third-party import to
its distribution and fails when the rule's env does not declare it. Every pip pin in an env must be
exact and equal to the pin in requirements.txt (one version of each package across the project).
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src"
ENVS = REPO / "envs"
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
ENV_FAMILIES = {"dicom", "torch", "stats", "plot"}

# Import name -> distribution name, where they differ (or where the venv cannot tell us).
IMPORT_TO_DIST = {
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "dateutil": "python-dateutil",
    "pylibjpeg": "pylibjpeg",
    "libjpeg": "pylibjpeg-libjpeg",
    "openjpeg": "pylibjpeg-openjpeg",
    "rle": "pylibjpeg-rle",
    "jsonschema": "jsonschema",
    "av": "av",
    "english_words": "english-words",
}
# Provided by Snakemake's script preamble (it puts its own package on sys.path), not by the env.
PROVIDED = {"snakemake", "echocmr", "__future__"}
# Decoders pydicom loads as plugins (never imported by our code) that the dicom env must carry
# so compressed transfer syntaxes decode under --use-conda as they do in the venv.
PLUGIN_DISTS = {
    "pydicom": {"pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle"},
}

RULE_RE = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:")
USE_RULE_RE = re.compile(r"^use rule")
KEY_RE = re.compile(r"^(\s+)(conda|script)\s*:\s*(.*)$")


@dataclass
class RuleSpec:
    name: str
    rule_file: Path
    conda: str | None = None
    script: str | None = None


def normalize(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _string_value(text: str) -> str | None:
    """The first quoted string of a directive value (rule files are snakefmt-formatted)."""
    m = re.search(r"""(["'])(.+?)\1""", text)
    return m.group(2) if m else None


def parse_rule_file(path: Path) -> list[RuleSpec]:
    """Rules with their conda env and script paths as written (relative to the rule file)."""
    rules: list[RuleSpec] = []
    lines = path.read_text().splitlines()
    current: RuleSpec | None = None
    for i, line in enumerate(lines):
        m = RULE_RE.match(line)
        if m:
            current = RuleSpec(m.group(1), path)
            rules.append(current)
            continue
        if USE_RULE_RE.match(line) or (line and not line[0].isspace() and not line.startswith("#")):
            current = None
            continue
        k = KEY_RE.match(line)
        if current is None or not k:
            continue
        value = _string_value(k.group(3))
        if value is None:  # value on the next non-empty line (snakefmt style)
            for nxt in lines[i + 1 :]:
                if nxt.strip():
                    value = _string_value(nxt)
                    break
        setattr(current, k.group(2), value)
    return rules


def all_rules() -> list[RuleSpec]:
    return [r for f in RULE_FILES if f.exists() for r in parse_rule_file(f)]


def _module_file(module: str) -> Path | None:
    """File of an `echocmr...` module, or None if it is not one of ours."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _is_optional_import(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside `try: ... except ImportError` or `if TYPE_CHECKING:` - not needed to run."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                names = ast.unparse(handler.type) if handler.type else ""
                if "ImportError" in names or "ModuleNotFoundError" in names:
                    return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        child, parent = parent, parents.get(parent)
    return False


# One import: (absolute module, the names taken from it or None for "the whole module").
Import = tuple[str, frozenset[str] | None]


@dataclass
class ModuleImports:
    """Imports run when a module is imported, and those each top-level def/class runs lazily."""

    module_level: list[Import]
    lazy: dict[str, list[Import]]  # def/class name -> imports inside it
    calls: dict[str, set[str]]  # def/class name -> names it references (same-module calls)
    module_refs: set[str]  # defs referenced at module level (run on import)


def _import_entries(node: ast.Import | ast.ImportFrom, package: str | None) -> list[Import]:
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if node.level:
        if package is None:
            return []
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    return [(module, frozenset(alias.name for alias in node.names))]


@functools.cache
def module_imports(path: Path, package: str | None) -> ModuleImports:
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    top_defs = {n.name: n for n in tree.body if isinstance(n, defs)}
    lazy_nodes = {id(sub) for d in top_defs.values() for sub in ast.walk(d)}

    def wanted(node: ast.AST) -> bool:
        return isinstance(node, ast.Import | ast.ImportFrom) and not _is_optional_import(
            node, parents
        )

    module_level = [
        entry
        for node in ast.walk(tree)
        if wanted(node) and id(node) not in lazy_nodes
        for entry in _import_entries(node, package)
    ]
    lazy = {
        name: [e for node in ast.walk(d) if wanted(node) for e in _import_entries(node, package)]
        for name, d in top_defs.items()
    }
    calls = {
        name: {n.id for n in ast.walk(d) if isinstance(n, ast.Name)} & set(top_defs)
        for name, d in top_defs.items()
    }
    module_refs = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in lazy_nodes
    } & set(top_defs)
    return ModuleImports(module_level, lazy, calls, module_refs)


def _closure(info: ModuleImports, names: frozenset[str]) -> set[str]:
    """The defs `names` reach through same-module references."""
    todo, reached = [n for n in names if n in info.lazy], set()
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(info.calls.get(name, ()))
    return reached


def _display(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


@functools.cache
def third_party_imports(script: Path) -> dict[str, str]:
    """Top-level third-party module -> the file importing it, following echocmr transitively.

    A library module counts with its module-level imports plus the lazy (in-function) imports of
    the functions actually taken from it (and what those call in the same module); a script or a
    module imported whole counts with everything.
    """
    needed: dict[str, str] = {}
    seen: set[tuple[Path, frozenset[str] | None]] = set()
    queue: list[tuple[Path, str | None, frozenset[str] | None]] = [(script, None, None)]
    while queue:
        path, package, names = queue.pop()
        if (path, names) in seen:
            continue
        seen.add((path, names))
        info = module_imports(path, package)
        entries = list(info.module_level)
        if names is None:
            lazy_defs = set(info.lazy)
        else:
            lazy_defs = _closure(info, names | frozenset(info.module_refs))
        for name in sorted(lazy_defs):
            entries.extend(info.lazy[name])
        for module, taken in entries:
            top = module.split(".")[0]
            if top == "echocmr":
                queue.extend(_echocmr_targets(module, taken))
            elif top and top not in sys.stdlib_module_names and top not in PROVIDED:
                needed.setdefault(top, _display(path))
    return needed


def _echocmr_targets(module: str, taken: frozenset[str] | None):
    """Files run by `import module` / `from module import taken`, with the names they give."""
    parts = module.split(".")
    # importing a.b.c runs a/__init__ and a/b/__init__ (module level only), then a/b/c
    for n in range(1, len(parts)):
        name = ".".join(parts[:n])
        f = _module_file(name)
        if f is not None:
            yield f, name, frozenset()
    f = _module_file(module)
    if f is None:
        return
    package = module if f.name == "__init__.py" else module.rpartition(".")[0]
    yield f, package, taken
    for sub in taken or ():  # `from echocmr.x import submodule` imports the submodule whole
        sub_file = _module_file(f"{module}.{sub}")
        if sub_file is not None:
            sub_pkg = f"{module}.{sub}" if sub_file.name == "__init__.py" else module
            yield sub_file, sub_pkg, None


@functools.cache
def _installed_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def dist_of(import_name: str) -> str:
    if import_name in IMPORT_TO_DIST:
        return normalize(IMPORT_TO_DIST[import_name])
    dists = _installed_distributions().get(import_name)
    if dists:
        return normalize(dists[0])
    return normalize(import_name)


@functools.cache
def read_requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalize(name)] = version.strip()
    return pins


def env_packages(env_file: Path) -> dict[str, str | None]:
    """Declared packages (conda and pip) -> version ('==' or '=' pin) or None if unpinned."""
    spec = yaml.safe_load(env_file.read_text())
    packages: dict[str, str | None] = {}

    def add(entry: str, sep: str) -> None:
        name, _, version = entry.partition(sep)
        packages[normalize(name.strip())] = version.strip() or None

    for dep in spec.get("dependencies", []):
        if isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                add(pip_dep, "==")
        else:
            add(dep, "=")
    return packages


def _rule_path(rule: RuleSpec, value: str) -> Path:
    return (rule.rule_file.parent / value).resolve()


# ---------------------------------------------------------------------------------------------


def test_rule_parser_sees_every_rule_snakemake_lists():
    """The text parser must not miss rules, or the checks below would pass vacuously."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "--list-rules", "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = {ln.split()[0] for ln in proc.stdout.splitlines() if re.match(r"^\w+\s*$", ln)}
    parsed = {r.name for r in all_rules()}
    assert "all" in listed
    assert listed <= parsed, f"rules Snakemake lists but the parser missed: {listed - parsed}"


def test_every_script_rule_names_an_existing_family_env():
    problems = []
    for rule in all_rules():
        if rule.script is None:
            continue
        if rule.conda is None:
            problems.append(f"rule {rule.name}: has script: but no conda:")
            continue
        env = _rule_path(rule, rule.conda)
        if not env.exists():
            problems.append(f"rule {rule.name}: conda env {rule.conda} does not exist")
        elif env.parent != ENVS.resolve() or env.stem not in ENV_FAMILIES:
            problems.append(f"rule {rule.name}: env {env.name} is not one of envs/{ENV_FAMILIES}")
        if not _rule_path(rule, rule.script).exists():
            problems.append(f"rule {rule.name}: script {rule.script} does not exist")
    assert not problems, "\n".join(problems)


def test_every_env_family_is_used_by_a_rule():
    used = {_rule_path(r, r.conda).stem for r in all_rules() if r.conda}
    assert ENV_FAMILIES <= used, f"env files no rule uses: {ENV_FAMILIES - used}"
    assert {p.stem for p in ENVS.glob("*.yaml")} == ENV_FAMILIES, "unexpected env files"


@pytest.mark.parametrize("family", sorted(ENV_FAMILIES))
def test_env_pins_are_exact_and_match_requirements(family):
    pins = read_requirements()
    problems = []
    for name, version in env_packages(ENVS / f"{family}.yaml").items():
        if name in {"python", "pip"}:
            continue
        if version is None:
            problems.append(f"{name}: not pinned (use an exact == pin)")
        elif name in pins and version != pins[name]:
            problems.append(f"{name}: {version} here but {pins[name]} in requirements.txt")
    assert not problems, f"envs/{family}.yaml:\n" + "\n".join(problems)


def test_every_script_import_is_declared_in_its_env():
    problems = []
    checked = 0
    for rule in all_rules():
        if rule.script is None or rule.conda is None:
            continue
        env = _rule_path(rule, rule.conda)
        script = _rule_path(rule, rule.script)
        if not env.exists() or not script.exists() or script.suffix != ".py":
            continue
        declared = set(env_packages(env))
        for module, where in sorted(third_party_imports(script).items()):
            checked += 1
            dist = dist_of(module)
            if dist not in declared:
                problems.append(
                    f"rule {rule.name} ({env.name}): '{module}' (imported in {where}) needs "
                    f"'{dist}' - add '{dist}=={read_requirements().get(dist, '<version>')}'"
                )
            for plugin in sorted(PLUGIN_DISTS.get(dist, set()) - declared):
                problems.append(f"rule {rule.name} ({env.name}): {dist} needs plugin {plugin}")
    assert not problems, "\n".join(problems)
    if any(r.script for r in all_rules()):
        assert checked > 0, "no third-party import found in any script: the scan is broken"


def test_import_scan_follows_the_library_transitively(tmp_path, monkeypatch):
    """Guard the scanner itself on a throwaway `echocmr` package."""
    pkg = tmp_path / "src" / "echocmr"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .deep import helper\n")
    (pkg / "sub" / "deep.py").write_text("import pandas\ndef helper():\n    import scipy\n")
    (pkg / "a.py").write_text(
        "import numpy\nfrom echocmr.sub import helper\n"
        "def light():\n    return other()\n"
        "def other():\n    import cv2\n"
        "def heavy():\n    import torch\n"
        "try:\n    import av\nexcept ImportError:\n    av = None\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "src")
    module_imports.cache_clear()
    third_party_imports.cache_clear()
    try:
        light = tmp_path / "light.py"
        light.write_text("import os\nfrom echocmr.a import light\n")
        whole = tmp_path / "whole.py"
        whole.write_text("import echocmr.a\n")
        # module level; a name imported (helper, re-exported one package deeper) counts as
        # used; same-module call chain light -> other; heavy() is never reached
        assert set(third_party_imports(light)) == {"numpy", "pandas", "scipy", "cv2"}
        # a module imported whole may run any of its functions; optional imports never count
        assert set(third_party_imports(whole)) == {"numpy", "pandas", "scipy", "cv2", "torch"}
    finally:
        module_imports.cache_clear()
        third_party_imports.cache_clear()
    assert dist_of("cv2") == "opencv-python-headless"
    assert dist_of("sklearn") == "scikit-learn"
    assert dist_of("PIL") == "pillow"
