"""The sweep runner: intervals that match Student's t, a results file that survives a kill and is
never mistaken for another, and a resumable run that skips what it has recorded."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest

from dpo_teach.sweep import cli, experiments, records, runner, stats


def test_t_quantiles_match_the_table_and_its_tail():
    assert stats.t_quantile(4) == 2.776  # 5 seeds
    assert abs(stats.t_quantile(31) - 2.0395) < 1e-3 and abs(stats.t_quantile(120) - 1.9799) < 1e-3
    assert stats.t_quantile(1000) > 1.96 > stats.t_quantile(10**7) - 1e-3
    with pytest.raises(ValueError, match="degrees of freedom"):
        stats.t_quantile(0)


def test_mean_interval_is_mean_plus_minus_t_s_over_root_n():
    values = [0.71, 0.69, 0.75, 0.66, 0.73]
    iv = stats.mean_interval(values)
    half = 2.776 * statistics.stdev(values) / math.sqrt(5)
    assert abs(iv.mean - statistics.fmean(values)) < 1e-12 and abs(iv.high - iv.mean - half) < 1e-12
    wrong = 1.96 * statistics.stdev(values) / math.sqrt(5)  # the normal's 1.96 at n = 5 is too narrow
    assert abs((iv.high - iv.mean) - wrong) > 0.01
    with pytest.raises(ValueError, match="at least 2"):
        stats.mean_interval([0.5])


def test_paired_difference_resolves_what_the_unpaired_intervals_cannot():
    # a seed's luck moves both settings together; a constant gap of 0.02 under it
    base = {0: 0.50, 1: 0.70, 2: 0.60, 3: 0.80, 4: 0.55}
    a = {s: v + 0.02 + 0.001 * (s % 2) for s, v in base.items()}
    paired = stats.paired_difference(a, base)
    assert paired.excludes_zero and paired.low > 0
    lone_a, lone_b = stats.mean_interval(list(a.values())), stats.mean_interval(list(base.values()))
    assert lone_a.low < lone_b.high  # side by side the intervals overlap: not resolved that way
    assert not stats.paired_difference(base, base).excludes_zero
    with pytest.raises(ValueError, match="common seeds"):
        stats.paired_difference({0: 1.0}, {1: 1.0})


def test_records_add_skip_and_refuse(tmp_path):
    path = tmp_path / "x.json"
    records.add_run(path, "x", {"beta": 1.0}, 0, {"acc": 0.9, "kl": float("nan")}, 1.5)
    records.add_run(path, "x", {"beta": 1.0}, 0, {"acc": 0.1}, 1.0)  # already there: kept as it was
    record = records.load(path, "x")
    assert len(record["runs"]) == 1 and record["runs"][0]["metrics"] == {"acc": 0.9, "kl": None}
    assert record["provenance"]["experiment"] == "x" and "torch" in record["provenance"]["versions"]
    assert records.run_key({"beta": 1.0}, 0) in records.finished_keys(record)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".x.json.*tmp*"))
    with pytest.raises(records.RecordError, match="holds experiment 'x'"):
        records.load(path, "y")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(records.RecordError, match="not a sweep results file"):
        records.add_run(tmp_path / "other.json", "other", {}, 0, {}, 0.0)
    assert (tmp_path / "other.json").read_text() == '{"a": 1}'  # not ours: untouched


def test_a_run_from_uncommitted_code_is_recorded_as_dirty(tmp_path):
    import subprocess

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    (tmp_path / "dpo_teach").mkdir()
    (tmp_path / "dpo_teach" / "m.py").write_text("x = 1\n")
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "c"]):
        subprocess.run(git + cmd, cwd=tmp_path, check=True)
    head = records._commit(tmp_path)
    assert len(head) == 40 and not head.endswith("-dirty")
    (tmp_path / "notes.txt").write_text("outside the package: still clean\n")
    assert records._commit(tmp_path) == head
    (tmp_path / "dpo_teach" / "m.py").write_text("x = 2\n")
    assert records._commit(tmp_path) == head + "-dirty"


def test_parse_seeds():
    assert cli.parse_seeds("0-4") == [0, 1, 2, 3, 4] and cli.parse_seeds("3,1,1-2") == [1, 2, 3]
    for bad in ("", "a", "4-2", "-1", "0-5000"):
        with pytest.raises(Exception, match="seed"):
            cli.parse_seeds(bad)


def test_a_sweep_resumes_and_skips_recorded_runs(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_run(setting, seed, fast, world):
        calls.append((setting["k"], seed))
        # a per-pair array and a history, as train_member returns them: neither belongs in the record
        return {"reward_accuracy": 0.5 + 0.1 * setting["k"] + 0.01 * seed, "chosen_change": np.zeros(3),
                "history": [{"step": 1}]}  # fmt: skip

    settings = lambda fast: [{"k": 0}, {"k": 1}]  # noqa: E731
    fake = experiments.Experiment("fake", settings, (0, 1, 2), fake_run, needs_world=False)
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", fake)
    monkeypatch.setattr(runner, "EXPERIMENTS", experiments.EXPERIMENTS)
    results = tmp_path / "results"
    # a run recorded before a kill
    records.add_run(results / "fake.json", "fake", {"k": 0}, 1, {"reward_accuracy": 0.51}, 0.1)
    assert runner.pending("fake", [0, 1, 2], results / "fake.json", False)[1] == [{"k": 1}]
    runner.run_sweep("fake", [0, 1, 2], results, jobs=1, log=lambda *_: None)
    assert sorted(calls) == [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)]  # (k=0, seed 1) was recorded: skipped
    runner.run_sweep("fake", [0, 1, 2], results, jobs=1, log=lambda *_: None)
    assert len(calls) == 5  # everything recorded: nothing runs again
    record = json.loads((results / "fake.json").read_text())
    assert len(record["runs"]) == 6
    assert all(set(r["metrics"]) == {"reward_accuracy"} for r in record["runs"])
    text = cli.summary(record, metrics=("reward_accuracy",))
    assert '{"k": 1}: 3 seeds' in text and "(n=3)" in text


def _fake_experiments(monkeypatch):
    """Three fake experiments: one on a seed's world, one without, one with a world of its own."""
    settings = lambda fast: [{"k": k} for k in range(4)]  # noqa: E731
    fakes = {"w": experiments.Experiment("w", settings, (0, 1, 2, 3, 4), None, needs_world=True),
             "v": experiments.Experiment("v", settings, (0, 1, 2, 3, 4), None, needs_world=True),
             "f": experiments.Experiment("f", settings, (100, 101), None, needs_world=False),
             "o": experiments.Experiment("o", settings, (0, 1), None, needs_world=False, own_world=True)}
    monkeypatch.setattr(runner, "EXPERIMENTS", fakes)
    return fakes


