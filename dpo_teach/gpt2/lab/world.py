"""One seed's tiny GPT-2 world, built once and shared by every setting trained on it.

The fine-tune's stages without the disk: tokenizer, the tiny GPT-2 trained by SFT (the
reference), training and held-out pairs sampled from it and labelled by the true reward, and the
reference's held-out log-probs and samples. Notebooks 06-07 and the sweeps
(``python -m dpo_teach.sweep``) train many settings on one world per seed: the SFT model and the
pairs are the same for all of them, so a difference between settings is the settings' alone.
The seeds of each stage are the fine-tune's (``1000 * seed + 10`` / ``+ 20`` for the pairs).
"""

from __future__ import annotations

import dataclasses

import torch

from .. import data, reviews
from ..logprobs import score_pairs
from ..models import build_model
from ..recipe import Sizes
from ..sft import sft_train
from ..tokenizer import train_tokenizer
from .family_runs import mean_completion_tokens, reference_samples, train_ref_logps

__all__ = ["World", "build_world"]


@dataclasses.dataclass
class World:
    seed: int
    sizes: Sizes
    tokenizer: object
    ref_model: torch.nn.Module  # the SFT model, frozen (eval mode)
    train_prompts: list
    eval_prompts: list
    train_pairs: list  # token pairs (data.tokenize_pairs)
    eval_pairs: list
    ref_logps: tuple  # the reference's held-out (chosen, rejected) log-probs
    ref_samples: object  # the reference's judged samples on the held-out prompts
    train_logps: object  # the reference's log-probs of the training pairs, as each trainer computes them
    mean_tokens: float  # mean completion length of the training pairs, in tokens
    train_rows: list  # the training pairs as text rows (to relabel: flipped or length-biased labels)
    eval_rows: list = dataclasses.field(default_factory=list)  # the held-out pairs as text rows

    def member_kwargs(self) -> dict:
        """The world's arguments of :func:`~.family_runs.train_member` after ``loss_type`` and sizes."""
        return {"seed": self.seed, "ref_logps": self.ref_logps, "ref_samples": self.ref_samples,
                "train_logps": self.train_logps}  # fmt: skip


def build_world(seed: int, sizes: Sizes, threads: int | None = 1) -> World:
    """Build the world of ``seed`` at ``sizes`` (:func:`~dpo_teach.gpt2.recipe.sizes_for`).
    ``threads``: ``torch.set_num_threads`` (1 suits the tiny model; None leaves torch's)."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    texts = reviews.corpus(sizes.n_corpus, seed)
    tokenizer = train_tokenizer(texts)
    ref_model = build_model("tiny", tokenizer, seed)
    sft_train(ref_model, tokenizer, texts, sizes.sft_steps, sizes.sft_batch_size, sizes.sft_learning_rate,
              seed=seed, progress=False)  # fmt: skip
    ref_model.eval()
    train_prompts, eval_prompts = data.split_prompts(sizes.n_train_prompts, sizes.n_eval_prompts, seed)
    train_rows = data.sample_preference_pairs(ref_model, tokenizer, train_prompts, seed=1000 * seed + 10)
    eval_rows = data.sample_preference_pairs(ref_model, tokenizer, eval_prompts, seed=1000 * seed + 20)
    train_pairs = data.tokenize_pairs(train_rows, tokenizer)
    eval_pairs = data.tokenize_pairs(eval_rows, tokenizer)
    with torch.no_grad():
        ref_logps = score_pairs(ref_model, eval_pairs, tokenizer.pad_token_id, bf16=False)
    return World(seed, sizes, tokenizer, ref_model, train_prompts, eval_prompts, train_pairs, eval_pairs,
                 ref_logps, reference_samples(ref_model, tokenizer, eval_prompts, seed=seed),
                 train_ref_logps(ref_model, train_pairs, tokenizer.pad_token_id, sizes),
                 mean_completion_tokens(train_pairs), train_rows, eval_rows)  # fmt: skip
