r"""The practice questions of notebooks 01-03 (see :mod:`.practice`): the margin, the loss at step 0,
the optimal policy, why :math:`Z(x)` cancels, one gradient entry, and where one pair drives a policy.

Each check's docstring states its question; the inputs are the module's constants, numbers the
notebooks do not work in their text.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy_dpo as nd
from ..bandit import optimal_policy
from . import feedback as fb
from .language import tr
from .practice import answer_choice, answer_number, pending

__all__ = [
    "check_toy_margin",
    "check_loss_at_start",
    "check_optimal_share",
    "check_why_z_cancels",
    "check_chosen_gradient",
    "check_one_pair_forever",
]

# 01: pi_theta(y_w), pi_ref(y_w), pi_theta(y_l), pi_ref(y_l), beta
MARGIN_PROBS = (0.3, 0.2, 0.5, 0.6)
MARGIN_BETA = 0.2
START_REF = (0.9, 0.05)  # pi_ref(y_w), pi_ref(y_l) = pi_theta at step 0
START_BETA = 3.0
# 02
SHARE_REF, SHARE_REWARDS, SHARE_BETA = (0.5, 0.25, 0.25), (0.0, 1.0, 2.0), 0.5
# 03: policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
GRADIENT_LOGPS, GRADIENT_BETA = (-12.0, -10.0, -11.0, -12.0), 0.5


def check_toy_margin(m):
    r"""Notebook 01. The margin :math:`m = \hat r_\theta(x, y_w) - \hat r_\theta(x, y_l)` for
    :math:`\pi_\theta(y_w) = 0.3`, :math:`\pi_\mathrm{ref}(y_w) = 0.2`, :math:`\pi_\theta(y_l) = 0.5`,
    :math:`\pi_\mathrm{ref}(y_l) = 0.6` at :math:`\beta = 0.2`."""
    name = "check_toy_margin"
    if pending(name, m=m):
        return False
    pw, rw, pl, rl = MARGIN_PROBS
    b, h = MARGIN_BETA, math.log(pw / rw) - math.log(pl / rl)
    variants = [
        (tr("that is h, the log-ratio difference; the margin is m = beta h"), h),
        (
            tr("sign: m = r_hat_w - r_hat_l, chosen minus rejected (and each ratio is pi_theta / pi_ref)"),
            -b * h,
        ),
        (tr("use the natural log (np.log), not log10"), b * h / math.log(10)),
        (tr("beta multiplies, it does not divide"), h / b),
        (
            tr("the implicit reward is a log-ratio, not a difference of probabilities"),
            b * ((pw - rw) - (pl - rl)),
        ),
        (tr("that is r_hat_w alone; subtract r_hat_l"), b * math.log(pw / rw)),
        (tr("the margin is a difference of the two rewards, not their sum"), b * math.log(pw / rw * pl / rl)),
    ]
    m = answer_number(name, "m", m, b * h, variants, tr("the margin question of notebook 01"))
    return fb.passed(
        tr(
            "m = {m:.6f}: the policy moved toward y_w (ratio 1.5) and away from y_l (ratio 0.833), so m > 0 "
            "and the loss -log sigma(m) = {loss:.4f} is below ln 2.",
            m=m,
            loss=math.log1p(math.exp(-m)),
        )
    )


def check_loss_at_start(prediction):
    r"""Notebook 01, predict then run. At step 0 the policy is the reference; for a pair with
    :math:`\pi_\mathrm{ref}(y_w) = 0.9`, :math:`\pi_\mathrm{ref}(y_l) = 0.05` and :math:`\beta = 3`,
    the loss."""
    name = "check_loss_at_start"
    if pending(name, prediction=prediction):
        return False
    lw, ll = (math.log(p) for p in START_REF)
    expected = float(nd.dpo_loss(lw, ll, lw, ll, START_BETA)[0])
    own = math.log(START_REF[0] / START_REF[1])
    variants = [
        (tr("the loss is 0 only for an infinite margin; at step 0 every margin is 0"), 0.0),
        (
            tr("beta multiplies the margin, and the margin is 0: beta changes nothing at step 0"),
            START_BETA * math.log(2),
        ),
        (
            tr(
                "that uses the reference's own preference for y_w; the margin compares the policy with the "
                "reference, so it is 0 when they are equal"
            ),
            math.log1p(math.exp(-own)),
        ),
        (
            tr(
                "that uses the reference's own preference for y_w; the margin compares the policy with the "
                "reference, so it is 0 when they are equal"
            ),
            math.log1p(math.exp(-START_BETA * own)),
        ),
        (tr("that is sigma(0) = p(y_w > y_l) = 1/2; the loss is -log of it"), 0.5),
        (tr("use the natural log (np.log), not log10"), math.log10(2)),
    ]
    answer_number(
        name, "prediction", prediction, expected, variants, tr("the step-0 question of notebook 01")
    )
    return fb.passed(
        tr(
            "ln 2 = {loss:.4f}: at step 0 the margin is 0, so the loss is ln 2 for every "
            "pair and every beta.",
            loss=expected,
        )
    )


def check_optimal_share(p):
    r"""Notebook 02. :math:`\pi^*(y_3)` of Eq. 4 for :math:`\pi_\mathrm{ref} = (0.5, 0.25, 0.25)`,
    :math:`r = (0, 1, 2)`, :math:`\beta = 0.5`."""
    name = "check_optimal_share"
    if pending(name, p=p):
        return False
    ref, r, b = np.array(SHARE_REF), np.array(SHARE_REWARDS), SHARE_BETA
    expected = float(optimal_policy(ref, r, b)[2])
    if fb.number(name, "p", p) > 1.0:
        raise AssertionError(
            tr(
                "{check}: p = {p} is above 1, so it is no probability: divide by Z = sum_y "
                "pi_ref(y) exp(r(y) / beta)",
                check=name,
                p=fb.fmt(fb.number(name, "p", p)),
            )
        )
    variants = [
        (
            tr("beta divides the reward: exp(r / beta), not exp(beta * r)"),
            float(optimal_policy(ref, r * b * b, b)[2]),
        ),
        (
            tr("beta is missing: exp(r / beta) with beta = {beta}", beta=b),
            float(optimal_policy(ref, r * b, b)[2]),
        ),
        (
            tr("pi_ref is missing: pi* is proportional to pi_ref(y) exp(r(y) / beta)"),
            float(optimal_policy(np.ones(3) / 3, r, b)[2]),
        ),
        (tr("that is pi_ref(y_3): the optimum as beta -> infinity, not at beta = {beta}", beta=b), ref[2]),
        (tr("that is the optimum as beta -> 0 (all mass on the best answer)"), 1.0),
        (tr("that is y_1's share; y_3 is the answer with reward 2"), float(optimal_policy(ref, r, b)[0])),
    ]
    answer_number(name, "p", p, expected, variants, tr("the optimal-policy question of notebook 02"))
    return fb.passed(
        tr(
            "pi*(y_3) = {p:.4f}: from pi_ref = 0.25, the reward 2 / beta = 4 multiplies its odds by e^4.",
            p=expected,
        )
    )


def check_why_z_cancels(choice):
    r"""Notebook 02, multiple choice. Why DPO's loss needs no :math:`Z(x)`."""
    name = "check_why_z_cancels"
    if pending(name, choice=choice):
        return False
    options = {
        "a": tr(
            "Z(x) = sum_y pi_ref(y|x) exp(r(x,y) / beta) is 1 for a policy's own implicit "
            "reward (Theorem 1), "
            "not for the true reward: beta log Z(x) is a real number there"
        ),
        "b": "",
        "c": tr(
            "beta log Z(x) need not be small (Section 3 computes it); it cancels exactly, it is not neglected"
        ),
        "d": tr(
            "DPO never samples during training and never computes Z(x), which sums over every possible answer"
        ),
    }
    answer_choice(name, "choice", choice, options, "b")
    return fb.passed(
        tr(
            "(b): beta log Z(x) depends on the prompt only; Bradley-Terry compares two answers to the same "
            "prompt, so it cancels in the difference (Eq. 6)."
        )
    )


