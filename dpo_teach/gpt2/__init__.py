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
``stages``     the fine-tune's stages, each reused from the output directory when it is there

Around the pipeline (the notebooks' and the real world's pieces):

``probe``         held-out probe log-probs logged during training (notebook 07)
``labels``        labellers other than the true reward: length-biased, flipped (notebook 07)
``online``        online / iterative DPO: sample, label, train, per round (``--rounds``)
``trajectory``    checkpoints evaluated along a run (over-optimisation, notebook 07)
``family_runs``   every DPO-family member on the tiny world (notebook 06)
``clinic``        the broken set-ups of the debugging clinic (notebook 08), ``clinic_plots``
``sources``       rows from a hub dataset, a save_to_disk folder, JSON / JSONL / Parquet
``preference_data``  TRL's three preference formats, prefix-exact tokenisation, truncation
``prompts``       prompt sources: the review world, a file or a hub dataset, token-boundary prefixes
``judge``         a reward model (sequence classifier) as the judge; K completions to pairs
``hf_checkpoint`` causal-LM checkpoints in and out (``save_pretrained``, safetensors)
``distributed``   data-parallel helpers (torchrun / accelerate; NCCL or Gloo)
``real_world``    the fine-tune's real-world inputs (``--prompts``, ``--reward-model``, ``--dataset``)
``real_stages``   the fine-tune's data and evaluation stages for those inputs
``judged_eval``   evaluation without the exact reward: a judge's win rate, KL, implicit reward

Import the file you need (``from dpo_teach.gpt2.trainer import DPOTrainer``); this package
import itself loads nothing.
"""
