"""Audit of the package's promise about bad input.

    Every bad input raises an error that names the problem (the argument or the file) and the
    fix; nothing is silently wrong; the CLI never shows a traceback.

One table of bad inputs (``CASES``), each a zero-argument callable plus the words a clear message
must contain (usually the argument's or the file's name). Each case is classified as

- ``clear``:   the expected exception type (``ValueError``; ``AssertionError`` for the exercise
               checks; for ``finetune.main(argv)`` a ``SystemExit(2)`` whose stderr ends in one
               ``error:`` line) and its message holds the expected words. A few cases are
               "works correctly" cases (e.g. uint8 index tensors, a UTF-8 BOM file): there a
               normal return that passes the case's check is clear;
- ``unclear``: the expected type, but the words are missing (or a multi-line CLI error);
- ``silent``:  a normal return (a wrong or meaningless result);
- ``crash``:   any other exception (TypeError, IndexError, RecursionError, ...), or over the
               per-case time limit ("too slow").

Two ways to run it:

    pytest tests/test_bad_input_audit.py          # one test per case, each must be clear
    python tests/test_bad_input_audit.py          # a count table per area + every non-clear case
    python tests/test_bad_input_audit.py -v       # ... and every case with what happened
    python tests/test_bad_input_audit.py AREA ... # only these areas (e.g. run_dir hub_data)
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # script mode: what pytest's config (pyproject, conftest) would set
    os.environ.setdefault("DPO_TEACH_FAST", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

import dpo_teach.numpy_dpo as numpy_dpo
import dpo_teach.numpy_variants as numpy_variants
import dpo_teach.torch_dpo as torch_dpo
import dpo_teach.torch_variants as torch_variants
from helpers import PAD, time_limit, tiny_gpt2, toy_pairs

TIME_LIMIT_S = time_limit(20.0)  # per case (a hang guard, scaled for a busy machine); over it: "too slow"

# ---------------------------------------------------------------- the case table


@dataclass
class Case:
    area: str  # numpy_dpo, torch_dpo, bandit, data, trainer, models, finetune, exercises
    name: str  # "function/what is wrong", e.g. "dpo_loss/None-chosen"
    call: Callable[[], Any]
    words: tuple[str, ...]  # all must appear in the message; "a|b" = either (whole words, any case)
    expect: str = "value"  # "value": ValueError; "assert": AssertionError; "cli": SystemExit(2)
    ok: Callable[[Any], str | None] | None = None  # a normal return is right when this gives None
    post: Callable[[], str | None] | None = None  # after the call: a string = something went wrong
    limit: float = TIME_LIMIT_S

    @property
    def id(self) -> str:
        return f"{self.area}.{self.name}"


@dataclass
class Outcome:
    kind: str  # clear, unclear, silent, crash
    detail: str


CASES: list[Case] = []


def case(area, name, call, *words, **options) -> None:
    CASES.append(Case(area, name, call, tuple(words), **options))


_TMP_ROOT: Path | None = None


def tmpdir() -> Path:
    """A fresh empty directory for one case (all removed when the process exits)."""
    global _TMP_ROOT
    if _TMP_ROOT is None:
        import atexit

        _TMP_ROOT = Path(tempfile.mkdtemp(prefix="dpo_bad_input_"))
        atexit.register(shutil.rmtree, _TMP_ROOT, True)
    return Path(tempfile.mkdtemp(dir=_TMP_ROOT))


# ---------------------------------------------------------------- part 1: the formula twins

PC, PR, RC, RR = [-1.0, -2.0], [-3.0, -1.5], [-1.2, -2.2], [-2.8, -1.4]  # four (2,) log-prob arrays
GOOD = {"policy_chosen_logps": PC, "policy_rejected_logps": PR, "ref_chosen_logps": RC,
        "ref_rejected_logps": RR, "beta": 0.1}  # fmt: skip
PI, REF = [-1.0, -2.0, -1.5, -3.0], [-1.2, -1.8, -1.4, -2.5]  # paper_dpo_loss: 4 completions, 2 pairs
YW, YL = [0, 2], [1, 3]


def _five(fn, **changes):
    kw = {**GOOD, **changes}
    return lambda: fn(**{k: v() if callable(v) else v for k, v in kw.items()})


def _grad_beta():
    return torch.tensor(0.1, dtype=torch.float64, requires_grad=True)


def _paper_ok(twin):
    """uint8 index tensors work as indices: one loss per pair, equal to the int64 result."""

    def ok(result):
        losses = np.asarray(result[0].detach() if isinstance(result[0], torch.Tensor) else result[0])
        ref = twin.paper_dpo_loss(PI, REF, YW, YL, 0.1)[0]
        ref = np.asarray(ref.detach() if isinstance(ref, torch.Tensor) else ref)
        if losses.shape != (2,):
            return f"returned losses of shape {losses.shape}, expected one per pair (2,)"
        if not np.allclose(losses, ref, rtol=1e-12, atol=0):
            return f"losses {losses} differ from the int64-index result {ref}"
        return None

    return ok


def _bf16_ok(result):
    losses = np.asarray(result[0], dtype=np.float64)
    pc = torch.tensor(PC).to(torch.bfloat16).double().numpy()  # what bf16 holds, exactly
    expected = numpy_dpo.dpo_loss(pc, PR, RC, RR, 0.1)[0]
    if losses.shape != (2,) or not np.allclose(losses, expected, rtol=1e-6):
        return f"losses {losses} differ from the bf16 values' loss {expected}"
    return None


def _twin_cases(area: str, twin) -> None:
    L = twin.dpo_loss  # noqa: N806
    c = lambda name, call, *w, **o: case(area, name, call, *w, **o)  # noqa: E731
    # dpo_loss: each kind of bad log-prob input, in each of the four positions once
    c("dpo_loss/None-chosen", _five(L, policy_chosen_logps=None), "policy_chosen_logps")
    c("dpo_loss/str-chosen", _five(L, policy_chosen_logps="-0.5"), "policy_chosen_logps")
    c(
        "dpo_loss/list-of-str-rejected",
        _five(L, policy_rejected_logps=["-3.0", "-1.5"]),
        "policy_rejected_logps",
    )
    c(
        "dpo_loss/complex-ref_chosen",
        _five(L, ref_chosen_logps=np.array([-1.2 + 1j, -2.2])),
        "ref_chosen_logps",
    )
    c("dpo_loss/nan-ref_rejected", _five(L, ref_rejected_logps=[np.nan, -1.4]), "ref_rejected_logps")
    c("dpo_loss/-inf-chosen", _five(L, policy_chosen_logps=[-np.inf, -2.0]), "policy_chosen_logps")
    c("dpo_loss/+inf-rejected", _five(L, policy_rejected_logps=[np.inf, -1.5]), "policy_rejected_logps")
    c("dpo_loss/positive-logps-chosen", _five(L, policy_chosen_logps=[3.0, 5.0]), "policy_chosen_logps")
    c("dpo_loss/probabilities-ref_chosen", _five(L, ref_chosen_logps=[0.6, 0.4]), "ref_chosen_logps")
    c(
        "dpo_loss/shape-mismatch",
        _five(L, ref_rejected_logps=[-1.0, -2.0, -3.0]),
        "shape",
        "ref_rejected_logps",
    )
    c(
        "dpo_loss/shape-2d-vs-1d",
        _five(L, policy_rejected_logps=[[-3.0], [-1.5]]),
        "shape",
        "policy_rejected_logps",
    )
    bad_betas = {"0": 0.0, "-1": -1.0, "nan": math.nan, "inf": math.inf, "str": "0.1", "True": True,
                 "vector": [0.1, 0.2], "tensor-requires-grad": _grad_beta}  # fmt: skip
    for label, beta in bad_betas.items():
        c(f"dpo_loss/beta-{label}", _five(L, beta=beta), "beta")
    # the other five-argument functions
    c("margin/None-ref_chosen", _five(twin.margin, ref_chosen_logps=None), "ref_chosen_logps")
    c("margin/beta-nan", _five(twin.margin, beta=math.nan), "beta")
    c(
        "dpo_loss_grad/str-rejected",
        _five(twin.dpo_loss_grad, policy_rejected_logps="-1.5"),
        "policy_rejected_logps",
    )
    c("dpo_loss_grad/beta-str", _five(twin.dpo_loss_grad, beta="0.1"), "beta")
    c(
        "dpo_loss_grad/positive-chosen",
        _five(twin.dpo_loss_grad, policy_chosen_logps=[0.5, 0.5]),
        "policy_chosen_logps",
    )
    # implicit_reward, bt_probability
    c("implicit_reward/None-policy", lambda: twin.implicit_reward(None, RC, 0.1), "policy_logps")
    c("implicit_reward/positive-ref", lambda: twin.implicit_reward(PC, [0.3, 0.7], 0.1), "ref_logps")
    c("implicit_reward/shape-mismatch", lambda: twin.implicit_reward(PC, [-1.0], 0.1), "shape", "ref_logps")
    c("implicit_reward/beta-0", lambda: twin.implicit_reward(PC, RC, 0), "beta")
    c("bt_probability/None-reward_1", lambda: twin.bt_probability(None, 0.5), "reward_1")
    c("bt_probability/str-reward_2", lambda: twin.bt_probability(0.5, "0.2"), "reward_2")
    c("bt_probability/nan-reward_1", lambda: twin.bt_probability([math.nan], [0.0]), "reward_1")
    c("bt_probability/complex-reward_2", lambda: twin.bt_probability(0.5, 0.2 + 1j), "reward_2")
    c(
        "bt_probability/shape-mismatch",
        lambda: twin.bt_probability([0.1, 0.2], [0.1, 0.2, 0.3]),
        "shape",
        "reward_2",
    )
    # paper_dpo_loss: index arrays
    P = twin.paper_dpo_loss  # noqa: N806
    c("paper_dpo_loss/float-indices", lambda: P(PI, REF, [0.0, 2.0], YL, 0.1), "yw_idxs")
    c("paper_dpo_loss/bool-index-array", lambda: P(PI, REF, np.array([True, False, True, False]), YL, 0.1),
      "yw_idxs")  # fmt: skip
    c("paper_dpo_loss/bool-index-tensor",
      lambda: P(PI, REF, YW, torch.tensor([False, True, False, True]), 0.1), "yl_idxs")  # fmt: skip
    c("paper_dpo_loss/uint8-index-tensors-work",
      lambda: P(PI, REF, torch.tensor(YW, dtype=torch.uint8), torch.tensor(YL, dtype=torch.uint8), 0.1),
      "yw_idxs", ok=_paper_ok(twin))  # fmt: skip
    c("paper_dpo_loss/out-of-range-index", lambda: P(PI, REF, YW, [1, 7], 0.1), "yl_idxs")
    c("paper_dpo_loss/negative-index", lambda: P(PI, REF, [-1, 2], YL, 0.1), "yw_idxs")
    c("paper_dpo_loss/0-d-pi_logps", lambda: P(-1.0, -1.2, [0], [0], 0.1), "pi_logps")
    c("paper_dpo_loss/2-d-indices", lambda: P(PI, REF, [[0], [2]], [[1], [3]], 0.1), "yw_idxs")
    c("paper_dpo_loss/None-yw_idxs", lambda: P(PI, REF, None, YL, 0.1), "yw_idxs")
    c("paper_dpo_loss/beta-0", lambda: P(PI, REF, YW, YL, 0.0), "beta")


_twin_cases("numpy_dpo", numpy_dpo)
_twin_cases("torch_dpo", torch_dpo)
case("numpy_dpo", "dpo_loss/torch-requires-grad-chosen",
     _five(numpy_dpo.dpo_loss, policy_chosen_logps=lambda: torch.tensor(PC, requires_grad=True)),
     "policy_chosen_logps")  # fmt: skip
case("numpy_dpo", "dpo_loss/torch-bf16-requires-grad-rejected",
     _five(numpy_dpo.dpo_loss,
           policy_rejected_logps=lambda: torch.tensor(PR, dtype=torch.bfloat16, requires_grad=True)),
     "policy_rejected_logps")  # fmt: skip
case("numpy_dpo", "dpo_loss/torch-bf16-chosen-works",
     _five(numpy_dpo.dpo_loss, policy_chosen_logps=lambda: torch.tensor(PC, dtype=torch.bfloat16)),
     "policy_chosen_logps", ok=_bf16_ok)  # fmt: skip

# ---------------------------------------------------------------- part 2: the tabular world

REF_P, REWARDS = [0.5, 0.3, 0.2], [0.0, 1.0, -1.0]
CHOSEN, REJECTED = [1, 0, 1, 2], [0, 2, 2, 0]
FAST_RLHF = dict(n_iterations=3, batch_size=16)


def _bandit():
    import dpo_teach.bandit as bandit

    return bandit


def _distribution_ok(expect_argmax: int | None = None, not_equal_to=None):
    def ok(result):
        p = np.asarray(getattr(result, "probs", result), dtype=np.float64)
        if not np.isfinite(p).all():
            return f"returned non-finite probabilities {p}"
        if abs(p.sum() - 1) > 1e-9 or (p < 0).any():
            return f"returned {p}, not a distribution"
        if expect_argmax is not None and p[expect_argmax] < 1 - 1e-9:
            return f"returned {p}; at beta -> 0 all mass belongs on answer {expect_argmax}"
        if not_equal_to is not None and np.allclose(p, not_equal_to, rtol=0, atol=1e-12):
            return f"returned ref_probs unchanged ({p}): the run did nothing"
        return None

    return ok


def _pairs_ok(n):
    def ok(result):
        chosen, rejected = (np.asarray(a) for a in result)
        if chosen.shape != (n,) or rejected.shape != (n,):
            return f"returned shapes {chosen.shape}, {rejected.shape}, expected ({n},)"
        if (chosen == rejected).any() or chosen.min() < 0 or max(chosen.max(), rejected.max()) > 2:
            return "returned pairs that compare an answer with itself or indices out of range"
        return None

    return ok


def _bandit_cases() -> None:
    b = _bandit
    c = lambda name, call, *w, **o: case("bandit", name, call, *w, **o)  # noqa: E731
    c("optimal_policy/ref-not-normalised", lambda: b().optimal_policy([30, 70], [0.0, 1.0], 1.0), "ref_probs")
    c("optimal_policy/ref-nan", lambda: b().optimal_policy([math.nan, 0.5], [0.0, 1.0], 1.0), "ref_probs")
    c("optimal_policy/ref-negative", lambda: b().optimal_policy([-0.2, 1.2], [0.0, 1.0], 1.0), "ref_probs")
    c("optimal_policy/rewards-wrong-length", lambda: b().optimal_policy(REF_P, [0.0, 1.0], 1.0), "rewards")
    c("optimal_policy/ref-scalar", lambda: b().optimal_policy(0.5, [0.0, 1.0], 1.0), "ref_probs")
    c("optimal_policy/beta-5e-324", lambda: b().optimal_policy(REF_P, REWARDS, 5e-324), "beta|scale",
      ok=_distribution_ok(expect_argmax=1))  # fmt: skip
    c("optimal_policy/beta-0", lambda: b().optimal_policy(REF_P, REWARDS, 0.0), "beta")
    c("expected_reward/probs-not-normalised", lambda: b().expected_reward([30, 70], [0.0, 1.0]), "probs")
    c("expected_reward/probs-nan", lambda: b().expected_reward([math.nan, 1.0], [0.0, 1.0]), "probs")
    c(
        "expected_reward/rewards-wrong-length",
        lambda: b().expected_reward([0.5, 0.5], [0.0, 1.0, 2.0]),
        "rewards",
    )
    c("expected_reward/probs-scalar", lambda: b().expected_reward(1.0, [0.0, 1.0]), "probs")
    c("kl_divergence/probs-not-normalised", lambda: b().kl_divergence([30, 70], [0.5, 0.5]), "probs")
    c("kl_divergence/ref-negative", lambda: b().kl_divergence([0.5, 0.5], [-0.5, 1.5]), "ref_probs")
    c("kl_divergence/wrong-length", lambda: b().kl_divergence(REF_P, [0.5, 0.5]), "ref_probs")
    c("kl_divergence/probs-scalar", lambda: b().kl_divergence(0.5, [0.5, 0.5]), "probs")
    c("total_variation/p-not-normalised", lambda: b().total_variation([30, 70], [0.5, 0.5]), "p")
    c("total_variation/q-nan", lambda: b().total_variation([0.5, 0.5], [math.nan, 0.5]), "q")
    c("total_variation/wrong-length", lambda: b().total_variation(REF_P, [0.5, 0.5]), "q")
    c("total_variation/q-scalar", lambda: b().total_variation([0.5, 0.5], 1.0), "q")
    S = lambda *a, **k: b().sample_preferences(*a, **k)  # noqa: E731, N806
    c("sample_preferences/n_pairs-0", lambda: S(REF_P, REWARDS, 0, seed=0), "n_pairs")
    c("sample_preferences/n_pairs-2.5", lambda: S(REF_P, REWARDS, 2.5, seed=0), "n_pairs")
    c("sample_preferences/n_pairs-str", lambda: S(REF_P, REWARDS, "10", seed=0), "n_pairs")
    c("sample_preferences/one-hot-ref", lambda: S([1.0, 0.0, 0.0], REWARDS, 10, seed=0), "ref_probs")
    c("sample_preferences/p_min-1e-8-works", lambda: S([1 - 2e-8, 1e-8, 1e-8], REWARDS, 1000, seed=0),
      "ref_probs", ok=_pairs_ok(1000), limit=5.0)  # fmt: skip
    c("sample_preferences/seed-str", lambda: S(REF_P, REWARDS, 10, seed="x"), "seed")
    fits = {
        "fit_dpo": lambda ch, rj, **k: b().fit_dpo(REF_P, ch, rj, 0.5, **k),
        "fit_reward_model": lambda ch, rj, **k: b().fit_reward_model(ch, rj, 3, **k),
    }
    for fname, fit in fits.items():
        c(f"{fname}/empty-pairs", lambda fit=fit: fit([], []), "chosen")
        c(f"{fname}/float-pairs", lambda fit=fit: fit([1.0, 0.0], [0.0, 2.0]), "chosen")
        c(f"{fname}/out-of-range", lambda fit=fit: fit([1, 0], [5, 2]), "rejected")
        c(f"{fname}/chosen-equals-rejected", lambda fit=fit: fit([1, 0], [1, 2]), "chosen|rejected|itself")
        c(f"{fname}/l2--1", lambda fit=fit: fit(CHOSEN, REJECTED, l2=-1.0), "l2")
        c(f"{fname}/l2-str", lambda fit=fit: fit(CHOSEN, REJECTED, l2="a"), "l2")
    c("fit_dpo/beta-5e-324", lambda: b().fit_dpo(REF_P, CHOSEN, REJECTED, 5e-324), "beta|scale",
      ok=_distribution_ok())  # fmt: skip
    R = lambda **k: b().fit_rlhf(REF_P, REWARDS, 0.5, **{**FAST_RLHF, **k})  # noqa: E731, N806
    c("fit_rlhf/rewards-1e160", lambda: b().fit_rlhf(REF_P, [0.0, 1e160, -1e160], 0.5, **FAST_RLHF),
      "rewards|scale", ok=_distribution_ok(not_equal_to=REF_P))  # fmt: skip
    c("fit_rlhf/batch_size-1-with-baseline", lambda: R(batch_size=1), "batch_size",
      ok=_distribution_ok(not_equal_to=REF_P))  # fmt: skip
    c("fit_rlhf/lr-str", lambda: R(lr="0.1"), "lr")
    c("fit_rlhf/clip_eps-2", lambda: R(clip_eps=2), "clip_eps")
    c("fit_rlhf/clip_eps-str", lambda: R(clip_eps="a"), "clip_eps")
    c("fit_rlhf/seed-str", lambda: R(seed="x"), "seed")
    c("fit_rlhf/n_iterations-0", lambda: R(n_iterations=0), "n_iterations")


_bandit_cases()

# ---------------------------------------------------------------- part 3: preference files

ROW = {"prompt": "The film", "chosen": " was great.", "rejected": " was dull."}
ROW_LINE = json.dumps(ROW)


def _load_bytes(fname: str, content: bytes | None, make_dir: bool = False):
    """Write ``content`` to ``fname`` in a fresh directory (None: no file) and load it."""

    def call():
        from dpo_teach.gpt2.data import load_preference_jsonl

        path = tmpdir() / fname
        if make_dir:
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        return load_preference_jsonl(path)

    return call


def _second_line(fname: str, line: str):
    """A valid row on line 1, ``line`` on line 2."""
    return _load_bytes(fname, (ROW_LINE + "\n" + line + "\n").encode("utf-8"))


def _bom_ok(rows):
    if rows != [ROW, ROW]:
        return f"read {rows!r}, expected the two rows"
    return None


def _data_cases() -> None:
    c = lambda name, call, *w, **o: case("data", "load_preference_jsonl/" + name, call, *w, **o)  # noqa: E731
    c("missing-path", _load_bytes("missing.jsonl", None), "missing.jsonl")
    c("a-directory", _load_bytes("a_dir.jsonl", None, make_dir=True), "a_dir.jsonl")
    c("empty-file", _load_bytes("empty.jsonl", b""), "empty.jsonl")
    c(
        "invalid-json",
        _second_line("broken.jsonl", '{"prompt": "The film", "chosen": '),
        "broken.jsonl",
        "line 2",
    )
    c(
        "non-object-line",
        _second_line("list_row.jsonl", '["The film", " good", " bad"]'),
        "list_row.jsonl",
        "line 2",
    )
    c("missing-key", _second_line("no_rejected.jsonl", json.dumps({"prompt": "P", "chosen": " a"})),
      "no_rejected.jsonl", "line 2", "rejected")  # fmt: skip
    c("non-string-value", _second_line("number.jsonl", json.dumps({**ROW, "chosen": 3})),
      "number.jsonl", "line 2", "chosen")  # fmt: skip
    c("empty-string", _second_line("empty_text.jsonl", json.dumps({**ROW, "rejected": ""})),
      "empty_text.jsonl", "line 2", "rejected")  # fmt: skip
    c("chosen-equals-rejected", _second_line("same.jsonl", json.dumps({**ROW, "rejected": ROW["chosen"]})),
      "same.jsonl", "line 2")  # fmt: skip
    dup = '{"prompt": "P", "chosen": " a", "chosen": " b", "rejected": " c"}'
    c("duplicate-key", _second_line("dup.jsonl", dup), "dup.jsonl", "line 2", "chosen")
    c(
        "100000-deep-nesting",
        _second_line("deep.jsonl", "[" * 100_000 + "]" * 100_000),
        "deep.jsonl",
        "line 2",
    )
    surrogate = '{"prompt": "P", "chosen": "\\ud800", "rejected": " b"}'  # the JSON escape, as text
    c("lone-surrogate", _second_line("surrogate.jsonl", surrogate), "surrogate.jsonl", "line 2")
    c("latin-1-bytes", _load_bytes("latin1.jsonl", (ROW_LINE + "\n" + json.dumps({**ROW, "chosen": " café"},
      ensure_ascii=False) + "\n").encode("latin-1")), "latin1.jsonl")  # fmt: skip
    c("utf-16", _load_bytes("utf16.jsonl", (ROW_LINE + "\n").encode("utf-16")), "utf16.jsonl")
    c("gzip-bytes", _load_bytes("rows.jsonl", gzip.compress((ROW_LINE + "\n").encode())), "rows.jsonl")
    bom = b"\xef\xbb\xbf" + (ROW_LINE + "\n" + ROW_LINE + "\n").encode()
    c("utf-8-bom-works", _load_bytes("bom.jsonl", bom), "bom.jsonl", ok=_bom_ok)


_data_cases()

# ---------------------------------------------------------------- part 3: the trainer


def _config(**fields):
    from dpo_teach.gpt2.trainer import DPOConfig

    return lambda: DPOConfig(**fields)


def _trainer(pairs=None, frozen=False, output_dir=None, **fields):
    from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

    policy, ref = tiny_gpt2(0), tiny_gpt2(0)
    if frozen:
        policy.requires_grad_(False)
    config = DPOConfig(batch_size=2, max_steps=1, progress=False, output_dir=output_dir, **fields)
    return DPOTrainer(policy, ref, toy_pairs(4) if pairs is None else pairs, config, PAD)


def _long_pairs():
    pairs = toy_pairs(4)
    pairs[2] = {"prompt_ids": [1] * 10, "chosen_ids": [2] * 20 + [PAD], "rejected_ids": [8, PAD]}
    return pairs  # pair 2: 31 tokens, tiny_gpt2 has n_positions 24


class _Planted:
    """Unpickling this runs ``open(marker, "w")``: a file appears if the loader runs code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        import builtins

        return (builtins.open, (self.marker, "w"))


