"""Any causal LM checkpoint in, the trained policy out, both in the Hugging Face format.

In: :func:`load_causal_lm` is :func:`dpo_teach.gpt2.models.load_pretrained` (which checks the
directory, loads model + tokenizer with ``from_pretrained`` and sets a missing pad token to EOS)
plus the tokenizer's padding side for the job at hand. The package's own batches never depend on
it (:func:`~dpo_teach.gpt2.logprobs.build_prompt_completion_batch` pads on the right by hand,
:func:`~dpo_teach.gpt2.sampling.sample_completions` groups prompts by length and never pads); it
matters to code that pads with the tokenizer: **right** for training and scoring (the prompt
starts every row at position 0), **left** for batched generation with ``model.generate`` (every
row's last prompt token sits at the end, where generation continues).

Out: :func:`save_policy` writes ``model.safetensors`` + ``config.json`` + the tokenizer files
into one directory (built under a temporary name and renamed, so a crash never leaves half of
one), loadable with ``AutoModelForCausalLM.from_pretrained(dir)`` and
``AutoTokenizer.from_pretrained(dir)``. A model wrapped for training (DDP, ``torch.compile``) is
unwrapped first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["PADDING_SIDE", "load_causal_lm", "padding_for", "unwrap_model", "save_policy"]

PADDING_SIDE = {"train": "right", "score": "right", "generate": "left"}
SAFETENSORS_NAMES = ("model.safetensors", "model.safetensors.index.json")  # what save_policy writes


def _side(purpose: str) -> str:
    if purpose not in PADDING_SIDE:
        raise ValueError(f"purpose must be one of {', '.join(PADDING_SIDE)}, got {purpose!r}")
    return PADDING_SIDE[purpose]


def load_causal_lm(name_or_path: str, purpose: str = "train"):
    """``(model, tokenizer)`` of a causal LM checkpoint (a ``save_pretrained`` directory, or a hub
    name where the hub is reachable), the tokenizer padding for ``purpose`` (``train``, ``score``:
    right; ``generate``: left). Errors are ``load_pretrained``'s ``ValueError``\\ s."""
    from ..models import load_pretrained

    side = _side(purpose)
    model, tokenizer = load_pretrained(name_or_path)
    tokenizer.padding_side = side
    return model, tokenizer


@contextlib.contextmanager
def padding_for(tokenizer, purpose: str):
    """Pad with ``tokenizer`` for ``purpose`` inside the block; its padding side is restored after."""
    side, old = _side(purpose), tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side = old


def unwrap_model(model):
    """The model inside a ``DistributedDataParallel`` (``.module``) or ``torch.compile``
    (``._orig_mod``) wrapper; the model itself otherwise."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None or inner is model:
            return model
        model = inner


def save_policy(model, tokenizer, path) -> Path:
    """Save ``model`` (safetensors) and ``tokenizer`` into the directory ``path`` with
    ``save_pretrained``, replacing what was there only once everything is written. Returns it.
    An existing ``path`` is replaced only if it is empty or a model saved here before (a folder
    of other files is refused, never deleted)."""
    from ...files import atomic_replace_dir
    from ...runtime import quiet_transformers

    model, path = unwrap_model(model), Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is a file; pass a directory path to save the policy in")

    def build(tmp: Path) -> None:
        with quiet_transformers():
            model.save_pretrained(tmp)  # model.safetensors + config.json (+ generation_config.json)
        tokenizer.save_pretrained(tmp)
        if not any((tmp / name).is_file() for name in SAFETENSORS_NAMES):
            raise ValueError(f"save_pretrained wrote no safetensors file for {type(model).__name__}; "
                             "upgrade transformers or save it by hand")  # fmt: skip

    def saved_before(old: Path) -> bool:  # a policy this function wrote, not a folder of the user's
        return (old / "config.json").is_file() and any((old / n).is_file() for n in SAFETENSORS_NAMES)

    atomic_replace_dir(path, build, ours=saved_before)
    return path
