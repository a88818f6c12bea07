"""Rule pair: each echo study with a kept analysis view -> nearest CMR within the window;
then adults only (cohort.min_age)."""

from echocmr.cohort.stage import run_pair

run_pair(snakemake)