_MARKERS: dict[str, Path] = {}


def _resume(kind: str):
    def call():
        out = tmpdir()
        path = out / "dpo_checkpoint.pt"
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "garbage":
            path.write_bytes(b"\x00\x01not a checkpoint\xff" * 64)
        else:
            marker = _MARKERS["pickle"] = out / "CODE_RAN_MARKER"
            torch.save({"step": 0, "policy": _Planted(str(marker))}, path)
        trainer = _trainer(output_dir=str(out))
        return trainer.train()

    return call


def _marker_absent():
    marker = _MARKERS.get("pickle")
    if marker is not None and marker.exists():
        return f"loading the checkpoint ran code: {marker.name} was created"
    return None


def _trainer_cases() -> None:
    c = lambda name, call, *w, **o: case("trainer", name, call, *w, **o)  # noqa: E731
    bad_fields = [("batch_size", 0), ("batch_size", -1), ("batch_size", 2.5), ("max_steps", 0),
                  ("learning_rate", math.nan), ("learning_rate", -1.0), ("beta", 0.0),
                  ("max_grad_norm", -1.0), ("warmup_steps", -1), ("log_every", 0), ("seed", -1)]  # fmt: skip
    for field, value in bad_fields:
        c(f"DPOConfig/{field}-{value}", _config(**{field: value}), field)
    c("DPOTrainer/no-pairs", lambda: _trainer(pairs=[]), "pairs")
    c("DPOTrainer/pair-longer-than-n_positions", lambda: _trainer(pairs=_long_pairs()), "pair 2|pairs[2]")
    c("DPOTrainer/frozen-policy", lambda: _trainer(frozen=True), "trainable|requires_grad")
    c("resume/empty-checkpoint", _resume("empty"), "dpo_checkpoint.pt")
    c("resume/garbage-checkpoint", _resume("garbage"), "dpo_checkpoint.pt")
    c("resume/planted-pickle-payload", _resume("pickle"), "dpo_checkpoint.pt", post=_marker_absent)


