"""How a fused prediction was made: the method labels fusion writes and the report reads back.

Its own module so the report (no scikit-learn in its env) reads them without importing fusion.
"""

from __future__ import annotations

MEAN_METHOD = "mean of available views (too few val studies to fit)"
EXCLUDED_METHOD = "excluded: no view prediction"
BUNDLE_MEAN_METHOD = "mean of available views (no bundle model for this pattern)"


def method_counts(fusion_method: str) -> dict[str, int]:
    """{method: test studies} back from `fusion_summary`'s `fusion_method` string."""
    pairs = (part.rpartition(": ") for part in str(fusion_method).split("; ") if part)
    return {method: int(n) for method, _, n in pairs}
