"""The lab: experiments the notebooks run on the pipeline (``dpo_teach.gpt2``), not part of it.

Each file builds on the pipeline's stages to answer one question of notebooks 06-08; the pipeline
never imports this folder, and it never imports ``hub/``. In the order the notebooks meet them:

``world``         one seed's SFT model, pairs and reference samples, shared by every setting
``family_runs``   every DPO-family member trained from one SFT model on one set of pairs (06)
``labels``        labellers other than the true reward: length-biased, noisy (flipped) (07)
``online``        online / iterative DPO: sample, label, train, per round; ``--rounds N`` (07)
``trajectory``    checkpoints evaluated along a run: over-optimisation, when to stop (07)
``clinic``        the debugging clinic's broken set-ups beside their fixes (08)
``clinic_plots``  the clinic's signature plots (08)
``trl_bugs``      the bugs TRL users file, inside TRL's own DPOTrainer (08, section 10)
"""
