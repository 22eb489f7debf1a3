"""The LM head in chunks (dpo_teach.gpt2.chunked_logps) equals the full-logits path: values and
gradients to 1e-6 (relative) in float32, for any chunk size; and it never keeps a (rows, T, V) tensor."""

import pytest
import torch

from dpo_teach.gpt2.logprobs import batch_logps, collate_pairs, concatenated_logps, score_pairs
from dpo_teach.gpt2.models import disable_dropout
from helpers import PAD, tiny_gpt2, toy_pairs

pytestmark = pytest.mark.usefixtures("one_thread")
VOCAB = 501  # wider than the rows x T of the batch, so the full logits are the largest tensor


def _model():
    model = tiny_gpt2(vocab_size=VOCAB)
    disable_dropout(model)  # train mode, as in a DPO step, without random masks
    return model


def _batch(n=6, seed=0):
    return collate_pairs(toy_pairs(n, seed), PAD)


def _grads(model, chunk, batch):
    model.zero_grad(set_to_none=True)
    logps = batch_logps(model, batch, chunk)
    (logps * torch.linspace(-1.0, 2.0, logps.shape[0])).sum().backward()  # distinct weights per row
    return logps.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_chunked_logps_and_gradients_equal_the_full_logits_path(chunk):
    model = _model()
    batch = _batch()
    full, full_grads = _grads(model, 0, batch)
    got, got_grads = _grads(model, chunk, batch)
    assert got.dtype == torch.float32
    # 1e-6 relative: a few float32 ulps of sums of ~30 nats (a one-row matmul rounds differently)
    assert torch.allclose(got, full, atol=1e-6, rtol=1e-6), (got - full).abs().max()
    for name, g in full_grads.items():
        scale = float(g.abs().max())  # entries up to ~20 here: float32 rounding is ~1e-6 of that
        assert float((got_grads[name] - g).abs().max()) <= 1e-6 * max(scale, 1.0), name


def test_chunked_path_in_scoring_and_pairs_matches():
    model = tiny_gpt2(vocab_size=VOCAB).eval()
    pairs = toy_pairs(9, seed=3)
    full = score_pairs(model, pairs, PAD, batch_size=4)
    got = score_pairs(model, pairs, PAD, batch_size=4, chunk=7)
    for a, b in zip(full, got):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-6)
    with torch.no_grad():
        c, r = concatenated_logps(model, _batch(), chunk=3)
        c0, r0 = concatenated_logps(model, _batch(), chunk=0)
    assert torch.allclose(c, c0, atol=1e-6) and torch.allclose(r, r0, atol=1e-6)


def _largest_saved(model, chunk, batch) -> int:
    """The largest tensor autograd keeps for backward, in elements."""
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        batch_logps(model, batch, chunk).sum()
    return max(sizes)


def test_chunked_path_never_keeps_the_full_logits():
    model = _model()
    batch = _batch()
    rows, width = batch["input_ids"].shape
    full_logits = rows * (width - 1) * VOCAB  # the shifted log-softmax
    assert _largest_saved(model, 0, batch) >= full_logits  # today's path keeps them
    # chunked: the head's weight (V x H) is the largest; no logits at all are kept
    assert _largest_saved(model, 4, batch) <= VOCAB * model.config.n_embd < full_logits
