"""Test-run configuration shared by the unit tests and the notebooks (nbval).

Fast mode is switched on here, before any kernel starts, so every notebook run by `pytest`
inherits it through the environment and runs the same code at a smaller size.
"""

import os

os.environ.setdefault("DPO_TEACH_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The files that run longest (pytest --durations on the 2-core CI machine: the site build and its
# browser checks ~4 min, the fine-tune CLI runs 1-4 min, the grader's class ~1.5 min, notebooks
# 05-08 1-2 min each), handed out first. xdist gives each file to one worker whole (--dist
# loadfile) and the next file to whichever worker is free, so a long file handed out last keeps
# the other core idle at the end; by default xdist orders the files by their number of tests,
# which puts these few-test files last (pyproject: --no-loadscope-reorder keeps this order).
# test_gpt2_finetune.py runs the session's shared fast fine-tune (tests/gpt2/conftest.py): the
# other files that read it come after it, so that no worker waits for it.
SLOWEST_FIRST = (
    "tests/test_site_browser.py",
    "tests/gpt2/test_gpt2_finetune.py",
    "tests/test_grade.py",
    "tests/gpt2/test_gpt2_finetune_reliability.py",
    "tests/gpt2/test_gpt2_ddp_trainer.py",
    "notebooks/07_failure_modes.ipynb",
    "notebooks/zh/07_failure_modes.ipynb",
    "notebooks/05_gpt2_dpo.ipynb",
    "notebooks/06_dpo_family.ipynb",
    "notebooks/08_debugging_clinic.ipynb",
    "tests/gpt2/test_gpt2_finetune_training_flags.py",
    "tests/sweep/test_sweep.py",
    "tests/gpt2/hub/test_gpt2_real_world_cli.py",
    "tests/gpt2/test_gpt2_distributed.py",
    "tests/gpt2/hub/test_gpt2_real_world_reliability.py",
    "tests/test_notebook_checks.py",
    "tests/gpt2/test_gpt2_rounds_cli.py",
    "tests/gpt2/test_gpt2_loss_types.py",
)


def pytest_collection_modifyitems(config, items):
    """Under xdist, the files above first, then the others by their number of tests (xdist's own
    order); the tests inside a file keep their order. A serial run (-n 0) keeps pytest's order."""
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    file_of = {id(item): item.nodeid.split("::", 1)[0] for item in items}
    count: dict[str, int] = {}
    for name in file_of.values():
        count[name] = count.get(name, 0) + 1
    items.sort(key=lambda item: (rank.get(file_of[id(item)], len(rank)), -count[file_of[id(item)]]))