def test_the_plan_splits_the_leftover_world_seed_so_no_worker_waits_alone(tmp_path, monkeypatch):
    fakes = _fake_experiments(monkeypatch)
    todo = {n: {seed: fakes[n].settings(False) for seed in fakes[n].seeds} for n in fakes}
    todo["w"][2] = [{"k": 3}]  # resumed: seed 2 of w has one run left
    tasks = runner.plan(todo, tmp_path, jobs=2, fast=False)
    shape = [(seed, names, [[s["k"] for s in lst] for lst in lists]) for names, seed, lists, _, _ in tasks]
    whole = [0, 1, 2, 3]
    assert shape[:4] == [(seed, ["w", "v"], [[3] if seed == 2 else whole, whole]) for seed in range(4)]
    # seed 4 (five seeds, two workers) is dealt round-robin into two tasks, each building the world
    assert shape[4:6] == [(4, ["w", "v"], [[0, 2], [0, 2]]), (4, ["w", "v"], [[1, 3], [1, 3]])]
    # then a task per world-free run, and one per seed where the experiment keeps its own world
    assert shape[6:14] == [(seed, ["f"], [[k]]) for seed in (100, 101) for k in range(4)]
    assert shape[14:] == [(seed, ["o"], [[0, 1, 2, 3]]) for seed in (0, 1)]
    # every pending run is in exactly one task
    planned = sorted((n, seed, s["k"]) for names, seed, lists, _, _ in tasks
                     for n, lst in zip(names, lists) for s in lst)  # fmt: skip
    assert planned == sorted((n, seed, s["k"]) for n in todo for seed in todo[n] for s in todo[n][seed])
    # one worker: nothing is split
    assert [t[1] for t in runner.plan(todo, tmp_path, jobs=1, fast=False)][:6] == [0, 1, 2, 3, 4, 100]
    # four seeds on two workers divide evenly: nothing is split
    del todo["w"][4], todo["v"][4]
    assert [t[1] for t in runner.plan(todo, tmp_path, jobs=2, fast=False)][:5] == [0, 1, 2, 3, 100]


