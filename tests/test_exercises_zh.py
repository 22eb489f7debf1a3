"""Chinese feedback of the exercise checks (dpo_teach.exercises.language): every message has its
translation with the same fields, ``set_language("zh")`` (or ``DPO_TEACH_LANG=zh``) makes every
wrong answer's feedback Chinese, line by line, and English stays the default."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest

from dpo_teach import exercises as ex
from dpo_teach.exercises import family, function_mistakes, language, mistakes
from helpers import kl_optimal
from test_exercises_mistakes import catalogued

EXERCISES = Path(ex.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
CHINESE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")  # characters or full-width punctuation
FIELD = re.compile(r"\{[^{}]*\}")


@pytest.fixture
def zh(monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)  # monkeypatch restores it after the test
    ex.set_language("zh")
    yield
    monkeypatch.delenv(language.ENV, raising=False)


def tr_calls(source: str) -> list[str]:
    """The English text of every ``tr("...")`` call in ``source`` (the first argument, a literal)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


def stored_hints(modules) -> list[str]:
    """The hints the mistake catalogues keep in English until shown: module-level constants and the
    ``(hint, wrong answer)`` lists."""
    found = []
    for module in modules:
        for name, value in vars(module).items():
            if not name.isupper() or name.startswith("_"):
                continue
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, list):
                found += [item[0] for item in value if isinstance(item, tuple) and isinstance(item[0], str)]
    return found


def english_messages() -> list[str]:
    sources = [p for p in sorted(EXERCISES.glob("*.py")) if not p.name.startswith("zh_")]
    texts = [t for p in sources for t in tr_calls(p.read_text(encoding="utf-8"))]
    return list(dict.fromkeys(texts + stored_hints([mistakes, function_mistakes, family])))


def translation_problems(texts, catalogue) -> list[str]:
    """Each English text without a Chinese one, or whose Chinese has other ``{fields}``."""
    problems = []
    for text in texts:
        if text not in catalogue:
            problems.append(f"no translation: {text!r}")
        elif sorted(FIELD.findall(text)) != sorted(FIELD.findall(catalogue[text])):
            problems.append(f"other fields in the translation of {text!r}: {catalogue[text]!r}")
        elif not CHINESE.search(catalogue[text]) and text != "a {kind}":
            problems.append(f"not Chinese: {catalogue[text]!r}")
    return problems


def test_every_message_and_hint_has_a_chinese_translation_with_the_same_fields():
    texts = english_messages()
    assert len(texts) > 180  # the parser found them (a parser that finds nothing would pass)
    problems = translation_problems(texts, language.catalogue())
    assert not problems, "\n".join(problems)
    stale = set(language.catalogue()) - set(texts)
    assert not stale, f"translations of messages no check uses any more: {sorted(stale)}"


def test_the_translation_check_fails_on_a_missing_or_broken_translation():
    planted = 'def f(x):\n    raise AssertionError(tr("{check}: brand new message {x}", check="c", x=x))\n'
    assert tr_calls(planted) == ["{check}: brand new message {x}"]
    catalogue = dict(language.catalogue())
    assert translation_problems(tr_calls(planted), catalogue) == [
        "no translation: '{check}: brand new message {x}'"
    ]
    catalogue["{check}: brand new message {x}"] = "{check}：新的消息 {y}"  # a field renamed
    assert translation_problems(tr_calls(planted), catalogue)[0].startswith("other fields")
    catalogue["{check}: brand new message {x}"] = "{check}: brand new message {x}"  # left in English
    assert translation_problems(tr_calls(planted), catalogue)[0].startswith("not Chinese")


# ---------------------------------------------------------------------- the language switch


def test_english_is_the_default_and_set_language_switches(monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)
    assert ex.get_language() == "en"
    assert ex.set_language("zh") == "zh" and ex.get_language() == "zh"
    import os

    assert os.environ["DPO_TEACH_LANG"] == "zh"  # what the grader's and a notebook's processes read
    assert ex.set_language("zh-CN") == "zh"
    assert ex.set_language("en") == "en"


def test_the_environment_variable_alone_switches(monkeypatch):
    monkeypatch.setenv("DPO_TEACH_LANG", "zh")
    assert "期望值" in message(ex.check_dpo_loss_value, 0.5)
    monkeypatch.setenv("DPO_TEACH_LANG", "klingon")  # not a language: English, not an error mid-check
    assert "expected" in message(ex.check_dpo_loss_value, 0.5)


@pytest.mark.parametrize("bad", ["fr", "", None, 1])
def test_an_unknown_language_is_one_clear_error(bad, monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)
    with pytest.raises(ValueError, match=r"set_language\('zh'\)"):
        ex.set_language(bad)
    assert ex.get_language() == "en"


def message(check, *answer) -> str:
    with pytest.raises(AssertionError) as info:
        check(*answer)
    return str(info.value)


