"""The map's "needs" (dpo_teach.course.NOTEBOOKS) names every earlier notebook whose losses a notebook runs.

Notebook 07 runs SimPO, sigmoid_norm, cDPO and robust DPO, which notebook 06 introduces, so 07 needs 06
(a fresh reader found "07 needs 05" only; issue 31)."""
import json
from pathlib import Path

from dpo_teach.course import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
FAMILY_NAMES = ("SimPO", "sigmoid_norm", "cDPO", "robust DPO")  # introduced in 06


def markdown(stem: str) -> str:
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def needs_06(number: str) -> bool:
    """True when a notebook's markdown uses at least two of 06's losses (one mention can be a pointer)."""
    nb = next(n for n in NOTEBOOKS if n.number == number)
    text = markdown(nb.name)
    return sum(name in text for name in FAMILY_NAMES) >= 2


def test_07_uses_06s_losses_and_needs_06():
    assert needs_06("07")
    needs = next(n for n in NOTEBOOKS if n.number == "07").needs
    assert "06" in needs, f"07 runs 06's losses ({', '.join(FAMILY_NAMES)}) but its needs are {needs}"


def test_needs_only_earlier_notebooks():
    for nb in NOTEBOOKS:
        assert all(need < nb.number for need in nb.needs), nb.number
