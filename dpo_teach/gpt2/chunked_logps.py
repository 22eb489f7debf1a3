r"""Summed completion log-probs without the full logits: the LM head in chunks of scored tokens.

:func:`~.logprobs.sequence_logps` takes the model's ``(rows, T, V)`` logits and a float32
log-softmax of all of them; autograd then keeps several tensors of that size. For GPT-2's
50,257-token vocabulary one batch of 128 rows x 512 tokens is 128 x 512 x 50257 x 4 B = 13 GB
per copy. Here the model runs without its LM head (``output_hidden_states``, one position's logits
only), and :class:`ChunkedCompletionLogps` applies the head to the *scored* positions only (the
completion's; the prompt and the padding cost nothing), ``chunk`` tokens at a time:

.. math:: \log\pi(y_t\mid x, y_{<t}) = z_{t, y_t} - \log\sum_v e^{z_{t,v}},\qquad z_t = W h_{t-1}

Forward keeps, per scored token, its hidden state and :math:`\log\sum_v e^{z_{t,v}}`; backward
recomputes each chunk's logits and uses :math:`\partial \log\pi(y_t)/\partial z_t =
\mathrm{onehot}(y_t) - \mathrm{softmax}(z_t)`. Peak memory for the head: a few ``chunk x V``
float32 tiles, whatever the batch and the length; cost: one more head matmul in backward (as
TRL's chunked kernel). Equal to the full path to ~1e-6 in float32 (tests/gpt2/test_gpt2_chunked_logps.py).
"""

from __future__ import annotations

import torch

from .logprobs import IGNORE_INDEX, ld_weights

__all__ = ["ChunkedCompletionLogps", "plain_linear_head", "chunked_batch_logps"]


class ChunkedCompletionLogps(torch.autograd.Function):
    """``(hidden (N, H), weight (V, H), bias (V,) or None, labels (N,), chunk) -> (N,)`` float32
    token log-probs; the logits of at most ``chunk`` tokens exist at a time, in forward and backward."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, labels, chunk: int):
        out, lse = [], []
        for s in range(0, hidden.shape[0], chunk):  # 1. logits of one chunk, (c, V), fp32 softmax
            z = _logits(hidden[s : s + chunk], weight, bias)
            lse.append(torch.logsumexp(z, -1))  # (c,), kept for backward
            out.append(z.log_softmax(-1).gather(1, labels[s : s + chunk, None]).squeeze(1))  # as sequence_logps
        ctx.save_for_backward(hidden, weight, bias, labels, torch.cat(lse))
        ctx.chunk = chunk
        return torch.cat(out)

    @staticmethod
    def backward(ctx, grad_out):
        hidden, weight, bias, labels, lse = ctx.saved_tensors
        grad_h = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros_like(weight, dtype=torch.float32) if ctx.needs_input_grad[1] else None
        grad_b = torch.zeros(weight.shape[0], device=weight.device) if bias is not None and \
            ctx.needs_input_grad[2] else None  # fmt: skip
        for s in range(0, hidden.shape[0], ctx.chunk):  # 2. recompute the chunk's logits
            h = hidden[s : s + ctx.chunk]
            z = _logits(h, weight, bias)
            # d log pi(y_t) / d z_t = onehot(y_t) - softmax(z_t), times the upstream gradient
            g = z.sub_(lse[s : s + ctx.chunk, None]).exp_().neg_()  # -softmax, in place
            g.scatter_add_(1, labels[s : s + ctx.chunk, None], torch.ones_like(g[:, :1]))
            g.mul_(grad_out[s : s + ctx.chunk, None].float())
            if grad_h is not None:
                grad_h[s : s + ctx.chunk] = (g.to(h.dtype) @ weight.to(h.dtype)).to(grad_h.dtype)
            if grad_w is not None:
                grad_w.addmm_(g.t(), h.float())
            if grad_b is not None:
                grad_b += g.sum(0)
        grad_w = grad_w.to(weight.dtype) if grad_w is not None else None
        return grad_h, grad_w, grad_b, None, None


def _logits(h, weight, bias):
    """One chunk's logits in float32: ``(c, V)``; the matmul in ``h``'s dtype (bf16 under autocast)."""
    z = h @ weight.to(h.dtype).t()
    if bias is not None:
        z = z + bias.to(h.dtype)
    return z.float()


def plain_linear_head(model):
    """The model's LM head if it is a plain ``nn.Linear`` (GPT-2, Llama, ...), else None: a head with
    a scale or soft-capping (Gemma, Cohere) is left to the full-logits path."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    cfg = getattr(model, "config", None)
    capped = any(getattr(cfg, k, None) not in (None, 1.0, 0.0)
                 for k in ("final_logit_softcapping", "logit_scale"))  # fmt: skip
    return head if type(head) is torch.nn.Linear and not capped else None


def chunked_batch_logps(model, batch: dict[str, torch.Tensor], chunk: int, head, ld_alpha=None):
    """The summed completion log-prob of every row of ``batch``, ``(rows,)`` float32, with the LM
    head ``head`` applied ``chunk`` scored tokens at a time (:class:`ChunkedCompletionLogps`);
    ``ld_alpha``: LD-DPO's weighted sums of a pair batch (:func:`~.logprobs.ld_weights`)."""
    kwargs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "use_cache": False,
              "output_hidden_states": True}  # fmt: skip
    try:  # the logits of one position only (transformers >= 4.45); older models compute them all
        out = model(**kwargs, logits_to_keep=1)
    except TypeError:
        out = model(**kwargs)
    hidden = out.hidden_states[-1]  # (rows, T, H), after the final layer norm
    # 1. shift: the hidden state at t predicts the token at t + 1; keep only scored positions
    labels = batch["labels"][:, 1:]  # (rows, T-1)
    rows, cols = (labels != IGNORE_INDEX).nonzero(as_tuple=True)  # (N,) each, row-major
    h = hidden[:, :-1][rows, cols]  # (N, H)
    # 2. token log-probs, chunk by chunk; 3. summed per row
    token_logps = ChunkedCompletionLogps.apply(h, head.weight, head.bias, labels[rows, cols], chunk)
    if ld_alpha is not None:  # LD-DPO: the tokens past the pair's shorter completion times ld_alpha
        token_logps = token_logps * ld_weights(labels != IGNORE_INDEX, ld_alpha)[rows, cols]
    # summed per row in the full path's order: a (rows, T-1) table, zero where nothing is scored
    table = torch.zeros(labels.shape, device=h.device).index_put((rows, cols), token_logps)
    return table.sum(-1)
