"""Chinese feedback, part 1: the messages every check shares (reading an answer, calling a student's
function, comparing, the inputs' names) and the lines a right answer prints. English template ->
Chinese template, same ``{fields}`` (see :mod:`.language`). Terms as in ``README.zh-CN.md``: 策略,
参考模型, 选中回答 / 落选回答, 对数概率, 隐式奖励, 奖励差, 偏好概率, 梯度权重, 最优策略.
"""

from __future__ import annotations

ZH = {
    # ------------------------------------------------------------ the shape of every message
    "Hint: {hint}": "提示：{hint}",
    "(tolerance rtol={rtol}, atol={atol})": "（容差 rtol={rtol}，atol={atol}）",
    "{check}: {name} is wrong for {where}\n  expected {expected}\n  received {received}   {tolerance}": (
        "{check}：{name} 不对（{where}）\n  期望值 {expected}\n  你的值 {received}   {tolerance}"
    ),
    "{check}: wrong {what} on {where}\n  input: {inputs}\n  expected ({label}): {expected}\n"
    "  received: {received}   {tolerance}": (
        "{check}：{what} 不对，出错处：{where}\n  输入：{inputs}\n  期望值（{label}）：{expected}\n"
        "  你的值：{received}   {tolerance}"
    ),
    "reference": "参考实现",
    "close, but not within the tolerance: compute it in code rather than typing a rounded number": (
        "很接近，但不在容差之内：请用代码计算，不要手动输入四舍五入后的数"
    ),
    # ------------------------------------------------------------ a number that is not one
    "{check}: {name} is still the placeholder `...`: replace it with your answer": (
        "{check}：{name} 还是占位符 `...`：请换成你的答案"
    ),
    "{check}: {name} is None; assign the number you computed "
    "(a function that only prints returns None)": (
        "{check}：{name} 是 None；请把你算出的数赋给它（只打印、不返回的函数返回的是 None）"
    ),
    "{check}: {name} is the bool {value}; give a number": "{check}：{name} 是布尔值 {value}；请给出一个数",
    "{check}: {name} is the string {value}; give a number, not text": (
        "{check}：{name} 是字符串 {value}；请给出一个数，而不是文本"
    ),
    "{check}: {name} is a {kind}, not a number ({err})": "{check}：{name} 是 {kind}，不是数（{err}）",
    " of dtype {dtype}": "，dtype 为 {dtype}",
    "{check}: {name} must be a real number, got a {kind}{dtype}": "{check}：{name} 必须是实数，你给的是 {kind}{dtype}",
    "{check}: {name} must be a single number, got an array of shape "
    "{shape}; pick the one value the exercise asks for": (
        "{check}：{name} 必须是单个数，你给的是形状为 {shape} 的数组；请取出练习要求的那一个值"
    ),
    "{check}: {name} is NaN. NaN comes from the log of a negative "
    "number: did you take the log of a log-probability?": (
        "{check}：{name} 是 NaN。NaN 来自对负数取对数：你是不是对对数概率又取了一次对数？"
    ),
    "{check}: {name} is {x}: an overflow (exp of a large number) or log(0) somewhere": (
        "{check}：{name} 是 {x}：某处溢出了（对很大的数取 exp），或者算了 log(0)"
    ),
    # ------------------------------------------------------------ a student's function
    "the function": "函数",
    "the result": "结果",
    "{check}: expected a function, got a {kind}; pass the "
    "function itself (my_fn), not the result of calling it (my_fn(...))": (
        "{check}：这里要的是函数，你给的是 {kind}；请传入函数本身（my_fn），而不是调用它的结果（my_fn(...)）"
    ),
    "{check}: your function raises NotImplementedError: replace the "
    "placeholder `raise NotImplementedError` with your code": (
        "{check}：你的函数抛出了 NotImplementedError：请把占位的 `raise NotImplementedError` 换成你的代码"
    ),
    "{check}: your function called sys.exit({code}) (or raised SystemExit) on {where}; "
    "return the value instead of exiting": (
        "{check}：你的函数在{where}上调用了 sys.exit({code})（或抛出了 SystemExit）；请返回结果，不要退出"
    ),
    "{check}: your function raised {kind}: {text}\n  on {where}": (
        "{check}：你的函数抛出了 {kind}：{text}\n  出错的输入：{where}"
    ),
    "check the signature: the exercise says which arguments, in which order": (
        "检查函数签名：练习里写明了有哪些参数、按什么顺序"
    ),
    "-100 marks prompt and padding and is not a valid index: replace it "
    "(labels.clamp(min=0)) before gather, then mask those positions out of the sum": (
        "-100 标记的是提示和填充，不是合法的下标：gather 之前先把它替换掉（labels.clamp(min=0)），"
        "再用掩码把这些位置排除在求和之外"
    ),
    "the inputs are NumPy arrays here; use np. functions (or convert with torch.as_tensor)": (
        "这里的输入是 NumPy 数组；请用 np. 的函数（或者先用 torch.as_tensor 转换）"
    ),
    "{check}: your function returned None for {what} on {where}: did you forget `return`?": (
        "{check}：你的函数在{where}上为 {what} 返回了 None：是不是忘了写 `return`？"
    ),
    "{check}: your function returned a tuple of {n} items; "
    "return only {what}, an array of shape {shape}": (
        "{check}：你的函数返回了含 {n} 项的元组；只需返回 {what}，一个形状为 {shape} 的数组"
    ),
    "{check}: {what} could not be read as an array ({err})": "{check}：{what} 无法读成数组（{err}）",
    "{check}: {what} must hold real numbers, got dtype {dtype} ({kind}) on {where}": (
        "{check}：{what} 必须由实数组成，你在{where}上给的 dtype 是 {dtype}（{kind}）"
    ),
    "the mean over the batch": "对整个批次取的平均值",
    "the sum over the batch": "对整个批次求的和",
    "one number": "单个数",
    "{check}: your function returned a single number ({how}) for {what} on "
    "{where}; return one value per item, shape {shape} (do not "
    "average or sum over the batch)": (
        "{check}：你的函数在{where}上为 {what} 只返回了一个数（{how}）；"
        "请为每一项各返回一个值，形状为 {shape}（不要对批次取平均或求和）"
    ),
    " (reshape or squeeze it)": "（用 reshape 或 squeeze 调整形状）",
    "{check}: {what} has shape {got}, expected {shape} on {where}{fix}": (
        "{check}：{what} 的形状是 {got}，在{where}上应为 {shape}{fix}"
    ),
    "a {kind}": "{kind}",
    " of length {n}": "（长度 {n}）",
    "{check}: return a tuple ({names}); got {got} on {where}": (
        "{check}：请返回元组（{names}）；你在{where}上返回的是 {got}"
    ),
    "your {what} is {dtype}: compute in float64 (the inputs are float64); "
    "{dtype} keeps only ~{digits} significant digits": (
        "你的{what}是 {dtype}：请用 float64 计算（输入都是 float64）；{dtype} 只保留约 {digits} 位有效数字"
    ),
    "output": "输出",
    "your value is {dtype}, which keeps ~{digits} significant digits; compute in float64": (
        "你的值是 {dtype}，只保留约 {digits} 位有效数字；请用 float64 计算"
    ),
    # ------------------------------------------------------------ where: the inputs
    "{label} (B = {b}, beta = {beta})": "{label}（B = {b}，beta = {beta}）",
    "{label} (K = {k}, beta = {beta})": "{label}（K = {k}，beta = {beta}）",
    "{label} (logits {logits}, labels {labels})": "{label}（logits {logits}，labels {labels}）",
    "{where}, pair {i}": "{where}中下标为 {i} 的偏好对",
    "{where}, first at index {i}": "{where}，第一处不同在下标 {i}",
    "{where}, row {b}": "{where}中下标为 {b} 的行",
    "the sequence log-probs": "序列对数概率",
    "log-prob": "对数概率",
    "pi* must be a distribution; yours sums to {total}": "pi* 必须是概率分布；你的结果加起来是 {total}",
    "the log-prob example": "对数概率的例子",
    "the toy example 0.6/0.4 vs 0.5/0.5": "小例子 0.6/0.4 对 0.5/0.5",
    "two pairs with margin 0 (loss ln 2)": "两个奖励差为 0 的偏好对（损失为 ln 2）",
    "random batch {k} of 5 (seed {seed})": "随机批次 {k}/5（种子 {seed}）",
    "random batch {k} of 3 (seed {seed})": "随机批次 {k}/3（种子 {seed}）",
    "extreme margins +-5e4 and +-800": "极端的奖励差 +-5e4 和 +-800",
    "the KL exercise's table": "KL 练习的表格",
    "a uniform reference": "均匀的参考模型",
    "random table {k} of 4 (seed {seed})": "随机表格 {k}/4（种子 {seed}）",
    "large rewards, r / beta = 1e4": "很大的奖励，r / beta = 1e4",
    "a hand-made batch": "手工构造的批次",
    "large logits (scale 1e4)": "很大的 logits（量级 1e4）",
    "{label}, with lengths (TRL's per-token form)": "{label}，带长度（TRL 的逐 token 形式）",
    "the toy example at beta = {beta}": "beta = {beta} 时的小例子",
    "the toy example at beta = 1": "beta = 1 时的小例子",
    "the log-prob example {example} at beta = {beta}": "beta = {beta} 时的对数概率例子 {example}",
    "ref_probs = {p}, rewards = {r}, beta = {beta}": "ref_probs = {p}，rewards = {r}，beta = {beta}",
    # ------------------------------------------------------------ right answers (after 正确！)
    "r_hat_w = {r_w:.6f}, r_hat_l = {r_l:.6f} (beta = {beta}).": "r_hat_w = {r_w:.6f}，r_hat_l = {r_l:.6f}（beta = {beta}）。",
    "p(y_w > y_l) = {x:.6f}: at beta = 1 it is 0.6 / (0.6 + 0.4), as Eq. 1 says.": (
        "p(y_w > y_l) = {x:.6f}：beta = 1 时它就是 0.6 / (0.6 + 0.4)，与式 1 一致。"
    ),
    "loss = {x:.6f} (margin = {m:.3f}; a margin of 0 would give ln 2 = 0.693147).": (
        "损失 = {x:.6f}（奖励差 = {m:.3f}；奖励差为 0 时损失是 ln 2 = 0.693147）。"
    ),
    "your dpo_loss matches Eq. 7 on {n} pairs, margins up to +-5e4 included.": (
        "你的 dpo_loss 在 {n} 个偏好对上与式 7 一致，包括奖励差达 +-5e4 的偏好对。"
    ),
    "your gradient weight is right on {n} pairs (w -> 1 when a pair is badly ordered).": (
        "你的梯度权重在 {n} 个偏好对上都对（偏好对的顺序排得越错，w 越接近 1）。"
    ),
    "your hand-derived gradient equals torch autograd on {n} pairs.": (
        "你手推的梯度在 {n} 个偏好对上与 torch 的 autograd 结果相同。"
    ),
    "your pi* matches Eq. 4 on {n} tables, r / beta = 1e4 included.": (
        "你的 pi* 在 {n} 张表格上与式 4 一致，包括 r / beta = 1e4 的表格。"
    ),
    "your sequence_logps is right on {n} sequences (shift, mask and sum).": (
        "你的 sequence_logps 在 {n} 条序列上都对（错位、掩码、求和都没问题）。"
    ),
    "doubling beta cuts KL from {kl:.4f} to {kl2:.4f} nats "
    "(x{ratio:.3f}, not the small-reward x0.25): a larger beta keeps pi* closer to pi_ref.": (
        "beta 加倍后，KL 从 {kl:.4f} 降到 {kl2:.4f} nats（乘以 {ratio:.3f}，不是小奖励近似下的 0.25）："
        "beta 越大，pi* 越贴近 pi_ref。"
    ),
    "your ipo_loss matches Eq. 17 on {n} pairs, in the paper's summed form and TRL's per-token one.": (
        "你的 ipo_loss 在 {n} 个偏好对上与式 17 一致，论文的求和形式和 TRL 的逐 token 形式都对。"
    ),
    "check_bt_probability: p = {x} is not a probability (it must lie "
    "in [0, 1]): p = sigmoid(r_hat_w - r_hat_l)": (
        "check_bt_probability：p = {x} 不是概率（概率必须在 [0, 1] 之内）：p = sigmoid(r_hat_w - r_hat_l)"
    ),
}
