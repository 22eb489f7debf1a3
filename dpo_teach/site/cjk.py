"""Chinese Markdown's wrapped lines joined, so a page shows no space where the source broke a line.

Markdown reads a line break inside a paragraph as a space. Between two Chinese characters the
browser draws that space (Chromium does not drop it), so a wrapped Chinese sentence reads
"一个 直接作用" on the page. This joins two lines when the first ends and the next starts with a
CJK character or CJK punctuation, outside fenced code and never after a heading line. A break
beside Latin text, a number or markup stays (there a space is right, or the line starts a block).
"""

from __future__ import annotations

import re

__all__ = ["join_cjk_lines"]

CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
ENDS_CJK = re.compile(f"[{CJK}]$")
STARTS_CJK = re.compile(f"^\\s*[{CJK}]")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s")


def join_cjk_lines(text: str) -> str:
    """``text`` with each line break between two CJK characters removed (see the module)."""
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    for line in lines:
        joins = (
            out
            and not fenced
            and ENDS_CJK.search(out[-1])
            and not HEADING.match(out[-1])
            and STARTS_CJK.match(line)
        )
        if FENCE.match(line):
            fenced = not fenced
        if joins:
            out[-1] += line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)
