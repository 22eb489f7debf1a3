"""Audit findings on the formula twins (S2, S6, S8, C7, U7, U10): every bad input raises a
ValueError that names the argument, in both twins with the same words, and nothing is silently
wrong. Each test names its finding id; inputs are native to each twin (NumPy arrays for
``numpy_dpo``, tensors for ``torch_dpo``) unless the finding is about crossing over."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import dpo_teach.numpy_dpo as nd
import dpo_teach.torch_dpo as td
from helpers import TWINS

FIVE = [[-1.0, -2.0], [-1.5, -2.5], [-1.2, -2.2], [-1.4, -2.1]]  # four log-prob arrays (+ beta)
FIVE_ARG_FUNCS = ["margin", "dpo_loss", "dpo_loss_grad"]


def _native_complex(twin):
    if twin.name == "numpy":
        return np.array([-1.0 + 0.5j, -2.0 + 0j])
    return torch.tensor([-1.0 + 0.5j, -2.0 + 0j], dtype=torch.complex128)


def _calls(twin, bad, position):
    """Every checked public function of ``twin`` with ``bad`` in its argument ``position``
    (0 = the first array argument, 1 = the second): (label, thunk, argument name)."""
    m, a = twin.mod, twin.arr

    def put(args, i):
        args = list(args)
        args[i] = bad
        return args

    out = [
        ("sigmoid", lambda: m.sigmoid(bad), "z"),
        ("log_sigmoid", lambda: m.log_sigmoid(bad), "z"),
    ]
    names = ("policy_logps", "ref_logps")
    out.append(
        (
            "implicit_reward",
            lambda: m.implicit_reward(*put([a([-1.0, -2.0]), a([-1.0, -2.0])], position), 0.1),
            names[position],
        )
    )
    out.append(
        (
            "bt_probability",
            lambda: m.bt_probability(*put([a([1.0, 2.0]), a([0.0, 1.0])], position)),
            ("reward_1", "reward_2")[position],
        )
    )
    five_names = ("policy_chosen_logps", "policy_rejected_logps")
    for func in FIVE_ARG_FUNCS:
        out.append(
            (
                func,
                lambda func=func: getattr(m, func)(*put(list(map(a, FIVE)), position), beta=0.1),
                five_names[position],
            )
        )
    out.append(
        (
            "paper_dpo_loss",
            lambda: m.paper_dpo_loss(*put([a([-1.0, -2.0]), a([-1.5, -2.5])], position), [0], [1], 0.1),
            ("pi_logps", "ref_logps")[position],
        )
    )
    return out


# --- S2: uint8 index tensors are indices, bool masks are refused ---------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda v: torch.tensor(v, dtype=torch.uint8),
        lambda v: np.array(v, dtype=np.uint8),
        lambda v: torch.tensor(v, dtype=torch.int32),
    ],
    ids=["torch-uint8", "numpy-uint8", "torch-int32"],
)
def test_S2_uint8_indices_index_pairs_not_a_mask(twin, make):
    """S2: a uint8 index tensor/array used to act as a boolean mask in torch (one loss, not two)."""
    pi, ref = twin.arr([-1.0, -3.0]), twin.arr([-2.0, -2.0])
    losses, rewards = twin.mod.paper_dpo_loss(pi, ref, make([0, 1]), make([1, 0]), 1.0)
    expected, _ = twin.mod.paper_dpo_loss(pi, ref, [0, 1], [1, 0], 1.0)
    assert tuple(losses.shape) == (2,)
    np.testing.assert_allclose(twin.np_(losses), twin.np_(expected), rtol=0, atol=0)
    np.testing.assert_allclose(twin.np_(losses), np.logaddexp(0, -np.array([2.0, -2.0])), rtol=1e-15)


def test_S2_boolean_masks_are_rejected_with_the_same_message_in_both_twins():
    """S2: a bool index array/tensor is refused (it would select, not pair), same words in both twins."""
    messages = set()
    for twin in TWINS:
        for mask in (np.array([True, False]), torch.tensor([True, False])):
            for position in (2, 3):
                args = [twin.arr([-1.0, -3.0]), twin.arr([-2.0, -2.0]), [0], [1], 1.0]
                args[position] = mask
                with pytest.raises(ValueError, match="boolean mask") as info:
                    twin.mod.paper_dpo_loss(*args)
                name = ("yw_idxs", "yl_idxs")[position - 2]
                assert str(info.value).startswith(name) and "integer indices" in str(info.value)
                messages.add(str(info.value).removeprefix(name))
    assert len(messages) == 1, messages


# --- S6: complex inputs are rejected, never truncated to their real part -----------------------


@pytest.mark.parametrize("position", [0, 1])
def test_S6_complex_inputs_are_rejected_by_every_public_function(position):
    """S6: complex log-probs (or rewards, or z) lost their imaginary part silently; now every checked
    public function of both twins raises, naming the argument, with the same words."""
    by_label = {}
    for twin in TWINS:
        for bad in (_native_complex(twin), [-1.0 + 0.5j, -2.0 + 0j]):
            for label, call, name in _calls(twin, bad, position):
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # no ComplexWarning on the way to the error
                    with pytest.raises(ValueError, match="complex dtype complex") as info:
                        call()
                assert str(info.value).startswith(f"{name} has the complex dtype"), str(info.value)
                by_label.setdefault((label, type(bad).__name__ == "list"), set()).add(str(info.value))
    assert all(len(msgs) == 1 for msgs in by_label.values()), by_label


def test_S6_complex_indices_are_rejected(twin):
    """S6: complex index arrays in paper_dpo_loss."""
    with pytest.raises(ValueError, match="yw_idxs has the complex dtype"):
        twin.mod.paper_dpo_loss(twin.arr([-1.0, -3.0]), twin.arr([-2.0, -2.0]), np.array([0j]), [1], 1.0)


# --- S8: a beta tensor that requires grad is refused -------------------------------------------


def test_S8_beta_that_requires_grad_is_rejected_alike_in_both_twins():
    """S8: float() silently cut a trainable beta off its graph; both twins now refuse it (same words),
    while 0-d tensors and arrays without grad stay accepted."""
    beta = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    messages = set()
    for twin in TWINS:
        m, a = twin.mod, twin.arr
        calls = [
            lambda m=m, a=a: m.implicit_reward(a([-1.0]), a([-2.0]), beta),
            lambda m=m, a=a: m.paper_dpo_loss(a([-1.0, -2.0]), a([-1.5, -2.5]), [0], [1], beta),
        ] + [lambda f=f, m=m, a=a: getattr(m, f)(*map(a, FIVE), beta=beta) for f in FIVE_ARG_FUNCS]
        for call in calls:
            with pytest.raises(ValueError, match="beta is a tensor that requires grad") as info:
                call()
            assert "hyper-parameter" in str(info.value) and "pass a float" in str(info.value)
            messages.add(str(info.value))
        for ok in (torch.tensor(0.1, dtype=torch.float64), np.array(0.1), np.float64(0.1)):
            losses, _, _ = m.dpo_loss(*map(a, FIVE), beta=ok)
            expected, _, _ = m.dpo_loss(*map(a, FIVE), beta=0.1)
            np.testing.assert_array_equal(twin.np_(losses), twin.np_(expected))
    assert len(messages) == 1


def test_S8_complex_or_bool_array_beta_is_rejected(twin):
    """S8 (same check): a complex or numpy-bool beta is not silently converted by float()."""
    for bad, fragment in ((np.complex128(0.1), "complex"), (np.bool_(True), "bool")):
        with pytest.raises(ValueError, match=fragment):
            twin.mod.dpo_loss(*map(twin.arr, FIVE), beta=bad)


# --- C7: crossing over (tensors into NumPy, text into torch), 0-d pi_logps ---------------------


def test_C7_numpy_twin_converts_tensors_without_grad_including_bf16():
    """C7: the NumPy twin crashed on a bf16 tensor; tensors without grad are converted (bf16 via
    float32, exactly), as documented in the module docstring."""
    values = [[-1.0, -2.0], [-1.5, -2.5], [-1.25, -2.25], [-1.375, -2.125]]  # exact in bf16
    for dtype in (torch.bfloat16, torch.float32, torch.float64):
        got = nd.dpo_loss(*(torch.tensor(v, dtype=dtype) for v in values), 0.5)
        want = nd.dpo_loss(*(np.array(v) for v in values), 0.5)
        for g, w in zip(got, want):
            assert isinstance(g, np.ndarray)
            np.testing.assert_allclose(g, w, rtol=1e-6)
    losses, _ = nd.paper_dpo_loss(torch.tensor([-1.0, -3.0]), torch.tensor([-2.0, -2.0]),
                                  torch.tensor([0, 1]), torch.tensor([1, 0]), 1.0)  # fmt: skip
    assert losses.shape == (2,)


def test_C7_numpy_twin_refuses_a_tensor_that_requires_grad():
    """C7: the NumPy twin crashed with torch's message; now it names the argument and the fix."""
    bad = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    match = "policy_rejected_logps is a torch tensor that requires grad"
    with pytest.raises(ValueError, match=match) as info:
        nd.dpo_loss(np.array(FIVE[0]), bad, np.array(FIVE[2]), np.array(FIVE[3]), 0.1)
    assert "use dpo_teach.torch_dpo for tensors that require grad" in str(info.value)
    with pytest.raises(ValueError, match="z is a torch tensor that requires grad"):
        nd.sigmoid(bad)