_trainer_cases()

# ---------------------------------------------------------------- part 3: loading a model

GPT2_VOCAB = {"<|endoftext|>": 0, **{ch: i + 1 for i, ch in enumerate("abcdefghijkl")}}  # 13 = tiny_gpt2's


def _write_gpt2_tokenizer_files(path: Path) -> None:
    (path / "vocab.json").write_text(json.dumps(GPT2_VOCAB))
    (path / "merges.txt").write_text("#version: 0.2\n")


def _model_dir(kind: str):
    def call():
        from dpo_teach.gpt2.models import load_pretrained

        path = tmpdir() / kind
        if kind == "bert_dir":
            from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

            config = BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=32)  # fmt: skip
            BertForMaskedLM(config).save_pretrained(path)
            vocab = path / "vocab.txt"
            vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmno"]))
            BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(path)
        elif kind == "no_tokenizer_dir":
            tiny_gpt2(0).save_pretrained(path)
        elif kind == "garbage_config_dir":
            path.mkdir()
            (path / "config.json").write_bytes(b"\x00{this is not json")
        elif kind == "corrupt_weights_dir":
            tiny_gpt2(0).save_pretrained(path)
            _write_gpt2_tokenizer_files(path)
            (path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
        elif kind == "empty_model_dir":
            path.mkdir()
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # its loggers write to the real stderr: keep the table clean
        try:
            return load_pretrained(str(path))
        finally:
            hf_logging.set_verbosity(verbosity)

    return call


def _model_cases() -> None:
    c = lambda name, call, *w, **o: case("models", "load_pretrained/" + name, call, *w, **o)  # noqa: E731
    c("missing-dir", _model_dir("missing_model_dir"), "missing_model_dir")
    c("empty-dir", _model_dir("empty_model_dir"), "empty_model_dir")
    c("bert-checkpoint", _model_dir("bert_dir"), "bert_dir")
    c("no-tokenizer-files", _model_dir("no_tokenizer_dir"), "no_tokenizer_dir")
    c("garbage-config.json", _model_dir("garbage_config_dir"), "config.json")
    c("corrupt-model.safetensors", _model_dir("corrupt_weights_dir"), "model.safetensors")


_model_cases()

# ---------------------------------------------------------------- the CLI


def _cli(*args, output_dir: str | None = "run"):
    """``finetune.main`` with ``--fast`` and an output dir in a fresh temporary directory."""

    def call():
        from dpo_teach.finetune import main

        argv = ["--fast", "--no-progress", "--device", "cpu"]
        if output_dir is not None:
            argv += ["--output-dir", str(tmpdir() / output_dir)]
        return main(argv + [a() if callable(a) else a for a in args])

    return call


def _a_file() -> str:
    path = tmpdir() / "a_file.txt"
    path.write_text("not a directory\n")
    return str(path)


def _finetune_cases() -> None:
    c = lambda name, call, *w: case("finetune", "main/" + name, call, *w, expect="cli")  # noqa: E731
    for value in ("nan", "inf", "-1", "abc"):
        c(f"--beta-{value}", _cli("--beta", value), "--beta")
    for label, value in (("-1", "-1"), ("2**70", str(2**70)), ("1e14", "100000000000000")):
        c(f"--seed-{label}", _cli("--seed", value), "--seed")
    for value in ("-1", "0"):
        c(f"--threads-{value}", _cli("--threads", value), "--threads")
    c("--output-dir-is-a-file", _cli("--output-dir", _a_file, output_dir=None), "a_file.txt")
    c(
        "--output-dir-below-a-file",
        _cli("--output-dir", lambda: _a_file() + "/sub", output_dir=None),
        "a_file.txt",
    )
    c("--preset-huge", _cli("--preset", "huge"), "--preset")
    c("--device-tpu", _cli("--device", "tpu"), "--device")


_finetune_cases()

# ---------------------------------------------------------------- round 3 (issue 23): what surrounds the fine-tune

_USER_FILES: dict[str, dict[Path, bytes]] = {}  # case -> files the user owned before the call


def _user_dir(kind: str) -> Path:
    """A folder holding a user's own files (not a run directory): what a careless --output-dir hits."""
    out = tmpdir() / "my_folder"
    layout = {"tmp": [".draft.notes.tmp"], "policy": ["policy/thesis.txt"], "sft": ["sft/notes.md"],
              "plain": ["notes.txt"]}[kind]  # fmt: skip
    files = {}
    for rel in layout:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"the user's {rel}\n".encode())
        files[path] = path.read_bytes()
    _USER_FILES[kind] = files
    return out


