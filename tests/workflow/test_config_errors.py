"""A config that fails the schema stops the real `snakemake -n` in a few lines: the key path,
the bad value, what is allowed and a "did you mean" (not the 2,000-line schema dump)."""

from __future__ import annotations

import pytest
from conftest import REPO, run_snakemake

from echocmr.config_schema import describe_error, first_error

SCHEMA = {"type": "object", "additionalProperties": False,
          "properties": {"input": {"type": "object", "properties": {
              "mode": {"enum": ["synthetic", "site"]}}}, "seed": {"type": "integer"}}}


def _dry_run_with(tmp_path, overlay: str):
    (tmp_path / "bad.yaml").write_text(overlay)
    proc = run_snakemake(tmp_path, "-n", "-s", str(REPO / "Snakefile"), "--configfile",
                         str(tmp_path / "bad.yaml"), check=False, timeout=120)
    return proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()


@pytest.mark.workflow
@pytest.mark.parametrize("overlay, expected", [
    ("inptu: {mode: site}\n", ["unknown key inptu", "Did you mean 'input'?", "allowed keys"]),
    ("input: {mdoe: site}\n", ["unknown key input.mdoe", "Did you mean 'mode'?"]),
    ("model: {width: abc}\n", ["model.width", "bad value 'abc'", "expected type: integer"]),
    ("input: {mode: sight}\n", ["input.mode", "allowed values: synthetic, site",
                                "did you mean 'site'?"]),
])
def test_schema_failure_is_a_short_message_with_a_suggestion(tmp_path, overlay, expected):
    rc, lines = _dry_run_with(tmp_path, overlay)
    assert rc != 0
    assert len(lines) < 10, "\n".join(lines)
    text = "\n".join(lines)
    for part in expected:
        assert part in text, text


def test_a_valid_config_has_no_error_and_no_suggestion_without_a_close_key():
    assert first_error({"input": {"mode": "site"}, "seed": 3}, SCHEMA) is None
    error = first_error({"zzzz": 1}, SCHEMA)
    message = describe_error(error)
    assert "unknown key zzzz" in message and "Did you mean" not in message
