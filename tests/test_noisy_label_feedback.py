"""Notebook 06's first practice check: its feedback on a right answer matches 06, Section 1.

cDPO has a finite target (its margin stops at log((1 - eps) / eps)); robust DPO keeps pushing every pair
(its weight tends to beta eps / (1 - 2 eps) > 0). A fresh reader found the old message, "no longer pushed
without limit", given for robust DPO too (issue 31)."""
import math

import pytest

from dpo_teach.exercises import language, practice_models, set_language


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_noisy_label_feedback_says_which_loss_stops_pushing(lang, monkeypatch, capsys):
    """Notebook 06, Section 1: cDPO has a finite target, robust DPO keeps pushing; so does the feedback."""
    monkeypatch.setenv(language.ENV, "en")  # restored after the test, so the language cannot leak
    set_language(lang)
    practice_models.check_noisy_label_loss("cdpo", 0.2)
    cdpo = capsys.readouterr().out
    practice_models.check_noisy_label_loss("robust", 0.2)
    robust = capsys.readouterr().out
    assert f"{math.log(0.8 / 0.2):.2f}" in cdpo  # the cap on the margin, log((1 - eps) / eps)
    if lang == "en":
        assert "stops pushing" in cdpo and "still pushes every pair" in robust and "no longer" not in robust
    else:
        assert "不再推" in cdpo and "仍然推每一对" in robust and "不再" not in robust
