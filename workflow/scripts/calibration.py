"""Rule calibration: calibration intercept and slope with bootstrap CIs (every binary source) and
a reliability plot of the fused model per task."""

from echocmr.report.calibration import run_calibration

run_calibration(snakemake)
