"""Logging set-up shared by every workflow script: stderr and `logging` go to the rule's log."""

from __future__ import annotations

import contextlib
import logging
import sys


@contextlib.contextmanager
def script_logging(smk, level: int = logging.INFO):
    """Send stderr (tracebacks, tqdm progress) and `logging` to `snakemake.log[0]`."""
    log_path = smk.log[0] if len(smk.log) else None
    if log_path is None:
        yield logging.getLogger("echocmr")
        return
    with open(log_path, "w", buffering=1) as handle:
        old_stderr = sys.stderr
        sys.stderr = handle
        logging.basicConfig(
            stream=handle,
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,
        )
        try:
            yield logging.getLogger("echocmr")
        except BaseException:
            logging.getLogger("echocmr").exception("rule failed")
            raise
        finally:
            sys.stderr = old_stderr
