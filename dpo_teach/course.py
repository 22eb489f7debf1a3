r"""The course's map: its notebooks, its one notation, and the two pipelines (notebook 00).

Everything a learner needs before notebook 01, kept as data so the map, the README and the tests
read the same facts:

- :data:`NOTEBOOKS`: each notebook's number, title, question, the paper's equations it covers,
  whether it is on the core path, and what it needs first;
- :data:`NOTATION`: one symbol per concept, with its meaning and its name in the code; every
  notebook keeps to it (``tests/test_notation.py`` scans their markdown for the old symbols);
- :func:`notebook_minutes`: the measured full-size run time of each notebook
  (``results/notebook_times.json``, written by ``benchmarks/time_notebooks.py``), and
  :func:`notebook_load_range`: the machine's load average while they were measured;
- :func:`draw_pipelines`: RLHF's three stages (SFT, reward model, PPO with a KL penalty) beside
  DPO's two (SFT, then one classification-style loss on the preference pairs).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

__all__ = [
    "Notebook", "NOTEBOOKS", "NOTATION", "EQUATIONS", "notebook_minutes", "notebook_load_range",
    "draw_pipelines",
]


@dataclasses.dataclass(frozen=True)
class Notebook:
    number: str  # "01"
    name: str  # file stem, "01_toy_example"
    title: str
    question: str  # what the notebook answers, in one line
    equations: tuple[int, ...]  # the paper's numbered equations it computes
    core: bool  # on the core path (False: optional, read when you need it)
    needs: tuple[str, ...]  # notebooks to read first


NOTEBOOKS = (
    Notebook("00", "00_map", "The map", "What is RLHF, what does DPO replace, and in which order to read?",
             (), True, ()),
    Notebook("01", "01_toy_example", "The toy example",
             "What is every symbol of the DPO loss, on numbers small enough to check by hand?",
             (1, 7), True, ("00",)),
    Notebook("02", "02_derivation", "The derivation",
             "Why does a classification loss on pairs solve the KL-regularised RLHF problem?",
             (1, 2, 3, 4, 5, 6, 7), True, ("01",)),
    Notebook("03", "03_gradient", "The gradient", "What does one DPO step do to the two answers?",
             (7,), True, ("01",)),
    Notebook("04", "04_dpo_vs_rlhf", "DPO vs RLHF, exactly",
             "Does DPO land where RLHF-PPO lands, and what do finite data change?",
             (2, 3, 4, 7), True, ("02", "03")),
    Notebook("05", "05_gpt2_dpo", "DPO on a small GPT-2",
             "What does DPO do to a real transformer, measured against a reward we know?",
             (7,), True, ("03",)),
    Notebook("06", "06_dpo_family", "The DPO family", "What do IPO, cDPO, SimPO and the others change?",
             (7,), False, ("03", "05")),
    Notebook("07", "07_failure_modes", "What DPO does in practice",
             "Displacement, over-optimisation, length, online data, noisy labels; which beta and lr?",
             (3, 7), False, ("05", "06")),  # 06: it runs SimPO, sigmoid_norm, cDPO and robust DPO
    Notebook("08", "08_debugging_clinic", "The debugging clinic",
             "Which bugs do people hit, and how does each look in the training log?", (7,), False, ("05",)),
    # exercise 8 (a sequence's log-probability) needs 05; exercise 12 (IPO) needs the optional 06, whose
    # statement gives what it uses: notebook 00 says so beside the map
    Notebook("09", "09_exercises", "Exercises", "The graded set: can you write each formula yourself?",
             (1, 3, 4, 5, 7), True, ("01", "02", "03", "05")),
)

# The paper's numbered equations (arXiv:2305.18290, Sec. 3-4), each in one line.
EQUATIONS = {
    1: r"Bradley-Terry: $p^*(y_1 \succ y_2 \mid x) = \sigma(r^*(x, y_1) - r^*(x, y_2))$",
    2: r"reward-model loss: $-\mathbb{E}\,\log \sigma(r_\phi(x, y_w) - r_\phi(x, y_l))$",
    3: r"RLHF objective: $\max_\pi \mathbb{E}[r(x, y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\mathrm{ref})$",
    4: r"its optimum: $\pi^*(y \mid x) = \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta} / Z(x)$",
    5: r"the reward in terms of the policy: $r(x, y) = \beta \log \frac{\pi^*(y|x)}{\pi_\mathrm{ref}(y|x)} + \beta \log Z(x)$",
    6: r"Bradley-Terry in terms of the policy: $p^*(y_1 \succ y_2 \mid x) = \sigma\big(\beta \log "
    r"\frac{\pi^*(y_1|x)}{\pi_\mathrm{ref}(y_1|x)} - "
    r"\beta \log \frac{\pi^*(y_2|x)}{\pi_\mathrm{ref}(y_2|x)}\big)$ ($Z$ cancels)",
    7: r"DPO loss: $-\mathbb{E}\,\log \sigma(\hat r_\theta(x, y_w) - \hat r_\theta(x, y_l))$",
}

# One symbol per concept: (symbol in LaTeX, meaning, name in the code).
NOTATION = (
    (r"$x$, $y$", "a prompt and an answer (a completion)", "`prompt`, `completion`"),
    (r"$y_w$, $y_l$", "the preferred (winning) and dispreferred (losing) answer of a pair",
     "`chosen`, `rejected`"),
    (r"$\pi_\theta$", "the policy being trained", "`policy_*`"),
    (r"$\pi_\mathrm{ref}$", "the frozen reference (usually the SFT model)", "`ref_*`"),
    (r"$\log \pi(y \mid x)$", r"an answer's log-probability: the sum of its tokens' log-probs, $\le 0$",
     "`*_logps`"),
    (r"$r(x, y)$", r"a reward: the true one $r^*$, or a reward model's $r_\phi$", "`true_reward`"),
    (r"$\beta$", r"the KL weight of Eq. 3 (larger: the policy stays closer to $\pi_\mathrm{ref}$)", "`beta`"),
    (r"$\hat r_\theta(x, y)$", r"the implicit reward $\beta \log \frac{\pi_\theta(y|x)}{\pi_\mathrm{ref}(y|x)}$",
     "`implicit_reward`"),
    (r"$h_w$, $h_l$",
     r"one answer's log-ratio $\log\frac{\pi_\theta(y_w)}{\pi_\mathrm{ref}(y_w)}$ (no $\beta$), "
     r"so $\hat r_\theta(x, y_w) = \beta h_w$", "`policy_chosen_logps - ref_chosen_logps`"),
    (r"$h$", r"the log-ratio difference $\log\frac{\pi_\theta(y_w)}{\pi_\mathrm{ref}(y_w)} - "
     r"\log\frac{\pi_\theta(y_l)}{\pi_\mathrm{ref}(y_l)}$ (no $\beta$)", "`margin / beta`"),
    (r"$m$", r"the margin $m = \hat r_\theta(x, y_w) - \hat r_\theta(x, y_l) = \beta h$", "`margin`"),
    (r"$\sigma$", r"the logistic function $\sigma(z) = 1 / (1 + e^{-z})$", "`sigmoid`"),
    (r"$\pi^*$", "the optimum of Eq. 3 (Eq. 4)", "`bandit.optimal_policy`"),
    (r"$Z(x)$", r"the normaliser $\sum_y \pi_\mathrm{ref}(y|x)\, e^{r(x,y)/\beta}$", "(cancels in Eq. 6)"),
)


def notebook_minutes(path: str | Path | None = None) -> dict[str, float]:
    """Measured full-size run time of each notebook, in minutes, by number (``{"01": 0.2, ...}``),
    from ``results/notebook_times.json``; an empty dict when the file is not there (an installed
    package without the repository)."""
    default = Path(__file__).resolve().parents[1] / "results" / "notebook_times.json"
    path = Path(path) if path is not None else default
    if not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    return {k: round(v["seconds"] / 60, 1) for k, v in record["notebooks"].items()}


def notebook_load_range(path: str | Path | None = None) -> tuple[float, float] | None:
    """The lowest and highest load average recorded before and after the timed runs of
    ``results/notebook_times.json`` (how busy the 2-core machine was); None without the file."""
    default = Path(__file__).resolve().parents[1] / "results" / "notebook_times.json"
    path = Path(path) if path is not None else default
    if not path.is_file():
        return None
    loads = [v[k] for v in json.loads(path.read_text(encoding="utf-8"))["notebooks"].values()
             for k in ("load_before", "load_after") if k in v]  # fmt: skip
    return (min(loads), max(loads)) if loads else None


def _box(ax, x, y, text, color, width=2.1, height=0.9):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", facecolor=color, edgecolor="black", lw=1))  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _arrow(ax, x0, x1, y, label=""):
    ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops={"arrowstyle": "->", "lw": 1.5})
    if label:
        ax.text((x0 + x1) / 2, y + 0.55, label, ha="center", va="bottom", fontsize=8)


def draw_pipelines(ax) -> None:
    """RLHF (top) and DPO (bottom) as boxes and arrows on ``ax``: the data each stage reads, the
    model it produces, and which stage DPO removes."""
    from .plotting import OKABE_ITO

    sft, rm, rl = OKABE_ITO["sky"], OKABE_ITO["yellow"], OKABE_ITO["orange"]
    ax.set_xlim(0, 12.4)
    ax.set_ylim(-0.2, 5.2)
    ax.axis("off")
    ax.text(0.1, 4.9, "RLHF (Ouyang et al. 2022; Stiennon et al. 2020)", fontsize=10, weight="bold")
    _box(ax, 1.3, 3.9, "pretrained LM", "white")
    _box(ax, 4.3, 3.9, "SFT\n(next-token loss\non demonstrations)", sft)
    _box(ax, 7.3, 3.9, "reward model $r_\\phi$\n(Eq. 2 on pairs\n$y_w \\succ y_l$)", rm, height=1.1)
    _box(ax, 10.5, 3.9, "PPO: max $E[r_\\phi]$\n$-\\ \\beta$ KL to $\\pi_\\mathrm{ref}$\n(Eq. 3, sampling)", rl,
         width=2.6, height=1.1)  # fmt: skip
    _arrow(ax, 2.4, 3.2, 3.9)
    _arrow(ax, 5.4, 6.2, 3.9, "init.")
    _arrow(ax, 8.4, 9.2, 3.9, "$r_\\phi$")
    ax.text(10.5, 3.0, "starts from the SFT model $\\pi_\\mathrm{ref}$;\nneeds a value model too", ha="center",
            va="top", fontsize=8)
    ax.text(0.1, 2.0, "DPO (Rafailov et al. 2023)", fontsize=10, weight="bold")
    _box(ax, 1.3, 1.0, "pretrained LM", "white")
    _box(ax, 4.3, 1.0, "SFT\n(the same)", sft)
    _box(ax, 8.9, 1.0, "DPO: one loss on the pairs (Eq. 7)\n$-\\log\\sigma(\\hat r_\\theta(y_w) - "
         "\\hat r_\\theta(y_l))$\nno reward model, no sampling", rl, width=5.6, height=1.1)  # fmt: skip
    _arrow(ax, 2.4, 3.2, 1.0)
    _arrow(ax, 5.4, 6.1, 1.0, "$\\pi_\\mathrm{ref}$")
