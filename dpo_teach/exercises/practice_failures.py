r"""The practice questions of notebooks 07-08 (see :mod:`.practice`): pick a checkpoint from what a
run logged, the optimum of DPO and cDPO under flipped labels, find the bug in a broken step, and the
fix a log asks for.

Each check's docstring states its question. The inputs are the module's constants, which the
notebooks print: a checkpoint table shaped like notebook 07's :math:`\beta = 0.25` run (fixed
numbers, so that the answer is the same in fast mode), a pair's true preference under flipped
labels, a hand-written DPO step and a TRL log.
"""

from __future__ import annotations

import math

from .. import numpy_dpo as nd
from . import feedback as fb
from .language import tr
from .practice import answer_choice, answer_number, pending

__all__ = [
    "check_pick_checkpoint",
    "check_noisy_label_optimum",
    "check_broken_step",
    "check_log_fix",
    "checkpoint_table",
    "clinic_log",
]

# 07, section 2: checkpoints of one run, every 50 steps. The judge's score is the mean score of
# samples by a held-out judge (notebook 07 has the true reward for it).
CHECKPOINT_COLUMNS = ("step", "held-out acc", "held-out loss", "KL", "valid", "judge")
CHECKPOINTS = (
    (0, 0.500, 0.693, 0.0, 0.95, -0.10),
    (50, 0.640, 0.655, 1.1, 0.94, 0.62),
    (100, 0.690, 0.631, 2.4, 0.92, 0.85),
    (150, 0.720, 0.618, 19.5, 0.55, -0.40),
    (200, 0.760, 0.602, 34.0, 0.31, -1.60),
    (250, 0.740, 0.610, 26.0, 0.72, 0.20),
)
# 07, section 6: one pair, its true reward gap r(y_w) - r(y_l), and the flip rate epsilon
NOISE_GAP, NOISE_EPS = 2.0, 0.2
# 08: a hand-written step (the lines the question labels) and the log of a TRL run
CLINIC_LOG_STEPS = (10, 20, 30, 40, 50, 60)


def checkpoint_table() -> str:
    """Notebook 07's checkpoint table (``CHECKPOINTS``) as the notebook prints it."""
    head = f"{'step':>5} {'held-out acc':>13} {'held-out loss':>14} {'KL':>6} {'valid':>6} {'judge':>7}"
    rows = [
        f"{s:>5} {acc:>13.3f} {loss:>14.3f} {kl:>6.1f} {valid:>6.0%} {judge:>+7.2f}"
        for s, acc, loss, kl, valid, judge in CHECKPOINTS
    ]
    return "\n".join([head, *rows])


def _row(step):
    return next(row for row in CHECKPOINTS if row[0] == step)


