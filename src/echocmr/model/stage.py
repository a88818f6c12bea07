"""The model rules' file-level steps (train, predict, fuse, baseline), importable and testable
without Snakemake, and their script entries `run_<script>(snakemake)` (docs/ARCHITECTURE.md,
"Rules and scripts")."""

from __future__ import annotations

import logging
from pathlib import Path

from echocmr.logutil import script_logging
from echocmr.media.store import VideoStore
from echocmr.vocab.tasks import model_tasks

# Heavy imports live in the functions: fuse and baseline run in the `stats` env (no torch).

log = logging.getLogger(__name__)
# Torch threads when the model section names none (the config schema's default, test_defaults).
DEFAULT_THREADS = 1


def shard_dirs_of(index_csvs) -> list[Path]:
    return [Path(p).parent for p in index_csvs]


def _store_keys(shard_dirs) -> set[str]:
    return set(VideoStore(shard_dirs).keys())


def pin_torch(model_cfg: dict, cpu_pin: bool) -> dict:
    """The processor pin (echocmr.cpu_pin) at the job's threads, before torch loads."""
    from echocmr.cpu_pin import pin_processor

    return pin_processor(int(model_cfg.get("threads", DEFAULT_THREADS)), pinned=cpu_pin)


def train_view_model(view: str, model_name: str, index_csvs, views_csv, labels_csv, split_csv,
                     model_cfg: dict, seed: int, outdir, progress: bool = True,
                     cpu_pin: bool = True, pin_out=None) -> None:
    record = pin_torch(model_cfg, cpu_pin)
    if pin_out is not None:
        from echocmr.cpu_pin import write_pin_record

        write_pin_record(record, pin_out)
    from echocmr.model.data import view_table
    from echocmr.model.loader import job_cpus
    from echocmr.model.train import TrainSettings, fit, model_seed

    shard_dirs = shard_dirs_of(index_csvs)
    tasks = model_tasks(model_cfg["mode"], model_name)
    table = view_table(views_csv, labels_csv, split_csv, view, tasks, _store_keys(shard_dirs))
    log.info("%s %s: %s videos by split %s", view, model_name, len(table),
             table["split"].value_counts().to_dict())
    settings = TrainSettings.from_config(model_cfg)
    fit(table, shard_dirs, tasks, settings, outdir, model_seed(seed, view, model_name),
        progress=progress, cpus=job_cpus(model_cfg.get("threads", DEFAULT_THREADS)))


def predict_view_model(view: str, model_name: str, best_pt, index_csvs, views_csv, labels_csv,
                       split_csv, model_cfg: dict, out_csvs: dict, out_video_csvs: dict,
                       cpu_pin: bool = True) -> None:
    """Predict val+test videos once and write every requested task's files."""
    pin_torch(model_cfg, cpu_pin)  # recorded in the job's log
    from echocmr.model.data import view_table
    from echocmr.model.loader import job_cpus, worker_count
    from echocmr.model.predict import predict_videos, write_predictions

    cpus = job_cpus(model_cfg.get("threads", DEFAULT_THREADS))
    shard_dirs = shard_dirs_of(index_csvs)
    tasks = model_tasks(model_cfg["mode"], model_name)
    table = view_table(views_csv, labels_csv, split_csv, view, tasks, _store_keys(shard_dirs))
    table = table[table["split"].isin(["val", "test"])]
    videos = predict_videos(best_pt, table, shard_dirs, model_cfg["test_clips"],
                            model_cfg["batch_size"], model_cfg["device"],
                            worker_count(model_cfg.get("num_workers", 0), cpus),
                            model_cfg.get("precision", "auto"))
    for task in out_csvs:
        write_predictions(videos, task, out_csvs[task], out_video_csvs[task])


def fuse_views(task: str, view_csvs: dict, labels_csv, split_csv, min_fit: int, out_csv,
               out_patterns, out_val=None, penalty: str = "l2", out_models=None,
               bundle: str | None = None) -> None:
    """Fit the fusion on val and score test, or (with `bundle`) apply the bundle's models."""
    import json

    from echocmr.model.fuse import fuse_files

    models = None
    if bundle:
        from echocmr.model.card import load_card

        models = load_card(bundle)["fusion"][task]
    fused, fused_val, patterns, fitted = fuse_files(task, view_csvs, labels_csv, split_csv,
                                                    min_fit, penalty, models)
    outputs = [(fused, out_csv), (patterns, out_patterns)]
    if out_val is not None:
        outputs.append((fused_val, out_val))
    for df, path in outputs:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
    if out_models is not None:
        Path(out_models).write_text(json.dumps(fitted, indent=1) + "\n")
    for row in patterns.itertuples():
        log.info("%s views=%s: %d test studies (%d val to fit): %s", task, row.views,
                 row.n_test, row.n_val, row.method)


