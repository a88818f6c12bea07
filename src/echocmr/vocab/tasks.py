"""Task names (their one home, tests/.../test_single_homes.py), their kind (binary or continuous)
and the label column each view/fusion reads."""

from __future__ import annotations

from echocmr.vocab.views import ANALYSIS_VIEWS

BINARY_TASKS = ("wma", "lge", "t1_abnormal", "t2_abnormal", "ecv_abnormal")
CONTINUOUS_TASKS = ("t1", "t2", "ecv")
TASKS = BINARY_TASKS + CONTINUOUS_TASKS
# Wall motion and scar are labelled per view: only the AHA segments a view shows count.
VIEW_SPECIFIC = ("wma", "lge")
# The CMR mapping parameters past their threshold (one global label each).
MAPPING_BINARY_TASKS = tuple(t for t in BINARY_TASKS if t not in VIEW_SPECIFIC)


def is_binary(task: str) -> bool:
    check_task(task)
    return task in BINARY_TASKS


def check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def label_column(task: str, view: str) -> str:
    """Column of `results/cohort/labels.csv` a view's model learns: `wma` in A4C -> `wma_a4c`."""
    check_task(task)
    if task in VIEW_SPECIFIC:
        if view not in ANALYSIS_VIEWS:
            raise ValueError(f"unknown view {view!r}; expected one of {', '.join(ANALYSIS_VIEWS)}")
        return f"{task}_{view.lower()}"
    return task


def global_column(task: str) -> str:
    """Column the fused (all-view) prediction is scored against: `wma` -> `wma_global`."""
    check_task(task)
    return f"{task}_global" if task in VIEW_SPECIFIC else task


def model_tasks(mode: str, model_name: str) -> list[str]:
    """Tasks one trained model predicts: all of them in multitask mode, its own in per_task."""
    if mode == "multitask":
        return list(TASKS)
    if mode == "per_task":
        check_task(model_name)
        return [model_name]
    raise ValueError(f"model.mode={mode!r}: use per_task or multitask")


