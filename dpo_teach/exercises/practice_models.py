r"""The practice questions of notebooks 04-06 (see :mod:`.practice`): which answers lose probability
at the optimum, the beta for a KL budget, reading a logged margin, the prompt mask, a loss for
noisy labels, and the margin TRL's IPO asks for.

Each check's docstring states its question; the inputs are the module's constants, numbers the
notebooks do not work in their text.
"""

from __future__ import annotations

import math

import numpy as np

from ..bandit import expected_reward, kl_divergence, optimal_policy
from ..numpy_variants import LOSSES
from . import feedback as fb
from .language import tr
from .practice import answer_choice, answer_number, answer_set, pending

__all__ = [
    "check_displaced_answers",
    "check_beta_for_kl_budget",
    "check_logged_margin",
    "check_prompt_mask",
    "check_noisy_label_loss",
    "check_trl_ipo_margin",
]

# 04: a fitted reward model r_phi on three answers; notebook 04's world (8 answers) and a KL budget
DISPLACED_REF, DISPLACED_REWARD, DISPLACED_BETA = (0.5, 0.3, 0.2), (0.2, 0.5, 1.5), 1.0
BUDGET_REF = (0.30, 0.22, 0.15, 0.12, 0.09, 0.06, 0.04, 0.02)
BUDGET_REWARD = (0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 0.2, 2.0)
BUDGET_KL, BUDGET_BETAS = 1.0, (0.1, 0.3, 0.5, 1.0, 3.0)
# 05: a log line in TRL's names
LOGGED = {"rewards/chosen": 0.35, "rewards/rejected": -0.05, "beta": 0.1}
# 06
FLIP_RATE = 0.2
IPO_BETA, IPO_LENGTHS = 0.5, (30, 10)  # |y_w|, |y_l|


def check_displaced_answers(answers):
    r"""Notebook 04. At the optimum :math:`\pi^* = \pi_\mathrm{ref}\,e^{r_\phi/\beta}/Z` for
    :math:`\pi_\mathrm{ref} = (0.5, 0.3, 0.2)`, :math:`r_\phi = (0.2, 0.5, 1.5)`, :math:`\beta = 1`:
    the 0-based indices of the answers with :math:`\pi^*(y) < \pi_\mathrm{ref}(y)`."""
    name = "check_displaced_answers"
    if pending(name, answers=answers):
        return False
    ref, r, b = np.array(DISPLACED_REF), np.array(DISPLACED_REWARD), DISPLACED_BETA
    bar = b * math.log(float(ref @ np.exp(r / b)))  # beta log Z
    expected = {i for i in range(len(ref)) if r[i] < bar}
    reasons = {
        i: tr(
            "answer {i}: r_phi = {r} is {side} beta log Z = {bar:.3f}, so it {moves}",
            i=i,
            r=r[i],
            side=tr("below") if r[i] < bar else tr("above"),
            bar=bar,
            moves=tr("loses probability") if r[i] < bar else tr("gains probability"),
        )
        for i in range(len(ref))
    }
    answer_set(name, "answers", answers, expected, len(ref), reasons)
    return fb.passed(
        tr(
            "{lost}: an answer loses probability when its reward is below beta log Z = "
            "{bar:.3f}; answer 1 has a "
            "positive reward and still loses, so 'chosen' is relative.",
            lost=sorted(expected),
            bar=bar,
        )
    )


def _budget_table():
    ref, r = np.array(BUDGET_REF), np.array(BUDGET_REWARD)
    policies = {b: optimal_policy(ref, r, b) for b in BUDGET_BETAS}
    return {b: (kl_divergence(p, ref), expected_reward(p, r)) for b, p in policies.items()}


