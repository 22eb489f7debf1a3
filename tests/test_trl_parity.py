"""Every DPO-family loss TRL 1.16 implements equals ours (benchmarks/trl_parity.py).

Skipped where TRL (the `bench` extra) is not installed. One tiny batch of varied-length pairs
(padded, so TRL's length conventions are exercised), one TRL trainer per loss type.
"""

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl", reason="TRL is the benchmark-only peer (pip install -e '.[bench]')")


@pytest.fixture(scope="module")
def parity():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "trl_parity.py"
    spec = importlib.util.spec_from_file_location("trl_parity", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(parity):
    import datasets
    import transformers

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        s, world = parity.build(batch_size=4, prompt_len=4, completion_len=6)
        n_w = [len(p["chosen_ids"]) for p in world.pairs]
        assert len(set(n_w)) > 1, "the pairs should have different completion lengths"
        with warnings.catch_warnings():  # transformers' deprecation advice, not results
            warnings.simplefilter("ignore", FutureWarning)
            return parity.check_parity(world, s)
    finally:
        transformers.logging.set_verbosity(verbosity)
        datasets.enable_progress_bars()


def test_every_trl_loss_type_is_checked(parity, rows):
    assert set(rows) == set(parity.LOSS_TYPES) == {
        "sigmoid", "ipo", "hinge", "robust", "nca_pair", "bco_pair", "apo_zero", "apo_down",
        "sigmoid_norm", "rpo",
    }  # fmt: skip


@pytest.mark.parametrize("loss_type", [
    "sigmoid", "ipo", "hinge", "robust", "nca_pair", "bco_pair", "apo_zero", "apo_down",
    "sigmoid_norm", "rpo",
])  # fmt: skip
def test_loss_and_gradient_equal_trl(rows, loss_type):
    r = rows[loss_type]
    assert r["abs_loss_diff"] < 1e-5, r
    assert r["max_abs_grad_diff"] < 1e-5, r


def test_conventions_matter_on_this_batch(rows):
    # the paper's forms (IPO on summed log-ratios, RPO with per-sequence token means) differ
    # from TRL's on varied lengths: the equality above really checks TRL's conventions
    assert rows["ipo"]["paper_form_diff"] > 1e-3
    assert rows["rpo"]["paper_form_diff"] > 1e-5
