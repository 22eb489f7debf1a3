"""``python -m dpo_teach.sweep``: see :mod:`dpo_teach.sweep.cli`."""

import sys

from .cli import main

sys.exit(main())