def check_beta_for_kl_budget(beta):
    r"""Notebook 04. In notebook 04's world, of :math:`\beta \in \{0.1, 0.3, 0.5, 1, 3\}`, the one whose
    optimum :math:`\pi^*_\beta` has the highest expected true reward with
    :math:`\mathrm{KL}(\pi^*_\beta \| \pi_\mathrm{ref}) \le 1` nat."""
    name = "check_beta_for_kl_budget"
    if pending(name, beta=beta):
        return False
    x = fb.number(name, "beta", beta)
    table = _budget_table()
    allowed = [b for b, (kl, _) in table.items() if kl <= BUDGET_KL]
    best = max(allowed, key=lambda b: table[b][1])
    if not any(math.isclose(x, b) for b in BUDGET_BETAS):
        raise AssertionError(
            tr(
                "{check}: beta = {x} is not one of the candidates {betas}",
                check=name,
                x=x,
                betas=BUDGET_BETAS,
            )
        )
    if not math.isclose(x, best):
        kl, reward = table[min(BUDGET_BETAS, key=lambda b: abs(b - x))]
        why = (
            tr("its KL is {kl:.4f} nats, over the budget of {budget}: a smaller beta moves "
                "further from pi_ref",
               kl=kl, budget=BUDGET_KL)
            if kl > BUDGET_KL
            else tr("it is within the budget (KL {kl:.4f}) but its expected reward {reward:.4f} is lower: "
                    "a larger beta stays closer to pi_ref than the budget needs", kl=kl, reward=reward)
        )  # fmt: skip
        raise AssertionError(
            tr("{check}: beta = {x} is not the best choice.", check=name, x=x) + fb.hint_lines([why])
        )
    kl, reward = table[best]
    return fb.passed(
        tr(
            "beta = {b}: KL {kl:.4f} nats, expected reward {reward:.4f}; the next smaller "
            "beta is just over the "
            "budget. Both fall as beta grows, so the best beta is the smallest one the budget allows.",
            b=best,
            kl=kl,
            reward=reward,
        )
    )


def check_logged_margin(margin, h):
    r"""Notebook 05. From a log line ``rewards/chosen = 0.35``, ``rewards/rejected = -0.05`` at
    :math:`\beta = 0.1`: the margin :math:`m` and the log-ratio difference :math:`h`."""
    name = "check_logged_margin"
    if pending(name, margin=margin, h=h):
        return False
    rc, rr, b = LOGGED["rewards/chosen"], LOGGED["rewards/rejected"], LOGGED["beta"]
    m = rc - rr
    where = tr("the log line of notebook 05")
    answer_number(name, "margin", margin, m, [
        (tr("the margin is rewards/chosen MINUS rewards/rejected"), rc + rr),
        (tr("sign: chosen minus rejected"), -m),
        (tr("that is h = m / beta; the logged rewards already include beta"), m / b),
        (tr("the logged rewards already include beta: do not multiply by it again"), m * b),
    ], where)  # fmt: skip
    answer_number(name, "h", h, m / b, [
        (tr("that is the margin m; h = m / beta has no beta"), m),
        (tr("divide by beta, do not multiply: h = m / beta"), m * b),
        (tr("sign: chosen minus rejected"), -m / b),
    ], where)  # fmt: skip
    return fb.passed(
        tr(
            "m = {m:.2f}, h = {h:.1f} nats: the policy moved {h:.1f} nats more toward y_w "
            "than toward y_l, and "
            "the loss of this pair is -log sigma({m:.2f}) = {loss:.4f}.",
            m=m,
            h=m / b,
            loss=math.log1p(math.exp(-m)),
        )
    )


def check_prompt_mask(choice):
    r"""Notebook 05, predict then run (multiple choice). What leaving the prompt's tokens in the
    log-prob sums changes."""
    name = "check_prompt_mask"
    if pending(name, choice=choice):
        return False
    options = {
        "a": tr(
            "log pi(x, y) = log pi(x) + log pi(y|x), and log pi(x) is the same in the chosen "
            "and the rejected "
            "row of a pair: it cancels in the margin, so the loss cannot change"
        ),
        "b": "",
        "c": tr("the loss is -log sigma(margin): if the margin stays, so does the loss"),
        "d": tr(
            "padding differs between the two rows of a pair and does not cancel; the prompt is the same in "
            "both rows and does"
        ),
    }
    answer_choice(name, "choice", choice, options, "b")
    return fb.passed(
        tr(
            "(b): log pi(x) is the same in both rows of a pair, so the margin and the loss stay; each logged "
            "reward moves by one constant per prompt, f(x) = beta [log pi_theta(x) - log pi_ref(x)]."
        )
    )


