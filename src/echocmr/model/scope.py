"""Which models a run scores: every (view, task) and the baseline when it trains its models; in
external mode only what the bundle holds (a released-weights bundle has WMA and scar models and
no baseline). The rules schedule predict, fuse and baseline jobs from this, and the statistics
write the rest as rows that say why they are n/a (`echocmr.vocab.reasons`), so Table 2, the
figures, replication and the summary keep the paper's layout. No torch, no file reads."""

from __future__ import annotations

from dataclasses import dataclass

from echocmr.vocab.reasons import NO_BUNDLE_BASELINE, NOT_IN_BUNDLE
from echocmr.vocab.tasks import BINARY_TASKS, TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

FUSED = "fused"
BASELINE = "baseline"


@dataclass(frozen=True)
class Scope:
    """The (view, task) models a run has (in ANALYSIS_VIEWS x TASKS order) and whether it has the
    LVEF/age/sex baseline."""

    pairs: tuple[tuple[str, str], ...]
    baseline: bool

    @classmethod
    def of(cls, card: dict | None) -> Scope:
        """Everything for a training run (card None); the bundle's models otherwise."""
        if card is None:
            return cls(tuple((v, t) for v in ANALYSIS_VIEWS for t in TASKS), True)
        held = {(m["view"], t) for m in card["models"] for t in m["tasks"]}
        return cls(tuple((v, t) for v in ANALYSIS_VIEWS for t in TASKS if (v, t) in held),
                   card.get("baseline") is not None)

    @property
    def tasks(self) -> list[str]:
        """Tasks with a model in at least one view (these are fused)."""
        return [t for t in TASKS if any(task == t for _, task in self.pairs)]

    def views_of(self, task: str) -> list[str]:
        return [v for v, t in self.pairs if t == task]

    def absent_reason(self, source: str, task: str) -> str:
        """Why this run has no predictions of `source` for `task` ('' when it has them)."""
        if source == BASELINE:
            return "" if self.baseline or task not in BINARY_TASKS else NO_BUNDLE_BASELINE
        if source == FUSED:
            return "" if task in self.tasks else NOT_IN_BUNDLE
        return "" if (source, task) in self.pairs else NOT_IN_BUNDLE

    def scored(self, source: str, task: str) -> bool:
        return not self.absent_reason(source, task)

    def absent(self, pairs) -> dict[str, str]:
        """`source__task` -> reason for the (source, task) pairs this run has no predictions
        of: a rule param (strings, so Snakemake's params rerun trigger can compare it)."""
        return {f"{s}__{t}": self.absent_reason(s, t) for s, t in pairs
                if self.absent_reason(s, t)}
