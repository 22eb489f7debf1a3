r"""Exercises with instant feedback for the DPO course (arXiv:2305.18290).

One ``check_*`` per exercise of ``notebooks/05_exercises.ipynb``. A check takes the student's
answer (a number, or a function the student wrote) and compares it with the library's reference
in float64, on fixed inputs first, then seeded random batches, then extreme ones.

- Right: prints one short line and returns ``True``.
- Wrong: raises ``AssertionError`` saying on which input, expected vs received, and, where the
  answer matches a classic mistake (beta forgotten, the margin's sign flipped, log of a
  log-probability, mean instead of sum, ``log(sigmoid(.))`` overflowing), what that mistake is.
- Malformed (the ``...`` placeholder, a string, a wrong shape, a function that raises): also an
  ``AssertionError`` that says what to fix.

Tolerance everywhere: ``numpy.isclose(received, expected, rtol=RTOL, atol=ATOL)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _feedback as fb
from . import numpy_dpo as nd
from . import torch_dpo as td
from ._feedback import ATOL, RTOL
from .bandit import optimal_policy
from .logprobs import sequence_logps

__all__ = [
    "RTOL",
    "ATOL",
    "check_implicit_reward",
    "check_bt_probability",
    "check_dpo_loss_value",
    "check_dpo_loss",
    "check_gradient_weight",
    "check_dpo_gradient",
    "check_optimal_policy",
    "check_sequence_logps",
    "check_kl_when_beta_doubles",
]

# The toy example: pi_theta(y_w|x) = 0.6, pi_theta(y_l|x) = 0.4, pi_ref = 0.5 for both.
TOY_POLICY = (0.6, 0.4)
TOY_REFERENCE = (0.5, 0.5)
TOY_BETA = 0.1
# The log-prob example: (policy_chosen, policy_rejected, ref_chosen, ref_rejected) log-probs.
LOGP_EXAMPLE = (-0.2, -0.8, -0.3, -0.7)
LOGP_BETA = 0.1
# The tabular world of the KL exercise: three responses, Eq. 4 at beta and at 2 * beta.
KL_REF_PROBS = (0.5, 0.3, 0.2)
KL_REWARDS = (1.0, 0.0, -1.0)
KL_BETA = 0.5

_LOG_OF_LOG = (
    "NaN comes from the log of a negative number: the inputs are already log-probabilities, "
    "do not take their log again (log of a log-probability)"
)
_OVERFLOW_LOSS = (
    "a non-finite value on a large margin is overflow: sigmoid(m) underflows to 0 for m < -745, "
    "so log(sigmoid(m)) = -inf, and exp(-m) overflows; use the stable form "
    "-log sigma(m) = np.logaddexp(0, -m) (torch: -F.logsigmoid(m))"
)
_OVERFLOW_WEIGHT = (
    "a non-finite value on a large margin is overflow: exp(m) or exp(-m) is inf, and inf / inf "
    "is NaN; use a stable sigmoid: sigma(-m) = np.exp(-np.logaddexp(0, m)) (torch: torch.sigmoid)"
)


# ---------------------------------------------------------------- 1-3: numbers on one example


def _toy_logs():
    (pw, pl), (rw, rl) = TOY_POLICY, TOY_REFERENCE
    return math.log(pw), math.log(pl), math.log(rw), math.log(rl)


def check_implicit_reward(r_hat_w, r_hat_l):
    r"""Exercise 1. The implicit rewards of the toy example at beta = 0.1 (Sec. 5):
    :math:`\hat r_\theta(x, y) = \beta \log \frac{\pi_\theta(y \mid x)}{\pi_\mathrm{ref}(y \mid x)}`
    with :math:`\pi_\theta = (0.6, 0.4)`, :math:`\pi_\mathrm{ref} = (0.5, 0.5)`.
    """
    beta, (pw, pl), (rw, rl) = TOY_BETA, TOY_POLICY, TOY_REFERENCE
    received = {}
    for name, value, p, r, other in (
        ("r_hat_w", r_hat_w, pw, rw, (pl, rl)),
        ("r_hat_l", r_hat_l, pl, rl, (pw, rw)),
    ):
        x = received[name] = fb.number("check_implicit_reward", name, value)
        expected = beta * math.log(p / r)
        variants = [
            (f"beta is missing: r_hat = beta * log(pi_theta / pi_ref) with beta = {beta}", math.log(p / r)),
            ("beta multiplies, it does not divide", math.log(p / r) / beta),
            ("use the log of the ratio, not the difference of probabilities", beta * (p - r)),
            ("take the log of the ratio pi_theta / pi_ref", beta * p / r),
            ("the ratio is pi_theta / pi_ref, not pi_ref / pi_theta", beta * math.log(r / p)),
            (
                "log of a log-probability: the ratio of log-probs is not the log of the ratio of probs",
                beta * math.log(math.log(p) / math.log(r)),
            ),
            ("use the natural log (np.log), not log10", beta * math.log10(p / r)),
            (
                f"that is {'r_hat_l' if name == 'r_hat_w' else 'r_hat_w'}: y_w is the answer with "
                "pi_theta = 0.6, y_l the one with 0.4",
                beta * math.log(other[0] / other[1]),
            ),
        ]
        fb.compare_number(
            "check_implicit_reward", name, x, expected, variants, f"the toy example at beta = {beta}"
        )
    r_w, r_l = received["r_hat_w"], received["r_hat_l"]
    return fb.passed(f"r_hat_w = {r_w:.6f}, r_hat_l = {r_l:.6f} (beta = {beta}).")


def check_bt_probability(p):
    r"""Exercise 2. The Bradley-Terry probability (Eq. 1) that y_w beats y_l in the toy example
    with beta = 1: :math:`p(y_w \succ y_l) = \sigma(\hat r_w - \hat r_l)`.
    """
    x = fb.number("check_bt_probability", "p", p)
    lw, ll, rw, rl = _toy_logs()
    r_w, r_l = lw - rw, ll - rl  # beta = 1
    expected = float(nd.sigmoid(r_w - r_l))
    sig = lambda z: float(nd.sigmoid(z))  # noqa: E731
    variants = [
        ("that is P(y_l > y_w): the margin is r_hat_w - r_hat_l, not r_hat_l - r_hat_w", sig(r_l - r_w)),
        (
            "the Bradley-Terry model takes rewards (log-ratios), not the probabilities themselves",
            sig(TOY_POLICY[0] - TOY_POLICY[1]),
        ),
        ("sigma needs the difference r_hat_w - r_hat_l, not r_hat_w alone", sig(r_w)),
        ("this exercise uses beta = 1, not 0.1", sig(TOY_BETA * (r_w - r_l))),
        ("give the probability, not its log", math.log(expected)),
        ("a margin of 0 gives 0.5: are both rewards computed from the right probabilities?", 0.5),
    ]
    if not 0.0 <= x <= 1.0:
        raise AssertionError(
            f"check_bt_probability: p = {x!r} is not a probability (it must lie "
            "in [0, 1]): p = sigmoid(r_hat_w - r_hat_l)"
            + fb.hint_lines([h for h, v in variants if math.isclose(x, v)])
        )
    fb.compare_number("check_bt_probability", "p", x, expected, variants, "the toy example at beta = 1")
    return fb.passed(f"p(y_w > y_l) = {x:.6f}: at beta = 1 it is 0.6 / (0.6 + 0.4), as Eq. 1 says.")


def check_dpo_loss_value(loss):
    r"""Exercise 3. The DPO loss (Eq. 7) of the log-prob example at beta = 0.1:
    :math:`\log\pi_\theta(y_w) = -0.2`, :math:`\log\pi_\theta(y_l) = -0.8`,
    :math:`\log\pi_\mathrm{ref}(y_w) = -0.3`, :math:`\log\pi_\mathrm{ref}(y_l) = -0.7`.
    """
    x = fb.number("check_dpo_loss_value", "loss", loss)
    pc, pr, rc, rr = LOGP_EXAMPLE
    beta = LOGP_BETA
    nls = lambda m: float(np.logaddexp(0.0, -m))  # -log sigma(m)  # noqa: E731
    m = beta * ((pc - rc) - (pr - rr))
    variants = [
        (f"beta is missing: the margin is beta * (...) with beta = {beta}", nls(m / beta)),
        ("sign of the margin: it is r_hat_w - r_hat_l (chosen minus rejected)", nls(-m)),
        ("the loss is MINUS log sigma(margin); yours is negative", -nls(m)),
        ("the reference log-probs are missing from the margin", nls(beta * (pc - pr))),
        ("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)", 1 - float(nd.sigmoid(m))),
        ("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)", float(nd.sigmoid(m))),
        ("log-ratios are differences of log-probs, not ratios of log-probs", nls(beta * (pc / rc - pr / rr))),
        ("a margin of 0 gives ln 2: did the policy and reference terms cancel?", math.log(2)),
    ]
    fb.compare_number(
        "check_dpo_loss_value",
        "loss",
        x,
        float(nls(m)),
        variants,
        f"the log-prob example {LOGP_EXAMPLE} at beta = {beta}",
    )
    return fb.passed(f"loss = {x:.6f} (margin = {m:.3f}; a margin of 0 would give ln 2 = 0.693147).")


# ---------------------------------------------------------------- 4-6: functions on batches of pairs


def _pair_cases(seed: int) -> list:
    """Batches of pairs ``(label, (pc, pr, rc, rr), beta)``: the worked examples first (a wrong
    answer fails on the simplest input), then seeded random batches, then extreme margins."""
    f = lambda *v: np.array(v, dtype=np.float64)  # noqa: E731
    cases = [
        ("the log-prob example", tuple(f(v) for v in LOGP_EXAMPLE), LOGP_BETA),
        ("the toy example 0.6/0.4 vs 0.5/0.5", tuple(f(v) for v in _toy_logs()), 0.5),
        ("two pairs with margin 0 (loss ln 2)", (f(-3, -10), f(-4, -12), f(-2, -9), f(-3, -11)), 0.1),
    ]
    rng = np.random.default_rng(seed)
    for k in range(5):
        b = int(rng.integers(3, 9))
        arrays = tuple(-rng.uniform(1.0, 80.0, size=b) for _ in range(4))
        beta = float(rng.choice([0.05, 0.1, 0.2, 0.5, 2.0]))
        cases.append((f"random batch {k + 1} of 5 (seed {seed})", arrays, beta))
    # margins +5e4, -5e4, +800, -800: sigmoid(-800) underflows to 0 in float64
    chosen, rejected, ref = f(-1, -50001, -10, -810), f(-50001, -1, -810, -10), f(-1, -1, -10, -10)
    cases.append(("extreme margins +-5e4 and +-800", (chosen, rejected, ref, ref.copy()), 1.0))
    return cases


def _table_cases(seed: int) -> list:
    """Tables ``(label, ref_probs, rewards, beta)``: fixed, seeded random, then r / beta = 1e4."""
    f = lambda *v: np.array(v, dtype=np.float64)  # noqa: E731
    cases = [
        ("the KL exercise's table", f(*KL_REF_PROBS), f(*KL_REWARDS), KL_BETA),
        ("a uniform reference", f(0.25, 0.25, 0.25, 0.25), f(1.0, 2.0, 0.0, -1.0), 2.0),
    ]
    rng = np.random.default_rng(seed)
    for k in range(4):
        n_actions = int(rng.integers(2, 7))
        ref_probs = rng.dirichlet(np.ones(n_actions))
        rewards = rng.normal(0.0, 2.0, size=n_actions)
        beta = float(rng.choice([0.1, 0.3, 1.0, 3.0]))
        cases.append((f"random table {k + 1} of 4 (seed {seed})", ref_probs, rewards, beta))
    cases.append(("large rewards, r / beta = 1e4", f(0.2, 0.5, 0.3), f(1000.0, 0.0, -1000.0), 0.1))
    return cases


def _sequence_cases(seed: int) -> list:
    """Batches ``(label, logits (B, T, V), labels (B, T))`` with prompt and padding = -100."""
    gen = torch.Generator().manual_seed(seed)
    handmade = torch.tensor([[-100, -100, 2, 1, 3, -100], [-100, -100, -100, 0, 2, 2]])
    cases = [("a hand-made batch", torch.randn(2, 6, 4, generator=gen, dtype=torch.float64), handmade)]
    for k in range(4):
        b, t, v = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((2, 5), (6, 13), (5, 12)))
        labels = torch.full((b, t), -100)
        for row in range(b):
            prompt = int(torch.randint(1, t - 1, (1,), generator=gen))
            length = int(torch.randint(1, t - prompt + 1, (1,), generator=gen))  # padding after
            labels[row, prompt : prompt + length] = torch.randint(0, v, (length,), generator=gen)
        scale = 1e4 if k == 3 else 3.0  # the last batch: logits of 1e4, softmax underflows
        logits = scale * torch.randn(b, t, v, generator=gen, dtype=torch.float64)
        name = "large logits (scale 1e4)" if k == 3 else f"random batch {k + 1} of 3 (seed {seed})"
        cases.append((name, logits, labels))
    return cases


def _margin(pc, pr, rc, rr, beta):
    return beta * ((pc - rc) - (pr - rr))


def check_dpo_loss(fn):
    r"""Exercise 4. ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
    ref_rejected_logps, beta)`` -> per-example losses, shape (B,), Eq. (7):
    :math:`-\log\sigma\big(\beta[(\log\pi_\theta^w - \log\pi_\mathrm{ref}^w) -
    (\log\pi_\theta^l - \log\pi_\mathrm{ref}^l)]\big)`, stable up to margins of +-5e4.
    """
    nls = lambda m: np.logaddexp(0.0, -m)  # noqa: E731
    variants = [
        ("beta is missing from the margin", lambda pc, pr, rc, rr, b: nls(_margin(pc, pr, rc, rr, 1.0))),
        (
            "beta multiplies the log-ratios, it does not divide them",
            lambda pc, pr, rc, rr, b: nls(_margin(pc, pr, rc, rr, 1.0) / b),
        ),
        ("sign of the margin: it is (chosen log-ratio) - (rejected log-ratio)", lambda *a: nls(-_margin(*a))),
        ("the loss is MINUS log sigma(margin)", lambda *a: -nls(_margin(*a))),
        ("the reference log-probs are missing", lambda pc, pr, rc, rr, b: nls(b * (pc - pr))),
        ("sigmoid instead of log-sigmoid", lambda *a: nd.sigmoid(-_margin(*a))),
        ("sigmoid instead of log-sigmoid", lambda *a: -nd.sigmoid(_margin(*a))),
    ]
    n = fb.check_pair_function(
        "check_dpo_loss",
        fn,
        ("losses",),
        lambda *a: nd.dpo_loss(*a)[0],
        variants,
        nonfinite_hint=_OVERFLOW_LOSS,
        nan_hint=_LOG_OF_LOG,
        cases=_pair_cases(seed=4),
    )
    return fb.passed(f"your dpo_loss matches Eq. 7 on {n} pairs, margins up to +-5e4 included.")


def check_gradient_weight(fn):
    r"""Exercise 5. ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
    ref_rejected_logps, beta)`` -> the weight :math:`w = \sigma(\hat r_l - \hat r_w)` of each
    pair in the DPO gradient (Sec. 4), shape (B,).
    """
    variants = [
        (
            "sign: w = sigma(r_hat_l - r_hat_w) is large when the pair is ordered WRONGLY",
            lambda *a: nd.sigmoid(_margin(*a)),
        ),
        (
            "beta is missing inside the rewards",
            lambda pc, pr, rc, rr, b: nd.sigmoid(-_margin(pc, pr, rc, rr, 1.0)),
        ),
        (
            "w excludes beta: beta * w is the size of the gradient, not the weight",
            lambda *a: a[4] * nd.sigmoid(-_margin(*a)),
        ),
        ("the reference log-probs are missing", lambda pc, pr, rc, rr, b: nd.sigmoid(-b * (pc - pr))),
        ("you returned log w; return w itself", lambda *a: nd.log_sigmoid(-_margin(*a))),
    ]
    n = fb.check_pair_function(
        "check_gradient_weight",
        fn,
        ("w",),
        lambda *a: nd.sigmoid(-_margin(*a)),
        variants,
        nonfinite_hint=_OVERFLOW_WEIGHT,
        nan_hint=_LOG_OF_LOG,
        cases=_pair_cases(seed=5),
    )
    return fb.passed(f"your gradient weight is right on {n} pairs (w -> 1 when a pair is badly ordered).")


def _autograd_grads(pc, pr, rc, rr, beta):
    """The reference for exercise 6: torch autograd through the library's loss."""
    pc_t, pr_t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (pc, pr))
    losses, _, _ = td.dpo_loss(pc_t, pr_t, torch.as_tensor(rc), torch.as_tensor(rr), beta)
    losses.sum().backward()  # each loss depends on its own pair only: grad of the sum = per pair
    return pc_t.grad.numpy(), pr_t.grad.numpy()


