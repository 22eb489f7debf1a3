"""The fine-tune's inputs beyond the review world: prompts, a judge, or a preference dataset.

:class:`Inputs` holds the command line's choices (``--prompts``, ``--reward-model``, ``--dataset``
...); its defaults are the offline experiment, whose stages then run exactly as before. The
functions below are what :mod:`dpo_teach.gpt2.stages` and :mod:`dpo_teach.finetune` call for
the real-world path (Sec. 6.1 of arXiv:2305.18290: IMDb prefixes as prompts, a sentiment
classifier as the judge; or an existing preference dataset in one of TRL's formats):

* :func:`load_judge`: the true reward (review world, no reward model) or a reward model;
* :func:`pair_rows`: K completions per prompt sampled from the reference and labelled by the
  judge (:func:`~.judge.sample_and_label`), prompts too long for the model dropped and counted;
* :func:`dataset_pairs`: a preference dataset tokenised (:mod:`.preference_data`), with its
  held-out pairs: an evaluation split, or a seeded hold-out of 10 % of the pairs (at most
  ``n_eval``).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
from pathlib import Path

__all__ = ["Inputs", "DEFAULT_MAX_LENGTH", "MAX_NEW_TOKENS", "load_judge", "pair_rows", "dataset_pairs",
           "max_length_for", "add_input_arguments", "inputs_from_args"]  # fmt: skip

DEFAULT_MAX_LENGTH = 1024  # tokens of prompt + completion, as TRL's DPOConfig.max_length
MAX_NEW_TOKENS = 32  # tokens sampled per completion (pairs and evaluation)
HOLDOUT_SHARE = 0.1  # without an eval split, this share of a dataset's pairs is held out
MAX_COMPLETIONS_PER_PROMPT = 16  # K: the paper samples 4; 16 already gives 120 pairs a prompt (all)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Where the prompts, the labels and the pairs come from; the defaults are the review world."""

    prompts: str = "reviews"  # the review world, a .txt/.jsonl/.json/.parquet file, or a hub dataset
    prompt_column: str | None = None  # the text column (None: "prompt", else "text")
    prompt_split: str = "train"  # the split of a hub dataset or a save_to_disk DatasetDict
    prompts_config: str | None = None  # the hub dataset's configuration
    prompt_tokens: tuple[int, int] | None = None  # cut each prompt to N tokens, N drawn in [lo, hi]
    reward_model: str | None = None  # a sequence classifier as the judge (None: the true reward)
    reward_label: str | None = None  # the classifier's output to use (None: the positive one)
    reward_batch_size: int = 32  # texts per forward pass of the reward model
    labeling: str = "better"  # better: the higher score is chosen; bt: Bradley-Terry draw (Eq. 1)
    completions_per_prompt: int = 2  # K samples per prompt (the paper: 4)
    pairs: str = "all"  # all: every pair of the K samples (the paper: 6 of 4); best-worst: one
    sft_steps: int | None = None  # None: the preset's (0 with a dataset); 0 skips SFT
    dataset: str | None = None  # a preference dataset instead of sampling and judging
    dataset_split: str = "train"
    dataset_config: str | None = None
    dataset_eval_split: str | None = None  # None: a seeded hold-out of the pairs
    max_rows: int | None = None  # read at most this many rows of the dataset or prompt source
    max_length: int | None = None  # None: DEFAULT_MAX_LENGTH, capped at the model's positions

    def changed(self) -> dict:
        """The fields that differ from the defaults (for ``run_settings.json`` and ``metrics.json``;
        empty for the offline experiment, so its records are as before)."""
        plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731  (as JSON reads it back)
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}  # fmt: skip

    @property
    def exact_reward(self) -> bool:
        """True when the review world's exact reward judges the run (so it is also the evaluation)."""
        return self.dataset is None and self.prompts == "reviews" and self.reward_model is None

    def check(self) -> None:
        """``ValueError`` for combinations that cannot run (the CLI says them as one ``error:`` line)."""
        from .judge import LABELINGS, PAIRINGS

        if self.labeling not in LABELINGS or self.pairs not in PAIRINGS:
            raise ValueError(f"labeling must be one of {LABELINGS} and pairs one of {PAIRINGS}")
        k, most = self.completions_per_prompt, MAX_COMPLETIONS_PER_PROMPT
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= most:
            raise ValueError(f"--completions-per-prompt must be an integer in [2, {most}] (a pair needs two "
                             f"completions; {most} already gives {most * (most - 1) // 2} pairs a prompt "
                             f"with --pairs all), got {k!r}")  # fmt: skip
        if self.dataset is not None and self.prompts != "reviews":
            raise ValueError("--dataset and --prompts are two sources of training data; pass one of them")
        if self.prompts != "reviews" and self.reward_model is None:
            raise ValueError(f"--prompts {self.prompts} has no exact reward to label the pairs with; pass a "
                             "judge with --reward-model (e.g. lvwerra/distilbert-imdb)")  # fmt: skip
        if self.prompts == "reviews" and self.prompt_tokens is not None:
            raise ValueError("--prompt-tokens cuts the texts of --prompts SOURCE; the review world's "
                             "prompts are already openings")  # fmt: skip
        if self.reward_label is not None and self.reward_model is None:
            raise ValueError("--reward-label names an output of --reward-model; pass --reward-model too")
        for flag, source in (("--dataset", self.dataset), ("--prompts", self.prompts)):  # now, not after SFT
            path = Path(str(source)).expanduser()
            if source is not None and path.is_symlink() and not path.exists():
                raise ValueError(f"{flag} {source} is a symbolic link that leads nowhere (a loop, or its "
                                 "target is missing); point it at the data or pass the file itself")  # fmt: skip
        for flag, source, split in (("--dataset-split", self.dataset, self.dataset_split),
                                    ("--dataset-eval-split", self.dataset, self.dataset_eval_split),
                                    ("--prompt-split", self.prompts, self.prompt_split)):  # fmt: skip
            if split not in (None, "train") and source is not None and Path(source).expanduser().is_file():
                raise ValueError(f"{flag} {split} names a split, but {source} is one file, which has none; "
                                 "drop it: the fine-tune holds out a seeded share of the file's rows and "
                                 "logs which (or pass a hub dataset or save_to_disk directory with that "
                                 "split)")  # fmt: skip


