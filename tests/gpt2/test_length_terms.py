"""The two length methods of issue 26 as trainer options (not family members): R-DPO's length term
in the margin (``DPOConfig.rdpo_alpha``, ``rdpo_loss``, arXiv:2403.19159) and LD-DPO's weighted
log-probs (``DPOConfig.ld_alpha``, arXiv:2409.06411, TRL's ``ld_alpha``): exact formulas, the
twins agree, each option changes training where lengths differ, bad values are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dpo_teach import numpy_dpo as nd
from dpo_teach import numpy_variants as nv
from dpo_teach import torch_dpo as td
from dpo_teach import torch_variants as tv
from dpo_teach.gpt2 import chunked_logps, logprobs
from dpo_teach.gpt2.config import DPOConfig, loss_settings
from dpo_teach.gpt2.logprobs import IGNORE_INDEX, collate_pairs, concatenated_logps, ld_weights, score_pairs
from dpo_teach.gpt2.losses import completion_lengths
from dpo_teach.gpt2.trainer import DPOTrainer, precompute_ref_logps
from helpers import PAD, tiny_gpt2, toy_pairs

pytestmark = pytest.mark.usefixtures("one_thread")
BETA, ALPHA = 0.5, 0.1


def batch_of(n=16, seed=0):
    rng = np.random.default_rng(seed)
    pc, pr, rc, rr = (-rng.uniform(1, 30, n) for _ in range(4))
    n_w, n_l = (rng.integers(1, 20, n).astype(float) for _ in range(2))
    return pc, pr, rc, rr, n_w, n_l


# -- R-DPO: the formula ------------------------------------------------------------------------
def test_rdpo_numpy_and_torch_twins_agree():
    args = batch_of()
    got_np = nv.rdpo_loss(*args, BETA, ALPHA)
    got_t = tv.rdpo_loss(*(torch.tensor(a) for a in args), BETA, ALPHA)
    for a, b in zip(got_np, got_t):
        assert b.dtype == torch.float64
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-13, atol=0)
    assert [n for n in tv.__all__ if n != "gradient_weights"] == nv.__all__
    assert nv.rdpo_loss not in nv.LOSSES.values() and tv.rdpo_loss not in tv.LOSSES.values()
    assert len(nv.LOSSES) == len(tv.LOSSES) == 14  # the family stays 14 members


def test_rdpo_with_alpha_zero_is_dpo_and_rewards_are_dpos():
    pc, pr, rc, rr, n_w, n_l = batch_of(seed=1)
    losses, r_w, r_l = nv.rdpo_loss(pc, pr, rc, rr, n_w, n_l, BETA, 0.0)
    dpo = nd.dpo_loss(pc, pr, rc, rr, BETA)
    np.testing.assert_array_equal(losses, dpo[0])
    _, r_w2, r_l2 = nv.rdpo_loss(pc, pr, rc, rr, n_w, n_l, BETA, ALPHA)
    for a, b, c in zip((r_w, r_l), (r_w2, r_l2), dpo[1:]):
        np.testing.assert_array_equal(a, c)  # the length term is no reward: beta * r as DPO logs it
        np.testing.assert_array_equal(b, c)


def wrong_sign_rdpo(pc, pr, rc, rr, n_w, n_l, beta, alpha):
    """The mistake the sign check must catch: the length term subtracted from the margin."""
    return -nd.log_sigmoid(beta * ((pc - rc) - (pr - rr)) - alpha * (n_w - n_l))


def hand_value_matches(fn) -> bool:
    # r_w = -10 - (-11) = 1, r_l = -12 - (-11.5) = -0.5, h = 1.5; beta h = 0.75;
    # alpha (|y_w| - |y_l|) = 0.1 * (5 - 3) = 0.2 (Eq. 9 of arXiv:2403.19159: added to the margin)
    want = math.log1p(math.exp(-(0.75 + 0.2)))  # -log sigma(0.95)
    got = fn(*(np.array([x]) for x in (-10.0, -12.0, -11.0, -11.5, 5.0, 3.0)), BETA, ALPHA)
    got = got[0] if isinstance(got, tuple) else got
    return abs(float(got[0]) - want) < 1e-15


def test_rdpo_hand_computed_value_and_the_check_catches_the_wrong_sign():
    assert hand_value_matches(nv.rdpo_loss)
    assert not hand_value_matches(wrong_sign_rdpo)  # -log sigma(0.55) = 0.4557 vs 0.3270


def test_rdpo_gives_a_pair_with_a_shorter_chosen_answer_more_weight():
    """The paper's reading of the sign: a longer chosen answer has part of its margin given (its pair
    weighs less in the gradient than under DPO), a shorter one weighs more."""
    h = torch.zeros(1, dtype=torch.float64)
    weights = {}
    for n_w, n_l in ((8.0, 4.0), (4.0, 8.0), (6.0, 6.0)):
        lengths = {"chosen_lengths": torch.tensor([n_w]), "rejected_lengths": torch.tensor([n_l])}
        weights[(n_w, n_l)] = -float(tv.gradient_weights(tv.rdpo_loss, h, BETA, alpha=ALPHA, **lengths)[0][0])
    dpo = -float(tv.gradient_weights("sigmoid", h, BETA)[0][0])  # beta * sigma(0) = 0.25
    assert weights[(6.0, 6.0)] == pytest.approx(dpo, abs=1e-15)  # equal lengths: DPO's weight
    assert weights[(8.0, 4.0)] < dpo < weights[(4.0, 8.0)]


@pytest.mark.parametrize("mod", [nv, tv], ids=["numpy", "torch"])
def test_rdpo_refuses_bad_input(mod):
    args = list(batch_of(4))
    if mod is tv:
        args = [torch.tensor(a) for a in args]
    with pytest.raises(ValueError, match="alpha"):
        mod.rdpo_loss(*args, BETA, -0.1)
    with pytest.raises(ValueError, match="alpha"):
        mod.rdpo_loss(*args, BETA, float("nan"))
    bad = list(args)
    bad[4] = bad[4] * 0  # zero completion tokens
    with pytest.raises(ValueError, match="chosen_lengths"):
        mod.rdpo_loss(*bad, BETA, ALPHA)
    bad = list(args)
    bad[0] = -bad[0]  # a positive log-prob
    with pytest.raises(ValueError, match="policy_chosen_logps"):
        mod.rdpo_loss(*bad, BETA, ALPHA)


# -- LD-DPO: the weighted log-probs ------------------------------------------------------------
def per_token(model, batch):
    """Each row's completion-token log-probs as a Python list, one token at a time (the slow way)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logp = logits.double().log_softmax(-1)
    rows = []
    for i, labels in enumerate(batch["labels"]):
        rows.append([float(logp[i, t - 1, labels[t]]) for t in range(1, labels.shape[0])
                     if labels[t] != IGNORE_INDEX])  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def scored():
    torch.manual_seed(0)
    model = tiny_gpt2().double().eval()
    pairs = toy_pairs(12)
    batch = collate_pairs(pairs, PAD)
    with torch.no_grad():
        tokens = per_token(model, batch)
    n_w, n_l = completion_lengths(batch)
    assert (n_w != n_l).any() and (n_w > n_l).any() and (n_w < n_l).any()  # both kinds of pair
    return model, pairs, batch, tokens


