"""``python -m dpo_teach.site``: see :mod:`dpo_teach.site.cli`."""

import sys

from .cli import main

sys.exit(main())