def max_length_for(inputs: Inputs, model) -> int:
    """``--max-length`` (default :data:`DEFAULT_MAX_LENGTH`), capped at the model's positions."""
    from ..logprobs import max_positions

    limit = max_positions(model)
    wanted = inputs.max_length or DEFAULT_MAX_LENGTH
    return min(wanted, limit) if limit else wanted


def load_judge(inputs: Inputs, device="cpu"):
    """``texts -> scores``: the reward model of ``--reward-model``, else the review world's exact
    reward (:func:`~.judge.true_reward`)."""
    from .judge import load_reward_model, true_reward

    if inputs.reward_model is None:
        return true_reward
    return load_reward_model(inputs.reward_model, inputs.reward_label, device, inputs.reward_batch_size)


def pair_rows(ref_model, tokenizer, prompts, score, inputs: Inputs, seed: int, log=print) -> list[dict]:
    """``prompt``/``chosen``/``rejected`` rows: K completions per prompt from ``ref_model``, judged by
    ``score`` and labelled. Prompts that leave no room for :data:`MAX_NEW_TOKENS` new tokens in the
    model's positions are dropped first (and counted in the log). With the defaults (K = 2, all
    pairs, the true reward) the rows are :func:`~.data.sample_preference_pairs`'s."""
    from ..data import encode_prompts
    from ..logprobs import max_positions
    from .judge import sample_and_label

    limit = max_positions(ref_model)
    if limit is not None:
        ids = encode_prompts(tokenizer, prompts)
        kept = [p for p, i in zip(prompts, ids) if len(i) + MAX_NEW_TOKENS <= limit]
        if len(kept) < len(prompts):
            log(f"      dropped {len(prompts) - len(kept)} of {len(prompts)} prompts longer than "
                f"{limit - MAX_NEW_TOKENS} tokens (model: {limit}; see --prompt-tokens)")  # fmt: skip
        if not kept:
            raise ValueError(f"every prompt is longer than {limit - MAX_NEW_TOKENS} tokens, so no completion "
                             "fits the model; cut them with --prompt-tokens (e.g. 2-8)")  # fmt: skip
        prompts = kept
    k = inputs.completions_per_prompt
    n_pairs = len(prompts) * (k * (k - 1) // 2 if inputs.pairs == "all" else 1)
    log(f"      sampling {k} completions for each of {len(prompts)} prompts ({k * len(prompts)} samples of "
        f"<= {MAX_NEW_TOKENS} tokens -> at most {n_pairs} pairs)")  # fmt: skip
    return sample_and_label(ref_model, tokenizer, prompts, score, k, inputs.labeling, inputs.pairs, seed=seed,
                            max_new_tokens=MAX_NEW_TOKENS)  # fmt: skip


def dataset_pairs(inputs: Inputs, tokenizer, max_length: int, n_eval: int, seed: int, log=print):
    """``(train, held_out)``, each ``(token_pairs, prompt_texts)``: the dataset read and tokenised
    (:func:`~.preference_data.load_preference_data`: duplicate pairs dropped before the split, its
    summary and warnings logged) and the pairs held out for evaluation: the first ``n_eval`` of
    ``--dataset-eval-split`` (training pairs equal to one of them dropped), else a seeded
    ``min(n_eval, 10 %)`` of the pairs (at least one; the rest train). The log names the rows held out."""
    from .preference_data import load_preference_data

    def read(split):
        data = load_preference_data(inputs.dataset, tokenizer, split, inputs.dataset_config, max_length,
                                    inputs.max_rows)  # fmt: skip
        log(f"      {inputs.dataset} [{split}]: {data.summary()}")
        for warning in data.warnings:
            log(f"      warning: {warning}")
        return data

    data = read(inputs.dataset_split)
    if inputs.dataset_eval_split is not None:
        held = read(inputs.dataset_eval_split)
        n_held = min(n_eval, len(held.pairs))
        held_keys = {_pair_key(p) for p in held.pairs[:n_held]}
        train = [i for i, p in enumerate(data.pairs) if _pair_key(p) not in held_keys]
        if len(train) < len(data.pairs):
            log(f"      dropped {len(data.pairs) - len(train)} training pairs that are also held out")
        log(f"      held out rows {_rows(held.rows[:n_held])} of [{inputs.dataset_eval_split}]")
        return ([data.pairs[i] for i in train], [data.prompts[i] for i in train]), (
            held.pairs[:n_held], held.prompts[:n_held])  # fmt: skip
    n = len(data.pairs)
    n_held = min(n_eval, max(1, int(HOLDOUT_SHARE * n))) if n >= 2 else 0
    if n_held == 0:
        raise ValueError(f"{inputs.dataset}: only {n} pair is left, none to hold out for evaluation; pass "
                         "more rows or an evaluation split (--dataset-eval-split)")  # fmt: skip
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held, train = sorted(order[:n_held]), sorted(order[n_held:])
    log(f"      held out {n_held} of {n} pairs for evaluation (seeded by --seed): rows "
        f"{_rows([data.rows[i] for i in held])} of {inputs.dataset} (0-based, in file order)")  # fmt: skip
    pick = lambda idx: ([data.pairs[i] for i in idx], [data.prompts[i] for i in idx])  # noqa: E731
    return pick(train), pick(held)


def _pair_key(pair: dict) -> tuple:
    return tuple(tuple(pair[k]) for k in ("prompt_ids", "chosen_ids", "rejected_ids"))


def _rows(indices, shown: int = 12) -> str:
    text = ", ".join(str(i) for i in indices[:shown])
    return text + (f" and {len(indices) - shown} more" if len(indices) > shown else "")


def add_input_arguments(parser, at_least_one) -> None:
    """The real-world flags (README: "The paper's experiment, for real") as one argument group;
    ``at_least_one`` parses an integer >= 1 (an argparse ``type``)."""
    from .judge import LABELINGS, PAIRINGS
    from .prompts import parse_prefix_tokens

    def prefix(text):
        try:
            return parse_prefix_tokens(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    def count(low, high=None):
        def parse(text):
            if not text.strip().isdigit() or int(text) < low:
                raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= {low}")
            if high is not None and int(text) > high:
                pairs = high * (high - 1) // 2
                raise argparse.ArgumentTypeError(f"{text} is more than {high} (the paper samples 4; {high} "
                                                 f"gives {pairs} pairs a prompt)")  # fmt: skip
            return int(text)

        return parse

    g = parser.add_argument_group("real-world inputs (prompts, a judge, or a preference dataset)")
    g.add_argument("--prompts", default="reviews", metavar="SOURCE",
                   help="prompts: reviews (the offline world), a .txt/.jsonl/.json/.parquet file, a "
                        "save_to_disk directory or a hub dataset (e.g. stanfordnlp/imdb)")  # fmt: skip
    g.add_argument("--prompt-column", default=None, metavar="NAME", help="its text column (default: "
                   "prompt, else text)")  # fmt: skip
    g.add_argument("--prompt-split", default="train", metavar="SPLIT", help="its split")
    g.add_argument("--prompts-config", default=None, metavar="NAME", help="the hub dataset's config")
    g.add_argument("--prompt-tokens", type=prefix, default=None, metavar="N|LO-HI",
                   help="cut each text to its first N tokens (LO-HI: drawn per prompt; the paper's IMDb "
                        "prefixes: 2-8); default: the whole text")  # fmt: skip
    g.add_argument("--reward-model", default=None, metavar="NAME_OR_PATH",
                   help="judge: a sequence classifier (its positive logit; e.g. lvwerra/distilbert-imdb); "
                        "default: the review world's exact reward")  # fmt: skip
    g.add_argument("--reward-label", default=None, metavar="LABEL", help="the classifier output to score by "
                   "(a label name or index; default: the positive one)")  # fmt: skip
    g.add_argument("--reward-batch-size", type=at_least_one, default=32, metavar="N",
                   help="texts per reward-model forward pass")  # fmt: skip
    g.add_argument("--labeling", choices=LABELINGS, default="better",
                   help="better: the higher score is chosen; bt: a Bradley-Terry draw")  # fmt: skip
    g.add_argument("--completions-per-prompt", type=count(2, MAX_COMPLETIONS_PER_PROMPT), default=2,
                   metavar="K",
                   help=f"samples per prompt, 2 to {MAX_COMPLETIONS_PER_PROMPT} (the paper: 4)")  # fmt: skip
    g.add_argument("--pairs", choices=PAIRINGS, default="all",
                   help="all pairs of the K samples (the paper: 6 of 4), or best-worst (one)")  # fmt: skip
    g.add_argument("--sft-steps", type=count(0), default=None, metavar="N",
                   help="SFT steps (default: the preset's, 0 with --dataset); 0 skips SFT")  # fmt: skip
    g.add_argument("--dataset", default=None, metavar="NAME_OR_PATH",
                   help="DPO on a preference dataset (TRL's standard, conversational or implicit-prompt "
                        "format: hub name, save_to_disk directory, .jsonl/.json/.parquet) instead of "
                        "sampling and judging")  # fmt: skip
    g.add_argument("--dataset-split", default="train", metavar="SPLIT", help="its training split")
    g.add_argument("--dataset-config", default=None, metavar="NAME", help="its hub config")
    g.add_argument("--dataset-eval-split", default=None, metavar="SPLIT",
                   help="held-out pairs (default: a seeded 10 %% of the pairs, at most the preset's "
                        "held-out count)")  # fmt: skip
    g.add_argument("--max-rows", type=at_least_one, default=None, metavar="N",
                   help="read at most N rows of --dataset / --prompts")  # fmt: skip
    g.add_argument("--max-length", type=count(2), default=None, metavar="N",
                   help=f"prompt + completion tokens; longer pairs keep their start (default "
                        f"{DEFAULT_MAX_LENGTH}, capped at the model's positions)")  # fmt: skip


def inputs_from_args(parser, args) -> Inputs:
    """The :class:`Inputs` of parsed ``args``, checked now: a combination that cannot run is one
    ``error:`` line (``parser.error``, exit 2) before anything runs."""
    names = [f.name for f in dataclasses.fields(Inputs)]
    inputs = Inputs(**{name: getattr(args, name) for name in names})
    try:
        inputs.check()
    except ValueError as err:
        parser.error(str(err))
    return inputs
