"""Part 3 of the course: DPO on a small GPT-2, offline, with a known true reward.

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature. The
files follow the pipeline, each feeding the next:

``reviews``    a review grammar with an exact sentiment reward (stands in for IMDb + a classifier)
``tokenizer``  a byte-level BPE trained locally, as a ``GPT2TokenizerFast``
``models``     ``GPT2Config`` presets or a ``from_pretrained`` checkpoint; dropout off
``recipe``     the measured sizes and beta of the experiment, per preset
``data``       prompts, pairs sampled and labelled by the true reward, JSON Lines, token ids
``logprobs``   tokens -> summed completion log-probs, and the one whole-dataset scoring loop
``sft``        supervised fine-tuning: the reference model
``sampling``   ancestral sampling with a KV cache
``config``     ``DPOConfig``: the trainer's hyper-parameters, each checked
``checkpoint`` safe state files (``weights_only`` loads, atomic saves)
``losses``     the DPO family's members in the trainer (``DPOConfig.loss_type``)
``trainer``    the DPO loop (``DPOTrainer``), TRL's metric names
``evaluate``   held-out accuracy, true reward, win rate, KL, validity
``plots``      the run's figures
``rundir``     the fine-tune's output directory: stage records, verified reuse

Import the file you need (``from dpo_teach.gpt2.trainer import DPOTrainer``); this package
import itself loads nothing.
"""
