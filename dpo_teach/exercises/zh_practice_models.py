"""Chinese feedback, part 6: the practice questions of notebooks 04-08 (:mod:`.practice_models`,
:mod:`.practice_failures`).
English template -> Chinese template, same ``{fields}`` (see :mod:`.language`)."""

from __future__ import annotations

ZH = {
    # ------------------------------------------------------------ 04
    "answer {i}: r_phi = {r} is {side} beta log Z = {bar:.3f}, so it {moves}": (
        "回答 {i}：r_phi = {r} {side} beta log Z = {bar:.3f}，所以它{moves}"
    ),
    "below": "低于",
    "above": "高于",
    "loses probability": "失去概率",
    "gains probability": "得到概率",
    "{lost}: an answer loses probability when its reward is below beta log Z = {bar:.3f}; answer 1 has a "
    "positive reward and still loses, so 'chosen' is relative.": (
        "{lost}：奖励低于 beta log Z = {bar:.3f} 的回答会失去概率；回答 1 的奖励是正的，仍然失去概率，"
        "所以“选中”只是相对的。"
    ),
    "{check}: beta = {x} is not one of the candidates {betas}": "{check}：beta = {x} 不在候选值 {betas} 之中",
    "its KL is {kl:.4f} nats, over the budget of {budget}: a smaller beta moves further from pi_ref": (
        "它的 KL 是 {kl:.4f} nats，超出了 {budget} 的预算：beta 越小，离 pi_ref 越远"
    ),
    "it is within the budget (KL {kl:.4f}) but its expected reward {reward:.4f} is lower: "
    "a larger beta stays closer to pi_ref than the budget needs": (
        "它在预算之内（KL {kl:.4f}），但期望奖励 {reward:.4f} 更低：更大的 beta 让策略比预算要求的更贴近 pi_ref"
    ),
    "{check}: beta = {x} is not the best choice.": "{check}：beta = {x} 不是最好的选择。",
    "beta = {b}: KL {kl:.4f} nats, expected reward {reward:.4f}; the next smaller beta is just over the "
    "budget. Both fall as beta grows, so the best beta is the smallest one the budget allows.": (
        "beta = {b}：KL {kl:.4f} nats，期望奖励 {reward:.4f}；下一个更小的 beta 刚好超出预算。"
        "两者都随 beta 增大而下降，所以最好的 beta 是预算允许的最小那个。"
    ),
    # ------------------------------------------------------------ 05
    "the log line of notebook 05": "第 05 本笔记本的那行日志",
    "the margin is rewards/chosen MINUS rewards/rejected": "奖励差是 rewards/chosen 减去 rewards/rejected",
    "sign: chosen minus rejected": "符号：选中减落选",
    "that is h = m / beta; the logged rewards already include beta": "这是 h = m / beta；日志里的奖励已经含 beta",
    "the logged rewards already include beta: do not multiply by it again": "日志里的奖励已经含 beta：不要再乘一次",
    "that is the margin m; h = m / beta has no beta": "这是奖励差 m；h = m / beta 不含 beta",
    "divide by beta, do not multiply: h = m / beta": "要除以 beta，不是乘：h = m / beta",
    "m = {m:.2f}, h = {h:.1f} nats: the policy moved {h:.1f} nats more toward y_w than toward y_l, and "
    "the loss of this pair is -log sigma({m:.2f}) = {loss:.4f}.": (
        "m = {m:.2f}，h = {h:.1f} nats：策略朝 y_w 比朝 y_l 多移动了 {h:.1f} nats，"
        "这一对的损失是 -log sigma({m:.2f}) = {loss:.4f}。"
    ),
    "log pi(x, y) = log pi(x) + log pi(y|x), and log pi(x) is the same in the chosen and the rejected "
    "row of a pair: it cancels in the margin, so the loss cannot change": (
        "log pi(x, y) = log pi(x) + log pi(y|x)，而 log pi(x) 在一对的选中行和落选行里相同：它在奖励差中抵消，损失不会变"
    ),
    "the loss is -log sigma(margin): if the margin stays, so does the loss": "损失是 -log sigma(奖励差)：奖励差不变，损失也不变",
    "padding differs between the two rows of a pair and does not cancel; the prompt is the same in "
    "both rows and does": "一对的两行填充长度不同，不会抵消；提示在两行中相同，会抵消",
    "(b): log pi(x) is the same in both rows of a pair, so the margin and the loss stay; each logged "
    "reward moves by one constant per prompt, f(x) = beta [log pi_theta(x) - log pi_ref(x)].": (
        "(b)：log pi(x) 在一对的两行中相同，所以奖励差和损失不变；日志里的每个奖励按提示平移一个常数，"
        "f(x) = beta [log pi_theta(x) - log pi_ref(x)]。"
    ),
    # ------------------------------------------------------------ 06
    "{check}: loss_type = {value} is not a name in LOSSES: {names}": "{check}：loss_type = {value} 不是 LOSSES 中的名字：{names}",
    "DPO itself trusts every label: a flipped pair pushes with full weight the wrong way": (
        "DPO 本身相信每个标签：标反的一对会以全部权重往错的方向推"
    ),
    "IPO bounds the margin (a target 1/(2 beta)) whatever the labels; it has no flip rate to set": (
        "IPO 无论标签如何都给奖励差设上限（目标 1/(2 beta)）；它没有可设的翻转率"
    ),
    "the hinge stops pushing past a margin, but it has no flip rate: a flipped pair still counts fully": (
        "hinge 超过一定奖励差就不再推，但它没有翻转率：标反的一对仍然完全计入"
    ),
    "SimPO changes the scale (per-token, no reference) and adds a target margin, not a flip rate": (
        "SimPO 改变的是尺度（按 token 平均、没有参考模型）并加了目标奖励差，不是翻转率"
    ),
    "length normalisation is about long answers, not about flipped labels": "长度归一化针对的是长回答，不是标反的标签",
    "DPOP keeps the chosen answer's probability from falling; it does not model flipped labels": (
        "DPOP 防止选中回答的概率下降；它不对标反的标签建模"
    ),
    "RPO adds the chosen answers' NLL; it does not model flipped labels": "RPO 加上选中回答的 NLL；它不对标反的标签建模",
    "that member does not model a known rate of flipped labels": "这个成员不对已知比例的标反标签建模",
    "that is the share labelled right; label_smoothing is the share flipped": (
        "这是标对的比例；label_smoothing 是标反的比例"
    ),
    "give a probability, not a percentage": "请给出概率，不是百分数",
    "one pair in five flipped": "每五对中有一对标反",
    "cdpo with label_smoothing = {eps}: the loss expects a flip with probability {eps}, so it stops "
    "pushing a pair once its margin reaches log((1 - {eps}) / {eps}) = {cap:.2f}; "
    "that cap also shrinks the fit.": (
        "cdpo，label_smoothing = {eps}：损失预期每对以概率 {eps} 标反，所以一对的奖励差到达 "
        "log((1 - {eps}) / {eps}) = {cap:.2f} 后就不再推它；这个上限也让拟合结果再缩小一次。"
    ),
    "robust with label_smoothing = {eps}: the loss corrects for a flip with probability {eps}, "
    "so its optimum is the true preference probability when {eps} is the true rate; "
    "it still pushes every pair, with a weight that never reaches 0.": (
        "robust，label_smoothing = {eps}：损失按概率 {eps} 的标反做了校正，所以当 {eps} 就是真实的标反率时，"
        "它的最优解就是真实的偏好概率；它仍然推每一对，权重永远不会降到 0。"
    ),
    "TRL's IPO at beta = {beta}, |y_w| = {lw}, |y_l| = {ll}": "TRL 的 IPO，beta = {beta}，|y_w| = {lw}，|y_l| = {ll}",
    "that is the paper's (summed) IPO target 1/(2 beta); TRL's divides each log-ratio by its length": (
        "这是论文中（求和的）IPO 目标 1/(2 beta)；TRL 的版本把每个对数比值除以它的长度"
    ),
    "the lengths enter as h_w / |y_w| - h_l / |y_l| with h_w = h/2, h_l = -h/2, not as one mean length": (
        "长度以 h_w / |y_w| - h_l / |y_l| 的形式进入，其中 h_w = h/2、h_l = -h/2，而不是一个平均长度"
    ),
    "that uses the target 1/beta; the IPO target is 1/(2 beta), half of it": (
        "这里用了目标 1/beta；IPO 的目标是 1/(2 beta)，只有它的一半"
    ),
    "h = {h:g} nats, {ratio:g} times the summed IPO's target {target:g}: a beta tuned for one IPO is "
    "wrong for the other.": (
        "h = {h:g} nats，是求和版 IPO 目标 {target:g} 的 {ratio:g} 倍：为一种 IPO 调好的 beta 对另一种是错的。"
    ),
    # ------------------------------------------------------------ 07
    "{check}: step = {x} is not a checkpoint of the table: {steps}": (
        "{check}：step = {x} 不是表中的检查点：{steps}"
    ),
    "{check}: step {s} is not the one to keep.": "{check}：不该保留第 {s} 步的检查点。",
    "step {s} has the best held-out accuracy ({acc:.3f}) and loss ({loss:.3f}), but only {valid:.0%} of its "
    "samples are valid and KL is {kl:.1f} nats: it is inside the collapse. Held-out accuracy ranks two fixed "
    "texts; it does not read what the policy writes": (
        "第 {s} 步的留出准确率（{acc:.3f}）和留出损失（{loss:.3f}）最好，但只有 {valid:.0%} 的样本有效，"
        "KL 为 {kl:.1f} nats：它正处在崩溃之中。留出准确率只比较两段固定文本的排序，不看策略实际写出什么"
    ),
    "the last checkpoint has partly recovered ({valid:.0%} valid), but its judge score {judge:+.2f} is below "
    "the best one's, and it came through the collapse: judge every checkpoint, not the final one alone": (
        "最后一个检查点部分恢复了（{valid:.0%} 有效），但评判分 {judge:+.2f} 低于最好的那个，"
        "而且它经历过崩溃：要评判每个检查点，而不只是最后一个"
    ),
    "step 0 is the reference itself: later checkpoints score higher on samples": (
        "第 0 步就是参考模型本身：之后的检查点在样本上得分更高"
    ),
    "KL jumped from {k0:.1f} to {kl:.1f} nats in one interval and validity fell to {valid:.0%}: the cheap "
    "alarm of section 2; the judge score fell too": (
        "KL 在一个间隔内从 {k0:.1f} 跳到 {kl:.1f} nats，有效率降到 {valid:.0%}："
        "这正是第 2 节说的廉价警报；评判分也下降了"
    ),
    "its samples are valid and its KL small, but a later checkpoint, still valid and without a jump in KL, "
    "scores higher with the judge ({judge:+.2f} here)": (
        "它的样本有效、KL 也小，但之后有一个检查点同样有效、KL 没有跳变，评判分更高（这里是 {judge:+.2f}）"
    ),
    "step {s}: the best judge score ({judge:+.2f}) with {valid:.0%} valid samples at KL {kl:.1f}; held-out "
    "accuracy and loss would have picked step {bad}, inside the collapse.": (
        "第 {s} 步：评判分最高（{judge:+.2f}），{valid:.0%} 的样本有效，KL 为 {kl:.1f}；"
        "按留出准确率和损失会选第 {bad} 步，正处在崩溃之中。"
    ),
    "a true reward gap of {gap:g}, labels flipped with probability {eps}": (
        "真实奖励差为 {gap:g}、标签以概率 {eps} 翻转"
    ),
    "that is p = sigma(2), the true preference: the flipped labels show p~, pulled toward 1/2": (
        "这是真实偏好 p = sigma(2)：翻转后的标签呈现的是 p~，被拉向 1/2"
    ),
    "the flipped pairs count too: p~ = (1 - eps) p + eps (1 - p)": (
        "标反的对也要算上：p~ = (1 - eps) p + eps (1 - p)"
    ),
    "that is 1 - p~, the probability that y_l is preferred": "这是 1 - p~，即 y_l 被偏好的概率",
    "that is the reward gap, not a probability: p = sigma(gap)": "这是奖励差，不是概率：p = sigma(奖励差)",
    "that is DPO's optimum: cDPO smooths the labels once more, on top of the flips in the data": (
        "这是 DPO 的最优解：cDPO 在数据已有的翻转之上再平滑一次标签"
    ),
    "that is robust DPO's optimum, which undoes the flips; cDPO shrinks instead": (
        "这是 robust DPO 的最优解，它抵消了翻转；cDPO 反而会收缩"
    ),
    "two flips at eps are not one flip at 2 eps: smooth p~ with eps, (1 - eps) p~ + eps (1 - p~)": (
        "两次概率为 eps 的翻转不等于一次概率为 2 eps 的翻转：用 eps 平滑 p~，即 (1 - eps) p~ + eps (1 - p~)"
    ),
    "DPO {pd:.3f}, cDPO {pc:.3f}, against the true p = {p:.3f}: the reward gap learned is {hd:.2f} and "
    "{hc:.2f} instead of {gap:g}; robust DPO's optimum is p itself.": (
        "DPO {pd:.3f}，cDPO {pc:.3f}，而真实的 p = {p:.3f}：学到的奖励差分别是 {hd:.2f} 和 {hc:.2f}，"
        "而不是 {gap:g}；robust DPO 的最优解就是 p 本身。"
    ),
    # ------------------------------------------------------------ 08
    "the optimizer is built over the policy it steps (after it is loaded); the weights move, and still the "
    "margin stays 0": (
        "优化器是在它更新的那个策略上建的（在加载之后）；权重在动，奖励差却仍然是 0"
    ),
    "log_softmax on float32 logits is section 3's fix; fp16 would show NaN or a loss of 0, not ln 2": (
        "在 float32 logits 上做 log_softmax 正是第 3 节的修复；fp16 会出现 NaN 或为 0 的损失，而不是 ln 2"
    ),
    "the reference is scored without gradient, as it must be (section 8); a bug there would not hold the "
    "margin at 0": (
        "参考模型在无梯度下打分，本该如此（第 8 节）；那里出错也不会让奖励差一直是 0"
    ),
    "beta = 2.0 is set, and grad_norm is not 0: with beta = 0 the gradient would be exactly 0 too": (
        "beta = 2.0 已经设了，而且 grad_norm 不是 0：若 beta = 0，梯度也会恰好是 0"
    ),
    "(a): reference = policy makes the reference the policy itself, so both log-ratios are 0 at every step; "
    "the gradient is not 0 and the weights move, but the margin never does. Copy it: "
    "reference = copy.deepcopy(policy).eval().requires_grad_(False).": (
        "(a)：reference = policy 让参考模型就是策略本身，所以每一步两个对数比值都是 0；"
        "梯度不是 0，权重也在动，但奖励差从不改变。要复制一份："
        "reference = copy.deepcopy(policy).eval().requires_grad_(False)。"
    ),
    "beta = 0 gives ln 2 and a zero gradient, but the log-probs would still be sums over the completion's "
    "tokens, below 0; here they are exactly 0.0": (
        "beta = 0 会给出 ln 2 和为 0 的梯度，但对数概率仍是回答各 token 之和，小于 0；这里它们恰好是 0.0"
    ),
    "learning_rate is 5e-07, not 0; and a learning rate of 0 would leave the log-probs below 0": (
        "learning_rate 是 5e-07，不是 0；而且学习率为 0 时对数概率仍小于 0"
    ),
    "fp16 overflow shows NaN (section 3, 10.4), not a loss of ln 2 with log-probs of exactly 0": (
        "fp16 溢出表现为 NaN（第 3 节、10.4 节），而不是损失为 ln 2、对数概率恰好为 0"
    ),
    "(c): logps/chosen and logps/rejected of exactly 0.0 are sums over no token: no completion token is "
    "scored (truncated away or masked), so both log-ratios are 0, the loss is ln 2 and the gradient 0 "
    "(section 10.2).": (
        "(c)：logps/chosen 和 logps/rejected 恰好为 0.0，是对零个 token 求和：回答的 token 一个也没被打分"
        "（被截断或被遮掉），所以两个对数比值都是 0，损失是 ln 2，梯度是 0（第 10.2 节）。"
    ),
}
