"""Fixtures shared by the unit tests: the two formula twins behind one parameter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import dpo_teach.numpy_dpo as numpy_dpo
import dpo_teach.torch_dpo as torch_dpo


@dataclass(frozen=True)
class Twin:
    name: str
    mod: Any
    arr: Callable[[Any], Any]  # float64 array/tensor in this twin's library
    np_: Callable[[Any], np.ndarray]  # back to NumPy for comparison


TWINS = [
    Twin("numpy", numpy_dpo, lambda x: np.asarray(x, dtype=np.float64), np.asarray),
    Twin(
        "torch",
        torch_dpo,
        lambda x: torch.as_tensor(np.asarray(x, dtype=np.float64)),
        lambda t: t.detach().cpu().numpy(),
    ),
]


@pytest.fixture(params=TWINS, ids=[t.name for t in TWINS])
def twin(request) -> Twin:
    return request.param


def random_batch(seed: int, n: int = 64, scale: float = 5.0):
    """Four arrays of sequence log-probs (<= 0) for n preference pairs."""
    rng = np.random.default_rng(seed)
    return [-rng.exponential(scale, size=n) for _ in range(4)]


def tiny_gpt2(seed: int = 0, vocab_size: int = 13, n_positions: int = 24):
    """A 1-layer, 16-wide GPT-2 with token 0 as BOS/EOS/PAD, for log-prob and trainer tests."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=n_positions,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        loss_type="ForCausalLM",
    )
    return GPT2LMHeadModel(config)
