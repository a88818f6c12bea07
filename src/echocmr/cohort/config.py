"""Checks of the `cohort:` config section that JSON Schema cannot express (run at parse time)."""

from __future__ import annotations

from echocmr.config_checks import ConfigError


def check_cohort_config(config: dict) -> None:
    """Fail before any job runs on a cohort setting that cannot work; names key and fix."""
    cohort = config.get("cohort", {})
    fractions = cohort.get("split", {}).get("fractions", [0.8, 0.1, 0.1])
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ConfigError(
            f"cohort.split.fractions={fractions}: give three non-negative fractions "
            "(train, val, test) that sum to 1, e.g. [0.8, 0.1, 0.1]"
        )
    if fractions[1] == 0 or fractions[2] == 0:
        raise ConfigError(
            f"cohort.split.fractions={fractions}: val and test need a positive share (model "
            "selection uses val, every reported metric uses test)"
        )
    for view, segments in (cohort.get("segments") or {}).items():
        if not segments or len(set(segments)) != len(segments) or \
                any(not 1 <= s <= 17 for s in segments):
            raise ConfigError(
                f"cohort.segments.{view}={segments}: list distinct AHA segment numbers 1-17 "
                "(see echocmr.vocab.segments.VIEW_SEGMENTS for the standard mapping)"
            )
