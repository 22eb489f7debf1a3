r"""The 0.6 / 0.4 worked example: its rows and its table (``python -m dpo_teach`` prints it).

One prompt x, two answers; the policy gives pi_theta(y_1|x) = 0.6 and pi_theta(y_2|x) = 0.4,
the reference gives 0.5 and 0.5, and y_1 is preferred (y_w = y_1, y_l = y_2).
For several beta the table shows the implicit rewards (Sec. 4-5), the Bradley-Terry probability
(Eq. 1), the DPO loss (Eq. 7) and the gradient weight sigma(r_hat_l - r_hat_w) (Sec. 4).

The printout comes in English (``lang="en"``) and Chinese (``lang="zh"``, ``python -m dpo_teach
--lang zh``): the same rows and numbers, the headings and sentences in the reader's language.
"""

from __future__ import annotations

import math
import unicodedata

from . import numpy_dpo as nd

__all__ = [
    "BETAS",
    "LANGUAGES",
    "POLICY",
    "REFERENCE",
    "display_width",
    "explain",
    "format_table",
    "worked_example",
]

BETAS = (0.1, 0.5, 1.0, 2.0, 5.0)
POLICY = (0.6, 0.4)  # pi_theta(y_w | x), pi_theta(y_l | x)
REFERENCE = (0.5, 0.5)  # pi_ref(y_w | x), pi_ref(y_l | x)
LANGUAGES = ("en", "zh")  # English, Chinese (simplified)

# the table's columns: (key of a row, width, the code's name of the quantity, its Chinese heading)
COLUMNS = (
    ("beta", 6, "beta", ""),
    ("r_hat_w", 9, "r_hat_w", "选中奖励"),  # implicit reward of the chosen answer y_w
    ("r_hat_l", 9, "r_hat_l", "落选奖励"),  # ... of the rejected answer y_l (落选回答)
    ("margin", 8, "margin", "奖励差"),  # r_hat_w - r_hat_l
    ("p_w_over_l", 11, "P(y_w>y_l)", "偏好概率"),  # Bradley-Terry, Eq. 1
    ("loss", 8, "loss", "损失"),  # DPO, Eq. 7
    ("grad_weight", 7, "w", "权重"),  # gradient weight sigma(r_hat_l - r_hat_w)
)


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


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGUAGES))}, got {lang!r}")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters (East Asian wide) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _rjust(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text  # str.rjust counts characters, not columns


def format_table(rows: list[dict], lang: str = "en") -> str:
    """The rows as a fixed-width table: a heading line (in Chinese, ``lang="zh"``, a line of Chinese
    headings above the code's names), a rule, one line per row."""
    _check_lang(lang)
    header = " ".join(_rjust(name, width) for _, width, name, _ in COLUMNS)
    lines = [header, "-" * len(header)]
    if lang == "zh":
        lines.insert(0, " ".join(_rjust(zh, width) for _, width, _, zh in COLUMNS))
    for r in rows:
        lines.append(
            f"{r['beta']:>6.2f} {r['r_hat_w']:>+9.4f} {r['r_hat_l']:>+9.4f} {r['margin']:>+8.4f} "
            f"{r['p_w_over_l']:>11.4f} {r['loss']:>8.4f} {r['grad_weight']:>7.4f}"
        )
    return "\n".join(lines)


def explain(lang: str = "en") -> str:
    """The whole printout of ``python -m dpo_teach [--lang zh]``: the setting, the formulas, the table."""
    _check_lang(lang)
    table = format_table(worked_example(), lang)
    if lang == "zh":
        return "\n".join([
            "DPO 算例（arXiv:2305.18290）",
            f"  策略      pi_theta(y_w|x) = {POLICY[0]}, pi_theta(y_l|x) = {POLICY[1]}",
            f"  参考模型  pi_ref(y_w|x)   = {REFERENCE[0]}, pi_ref(y_l|x)   = {REFERENCE[1]}",
            "  y_w 是标注者选中的回答（chosen），y_l 是落选的回答（rejected）",
            "",
            "  r_hat = beta * log(pi_theta / pi_ref)        隐式奖励",
            "  P(y_w > y_l) = sigmoid(r_hat_w - r_hat_l)    偏好概率，Bradley-Terry 模型，式 1",
            "  loss = -log sigmoid(r_hat_w - r_hat_l)       DPO 损失，式 7",
            "  w = sigmoid(r_hat_l - r_hat_w)               梯度权重，第 4 节",
            "",
            table,
            "",
            "beta = 1 时，P(y_w > y_l) 恰好是 0.6 / (0.6 + 0.4) = 0.6：两个回答的参考概率相等，",
            "exp(r_hat) 与策略概率只差一个公共因子。",
            "beta 越大，同样的概率比值会被折算成更大的奖励差，损失也就更小；",
            "于是策略只需偏离参考模型更少，损失就已经降下来了：beta 越大，策略越贴近参考模型。",
        ])  # fmt: skip
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
        table,
        "",
        "At beta = 1, P(y_w > y_l) = 0.6 / (0.6 + 0.4) = 0.6 exactly: with equal reference",
        "probabilities, exp(r_hat) is the policy probability up to a common factor.",
        "A larger beta reads the same probability ratio as a larger reward gap, and so a",
        "smaller loss: the policy needs to move less far from the reference to bring the loss",
        "down. A larger beta keeps the policy closer to the reference.",
    ])  # fmt: skip