@pytest.mark.parametrize(
    "bad",
    [None, "-0.5", "abc", b"-0.5", ["-0.5", "-1"], [None, -1.0], [[-1.0], [-1.0, -2.0]]],
    ids=["None", "str-number", "str", "bytes", "list-of-str", "list-with-None", "ragged"],
)
def test_C7_U7_none_text_and_ragged_input_name_the_argument_in_both_twins(bad):
    """C7/U7: None said "contains NaN ... a log of a negative number", a string gave numpy's or
    torch's own message; now both twins name the argument, the problem and the fix, with the same
    words, and never parse text as numbers."""
    for position in (0, 1):
        messages = set()
        for twin in TWINS:
            for label, call, name in _calls(twin, bad, position):
                with pytest.raises(ValueError) as info:
                    call()
                msg = str(info.value)
                assert msg.startswith(name + " "), (twin.name, label, msg)
                assert "pass " in msg, msg
                if bad is None:
                    assert msg.startswith(f"{name} is None; pass "), msg
                    assert "NaN" not in msg
                if isinstance(bad, (str, bytes)) or (isinstance(bad, list) and isinstance(bad[0], str)):
                    assert "strings are not parsed as numbers" in msg, msg
                messages.add((label, msg))
        by_label = {}
        for label, msg in messages:
            by_label.setdefault(label, set()).add(msg)
        assert all(len(m) == 1 for m in by_label.values()), by_label


