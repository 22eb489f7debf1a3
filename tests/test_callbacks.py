"""``dpo_teach.callbacks.ProbeCallback`` inside TRL's own ``DPOTrainer.train()`` on the suite's tiny
GPT-2 (built offline): its keys land in ``trainer_state.json`` and the doctor reads them."""

from __future__ import annotations

import copy
import json
import warnings

import pytest

from dpo_teach import doctor
from dpo_teach.callbacks import ProbeCallback

pytestmark = pytest.mark.usefixtures("one_thread")
trl = pytest.importorskip("trl", reason="TRL is in the dev extra (pip install -e '.[dev]')")

ROWS = [
    {"prompt": "the film was", "chosen": " great and the acting felt superb.", "rejected": " awful."},
    {"prompt": "the plot seemed", "chosen": " charming.", "rejected": " boring and the music was bad."},
    {"prompt": "the acting was", "chosen": " very good.", "rejected": " somewhat bad."},
    {"prompt": "the ending felt", "chosen": " superb.", "rejected": " dull."},
]
PROBE_KEYS = {"probe/kl", "probe/kl_se", "probe/eos_rate", "probe/length", "probe/chosen_logps",
              "probe/rejected_logps", "probe/win_rate"}  # fmt: skip


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(tokenizer, seed=0):
    from dpo_teach.gpt2.models import build_model

    return build_model("tiny", tokenizer, seed=seed)


def test_probe_inside_trl_dpo_trainer(tokenizer, tmp_path):
    import datasets
    import transformers
    from trl import DPOConfig, DPOTrainer

    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    model = tiny(tokenizer)
    judge = lambda texts: [len(t) for t in texts]  # noqa: E731  # a judge on texts: longer wins
    probe = ProbeCallback(["the film was", "the plot seemed"], every_n_steps=3, max_new_tokens=8,
                          pairs=ROWS[:2], samples_per_prompt=2, judge=judge)  # fmt: skip
    args = DPOConfig(output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=4, beta=0.5,
                     learning_rate=5e-3, logging_steps=1, eval_strategy="steps", eval_steps=2,
                     per_device_eval_batch_size=4, save_strategy="steps", save_steps=6, max_length=None,
                     use_cpu=True, report_to="none", gradient_checkpointing=False, disable_tqdm=True,
                     seed=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = datasets.Dataset.from_list(ROWS)
        trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=args, train_dataset=data,
                             eval_dataset=data, processing_class=tokenizer, callbacks=[probe])  # fmt: skip
        trainer.train()
    state = json.loads((tmp_path / "checkpoint-6" / "trainer_state.json").read_text())
    probed = {e["step"]: e for e in state["log_history"] if "probe/kl" in e}
    assert sorted(probed) == [2, 3, 4, 6]  # every 3 steps and at each evaluation (every 2)
    assert all(PROBE_KEYS <= set(e) for e in probed.values())
    assert all(e["probe/kl"] >= 0 and 0 <= e["probe/eos_rate"] <= 1 and 0 <= e["probe/win_rate"] <= 1
               for e in probed.values())  # fmt: skip
    assert probed[6]["probe/kl"] > 0  # the policy moved away from the frozen copy of step 0
    assert [h["step"] for h in probe.history] == [2, 3, 4, 6]
    result = doctor.examine(tmp_path)  # the output dir: its latest checkpoint
    assert "checkpoint-6" in result["source"] and result["tool"] == "trl"
    not_run = {c["id"] for c in result["checks_not_run"]}
    assert not {"probe_eos_collapse", "probe_kl_blowup"} & not_run


def test_the_reference_is_the_policy_at_the_start(tokenizer):
    model = tiny(tokenizer)
    probe = ProbeCallback(["the film was"], max_new_tokens=6, samples_per_prompt=3)
    probe.on_train_begin(None, None, None, model=model, processing_class=tokenizer)
    assert probe.probe(model, 0)["probe/kl"] == 0.0  # a frozen copy: the same function
    other = ProbeCallback(["the film was"], ref_model=tiny(tokenizer, seed=1), max_new_tokens=6)
    other.on_train_begin(None, None, None, model=model, processing_class=tokenizer)
    assert other.probe(model, 0)["probe/kl"] > 0  # another model: KL > 0 (the check can fail)


def test_peft_reference_is_the_policy_without_its_adapters(tokenizer):
    peft = pytest.importorskip("peft")
    model = peft.get_peft_model(tiny(tokenizer), peft.LoraConfig(r=2, target_modules=["c_attn"],
                                                                 fan_in_fan_out=True))  # fmt: skip
    probe = ProbeCallback(["the plot seemed"], max_new_tokens=6, samples_per_prompt=2)
    probe.on_train_begin(None, None, None, model=model, processing_class=tokenizer)
    assert probe._frozen is None and probe.probe(model, 0)["probe/kl"] == 0.0  # LoRA's B starts at 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompts="the film was"), "non-empty list of strings"),
    (dict(prompts=[]), "non-empty list of strings"),
    (dict(prompts=["a"], every_n_steps=0), "every_n_steps must be a positive integer"),
    (dict(prompts=["a"], max_new_tokens=0), "max_new_tokens must be a positive integer"),
])  # fmt: skip
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProbeCallback(kwargs.pop("prompts"), **kwargs)
