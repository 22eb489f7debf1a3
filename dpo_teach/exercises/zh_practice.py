"""Chinese feedback, part 5: the practice questions of notebooks 01-06 (:mod:`.practice`,
:mod:`.practice_basics`, :mod:`.practice_models`). English template -> Chinese template, same
``{fields}`` (see :mod:`.language`)."""

from __future__ import annotations

ZH = {
    # ------------------------------------------------------------ reading an answer
    "{check}: not answered yet. Replace the `...` of {names} with your answer, then run this cell again.": (
        "{check}：还没有作答。把 {names} 的 `...` 换成你的答案，再运行这个单元格。"
    ),
    "{check}: {name} = {value} is not one of the choices; give one letter as a string: {letters}": (
        "{check}：{name} = {value} 不是选项之一；请用字符串给出一个字母：{letters}"
    ),
    "{check}: {name} = {value} is not a list of answer indices; give the 0-based indices "
    "(0 to {last}) as a list, e.g. [0, 2]": (
        "{check}：{name} = {value} 不是回答编号的列表；请以列表给出从 0 开始的编号（0 到 {last}），例如 [0, 2]"
    ),
    "{check}: ({letter}) is not right.": "{check}：({letter}) 不对。",
    "the indices are 0-based: the first answer is 0": "编号从 0 开始：第一个回答是 0",
    "{check}: {name} = {value} is not right.": "{check}：{name} = {value} 不对。",
    "{check}: {value} is not right.": "{check}：{value} 不对。",
    "right to two significant figures only: give three (the check accepts 0.5 %)": (
        "只有两位有效数字是对的：请给出三位（检查接受 0.5 % 以内的误差）"
    ),
    "(tolerance 0.5 %, about three significant figures)": "（容差 0.5 %，约三位有效数字）",
    # ------------------------------------------------------------ 01
    "the margin question of notebook 01": "第 01 本笔记本的奖励差问题",
    "m = {m:.6f}: the policy moved toward y_w (ratio 1.5) and away from y_l (ratio 0.833), so m > 0 "
    "and the loss -log sigma(m) = {loss:.4f} is below ln 2.": (
        "m = {m:.6f}：策略向 y_w 靠近（比值 1.5）、远离 y_l（比值 0.833），所以 m > 0，"
        "损失 -log sigma(m) = {loss:.4f} 低于 ln 2。"
    ),
    "that is h, the log-ratio difference; the margin is m = beta h": "这是 h，即对数比值之差；奖励差是 m = beta h",
    "sign: m = r_hat_w - r_hat_l, chosen minus rejected (and each ratio is pi_theta / pi_ref)": (
        "符号：m = r_hat_w - r_hat_l，选中减落选（每个比值都是 pi_theta / pi_ref）"
    ),
    "the implicit reward is a log-ratio, not a difference of probabilities": "隐式奖励是对数比值，不是概率之差",
    "that is r_hat_w alone; subtract r_hat_l": "这只是 r_hat_w；还要减去 r_hat_l",
    "the margin is a difference of the two rewards, not their sum": "奖励差是两个奖励之差，不是它们的和",
    "the step-0 question of notebook 01": "第 01 本笔记本的第 0 步问题",
    "ln 2 = {loss:.4f}: at step 0 the margin is 0, so the loss is ln 2 for every pair and every beta.": (
        "ln 2 = {loss:.4f}：第 0 步时奖励差为 0，所以对每一对、每个 beta，损失都是 ln 2。"
    ),
    "the loss is 0 only for an infinite margin; at step 0 every margin is 0": (
        "只有奖励差无穷大时损失才是 0；第 0 步时每个奖励差都是 0"
    ),
    "beta multiplies the margin, and the margin is 0: beta changes nothing at step 0": (
        "beta 乘在奖励差上，而奖励差是 0：第 0 步时 beta 什么也不改变"
    ),
    "that uses the reference's own preference for y_w; the margin compares the policy with the "
    "reference, so it is 0 when they are equal": (
        "这用的是参考模型自己对 y_w 的偏好；奖励差比较的是策略与参考模型，两者相同时它为 0"
    ),
    "that is sigma(0) = p(y_w > y_l) = 1/2; the loss is -log of it": "这是 sigma(0) = p(y_w > y_l) = 1/2；损失是它的 -log",
    # ------------------------------------------------------------ 02
    "the optimal-policy question of notebook 02": "第 02 本笔记本的最优策略问题",
    "pi*(y_3) = {p:.4f}: from pi_ref = 0.25, the reward 2 / beta = 4 multiplies its odds by e^4.": (
        "pi*(y_3) = {p:.4f}：从 pi_ref = 0.25 出发，奖励 2 / beta = 4 把它的几率乘以 e^4。"
    ),
    "{check}: p = {p} is above 1, so it is no probability: divide by Z = sum_y pi_ref(y) exp(r(y) / beta)": (
        "{check}：p = {p} 大于 1，不是概率：要除以 Z = sum_y pi_ref(y) exp(r(y) / beta)"
    ),
    "beta is missing: exp(r / beta) with beta = {beta}": "漏了 beta：应为 exp(r / beta)，这里 beta = {beta}",
    "pi_ref is missing: pi* is proportional to pi_ref(y) exp(r(y) / beta)": (
        "漏了 pi_ref：pi* 与 pi_ref(y) exp(r(y) / beta) 成正比"
    ),
    "that is pi_ref(y_3): the optimum as beta -> infinity, not at beta = {beta}": (
        "这是 pi_ref(y_3)：beta -> 无穷时的最优解，不是 beta = {beta} 时的"
    ),
    "that is the optimum as beta -> 0 (all mass on the best answer)": "这是 beta -> 0 时的最优解（全部概率落在最好的回答上）",
    "that is y_1's share; y_3 is the answer with reward 2": "这是 y_1 的概率；y_3 是奖励为 2 的那个回答",
    "Z(x) = sum_y pi_ref(y|x) exp(r(x,y) / beta) is 1 for a policy's own implicit reward (Theorem 1), "
    "not for the true reward: beta log Z(x) is a real number there": (
        "Z(x) = sum_y pi_ref(y|x) exp(r(x,y) / beta) 只有对策略自己的隐式奖励才等于 1（定理 1），"
        "对真实奖励不是：那里 beta log Z(x) 是一个实实在在的数"
    ),
    "beta log Z(x) need not be small (Section 3 computes it); it cancels exactly, it is not neglected": (
        "beta log Z(x) 不一定小（第 3 节算过它）；它是被精确抵消的，不是被忽略的"
    ),
    "DPO never samples during training and never computes Z(x), which sums over every possible answer": (
        "DPO 训练时从不采样，也从不计算 Z(x)，而 Z(x) 要对所有可能的回答求和"
    ),
    "(b): beta log Z(x) depends on the prompt only; Bradley-Terry compares two answers to the same "
    "prompt, so it cancels in the difference (Eq. 6).": (
        "(b)：beta log Z(x) 只依赖于提示；Bradley-Terry 比较的是同一提示下的两个回答，所以它在差中抵消（式 6）。"
    ),
    # ------------------------------------------------------------ 03
    "the gradient question of notebook 03": "第 03 本笔记本的梯度问题",
    "dL/dlog pi_theta(y_w) = {g:.4f}: the margin is {m} (the pair is ordered wrongly), so w = {w:.4f} "
    "is above 1/2 and the chosen answer is pushed up hard.": (
        "dL/dlog pi_theta(y_w) = {g:.4f}：奖励差是 {m}（这一对排反了），所以 w = {w:.4f} 大于 1/2，选中回答被用力往上推。"
    ),
    "sign: raising log pi_theta(y_w) lowers the loss, so the derivative is negative, -beta w": (
        "符号：提高 log pi_theta(y_w) 会降低损失，所以导数是负的，-beta w"
    ),
    "beta is missing: dL/dlog pi_theta(y_w) = -beta w": "漏了 beta：dL/dlog pi_theta(y_w) = -beta w",
    "the weight is w = sigma(-m) = sigma(r_hat_l - r_hat_w), not sigma(m)": (
        "权重是 w = sigma(-m) = sigma(r_hat_l - r_hat_w)，不是 sigma(m)"
    ),
    "the weight takes the margin m = beta h, not h": "权重用的是奖励差 m = beta h，不是 h",
    "that is the value at step 0, where m = 0 and w = 1/2; here m = {m}": "这是第 0 步的值，那时 m = 0、w = 1/2；这里 m = {m}",
    "that is the loss -log sigma(m), not its derivative": "这是损失 -log sigma(m)，不是它的导数",
    "the weight sigma(-m) fades but never reaches 0: every step still lowers log pi_theta(y_l)": (
        "权重 sigma(-m) 会变小但永远不到 0：每一步仍在降低 log pi_theta(y_l)"
    ),
    "Eq. 4's optimum assumes Bradley-Terry labels with a finite reward gap; a pair always won the same "
    "way asks for an infinite margin, so no finite pi_theta(y_l) minimises the loss, whatever beta": (
        "式 4 的最优解假设标签服从奖励差有限的 Bradley-Terry；一对回答总是同一方获胜，就要求奖励差无穷大，"
        "所以无论 beta 是多少，都没有有限的 pi_theta(y_l) 能使损失最小"
    ),
    "on a softmax policy the step moves the two logits of the pair by the same amount in opposite "
    "directions: -beta w (e_{y_w} - e_{y_l})": (
        "在 softmax 策略上，这一步把这对回答的两个 logit 朝相反方向移动相同的量：-beta w (e_{y_w} - e_{y_l})"
    ),
    "(c): the loss reaches 0 only as the margin goes to infinity, so pi_theta(y_l) keeps falling toward "
    "0 whatever beta is; beta only sets how fast the weight fades.": (
        "(c)：只有奖励差趋于无穷时损失才到 0，所以无论 beta 是多少，pi_theta(y_l) 都会一直降向 0；"
        "beta 只决定权重消失得多快。"
    ),
}
