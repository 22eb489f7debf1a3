"""Log-probs of completions (dpo_teach.gpt2.logprobs): a hand-computed example, padding and the
prompt/completion boundary, pairs in one forward pass, and the whole-dataset scoring loop."""

import math

import pytest
import torch

from dpo_teach.gpt2.logprobs import (
    IGNORE_INDEX,
    batch_logps,
    build_prompt_completion_batch,
    collate_pairs,
    concatenated_logps,
    score_completions,
    score_pairs,
    sequence_logps,
)
from helpers import PAD, tiny_gpt2, toy_pairs

WILD = [50.0, -50.0, 3.0]  # logits at positions that must not count


def _log(*weights):
    return [math.log(w) for w in weights]


def hand_example():
    """Two rows, vocabulary of 3. Row 0: prompt [0, 1], completion [2, 1]. Row 1: prompt [0],
    completion [2], then two padding positions (pad id 1)."""
    batch = build_prompt_completion_batch([[0, 1], [0]], [[2, 1], [2]], pad_token_id=1)
    logits = torch.tensor(
        [
            # position 1 predicts token 2 with p = 2/4; position 2 predicts token 1 with p = 2/4
            [WILD, _log(1, 1, 2), _log(1, 2, 1), WILD],
            # position 0 predicts token 2 with p = 1/4; the rest is the padded tail
            [_log(2, 1, 1), WILD, WILD, WILD],
        ],
        dtype=torch.float64,
    )
    return batch, logits


