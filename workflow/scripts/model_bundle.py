"""Rule bundle: weights, model card and training curves another site evaluates without
training (echocmr.model.bundle, docs/external.md)."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from pathlib import Path

    from echocmr.model.bundle import write_bundle

    inputs = dict(snakemake.input.items())
    weights = {tuple(k.split("__")): v for k, v in inputs.items()
               if "__" in k and not k.startswith(("curve__", "fusion__"))}
    curves = {tuple(k.removeprefix("curve__").split("__")): v for k, v in inputs.items()
              if k.startswith("curve__")}
    fusion = {k.removeprefix("fusion__"): v for k, v in inputs.items()
              if k.startswith("fusion__")}
    card = write_bundle(
        Path(snakemake.output.card).parent,
        training_mode=snakemake.params.training_mode,
        weights=weights,
        curves=curves,
        fusion=fusion,
        baseline_json=snakemake.input.baseline,
        labels_csv=snakemake.input.labels,
        split_csv=snakemake.input.split,
        binary_csv=snakemake.input.binary,
        continuous_csv=snakemake.input.continuous,
        operating_csv=snakemake.input.operating_points,
        label_definitions=snakemake.params.label_definitions,
        test_clips=snakemake.params.test_clips,
        crop=snakemake.params.crop,
        config_sha256=snakemake.params.config_sha256,
        view_classifier=snakemake.input.get("view_classifier"),
        view_metrics=snakemake.input.get("view_metrics"),
    )
    log.info("bundle: %d models, view classifier %s, %d files", len(card["models"]),
             "included" if card["view_classifier"] else "none (not trained)",
             len(card["files"]))
