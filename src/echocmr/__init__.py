"""echocmr: deep learning prediction of CMR findings from echocardiography videos, as a workflow.

The package holds the real logic of every workflow stage; `workflow/scripts/*.py` are thin
wrappers. Everything here is importable and tested without Snakemake.
"""

__version__ = "0.1.0"