def by_hand(tokens, alpha):
    """LD-DPO's sum per row: the first L = min(|y_w|, |y_l|) tokens fully, the rest times alpha."""
    n = len(tokens) // 2
    out = []
    for i, row in enumerate(tokens):
        shared = min(len(tokens[i % n]), len(tokens[i % n + n]))
        out.append(sum(row[:shared]) + alpha * sum(row[shared:]))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_ld_logps_equal_the_hand_sum(scored, alpha):
    model, _, batch, tokens = scored
    with torch.no_grad():
        got = torch.cat(concatenated_logps(model, batch, ld_alpha=alpha))
        plain = torch.cat(concatenated_logps(model, batch))
    torch.testing.assert_close(got, by_hand(tokens, alpha), rtol=0, atol=1e-12)
    if alpha == 1.0:  # LD-DPO with alpha = 1 is DPO's plain sum
        torch.testing.assert_close(got, plain, rtol=0, atol=1e-12)
    else:  # where the lengths differ the longer answer loses part of its (negative) sum
        assert not torch.allclose(got, plain)


def test_ld_weights_are_one_then_alpha_then_zero():
    labels = torch.tensor([[-100, 5, 6, 7, -100],  # pair 0 chosen: 3 tokens
                           [-100, -100, 8, -100, -100],  # pair 1 chosen: 1 token
                           [-100, 9, -100, -100, -100],  # pair 0 rejected: 1 token
                           [-100, -100, 1, 2, 3]])  # pair 1 rejected: 3 tokens  # fmt: skip
    w = ld_weights(labels != IGNORE_INDEX, 0.25)
    want = torch.tensor([[0, 1, 0.25, 0.25, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0.25, 0.25]])
    torch.testing.assert_close(w, want)
    with pytest.raises(ValueError, match="even number of rows"):
        ld_weights(labels[:3] != IGNORE_INDEX, 0.25)


