"""One home per fact (issue 14): the analysis views, the task names, the QC columns and the
deliverables are each spelled out in one module; everything else imports them.

The scan reads every Python and Snakemake file under src/ and workflow/ for a bracketed literal
(list, tuple or set) that spells one of these facts again, and names its file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from echocmr.report.deliverables import deliverables
from echocmr.vocab.qc import QC_COLUMNS
from echocmr.vocab.tasks import BINARY_TASKS, CONTINUOUS_TASKS, MAPPING_BINARY_TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

REPO = Path(__file__).resolve().parents[3]
SOURCES = [*sorted((REPO / "src").rglob("*.py")), *sorted((REPO / "workflow").rglob("*.smk")),
           REPO / "Snakefile"]
# Other names a literal of views may carry beside the views themselves (a source list such as
# ("A4C", "A2C", "PLAX", "fused") restates the views as much as the bare tuple does).
VIEW_COMPANIONS = {"fused", "baseline", "global", "OTHER"}

# fact -> (home, does a literal's set of strings restate it?)
FACTS = {
    "analysis views": ("src/echocmr/vocab/views.py", lambda s: (
        set(ANALYSIS_VIEWS) <= s <= set(ANALYSIS_VIEWS) | VIEW_COMPANIONS
        or {v.lower() for v in ANALYSIS_VIEWS} <= s)),
    "task names": ("src/echocmr/vocab/tasks.py", lambda s: (
        set(BINARY_TASKS) <= s or set(CONTINUOUS_TASKS) <= s or set(MAPPING_BINARY_TASKS) <= s)),
    "QC columns": ("src/echocmr/vocab/qc.py", lambda s: set(QC_COLUMNS) <= s),
    "deliverables": ("src/echocmr/report/deliverables.py", lambda s: len(
        s & set(deliverables(trains_models=True))) >= 2),
}
# Literals that name the same strings for another reason, with that reason.
ALLOWED = {
    # simulate.effects keys: the planted CMR tissue measures, not the model's task names
    ("src/echocmr/simulate/render.py", "task names"),
}

BRACKETED = re.compile(r"[\[({]([^\[\](){}]*)[\])}]")
STRING = re.compile(r"\"([^\"\n]*)\"|'([^'\n]*)'")


def restatements(text: str) -> list[tuple[int, str]]:
    """(line, fact) of every bracketed literal in `text` that spells out one of FACTS."""
    found = []
    for match in BRACKETED.finditer(text):
        body = match.group(1)
        if match.group(0).startswith("{") and ":" in body:
            continue  # a dict: display labels keyed by view are checked below instead
        strings = {a or b for a, b in STRING.findall(body)}
        line = text.count("\n", 0, match.start()) + 1
        found += [(line, fact) for fact, (_, spells) in FACTS.items() if spells(strings)]
    return found


def test_each_fact_is_spelled_out_only_in_its_home():
    misplaced = []
    for path in SOURCES:
        rel = path.relative_to(REPO).as_posix()
        for line, fact in restatements(path.read_text()):
            if rel != FACTS[fact][0] and (rel, fact) not in ALLOWED:
                misplaced.append(f"{rel}:{line}: {fact} (home: {FACTS[fact][0]})")
    assert not misplaced, "\n".join(misplaced)


def test_each_home_spells_out_its_fact():
    for fact, (home, _) in FACTS.items():
        assert fact in {f for _, f in restatements((REPO / home).read_text())}, (fact, home)


@pytest.mark.parametrize("snippet", [
    'VIEWS = ("A4C", "A2C", "PLAX")',
    "SOURCES = ['fused', 'A4C',\n           'A2C', 'PLAX']",
    'for v in ("a4c", "a2c", "plax", "global"):',
    'TASKS = ["wma", "lge", "t1_abnormal", "t2_abnormal", "ecv_abnormal"]',
    'cols = ["step", "unit", "n_in", "n_out", "reason", "n_excluded"]',
    'targets = ["results/table1.csv", "results/table2.csv"]',
])
def test_the_scan_finds_a_restated_fact(snippet):
    assert restatements(f"x = 1\n{snippet}\n")


def test_simulator_lists_of_other_views_are_not_the_analysis_views():
    assert not restatements('still = rng.choice(["A4C", "PLAX", "PSAX", "A2C"])')


def test_dicts_keyed_by_view_have_exactly_the_analysis_views():
    from echocmr.cohort import table1
    from echocmr.report import style, tables
    from echocmr.simulate.settings import DEFAULTS
    from echocmr.vocab.segments import VIEW_SEGMENTS

    views = set(ANALYSIS_VIEWS)
    assert set(VIEW_SEGMENTS) == views
    assert set(table1.VIEW_LABELS) == views
    assert set(DEFAULTS["view_probability"]) == views
    assert set(tables.SOURCES) == set(tables.VIDEO_LABELS) == views | {"fused"}
    assert set(style.SOURCE_COLOURS) == set(style.SOURCE_LABELS) == views | {"fused"}
    for _, _, labels in tables.TABLE2_LAYOUT:
        assert set(labels) == views | {"fused"}


# ---- one path-helper pattern (docs/ARCHITECTURE.md, "Rules and scripts") ----------------------
RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
# stage module -> its paths class; common.smk makes one `<STAGE>_PATHS` of each
STAGE_PATHS = {"ingest": "IngestPaths", "views": "ViewsPaths", "cohort": "CohortPaths",
               "model": "ModelPaths", "report": "ReportPaths"}
# Path building outside the `<Stage>Paths` objects (`sys.path` of common.smk aside).
PATH_BUILDING = re.compile(r"^\s*def |\bexpand\(|\bos\.path\.join\(|\bshard_path\(")


def test_rules_build_paths_only_through_the_stage_paths_objects():
    found = []
    for path in RULE_FILES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if code.startswith("sys.path.insert(0, os.path.join(workflow.basedir, \"src\"))"):
                continue
            if PATH_BUILDING.search(code) and "_PATHS." not in code:
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("stage", sorted(STAGE_PATHS))
def test_each_stage_has_one_frozen_paths_dataclass_made_once_in_common_smk(stage):
    import dataclasses
    import importlib

    module = importlib.import_module(f"echocmr.{stage}.smk")
    cls = getattr(module, STAGE_PATHS[stage])
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    others = [n for n, v in vars(module).items()
              if n.endswith("Paths") and isinstance(v, type) and v.__module__ == module.__name__]
    assert others == [STAGE_PATHS[stage]]
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    made = re.findall(rf"^{stage.upper()}_PATHS = {STAGE_PATHS[stage]}\(", common, re.M)
    assert len(made) == 1
    for path in [*RULE_FILES, REPO / "Snakefile"]:
        if path.name != "common.smk":
            assert f"{STAGE_PATHS[stage]}(" not in path.read_text(), path


# ---- one entry pattern from script to library (docs/ARCHITECTURE.md, "Rules and scripts") -----
SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))


def script_entry(path: Path) -> tuple[str, str]:
    """(module, function) a workflow script hands its `snakemake` object to; fails unless the
    script is a docstring, `from echocmr.<...> import run_<script>` and `run_<script>(snakemake)`
    and nothing else."""
    import ast

    body = ast.parse(path.read_text()).body
    entry = f"run_{path.stem}"
    assert len(body) == 3, f"{path.name}: docstring, one import, one call (found {len(body)})"
    doc, imp, call = body
    assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), path.name
    assert isinstance(imp, ast.ImportFrom) and imp.module.startswith("echocmr."), path.name
    assert [(a.name, a.asname) for a in imp.names] == [(entry, None)], path.name
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call), path.name
    assert ast.dump(call.value) == ast.dump(ast.parse(f"{entry}(snakemake)").body[0].value), \
        f"{path.name}: call {entry}(snakemake), nothing else"
    return imp.module, entry


def test_there_are_scripts():
    assert len(SCRIPTS) > 30


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_hands_snakemake_to_one_library_entry(script):
    import ast
    import importlib
    import inspect

    module, entry = script_entry(script)
    function = getattr(importlib.import_module(module), entry)
    params = list(inspect.signature(function).parameters)
    assert params == ["smk"], f"{module}.{entry}{params}: takes the snakemake object only"
    source = inspect.getsource(function)
    assert "smk.config" not in source, f"{module}.{entry}: config only through declared params"
    # the entry sends stderr and logging to the rule's log before any work
    tree = ast.parse(source)
    withs = [n for n in tree.body[0].body if isinstance(n, ast.With)]
    assert any(ast.unparse(item.context_expr) == "script_logging(smk)"
               for w in withs for item in w.items), f"{module}.{entry}: `with script_logging(smk)`"


def test_the_check_refuses_a_script_with_its_own_logic(tmp_path):
    thick = tmp_path / "table2.py"
    thick.write_text('"""x"""\n\nfrom echocmr.report.tables import run_table2\n\n'
                     'import pandas as pd\nrun_table2(snakemake)\n')
    with pytest.raises(AssertionError):
        script_entry(thick)
    other = tmp_path / "table2.py"
    other.write_text('"""x"""\n\nfrom echocmr.report.tables import table2\n\ntable2(snakemake)\n')
    with pytest.raises(AssertionError):
        script_entry(other)
