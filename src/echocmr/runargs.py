"""Should `bash run.sh ARGS` end with the HTML report? `python -m echocmr.runargs ARGS`: 0 = yes.

Yes for a real run of the default targets, with any options that only change how it runs
(`--configfile`, `--cores`, `--rerun-incomplete`, a profile, ...). No for a dry run, when targets
are named or the run is narrowed (`--until`, `--omit-from`, `--allowed-rules`,
`--target-jobs`), and for every mode that does not run the workflow (`--lint`, the user's own
`--report`, `--dag`, `--list-*`, `--summary`, `--touch`, `--unlock`, ...). The arguments are
parsed by Snakemake's own parser, so an option's value is never mistaken for a target; arguments
Snakemake cannot parse give "no" and Snakemake itself reports the error.
"""

from __future__ import annotations

import contextlib
import io
import sys

REPORT = "results/report.html"
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


def wants_report(argv: list[str]) -> bool:
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args = parser.parse_args(argv)
    except SystemExit:  # --help, --version or a bad argument: Snakemake answers it
        return False
    defaults = parser.parse_args([])
    if args.targets:
        return False
    return all(getattr(args, name, None) == getattr(defaults, name, None)
               for name in NOT_A_FULL_RUN)


if __name__ == "__main__":
    sys.exit(0 if wants_report(sys.argv[1:]) else 1)