def check_dpo_gradient(fn):
    r"""Exercise 6. ``fn(...same five arguments...)`` -> ``(grad_chosen, grad_rejected)``, the
    derivatives of each pair's loss with respect to :math:`\log\pi_\theta(y_w)` and
    :math:`\log\pi_\theta(y_l)`, derived by hand; compared with torch autograd.
    """
    w = lambda *a: nd.sigmoid(-_margin(*a))  # noqa: E731
    variants = [
        ("beta is missing in front: d loss / d logp_w = -beta * w", lambda *a: (-w(*a), w(*a))),
        (
            "signs flipped: increasing log pi(y_w) must DEcrease the loss (negative gradient)",
            lambda *a: (a[4] * w(*a), -a[4] * w(*a)),
        ),
        (
            "the weight is sigma(-margin) = sigma(r_hat_l - r_hat_w), not sigma(margin)",
            lambda *a: (-a[4] * nd.sigmoid(_margin(*a)), a[4] * nd.sigmoid(_margin(*a))),
        ),
        (
            "the two gradients have opposite signs: -beta*w for y_w, +beta*w for y_l",
            lambda *a: (-a[4] * w(*a), -a[4] * w(*a)),
        ),
        (
            "beta is missing, both in front and inside the sigmoid",
            lambda pc, pr, rc, rr, b: (-w(pc, pr, rc, rr, 1.0), w(pc, pr, rc, rr, 1.0)),
        ),
        (
            "beta is missing inside the sigmoid",
            lambda pc, pr, rc, rr, b: (-b * w(pc, pr, rc, rr, 1.0), b * w(pc, pr, rc, rr, 1.0)),
        ),
    ]
    n = fb.check_pair_function(
        "check_dpo_gradient",
        fn,
        ("grad_chosen", "grad_rejected"),
        _autograd_grads,
        variants,
        nonfinite_hint=_OVERFLOW_WEIGHT,
        nan_hint=_LOG_OF_LOG,
        cases=_pair_cases(seed=6),
        expected_label="autograd",
    )
    return fb.passed(f"your hand-derived gradient equals torch autograd on {n} pairs.")


