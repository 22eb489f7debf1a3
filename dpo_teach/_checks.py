"""Input checks shared by the NumPy and torch twins, so both raise the same errors.

Each twin computes cheap summaries of its inputs with its own library (``np.isnan(x).any()``
or ``torch.isnan(x).any()``) and hands them here; the wording of every error lives in one place.
"""

from __future__ import annotations

import math
import sys

import numpy as np

LOGP_TOLERANCE = 1e-9  # sums of log-probabilities are <= 0: a hair of rounding above zero, no more
# What an input must hold, for the messages: kind -> (description, example value).
EXPECTED = {
    "logps": ("sequence log-probabilities (floats <= 0, one per sequence)", "[-12.3, -8.7]"),
    "real": ("real numbers", "[0.5, -1.0]"),
    "index": ("integer indices into pi_logps", "[0, 2]"),
    "probs": ("probabilities (floats >= 0 that sum to 1)", "[0.7, 0.2, 0.1]"),
}


def dtype_name(dtype) -> str:
    """A dtype's name, the same for NumPy and torch (``torch.complex128`` -> ``complex128``)."""
    return str(dtype).removeprefix("torch.")


def check_present(name: str, x, expected: str = "real") -> None:
    """Raise if ``x`` is ``None`` or a string: neither is an array of numbers.

    Strings are never parsed as numbers (``"-0.5"`` included): a number that arrives as text
    usually means a column was read with the wrong type, and parsing it would hide that.
    """
    desc, example = EXPECTED[expected]
    if x is None:
        raise ValueError(f"{name} is None; pass {desc}, e.g. {name}={example}")
    if isinstance(x, (str, bytes)):
        raise ValueError(
            f"{name} is the string {x!r}; pass {desc} as numbers, e.g. {name}={example} "
            "(strings are not parsed as numbers: convert with float() first)"
        )


def check_dtype(name: str, kind: str, dtype, expected: str = "real") -> None:
    """Raise unless ``kind`` (NumPy's dtype kind letter; each twin maps its dtype to one) is a
    real number type: bool, integer or float."""
    desc, example = EXPECTED[expected]
    if kind == "c":
        raise ValueError(
            f"{name} has the complex dtype {dtype_name(dtype)}, but {desc} are real and "
            f"dropping the imaginary part silently would be wrong; pass {name}.real if the "
            "imaginary part is meant to be 0"
        )
    if kind not in "biuf" or (kind == "b" and expected == "lengths"):  # True is not a token count
        what = {"U": "text", "S": "bytes", "O": "Python object", "b": "boolean"}.get(kind, "non-numeric")
        raise ValueError(
            f"{name} holds {what} values (dtype {dtype_name(dtype)}), not numbers; pass {desc}, "
            f"e.g. {name}={example} (strings are not parsed as numbers)"
        )


def as_numeric_array(name: str, x, expected: str = "real") -> np.ndarray:
    """``np.asarray(x)`` for a non-tensor input, or a ValueError naming ``name``: ``None``,
    strings, ragged lists, complex and non-numeric dtypes are rejected. The dtype is kept."""
    check_present(name, x, expected)
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError, RuntimeError) as err:
        desc, example = EXPECTED[expected]
        raise ValueError(
            f"{name} could not be read as an array of numbers ({err}); pass {desc}, "
            f"e.g. {name}={example}, with the same length in every row"
        ) from None
    bools = expected == "lengths" and isinstance(x, (list, tuple)) and any(type(v) is bool for v in np.ravel(
        np.asarray(x, dtype=object)))  # [True, 2] reads as int64: the bool would pass as a length 1
    check_dtype(name, "b" if bools else arr.dtype.kind, "bool" if bools else arr.dtype, expected)
    return arr


def check_tensor_for_numpy(name: str, requires_grad: bool) -> None:
    """The NumPy twin converts torch tensors that carry no gradient; one that requires grad is
    refused, since converting it would silently cut it off the autograd graph."""
    if requires_grad:
        raise ValueError(
            f"{name} is a torch tensor that requires grad: the NumPy twin would silently cut it "
            "off the autograd graph; use dpo_teach.torch_dpo for tensors that require grad (or "
            f"pass {name}.detach() if you only want the values)"
        )


