"""Part 3 of the course: DPO on a small GPT-2, offline, with a known true reward.

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature. This
folder is the pipeline a student reads in order, each file feeding the next:

``reviews``      a review grammar with an exact sentiment reward (stands in for IMDb + a classifier)
``tokenizer``    a byte-level BPE trained locally, as a ``GPT2TokenizerFast``
``models``       ``GPT2Config`` presets or a ``from_pretrained`` checkpoint; dropout off
``recipe``       the measured sizes and beta of the experiment, per preset
``config``       ``DPOConfig``: the trainer's hyper-parameters, each checked
``data``         prompts, pairs sampled and labelled by the true reward, JSON Lines, token ids
``logprobs``     tokens -> summed completion log-probs, and the one whole-dataset scoring loop
``chunked_logps`` the same sums with the LM head in chunks of scored tokens (no full logits)
``losses``       the DPO family's members in the trainer (``DPOConfig.loss_type``)
``probe``        held-out probe log-probs logged during training
``heldout``      held-out loss and accuracy every N steps; the best policy (``save_best``)
``schedule``     the learning rate: warm-up, then constant, linear or cosine
``lora``         LoRA adapters (peft); the reference is the model with them off
``memory``       a run's estimated peak memory, by parts, before it starts
``sft``          supervised fine-tuning: the reference model
``sampling``     ancestral sampling with a KV cache
``distributed``  data-parallel helpers (torchrun / accelerate; NCCL or Gloo)
``trainer``      the DPO loop (``DPOTrainer``), TRL's metric names
``checkpoint``   safe state files (``weights_only`` loads, atomic saves)
``rundir``       the fine-tune's output directory: stage records, verified reuse
``evaluate``     held-out accuracy, true reward, win rate, KL, validity
``plots``        the run's figures

The fine-tune's stage orchestration: ``stages`` (tokenizer + SFT, pairs, DPO; each resumable) and
``real_stages`` (the data and evaluation stages for real-world inputs; the only pipeline files
that call ``hub/``).

Two rooms beside the pipeline, which it never imports:

``lab/``   the notebooks' experiments on top of it (family runs, labellers, online rounds,
           trajectories, the clinic)
``hub/``   real-world inputs and a judge (hub datasets, TRL-format pairs, a reward model,
           ``from_pretrained`` checkpoints)

Import the file you need (``from dpo_teach.gpt2.trainer import DPOTrainer``); this package
import itself loads nothing.
"""
