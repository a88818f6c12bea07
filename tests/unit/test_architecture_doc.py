"""docs/ARCHITECTURE.md's layout block names what the tree holds: every rules file, every package
of the library and every test tier and stage folder, each discovered from the filesystem here, so
a file or package added or moved without the page fails this test."""

from __future__ import annotations

import re

from conftest import REPO

ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"
CODE_INDENT = "    "


def layout_block() -> list[str]:
    """The indented code lines of the '## Layout' section, indentation removed."""
    section = ARCHITECTURE.read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return [line[len(CODE_INDENT):] for line in section.splitlines()
            if line.startswith(CODE_INDENT) and line.strip()]


def layout_entries() -> dict[str, str]:
    """Path -> its description; a line starting with a space continues the entry above it."""
    entries: dict[str, str] = {}
    path = None
    for line in layout_block():
        if line[0].isspace():
            entries[path] += " " + line.strip()
        else:
            path, _, description = line.partition(" ")
            entries[path] = description.strip()
    return entries


def named_under(prefix: str) -> set[str]:
    """Every word of the entries whose path starts with `prefix`, path included
    (`workflow/rules/common.smk` names `common`, a description's list names the rest)."""
    text = " ".join(f"{path} {description}" for path, description in layout_entries().items()
                    if path.startswith(prefix))
    return set(re.findall(r"[A-Za-z_]\w*", text))


def subfolders(folder, skip=("__pycache__",)) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in skip)


def test_the_layout_block_is_found_and_parsed():
    entries = layout_entries()
    assert "Snakefile" in entries and any(path.startswith("tests/") for path in entries), entries


def test_every_rules_file_is_named():
    stems = sorted(p.stem for p in (REPO / "workflow" / "rules").glob("*.smk"))
    assert stems, "no workflow/rules/*.smk found"
    missing = [s for s in stems if s not in named_under("workflow/rules/")]
    assert not missing, f"docs/ARCHITECTURE.md's layout does not name rules files {missing}"


def test_every_library_package_is_named():
    packages = [name for name in subfolders(REPO / "src" / "echocmr")
                if (REPO / "src" / "echocmr" / name / "__init__.py").exists()]
    assert packages, "no package under src/echocmr/"
    missing = [p for p in packages if p not in named_under("src/echocmr/")]
    assert not missing, f"docs/ARCHITECTURE.md's layout does not name packages {missing}"


def test_every_test_tier_and_stage_folder_is_named():
    tests = REPO / "tests"
    tiers = [name for name in subfolders(tests) if list((tests / name).rglob("test_*.py"))]
    stages = subfolders(tests / "unit")
    assert "unit" in tiers and "workflow" in tiers and stages, (tiers, stages)
    missing = [f for f in [*tiers, *stages] if f not in named_under("tests/")]
    assert not missing, f"docs/ARCHITECTURE.md's layout does not name test folders {missing}"

