"""``python -m dpo_teach.grade``: see :mod:`dpo_teach.grade.cli`."""

from .cli import main

main()
