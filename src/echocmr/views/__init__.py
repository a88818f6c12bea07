"""View extraction: which echo view each cropped video shows, and how sure we are.

Three backends produce per-video probabilities over `VIEW_CLASSES` (`labels`, `train`,
`pretrained`); `decide` turns them into the kept/excluded table other stages read.
"""

from echocmr.views.vocab import ANALYSIS_VIEWS, PROB_COLUMNS, VIEW_CLASSES, normalise_view

__all__ = ["ANALYSIS_VIEWS", "PROB_COLUMNS", "VIEW_CLASSES", "normalise_view"]
