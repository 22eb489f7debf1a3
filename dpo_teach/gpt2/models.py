"""GPT-2 models for the fine-tune: two ``GPT2Config`` presets, or a real checkpoint by name/path;
and the one switch DPO needs on any model, dropout off.

``tiny`` trains on 2 CPU cores in seconds; ``small`` has the GPT-2 124M shape (12 layers, 768
wide, 12 heads, 1024 positions) for a GPU; with our ~400-token vocabulary instead of GPT-2's
50257 it holds ~86M parameters, because the embedding table is smaller.
"""

from __future__ import annotations

import dataclasses

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

__all__ = ["PRESETS", "Preset", "build_model", "load_pretrained", "count_parameters", "disable_dropout"]


@dataclasses.dataclass(frozen=True)
class Preset:
    n_layer: int  # transformer blocks
    n_embd: int  # residual stream width
    n_head: int  # attention heads (n_embd must divide by it)
    n_positions: int  # longest sequence (prompt + completion, in tokens)
    dropout: float = 0.0  # residual/attention/embedding dropout (off: tiny data, short runs)


PRESETS = {
    "tiny": Preset(n_layer=2, n_embd=64, n_head=4, n_positions=64),
    "small": Preset(n_layer=12, n_embd=768, n_head=12, n_positions=1024, dropout=0.1),
}


def build_model(preset: str, tokenizer, seed: int = 0) -> GPT2LMHeadModel:
    """A freshly initialised ``GPT2LMHeadModel`` of the named preset for ``tokenizer``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    p = PRESETS[preset]
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=p.n_positions,
        n_embd=p.n_embd,
        n_layer=p.n_layer,
        n_head=p.n_head,
        resid_pdrop=p.dropout,
        embd_pdrop=p.dropout,
        attn_pdrop=p.dropout,
        bos_token_id=eos,  # GPT-2 uses <|endoftext|> for all three; the defaults (50256)
        eos_token_id=eos,  # would point outside a small local vocabulary
        pad_token_id=eos,
        loss_type="ForCausalLM",
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.loss_type = "ForCausalLM"  # transformers 5 derives it from the class name and warns
    return model


def load_pretrained(name_or_path: str):
    """``(model, tokenizer)`` from a checkpoint directory (or a hub name where the hub is
    reachable), via ``from_pretrained``. The tokenizer gets a pad token if it lacks one."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        model = AutoModelForCausalLM.from_pretrained(name_or_path)
    except OSError as err:
        raise ValueError(
            f"could not load a model and tokenizer from {name_or_path!r} ({err}); pass a "
            "directory written by save_pretrained (model + tokenizer), or omit --model to "
            "train the tiny/small preset from scratch"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model, "loss_type", None) is None:
        model.loss_type = "ForCausalLM"
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def count_parameters(model: torch.nn.Module) -> int:
    """Number of distinct parameters (tied input/output embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


def disable_dropout(model: torch.nn.Module) -> None:
    """Set every dropout probability in ``model`` to 0 (DPO compares two models' log-probs)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