# ---------------------------------------------------------------- 7-9: the tabular world, sequences


def check_optimal_policy(fn):
    r"""Exercise 7. ``fn(ref_probs, rewards, beta)`` -> :math:`\pi^*`, Eq. (4):
    :math:`\pi^*(y) = \pi_\mathrm{ref}(y) \exp(r(y)/\beta) / Z`; stable for :math:`r/\beta = 10^4`.
    """

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    variants = [
        (
            "beta divides the reward: exp(r / beta), not exp(beta * r)",
            lambda p, r, b: softmax(np.log(p) + b * r),
        ),
        ("beta is missing: exp(r / beta)", lambda p, r, b: softmax(np.log(p) + r)),
        ("pi_ref is missing: pi* = pi_ref * exp(r / beta) / Z", lambda p, r, b: softmax(r / b)),
        ("the sign: a higher reward must get MORE probability", lambda p, r, b: softmax(np.log(p) - r / b)),
        ("not normalised: divide by Z = sum_y pi_ref(y) exp(r(y) / beta)", lambda p, r, b: p * np.exp(r / b)),
    ]
    n = fb.check_table_function(
        "check_optimal_policy",
        fn,
        optimal_policy,
        variants,
        cases=_table_cases(seed=7),
        nonfinite_hint="exp(r / beta) overflows for r / beta = 1e4: subtract the largest "
        "log pi_ref + r / beta before exp (or work in log space with logsumexp)",
    )
    return fb.passed(f"your pi* matches Eq. 4 on {n} tables, r / beta = 1e4 included.")


