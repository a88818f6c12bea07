"""Cohort stage: validate tables, pair echo with CMR, derive labels, split, Table 1."""
