"""The DPO doctor: ``python -m dpo_teach.doctor LOG`` reads a training log and names what is wrong.

Files, in the order a log flows through them:

``reader``     any log (TRL ``trainer_state.json``, this package's ``metrics.json``, a JSON list,
               JSON Lines) -> a :class:`~.reader.Log` of per-step series
``detectors``  the checks: each symptom's test on the series, with its evidence (fixed ids)
``advice``     each symptom's likely causes, fix and the notebook section to read
``cli``        :func:`diagnose`, the text report and the command line (``__main__`` runs it)
"""

from .cli import diagnose, main, report
from .detectors import IDS, Finding
from .reader import METRICS, Log, LogError, parse_log, read_log

__all__ = ["IDS", "METRICS", "Finding", "Log", "LogError", "read_log", "parse_log", "diagnose", "report",
           "main"]  # fmt: skip