def _user_files_intact(kind: str):
    def post():
        for path, content in _USER_FILES.get(kind, {}).items():
            if not path.is_file() or path.read_bytes() != content:
                return f"the user's file {path.name} was deleted or changed"
        return None

    return post


def _open_user_dir(kind: str):
    def call():
        from dpo_teach.gpt2.rundir import RunDir

        return RunDir(_user_dir(kind), {"preset": "tiny", "seed": 0}, ("sft", "pairs"))

    return call


_TOKENIZER = []


def _tokenizer():
    if not _TOKENIZER:
        from dpo_teach.gpt2 import reviews
        from dpo_teach.gpt2.tokenizer import train_tokenizer

        _TOKENIZER.append(train_tokenizer(reviews.corpus(200, 0)))
    return _TOKENIZER[0]


def _rows_file(fname: str, text: str) -> Path:
    path = tmpdir() / fname
    path.write_text(text, encoding="utf-8")
    return path


def _load_rows(fname: str, text: str, **options):
    def call():
        from dpo_teach.gpt2.hub.sources import load_rows

        return load_rows(_rows_file(fname, text), **options)

    return call


DISTINCT = [{"prompt": f"the film {w} was", "chosen": " great.", "rejected": " dull."}
            for w in ("plot", "cast", "score", "script", "ending", "music", "pace", "set", "light", "story")]  # fmt: skip


