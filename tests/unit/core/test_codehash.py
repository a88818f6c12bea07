"""Code fingerprints (echocmr.codehash): a library edit changes the fingerprint of the scripts
that can import the module, and only theirs; comments, docstrings and formatting change none."""

from __future__ import annotations

from pathlib import Path

import pytest

from echocmr.codehash import CodeFingerprints, ScriptFingerprints

REPO = Path(__file__).resolve().parents[3]

PACKAGE = {
    "echocmr/__init__.py": "",
    "echocmr/stats/__init__.py": "",
    "echocmr/stats/delong.py": "def auc_test(x):\n    return x + 1\n",
    "echocmr/stats/boot.py": "from .delong import auc_test\n\ndef ci(x):\n    return auc_test(x)\n",
    "echocmr/model/__init__.py": "",
    "echocmr/model/fuse.py": "def fuse(x):\n    return x\n",
    "echocmr/model/train.py": "def fit(x):\n    return x\n",
    # run_fuse imports the fusion code lazily; run_train reaches train.py through a helper
    "echocmr/model/stage.py": (
        "def _fit(x):\n    from echocmr.model.train import fit\n    return fit(x)\n\n"
        "def run_train(x):\n    return _fit(x)\n\n"
        "def run_fuse(x):\n    from echocmr.model.fuse import fuse\n    return fuse(x)\n"),
}
SCRIPTS = {
    "delong.py": "from echocmr.logutil import nothing\nwith open('x'):\n"
                 "    from echocmr.stats.boot import ci\n",
    "train.py": "from echocmr.model.stage import run_train\n",
    "fuse.py": "from echocmr.model.stage import run_fuse\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, text in {**PACKAGE, **{f"scripts/{k}": v for k, v in SCRIPTS.items()}}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def fingerprints(root: Path) -> dict[str, str]:
    code = CodeFingerprints(root)
    return {name: code.fingerprint(root / "scripts" / name) for name in SCRIPTS}


def edit(root: Path, rel: str, new_text: str) -> dict[str, str]:
    (root / rel).write_text(new_text)
    return fingerprints(root)


def test_modules_are_found_through_relative_lazy_and_helper_imports(tree):
    code = CodeFingerprints(tree)
    assert code.modules_of(tree / "scripts" / "delong.py") == [
        "echocmr", "echocmr.stats", "echocmr.stats.boot", "echocmr.stats.delong"]
    train = code.modules_of(tree / "scripts" / "train.py")
    assert "echocmr.model.train" in train and "echocmr.model.fuse" not in train
    assert "echocmr.model.fuse" in code.modules_of(tree / "scripts" / "fuse.py")


def test_an_edit_changes_the_fingerprints_of_the_importing_scripts_only(tree):
    before = fingerprints(tree)
    after = edit(tree, "echocmr/stats/delong.py", PACKAGE["echocmr/stats/delong.py"] + "Y = 2\n")
    assert [n for n in SCRIPTS if before[n] != after[n]] == ["delong.py"]
    again = edit(tree, "echocmr/model/fuse.py", "def fuse(x):\n    return -x\n")
    assert [n for n in SCRIPTS if after[n] != again[n]] == ["fuse.py"]


def test_comments_docstrings_and_formatting_change_no_fingerprint(tree):
    before = fingerprints(tree)
    after = edit(tree, "echocmr/stats/delong.py",
                 '"""DeLong."""\n# why\ndef auc_test(x):\n    """Doc."""\n    return (x +\n'
                 "            1)\n")
    assert after == before


def test_the_workflow_scripts_fingerprints():
    code = ScriptFingerprints(REPO)
    train = code.modules_of(code.scripts / "model_train.py")
    assert "echocmr.model.train" in train
    assert "echocmr.model.fuse" not in train and "echocmr.stats.delong" not in train
    assert "echocmr.stats.delong" in code.modules_of(code.scripts / "delong.py")
    assert code.of("model_train.py") != code.of("model_predict.py")