def test_batch_layout_is_right_padded_and_masks_prompt_and_padding():
    batch, _ = hand_example()
    assert batch["input_ids"].tolist() == [[0, 1, 2, 1], [0, 2, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    m = IGNORE_INDEX
    assert batch["labels"].tolist() == [[m, m, 2, 1], [m, 2, m, m]]


def test_hand_computed_sum_and_average():
    batch, logits = hand_example()
    got = sequence_logps(logits, batch["labels"])
    assert got.dtype == torch.float64
    expected = [math.log(0.5) + math.log(0.5), math.log(0.25)]
    assert got.tolist() == pytest.approx(expected, abs=1e-12)
    avg = sequence_logps(logits, batch["labels"], average_log_prob=True)
    assert avg.tolist() == pytest.approx([math.log(0.5), math.log(0.25)], abs=1e-12)


def test_boundary_first_completion_token_is_scored_from_last_prompt_position():
    batch, logits = hand_example()
    base = sequence_logps(logits, batch["labels"])
    # Changing the logits at the last prompt position (1) changes row 0; the last position
    # (it predicts nothing) and padding positions change nothing.
    bumped = logits.clone()
    bumped[0, 1] = torch.tensor(_log(1, 1, 1), dtype=torch.float64)
    assert float(sequence_logps(bumped, batch["labels"])[0]) == pytest.approx(math.log(1 / 3) + math.log(0.5))
    ignored = logits.clone()
    ignored[0, 3] = 0.0  # last position of row 0
    ignored[0, 0] = 0.0  # first prompt position of row 0 predicts a prompt token
    ignored[1, 1:] = 0.0  # row 1: the completion's last position and the padding
    assert torch.equal(sequence_logps(ignored, batch["labels"]), base)


def test_low_precision_logits_are_cast_to_float32():
    batch, logits = hand_example()
    got = sequence_logps(logits.to(torch.bfloat16), batch["labels"])
    assert got.dtype == torch.float32
    assert got.tolist() == pytest.approx([2 * math.log(0.5), math.log(0.25)], abs=0.05)


def test_bad_shapes_and_empty_prompt_raise():
    batch, logits = hand_example()
    with pytest.raises(ValueError, match="logits must be"):
        sequence_logps(logits[:, :3], batch["labels"])
    with pytest.raises(ValueError, match="prompt 0 is empty"):
        build_prompt_completion_batch([[]], [[1]], pad_token_id=0)
    with pytest.raises(ValueError, match="one completion per prompt"):
        build_prompt_completion_batch([[1], [2]], [[1]], pad_token_id=0)


def test_gpt2_matches_token_loop_and_ignores_right_padding():
    model = tiny_gpt2(seed=0, vocab_size=11, n_positions=16).eval().double()
    prompts, completions = [[1, 2, 3], [4]], [[5, 6, 0], [7, 0]]
    batch = build_prompt_completion_batch(prompts, completions, pad_token_id=0)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        got = sequence_logps(logits, batch["labels"])
        for i, (p, c) in enumerate(zip(prompts, completions)):
            ids = torch.tensor([p + c])
            alone = model(input_ids=ids).logits[0].log_softmax(-1)  # (T, V), no padding at all
            loop = sum(float(alone[len(p) + j - 1, tok]) for j, tok in enumerate(c))
            assert float(got[i]) == pytest.approx(loop, abs=1e-10)


# --- pairs: one forward pass for chosen and rejected ---------------------------------------------


def test_collate_pairs_stacks_chosen_rows_then_rejected_rows():
    pairs = toy_pairs(3, seed=1)
    batch = collate_pairs(pairs, PAD)
    prompts = [p["prompt_ids"] for p in pairs]
    completions = [p["chosen_ids"] for p in pairs] + [p["rejected_ids"] for p in pairs]
    expected = build_prompt_completion_batch(prompts + prompts, completions, PAD)
    assert set(batch) == set(expected)
    for name in expected:
        assert torch.equal(batch[name], expected[name]), name


def test_concatenated_logps_splits_one_forward_pass_into_chosen_and_rejected():
    model = tiny_gpt2(seed=3).eval()
    pairs = toy_pairs(4, seed=2)
    batch = collate_pairs(pairs, PAD)
    with torch.no_grad():
        chosen, rejected = concatenated_logps(model, batch)
        rows = batch_logps(model, batch)
    assert chosen.shape == rejected.shape == (4,)
    assert torch.equal(torch.cat([chosen, rejected]), rows)
    assert (chosen < 0).all() and (rejected < 0).all()


# --- the whole-dataset scoring loop ---------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [64, 4, 1])
def test_score_pairs_equals_concatenated_logps_of_collate_pairs(batch_size):
    model = tiny_gpt2(seed=4).eval()
    pairs = toy_pairs(9, seed=4)
    chosen, rejected = score_pairs(model, pairs, PAD, batch_size=batch_size)
    assert chosen.dtype == torch.float32 and chosen.shape == rejected.shape == (9,)
    assert not chosen.requires_grad
    with torch.no_grad():
        if batch_size >= len(pairs):  # one chunk: exactly the training computation
            want_c, want_r = concatenated_logps(model, collate_pairs(pairs, PAD))
            assert torch.equal(chosen, want_c) and torch.equal(rejected, want_r)
        for start in range(0, len(pairs), batch_size):  # chunk by chunk, exactly
            want_c, want_r = concatenated_logps(model, collate_pairs(pairs[start : start + batch_size], PAD))
            assert torch.equal(chosen[start : start + batch_size], want_c)
            assert torch.equal(rejected[start : start + batch_size], want_r)
        # and, whatever the chunking (padding width), the same numbers to rounding
        all_c, all_r = concatenated_logps(model, collate_pairs(pairs, PAD))
        torch.testing.assert_close(chosen, all_c, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(rejected, all_r, rtol=1e-5, atol=1e-5)


def test_score_pairs_restores_the_mode_and_scores_in_eval_mode():
    model = tiny_gpt2(seed=5)  # dropout on: train mode would give noisy log-probs
    pairs = toy_pairs(6, seed=6)
    model.train()
    chosen, rejected = score_pairs(model, pairs, PAD)
    assert model.training  # put back in train mode
    with torch.no_grad():
        want_c, want_r = concatenated_logps(model.eval(), collate_pairs(pairs, PAD))
    assert torch.equal(chosen, want_c) and torch.equal(rejected, want_r)  # computed without dropout
    score_pairs(model, pairs, PAD)
    assert not model.training  # and eval mode stays eval mode


@pytest.mark.parametrize("batch_size", [128, 2])
def test_score_completions_equals_batch_logps_of_the_batch(batch_size):
    model = tiny_gpt2(seed=7).eval()
    pairs = toy_pairs(5, seed=7)
    prompts = [p["prompt_ids"] for p in pairs]
    completions = [p["chosen_ids"] for p in pairs]
    got = score_completions(model, prompts, completions, PAD, batch_size=batch_size)
    assert got.dtype == torch.float32 and got.shape == (5,) and not got.requires_grad
    with torch.no_grad():
        for start in range(0, 5, batch_size):
            sl = slice(start, start + batch_size)
            want = batch_logps(model, build_prompt_completion_batch(prompts[sl], completions[sl], PAD))
            assert torch.equal(got[sl], want)
    model.train()
    score_completions(model, prompts, completions, PAD)
    assert model.training
