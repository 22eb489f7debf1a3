"""``python -m dpo_teach.doctor LOG [--json]``: see :mod:`dpo_teach.doctor.cli`."""

import sys

from .cli import main

sys.exit(main())
