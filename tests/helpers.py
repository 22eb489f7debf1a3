"""Helpers shared by the unit tests (importable from every test folder: ``pythonpath = ["tests"]``).

- the two formula twins behind one interface (:class:`Twin`, :data:`TWINS`) and :func:`random_batch`;
- the tabular world of the bandit tests (:func:`tabular_world`);
- a tiny GPT-2 and toy preference pairs for the log-prob and trainer tests;
- a student's right answers to the exercises (used by the ``test_exercises*`` files).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import dpo_teach.numpy_dpo as numpy_dpo
import dpo_teach.torch_dpo as torch_dpo

# ---------------------------------------------------------------- the formula twins


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


def random_batch(seed: int, n: int = 64, scale: float = 5.0):
    """Four arrays of sequence log-probs (<= 0) for n preference pairs."""
    rng = np.random.default_rng(seed)
    return [-rng.exponential(scale, size=n) for _ in range(4)]


# ---------------------------------------------------------------- the tabular world


def tabular_world(k: int, seed: int):
    """A random reference policy and reward vector for K answers."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(k, 2.0)), rng.normal(size=k)


# ---------------------------------------------------------------- GPT-2

PAD = 0  # the pad (= BOS = EOS) id of tiny_gpt2 and toy_pairs


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


def toy_pairs(n: int = 12, seed: int = 0) -> list[dict]:
    """Prompts of 1-3 tokens; chosen completions use tokens 1-6, rejected 7-12 (lengths vary),
    each ending with PAD (= EOS) as a real completion does."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(n):
        prompt = torch.randint(1, 13, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g)
        good = torch.randint(1, 7, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g)
        bad = torch.randint(7, 13, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g)
        pairs.append(
            {
                "prompt_ids": prompt.tolist(),
                "chosen_ids": good.tolist() + [PAD],
                "rejected_ids": bad.tolist() + [PAD],
            }
        )
    return pairs


# ---------------------------------------------------------------- a student's right answers


def margin(pc, pr, rc, rr, beta):
    return beta * ((pc - rc) - (pr - rr))


def dpo_loss(pc, pr, rc, rr, beta):
    return np.logaddexp(0.0, -margin(pc, pr, rc, rr, beta))


def dpo_loss_torch(pc, pr, rc, rr, beta):  # torch in, a tensor that requires grad out
    pc = torch.as_tensor(pc).requires_grad_()
    return -F.logsigmoid(beta * ((pc - torch.as_tensor(rc)) - (torch.as_tensor(pr) - torch.as_tensor(rr))))


def weight(pc, pr, rc, rr, beta):
    return np.exp(-np.logaddexp(0.0, margin(pc, pr, rc, rr, beta)))  # sigma(-m), stable


def gradient(pc, pr, rc, rr, beta):
    w = weight(pc, pr, rc, rr, beta)
    return -beta * w, beta * w


def ipo_loss(pc, pr, rc, rr, beta, chosen_lengths=None, rejected_lengths=None):
    """IPO (arXiv:2310.12036 Eq. 17), as a student writes it: summed margin, or per-token with lengths."""
    r_w, r_l = pc - rc, pr - rr
    d = r_w - r_l if chosen_lengths is None else r_w / chosen_lengths - r_l / rejected_lengths
    return (d - 1 / (2 * beta)) ** 2


def optimal_policy(ref_probs, rewards, beta):
    logits = np.log(ref_probs) + rewards / beta
    p = np.exp(logits - logits.max())
    return p / p.sum()


def sequence_logps(logits, labels, mean=False, shift=True, log=torch.log_softmax):
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    token = log(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    return token.sum(-1) / mask.sum(-1) if mean else token.sum(-1)


def kl_optimal(beta, beta_multiplies=False):
    """KL(pi* || pi_ref) of exercise 9's table; ``beta_multiplies`` makes the classic mistake
    exp(beta * r) instead of exp(r / beta)."""
    from dpo_teach import exercises as ex

    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)
    pi = optimal_policy(p, r * beta**2 if beta_multiplies else r, beta)
    return float(pi @ np.log(pi / p))


def toy_rewards():
    """The two implicit rewards of the 0.6 / 0.4 toy example at the exercises' beta."""
    from dpo_teach import exercises as ex

    return ex.TOY_BETA * math.log(0.6 / 0.5), ex.TOY_BETA * math.log(0.4 / 0.5)


def time_limit(seconds: float) -> float:
    """A test's time limit: ``seconds`` (sized on an idle 2-core machine) times
    ``$DPO_TEACH_TEST_TIME_SCALE`` (default 3), so that the limit only catches a hang and the test
    passes with four CPU-bound processes running beside it. No test asserts a wall time."""
    import os

    return seconds * float(os.environ.get("DPO_TEACH_TEST_TIME_SCALE", "3"))


def run_cli(*args):
    """``python -m dpo_teach.finetune --fast --no-progress --device cpu ARGS`` in a subprocess."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, DPO_TEACH_FAST="1")
    return subprocess.run(
        [sys.executable, "-m", "dpo_teach.finetune", "--fast", "--no-progress", "--device", "cpu", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=time_limit(600),  # ~10 s idle; 900 s was not enough beside 4 busy loops and 20 other jobs
    )


def start_torchrun(worker, *args, **env):
    """Start ``python -m torch.distributed.run --standalone --nproc-per-node 2 WORKER ARGS`` (two
    CPU processes, Gloo; one thread each, ``tests/`` importable); returns the ``Popen`` (text
    stdout and stderr piped), so the caller can run the 1-process reference meanwhile."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", **env)  # fmt: skip
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    return subprocess.Popen([*command, str(worker), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
