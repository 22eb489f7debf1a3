"""``python -m dpo_teach.finetune``: see :mod:`dpo_teach.finetune.runner`."""

from .runner import main

main()
