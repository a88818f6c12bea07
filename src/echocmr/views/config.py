"""Fail-fast checks of the `views:` config section (each error names the key and the fix)."""

from __future__ import annotations

import os

from echocmr.config_checks import ConfigError


def check_views_config(config: dict) -> None:
    views, site = config["views"], config["input"]["mode"] == "site"
    backend = views.get("backend", "train")
    if backend in ("train", "labels") and site and not config["input"].get("view_labels"):
        raise ConfigError(
            f"views.backend is '{backend}' but input.view_labels is not set: give a CSV of "
            "video/SOP instance -> view (see docs/views.md), or use views.backend: pretrained."
        )
    if backend == "pretrained":
        weights = views.get("weights")
        if not weights:
            raise ConfigError("views.backend is 'pretrained' but views.weights is not set: point "
                              "it at the weights file (e.g. EchoPrime view_classifier.ckpt).")
        if not os.path.isfile(weights):
            raise ConfigError(f"views.weights={weights} does not exist: fix the path.")
