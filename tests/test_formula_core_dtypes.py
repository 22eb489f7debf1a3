"""Mixed float32 / float64 inputs give one documented result dtype in both twins (issue 12, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dpo_teach.numpy_dpo as nd
import dpo_teach.torch_dpo as td

F32 = [-1.0, -2.0]
F64 = [-1.5, -2.5]


@pytest.mark.parametrize(
    "module, f32, f64, name32, name64",
    [
        (nd, lambda x: np.asarray(x, np.float32), lambda x: np.asarray(x, np.float64), "float32", "float64"),
        (td, lambda x: torch.tensor(x, dtype=torch.float32), lambda x: torch.tensor(x, dtype=torch.float64),
         "torch.float32", "torch.float64"),
    ],
    ids=["numpy", "torch"],
)  # fmt: skip
def test_the_result_has_the_widest_input_dtype(module, f32, f64, name32, name64):
    assert str(module.dpo_loss(f32(F32), f32(F64), f32(F64), f32(F64), 0.5)[0].dtype) == name32
    assert str(module.dpo_loss(f32(F32), f64(F64), f64(F64), f64(F64), 0.5)[0].dtype) == name64
    assert str(module.margin(f32(F32), f32(F64), f64(F64), f32(F64), 0.5).dtype) == name64
    assert str(module.implicit_reward(f32(F32), f64(F64), 0.5).dtype) == name64
    assert str(module.dpo_loss(f32(F32), F64, F64, F64, 0.5)[0].dtype) == name64  # lists are float64