def check_pick_checkpoint(step):
    r"""Notebook 07. From ``CHECKPOINTS`` (held-out implicit-reward accuracy and loss, KL to the
    reference, the share of valid samples, a held-out judge's mean score of samples): the step of the
    checkpoint to keep."""
    name = "check_pick_checkpoint"
    if pending(name, step=step):
        return False
    x = fb.number(name, "step", step)
    steps = [row[0] for row in CHECKPOINTS]
    if x not in steps:
        raise AssertionError(
            tr("{check}: step = {x} is not a checkpoint of the table: {steps}", check=name, x=x, steps=steps)
        )
    best = max(CHECKPOINTS, key=lambda row: row[5])[0]  # the samples, as a held-out judge scores them
    by_accuracy = max(CHECKPOINTS, key=lambda row: row[1])[0]
    by_loss = min(CHECKPOINTS, key=lambda row: row[2])[0]
    last = steps[-1]
    if int(x) != best:
        s = int(x)
        _, acc, loss, kl, valid, judge = _row(s)
        if s in (by_accuracy, by_loss):
            why = tr(
                "step {s} has the best held-out accuracy ({acc:.3f}) and loss ({loss:.3f}), but only "
                "{valid:.0%} of its samples are valid and KL is {kl:.1f} nats: it is inside the collapse. "
                "Held-out accuracy ranks two fixed texts; it does not read what the policy writes",
                s=s, acc=acc, loss=loss, valid=valid, kl=kl,
            )  # fmt: skip
        elif s == last:
            why = tr(
                "the last checkpoint has partly recovered ({valid:.0%} valid), but its judge score "
                "{judge:+.2f} is below the best one's, and it came through the collapse: judge every "
                "checkpoint, not the final one alone",
                valid=valid, judge=judge,
            )  # fmt: skip
        elif s == 0:
            why = tr("step 0 is the reference itself: later checkpoints score higher on samples")
        else:
            prev = _row(steps[steps.index(s) - 1])
            why = (
                tr(
                    "KL jumped from {k0:.1f} to {kl:.1f} nats in one interval and validity fell to "
                    "{valid:.0%}: the cheap alarm of section 2; the judge score fell too",
                    k0=prev[3],
                    kl=kl,
                    valid=valid,
                )  # fmt: skip
                if kl > 5 * prev[3] and valid < prev[4] - 0.1
                else tr(
                    "its samples are valid and its KL small, but a later checkpoint, still valid and "
                    "without a jump in KL, scores higher with the judge ({judge:+.2f} here)",
                    judge=judge,
                )
            )
        wrong = tr("{check}: step {s} is not the one to keep.", check=name, s=s)
        raise AssertionError(wrong + fb.hint_lines([why]))
    _, acc, loss, kl, valid, judge = _row(best)
    return fb.passed(
        tr(
            "step {s}: the best judge score ({judge:+.2f}) with {valid:.0%} valid samples at KL {kl:.1f}; "
            "held-out accuracy and loss would have picked step {bad}, inside the collapse.",
            s=best,
            judge=judge,
            valid=valid,
            kl=kl,
            bad=by_accuracy,
        )
    )


def _noisy_optimum():
    p = float(nd.sigmoid(NOISE_GAP))
    e = NOISE_EPS
    p_data = (1 - e) * p + e * (1 - p)  # what the flipped labels show
    return p, p_data, (1 - e) * p_data + e * (1 - p_data)


def check_noisy_label_optimum(p_dpo, p_cdpo):
    r"""Notebook 07. A pair with true reward gap :math:`r(y_w) - r(y_l) = 2`, each label flipped with
    probability :math:`\epsilon = 0.2`: the preference probability :math:`\sigma(m)` (the margin
    :math:`m = \beta h`) at the population optimum of DPO, and of cDPO with label smoothing :math:`\epsilon`."""
    name = "check_noisy_label_optimum"
    if pending(name, p_dpo=p_dpo, p_cdpo=p_cdpo):
        return False
    p, p_data, p_cdpo_right = _noisy_optimum()
    e = NOISE_EPS
    where = tr("a true reward gap of {gap:g}, labels flipped with probability {eps}", gap=NOISE_GAP, eps=e)
    answer_number(name, "p_dpo", p_dpo, p_data, [
        (tr("that is p = sigma(2), the true preference: the flipped labels show p~, pulled toward 1/2"), p),
        (tr("the flipped pairs count too: p~ = (1 - eps) p + eps (1 - p)"), (1 - e) * p),
        (tr("that is 1 - p~, the probability that y_l is preferred"), 1 - p_data),
        (tr("that is the reward gap, not a probability: p = sigma(gap)"), NOISE_GAP),
    ], where)  # fmt: skip
    answer_number(name, "p_cdpo", p_cdpo, p_cdpo_right, [
        (tr("that is DPO's optimum: cDPO smooths the labels once more, on top of the flips in the data"),
         p_data),
        (tr("that is robust DPO's optimum, which undoes the flips; cDPO shrinks instead"), p),
        (tr("two flips at eps are not one flip at 2 eps: smooth p~ with eps, (1 - eps) p~ + eps (1 - p~)"),
         (1 - 2 * e) * p + 2 * e * (1 - p)),
    ], where)  # fmt: skip
    logit = math.log(p_data / (1 - p_data)), math.log(p_cdpo_right / (1 - p_cdpo_right))
    return fb.passed(
        tr(
            "DPO {pd:.3f}, cDPO {pc:.3f}, against the true p = {p:.3f}: the reward gap learned is {hd:.2f} "
            "and {hc:.2f} instead of {gap:g}; robust DPO's optimum is p itself.",
            pd=p_data,
            pc=p_cdpo_right,
            p=p,
            hd=logit[0],
            hc=logit[1],
            gap=NOISE_GAP,
        )
    )


