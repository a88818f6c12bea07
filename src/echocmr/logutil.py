"""Logging set-up shared by every workflow script: stderr and `logging` go to the rule's log."""

from __future__ import annotations

import contextlib
import logging
import sys
import time


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


PROGRESS_EVERY_S = 30.0  # a modest rate: a line per half minute per job, plus the last one


def _progress_line(desc: str, done: int, total: int, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta == eta else "?"
    return f"[{desc}] {done}/{total} files, {rate:.1f}/s, ETA {eta_text}"


def terminal_progress(items, total: int, desc: str, every_s: float = PROGRESS_EVERY_S,
                      size=None, clock=time.monotonic):
    """Yield `items`, printing `[desc] done/total files, rate/s, ETA m:ss` every `every_s`
    seconds and at the end, to the terminal *and* the log.

    Snakemake runs a job's script with the terminal (or the cluster job's output) as stderr;
    script_logging sends sys.stderr to the rule's log, so the line goes to sys.__stderr__,
    the stream the job started with, and through `logging` to the log. Counts and rates only:
    never a file name. `size(item)`: files in one item (a batch), 1 by default."""
    start = last = clock()
    done = 0
    for item in items:
        yield item
        done += size(item) if size else 1
        now = clock()
        if now - last >= every_s and done < total:
            _emit(_progress_line(desc, done, total, now - start))
            last = now
    _emit(_progress_line(desc, done, total, clock() - start))


def _emit(line: str) -> None:
    logging.getLogger("echocmr.progress").info("%s", line)
    terminal = sys.__stderr__
    if terminal is not None and terminal is not sys.stderr:  # not twice into the same stream
        print(line, file=terminal, flush=True)