def check_beta(beta) -> float:
    """Return ``beta`` as a float, or raise if it is not a positive, finite scalar.

    0-d arrays and tensors are accepted as long as they carry no gradient: beta is a fixed
    hyper-parameter, and a tensor that requires grad would be cut off its graph by ``float()``.
    """
    dtype = getattr(beta, "dtype", None)
    if isinstance(beta, bool) or (dtype is not None and dtype_name(dtype) == "bool"):
        raise ValueError(f"beta must be a positive number, got the bool {beta!r}")
    if isinstance(beta, (str, bytes)):
        raise ValueError(f"beta must be a positive scalar (e.g. beta=0.1), got the string {beta!r}")
    if getattr(beta, "requires_grad", False):
        raise ValueError(
            "beta is a tensor that requires grad, but beta is a hyper-parameter (the strength of "
            "the KL penalty), a constant in every DPO formula, not something to train; pass a "
            "float, e.g. beta=0.1 (beta.item() gives this tensor's value)"
        )
    if isinstance(beta, complex) or (dtype is not None and "complex" in dtype_name(dtype)):
        raise ValueError(f"beta must be a positive real scalar (e.g. beta=0.1), got the complex {beta!r}")
    try:
        value = float(beta)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(
            f"beta must be a positive scalar (e.g. beta=0.1), got {type(beta).__name__} {beta!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"beta must be > 0 and finite, got {value!r}: beta is the strength of the KL "
            "penalty (a larger beta keeps the policy closer to the reference); "
            "typical values are 0.1 to 0.5"
        )
    return value


def check_same_shape(named_shapes: dict[str, tuple]) -> None:
    """Raise if the arrays named in ``named_shapes`` do not all have the same shape."""
    items = list(named_shapes.items())
    first_name, first_shape = items[0]
    for name, shape in items[1:]:
        if tuple(shape) != tuple(first_shape):
            raise ValueError(
                f"shapes do not match: {first_name} has shape {tuple(first_shape)} but {name} "
                f"has shape {tuple(shape)}; pass one value per preference pair in every input "
                "(sum token log-probs to one number per sequence first)"
            )


def check_finite(name: str, has_nan: bool, has_inf: bool) -> None:
    """Raise for NaN or infinite values in an input that must be a real number."""
    if has_nan:
        raise ValueError(
            f"{name} contains NaN: check the upstream computation (a log of a negative "
            "number, 0 * inf, or a diverged model) before computing the DPO loss"
        )
    if has_inf:
        raise ValueError(
            f"{name} contains an infinite value: DPO needs finite inputs; a log-probability "
            "of -inf means a response the model gives probability 0"
        )


def check_logps(name: str, has_nan: bool, has_inf: bool, max_value: float) -> None:
    """Raise unless ``name`` holds finite log-probabilities (all <= 0)."""
    check_finite(name, has_nan, has_inf)
    if max_value > LOGP_TOLERANCE:
        hint = (
            " - did you pass probabilities instead of log-probabilities? Use log(p)"
            if max_value <= 1
            else " - log-probabilities of whole sequences are sums of log p(token) <= 0"
        )
        raise ValueError(
            f"{name} must hold log-probabilities (values <= 0), but its largest value is "
            f"{max_value:.6g}{hint}"
        )


def check_completions(name: str, shape: tuple) -> None:
    """Raise unless ``name`` (``pi_logps`` of the appendix-code loss) is 1-d."""
    if len(shape) != 1:
        raise ValueError(
            f"{name} must be 1-d, one sequence log-prob per completion (chosen and rejected "
            f"completions together, indexed by yw_idxs and yl_idxs), got shape {tuple(shape)}"
        )


def check_index_dtype(name: str, kind: str, dtype) -> None:
    """Raise unless ``kind`` (NumPy's dtype kind letter) is an integer type: a boolean array
    would select entries as a mask, and floats are not indices."""
    if kind == "b":
        raise ValueError(
            f"{name} is a boolean mask ({dtype_name(dtype)}), not indices: a mask selects entries "
            "instead of pairing them; pass integer indices into pi_logps, e.g. "
            "np.flatnonzero(mask) or torch.nonzero(mask).flatten()"
        )
    if kind == "c":
        check_dtype(name, kind, dtype, "index")
    if kind not in "iu":
        raise ValueError(
            f"{name} must hold integer indices into pi_logps, not {dtype_name(dtype)} values; "
            f"pass e.g. {name}=[0, 2]"
        )


def check_indices(name: str, shape: tuple, is_integer: bool, lo: int, hi: int, n: int) -> None:
    """Raise unless ``name`` is a 1-d integer index array with values in ``[0, n)``."""
    if not is_integer:
        raise ValueError(f"{name} must hold integer indices into pi_logps, not floats")
    if len(shape) != 1:
        raise ValueError(f"{name} must be 1-d (one index per pair), got shape {tuple(shape)}")
    if shape[0] and n == 0:
        raise ValueError(
            f"{name} has {shape[0]} indices but pi_logps is empty; pass one log-prob per completion"
        )
    if shape[0] and (lo < 0 or hi >= n):
        raise ValueError(
            f"{name} has indices in [{lo}, {hi}] but pi_logps has only {n} entries; "
            f"indices must lie in [0, {n - 1}]"
        )