def _duplicates_held_out():
    """20 rows: each of 10 distinct rows twice; the held-out pairs must not also be trained on."""
    from dpo_teach.gpt2.hub.real_world import Inputs, dataset_pairs

    path = _rows_file("dup.jsonl", "".join(json.dumps(r) + "\n" for r in DISTINCT * 2))
    (train, _), (held, _) = dataset_pairs(Inputs(dataset=str(path)), _tokenizer(), 64, 4, 0, log=lambda *a: None)
    return train, held


def _no_leak(result):
    train, held = result
    seen = {json.dumps(p, sort_keys=True) for p in train}
    leaked = [p for p in held if json.dumps(p, sort_keys=True) in seen]
    return f"{len(leaked)} of {len(held)} held-out pairs are also training pairs" if leaked else None


def _tokenized(rows):
    def call():
        from dpo_teach.gpt2.hub.preference_data import tokenize_preferences

        return tokenize_preferences(rows, _tokenizer(), 64)

    return call


def _warns(*words):
    def ok(data):
        said = " ".join(getattr(data, "warnings", None) or [])
        missing = _missing_words(said, words)
        return f"no warning naming {missing} (warnings: {said or 'none'})" if missing else None

    return ok


def _lengths_call(twin, lengths):
    return lambda: twin.length_normalized_dpo_loss(PC, PR, RC, RR, lengths(), [3, 4], 0.1)


