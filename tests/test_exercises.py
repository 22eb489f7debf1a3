"""Every check in dpo_teach.exercises accepts a right answer and rejects the classic wrong ones
with a message that names the mistake; malformed answers are clear AssertionErrors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dpo_teach import _exercise_mistakes as mistakes
from dpo_teach import exercises as ex
from dpo_teach.bandit import kl_divergence

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


# ------------------------------------------------------------------ right answers (a student's)


def margin(pc, pr, rc, rr, beta):
    return beta * ((pc - rc) - (pr - rr))


def dpo_loss(pc, pr, rc, rr, beta):
    return np.logaddexp(0.0, -margin(pc, pr, rc, rr, beta))


def dpo_loss_torch(pc, pr, rc, rr, beta):  # torch in, a tensor that requires grad out
    pc = torch.as_tensor(pc).requires_grad_()
    return -F.logsigmoid(beta * ((pc - torch.as_tensor(rc)) - (torch.as_tensor(pr) - torch.as_tensor(rr))))


def weight(pc, pr, rc, rr, beta):
    return np.exp(-np.logaddexp(0.0, margin(pc, pr, rc, rr, beta)))  # sigma(-m), stable


def gradient(pc, pr, rc, rr, beta):
    w = weight(pc, pr, rc, rr, beta)
    return -beta * w, beta * w


def optimal_policy(ref_probs, rewards, beta):
    logits = np.log(ref_probs) + rewards / beta
    p = np.exp(logits - logits.max())
    return p / p.sum()


def sequence_logps(logits, labels, mean=False, shift=True, log=torch.log_softmax):
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    token = log(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    return token.sum(-1) / mask.sum(-1) if mean else token.sum(-1)


def kl_optimal(beta, beta_multiplies=False):  # the mistake: exp(beta * r) instead of exp(r / beta)
    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)
    pi = optimal_policy(p, r * beta**2 if beta_multiplies else r, beta)
    return float(pi @ np.log(pi / p))


B = ex.TOY_BETA
RIGHT = {
    "implicit_reward": (ex.check_implicit_reward, (B * math.log(0.6 / 0.5), B * math.log(0.4 / 0.5))),
    "implicit_reward_arrays": (  # NumPy / torch scalars and one-element lists are numbers too
        ex.check_implicit_reward,
        (np.array(B * math.log(1.2)), [torch.tensor(B * math.log(0.8), dtype=torch.float64)]),
    ),
    "bt_probability": (ex.check_bt_probability, (0.6,)),
    "dpo_loss_value": (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.02)),)),
    "dpo_loss": (ex.check_dpo_loss, (dpo_loss,)),
    "dpo_loss_torch": (ex.check_dpo_loss, (dpo_loss_torch,)),
    "gradient_weight": (ex.check_gradient_weight, (weight,)),
    "dpo_gradient": (ex.check_dpo_gradient, (gradient,)),
    "optimal_policy": (ex.check_optimal_policy, (optimal_policy,)),
    "sequence_logps": (ex.check_sequence_logps, (sequence_logps,)),
    "kl": (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(1.0))),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answer_returns_true_and_prints_one_line(name, capsys):
    check, args = RIGHT[name]
    assert check(*args) is True
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("Correct!"), out


def test_every_check_is_covered():
    checks = {n for n in ex.__all__ if n.startswith("check_")}
    assert len(checks) >= 8
    assert checks == {check.__name__ for check, _ in RIGHT.values()}


# ------------------------------------------------------------------ classic mistakes -> their hint


def naive_loss(pc, pr, rc, rr, beta):  # -log(sigmoid(m)): log(0) for m < -745
    return -np.log(1.0 / (1.0 + np.exp(-margin(pc, pr, rc, rr, beta))))


WRONG = [
    # (check, answer, words the message must contain)
    (ex.check_implicit_reward, (math.log(1.2), B * math.log(0.8)), "beta is missing"),
    (ex.check_implicit_reward, (B * math.log(1.2), math.log(0.8)), "beta is missing"),
    (ex.check_implicit_reward, (B * math.log(0.5 / 0.6), B * math.log(0.8)), "pi_theta / pi_ref"),
    (ex.check_implicit_reward, (B * math.log(math.log(0.6) / math.log(0.5)), 0.0), "log of a log-prob"),
    (ex.check_implicit_reward, (B * math.log(0.8), B * math.log(1.2)), "y_w is the answer"),
    (ex.check_implicit_reward, (0.01, -0.01), "not the difference of probabilities"),
    (ex.check_implicit_reward, (0.0182, -0.0223), "rounded"),
    (ex.check_bt_probability, (0.4,), "P(y_l > y_w)"),
    (ex.check_bt_probability, (1 / (1 + math.exp(-0.2)),), "not the probabilities"),
    (ex.check_bt_probability, (math.log(0.6),), "not a probability"),
    (ex.check_bt_probability, (0.5,), "margin of 0"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.2)),), "beta is missing"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(0.02)),), "sign of the margin"),
    (ex.check_dpo_loss_value, (-math.log1p(math.exp(-0.02)),), "MINUS log sigma"),
    (ex.check_dpo_loss_value, (1 - 1 / (1 + math.exp(-0.02)),), "sigmoid instead of log-sigmoid"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.06)),), "reference log-probs are missing"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0),), "beta is missing"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(pr, pc, rr, rc, b),), "sign of the margin"),
    (ex.check_dpo_loss, (lambda *a: -dpo_loss(*a),), "MINUS log sigma"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: np.logaddexp(0, -b * (pc - pr)),), "reference"),
    (ex.check_dpo_loss, (naive_loss,), "overflow"),
    (ex.check_dpo_loss, (lambda *a: dpo_loss(*a).mean(),), "mean over the batch"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(np.log(pc), pr, rc, rr, b),), "log of a log"),
    (ex.check_dpo_loss, (lambda *a: (dpo_loss(*a), a[0], a[1]),), "return only losses"),
    (ex.check_dpo_loss, (lambda *a: dpo_loss(*(np.float32(x) for x in a)),), "compute in float64"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg.to(torch.bfloat16), lb),),
        "your output is bfloat16: compute in float64",
    ),
    (ex.check_gradient_weight, (lambda *a: 1 - weight(*a),), "ordered WRONGLY"),
    (ex.check_gradient_weight, (lambda *a: a[4] * weight(*a),), "w excludes beta"),
    (ex.check_gradient_weight, (lambda pc, pr, rc, rr, b: weight(pc, pr, rc, rr, 1.0),), "beta is missing"),
    (ex.check_gradient_weight, (lambda *a: np.exp(-margin(*a)) / (1 + np.exp(-margin(*a))),), "overflow"),
    (ex.check_dpo_gradient, (lambda *a: tuple(g / a[4] for g in gradient(*a)),), "beta is missing in front"),
    (ex.check_dpo_gradient, (lambda *a: tuple(-g for g in gradient(*a)),), "signs flipped"),
    (ex.check_dpo_gradient, (lambda *a: (gradient(*a)[0], gradient(*a)[0]),), "opposite signs"),
    (ex.check_dpo_gradient, (lambda *a: gradient(*a)[0],), "return a tuple (grad_chosen, grad_rejected)"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(p, r * b * b, b),), "not exp(beta * r)"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(p, r * b, b),), "beta is missing"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(np.ones_like(p), r, b),), "pi_ref is missing"),
    (ex.check_optimal_policy, (lambda p, r, b: p * np.exp(r / b),), "not normalised"),
    (ex.check_optimal_policy, (lambda p, r, b: p * np.exp(r / b) / np.sum(p * np.exp(r / b)),), "overflows"),
    (ex.check_sequence_logps, (lambda lg, lb: sequence_logps(lg, lb, shift=False),), "no shift"),
    (ex.check_sequence_logps, (lambda lg, lb: sequence_logps(lg, lb, mean=True),), "mean instead of sum"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=torch.softmax),),
        "summed probabilities",
    ),
    (ex.check_sequence_logps, (lambda lg, lb: -sequence_logps(lg, lb),), "negative log-likelihood"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=lambda x, d: torch.log(torch.softmax(x, d))),),
        "log(softmax(logits)) underflows",
    ),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=lambda x, d: torch.log(torch.log_softmax(x, d))),),
        "do not take their log again",
    ),
    (
        ex.check_sequence_logps,
        (
            lambda lg, lb: (
                torch.log_softmax(lg[:, :-1], -1).gather(-1, lb[:, 1:].clamp(min=0)[..., None]).sum((1, 2))
            ),
        ),
        "must be masked",
    ),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(0.5) / 4), "small-reward rule"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(0.5) / 2), "does not simply halve"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5, True), kl_optimal(1.0, True)), "exp(beta * r)"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), 2 * kl_optimal(0.5)), "your KL does not fall"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(1.0), kl_optimal(0.5)), "swapped"),
]


@pytest.mark.parametrize(("check", "answer", "words"), WRONG, ids=[f"{c.__name__}-{w}" for c, _, w in WRONG])
def test_classic_mistake_is_named(check, answer, words, capsys):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    message = str(info.value)
    assert words in message, message
    assert capsys.readouterr().out == ""  # no "Correct!" line on a wrong answer


# Every entry of the mistake catalogues (dpo_teach/_exercise_mistakes.py), submitted as the
# student's answer, must fail and be named: a catalogue entry that no answer can reach is dead.
def catalogued():
    for check, catalogue in (
        (ex.check_dpo_loss, mistakes.DPO_LOSS),
        (ex.check_gradient_weight, mistakes.GRADIENT_WEIGHT),
        (ex.check_dpo_gradient, mistakes.DPO_GRADIENT),
        (ex.check_optimal_policy, mistakes.OPTIMAL_POLICY),
        (ex.check_sequence_logps, mistakes.SEQUENCE_LOGPS),
    ):
        yield from ((check, (fn,), h) for h, fn in catalogue)
    toy = ex.TOY_BETA * math.log(0.6 / 0.5), ex.TOY_BETA * math.log(0.4 / 0.5)
    for h, v in mistakes.implicit_reward("r_hat_w", 0.6, 0.5, (0.4, 0.5), ex.TOY_BETA):
        yield ex.check_implicit_reward, (v, toy[1]), h
    for h, v in mistakes.implicit_reward("r_hat_l", 0.4, 0.5, (0.6, 0.5), ex.TOY_BETA):
        yield ex.check_implicit_reward, (toy[0], v), h
    yield from (
        (ex.check_bt_probability, (v,), h)
        for h, v in mistakes.bt_probability(math.log(1.2), math.log(0.8), 0.6)
    )
    yield from (
        (ex.check_dpo_loss_value, (v,), h) for h, v in mistakes.dpo_loss_value(*ex.LOGP_EXAMPLE, ex.LOGP_BETA)
    )
    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)
    kl = {"kl_beta": kl_optimal(ex.KL_BETA), "kl_double_beta": kl_optimal(2 * ex.KL_BETA)}
    for key, beta in (("kl_beta", ex.KL_BETA), ("kl_double_beta", 2 * ex.KL_BETA)):
        for h, v in mistakes.kl_when_beta_doubles(key, p, r, beta, kl, kl):
            # exp(beta * r) is exp(r / beta) at beta = 1, and the halving rules apply to one value
            if np.isfinite(v) and not math.isclose(v, kl[key], rel_tol=ex.RTOL):
                yield ex.check_kl_when_beta_doubles, tuple(v if k == key else kl[k] for k in kl), h


CATALOGUED = list(catalogued())


@pytest.mark.parametrize(
    ("check", "answer", "hint"),
    CATALOGUED,
    ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CATALOGUED)],
)
def test_every_catalogued_mistake_is_named(check, answer, hint):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    assert f"Hint: {hint}" in str(info.value), str(info.value)


def test_function_mismatch_names_input_expected_and_received():
    with pytest.raises(AssertionError) as info:
        ex.check_dpo_loss(lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0))
    message = str(info.value)
    # the first differing input is the simplest one: the log-prob example, pair 0
    assert "the log-prob example" in message and "pair 0" in message
    assert "policy_chosen_logps=-0.2" in message and "beta=0.1" in message
    assert "expected (reference): 0.6831971" in message and "received: 0.5981388" in message


def test_random_inputs_are_seeded():
    def wrong_on_random(*a):  # right on the fixed examples, wrong once B > 2
        out = dpo_loss(*a)
        return out + (len(out) > 2)

    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            ex.check_dpo_loss(wrong_on_random)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "random batch 1 of 5 (seed 4)" in messages[0]


def test_student_function_may_modify_its_inputs():
    def in_place(pc, pr, rc, rr, beta):
        out = dpo_loss(pc, pr, rc, rr, beta)
        pc[:] = 0.0  # a careless in-place edit must not corrupt the check's reference
        return out

    assert ex.check_dpo_loss(in_place)


# ------------------------------------------------------------------ malformed answers


def raises(*a):
    raise ZeroDivisionError("boom")


MALFORMED = [
    (ex.check_implicit_reward, (..., 0.0), "placeholder"),
    (ex.check_implicit_reward, (None, 0.0), "is None"),
    (ex.check_implicit_reward, ("0.018", 0.0), "string"),
    (ex.check_implicit_reward, (True, 0.0), "bool"),
    (ex.check_implicit_reward, ([0.1, 0.2], 0.0), "single number"),
    (ex.check_implicit_reward, (float("nan"), 0.0), "NaN"),
    (ex.check_bt_probability, ({"p": 0.6},), "must be a real number, got a dict"),
    (ex.check_dpo_loss_value, (float("inf"),), "overflow"),
    (ex.check_dpo_loss, (...,), "placeholder"),
    (ex.check_dpo_loss, (0.7,), "expected a function"),
    (ex.check_dpo_loss, (raises,), "raised ZeroDivisionError: boom"),
    (ex.check_dpo_loss, (lambda *a: None,), "forget `return`"),
    (ex.check_dpo_loss, (lambda *a: "loss",), "real numbers"),
    (ex.check_dpo_loss, (lambda *a: np.zeros((2, 3)),), "has shape (2, 3), expected (1,)"),
    (ex.check_dpo_loss, (lambda pc, pr, beta: pc,), "signature"),
    (
        ex.check_gradient_weight,
        (lambda *a: (_ for _ in ()).throw(NotImplementedError()),),
        "NotImplementedError",
    ),
    (ex.check_dpo_gradient, (lambda *a: (1.0, 2.0, 3.0),), "got a tuple of length 3"),
    (ex.check_dpo_gradient, (lambda *a: (a[0], None),), "returned None for grad_rejected"),
    (ex.check_optimal_policy, (lambda p, r, b: p[:-1],), "has shape"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: torch.log_softmax(lg[:, :-1], -1).gather(-1, lb[:, 1:, None]).sum((1, 2)),),
        "-100 marks prompt and padding",
    ),
    (ex.check_sequence_logps, (lambda lg, lb: lg.sum(),), "single number"),
    (ex.check_sequence_logps, (lambda lg, lb: np.asarray(lg),), "has shape"),
    (ex.check_kl_when_beta_doubles, (0.4, ...), "kl_double_beta is still the placeholder"),
]


@pytest.mark.parametrize(("check", "answer", "words"), MALFORMED, ids=[w for _, _, w in MALFORMED])
def test_malformed_answer_is_a_clear_assertion_error(check, answer, words):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    assert words in str(info.value), str(info.value)


def test_a_raising_function_keeps_its_own_traceback():
    with pytest.raises(AssertionError) as info:
        ex.check_dpo_loss(raises)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "the log-prob example" in str(info.value)


# ------------------------------------------------------------------ the facts behind the exercises


def test_kl_exercise_closed_form_is_exact():
    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)
    for beta in (ex.KL_BETA, 2 * ex.KL_BETA):
        pi = optimal_policy(p, r, beta)
        assert ex._kl_optimal(p, r, beta) == pytest.approx(float(pi @ np.log(pi / p)), rel=1e-13)
        assert ex._kl_optimal(p, r, beta) == pytest.approx(kl_divergence(pi, p), rel=1e-13)
    # doubling beta shrinks the KL, but by 0.445 here, not by the small-reward factor 1/4
    ratio = kl_optimal(1.0) / kl_optimal(0.5)
    assert 0.44 < ratio < 0.45
    # ... while for small r / beta the factor does approach 1/4 (KL ~ Var(r) / (2 beta^2))
    assert ex._kl_optimal(p, r, 200.0) / ex._kl_optimal(p, r, 100.0) == pytest.approx(0.25, rel=1e-2)


def test_references_agree_with_the_library():
    rng = np.random.default_rng(0)
    p, r = rng.dirichlet(np.ones(5)), rng.normal(size=5)
    np.testing.assert_allclose(ex.optimal_policy(p, r, 0.3), optimal_policy(p, r, 0.3), rtol=1e-12)
    pc, pr, rc, rr = (-rng.uniform(1, 9, size=6) for _ in range(4))
    for got, want in zip(ex._autograd_grads(pc, pr, rc, rr, 0.2), gradient(pc, pr, rc, rr, 0.2)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------ the two notebooks


def cells(name):
    return json.loads((NOTEBOOKS / name).read_text())["cells"]


def test_student_and_solution_notebooks_state_the_same_exercises():
    student = cells("05_exercises.ipynb")
    solution = cells("solutions/05_exercises_solutions.ipynb")
    assert len(student) == len(solution)
    checks_called = set()
    for s, t in zip(student, solution):
        assert s["cell_type"] == t["cell_type"]
        src_s, src_t = "".join(s["source"]), "".join(t["source"])
        if s["cell_type"] == "markdown" and not src_s.startswith("# "):
            assert src_s == src_t  # statements are identical (titles may differ)
        if s["cell_type"] == "code" and src_s.startswith("check_"):
            assert src_s == src_t  # the same check call ...
            assert "raises-exception" in s["metadata"].get("tags", [])  # ... fails on the placeholder
            assert "raises-exception" not in t["metadata"].get("tags", [])  # ... passes when solved
            checks_called.add(src_s.split("(")[0].strip().split()[-1])
        assert not s.get("outputs") and not t.get("outputs")  # committed without outputs
    assert checks_called == {n for n in ex.__all__ if n.startswith("check_")}
    assert not any("..." in "".join(c["source"]) for c in solution if c["cell_type"] == "code")
