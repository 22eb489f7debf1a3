"""What the detectors read and what they return: a run's per-step :class:`Series` and a :class:`Finding`.

A series holds the logged training entries by metric (TRL's names), plus what the reader learnt
about the run: which tool wrote the log (its advice is worded for that tool), whether the loss is
DPO's sigmoid loss (Eq. 7, arXiv:2305.18290: ``ln 2`` at a zero margin) and the evaluation entries.
Pure Python + NumPy.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .advice import SECTIONS, SEVERITY, advice

__all__ = ["Series", "Finding", "finding", "late", "start_end", "WINDOW"]

WINDOW = 0.2  # a trend reads the first entry against the mean of the last 20 % (one batch is noisy)


@dataclasses.dataclass
class Series:
    """One run's logged entries: ``values[name]`` holds ``(steps, values)`` arrays of the entries
    that logged ``name`` (TRL's names: ``loss``, ``rewards/chosen``, ...)."""

    values: dict[str, tuple[np.ndarray, np.ndarray]]
    pre_update_first: bool  # the first entry was measured before any update (policy = reference)
    tool: str = "unknown"  # "trl", "dpo_teach" or "unknown" (a hand-written loop, another trainer)
    sigmoid_loss: bool = True  # the logged loss is Eq. 7's (False: IPO, RPO, an auxiliary term, scaled)
    eval: Series | None = None  # the evaluation entries (TRL's eval_*), by the same names

    def get(self, name: str):
        return self.values.get(name, (np.zeros(0, dtype=np.int64), np.zeros(0)))

    def finite(self, name: str):
        steps, vals = self.get(name)
        ok = np.isfinite(vals)
        return steps[ok], vals[ok]

    def has(self, name: str) -> bool:
        return len(self.get(name)[1]) > 0


@dataclasses.dataclass
class Finding:
    id: str  # one of IDS
    severity: str  # "error" (training is broken), "warning" (look at it), "info" (a healthy pattern)
    first_step: int | None  # the first logged step that shows it (None: no single step does)
    evidence: str  # what in the log shows it: steps and values
    causes: list[str]  # likely causes, most likely first for this log (in the log's tool's terms)
    fix: str
    section: str  # where notebook 08 reproduces it

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def finding(s: Series, id_: str, first_step, evidence: str, causes=None, severity=None) -> Finding:
    """A finding with its advice for the tool that wrote ``s``; ``causes``: keys of the advice's
    causes in this log's order (None: the default order); ``severity``: None for the id's default."""
    texts, fix = advice(id_, causes, s.tool)
    first = None if first_step is None else int(first_step)
    return Finding(id_, severity or SEVERITY[id_], first, evidence, texts, fix, SECTIONS[id_])


def late(vals: np.ndarray) -> np.ndarray:
    """The last ``WINDOW`` share of the entries (at least one)."""
    return vals[-max(1, int(round(len(vals) * WINDOW))) :]


def start_end(vals: np.ndarray) -> tuple[float, float]:
    """The first logged value and the mean of the late entries (+ 0.0: no -0 in the evidence)."""
    return float(vals[0]) + 0.0, float(late(vals).mean()) + 0.0
