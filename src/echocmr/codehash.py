"""Fingerprints of the code a workflow script runs, for the rules' `code` param.

Snakemake reruns a job whose params changed, but it does not see the library a script imports:
an edit to `echocmr/stats/delong.py` would otherwise leave the DeLong table stale. Each rule
with a script therefore passes `code=CODE.of("<script>.py")`: a hash of the script and of every
`echocmr` module it can import, found by walking imports transitively (module level, inside
functions, relative ones). Imports inside a function count only when that function is reachable
from what the importer takes from the module, so the train script (`run_model_train` of
`echocmr.model.stage`) does not depend on the fusion code that `fuse_views` imports lazily.

Each module is hashed as its syntax tree without docstrings, so comments, docstrings and
formatting change no fingerprint (and rerun no network); any change to the code itself does.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "echocmr"
ALL = None  # "every name of the module" (an `import x` or a star import)


def strip_docstrings(tree: ast.AST) -> ast.AST:
    """The tree without the docstrings of its module, classes and functions."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _imports_outside_definitions(node: ast.AST) -> list[ast.AST]:
    """Import statements of `node` not inside a top-level function or class (module level,
    including those in `with`, `if` and `try` blocks)."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append(child)
        else:
            found += _imports_outside_definitions(child)
    return found


@dataclass
class ModuleCode:
    """What the walk needs of one module, computed once: its digest, its module-level imports
    and, per top-level function or class, the imports inside it and the top-level names it
    refers to."""

    digest: str
    imports: list
    definitions: dict = field(default_factory=dict)  # name -> (imports, referenced names)

    @classmethod
    def parse(cls, source: str, filename: str = "<script>") -> ModuleCode:
        tree = strip_docstrings(ast.parse(source, filename))
        digest = hashlib.sha256(ast.dump(tree).encode()).hexdigest()
        defs = {n.name: n for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        code = cls(digest, _imports_outside_definitions(tree))
        for name, node in defs.items():
            inner = list(ast.walk(node))
            code.definitions[name] = (
                [n for n in inner if isinstance(n, (ast.Import, ast.ImportFrom))],
                {n.id for n in inner if isinstance(n, ast.Name) and n.id in defs})
        return code

    def imports_for(self, names: set | None) -> list:
        """Imports that run when `names` (ALL: anything) of the module are used: the
        module-level ones and those inside the definitions reachable from `names`."""
        wanted = set(self.definitions) if names is ALL else names
        seen, todo, found = set(), [n for n in wanted if n in self.definitions], list(self.imports)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            imports, refs = self.definitions[name]
            found += imports
            todo += [r for r in refs if r not in seen]
        return found


# Parsed modules by (path, mtime, size): the workflow is parsed again and again in one process
# (tests, the API), and a module is only parsed anew when its file changed.
_PARSED: dict[tuple, ModuleCode] = {}


def parsed_file(path: Path) -> ModuleCode:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = ModuleCode.parse(path.read_text(), str(path))
    return _PARSED[key]


class CodeFingerprints:
    """Fingerprints of workflow scripts over the `echocmr` package under `src_root`."""

    def __init__(self, src_root: str | Path):
        self.src_root = Path(src_root)
        self._code: dict[str, ModuleCode] = {}

    # ---- modules ----------------------------------------------------------------------------
    def module_file(self, module: str) -> Path | None:
        """The source file of a dotted `echocmr` module (None: not a module of the package)."""
        base = self.src_root.joinpath(*module.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None

    def code(self, module: str) -> ModuleCode:
        if module not in self._code:
            self._code[module] = parsed_file(self.module_file(module))
        return self._code[module]

    def _is_package(self, module: str) -> bool:
        return self.module_file(module).name == "__init__.py"

    def _absolute(self, importer: str, stmt: ast.ImportFrom) -> str:
        """The module a (possibly relative) `from ... import` names."""
        if not stmt.level:
            return stmt.module
        parts = importer.split(".")
        package = parts if self._is_package(importer) else parts[:-1]
        base = package[:len(package) - (stmt.level - 1)]
        return ".".join(base + ([stmt.module] if stmt.module else []))

    def _requests(self, importer: str, stmt: ast.AST) -> list[tuple[str, set | None]]:
        """(module, names taken from it) of one import statement, `echocmr` modules only."""
        if isinstance(stmt, ast.Import):
            return [(alias.name, ALL) for alias in stmt.names
                    if alias.name.split(".")[0] == PACKAGE]
        module = self._absolute(importer, stmt)
        if module is None or module.split(".")[0] != PACKAGE:
            return []
        names = {alias.name for alias in stmt.names}
        if "*" in names:
            return [(module, ALL)]
        # `from echocmr.cohort import labels`: a submodule, taken whole
        subs = {n for n in names if self.module_file(f"{module}.{n}")}
        return [(module, names - subs)] + [(f"{module}.{n}", ALL) for n in sorted(subs)]

    def modules_of(self, script: str | Path) -> list[str]:
        """Every `echocmr` module the script can import (with the packages above them)."""
        taken: dict[str, set | None] = {}
        todo = []
        for stmt in parsed_file(Path(script)).imports_for(ALL):
            todo += self._requests(PACKAGE, stmt)
        while todo:
            module, names = todo.pop()
            if self.module_file(module) is None:
                continue
            parts = module.split(".")
            todo += [(".".join(parts[:i]), set()) for i in range(1, len(parts))
                     if ".".join(parts[:i]) not in taken]
            before = taken.get(module, set())
            if module in taken and (before is ALL or (names is not ALL and names <= before)):
                continue
            merged = ALL if names is ALL or before is ALL else before | names
            new = ALL if merged is ALL else merged - before
            taken[module] = merged
            for stmt in self.code(module).imports_for(new):
                todo += self._requests(module, stmt)
        return sorted(taken)

    # ---- fingerprints -----------------------------------------------------------------------
    def fingerprint(self, script: str | Path) -> str:
        """16 hex digits over the script's code and every module it can import."""
        digest = hashlib.sha256(parsed_file(Path(script)).digest.encode())
        for module in self.modules_of(script):
            digest.update(f"\0{module}\0{self.code(module).digest}".encode())
        return digest.hexdigest()[:16]


class ScriptFingerprints(CodeFingerprints):
    """`CODE.of("model_train.py")` in the rules: the fingerprint of workflow/scripts/<name>."""

    def __init__(self, basedir: str | Path):
        super().__init__(Path(basedir) / "src")
        self.scripts = Path(basedir) / "workflow" / "scripts"
        self._cache: dict[str, str] = {}

    def of(self, script_name: str) -> str:
        if script_name not in self._cache:
            self._cache[script_name] = self.fingerprint(self.scripts / script_name)
        return self._cache[script_name]
