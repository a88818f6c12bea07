"""Per-file stages print a progress line where the user looks: the terminal (the job's own
stderr, which script_logging redirects to the log) and the log, at a modest rate."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

SCRIPT = textwrap.dedent("""
    from types import SimpleNamespace
    from echocmr.logutil import script_logging, terminal_progress
    ticks = iter([0, 5, 20, 25, 40, 45, 45])  # seconds: a clock the test controls
    with script_logging(SimpleNamespace(log=[{log!r}])):
        list(terminal_progress(range(5), 5, "crop", every_s=15, clock=lambda: next(ticks)))
""")


def test_progress_reaches_the_terminal_and_the_log_at_a_modest_rate(tmp_path):
    log = tmp_path / "job.log"
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(log=str(log))],
                          capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO / "src")})
    # a line after 15 s have passed (2 files at t=20 s, 4 at t=40 s) and the last one
    assert proc.stderr.splitlines() == ["[crop] 2/5 files, 0.1/s, ETA 0:30",
                                        "[crop] 4/5 files, 0.1/s, ETA 0:10",
                                        "[crop] 5/5 files, 0.1/s, ETA 0:00"]
    assert log.read_text().count("[crop] ") == 3
