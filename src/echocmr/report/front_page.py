"""The HTML report's front page, written from the config that ran (rule report_assets writes
`results/report/front_page.rst`; `workflow/report/workflow.rst` includes it), so the report
describes the study that ran: split, models, fusion, statistics, preset and seed, and, on the
synthetic export, says so first."""

from __future__ import annotations

from echocmr.report.style import SYNTHETIC_BANNER
from echocmr.stats.compare import METHODS

MODEL_DESIGNS = {
    "per_task": "one R(2+1)D video network per view and task (the paper's design)",
    "multitask": "one multitask R(2+1)D video network per view, one output head per task "
                 "(masked loss)",
    "external": "no training: an exported model bundle's networks, fusion and baseline "
                "applied as given",
}
FUSION_PENALTIES = {"none": "unpenalised", "l2": "L2-penalised (C=1)"}
SPLIT_UNITS = {"patient_stratified": "by patient (all of a patient's studies in one split, "
                                     "stratified on global wall motion)",
               "random": "by study (a patient's studies may fall in different splits)"}


def is_synthetic(config: dict) -> bool:
    return config["input"]["mode"] == "synthetic"


def split_text(config: dict) -> str:
    """'a train/validation/test split of 50/20/30% by patient ...', or the external cohort."""
    if config["model"]["mode"] == "external":
        return "the whole paired cohort as the test set (no split: the models come trained)"
    split = config["cohort"]["split"]
    parts = "/".join(f"{round(100 * f):g}" for f in split["fractions"])
    return f"a train/validation/test split of {parts}% {SPLIT_UNITS[split['method']]}"


def front_page_facts(config: dict) -> dict[str, str]:
    """What the front page states, each from its config key."""
    model, evaluate = config["model"], config["evaluate"]
    unit = evaluate["unit"]
    return {
        "preset": str(config["preset"]),
        "seed": str(config["seed"]),
        "data": "synthetic export" if is_synthetic(config) else "site data",
        "split": split_text(config),
        "models": MODEL_DESIGNS[model["mode"]],
        "fusion": FUSION_PENALTIES[model["fusion_penalty"]],
        "bootstrap": f"{evaluate['n_bootstrap']} resamples by {unit}",
        "comparison": METHODS[unit],
        "cpu_pin": "on" if config.get("cpu_pin", True) else "off",
    }


def banner_rst() -> str:
    """An rst admonition: docutils renders it as a boxed, titled block on the page."""
    return f".. warning::\n\n   **{SYNTHETIC_BANNER}.**\n\n"


COMPARISONS = {
    "DeLong": "DeLong's test on the studies both scored (studies treated as independent)",
    "Obuchowski clustered (patients)": "Obuchowski's clustered test of the AUROC difference "
                                       "(patients as clusters, Student-t reference)",
}


def front_page_rst(config: dict) -> str:
    """The front page in reStructuredText (docutils renders it in the HTML report)."""
    f = front_page_facts(config)
    unit_note = ("a cluster bootstrap: all studies of a drawn patient enter together"
                 if config["evaluate"]["unit"] == "patient" else "studies drawn independently")
    return (
        (banner_rst() if is_synthetic(config) else "")
        + "echocmr reproduces Sahashi et al., *Deep learning prediction of cardiovascular "
        "magnetic resonance findings from echocardiography videos*, from a raw "
        "echocardiography DICOM export to the paper's tables and figures.\n\n"
        f"This run: preset ``{f['preset']}``, seed ``{f['seed']}``, {f['data']}, processor pin "
        f"{f['cpu_pin']}.\n\n"
        "Stages: raw DICOM inventory; DICOM de-identification (PS3.15 basic profile, keyed "
        "pseudonyms, per-patient date shift) and pixel cleaning; cropping of the ultrasound "
        "sector; view classification (A4c, A2c, PLAX); pairing of each echo study with the "
        "nearest CMR within the pairing window and derivation of per-view and global labels; "
        f"{f['split']}; {f['models']}; {f['fusion']} logistic-regression fusion of the three "
        "views (fitted on validation, scored on test); evaluation on the held-out test "
        "studies.\n\n"
        "Statistics: AUROC for binary outcomes, MAE and R\\ :sup:`2` for continuous ones, "
        "Bland-Altman bias and 95% limits of agreement. 95% confidence intervals are the 2.5th "
        f"and 97.5th percentiles of {f['bootstrap']} (full-size resamples of the test set, "
        f"{unit_note}); resamples with one class only are skipped and counted, and a CI is "
        "reported only when at most 1% of the resamples were skipped. Each video model "
        f"is compared with a clinical baseline (echo LVEF, age, sex) by "
        f"{COMPARISONS[f['comparison']]}.\n"
    )


def write_front_page(config: dict, path) -> None:
    with open(path, "w") as handle:
        handle.write(front_page_rst(config))
