"""Test-run configuration shared by the unit tests and the notebooks (nbval).

Fast mode is switched on here, before any kernel starts, so every notebook run by `pytest`
inherits it through the environment and runs the same code at a smaller size.
"""

import os

os.environ.setdefault("DPO_TEACH_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
