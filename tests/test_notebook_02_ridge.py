"""Notebook 02's appendix states that a ridge of ``l2=1`` would have hidden the point of its
fitted-policy check: the two routes still agree, while the fit sits 0.58 in total variation from
the unpenalised one (0.57 in fast mode). Its assert fails when either route is fitted without
the ridge (the agreement is then no longer at l2=1, or the distance is 0)."""

from __future__ import annotations

from test_notebook_checks import run_until_fail

STOP = "assert agree_ridge < 1e-10"
DPO = "pi_ridge = fit_dpo(ref[0], chosen, rejected, beta, l2=1.0)"
RLHF = "pi_rlhf_ridge = optimal_policy(ref[0], fit_reward_model(chosen, rejected, K, l2=1.0), beta)"


def test_02_ridge_distance_is_computed_and_its_check_fails_without_the_ridge(monkeypatch, tmp_path):
    assert run_until_fail("02_derivation.ipynb", {}, monkeypatch, tmp_path, STOP) is None
    for line in (DPO, RLHF):
        edit = {line: line.replace("l2=1.0", "l2=0.0")}
        failed = run_until_fail("02_derivation.ipynb", edit, monkeypatch, tmp_path, STOP)
        assert failed is not None and failed.startswith(STOP), (line, failed)