def test_the_cli_refuses_bad_input(tmp_path, capsys):
    (tmp_path / "beta_lr.json").write_text("not json")
    assert cli.main(["beta_lr", "--results", str(tmp_path), "--summary"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert (tmp_path / "beta_lr.json").read_text() == "not json"
    for bad in (["no_such_experiment"], ["all", "family"], ["all", "--table"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(bad)
        assert exit_info.value.code == 2


def test_a_real_fast_sweep_records_one_world_per_seed(tmp_path):
    """The beta x lr grid and 07 §1's displacement in fast mode on one seed: every setting of both
    shares the seed's world, and the top chosen answers' share is recorded (not the per-pair array)."""
    runner.run_shared(["beta_lr", "displacement"], [0], tmp_path, jobs=1, fast=True, log=lambda *_: None)
    record, moved = (records.load(tmp_path / f"{n}.json", n) for n in ("beta_lr", "displacement"))
    assert [r["setting"]["beta"] for r in record["runs"]] == [1.0, 2.0]
    for r in record["runs"]:
        assert 0.0 <= r["metrics"]["reward_accuracy"] <= 1.0 and r["metrics"]["heldout_dpo_loss"] > 0
        assert "history" not in r["metrics"]
    assert [r["setting"] for r in moved["runs"]] == experiments.EXPERIMENTS["displacement"].settings(True)
    for r in moved["runs"]:
        m = r["metrics"]
        assert "chosen_change" not in m and m["n_top"] > 0 and 0.0 <= m["top_chosen_fell"] <= 1.0
        assert 0.0 <= m["valid_but_worse"] + m["valid_but_better"] <= 1.0
    # the same world: the reference's samples (hence its true reward) are identical across settings
    refs = {r["metrics"]["true_reward_reference"] for r in record["runs"] + moved["runs"]}
    assert len(refs) == 1
    # a setting run alone on a world built afresh (a split seed's second task) records the same run
    alone = tmp_path / "alone"
    runner.run_seed(["displacement"], 0, [[moved["runs"][-1]["setting"]]], str(alone), True)
    untimed = lambda m: {k: v for k, v in m.items() if not k.endswith("_seconds")}  # noqa: E731
    again = records.load(alone / "displacement.json", "displacement")["runs"][0]["metrics"]
    assert untimed(again) == untimed(moved["runs"][-1]["metrics"]) and len(untimed(again)) > 20


def test_clinic_lr_runs_notebook_08s_world_and_the_doctor(tmp_path, monkeypatch):
    from dpo_teach.sweep import clinic_lessons

    tiny = dict(n_corpus=300, sft_steps=60, sft_batch_size=8, n_prompts=80, n_eval_prompts=4)
    monkeypatch.setitem(clinic_lessons.CLINIC_WORLD, True, tiny)
    monkeypatch.setattr(clinic_lessons, "_WORLDS", {})
    metrics = clinic_lessons.run_clinic_lr({"learning_rate": 5e-4}, 3, True)
    assert set(metrics) >= {"tail_loss", "tail_accuracy", "doctor", "valid_rate_policy", "kl_to_reference"}
    assert isinstance(metrics["doctor"], list) and metrics["tail_loss"] > 0
    assert list(clinic_lessons._WORLDS) == [(3, True)]  # built once for the seed, kept for its other settings
    from dpo_teach import doctor
    from dpo_teach.gpt2.lab.clinic import tail_mean

    stuck = [{"step": i, "loss": 0.6931, "grad_norm": 0.0, "rewards/margins": 0.0, "rewards/accuracies": 0.0,
              "logps/chosen": -9.0, "logps/rejected": -9.0} for i in range(1, 21)]  # fmt: skip
    in_process = [f.id for f in doctor.diagnose(doctor.parse_log(stuck))]
    assert clinic_lessons.doctor_ids(stuck) == in_process and in_process[0] == "stuck_at_ln2"  # the command's ids

    assert tail_mean([{"x": 1.0}] * 8 + [{"x": 3.0}] * 2, "x") == 3.0  # the last 20 %


def test_a_candidate_recipe_changes_only_its_own_flags(monkeypatch):
    seen = []

    def fake_run(cmd, **kwargs):
        seen.append(cmd)
        raise RuntimeError("stop here")

    monkeypatch.setattr(experiments.subprocess, "run", fake_run)
    for setting in experiments.EXPERIMENTS["recipe_dev"].settings(False):
        with pytest.raises(RuntimeError, match="stop here"):
            experiments._finetune(setting, 0, False)
    default, lower_lr, higher_beta, cosine, cosine_best, rpo = seen
    assert rpo[rpo.index("--loss") + 1] == "rpo" and "--lr-scheduler" not in rpo
    assert cosine[cosine.index("--lr-scheduler") + 1] == "cosine" and "--save-best" not in cosine
    assert cosine[cosine.index("--warmup-steps") + 1] == "30" and "--learning-rate" not in cosine
    assert "--save-best" in cosine_best and cosine_best[cosine_best.index("--eval-every") + 1] == "25"
    assert "--learning-rate" not in default and "--beta" not in default
    # every candidate but RPO is DPO by name: left to the preset's default (now RPO) it would rerun as RPO
    for dpo in (default, lower_lr, higher_beta, cosine, cosine_best):
        assert dpo[dpo.index("--loss") + 1] == "sigmoid"
    assert lower_lr[lower_lr.index("--learning-rate") + 1] == "0.0003" and "--beta" not in lower_lr
    assert higher_beta[higher_beta.index("--beta") + 1] == "3.0" and "--learning-rate" not in higher_beta
    assert experiments.EXPERIMENTS["recipe_dev"].seeds == (0, 1, 2, 3, 4)  # never the unseen seeds


def test_the_readme_states_what_the_default_recipe_record_holds():
    """README and docs/practitioners.md quote the unseen-seed record: each number must follow from it."""
    from pathlib import Path

    from dpo_teach.sweep.distribution import distribution_table, runs_of

    repo = Path(__file__).resolve().parents[2]
    record = json.loads((repo / "results" / "default_recipe.json").read_text(encoding="utf-8"))
    readme = (repo / "README.md").read_text(encoding="utf-8")
    practitioners = (repo / "docs" / "practitioners.md").read_text(encoding="utf-8")
    # the recipe (RPO): the README's table is the record's, rendered
    (setting,) = experiments.EXPERIMENTS["default_recipe"].settings(False)
    table = distribution_table(record, setting)
    block = readme.split("<!-- default-recipe:start -->\n")[1].split("\n<!-- default-recipe:end -->")[0]
    assert block == table, "README's table is stale: python -m dpo_teach.sweep default_recipe --table"
    assert table in practitioners
    rpo = runs_of(record, setting)
    pct = [f"{rpo[s]['valid_rate_policy']:.1%}".replace("%", " %") for s in (103, 107)]
    assert f"RPO keeps {pct[0]} and {pct[1]} of its samples valid" in " ".join(readme.split())
    assert f"seed 109's win rate ({rpo[109]['win_rate_vs_reference']:.3f})" in readme
    assert [s for s in sorted(rpo) if not experiments.meets_targets(rpo[s])] == [109]
    # plain DPO before it (seeds 100-108): the README's sentence follows from those runs
    runs = runs_of(record, {"preset": "tiny", "loss": "sigmoid"})
    missed = [s for s in sorted(runs) if not experiments.meets_targets(runs[s])]
    assert (min(runs), max(runs), len(runs)) == (100, 108, 9) and missed == [103, 107]
    assert "on nine seeds it was never tuned on (100-108)\nseven met every target" in readme
    assert f"seed 103 kept {runs[103]['valid_rate_policy']:.1%}".replace("%", " %") in readme  # 86.7 %
    assert f"({runs[107]['valid_rate_policy']:.0%}".replace("%", " %") + " valid" in readme  # (52 % valid


def test_practitioners_paired_rpo_vs_dpo_intervals_follow_from_the_dev_record():
    """docs/practitioners.md claims one ordering on seeds 0-4 (RPO's KL lower) and calls the rest
    unresolved: each quoted interval is the record's, and only the resolved one excludes 0."""
    from pathlib import Path

    from dpo_teach.sweep.distribution import runs_of
    from dpo_teach.sweep.stats import paired_difference

    repo = Path(__file__).resolve().parents[2]
    record = json.loads((repo / "results" / "recipe_dev.json").read_text(encoding="utf-8"))
    text = " ".join((repo / "docs" / "practitioners.md").read_text(encoding="utf-8").split())
    rpo, dpo = runs_of(record, {"preset": "tiny", "loss": "rpo"}), runs_of(record, experiments.DPO_RECIPE)
    for key, resolved in (("kl_to_reference", True), ("valid_rate_policy", False),
                          ("win_rate_vs_reference", False), ("true_reward_policy", False)):  # fmt: skip
        iv = paired_difference({s: m[key] for s, m in rpo.items()}, {s: m[key] for s, m in dpo.items()})
        assert iv.n == 5 and iv.excludes_zero == resolved, (key, iv)
        assert f"{iv.mean:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]" in text, (key, str(iv))


def test_the_distribution_table_counts_what_it_is_given():
    from dpo_teach.sweep.distribution import distribution_table

    good = {"reward_accuracy": 0.9, "win_rate_vs_reference": 0.75, "valid_rate_policy": 0.95,
            "kl_to_reference": 1.0, "true_reward_policy": 0.8}  # fmt: skip
    record = {"runs": [{"setting": {"a": 1}, "seed": 5, "metrics": good},
                       {"setting": {"a": 1}, "seed": 6, "metrics": {**good, "win_rate_vs_reference": 0.69}},
                       {"setting": {"a": 2}, "seed": 7, "metrics": good}]}  # fmt: skip
    table = distribution_table(record, {"a": 1})
    assert "(seeds 5-6)" in table and "| 1 / 2 |" in table and "**1 / 2** (missed: seed 6)" in table
    assert "| 0.690 | 0.720 | 0.750 |" in table  # min / median / max of the win rate
    with pytest.raises(ValueError, match="no run of"):
        distribution_table(record, {"a": 3})


def test_the_default_recipe_experiment_runs_what_the_command_runs_by_default():
    """default_recipe names its loss so the record says what ran; it must be the CLI's default."""
    from dpo_teach.gpt2.recipe import default_loss

    (setting,) = experiments.EXPERIMENTS["default_recipe"].settings(False)
    assert setting == {"preset": "tiny", "loss": default_loss("tiny", None)}
    assert default_loss("tiny", "gpt2") == default_loss("small", None) == "sigmoid"  # not measured there


def test_table_on_a_record_without_the_recipe_is_one_error_line(tmp_path, capsys):
    from dpo_teach.sweep.cli import main

    record = {"provenance": {"experiment": "default_recipe"}, "runs": []}
    (tmp_path / "default_recipe.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["default_recipe", "--table", "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
