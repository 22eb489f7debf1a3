"""The DPO doctor: ``python -m dpo_teach.doctor LOG`` reads a training log and names what is wrong.

Files, in the order a log flows through them:

``reader``      a path (a log file, a TRL output or checkpoint directory) -> parsed JSON
``entries``     parsed JSON (TRL ``trainer_state.json``, ``metrics.json``, ``all_results.json``, W&B
                exports, JSON lists and Lines) -> a :class:`~.entries.Log` of per-step series
``loss_kind``   is the logged loss DPO's sigmoid loss? (``--loss-type``, or read from the log)
``series``      the :class:`~.series.Series` the checks read and the :class:`~.series.Finding` they return
``detectors``   the checks on DPO's metrics (stuck at ln 2, NaN, batch of one, displacement, ...)
``dynamics``    the run-level checks (learning rate, empty completions, held-out loss, spikes,
                divergence, the probe's samples)
``checks``      every check in the order of the fixed ids, and which ones a log lets run
``advice``      each symptom's severity, causes, fix and notebook section (a hand-written loop's terms)
``advice_trl``  the same in TRL's terms, without the causes TRL makes impossible
``report``      the text report and the ``--json`` object
``cli``         :func:`diagnose`, :func:`examine` and the command line (``__main__`` runs it)
"""

from .advice import IDS
from .cli import diagnose, examine, main
from .entries import METRICS, Log, LogError, parse_log
from .reader import read_log
from .report import report
from .series import Finding

__all__ = ["IDS", "METRICS", "Finding", "Log", "LogError", "read_log", "parse_log", "diagnose", "examine",
           "report", "main"]  # fmt: skip