def test_C7_none_indices_and_beta_name_the_argument(twin):
    """C7: None or text as index arrays name the index argument."""
    a = twin.arr
    with pytest.raises(ValueError, match=r"^yl_idxs is None; pass integer indices"):
        twin.mod.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0, -2.0]), [0], None, 0.1)
    with pytest.raises(ValueError, match=r"^yw_idxs is the string '0'"):
        twin.mod.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0, -2.0]), "0", [1], 0.1)
    with pytest.raises(ValueError, match="beta must be a positive scalar"):
        twin.mod.dpo_loss(*map(a, FIVE), beta=None)


# --- U10 (and C7): 0-d pi_logps ------------------------------------------------------------------


def test_U10_C7_zero_dim_pi_logps_says_it_must_be_1d_in_both_twins():
    """U10/C7: 0-d pi_logps reported indices "must lie in [0, -1]"; now: pi_logps must be 1-d."""
    messages = set()
    for twin in TWINS:
        for pi in (twin.arr(-1.0), -1.0, twin.arr([[-1.0, -2.0]])):
            match = r"^pi_logps must be 1-d, one sequence log-prob per completion"
            with pytest.raises(ValueError, match=match) as info:
                twin.mod.paper_dpo_loss(pi, pi, [0], [0], 0.1)
            assert "[0, -1]" not in str(info.value)
            messages.add(str(info.value))
    assert len(messages) == 2  # shape () and shape (1, 2), each worded alike in both twins


def test_U10_empty_pi_logps_with_indices_says_it_is_empty(twin):
    """U10: an empty pi_logps with indices no longer reports the range "[0, -1]"."""
    with pytest.raises(ValueError, match="pi_logps is empty") as info:
        twin.mod.paper_dpo_loss(twin.arr([]), twin.arr([]), [0], [0], 0.1)
    assert "[0, -1]" not in str(info.value)


def test_valid_inputs_still_flow_through_unchanged(twin):
    """Regression guard for the new checks: lists, ints, bools, 0-d arrays and empty index lists."""
    a = twin.arr
    losses, rewards = twin.mod.paper_dpo_loss(a([-1.0, -2.0]), a([-1.5, -2.5]), [], [], 0.1)
    assert tuple(losses.shape) == (0,) and tuple(rewards.shape) == (2,)
    assert float(twin.mod.sigmoid(0)) == 0.5
    np.testing.assert_allclose(twin.np_(twin.mod.implicit_reward([-1, -2], [-2, -2], 0.5)), [0.5, 0.0])
    if twin.name == "torch":  # tensors keep their dtype and their graph
        pc = torch.tensor([-1.0], requires_grad=True)
        losses, _, _ = td.dpo_loss(pc, torch.tensor([-2.0]), torch.tensor([-1.0]), torch.tensor([-2.0]), 0.1)
        losses.sum().backward()
        assert losses.dtype == torch.float32 and pc.grad is not None