def _remote_code_dir() -> Path:
    """A save_pretrained folder whose config maps the model to a Python file in it (auto_map)."""
    path = tmpdir() / "remote_code_model"
    tiny_gpt2(0).save_pretrained(path)
    _write_gpt2_tokenizer_files(path)
    config = json.loads((path / "config.json").read_text())
    config["model_type"] = "custom_gpt"
    config["auto_map"] = {"AutoConfig": "custom.Config", "AutoModelForCausalLM": "custom.Model",
                          "AutoModelForSequenceClassification": "custom.Model"}  # fmt: skip
    (path / "config.json").write_text(json.dumps(config))
    marker = _MARKERS["remote"] = path.parent / "REMOTE_CODE_RAN"
    (path / "custom.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('ran')\n")
    return path


def _remote_code(load: str):
    def call():
        from transformers.utils import logging as hf_logging

        path, stdin = _remote_code_dir(), sys.stdin
        sys.stdin = io.StringIO("y\n" * 4)  # a user who answers "y" to transformers' prompt
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            if load == "causal_lm":
                from dpo_teach.gpt2.models import load_pretrained

                return load_pretrained(str(path))
            from dpo_teach.gpt2.hub.judge import load_reward_model

            return load_reward_model(str(path))
        finally:
            sys.stdin = stdin
            hf_logging.set_verbosity(verbosity)

    return call


def _no_remote_code():
    marker = _MARKERS.get("remote")
    if marker is not None and marker.exists():
        marker.unlink()
        return "the checkpoint's own Python file ran (trust_remote_code was not False)"
    return None


