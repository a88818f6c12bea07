"""View extraction: which echo view each cropped video shows, and how sure we are.

Three backends produce per-video probabilities over `VIEW_CLASSES` (`labels`, `train`,
`pretrained`); `decide` turns them into the kept/excluded table other stages read.
"""
