"""The hub: real-world inputs and a judge for the pipeline (``python -m dpo_teach.finetune --dataset /
--prompts / --reward-model / --model``), tested on small local stand-ins.

Only the stage orchestration (``gpt2.stages``, ``gpt2.real_stages``) and the CLI call this folder;
the rest of the pipeline never imports it, and it never imports ``lab/``. In reading order:

``sources``          rows from a hub dataset, a ``save_to_disk`` folder, JSON / JSONL / Parquet
``preference_data``  TRL's three preference formats, prefix-exact tokenisation, truncation
``prompts``          prompt sources: the review world, a file or a hub dataset, token-boundary prefixes
``judge``            a reward model (sequence classifier) as the judge; K completions to pairs
``judged_eval``      evaluation without the exact reward: a judge's win rate, KL, implicit reward
``hf_checkpoint``    causal-LM checkpoints in and out (``save_pretrained``, safetensors)
``real_world``       the fine-tune's real-world inputs (``--prompts``, ``--reward-model``, ``--dataset``)
"""