def _dataset_run_twice():
    """A --dataset run, then the same output dir with the dataset file's content changed."""
    from dpo_teach.finetune import main

    data, out = tmpdir() / "prefs.jsonl", tmpdir() / "run"
    data.write_text("".join(json.dumps(r) + "\n" for r in DISTINCT))
    argv = ["--fast", "--no-progress", "--device", "cpu", "--dataset", str(data), "--sft-steps", "0",
            "--output-dir", str(out)]  # fmt: skip
    main(argv)
    changed = [{**r, "chosen": r["rejected"], "rejected": r["chosen"]} for r in DISTINCT]  # labels swapped
    data.write_text("".join(json.dumps(r) + "\n" for r in changed))
    return main(argv)


def _symlink_loop() -> str:
    path = tmpdir() / "loop.jsonl"
    path.symlink_to(path)
    return str(path)


def _round3_cases() -> None:
    for kind in ("tmp", "policy", "sft", "plain"):
        case("run_dir", f"RunDir/user-folder-with-{kind}", _open_user_dir(kind), "--output-dir",
             post=_user_files_intact(kind))  # fmt: skip
    case("run_dir", "main/--output-dir-a-user-folder", _cli("--output-dir", lambda: str(_user_dir("policy")),
         output_dir=None), "--output-dir", expect="cli", post=_user_files_intact("policy"))  # fmt: skip
    case("run_dir", "main/--dataset-content-changed-on-resume", _dataset_run_twice, "--dataset", "prefs.jsonl",
         expect="cli", limit=8 * TIME_LIMIT_S)  # fmt: skip
    c = lambda name, call, *w, **o: case("hub_data", name, call, *w, **o)  # noqa: E731
    deep = "[" * 100_000 + "]" * 100_000
    c("load_rows/100000-deep-.json", _load_rows("deep.json", deep), "deep.json")
    c("load_rows/100000-deep-.jsonl-line-2", _load_rows("deep.jsonl", json.dumps(ROW) + "\n" + deep + "\n"),
      "deep.jsonl", "line 2")  # fmt: skip
    columns = json.dumps({k: [r[k] for r in DISTINCT] for k in ("prompt", "chosen", "rejected")}, indent=1)
    c("load_rows/.json-one-object-of-columns", _load_rows("columns.json", columns), "columns.json", "array")
    rows = "".join(json.dumps(r) + "\n" for r in DISTINCT)
    c("load_rows/split-test-of-a-.jsonl-file", _load_rows("rows.jsonl", rows, split="test"), "rows.jsonl",
      "test")  # fmt: skip
    c("dataset_pairs/duplicate-rows-held-out", _duplicates_held_out, ok=_no_leak)
    repeated = [{**r, "chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]}
                for r in DISTINCT]  # fmt: skip
    c("tokenize_preferences/prompt-repeated-in-completions", _tokenized(repeated), ok=_warns("prompt"))
    question = [{"question": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in DISTINCT]
    c("tokenize_preferences/prompt-column-named-question", _tokenized(question), ok=_warns("question"))
    for label, lengths in (("bool-array", lambda: np.array([True, True])), ("bool-list", lambda: [True, 2]),
                           ("bool-tensor", lambda: torch.tensor([True, True]))):  # fmt: skip
        for area, twin in (("numpy_variants", numpy_variants), ("torch_variants", torch_variants)):
            case(area, f"length_normalized_dpo_loss/{label}-lengths", _lengths_call(twin, lengths),
                 "chosen_lengths")  # fmt: skip
    for load in ("causal_lm", "reward_model"):
        case("remote_code", f"{load}/auto_map-code-with-y-on-stdin", _remote_code(load),
             "trust_remote_code|custom code", post=_no_remote_code)  # fmt: skip
    f = lambda name, call, *w: case("finetune_inputs", "main/" + name, call, *w, expect="cli")  # noqa: E731
    f("--completions-per-prompt-1000000", _cli("--completions-per-prompt", "1000000"),
      "--completions-per-prompt")  # fmt: skip
    f("--dataset-a-symlink-loop", _cli("--dataset", _symlink_loop), "symbolic link")
    f("--model-a-symlink-loop", _cli("--model", _symlink_loop), "symbolic link")
    f("--dataset-split-of-a-.jsonl-file", _cli("--dataset", lambda: str(_rows_file("d.jsonl", rows)),
      "--dataset-split", "test"), "--dataset-split|split")  # fmt: skip


_round3_cases()

# ---------------------------------------------------------------- the exercise checks


def _exercises():
    from dpo_teach import exercises

    return exercises


def _exits(*args):
    sys.exit()


def _raises_system_exit(*args):
    raise SystemExit("bye")


def _wrong_shape(*args):
    return np.zeros(len(args[0]) + 1)


def _nan_policy(ref_probs, rewards, beta):
    return np.full(len(ref_probs), np.nan)


def _exercise_cases() -> None:
    ex = _exercises
    c = lambda name, call, *w: case("exercises", name, call, *w, expect="assert")  # noqa: E731
    c("check_dpo_loss/calls-sys.exit", lambda: ex().check_dpo_loss(_exits), "sys.exit")
    c(
        "check_dpo_loss/raises-SystemExit",
        lambda: ex().check_dpo_loss(_raises_system_exit),
        "SystemExit|sys.exit",
    )
    c("check_dpo_loss/placeholder", lambda: ex().check_dpo_loss(...), "placeholder")
    c("check_dpo_loss_value/placeholder", lambda: ex().check_dpo_loss_value(...), "placeholder")
    c("check_dpo_loss_value/string-answer", lambda: ex().check_dpo_loss_value("0.6"), "string")
    c("check_dpo_loss/string-answer", lambda: ex().check_dpo_loss("def dpo_loss(...): ..."), "function")
    c("check_implicit_reward/None", lambda: ex().check_implicit_reward(None, 0.01), "r_hat_w", "None")
    c("check_dpo_loss/None", lambda: ex().check_dpo_loss(None), "function")
    c("check_dpo_loss/wrong-shape", lambda: ex().check_dpo_loss(_wrong_shape), "shape")
    c("check_optimal_policy/nan-on-every-table", lambda: ex().check_optimal_policy(_nan_policy), "NaN")


_exercise_cases()

# ---------------------------------------------------------------- running and classifying one case


class _TooSlow(BaseException):  # BaseException: an `except Exception` in the code under test won't eat it
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the case after ``seconds`` (SIGALRM; main thread on POSIX only, else no limit:
    the elapsed time is still checked afterwards)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _one_line(text: str, limit: int = 170) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _missing_words(text: str, words: tuple[str, ...]) -> list[str]:
    """The expected words (whole words, any case; "a|b" = either) that ``text`` lacks."""
    missing = []
    for word in words:
        alternatives = word.split("|")
        if not any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text, re.IGNORECASE) for a in alternatives):
            missing.append(word)
    return missing