def test_ld_chunked_path_and_gradient_equal_the_full_path(scored):
    model, _, batch, _ = scored
    model = tiny_gpt2().eval()  # float32, with gradients; no dropout
    grads = []
    for chunk in (0, 5):
        model.zero_grad()
        logps = torch.cat(concatenated_logps(model, batch, chunk, ld_alpha=0.3))
        logps.sum().backward()
        grads.append((logps.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=1e-5)
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_ld_score_pairs_and_precompute_keep_each_pair_in_one_batch(scored):
    model, pairs, batch, tokens = scored
    want = by_hand(tokens, 0.3)
    n = len(pairs)
    for got in (score_pairs(model, pairs, PAD, batch_size=5, bf16=False, ld_alpha=0.3),
                precompute_ref_logps(model, pairs, PAD, 5, False, 3, 0.3)):  # fmt: skip
        torch.testing.assert_close(torch.cat(got).double(), want, rtol=0, atol=1e-5)  # returned as fp32
        assert got[0].shape == (n,)


def test_ld_alpha_none_does_no_extra_work(scored, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ld_weights called with ld_alpha=None")

    monkeypatch.setattr(logprobs, "ld_weights", refuse)
    monkeypatch.setattr(chunked_logps, "ld_weights", refuse)
    _, _, batch, _ = scored
    model = tiny_gpt2()
    with torch.no_grad():
        concatenated_logps(model, batch)
        concatenated_logps(model, batch, 4)  # the chunked path
        with pytest.raises(AssertionError):  # the check can fail: it sees a call when there is one
            concatenated_logps(model, batch, 4, ld_alpha=0.5)


# -- the trainer ---------------------------------------------------------------------------------
def trainer(ref_seed=0, ref_logps=None, **overrides):
    settings = dict(beta=BETA, learning_rate=1e-2, batch_size=4, max_steps=3, log_every=1, progress=False)
    settings.update(overrides)
    return DPOTrainer(tiny_gpt2(), tiny_gpt2(ref_seed), toy_pairs(), DPOConfig(**settings), PAD,
                      ref_logps=ref_logps)  # fmt: skip


def test_rdpo_step_zero_loss_is_the_length_term_alone_and_training_runs():
    """Policy = reference at step 0: DPO's margin is 0, so R-DPO's loss is -log sigma(alpha (n_w - n_l))."""
    plain, rdpo = trainer(), trainer(rdpo_alpha=0.2)
    n_w, n_l = completion_lengths(rdpo.batch_at(0), torch.float64)
    assert (n_w != n_l).any()
    want = float((-td.log_sigmoid(0.2 * (n_w - n_l))).mean())
    history, base = rdpo.train(), plain.train()
    assert base[0]["loss"] == pytest.approx(math.log(2), abs=1e-6)
    assert history[0]["loss"] == pytest.approx(want, abs=1e-6) and abs(want - math.log(2)) > 1e-3
    assert history[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-6)  # beta h, as DPO logs it
    assert all(math.isfinite(h["loss"]) for h in history) and history[-1]["loss"] != base[-1]["loss"]


@pytest.mark.parametrize("path", [dict(), dict(precompute_ref_logps=False), dict(logps_chunk=3)],
                         ids=["precomputed", "reference-per-step", "chunked"])  # fmt: skip
def test_ld_step_zero_loss_is_dpo_on_the_weighted_sums(path):
    """A reference other than the policy, so the margin is not 0 at step 0; the loss is DPO's on the
    LD-weighted sums of policy AND reference, and differs from plain DPO's."""
    ld, plain = trainer(ref_seed=1, ld_alpha=0.2, **path), trainer(ref_seed=1, **path)
    batch = ld.batch_at(0)
    with torch.no_grad():
        pol = concatenated_logps(ld.policy, batch, ld_alpha=0.2)
        ref = concatenated_logps(ld.ref_model, batch, ld_alpha=0.2)
    want = float(td.dpo_loss(*pol, *ref, BETA)[0].mean())
    got, base = ld.train()[0]["loss"], plain.train()[0]["loss"]
    assert got == pytest.approx(want, abs=1e-5) and abs(got - base) > 1e-4


def test_ld_with_alpha_one_trains_as_dpo():
    a = trainer(ref_seed=1, ld_alpha=1.0).train()
    b = trainer(ref_seed=1).train()
    for x, y in zip(a, b):
        assert x["loss"] == pytest.approx(y["loss"], abs=1e-6)


def test_ld_refuses_reference_logps_it_cannot_check():
    pairs = toy_pairs()
    ref = precompute_ref_logps(tiny_gpt2(1), pairs, PAD, bf16=False)
    trainer(ref_seed=1, ref_logps=ref)  # plain DPO takes them
    with pytest.raises(ValueError, match="ld_alpha.*ref_logps=None"):
        trainer(ref_seed=1, ref_logps=ref, ld_alpha=0.5)


@pytest.mark.parametrize("overrides, field", [
    (dict(rdpo_alpha=-0.1), "rdpo_alpha"), (dict(rdpo_alpha=float("inf")), "rdpo_alpha"),
    (dict(rdpo_alpha=True), "rdpo_alpha"), (dict(rdpo_alpha=0.1, loss_type="ipo"), "rdpo_alpha"),
    (dict(rdpo_alpha=0.1, fixed_weight=1.0), "rdpo_alpha"), (dict(ld_alpha=1.5), "ld_alpha"),
    (dict(ld_alpha=-0.5), "ld_alpha"), (dict(ld_alpha=float("nan")), "ld_alpha"),
    (dict(ld_alpha="0.5"), "ld_alpha"),
])  # fmt: skip
def test_bad_values_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"DPOConfig.{field}"):
        DPOConfig(**overrides)


def test_defaults_are_off_and_the_record_names_them_when_on():
    config = DPOConfig()
    assert config.rdpo_alpha == 0.0 and config.ld_alpha is None
    assert loss_settings(config) == {"loss_type": "sigmoid"}
    on = loss_settings(DPOConfig(rdpo_alpha=0.05, ld_alpha=0.5))
    assert on == {"loss_type": "sigmoid", "rdpo_alpha": 0.05, "ld_alpha": 0.5}
    DPOConfig(ld_alpha=0.5, loss_type="simpo")  # LD-DPO weighs the log-probs of any member