def fit_or_apply_baseline(labels_csv, split_csv, manifest_csv, echo_csv, clinical_csv,
                          out_csvs: dict, out_models=None, bundle: str | None = None) -> None:
    """Fit the LVEF/age/sex baseline on train, or (with `bundle`) apply the bundle's."""
    import json

    from echocmr.model.baseline import baseline_files, baseline_task, fit_baseline

    card = None
    if bundle:
        from echocmr.model.card import load_card

        card = load_card(bundle)["baseline"]
    df, imputed, fills = baseline_files(labels_csv, split_csv, manifest_csv, echo_csv,
                                        clinical_csv, card["fill"] if card else None)
    log.info("imputed (%s median/mode) values per predictor: %s",
             "bundle training" if card else "training", imputed)
    models = card["models"] if card else {t: fit_baseline(t, df) for t in out_csvs}
    for task, path in out_csvs.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        baseline_task(task, df, models[task]).to_csv(path, index=False)
    if out_models is not None:
        Path(out_models).write_text(json.dumps({"features": list(fills), "fill": fills,
                                                "models": models}, indent=1) + "\n")



def run_model_baseline(smk) -> None:
    """Script entry of `rule baseline`: echo LVEF + age + sex logistic regression per binary
    task (same splits), or the model bundle's, applied as given (external mode)."""
    with script_logging(smk):
        fit_or_apply_baseline(
            labels_csv=smk.input.labels,
            split_csv=smk.input.split,
            manifest_csv=smk.input.manifest,
            echo_csv=smk.input.echo_reports,
            clinical_csv=smk.input.clinical,
            out_csvs=dict(zip(smk.params.tasks, smk.output.predictions, strict=True)),
            out_models=smk.output.models,
            bundle=smk.params.bundle,
        )


def run_model_fuse(smk) -> None:
    """Script entry of `rule fuse`: global prediction per study from the three view
    predictions (fit val, score test), or the model bundle's fusion models applied as given
    (external mode)."""
    with script_logging(smk):
        fuse_views(
            task=smk.wildcards.task,
            view_csvs=dict(zip(smk.params.views, smk.input.views, strict=True)),
            labels_csv=smk.input.labels,
            split_csv=smk.input.split,
            min_fit=smk.params.min_fit,
            penalty=smk.params.penalty,
            out_csv=smk.output.fused,
            out_patterns=smk.output.patterns,
            out_val=smk.output.val,
            out_models=smk.output.models,
            bundle=smk.params.bundle,
        )


def run_model_predict(smk) -> None:
    """Script entry of `rule predict`: val + test predictions per video and per study for the
    model's task(s)."""
    with script_logging(smk):
        tasks = smk.params.tasks
        predict_view_model(
            view=smk.wildcards.view,
            model_name=smk.params.model_name,
            best_pt=smk.input.best,
            index_csvs=smk.input.index,
            views_csv=smk.input.views,
            labels_csv=smk.input.labels,
            split_csv=smk.input.split,
            # the job's threads (model.threads, capped by --cores): a resource, not a param
            model_cfg={**smk.params.model, "threads": smk.threads},
            out_csvs=dict(zip(tasks, smk.output.studies, strict=True)),
            out_video_csvs=dict(zip(tasks, smk.output.videos, strict=True)),
            cpu_pin=smk.params.cpu_pin,
        )


def run_model_train(smk) -> None:
    """Script entry of `rule train`: one video model for a view (multitask) or a (view, task)
    pair (per_task)."""
    with script_logging(smk):
        train_view_model(
            view=smk.wildcards.view,
            model_name=smk.wildcards.model,
            index_csvs=smk.input.index,
            views_csv=smk.input.views,
            labels_csv=smk.input.labels,
            split_csv=smk.input.split,
            # the job's threads (model.threads, capped by --cores): a resource, not a param
            model_cfg={**smk.params.model, "threads": smk.threads},
            seed=smk.params.seed,
            outdir=Path(smk.output.best).parent,
            cpu_pin=smk.params.cpu_pin,
            pin_out=smk.output.pin,
        )
