"""LD-DPO (``DPOConfig.ld_alpha``) equals TRL 1.16's ``ld_alpha``: the loss and the policy gradient of
one batch, TRL's own ``compute_loss`` against ours, with the world of benchmarks/trl_parity.py
(varied completion lengths; the policy a little away from the reference, so the margin is not 0).

Skipped where TRL (the `bench` extra) is not installed."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import torch

from dpo_teach import torch_dpo as td
from dpo_teach.gpt2 import logprobs

pytest.importorskip("trl", reason="TRL is the benchmark-only peer (pip install -e '.[bench]')")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world():
    import datasets
    import transformers

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "trl_parity.py"
    spec = importlib.util.spec_from_file_location("trl_parity", path)
    parity = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = parity  # dataclasses look their module up while the file runs
    spec.loader.exec_module(parity)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        s, world = parity.build(batch_size=4, prompt_len=4, completion_len=6)
        yield sys.modules["bench_vs_trl"], dataclasses.replace(s, bf16=False), world
    finally:
        transformers.logging.set_verbosity(verbosity)
        datasets.enable_progress_bars()


def trl_and_ours(world, ld_alpha):
    """``(loss_trl, loss_ours, largest policy-gradient difference)`` of the first batch."""
    bench, s, w = world
    batch = logprobs.collate_pairs(w.pairs[: s.batch_size], w.tokenizer.pad_token_id, s.device)
    with warnings.catch_warnings():  # transformers' deprecation advice, not results
        warnings.simplefilter("ignore", FutureWarning)
        trl = bench.trl_trainer(w, s, max_steps=1, precompute=False,
                                **({} if ld_alpha is None else {"ld_alpha": ld_alpha}))  # fmt: skip
        trl_batch = trl.data_collator([trl.train_dataset[i] for i in range(s.batch_size)])
        labels = trl_batch["input_ids"].masked_fill(trl_batch["completion_mask"] == 0, -100)
        assert torch.equal(batch["input_ids"], trl_batch["input_ids"])
        assert torch.equal(batch["labels"], labels)  # the same tokens scored on both sides
        trl.model.train()
        with trl.compute_loss_context_manager():
            loss_trl = trl.compute_loss(trl.model, trl_batch)
        loss_trl.backward()
    policy, ref = w.fresh_models(s.device)
    policy.eval(), ref.eval()  # dropout off on both sides (TRL's disable_dropout)
    with torch.no_grad():
        rc, rr = logprobs.concatenated_logps(ref, batch, ld_alpha=ld_alpha)
    pc, pr = logprobs.concatenated_logps(policy, batch, ld_alpha=ld_alpha)
    loss = td.dpo_loss(pc, pr, rc, rr, s.beta)[0].mean()
    loss.backward()
    theirs = dict(trl.model.named_parameters())
    grad = max((p.grad - theirs[n].grad).abs().max().item() for n, p in policy.named_parameters())
    return loss_trl.item(), loss.item(), grad


def test_ld_alpha_loss_and_gradient_equal_trl(world):
    n = (logprobs.collate_pairs(world[2].pairs[:4], 0)["labels"] != -100).sum(1)
    assert (n[:4] != n[4:]).any()  # pairs of unequal length: LD-DPO has a tail to weigh
    plain = trl_and_ours(world, None)[0]
    for ld_alpha in (0.0, 0.5):
        loss_trl, loss_ours, grad = trl_and_ours(world, ld_alpha)
        assert abs(loss_trl - loss_ours) < 1e-5 and grad < 1e-5, (ld_alpha, loss_trl, loss_ours, grad)
        assert abs(loss_trl - plain) > 1e-4  # the check can fail: ld_alpha moved TRL's loss
