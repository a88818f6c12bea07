"""Should `bash run.sh ARGS` end with the HTML report? `python tools/runargs.py ARGS`: 0 = yes.

Yes for a real run of the default targets, with any options that only change how it runs
(`--configfile`, `--cores`, `--rerun-incomplete`, a profile, ...). No for a dry run, when targets
are named or the run is narrowed (`--until`, `--omit-from`, `--allowed-rules`,
`--target-jobs`), and for every mode that does not run the workflow (`--lint`, the user's own
`--report`, `--dag`, `--list-*`, `--summary`, `--touch`, `--unlock`, ...). The arguments are
parsed by Snakemake's own parser, so an option's value is never mistaken for a target; arguments
Snakemake cannot parse give "no" and Snakemake itself reports the error.

`python tools/runargs.py --check-configfile ARGS` catches the commonest call error first:
Snakemake's `--configfile` takes one *or more* files, so in `--configfile site.yaml
results/ingest/manifest.csv` the target is read as a second config file and Snakemake stops with
a bare `FileNotFoundError` traceback. It prints the call that works and exits 2.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

# Parsed attributes that, when set, mean "not a full run of the default targets".
NOT_A_FULL_RUN = (
    "dryrun", "until", "omit_from", "allowed_rules", "target_jobs", "lint", "report",
    "report_after_run", "containerize", "generate_unit_tests", "dag", "rulegraph", "filegraph",
    "d3dag", "unlock", "cleanup_metadata", "conda_cleanup_envs", "conda_create_envs_only",
    "list_conda_envs", "cleanup_shadow", "container_cleanup_images", "list_changes",
    "list_input_changes", "list_params_changes", "list_untracked", "list_rules",
    "list_target_rules", "summary", "detailed_summary", "archive", "delete_all_output",
    "delete_temp_output", "export_cwl", "print_compilation", "touch", "draft_notebook",
    "edit_notebook", "debug_dag",
)


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def _parse(argv: list[str]):
    """Snakemake's own parse of `argv` and its defaults, or None where Snakemake would refuse."""
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return parser.parse_args(argv), parser.parse_args([])
    except SystemExit:  # --help, --version or a bad argument: Snakemake answers it
        return None


def configfile_problem(argv: list[str]) -> str | None:
    """A message saying how to call Snakemake when a word after `--configfile` is not a config
    file (a target typed after it, or a path that does not exist); None when all are fine."""
    parsed = _parse(argv)
    if parsed is None or not parsed[0].configfile:
        return None
    files = [str(f) for f in parsed[0].configfile]
    # A target: not named like a config file, and either absent (a file to build, a rule name)
    # or a workflow output already built.
    targets = [f for f in files if not f.lower().endswith(CONFIG_SUFFIXES)
               and (not os.path.isfile(f) or f.replace(os.sep, "/").startswith("results/"))]
    configs = [f for f in files if f not in targets]
    missing = [f for f in configs if not os.path.isfile(f)]
    if missing:
        return (f"--configfile {missing[0]}: no such file. Fix the path (relative paths are "
                "relative to the folder snakemake runs in).")
    if not targets:
        return None
    return (
        f"Snakemake reads every word after --configfile as a config file, so "
        f"{', '.join(targets)} would be loaded as config, not built. Put the targets first:\n"
        f"    snakemake {' '.join(targets)} --configfile {' '.join(configs) or 'site.yaml'}\n"
        f"or write --configfile={configs[0] if configs else 'site.yaml'} (with '=') anywhere, "
        f"or end the config files with -- before the targets."
    )


def wants_report(argv: list[str]) -> bool:
    parsed = _parse(argv)
    if parsed is None:
        return False
    args, defaults = parsed
    if args.targets:
        return False
    return all(getattr(args, name, None) == getattr(defaults, name, None)
               for name in NOT_A_FULL_RUN)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check-configfile"]:
        problem = configfile_problem(sys.argv[2:])
        if problem:
            print(f"echocmr: {problem}", file=sys.stderr)
        sys.exit(2 if problem else 0)
    sys.exit(0 if wants_report(sys.argv[1:]) else 1)