def assert_chinese(text: str):
    english = [line for line in text.splitlines() if not CJK.search(line)]
    assert not english, f"lines without Chinese: {english}\n{text}"


# ---------------------------------------------------------------------- one wrong answer per check


def _no_beta(pc, pr, rc, rr, beta):
    return np.logaddexp(0, -((pc - rc) - (pr - rr)))


WRONG = {  # check -> (a wrong answer, words of the Chinese hint it must get)
    "check_implicit_reward": ((math.log(1.2), math.log(0.8)), "漏了 beta"),
    "check_bt_probability": ((0.4,), "这是 P(y_l > y_w)"),
    "check_dpo_loss_value": ((0.5,), "期望值"),
    "check_dpo_loss": ((_no_beta,), "奖励差里漏了 beta"),
    "check_gradient_weight": ((lambda pc, pr, rc, rr, b: 1 / (1 + np.exp(-b * ((pc - rc) - (pr - rr)))),), "符号"),
    "check_dpo_gradient": ((lambda *a: (a[0] * 0, a[0] * 0),), "期望值（autograd）"),
    "check_optimal_policy": ((lambda p, r, b: p * np.exp(r / b),), "没有归一化"),
    "check_sequence_logps": ((lambda lg, lb: lg.sum((-1, -2)),), "手工构造的批次"),
    "check_kl_when_beta_doubles": ((kl_optimal(ex.KL_BETA), 0.5), "你的 KL 没有下降"),
    "check_objective_identity": ((0.0, 0.0), "期望值"),
    "check_shift_invariance": ((np.array(ex.inputs.SHIFT_REWARDS), 0.5, 0.5), "这是 r 本身"),
    "check_ipo_loss": ((lambda pc, pr, rc, rr, b, *n: ((pc - rc) - (pr - rr) - 1 / b) ** 2,), "漏了 1/2"),
}


def test_every_check_has_a_wrong_answer_here():
    assert set(WRONG) == {n for n in ex.__all__ if n.startswith("check_")}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_answer_gets_its_feedback_in_chinese(name, zh):
    answer, words = WRONG[name]
    text = message(getattr(ex, name), *answer)
    assert text.startswith(f"{name}："), text
    assert words in text, text
    assert_chinese(text)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_the_same_wrong_answer_gets_english_feedback_by_default(name, monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)
    text = message(getattr(ex, name), *WRONG[name][0])
    assert not CJK.search(text), text


def test_every_catalogued_mistake_is_named_in_chinese(zh):
    """Every entry of every catalogue, as in test_exercises_mistakes, under zh: its Chinese hint is
    shown and no line of the message is left in English."""
    cases = list(catalogued())  # built under zh: the hints made at check time are Chinese already
    assert len(cases) > 100
    for check, answer, hint in cases:
        text = message(check, *answer)
        assert f"提示：{language.tr(hint)}" in text, text
        assert_chinese(text)


@pytest.mark.parametrize(
    "answer",
    [..., None, "0.1", True, np.array([0.1, 0.2]), float("nan"), float("inf")],
    ids=["placeholder", "None", "str", "bool", "array", "nan", "inf"],
)
def test_malformed_answers_are_told_in_chinese(answer, zh):
    assert_chinese(message(ex.check_dpo_loss_value, answer))


@pytest.mark.parametrize(
    "fn",
    [
        ...,
        0.5,
        lambda *a: None,
        lambda *a: 0.5,
        lambda *a: "x",
        lambda *a: np.zeros((2, 2)),
        lambda *a: (a[0], a[0]),
        lambda *a: 1 / 0,
        lambda *a: exit(3),
        lambda pc, pr: pc,
    ],
    ids=["placeholder", "number", "None", "scalar", "str", "shape", "tuple", "raises", "exit", "signature"],
)
def test_malformed_functions_are_told_in_chinese(fn, zh):
    assert_chinese(message(ex.check_dpo_loss, fn))


def test_a_function_that_raises_not_implemented_is_told_in_chinese(zh):
    def todo(*args):
        raise NotImplementedError

    assert "NotImplementedError" in message(ex.check_dpo_gradient, todo)
    assert_chinese(message(ex.check_dpo_gradient, todo))


def test_a_right_answer_prints_one_chinese_line(zh, capsys):
    assert ex.check_dpo_loss_value(math.log1p(math.exp(-0.02))) is True
    out = capsys.readouterr().out
    assert out.startswith("正确！损失 = 0.683197") and out.count("\n") == 1, out
    assert language.PASS_MARKS[1] == "正确！"


def test_low_precision_answers_are_told_in_chinese(zh):
    import torch

    right = math.log1p(math.exp(-0.02))
    text = message(ex.check_dpo_loss_value, torch.tensor(right, dtype=torch.float16))
    assert "float16" in text and "有效数字" in text, text
    assert_chinese(text)
