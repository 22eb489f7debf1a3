"""The Chinese student README of ``python -m dpo_teach.handout DIR --lang zh`` (the English one is in
:mod:`dpo_teach.handout`): the same sections and the same commands, in Chinese, with the set-up a
student in mainland China needs (a PyPI mirror; torch's CPU build from the PyTorch index)."""

from __future__ import annotations

__all__ = ["STUDENT_README_ZH"]

STUDENT_README_ZH = """# DPO 练习

共 {count} 道关于直接偏好优化（DPO，Rafailov 等，2023，arXiv:2305.18290）的练习，从一个可以手算的数，
到一个数值稳定的批量损失。每道练习最后都有一个检查，立即给出反馈：答对了打印以 `正确！` 开头的一行；
答错了说明错在哪里、是哪个输入，并给出提示。notebook 的第一个代码单元格调用 `set_language("zh")`，
所以反馈都是中文的。

## 准备环境（只需一次）

需要 Python 3.10 或更新版本，以及本课程的库 `dpo_teach`：

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu  # torch 的 CPU 版
pip install "dpo_teach[notebooks] @ git+{repo}"  # 或者在仓库的副本里：pip install -e ".[notebooks]"
jupyter lab 09_exercises.ipynb
```

**在中国大陆：** 可以先把 pip 指向国内的 PyPI 镜像（例如 `pip config set global.index-url
https://pypi.tuna.tsinghua.edu.cn/simple`）。但在 Linux 上，torch 仍要用上面那条带
`--index-url https://download.pytorch.org/whl/cpu` 的命令安装：镜像上的 `torch` 是带 CUDA 的版本，
有好几 GB。做练习不需要联网，也不需要 GPU。

## 做题，并检查自己的答案

把每个 `...` 或 `raise NotImplementedError` 换成你的答案，然后运行它下面的检查单元格
（`check_...(你的答案)`）。做题过程中检查失败是正常的：读一读反馈，改正，再运行一次。
等每个检查都打印出 `正确！`，再执行一次 "Restart kernel and run all"（重启内核并运行全部单元格）：
批改工具就是这样运行的；只在你碰巧的运行顺序下才能跑通的 notebook，在那里会出错。
公式请自己写：导入库里现成的函数也能让检查通过，但批改工具会向老师标出哪些答案用了 `dpo_teach`
（无论在哪个单元格、用什么名字）。

## 批改工具怎么运行

只运行你的 notebook，在一个全新的内核里，从上到下运行每个代码单元格，每个单元格有时间限制
（默认 60 秒，以老师的说明为准），不能联网。你的检查单元格并不计分：批改工具记下你传给每个
`check_...(...)` 的答案，自己再运行一遍同样的检查，所以 notebook 打印了什么不算数，只有答案算数。
答案仍是 `...`（或仍抛出 `NotImplementedError`）的练习记为 `missing`（缺失）；一个单元格出错，
只影响依赖它的练习，不影响其余的。

## 提交

保存 notebook（不要改文件名），提交 `09_exercises.ipynb`。
"""
