"""GPT-2 models for the fine-tune: three ``GPT2Config`` presets, or a real checkpoint by name/path;
and the one switch DPO needs on any model, dropout off.

``tiny`` trains on 2 CPU cores in seconds; ``base`` (4 layers, 256 wide, ~3.3M parameters) sits
between, on a CPU in minutes, to check that the recipe transfers with size before a GPU run;
``small`` has the GPT-2 124M shape (12 layers, 768 wide, 12 heads, 1024 positions) for a GPU; with
our ~400-token vocabulary instead of GPT-2's 50257 it holds ~86M parameters, because the
embedding table is smaller.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from ..runtime import eval_mode, quiet_transformers

__all__ = [
    "PRESETS",
    "Preset",
    "build_model",
    "check_model_dir",
    "load_pretrained",
    "count_parameters",
    "disable_dropout",
]


@dataclasses.dataclass(frozen=True)
class Preset:
    n_layer: int  # transformer blocks
    n_embd: int  # residual stream width
    n_head: int  # attention heads (n_embd must divide by it)
    n_positions: int  # longest sequence (prompt + completion, in tokens)
    dropout: float = 0.0  # residual/attention/embedding dropout (off: tiny data, short runs)


PRESETS = {
    "tiny": Preset(n_layer=2, n_embd=64, n_head=4, n_positions=64),
    "base": Preset(n_layer=4, n_embd=256, n_head=4, n_positions=64),
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


# what AutoTokenizer.from_pretrained can build a vocabulary from (fast: tokenizer.json; slow BPE:
# vocab.json + merges.txt; WordPiece: vocab.txt; SentencePiece: *.model)
TOKENIZER_VOCAB_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model", "spiece.model",
                         "sentencepiece.bpe.model")  # fmt: skip
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")  # fmt: skip
_RESAVE = "re-save it with model.save_pretrained(dir) and tokenizer.save_pretrained(dir)"


def check_model_dir(path) -> Path:
    """Check that directory ``path`` holds what :func:`load_pretrained` needs, without loading it:
    a ``config.json`` holding a JSON object with a ``model_type``, a weights file and the
    tokenizer's vocabulary files. Returns the path; raises ``ValueError`` naming the directory,
    the missing or broken file, and the fix."""
    path = Path(path)
    if not path.is_dir():
        what = "is a file, not a directory" if path.exists() else "does not exist" if not path.is_symlink() \
            else "is a symbolic link that leads nowhere (a loop, or its target is missing)"  # fmt: skip
        raise ValueError(f"{path} {what}; pass a directory written by save_pretrained (model + tokenizer)")
    config = path / "config.json"
    if not config.is_file():
        raise ValueError(f"{path} has no config.json, so it is not a save_pretrained model directory; "
                         f"{_RESAVE}")  # fmt: skip
    try:
        fields = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{config} is not valid JSON ({type(err).__name__}: {err}); {_RESAVE}") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("model_type"), str):
        raise ValueError(f"{config} has no \"model_type\" (e.g. \"gpt2\"), so no model class fits it; "
                         f"{_RESAVE}")  # fmt: skip
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise ValueError(f"{path} holds no weights (none of {', '.join(WEIGHT_FILES)}); {_RESAVE}")
    vocab = [name for name in TOKENIZER_VOCAB_FILES if (path / name).is_file()]
    if not vocab:
        raise ValueError(
            f"{path} holds no tokenizer (none of {', '.join(TOKENIZER_VOCAB_FILES)}; with only the "
            "model files, AutoTokenizer builds an empty one); save the tokenizer there with "
            "tokenizer.save_pretrained(dir)"
        )
    if vocab == ["vocab.json"] and not (path / "merges.txt").is_file():
        raise ValueError(f"{path} has vocab.json but no merges.txt (a BPE tokenizer needs both); "
                         "save the tokenizer there with tokenizer.save_pretrained(dir)")  # fmt: skip
    return path


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:300]}" if text else type(err).__name__


def _is_causal(model) -> bool:
    """True when position t's logits do not depend on the tokens after t (a decoder), measured:
    two short inputs that differ only in their last token must give the same earlier logits."""
    vocab = model.config.vocab_size
    if vocab < 3 or (getattr(model.config, "max_position_embeddings", None) or 4) < 4:
        return True  # too small to probe; the vocabulary check rejects such a model anyway
    ids = torch.tensor([[1, 2, 3, 1], [1, 2, 3, 2]])
    with torch.no_grad(), eval_mode(model):
        logits = model(input_ids=ids.to(next(model.parameters()).device), use_cache=False).logits.float()
    return torch.allclose(logits[0, :-1], logits[1, :-1], rtol=1e-4, atol=1e-5)


# a checkpoint whose config maps its classes to Python files of its own (auto_map) is refused
_REMOTE_CODE = ("its config.json maps the model to Python code shipped with it (auto_map), and dpo_teach "
                "never runs a checkpoint's own code (trust_remote_code=False); pass a checkpoint of a "
                "model class built into transformers, such as GPT-2")  # fmt: skip


def load_pretrained(name_or_path: str):
    """``(model, tokenizer)`` from a checkpoint directory (or a hub name where the hub is
    reachable), via ``from_pretrained``. The tokenizer gets a pad token if it lacks one.

    A local directory is checked first (:func:`check_model_dir`). The model must be a causal
    (decoder) language model whose weights all came from the checkpoint, and the tokenizer must
    hold at least two tokens, an EOS token and no ids past the model's embedding table; anything
    else raises ``ValueError`` naming the directory or file and the fix.
    """
    text = str(name_or_path)
    local = Path(text).exists() or Path(text).is_symlink() or Path(text).is_absolute() \
        or text.startswith((".", "~"))  # fmt: skip
    where = weights_at = tokenizer_at = repr(text)
    if local:
        path = check_model_dir(Path(text).expanduser())
        name_or_path, where = str(path), str(path)
        weights_at = " / ".join(str(path / n) for n in WEIGHT_FILES if (path / n).is_file())
        tokenizer_at = " / ".join(str(path / n) for n in TOKENIZER_VOCAB_FILES + ("tokenizer_config.json",)
                                  if (path / n).is_file())  # fmt: skip
    try:
        with quiet_transformers():
            model, info = AutoModelForCausalLM.from_pretrained(name_or_path, output_loading_info=True,
                                                               trust_remote_code=False)  # fmt: skip
    except OSError as err:
        raise ValueError(
            f"could not load a model from {where} ({_first_line(err)}); pass a directory written "
            "by save_pretrained (model + tokenizer), or omit --model to train the tiny/small "
            "preset from scratch"
        ) from None
    except Exception as err:  # corrupt safetensors, an unknown or non-causal model_type, ...
        hint = "a causal LM such as GPT-2 (AutoModelForCausalLM has no class for it)" if isinstance(
            err, ValueError) and "Unrecognized configuration class" in str(err) else _RESAVE  # fmt: skip
        if "custom code" in str(err) or "trust_remote_code" in str(err):
            hint = _REMOTE_CODE
        raise ValueError(f"could not load the model from {weights_at} ({_first_line(err)}); "
                         f"{hint}") from None  # fmt: skip
    missing = sorted(set(info.get("missing_keys", ())) | {str(k) for k in info.get("mismatched_keys", ())})
    if missing:
        raise ValueError(
            f"{where} is not a complete {type(model).__name__} checkpoint: {len(missing)} weights "
            f"were not in it and would start random ({', '.join(missing[:4])}"
            f"{', ...' if len(missing) > 4 else ''}); pass a causal-LM checkpoint saved with "
            "model.save_pretrained (e.g. a GPT2LMHeadModel), not a base or other-task model"
        )
    if getattr(model.config, "is_encoder_decoder", False) or not _is_causal(model):
        raise ValueError(
            f"{where} holds a {model.config.model_type} model that is not causal (its "
            f"{type(model).__name__} sees later tokens: config.is_decoder is "
            f"{getattr(model.config, 'is_decoder', None)}); DPO scores text left to right, so pass "
            "a decoder-only language model such as GPT-2"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
    except Exception as err:  # garbage tokenizer.json, missing files, ...
        raise ValueError(f"could not load the tokenizer from {tokenizer_at} ({_first_line(err)}); save it "
                         "there with tokenizer.save_pretrained(dir)") from None  # fmt: skip
    if len(tokenizer) < 2:
        raise ValueError(f"the tokenizer in {where} has {len(tokenizer)} token(s) (its vocabulary "
                         "files are missing or empty); save the real tokenizer there with "
                         "tokenizer.save_pretrained(dir)")  # fmt: skip
    if tokenizer.eos_token is None:
        raise ValueError(f"the tokenizer in {where} has no EOS token, which ends every completion; "
                         "set tokenizer.eos_token and save it again")  # fmt: skip
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(
            f"the tokenizer in {where} has {len(tokenizer)} tokens but the model's embedding table "
            f"only {model.config.vocab_size}; save the tokenizer the model was trained with"
        )
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
