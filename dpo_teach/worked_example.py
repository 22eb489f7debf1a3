r"""The 0.6 / 0.4 worked example: its rows and its table (``python -m dpo_teach`` prints it).

One prompt x, two answers; the policy gives pi_theta(y_1|x) = 0.6 and pi_theta(y_2|x) = 0.4,
the reference gives 0.5 and 0.5, and y_1 is preferred (y_w = y_1, y_l = y_2).
For several beta the table shows the implicit rewards (Sec. 4-5), the Bradley-Terry probability
(Eq. 1), the DPO loss (Eq. 7) and the gradient weight sigma(r_hat_l - r_hat_w) (Sec. 4).
"""

from __future__ import annotations

import math

from . import numpy_dpo as nd

__all__ = ["BETAS", "POLICY", "REFERENCE", "worked_example", "format_table", "explain"]

BETAS = (0.1, 0.5, 1.0, 2.0, 5.0)
POLICY = (0.6, 0.4)  # pi_theta(y_w | x), pi_theta(y_l | x)
REFERENCE = (0.5, 0.5)  # pi_ref(y_w | x), pi_ref(y_l | x)


def worked_example(betas=BETAS) -> list[dict]:
    """One row per beta: rewards, P(y_w > y_l), loss and gradient weight for the toy example."""
    # log-probabilities: the library takes logs, never raw probabilities
    pc, pr = (math.log(p) for p in POLICY)
    rc, rr = (math.log(p) for p in REFERENCE)
    rows = []
    for beta in betas:
        losses, r_w, r_l = nd.dpo_loss(pc, pr, rc, rr, beta=beta)
        _, grad_l = nd.dpo_loss_grad(pc, pr, rc, rr, beta=beta)
        rows.append(
            {
                "beta": beta,
                "r_hat_w": float(r_w),
                "r_hat_l": float(r_l),
                "margin": float(r_w - r_l),
                "p_w_over_l": float(nd.bt_probability(r_w, r_l)),
                "loss": float(losses),
                "grad_weight": float(grad_l) / beta,  # w = sigma(r_hat_l - r_hat_w)
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    header = (
        f"{'beta':>6} {'r_hat_w':>9} {'r_hat_l':>9} {'margin':>8} {'P(y_w>y_l)':>11} {'loss':>8} {'w':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['beta']:>6.2f} {r['r_hat_w']:>+9.4f} {r['r_hat_l']:>+9.4f} {r['margin']:>+8.4f} "
            f"{r['p_w_over_l']:>11.4f} {r['loss']:>8.4f} {r['grad_weight']:>7.4f}"
        )
    return "\n".join(lines)


def explain() -> str:
    """The whole printout of ``python -m dpo_teach``: the setting, the formulas, the table."""
    return "\n".join([
        "DPO worked example (arXiv:2305.18290)",
        f"  policy    pi_theta(y_w|x) = {POLICY[0]}, pi_theta(y_l|x) = {POLICY[1]}",
        f"  reference pi_ref(y_w|x)   = {REFERENCE[0]}, pi_ref(y_l|x)   = {REFERENCE[1]}",
        "",
        "  r_hat = beta * log(pi_theta / pi_ref)        implicit reward",
        "  P(y_w > y_l) = sigmoid(r_hat_w - r_hat_l)    Bradley-Terry, Eq. 1",
        "  loss = -log sigmoid(r_hat_w - r_hat_l)       DPO, Eq. 7",
        "  w = sigmoid(r_hat_l - r_hat_w)               gradient weight, Sec. 4",
        "",
        format_table(worked_example()),
        "",
        "At beta = 1, P(y_w > y_l) = 0.6 / (0.6 + 0.4) = 0.6 exactly: with equal reference",
        "probabilities, exp(r_hat) is the policy probability up to a common factor.",
        "A larger beta keeps the policy closer to the reference: the same probability",
        "ratio is read as a larger reward gap.",
    ])  # fmt: skip