def check_chosen_gradient(grad_w):
    r"""Notebook 03. :math:`\partial\mathcal{L}/\partial\log\pi_\theta(y_w)` for one pair with
    :math:`\log\pi_\theta(y_w) = -12`, :math:`\log\pi_\theta(y_l) = -10`,
    :math:`\log\pi_\mathrm{ref}(y_w) = -11`, :math:`\log\pi_\mathrm{ref}(y_l) = -12`, :math:`\beta = 0.5`."""
    name = "check_chosen_gradient"
    if pending(name, grad_w=grad_w):
        return False
    b = GRADIENT_BETA
    expected = float(nd.dpo_loss_grad(*GRADIENT_LOGPS, b)[0])
    m = float(nd.margin(*GRADIENT_LOGPS, b))
    w = float(nd.sigmoid(-m))
    variants = [
        (
            tr("sign: raising log pi_theta(y_w) lowers the loss, so the derivative is negative, -beta w"),
            b * w,
        ),
        (tr("beta is missing: dL/dlog pi_theta(y_w) = -beta w"), -w),
        (
            tr("the weight is w = sigma(-m) = sigma(r_hat_l - r_hat_w), not sigma(m)"),
            -b * float(nd.sigmoid(m)),
        ),
        (tr("the weight takes the margin m = beta h, not h"), -b * float(nd.sigmoid(-m / b))),
        (tr("that is the value at step 0, where m = 0 and w = 1/2; here m = {m}", m=m), -b / 2),
        (tr("that is the loss -log sigma(m), not its derivative"), float(nd.dpo_loss(*GRADIENT_LOGPS, b)[0])),
    ]
    answer_number(name, "grad_w", grad_w, expected, variants, tr("the gradient question of notebook 03"))
    return fb.passed(
        tr(
            "dL/dlog pi_theta(y_w) = {g:.4f}: the margin is {m} (the pair is ordered "
            "wrongly), so w = {w:.4f} "
            "is above 1/2 and the chosen answer is pushed up hard.",
            g=expected,
            m=m,
            w=w,
        )
    )


def check_one_pair_forever(choice):
    r"""Notebook 03, predict then run (multiple choice). One pair, always won by the same answer,
    trained for ever: where does :math:`\pi_\theta(y_l)` go?"""
    name = "check_one_pair_forever"
    if pending(name, choice=choice):
        return False
    options = {
        "a": tr("the weight sigma(-m) fades but never reaches 0: every step still lowers log pi_theta(y_l)"),
        "b": tr(
            "Eq. 4's optimum assumes Bradley-Terry labels with a finite reward gap; a pair "
            "always won the same "
            "way asks for an infinite margin, so no finite pi_theta(y_l) minimises the loss, whatever beta"
        ),
        "c": "",
        "d": tr(
            "on a softmax policy the step moves the two logits of the pair by the same amount in opposite "
            "directions: -beta w (e_{y_w} - e_{y_l})"
        ),
    }
    answer_choice(name, "choice", choice, options, "c")
    return fb.passed(
        tr(
            "(c): the loss reaches 0 only as the margin goes to infinity, so pi_theta(y_l) "
            "keeps falling toward "
            "0 whatever beta is; beta only sets how fast the weight fades."
        )
    )