def check_sequence_logps(fn):
    r"""Exercise 8. ``fn(logits, labels)`` -> :math:`\log\pi(y \mid x) = \sum_t \log
    \pi(y_t \mid x, y_{<t})`, shape (B,), summed over completion tokens only. ``logits``: (B, T, V)
    float64; ``labels``: (B, T) token ids with prompt and padding set to -100; the logits at
    position t predict the token at t + 1.
    """

    def gathered(logps, labels):  # (B, T', V), (B, T') -> per-token values, 0 where masked
        mask = labels != -100
        return logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask, mask

    def no_shift(lg, lb):
        return gathered(torch.log_softmax(lg, -1), lb)[0].sum(-1)

    def mean(lg, lb):
        v, m = gathered(torch.log_softmax(lg[:, :-1], -1), lb[:, 1:])
        return v.sum(-1) / m.sum(-1)

    def probs(lg, lb):
        return gathered(torch.softmax(lg[:, :-1], -1), lb[:, 1:])[0].sum(-1)

    def no_mask(lg, lb):
        logps = torch.log_softmax(lg[:, :-1], -1)
        return logps.gather(-1, lb[:, 1:].clamp(min=0).unsqueeze(-1)).sum((-1, -2))

    variants = [
        (
            "no shift: the logits at position t predict the token at t + 1 "
            "(use logits[:, :-1] with labels[:, 1:])",
            no_shift,
        ),
        ("mean instead of sum: the paper SUMS token log-probs; averaging silently rescales beta", mean),
        ("you summed probabilities: use log_softmax, not softmax", probs),
        ("the prompt/padding positions (label -100) must be masked out of the sum", no_mask),
        (
            "sign: return log-probabilities (<= 0), not the negative log-likelihood",
            lambda lg, lb: -sequence_logps(lg, lb),
        ),
    ]
    n = fb.check_sequence_function(
        "check_sequence_logps",
        fn,
        sequence_logps,
        variants,
        cases=_sequence_cases(seed=8),
        nonfinite_hint="-inf/NaN on large logits: log(softmax(logits)) underflows to log(0) = "
        "-inf (and -inf * 0 from the mask is NaN); use torch.log_softmax, which is stable",
        nan_hint="NaN: log_softmax already gives log-probabilities; do not take their log again",
    )
    return fb.passed(f"your sequence_logps is right on {n} sequences (shift, mask and sum).")


