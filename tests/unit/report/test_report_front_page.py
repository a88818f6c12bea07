"""The report's front page says what ran: rendered (as Snakemake's report renders it, with
docutils) from the demo config and from the paper preset, each fact matches its config key."""

from __future__ import annotations

import re

import pytest
from conftest import run_config
from docutils.core import publish_parts

from echocmr.report.front_page import SYNTHETIC_BANNER, front_page_rst


def rendered_text(config: dict) -> str:
    html = publish_parts(front_page_rst(config), writer="html")["html_body"]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def expected_facts(config: dict) -> list[str]:
    """The phrases the page must hold, built from the config keys themselves."""
    split = config["cohort"]["split"]
    fractions = "/".join(f"{round(100 * f)}" for f in split["fractions"])
    unit = config["evaluate"]["unit"]
    return [f"preset {config['preset']}", f"seed {config['seed']}",
            f"train/validation/test split of {fractions}%",
            f"{config['evaluate']['n_bootstrap']} resamples by {unit}"]


@pytest.mark.parametrize("preset, literal", [
    # the demo: 50/20/30 by patient, multitask, L2 fusion, Obuchowski's clustered comparison
    (None, ["split of 50/20/30% by patient", "one multitask R(2+1)D",
            "L2-penalised (C=1) logistic-regression fusion", "Obuchowski's clustered test",
            "10000 resamples by patient", "preset demo", "processor pin on"]),
    # the paper: 8:1:1, one network per view and task, unpenalised fusion, DeLong by study
    ("paper", ["split of 80/10/10% by patient",
               "one R(2+1)D video network per view and task",
               "unpenalised logistic-regression fusion", "DeLong's test",
               "10000 resamples by study", "preset paper"]),
])
def test_front_page_matches_the_config_that_ran(preset, literal):
    config = run_config(preset)
    text = rendered_text(config)
    for phrase in literal + expected_facts(config):
        assert phrase in text, (phrase, text)
    for wrong in ("8:1:1",) + (("DeLong",) if config["evaluate"]["unit"] == "patient" else ()):
        assert wrong not in text
    assert text.strip().startswith("Warning " + SYNTHETIC_BANNER)  # synthetic: banner first


def test_site_data_has_no_synthetic_banner():
    config = run_config(None)
    config["input"]["mode"] = "site"
    assert SYNTHETIC_BANNER not in rendered_text(config)
    assert "site data" in rendered_text(config)


def test_synthetic_banner_heads_table2_and_the_figures(tmp_path):
    """Table 2 (Markdown, HTML) opens with the banner; a figure with it is a band taller than
    without (the banner sits above the panel letters, not on them)."""
    import matplotlib.image as mpimg
    import pandas as pd

    from echocmr.report.figures import figure1
    from echocmr.report.tables import table2, table2_html, table2_markdown

    empty = table2(pd.DataFrame(columns=["source", "task", "n", "n_pos", "auroc", "ci_low",
                                         "ci_high"]))
    assert table2_markdown(empty, SYNTHETIC_BANNER).startswith(f"> **{SYNTHETIC_BANNER}**")
    assert SYNTHETIC_BANNER not in table2_markdown(empty)
    assert f'<body><p class="banner">{SYNTHETIC_BANNER}</p>' in table2_html(empty,
                                                                          SYNTHETIC_BANNER)
    heights = {}
    for name, banner in (("plain", None), ("marked", SYNTHETIC_BANNER)):
        png = tmp_path / f"{name}.png"
        figure1(pd.DataFrame(columns=["source", "task"]), {}, str(png),
                str(tmp_path / f"{name}.pdf"), banner)
        heights[name] = mpimg.imread(png).shape[0]
    assert heights["marked"] > heights["plain"] + 30
