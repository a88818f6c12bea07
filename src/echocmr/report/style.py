"""One figure style for every deliverable: journal column widths, one font, vector PDFs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402

# Journal double-column width (inches, ~174 mm).
DOUBLE_COLUMN = 6.85
DPI = 300

# Figure 1 colours as the paper's caption names them; Supplementary Figure 1 panel A likewise.
SOURCE_COLOURS = {"fused": "black", "A4C": "#d62728", "A2C": "#1f77b4", "PLAX": "#2ca02c"}
SOURCE_LABELS = {"fused": "Global (three views)", "A4C": "A4c", "A2C": "A2c", "PLAX": "PLAX"}
TISSUE_COLOURS = {"t1_abnormal": "#2ca02c", "t2_abnormal": "#9467bd", "ecv_abnormal": "#ff7f0e"}
TISSUE_LABELS = {"t1_abnormal": "Native T1 \u2265 1060 ms", "t2_abnormal": "T2 \u2265 58 ms",
                 "ecv_abnormal": "ECV \u2265 33%"}
CONTINUOUS_LABELS = {"t1": ("Native T1", "ms"), "t2": ("T2", "ms"), "ecv": ("ECV", "%")}

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.1,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType: text stays text (editable, searchable) in the PDF
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "savefig.dpi": DPI,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    # Byte-stable PDFs: no creation date in the metadata.
}


LEGEND = {"frameon": True, "facecolor": "white", "framealpha": 0.85, "edgecolor": "none",
          "borderpad": 0.3, "title_fontsize": 6}


def apply() -> None:
    plt.rcParams.update(RC)


SYNTHETIC_BANNER = "SYNTHETIC DATA: simulated patients with planted effects, not a clinical result"


def data_banner(synthetic: bool) -> str | None:
    """The banner every table and figure of a run on the synthetic export carries."""
    return SYNTHETIC_BANNER if synthetic else None


def mark_banner(fig, banner: str) -> None:
    """White on red above everything drawn (panel letters and titles may sit above the axes;
    the tight bounding box of the saved figure then takes the banner in)."""
    top = fig.get_tightbbox(fig.canvas.get_renderer()).y1 / fig.get_figheight()
    fig.text(0.5, max(top, 1.0) + 0.02, banner, ha="center", va="bottom", fontsize=8,
             fontweight="bold", color="white",
             bbox={"facecolor": "#b03a2e", "edgecolor": "none", "pad": 3})


def save(fig, png: str | None = None, pdf: str | None = None,
         banner: str | None = None) -> None:
    """Write PNG (300 dpi) and vector PDF without timestamps, then close the figure; with a
    `banner` (data_banner), marked with it first."""
    if banner:
        mark_banner(fig, banner)
    if png:
        fig.savefig(png, metadata={"Software": None})
    if pdf:
        fig.savefig(pdf, metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                   "Creator": None})
    plt.close(fig)


def panel_letter(ax, letter: str) -> None:
    ax.text(-0.18, 1.06, letter, transform=ax.transAxes, fontsize=9, fontweight="bold",
            va="bottom", ha="left")


def fmt_ci(estimate: float, low: float, high: float, digits: int = 3) -> str:
    """'0.817 (0.791-0.843)' with an en dash, or 'n/a' when undefined."""
    import math

    if estimate is None or not math.isfinite(estimate):
        return "n/a"
    if low is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"{estimate:.{digits}f}"
    # An en dash between negative bounds reads as a minus sign: use "to" there.
    sep = " to " if low < 0 or high < 0 else "\u2013"
    return f"{estimate:.{digits}f} ({low:.{digits}f}{sep}{high:.{digits}f})"
