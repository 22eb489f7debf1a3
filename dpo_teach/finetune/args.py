"""The command line of ``python -m dpo_teach.finetune``: every flag, its type and its range.

Bad input is one ``error:`` line and exit code 2 (argparse's way), before any work starts.
"""

from __future__ import annotations

import argparse
import math

from ..gpt2.config import add_loss_arguments
from ..gpt2.hub.real_world import add_input_arguments
from ..gpt2.recipe import DEFAULT_BETA
from .train_args import add_training_arguments

__all__ = ["MAX_SEED", "number_type", "build_parser", "check_rounds_fit"]

MAX_SEED = 2**32 - 1  # torch, numpy and random all take it; the trainer adds epoch offsets below 2**63


def number_type(kind, what: str, ok):
    """An argparse type: a finite ``kind`` for which ``ok(value)`` holds, else ``what`` is said."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected {what}")
        return value

    return parse


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's help shows its default, except where there is none to show."""

    def _get_help_string(self, action):
        return action.help if action.default in (None, False) else super()._get_help_string(action)


def build_parser(description: str) -> argparse.ArgumentParser:
    """The fine-tune's parser: model, device, beta, seed, size, output, threads, the loss, rounds."""
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.finetune", description=description, formatter_class=_Help
    )
    parser.add_argument("--preset", choices=("tiny", "base", "small"), default="tiny",
                        help="model and run size: tiny (CPU, about a minute), base (4 x 256, CPU, "
                             "13-15 min) or small (GPT-2 124M shape, GPU); with --model, the run's "
                             "sizes only")  # fmt: skip
    parser.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                        help="start from a causal-LM checkpoint (from_pretrained: a save_pretrained "
                             "directory or a hub name such as gpt2) instead of a preset")  # fmt: skip
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: cuda when torch sees a GPU, else cpu")  # fmt: skip
    parser.add_argument("--beta", type=number_type(float, "a finite number > 0 (e.g. 2.0)", lambda b: b > 0),
                        default=DEFAULT_BETA,
                        help="KL strength: larger keeps the policy closer to the reference")  # fmt: skip
    seed_type = number_type(int, f"an integer in [0, {MAX_SEED}]", lambda n: 0 <= n <= MAX_SEED)
    parser.add_argument("--seed", type=seed_type, default=0,
                        help="one seed for data, initialisation, sampling and batch order")  # fmt: skip
    parser.add_argument("--fast", action="store_true", help="a much smaller run (tests, smoke)")
    parser.add_argument("--output-dir", default=None,
                        help="where metrics.json, plots and resumable state go (default "
                             "runs/finetune-<preset>-seed<N>, plus -rounds<N> for online DPO)")  # fmt: skip
    at_least_one = number_type(int, "an integer >= 1", lambda n: n >= 1)
    parser.add_argument("--threads", type=at_least_one, default=None,
                        help="torch CPU threads (default: 1 for models < 2M parameters on CPU, "
                             "else torch's)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument("--allow-slow", action="store_true",
                        help="run --preset small on a CPU anyway (about 15 s a step: hours)")  # fmt: skip
    parser.add_argument("--rounds", type=at_least_one, default=1, metavar="N",
                        help="online DPO: N rounds of sampling from the current policy, labelling by the "
                             "true reward and DPO (reference: the SFT model), splitting the offline "
                             "run's prompts and steps; 1 = offline DPO")  # fmt: skip
    add_loss_arguments(parser, number_type(float, "a finite number >= 0", lambda x: x >= 0))
    add_input_arguments(parser, at_least_one)
    add_training_arguments(parser, number_type)  # issue 28: --learning-rate ... --lora (train_args.py)
    return parser


def check_rounds_fit(parser, rounds: int, sizes) -> None:
    """``--rounds`` splits the run's training prompts and DPO steps: each round needs at least one
    of each, else one ``error:`` line (``parser.error``) before anything runs."""
    if rounds > min(sizes.n_train_prompts, sizes.dpo_steps):
        parser.error(f"--rounds {rounds} is more than this run's {sizes.dpo_steps} DPO steps (or "
                     f"{sizes.n_train_prompts} prompts): each round needs at least one; "
                     "use fewer rounds")  # fmt: skip
