"""Chinese feedback, part 4: the derivation exercises 10 (:mod:`.derivation`) and 11
(:mod:`.shift`). English template -> Chinese template, same ``{fields}`` (see :mod:`.language`)."""

from __future__ import annotations

ZH = {
    # ------------------------------------------------------------ 10: the objective and log Z
    "ref_probs = {ref}, rewards = {r}, pi = {pi}, beta = {beta}": (
        "ref_probs = {ref}，rewards = {r}，pi = {pi}，beta = {beta}"
    ),
    "J(pi) = {j:.6f}, log Z = {log_z:.6f}: beta log Z - J(pi) = {gap:.6f} "
    "= beta KL(pi || pi*) >= 0, so J is largest at pi = pi* (Appendix A.1).": (
        "J(pi) = {j:.6f}，log Z = {log_z:.6f}：beta log Z - J(pi) = {gap:.6f} = beta KL(pi || pi*) >= 0，"
        "所以 J 在 pi = pi* 处最大（附录 A.1）。"
    ),
    "sign of the KL: the penalty is subtracted, J = E_pi[r] - beta KL(pi || pi_ref) "
    "(or the log-ratio is upside down: it is log(pi / pi_ref))": (
        "KL 的符号：惩罚项是减去的，J = E_pi[r] - beta KL(pi || pi_ref)（或者对数比值写倒了：应是 log(pi / pi_ref)）"
    ),
    "beta is missing: the KL is weighted by beta = {beta}": "漏了 beta：KL 的权重是 beta = {beta}",
    "beta multiplies the KL, it does not divide it": "beta 乘在 KL 上，不是除",
    "that is KL(pi_ref || pi); the objective penalises KL(pi || pi_ref) = "
    "sum_y pi(y) log(pi(y) / pi_ref(y))": (
        "这是 KL(pi_ref || pi)；目标函数惩罚的是 KL(pi || pi_ref) = sum_y pi(y) log(pi(y) / pi_ref(y))"
    ),
    "the expected reward is under pi (the policy given), not under pi_ref": (
        "期望奖励是在 pi（题目给定的策略）下求的，不是在 pi_ref 下"
    ),
    "that is beta log Z = J(pi*), the maximum; the exercise asks for J of the given pi": (
        "这是 beta log Z = J(pi*)，即最大值；练习要的是给定的 pi 的 J"
    ),
    "the KL penalty is missing: J = E_pi[r] - beta KL(pi || pi_ref)": "漏了 KL 惩罚：J = E_pi[r] - beta KL(pi || pi_ref)",
    "use the natural log (np.log), not log10, in the KL": "KL 里请用自然对数（np.log），不要用 log10",
    "the KL is a sum weighted by pi, sum_y pi(y) log(pi(y) / pi_ref(y)), not a plain sum of logs": (
        "KL 是按 pi 加权的和 sum_y pi(y) log(pi(y) / pi_ref(y))，不是把对数直接相加"
    ),
    "the penalty of Eq. 3 is the KL to the reference pi_ref; KL(pi || pi*) is what the identity "
    "subtracts from beta log Z": (
        "式 3 的惩罚项是到参考模型 pi_ref 的 KL；KL(pi || pi*) 是恒等式里从 beta log Z 中减去的那一项"
    ),
    "sign in the identity: J(pi) = beta log Z MINUS beta KL(pi || pi*)": (
        "恒等式里的符号：J(pi) = beta log Z 减去 beta KL(pi || pi*)"
    ),
    "that is Z itself; take its log (log Z, not Z)": "这是 Z 本身；请取对数（要的是 log Z，不是 Z）",
    "that is beta log Z (= J(pi*)); the exercise asks for log Z": "这是 beta log Z（= J(pi*)）；练习要的是 log Z",
    "beta divides the reward: exp(r / beta), not exp(beta * r)": "beta 除在奖励上：exp(r / beta)，不是 exp(beta * r)",
    "pi_ref is missing: Z = sum_y pi_ref(y) exp(r(y) / beta)": "漏了 pi_ref：Z = sum_y pi_ref(y) exp(r(y) / beta)",
    "Z weights by the reference pi_ref, not by the policy pi of this exercise": (
        "Z 按参考模型 pi_ref 加权，不是按这道练习里的策略 pi"
    ),
    "use the natural log (np.log), not log10": "请用自然对数（np.log），不要用 log10",
    "log Z is the log of a sum (log-sum-exp), not the sum of the logs: "
    "log sum_y pi_ref e^{r/beta} is not sum_y pi_ref r / beta": (
        "log Z 是和的对数（log-sum-exp），不是对数的和：log sum_y pi_ref e^{r/beta} 不等于 sum_y pi_ref r / beta"
    ),
    "sign: log Z, not -log Z": "符号：是 log Z，不是 -log Z",
    "your J(pi) exceeds beta log Z = J(pi*) = {ceiling:.6f}, the largest value J can take "
    "(J(pi) = beta log Z - beta KL(pi || pi*) and a KL is >= 0)": (
        "你的 J(pi) 超过了 beta log Z = J(pi*) = {ceiling:.6f}，而这是 J 能取到的最大值"
        "（J(pi) = beta log Z - beta KL(pi || pi*)，且 KL >= 0）"
    ),
    # ------------------------------------------------------------ 11: a preference under r + f(x)
    "r'(x, y) = r(x, y) + f(x) with r = {r} (rows x_1, x_2) and f = {f}": (
        "r'(x, y) = r(x, y) + f(x)，其中 r = {r}（两行分别是 x_1、x_2），f = {f}"
    ),
    "p(y_1 > y_3 | x_1) with rewards {r}{note}": "奖励为 {r} 时的 p(y_1 > y_3 | x_1){note}",
    " after adding f(x_1) = {f} to every answer of x_1": "，x_1 的每个回答都加上 f(x_1) = {f} 之后",
    "r' differs from r by {f:g} on every answer of x_1, yet p(y_1 > y_3 | x_1) = {p:.6f} "
    "from both: a shift shared by every answer of the prompt cancels in r(x, y_1) - r(x, y_3) "
    "(Lemma 1), and so does beta log Z(x) in Eq. 6.": (
        "r' 在 x_1 的每个回答上都比 r 多 {f:g}，但两者给出的 p(y_1 > y_3 | x_1) 都是 {p:.6f}："
        "同一提示下所有回答共有的平移在 r(x, y_1) - r(x, y_3) 中消掉了（引理 1），式 6 里的 beta log Z(x) 也是这样消掉的。"
    ),
    "that is p(y_{b} > y_{a}): the margin is r(x, y_{a}) - r(x, y_{b})": (
        "这是 p(y_{b} > y_{a})：奖励差是 r(x, y_{a}) - r(x, y_{b})"
    ),
    "sigma is missing: p = sigma(r(x, y_1) - r(x, y_3)), a probability": (
        "漏了 sigma：p = sigma(r(x, y_1) - r(x, y_3))，是一个概率"
    ),
    "give the probability, not its log": "请给出概率本身，不是它的对数",
    "Bradley-Terry uses exp of the rewards, e^{r_1} / (e^{r_1} + e^{r_3}), not r_1 / (r_1 + r_3) "
    "(which a shift would change)": (
        "Bradley-Terry 用的是奖励的指数 e^{r_1} / (e^{r_1} + e^{r_3})，不是 r_1 / (r_1 + r_3)（后者会随平移而变）"
    ),
    "Bradley-Terry compares the two answers: over all three, e^{r_1} / sum_y e^{r(y)} is "
    "Plackett-Luce's probability that y_1 is ranked first": (
        "Bradley-Terry 只比较这两个回答：对全部三个回答算的 e^{r_1} / sum_y e^{r(y)} "
        "是 Plackett-Luce 模型里 y_1 排第一的概率"
    ),
    "compare y_{a} with y_{b}, as the exercise asks": "按练习的要求，比较 y_{a} 和 y_{b}",
    "use the rewards of prompt x_{x} (row {x} of the table)": "请用提示 x_{x} 的奖励（表格的第 {x} 行）",
    "shift every answer of x_{x} by the same f(x_{x}) = {f}: shifting only one "
    "answer's reward (or adding f to the difference) changes the preference": (
        "x_{x} 的每个回答都要平移同一个 f(x_{x}) = {f}：只平移一个回答的奖励（或把 f 加到差上）会改变偏好"
    ),
    "shift every answer of x_{x} by the same f(x_{x}) = {f}, not only y_{b}": (
        "x_{x} 的每个回答都要平移同一个 f(x_{x}) = {f}，不只是 y_{b}"
    ),
    "r + f(x) adds f(x) to the rewards; you multiplied them by it": "r + f(x) 是把 f(x) 加到奖励上；你把奖励乘上了它",
    "that is r itself: add f(x) to every reward of prompt x (the lemma is about r + f(x))": (
        "这是 r 本身：请给提示 x 的每个奖励都加上 f(x)（引理讲的是 r + f(x)）"
    ),
    "f(x) is added, not subtracted: r'(x, y) = r(x, y) + f(x)": "f(x) 是加上去的，不是减：r'(x, y) = r(x, y) + f(x)",
    "shift every prompt by its own f: x_2's answers get f(x_2) = {f} too": (
        "每个提示都按自己的 f 平移：x_2 的回答也要加上 f(x_2) = {f}"
    ),
    "f(x_1) belongs to the first row (prompt x_1), f(x_2) to the second": (
        "f(x_1) 属于第一行（提示 x_1），f(x_2) 属于第二行"
    ),
    "still the placeholder `...`": "占位符 `...`",
    "{name}: shifted is {state}: give the table r + f(x), shape (2, 3)": (
        "{name}：shifted 是 {state}：请给出表格 r + f(x)，形状为 (2, 3)"
    ),
    "{check}: {key} = {value} is not a probability (it must lie in [0, 1]): "
    "p = sigma(r(x_1, y_1) - r(x_1, y_3))": (
        "{check}：{key} = {value} 不是概率（概率必须在 [0, 1] 之内）：p = sigma(r(x_1, y_1) - r(x_1, y_3))"
    ),
}
