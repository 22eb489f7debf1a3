"""``python -m dpo_teach.finetune``: DPO on a small GPT-2 (or any causal LM), end to end.

Files, in the order a command line meets them:

``args``     every flag, its type and range (bad input: one ``error:`` line, exit 2)
``train_args`` the training flags (learning rate, steps, batch, schedule, eval, LoRA, memory)
``runner``   :func:`run`: the stages of :mod:`dpo_teach.gpt2` in order, resumable; :func:`main`
``report``   the summary table printed at the end (and the online rounds' lines)

``__main__`` calls :func:`main`.
"""

from .runner import main, run

__all__ = ["main", "run"]
