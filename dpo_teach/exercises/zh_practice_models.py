"""Chinese feedback, part 6: the practice questions of notebooks 04-06 (:mod:`.practice_models`).
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
    "{loss} with label_smoothing = {eps}: the loss expects a flip with probability {eps}, so a pair "
    "ordered against its label is no longer pushed without limit.": (
        "{loss}，label_smoothing = {eps}：损失预期每对以概率 {eps} 标反，所以与标签相反的一对不再被无限地推。"
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
}
