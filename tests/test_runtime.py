"""Where and how the code runs (dpo_teach.runtime): the fast-mode switch, the device, bf16 autocast,
CPU threads and the eval-mode context."""

from __future__ import annotations

import contextlib

import pytest
import torch

from dpo_teach import runtime


def test_fast_mode_switch(monkeypatch):
    for value, expected in [("1", True), ("true", True), (" ON ", True), ("0", False), ("", False)]:
        monkeypatch.setenv("DPO_TEACH_FAST", value)
        assert runtime.fast_mode() is expected
        assert runtime.pick(full=2000, fast=50) == (50 if expected else 2000)
    monkeypatch.delenv("DPO_TEACH_FAST")
    assert runtime.fast_mode() is False


def test_default_device():
    assert runtime.default_device("cpu") == "cpu"
    assert runtime.default_device("auto") in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="'auto', 'cpu' or 'cuda'"):
        runtime.default_device("gpu")


def test_cuda_request_without_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no GPU"):
        runtime.default_device("cuda")
    assert runtime.default_device("auto") == "cpu"


# --- autocast ------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
@pytest.mark.parametrize("bf16", [True, False])
def test_autocast_is_a_no_op_on_cpu(device, bf16):
    ctx = runtime.autocast(device, bf16)
    assert isinstance(ctx, contextlib.nullcontext)
    a = torch.randn(4, 4)
    with ctx:
        assert not torch.is_autocast_enabled("cpu")
        assert (a @ a).dtype == torch.float32


@pytest.mark.filterwarnings("ignore:CUDA is not available")  # building the context needs no GPU
def test_autocast_on_cuda_is_bf16_only_when_asked():
    on, off = runtime.autocast("cuda", True), runtime.autocast("cuda:0", False)
    assert isinstance(on, torch.autocast) and on.fast_dtype == torch.bfloat16 and on.device == "cuda"
    assert isinstance(off, contextlib.nullcontext)


# --- CPU threads ---------------------------------------------------------------------------------


def test_cpu_threads_is_one_for_small_cpu_models_else_torchs_default():
    assert runtime.cpu_threads(130_000, "cpu") == 1
    assert runtime.cpu_threads(1_999_999, "cpu") == 1
    assert runtime.cpu_threads(2_000_000, "cpu") is None
    assert runtime.cpu_threads(124_000_000, "cpu") is None
    assert runtime.cpu_threads(130_000, "cuda") is None


# --- eval mode -----------------------------------------------------------------------------------


def make_model():
    return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_evaluates_inside_and_restores_the_mode(training):
    model = make_model().train(training)
    with runtime.eval_mode(model) as inside:
        assert inside is model
        assert not model.training and not any(m.training for m in model.modules())
    assert model.training is training
    assert all(m.training is training for m in model.modules())


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_mode_on_an_exception(training):
    model = make_model().train(training)
    with pytest.raises(RuntimeError, match="boom"), runtime.eval_mode(model):
        assert not model.training
        raise RuntimeError("boom")
    assert model.training is training


def test_eval_mode_nests():
    model = make_model().train()
    with runtime.eval_mode(model):
        with runtime.eval_mode(model):
            assert not model.training
        assert not model.training  # the inner block restores the outer block's eval mode
    assert model.training


def test_quiet_transformers_silences_the_library_bars_and_restores_them():
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()
    with runtime.quiet_transformers():
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()
