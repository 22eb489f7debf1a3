"""Chinese feedback, part 3: the hints of the function exercises 4-8 (:mod:`.function_mistakes`)
and 12 (IPO, :mod:`.family`). English hint -> Chinese hint (see :mod:`.language`); the hints built
from a shared sentence are keyed by their constants, so the two cannot drift apart."""

from __future__ import annotations

from . import function_mistakes as fm

_ALREADY_LOGS = (
    "输入本来就是对数概率，所以对数比值就是对数概率之差：log pi_theta(y) - log pi_ref(y)"
    "（例如 -0.2 - (-0.3) = +0.1），而不是对数概率之比的对数"
)

ZH = {
    # ------------------------------------------------------------ non-finite outputs
    fm.LOG_OF_LOG: "NaN 来自对负数取对数：输入本来就是对数概率，不要再对它们取对数（对对数概率取对数）",
    fm.OVERFLOW_LOSS: (
        "奖励差很大时出现非有限值，这是溢出：m < -709.78 时 exp(-m) 溢出（float64；float32 下是 -88.72），"
        "于是 sigmoid(m) = 1 / (1 + exp(-m)) 恰好为 0，log(sigmoid(m)) = -inf；"
        "请用稳定的写法 -log sigma(m) = np.logaddexp(0, -m)（torch：-F.logsigmoid(m)）"
    ),
    fm.OVERFLOW_WEIGHT: (
        "奖励差很大时出现非有限值，这是溢出：exp(m) 或 exp(-m) 变成 inf，inf / inf 得 NaN；"
        "请用稳定的 sigmoid：sigma(-m) = np.exp(-np.logaddexp(0, m))（torch：torch.sigmoid）"
    ),
    fm.OVERFLOW_OPTIMAL_POLICY: (
        "r / beta = 1e4 时 exp(r / beta) 溢出：取 exp 之前先减去 log pi_ref + r / beta 的最大值"
        "（或者用 logsumexp 在对数空间里计算）"
    ),
    fm.NAN_OPTIMAL_POLICY: (
        "普通的表格上出现 NaN（在这样的 r / beta 下不可能溢出）：找找 0 / 0（归一化常数 Z 为 0）、"
        "inf - inf，或对负数取对数；pi* = pi_ref * exp(r / beta) / Z，Z 是分子对所有回答的和"
    ),
    fm.NONFINITE_SEQUENCE: (
        "logits 很大时出现 -inf/NaN：log(softmax(logits)) 下溢成 log(0) = -inf（再乘上掩码的 0 就成了 NaN）；"
        "请用数值稳定的 torch.log_softmax"
    ),
    fm.NAN_SEQUENCE: "NaN：log_softmax 给出的已经是对数概率；不要再对它们取对数",
    fm.LOG_OF_ABS_LOG: f"{_ALREADY_LOGS}；你取的是 log(|对数概率|)",
    fm.LOG10_OF_ABS_LOG: (
        f"{_ALREADY_LOGS}；你取的是 log10(|对数概率|)，正是 notebook 01 勘误的那个错误"
        "（log10(0.2 / 0.3) = -0.17 不是这些对数概率的对数比值）"
    ),
    # ------------------------------------------------------------ 4: the DPO loss
    "beta is missing from the margin": "奖励差里漏了 beta",
    "beta multiplies the log-ratios, it does not divide them": "beta 乘在对数比值上，不是除",
    "sign of the margin: it is (chosen log-ratio) - (rejected log-ratio)": (
        "奖励差的符号：它是（选中回答的对数比值）-（落选回答的对数比值）"
    ),
    "the loss is MINUS log sigma(margin)": "损失是 -log sigma(奖励差)，前面有负号",
    "the reference log-probs are missing": "漏了参考模型的对数概率",
    "sigmoid instead of log-sigmoid": "用了 sigmoid 而不是 log-sigmoid",
    # ------------------------------------------------------------ 5: the gradient weight
    "sign: w = sigma(r_hat_l - r_hat_w) is large when the pair is ordered WRONGLY": (
        "符号：w = sigma(r_hat_l - r_hat_w) 在偏好对的顺序排错时才大"
    ),
    "beta is missing inside the rewards": "奖励里漏了 beta",
    "w excludes beta: beta * w is the size of the gradient, not the weight": (
        "w 不含 beta：beta * w 是梯度的大小，不是权重"
    ),
    "you returned log w; return w itself": "你返回的是 log w；请返回 w 本身",
    # ------------------------------------------------------------ 6: the gradient
    "beta is missing in front: d loss / d logp_w = -beta * w": "前面漏了 beta：d loss / d logp_w = -beta * w",
    "signs flipped: increasing log pi(y_w) must DEcrease the loss (negative gradient)": (
        "符号反了：提高 log pi(y_w) 必须让损失下降（梯度为负）"
    ),
    "the weight is sigma(-margin) = sigma(r_hat_l - r_hat_w), not sigma(margin)": (
        "权重是 sigma(-奖励差) = sigma(r_hat_l - r_hat_w)，不是 sigma(奖励差)"
    ),
    "the two gradients have opposite signs: -beta*w for y_w, +beta*w for y_l": (
        "两个梯度符号相反：y_w 的是 -beta*w，y_l 的是 +beta*w"
    ),
    "beta is missing, both in front and inside the sigmoid": "漏了 beta：前面和 sigmoid 里面都漏了",
    "beta is missing inside the sigmoid": "sigmoid 里面漏了 beta",
    "divided by the batch size B: that is the gradient of the batch MEAN loss; the exercise asks "
    "for each pair's own loss, d loss_i / d logp_w(i) = -beta * w_i (no 1 / B)": (
        "除以了批次大小 B：那是批次平均损失的梯度；练习要的是每个偏好对自己的损失的梯度，"
        "d loss_i / d logp_w(i) = -beta * w_i（没有 1 / B）"
    ),
    # ------------------------------------------------------------ 7: the optimal policy
    "beta divides the reward: exp(r / beta), not exp(beta * r)": "beta 除在奖励上：exp(r / beta)，不是 exp(beta * r)",
    "beta is missing: exp(r / beta)": "漏了 beta：exp(r / beta)",
    "pi_ref is missing: pi* = pi_ref * exp(r / beta) / Z": "漏了 pi_ref：pi* = pi_ref * exp(r / beta) / Z",
    "the sign: a higher reward must get MORE probability": "符号：奖励越高，得到的概率必须越大",
    "not normalised: divide by Z = sum_y pi_ref(y) exp(r(y) / beta)": (
        "没有归一化：要除以 Z = sum_y pi_ref(y) exp(r(y) / beta)"
    ),
    # ------------------------------------------------------------ 8: sequence log-probs
    "no shift: the logits at position t predict the token at t + 1 "
    "(use logits[:, :-1] with labels[:, 1:])": (
        "没有错位：位置 t 的 logits 预测的是位置 t + 1 的 token（logits[:, :-1] 配 labels[:, 1:]）"
    ),
    "mean instead of sum: the paper SUMS token log-probs; averaging silently rescales beta": (
        "求了平均而不是求和：论文对各 token 的对数概率求和；取平均会悄悄改变 beta 的尺度"
    ),
    "you summed probabilities: use log_softmax, not softmax": "你加的是概率：请用 log_softmax，不是 softmax",
    "the prompt/padding positions (label -100) must be masked out of the sum": (
        "提示和填充的位置（label 为 -100）必须用掩码排除在求和之外"
    ),
    "sign: return log-probabilities (<= 0), not the negative log-likelihood": (
        "符号：请返回对数概率（<= 0），不是负对数似然"
    ),
    # ------------------------------------------------------------ 12: IPO
    "IPO is a plain square (no exp, no log): a NaN here comes from a log of a log-probability "
    "or a division by a length that is not the completion length": (
        "IPO 只是一个平方（没有 exp，也没有 log）：这里的 NaN 来自对对数概率取对数，"
        "或者除以了一个不是回答长度的长度"
    ),
    "the square of a margin of 5e4 is 2.5e9, still finite in float64: compute in float64": (
        "奖励差 5e4 的平方是 2.5e9，在 float64 下仍是有限值：请用 float64 计算"
    ),
    "the target margin is 1/(2 beta), not 1/beta: the 1/2 is missing": "目标奖励差是 1/(2 beta)，不是 1/beta：漏了 1/2",
    "the target margin is 1/(2 beta) (the paper's tau is beta), not beta/2": (
        "目标奖励差是 1/(2 beta)（论文的 tau 就是 beta），不是 beta/2"
    ),
    "beta does not multiply the margin in IPO (that is DPO's sigma(beta h)): the loss is "
    "(h - 1/(2 beta))^2 on the log-ratios themselves": (
        "IPO 里 beta 不乘在奖励差上（那是 DPO 的 sigma(beta h)）：损失是直接作用在对数比值上的 (h - 1/(2 beta))^2"
    ),
    "beta does not multiply the margin in IPO: beta (h - 1/(2 beta)) = beta h - 1/2 is the "
    "right loss scaled by beta^2": (
        "IPO 里 beta 不乘在奖励差上：beta (h - 1/(2 beta)) = beta h - 1/2，平方后是正确损失的 beta^2 倍"
    ),
    "the loss is the SQUARE of (margin - 1/(2 beta)), not its absolute value": (
        "损失是 (奖励差 - 1/(2 beta)) 的平方，不是它的绝对值"
    ),
    "IPO's loss has no 1/2 in front of the square": "IPO 的损失在平方前面没有 1/2",
    "the reference log-probs are missing: the margin is a difference of LOG-RATIOS": (
        "漏了参考模型的对数概率：奖励差是两个对数比值之差"
    ),
    "sums vs means: with lengths, TRL's ipo divides each log-ratio by its own completion "
    "length (a per-token mean); you used the summed log-ratios": (
        "求和还是平均：给了长度时，TRL 的 ipo 把每个对数比值除以它自己的回答长度（逐 token 平均）；"
        "你用的是求和的对数比值"
    ),
    "sums vs means: divide each log-ratio by its OWN length (r_w/|y_w| - r_l/|y_l|), not the "
    "whole margin by the total length": (
        "求和还是平均：每个对数比值除以它自己的长度（r_w/|y_w| - r_l/|y_l|），不是把整个奖励差除以总长度"
    ),
    "sums vs means: divide each log-ratio by its OWN length, not the margin by the mean length": (
        "求和还是平均：每个对数比值除以它自己的长度，不是把奖励差除以平均长度"
    ),
    "the lengths are swapped: the chosen log-ratio is divided by the CHOSEN length": (
        "长度用反了：选中回答的对数比值要除以选中回答的长度"
    ),
    "sums vs means: the reference log-probs are divided by the lengths too (the log-RATIO is averaged)": (
        "求和还是平均：参考模型的对数概率也要除以长度（被平均的是对数比值）"
    ),
}
