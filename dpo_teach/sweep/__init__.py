"""Sweeps: every GPT-2 comparison over seeds, resumable (``python -m dpo_teach.sweep EXPERIMENT``).

The course's GPT-2 claims rest on several seeds, each setting tuned alike; the runs are recorded
in ``results/EXPERIMENT.json`` (with their provenance) and the notebooks read them at full size.
Files, in the order a sweep uses them:

``experiments``  the experiments: their settings and how one setting runs on one seed
``lessons``      notebook 07's experiments (displacement, noise, length, over-optimisation, online) and
                 05's weight, on a world
``memorise``     notebook 07 §3: a few pairs seen many times, checkpoints along the run
``clinic_lessons`` notebook 08 §5 (a learning rate too high) on the clinic's own world per seed
``runner``       seeds split over worker processes, one world per seed, each run recorded at once
``records``      the results file: provenance, locked atomic appends, finished runs skipped
``stats``        mean and 95 % t-interval over seeds; paired differences between settings
``distribution`` a recipe on unseen seeds: min / median / max per target (the README's table)
``tuning``       one setting per seed chosen from held-out signals, and its regret in true reward
``report``       the notebooks' tables (mean [interval]) and the beta x learning-rate heat maps
``family_table`` notebook 06 §5: each member's learning rate picked per seed, its table and regret
``claims``       a notebook's ordering as a paired interval on a record, checked
``notebook_claims`` the orderings notebooks 05, 06 and 08 state, each on its committed record
``failure_claims`` the orderings notebook 07 states (displacement, noise, length, over-optimisation, online,
                 beta and lr)
``cli``          the command line (``__main__`` runs it)
"""
