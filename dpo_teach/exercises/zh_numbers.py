"""Chinese feedback, part 2: the hints of the number exercises 1-3 and 9 (:mod:`.mistakes`).
English template -> Chinese template, same ``{fields}`` (see :mod:`.language`)."""

from __future__ import annotations

ZH = {
    # ------------------------------------------------------------ 1: implicit rewards
    "beta is missing: r_hat = beta * log(pi_theta / pi_ref) with beta = {beta}": (
        "漏了 beta：r_hat = beta * log(pi_theta / pi_ref)，这里 beta = {beta}"
    ),
    "beta multiplies, it does not divide": "beta 是乘上去的，不是除",
    "use the log of the ratio, not the difference of probabilities": "要取比值的对数，而不是两个概率之差",
    "take the log of the ratio pi_theta / pi_ref": "要对比值 pi_theta / pi_ref 取对数",
    "the ratio is pi_theta / pi_ref, not pi_ref / pi_theta": "比值是 pi_theta / pi_ref，不是 pi_ref / pi_theta",
    "log of a log-probability: the ratio of log-probs is not the log of the ratio of probs": (
        "对对数概率又取了对数：对数概率之比不等于概率之比的对数"
    ),
    "use the natural log (np.log), not log10": "请用自然对数（np.log），不要用 log10",
    "pi_ref is missing: r_hat = beta * (log pi_theta - log pi_ref), not beta * log pi_theta": (
        "漏了 pi_ref：r_hat = beta * (log pi_theta - log pi_ref)，不是 beta * log pi_theta"
    ),
    "that is {other}: y_w is the answer with pi_theta = 0.6, y_l the one with 0.4": (
        "这是 {other}：y_w 是 pi_theta = 0.6 的那个回答，y_l 是 0.4 的那个"
    ),
    # ------------------------------------------------------------ 2: the Bradley-Terry probability
    "that is P(y_l > y_w): the margin is r_hat_w - r_hat_l, not r_hat_l - r_hat_w": (
        "这是 P(y_l > y_w)：奖励差是 r_hat_w - r_hat_l，不是 r_hat_l - r_hat_w"
    ),
    "the Bradley-Terry model takes rewards (log-ratios), not the probabilities themselves": (
        "Bradley-Terry 模型的输入是奖励（对数比值），不是概率本身"
    ),
    "the rewards are log-ratios: r_hat_w = log(pi_theta / pi_ref) = log(0.6 / 0.5), not the "
    "ratio 0.6 / 0.5 = 1.2 itself (and r_hat_l = log 0.8, not 0.8)": (
        "奖励是对数比值：r_hat_w = log(pi_theta / pi_ref) = log(0.6 / 0.5)，不是比值 0.6 / 0.5 = 1.2 本身"
        "（r_hat_l 也是 log 0.8，不是 0.8）"
    ),
    "sigma needs the difference r_hat_w - r_hat_l, not r_hat_w alone": (
        "sigma 里要放差 r_hat_w - r_hat_l，不是只放 r_hat_w"
    ),
    "this exercise uses beta = 1, not 0.1": "这道练习用的是 beta = 1，不是 0.1",
    "give the probability, not its log": "请给出概率本身，不是它的对数",
    "a margin of 0 gives 0.5: are both rewards computed from the right probabilities?": (
        "奖励差为 0 才会得到 0.5：两个奖励都是用正确的概率算的吗？"
    ),
    # ------------------------------------------------------------ 3: the loss of one pair
    "beta is missing: the margin is beta * (...) with beta = {beta}": (
        "漏了 beta：奖励差是 beta * (...)，这里 beta = {beta}"
    ),
    "sign of the margin: it is r_hat_w - r_hat_l (chosen minus rejected)": (
        "奖励差的符号：它是 r_hat_w - r_hat_l（选中回答减去落选回答）"
    ),
    "the loss is MINUS log sigma(margin); yours is negative": "损失是 -log sigma(奖励差)，前面有负号；你的结果是负数",
    "the reference log-probs are missing from the margin": "奖励差里漏了参考模型的对数概率",
    "sigmoid instead of log-sigmoid: the loss is -log sigma(margin)": (
        "用了 sigmoid 而不是 log-sigmoid：损失是 -log sigma(奖励差)"
    ),
    "log-ratios are differences of log-probs, not ratios of log-probs": "对数比值是对数概率之差，不是对数概率之比",
    "a margin of 0 gives ln 2: did the policy and reference terms cancel?": (
        "奖励差为 0 才会得到 ln 2：策略和参考模型的项是不是互相抵消了？"
    ),
    # ------------------------------------------------------------ 9: KL when beta doubles
    "that is KL(pi_ref || pi*); the objective (Eq. 3) penalises KL(pi || pi_ref) = "
    "sum pi* log(pi* / pi_ref)": (
        "这是 KL(pi_ref || pi*)；目标函数（式 3）惩罚的是 KL(pi || pi_ref) = sum pi* log(pi* / pi_ref)"
    ),
    "pi* uses exp(r / beta), not exp(beta * r)": "pi* 里是 exp(r / beta)，不是 exp(beta * r)",
    "the small-reward rule KL ~ Var(r) / (2 beta^2) quarters the KL when beta doubles; "
    "here r / beta is not small, so compute it exactly": (
        "按小奖励近似 KL ~ Var(r) / (2 beta^2)，beta 加倍时 KL 变为四分之一；"
        "但这里 r / beta 并不小，请精确计算"
    ),
    "KL does not simply halve when beta doubles: compute it exactly": "beta 加倍时 KL 并不是简单减半：请精确计算",
    "KL is a sum over responses weighted by pi*, not a plain sum of log-ratios": (
        "KL 是对所有回答按 pi* 加权求和，不是把对数比值直接相加"
    ),
    "the two values are swapped: pass the KL at beta = 0.5 first, then at beta = 1": (
        "两个值顺序反了：先传 beta = 0.5 时的 KL，再传 beta = 1 时的"
    ),
    "your KL does not fall: a larger beta is a stronger KL penalty, so pi* moves closer to pi_ref": (
        "你的 KL 没有下降：beta 越大，KL 惩罚越强，pi* 就越贴近 pi_ref"
    ),
}
