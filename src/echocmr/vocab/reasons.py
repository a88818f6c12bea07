"""Why a statistic is n/a: the words of the `reason` column of every `results/metrics/*.csv`
(empty where the value was computed).

One home for them, so binary.csv, continuous.csv, delong.csv, operating_points.csv and
calibration.csv name the same gap the same way, and the run summary (echocmr.report.summary)
can tell a one-class gap from an empty one. Upstream causes (a model not trained, a view with no
kept cine) leave a prediction table without rows: their statistics read `no test study with a
prediction`, and the run summary names the cause.
"""

from __future__ import annotations

NO_TEST_STUDY = "no test study with a prediction"
NO_SHARED_STUDY = "no test study scored by both the model and the reference"
NO_BUNDLE_THRESHOLD = "no threshold for this model and task in the bundle"
# External mode with a bundle that lacks a model or the baseline (echocmr.model.scope).
NOT_IN_BUNDLE = "not in the bundle"
NO_BUNDLE_BASELINE = "no baseline in the bundle"
ONE_CLASS_WORDS = ("positive test study", "negative test study")


def no_study(split: str = "test") -> str:
    return f"no {split} study with a prediction"


def binary_shortfall(n_pos: int, n_neg: int, split: str = "test") -> str:
    """Why a two-class statistic cannot be computed on this many positives and negatives of a
    split ('' if it can)."""
    if n_pos == 0 and n_neg == 0:
        return no_study(split)
    if n_pos == 0:
        return f"no positive {split} study ({n_neg} negative)"
    if n_neg == 0:
        return f"no negative {split} study ({n_pos} positive)"
    return ""


def continuous_shortfall(n: int) -> str:
    """Why MAE / R2 / Bland-Altman cannot be computed on n test studies ('' if they can)."""
    if n == 0:
        return NO_TEST_STUDY
    return f"{n} test study with a prediction, need 2" if n < 2 else ""


def is_one_class(reason: str) -> bool:
    """A gap that both classes in the test split would fill (not one of no study at all)."""
    return any(words in reason for words in ONE_CLASS_WORDS)


def too_few_resamples(n_resamples: int, n_skipped: int) -> str:
    """A bootstrap standard error needs at least two resamples holding both classes."""
    return (f"{n_resamples - n_skipped} of {n_resamples} resamples held both classes, "
            "need 2 for a standard error")


def too_few_patients(with_positive: int, with_negative: int) -> str:
    """A clustered (between-patient) variance needs two patients holding each class."""
    return (f"{with_positive} patients with a positive and {with_negative} with a negative "
            "test study, need 2 of each for a clustered standard error")


def measure_shortfall(name: str, cause: str) -> str:
    """One measure of a row n/a while the others were computed: `sensitivity n/a: <cause>`."""
    return f"{name} n/a: {cause}"


def no_test_study_called(positive: bool) -> str:
    """PPV / NPV have no denominator when the threshold calls no test study positive/negative."""
    return ("no test study at or above the threshold" if positive
            else "no test study below the threshold")


def no_finite_fit(name: str, cause: str = "the scores separate the classes") -> str:
    """A calibration fit without a finite maximum (`cause`: separation, all scores equal), or
    one the solver did not finish (`not_converged`)."""
    return measure_shortfall(name, f"no finite fit ({cause})")


def not_converged(name: str) -> str:
    return measure_shortfall(name, "the fit did not converge")


def ci_withheld(name: str, n_skipped: int, n_resamples: int, why: str, allowed: float) -> str:
    """A bootstrap interval not reported: more resamples than `allowed` (a share) had no
    replicate, so the percentiles would describe a selected subset of the resamples."""
    return (f"{name} CI n/a: {n_skipped} of {n_resamples} resamples "
            f"({n_skipped / n_resamples:.1%}) skipped ({why}), more than the {allowed:.0%} "
            "allowed")


def join(reasons) -> str:
    return "; ".join(r for r in reasons if r)