def _is_own(err: BaseException, kind: type) -> bool:
    """``err`` is exactly ``kind`` or the package's own subclass of it (a UnicodeDecodeError or
    json.JSONDecodeError is a ValueError too, but a leaked internal one: a crash)."""
    return type(err) is kind or (isinstance(err, kind) and type(err).__module__.startswith("dpo_teach"))


def _summary(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_summary(v) for v in value) + ")"
    if isinstance(value, (np.ndarray, torch.Tensor)):
        arr = value.detach().float().cpu().numpy() if isinstance(value, torch.Tensor) else value
        return f"array{tuple(arr.shape)} {np.array2string(np.asarray(arr), precision=4, threshold=6)}"
    return _one_line(repr(value), 80)


def _classify_exception(case: Case, err: BaseException, stderr: str) -> Outcome:
    name = type(err).__name__
    if case.expect == "cli":
        if not isinstance(err, SystemExit):
            return Outcome("crash", f"{name} escaped main(): {_one_line(err)}")
        if "Traceback" in stderr:
            return Outcome("crash", f"SystemExit({err.code!r}) after a traceback on stderr")
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        errors = [i for i, line in enumerate(lines) if "error:" in line]
        if err.code != 2:
            return Outcome("unclear", f"SystemExit({err.code!r}), expected 2; stderr: {_one_line(stderr)}")
        if not errors:
            return Outcome("unclear", f"no 'error:' line on stderr: {_one_line(stderr) or '(empty)'}")
        if len(errors) != 1 or errors[0] != len(lines) - 1:
            return Outcome("unclear", f"multi-line error on stderr: {_one_line(stderr)}")
        missing = _missing_words(lines[-1], case.words)
        if missing:
            return Outcome("unclear", f"{_one_line(lines[-1])} (missing {', '.join(map(repr, missing))})")
        return Outcome("clear", _one_line(lines[-1]))
    kind = ValueError if case.expect == "value" else AssertionError
    if not _is_own(err, kind):
        return Outcome("crash", f"{name}: {_one_line(err)}")
    missing = _missing_words(str(err), case.words)
    if missing:
        return Outcome("unclear", f"{name}: {_one_line(err)} (missing {', '.join(map(repr, missing))})")
    return Outcome("clear", f"{name}: {_one_line(err)}")


def run_case(case: Case) -> Outcome:
    """Run one case quietly (warnings caught, stdout and stderr captured) and classify it."""
    out, err_text = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with (
            _time_limit(case.limit),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err_text),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore")
            result = case.call()
    except _TooSlow:
        outcome = Outcome("crash", f"too slow: still running after {case.limit:g} s")
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001 - SystemExit and RecursionError are outcomes too
        outcome = _classify_exception(case, err, err_text.getvalue())
    else:
        if case.ok is not None:
            problem = case.ok(result)
            outcome = Outcome("clear", "works: returned a correct result") if problem is None else Outcome(
                "silent", problem)  # fmt: skip
        elif case.expect == "cli":
            outcome = Outcome("silent", "main() ran instead of refusing the arguments")
        else:
            outcome = Outcome("silent", f"returned {_summary(result)}")
    elapsed = time.perf_counter() - start
    if elapsed > case.limit and outcome.kind != "crash":
        outcome = Outcome(
            "crash", f"too slow: {elapsed:.1f} s > {case.limit:g} s ({outcome.kind}: {outcome.detail})"
        )
    if case.post is not None:
        problem = case.post()
        if problem is not None:
            outcome = Outcome("silent", f"{problem} ({outcome.kind}: {outcome.detail})")
    return outcome


# ---------------------------------------------------------------- pytest: one test per case

try:
    import pytest
except ImportError:  # script mode without pytest installed
    pytest = None

if pytest is not None:

    @pytest.mark.parametrize("bad_input", CASES, ids=[c.id for c in CASES])
    def test_bad_input_is_clear(bad_input: Case):
        outcome = run_case(bad_input)
        assert outcome.kind == "clear", f"{outcome.kind}: {outcome.detail}"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


# ---------------------------------------------------------------- script: the count table

KINDS = ("clear", "silent", "crash", "unclear")


def main(argv: list[str]) -> int:
    """Print the count table and every non-clear case (``-v``: every case)."""
    verbose = "-v" in argv
    only = [a for a in argv if not a.startswith("-")]  # AREA names: run only those areas
    cases = [c for c in CASES if not only or c.area in only]
    start = time.perf_counter()
    results = [(c, run_case(c)) for c in cases]
    seconds = time.perf_counter() - start
    areas = list(dict.fromkeys(c.area for c in cases))
    width = max(len(a) for a in areas + ["overall"])
    header = f"{'area':<{width}}  {'tried':>5}  " + "  ".join(f"{k:>7}" for k in KINDS)
    print(header)
    print("-" * len(header))

    def row(label, subset):
        counts = [sum(o.kind == k for _, o in subset) for k in KINDS]
        print(f"{label:<{width}}  {len(subset):>5}  " + "  ".join(f"{n:>7}" for n in counts))

    for area in areas:
        row(area, [(c, o) for c, o in results if c.area == area])
    print("-" * len(header))
    row("overall", results)
    bad = [(c, o) for c, o in results if o.kind != "clear" or verbose]
    n_bad = sum(o.kind != "clear" for _, o in results)
    print(f"\n{n_bad} not clear ({seconds:.1f} s in all)" + (":" if bad else ""))
    for c, o in bad:
        print(f"  {o.kind:<7} {c.id}: {o.detail}")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