# ------------------------------ the DPO family: readers both variant twins call (same words)
EXPECTED["lengths"] = ("completion token counts (integers > 0, one per sequence)", "[12, 7]")
FLIP_WHY = "it is the probability that a label is flipped; above 0.5 labels are more often wrong than right"
ROBUST_WHY = "robust DPO divides by 1 - 2 * label_smoothing, which is 0 at 0.5"


def tensor_kind(x) -> str:
    """NumPy's dtype kind letter for a torch tensor's dtype (the checks here speak NumPy's kinds)."""
    return (
        "c"
        if x.is_complex()
        else "f"
        if x.is_floating_point()
        else "b"
        if str(x.dtype) == "torch.bool"
        else "i"
    )


def read_array(name: str, x, expected: str = "real", lib=np):
    """``x`` as a finite floating array of ``lib`` (NumPy, or torch for the torch twins; float
    dtypes and gradients kept, anything else float64), or a ValueError naming ``name``;
    ``expected="logps"`` also requires values <= 0. The NumPy twins refuse tensors that require
    grad (converting would cut them off the graph) and read bf16 tensors as float32."""
    torch = sys.modules.get("torch")  # a torch tensor can only exist if torch was imported
    is_tensor = torch is not None and isinstance(x, torch.Tensor)
    if is_tensor:
        check_tensor_for_numpy(name, x.requires_grad and lib is np)
        check_dtype(name, tensor_kind(x), x.dtype, expected)
        if lib is np:
            x = x.detach().cpu()
            x, is_tensor = (x.float() if x.dtype == torch.bfloat16 else x).numpy(), False
    if not is_tensor:
        x = as_numeric_array(name, x, expected)
        x = x if x.dtype.kind == "f" else x.astype(np.float64)
        x = x if lib is np else lib.as_tensor(x, dtype=lib.float64)
    x = x if lib is np or x.is_floating_point() else x.to(lib.float64)
    if x.shape and 0 in x.shape:
        return x
    if not bool(lib.isfinite(x).all()):
        check_finite(name, bool(lib.isnan(x).any()), True)
    if expected == "logps":
        check_logps(name, False, False, float(x.max().item()))
    return x


def check_lengths(name: str, min_value: float, all_integer: bool) -> None:
    """Raise unless the token counts in ``name`` are integers > 0 (``min_value``: their minimum)."""
    if min_value <= 0 or not all_integer:
        raise ValueError(
            f"{name} must hold whole completion token counts > 0 (e.g. mask.sum(-1)), got "
            + (f"the value {min_value:.6g}" if min_value <= 0 else "a fraction")
            + ": a mean token log-prob needs at least one token, and a count is an integer"
        )


def check_both_lengths(chosen_given: bool, rejected_given: bool) -> None:
    """IPO takes both token counts (TRL's length-normalised form) or neither (the paper's form)."""
    if chosen_given != rejected_given:
        raise ValueError("pass both chosen_lengths and rejected_lengths (TRL's length-normalised IPO) "
                         "or neither (the IPO paper's form on summed log-ratios), not just one")  # fmt: skip


def check_hyper(name: str, value, low: float, high: float = math.inf, high_open=False, why="") -> float:
    """``value`` as a float, or raise unless it is a finite real scalar in ``[low, high]``
    (``[low, high)`` when ``high_open``); ``why`` says where the range comes from."""
    kind = dtype_name(getattr(value, "dtype", ""))
    if isinstance(value, (bool, str, bytes, complex)) or "bool" in kind or "complex" in kind:
        raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if getattr(value, "requires_grad", False):
        raise ValueError(f"{name} is a tensor that requires grad, but it is a fixed hyper-parameter "
                         f"of the loss; pass a float ({name}.item() gives its value)")  # fmt: skip
    try:
        v = float(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a real scalar, got {type(value).__name__} {value!r}") from None
    if not (math.isfinite(v) and low <= v and (v < high if high_open else v <= high)):
        rng = f"in [{low:g}, {high:g}{')' if high_open else ']'}" if high < math.inf else f">= {low:g}"
        raise ValueError(f"{name} must be finite and {rng}, got {v!r}" + (f": {why}" if why else ""))
    return v


def check_log_odds(name: str, max_value: float) -> None:
    """ORPO's odds p / (1 - p) are infinite at p = 1: its log-probs must be < 0, strictly."""
    if max_value >= 0:
        raise ValueError(f"{name} must be < 0 for ORPO, but its largest value is {max_value:.6g}: a "
                         "log-prob of 0 is probability 1, whose odds p / (1 - p) are infinite")  # fmt: skip
