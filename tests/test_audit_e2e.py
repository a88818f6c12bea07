"""The PHI gate on the full demo run: the audit table is empty and no planted identifier of the
synthetic export appears anywhere under results/ (names, MRNs, UIDs, birth dates, ...)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from ingest_fixtures import planted_leaks

pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def test_demo_audit_passes_and_no_planted_identifier_leaks(demo_run):
    audit = pd.read_csv(demo_run / "results" / "audit" / "phi_audit.csv")
    assert list(audit.columns) == ["file", "location", "identifier_type"]
    assert audit.empty
    identifiers = json.loads((demo_run / "synthetic" / "truth" / "identifiers.json").read_text())
    assert planted_leaks(demo_run / "results", identifiers) == []
    log = (demo_run / "results" / "logs" / "audit" / "audit.log").read_text()
    assert "PHI audit passed" in log
