"""What a DPO run will cost before it starts: peak memory by parts, and the device's memory.

:func:`estimate_peak` adds up, in bytes (fp32 weights and AdamW, as the trainer runs them):

* weights: the policy's parameters, and the reference's when it is a second model (a LoRA
  policy's reference is the same weights with the adapters off: nothing more);
* gradients and AdamW's two moments: 4 + 8 bytes per *trainable* parameter;
* activations kept for backward: ``ACTIVATION_FLOATS`` floats per token, layer and unit of width
  (one float per token and layer with gradient checkpointing, plus one layer recomputed);
* the log-probs: the full path keeps ``FULL_LOGIT_COPIES`` float32 tensors of ``rows x T x V``
  (logits, log-softmax, their gradients); :mod:`.chunked_logps` a few ``chunk x V`` tiles;
* the reference precompute, run before training: weights plus one scoring pass's logits.

The constants are first guesses, checked against peaks measured on CPU (GPT-2 124M shape,
benchmarks/memory.py; the table is in benchmarks/README.md, "Memory"): within -13 % .. +12 % of the
measured peak from 128 to 2048 tokens. The sum of parts overstates long rows (at the backward peak
most gradients do not exist yet) and understates short ones (there the peak is AdamW's update, whose
temporaries, about twice the largest parameter, are not counted).
"""

from __future__ import annotations

__all__ = ["ACTIVATION_FLOATS", "FULL_LOGIT_COPIES", "estimate_peak", "device_memory_bytes", "describe"]

ACTIVATION_FLOATS = 24  # saved floats per token, per layer, per unit of width (GPT-2 block, fp32)
FULL_LOGIT_COPIES = 4  # (rows, T, V) fp32 tensors alive at the full path's peak
CHUNK_LOGIT_COPIES = 3  # (chunk, V) tiles alive in the chunked path (logits, softmax, gradient)
GIB = 2**30


def _shape(model):
    """``(layers, width, vocab)`` from a transformers config (GPT-2 names or the common ones)."""
    cfg = getattr(model, "config", None)
    pick = lambda *names: next((getattr(cfg, n) for n in names if isinstance(getattr(cfg, n, None), int)), 0)  # noqa: E731
    return pick("n_layer", "num_hidden_layers"), pick("n_embd", "hidden_size", "d_model"), pick("vocab_size")


def _count(model, trainable_only=False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def estimate_peak(policy, config, rows: int, seq_len: int, ref_model=None, precomputed: bool = True) -> dict:
    """Estimated peak bytes of DPO training ``policy`` with ``config`` (a :class:`~.config.DPOConfig`):
    ``rows`` sequences per optimizer step (2 x pairs), ``seq_len`` tokens each (the longest row);
    ``ref_model``: a second model held in memory (None or the policy itself: none); ``precomputed``:
    the reference is scored before training (count that pass). Returns the
    parts and ``total`` (the larger of the training step and the reference precompute)."""
    layers, width, vocab = _shape(policy)
    weights = 4 * _count(policy)
    if ref_model is not None and ref_model is not policy:
        weights += 4 * _count(ref_model)
    trainable = _count(policy, trainable_only=True)
    tokens = max(rows // config.grad_accum, 1) * seq_len  # one micro-batch at a time
    if config.gradient_checkpointing:  # each layer's input kept, one layer's inside recomputed
        activations = 4 * tokens * width * (layers + ACTIVATION_FLOATS)
    else:
        activations = 4 * tokens * width * layers * ACTIVATION_FLOATS
    chunk = config.logps_chunk
    if chunk:
        logits = 4 * vocab * min(chunk, tokens) * CHUNK_LOGIT_COPIES + 4 * tokens * width
    else:
        logits = 4 * vocab * tokens * FULL_LOGIT_COPIES
    parts = {"weights": weights, "gradients": 4 * trainable, "optimizer": 8 * trainable,
             "activations": activations, "logits": logits}  # fmt: skip
    train = sum(parts.values())
    precompute = 0
    if precomputed:  # no gradient: logits and log-softmax of one scoring pass
        score_tokens = 8 * config.batch_size * seq_len  # 4 x batch_size pairs per scoring pass
        precompute = weights + 4 * vocab * (min(chunk, score_tokens) if chunk else score_tokens) * 2
    parts["reference_precompute"] = precompute
    parts["total"] = max(train, precompute)
    return parts


def device_memory_bytes(device: str) -> int | None:
    """The memory a run may use: a GPU's total memory; on CPU, the system's available memory
    (``MemAvailable``); None if unknown."""
    import torch

    if str(device).startswith("cuda"):
        return torch.cuda.get_device_properties(torch.device(device)).total_memory
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def describe(parts: dict) -> str:
    """One line: the total and its parts in GiB."""
    shown = ", ".join(f"{k.replace('_', ' ')} {v / GIB:.2f}" for k, v in parts.items() if k != "total" and v)
    return f"~{parts['total'] / GIB:.2f} GiB ({shown})"