def _kl_optimal(ref_probs, rewards, beta):
    r"""Exact :math:`\mathrm{KL}(\pi^* \| \pi_\mathrm{ref}) = \mathbb{E}_{\pi^*}[r]/\beta - \log Z`."""
    ref_probs, rewards = np.asarray(ref_probs), np.asarray(rewards)
    log_z = float(np.logaddexp.reduce(np.log(ref_probs) + rewards / beta))
    pi = optimal_policy(ref_probs, rewards, beta)
    return float(pi @ rewards) / beta - log_z


def check_kl_when_beta_doubles(kl_beta, kl_double_beta):
    r"""Exercise 9. :math:`\mathrm{KL}(\pi^* \| \pi_\mathrm{ref})` at beta = 0.5 and at beta = 1 for
    ``KL_REF_PROBS`` and ``KL_REWARDS`` (the optimum of Eq. 3, given by Eq. 4).
    """
    p, r = np.asarray(KL_REF_PROBS), np.asarray(KL_REWARDS)
    name = "check_kl_when_beta_doubles"
    values = {
        "kl_beta": fb.number(name, "kl_beta", kl_beta),
        "kl_double_beta": fb.number(name, "kl_double_beta", kl_double_beta),
    }
    kl = {"kl_beta": _kl_optimal(p, r, KL_BETA), "kl_double_beta": _kl_optimal(p, r, 2 * KL_BETA)}
    for key, beta in (("kl_beta", KL_BETA), ("kl_double_beta", 2 * KL_BETA)):
        pi = optimal_policy(p, r, beta)
        wrong_pi = optimal_policy(p, r * beta * beta, beta)  # exp(beta * r)
        variants = [
            (
                "that is KL(pi_ref || pi*); the objective (Eq. 3) penalises KL(pi || pi_ref) = "
                "sum pi* log(pi* / pi_ref)",
                float(p @ np.log(p / pi)),
            ),
            ("pi* uses exp(r / beta), not exp(beta * r)", float(wrong_pi @ np.log(wrong_pi / p))),
            (
                "the small-reward rule KL ~ Var(r) / (2 beta^2) quarters the KL when beta doubles; "
                "here r / beta is not small, so compute it exactly",
                kl["kl_beta"] / 4 if key == "kl_double_beta" else np.nan,
            ),
            (
                "KL does not simply halve when beta doubles: compute it exactly",
                kl["kl_beta"] / 2 if key == "kl_double_beta" else np.nan,
            ),
            (
                "KL is a sum over responses weighted by pi*, not a plain sum of log-ratios",
                float(np.sum(np.log(pi / p))),
            ),
            (
                "the two values are swapped: pass the KL at beta = 0.5 first, then at beta = 1",
                kl["kl_double_beta" if key == "kl_beta" else "kl_beta"],
            ),
        ]
        if key == "kl_double_beta" and values[key] >= values["kl_beta"]:  # always shown then
            variants.append(
                (
                    "your KL does not fall: a larger beta is a stronger KL penalty, so pi* moves "
                    "closer to pi_ref",
                    values[key],
                )
            )
        fb.compare_number(
            name,
            key,
            values[key],
            kl[key],
            variants,
            f"ref_probs = {KL_REF_PROBS}, rewards = {KL_REWARDS}, beta = {beta}",
        )
    ratio = kl["kl_double_beta"] / kl["kl_beta"]
    return fb.passed(
        f"doubling beta cuts KL from {kl['kl_beta']:.4f} to {kl['kl_double_beta']:.4f} nats "
        f"(x{ratio:.3f}, not the small-reward x0.25): a larger beta keeps pi* closer to pi_ref."
    )