def check_noisy_label_loss(loss_type, label_smoothing):
    r"""Notebook 06. About one pair in five is labelled the wrong way round, at random: a member of
    ``LOSSES`` that models it, and its ``label_smoothing``."""
    name = "check_noisy_label_loss"
    if pending(name, loss_type=loss_type, label_smoothing=label_smoothing):
        return False
    if not isinstance(loss_type, str) or loss_type not in LOSSES:
        raise AssertionError(
            tr("{check}: loss_type = {value} is not a name in LOSSES: {names}", check=name,
               value=repr(loss_type), names=", ".join(LOSSES))
        )  # fmt: skip
    reasons = {
        "sigmoid": tr("DPO itself trusts every label: a flipped pair pushes with full weight the wrong way"),
        "ipo": tr(
            "IPO bounds the margin (a target 1/(2 beta)) whatever the labels; it has no flip rate to set"
        ),
        "hinge": tr(
            "the hinge stops pushing past a margin, but it has no flip rate: a flipped pair "
            "still counts fully"
        ),
        "simpo": tr(
            "SimPO changes the scale (per-token, no reference) and adds a target margin, not a flip rate"
        ),
        "sigmoid_norm": tr("length normalisation is about long answers, not about flipped labels"),
        "dpop": tr(
            "DPOP keeps the chosen answer's probability from falling; it does not model flipped labels"
        ),
        "rpo": tr("RPO adds the chosen answers' NLL; it does not model flipped labels"),
    }
    if loss_type not in ("cdpo", "robust"):
        why = reasons.get(loss_type, tr("that member does not model a known rate of flipped labels"))
        raise AssertionError(
            tr("{check}: {value} is not right.", check=name, value=repr(loss_type)) + fb.hint_lines([why])
        )
    answer_number(name, "label_smoothing", label_smoothing, FLIP_RATE, [
        (tr("that is the share labelled right; label_smoothing is the share flipped"), 1 - FLIP_RATE),
        (tr("give a probability, not a percentage"), 100 * FLIP_RATE),
    ], tr("one pair in five flipped"))  # fmt: skip
    if loss_type == "cdpo":  # a finite target: -f'(z) = (1 - eps) - sigma(z) is 0 at z = log((1 - eps) / eps)
        return fb.passed(tr(
            "cdpo with label_smoothing = {eps}: the loss expects a flip with probability {eps}, so it stops "
            "pushing a pair once its margin reaches log((1 - {eps}) / {eps}) = {cap:.2f}; "
            "that cap also shrinks the fit.",
            eps=FLIP_RATE, cap=math.log((1 - FLIP_RATE) / FLIP_RATE),
        ))  # fmt: skip
    # robust: -f'(z) > 0 everywhere, tending to eps / (1 - 2 eps): no target, it keeps pushing
    return fb.passed(tr(
        "robust with label_smoothing = {eps}: the loss corrects for a flip with probability {eps}, "
        "so its optimum is the true preference probability when {eps} is the true rate; "
        "it still pushes every pair, with a weight that never reaches 0.",
        eps=FLIP_RATE,
    ))  # fmt: skip


def check_trl_ipo_margin(h):
    r"""Notebook 06. TRL's IPO (per-token log-ratios) at :math:`\beta = 0.5`, answers of 30 and 10
    tokens, on the symmetric path :math:`h_w = -h_l = h/2`: the summed margin :math:`h` at its optimum."""
    name = "check_trl_ipo_margin"
    if pending(name, h=h):
        return False
    lw, ll = IPO_LENGTHS
    target = 1 / (2 * IPO_BETA)
    expected = target / (1 / (2 * lw) + 1 / (2 * ll))
    answer_number(name, "h", h, expected, [
        (tr("that is the paper's (summed) IPO target 1/(2 beta); TRL's divides each log-ratio by its length"),
         target),
        (tr("the lengths enter as h_w / |y_w| - h_l / |y_l| with h_w = h/2, h_l = -h/2, not "
            "as one mean length"),
         target * (lw + ll) / 2),
        (tr("the lengths enter as h_w / |y_w| - h_l / |y_l| with h_w = h/2, h_l = -h/2, not "
            "as one mean length"),
         target * (lw + ll)),
        (tr("that uses the target 1/beta; the IPO target is 1/(2 beta), half of it"), 2 * expected),
    ], tr("TRL's IPO at beta = {beta}, |y_w| = {lw}, |y_l| = {ll}", beta=IPO_BETA, lw=lw, ll=ll))  # fmt: skip
    return fb.passed(
        tr(
            "h = {h:g} nats, {ratio:g} times the summed IPO's target {target:g}: a beta tuned for one IPO is "
            "wrong for the other.",
            h=expected,
            ratio=expected / target,
            target=target,
        )
    )