def check_broken_step(line):
    r"""Notebook 08. The hand-written step shown in section 1 logs ``loss`` 0.693147 and
    ``rewards/margins`` 0 at every step with ``grad_norm`` about 1.3 at :math:`\beta = 2`: the letter
    of the line with the bug."""
    name = "check_broken_step"
    if pending(name, line=line):
        return False
    options = {
        "a": "",
        "b": tr(
            "the optimizer is built over the policy it steps (after it is loaded); the weights move, and "
            "still the margin stays 0"
        ),
        "c": tr(
            "log_softmax on float32 logits is section 3's fix; fp16 would show NaN or a loss of 0, not ln 2"
        ),
        "d": tr(
            "the reference is scored without gradient, as it must be (section 8); a bug there would not "
            "hold the margin at 0"
        ),
        "e": tr(
            "beta = 2.0 is set, and grad_norm is not 0: with beta = 0 the gradient would be exactly 0 too"
        ),
    }
    answer_choice(name, "line", line, options, "a")
    return fb.passed(
        tr(
            "(a): reference = policy makes the reference the policy itself, so both log-ratios are 0 at "
            "every step; the gradient is not 0 and the weights move, but the margin never does. Copy it: "
            "reference = copy.deepcopy(policy).eval().requires_grad_(False)."
        )
    )


def clinic_log() -> list[dict]:
    """The TRL log of notebook 08's "read a log" question: ``log_history`` entries, as in
    ``trainer_state.json``."""
    return [
        {
            "step": s,
            "epoch": round(s / 500, 3),
            "learning_rate": 5e-7,
            "loss": 0.6931,
            "grad_norm": 0.0,
            "rewards/chosen": 0.0,
            "rewards/rejected": 0.0,
            "rewards/margins": 0.0,
            "rewards/accuracies": 0.0,
            "logps/chosen": 0.0,
            "logps/rejected": 0.0,
        }
        for s in CLINIC_LOG_STEPS
    ]


def check_log_fix(fix):
    r"""Notebook 08 (multiple choice). ``clinic_log()``: ``loss`` 0.6931, ``grad_norm`` 0 and
    ``logps/chosen`` = ``logps/rejected`` = 0.0 at every step of a TRL run: the fix."""
    name = "check_log_fix"
    if pending(name, fix=fix):
        return False
    options = {
        "a": tr(
            "beta = 0 gives ln 2 and a zero gradient, but the log-probs would still be sums over the "
            "completion's tokens, below 0; here they are exactly 0.0"
        ),
        "b": tr("learning_rate is 5e-07, not 0; and a learning rate of 0 would leave the log-probs below 0"),
        "c": "",
        "d": tr("fp16 overflow shows NaN (section 3, 10.4), not a loss of ln 2 with log-probs of exactly 0"),
    }
    answer_choice(name, "fix", fix, options, "c")
    return fb.passed(
        tr(
            "(c): logps/chosen and logps/rejected of exactly 0.0 are sums over no token: no completion "
            "token is scored (truncated away or masked), so both log-ratios are 0, the loss is ln 2 and "
            "the gradient 0 (section 10.2)."
        )
    )
