r"""One notation for the whole course (issue 31): the markdown of every English notebook uses the
symbols of ``dpo_teach.course.NOTATION`` (notebook 00's table), not the old ones they replace.

The old forms, found in the notebooks before the table existed:

- ``r_w``, ``r_l`` for an answer's log-ratio without beta (06, 07, 09): it is ``h_w``, ``h_l``, with
  ``h = h_w - h_l``; ``r`` is a reward, so a reward of y_w is written ``r(x, y_w)``. (``\hat r_w``,
  ``\hat r_l`` stay: the short form of ``\hat r_\theta(x, y_w)``, said so in notebook 00.)
- ``\Delta_w``, ``\Delta_l`` for the same log-ratio (07);
- ``u`` for the implicit reward ``\hat r_\theta`` (06's "ridge on u"), written ``$u$``, ``u^*``,
  ``u = \beta ...`` (03's unit roundoff ``u = 1.1 \cdot 10^{-16}`` is another u and is not matched);
- ``\pi_r`` for the optimum of Eq. 3 (01): it is ``\pi^*``;
- ``\hat r`` with no subscript for a fitted (Bradley-Terry maximum-likelihood) reward model (02, 04):
  a reward model's reward is ``r_\phi`` (04's code calls it ``r_hat``); a hat with a subscript is
  DPO's implicit reward;
- ``\hat r`` with no subscript for a fitted (Bradley-Terry maximum-likelihood) reward model (02, 04):
  a reward model's reward is ``r_\phi``, and a hat with a subscript is DPO's implicit reward;
- ``h`` called "the margin" (06): ``h`` is the log-ratio difference, the margin is ``m = \beta h``;
- ``\hat{r}`` with braces, and the reference written other than ``\pi_\mathrm{ref}``:
  ``\pi_{ref}``, ``\pi_{\text{ref}}``, ``\pi_\text{ref}``, ``\pi_{\rm ref}``, ``\pi_{\mathrm{ref}}``.

``logits`` is not on the list: every "logits" in the markdown names a softmax's inputs, never the
margin. Code cells are not scanned (they follow the library's names: ``chosen_rewards``, ``margin``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from dpo_teach.course import NOTATION

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))

OLD = {  # old form -> (pattern, the table's symbol)
    "r_w / r_l for a log-ratio": (
        r"(?<!\\hat )(?<![\\\w])r_\{?[wl]\b",
        r"$h_w$, $h_l$ (a reward: $r(x, y_w)$)",
    ),
    "Delta_w / Delta_l": (r"\\Delta_\{?[wl]\b", r"$h_w$, $h_l$"),
    "u for the implicit reward": (r"\$u\$|(?<![\\\w])u\^\*|(?<![\\\w])u = \\beta", r"$\hat r_\theta$"),
    "pi_r": (r"\\pi_\{?r\b", r"$\pi^*$"),
    "hat r for a fitted reward model": (r"\\hat r(?![_\w])", r"$r_\phi$"),
    "hat{r}": (r"\\hat\{r\}", r"$\hat r_\theta$"),
    "h called the margin": (
        r"margin,? \$h\b|\$h\$ the margin|\$h = [^$]*\$ the margin",
        r"$m = \beta h$ (the margin)",
    ),
    "pi_ref spelled otherwise": (
        r"\\pi_\{\s*(?:ref|\\text\{ref\}|\\rm\s*ref|\\mathrm\{ref\})\s*\}|\\pi_\\text\{ref\}|\\pi_\\rm",
        r"$\pi_\mathrm{ref}$",
    ),
}

# Notebooks whose markdown may still use old forms, with the reason and whether the xfail is strict
# (a strict one fails as XPASS once the notebook is clean, so the entry cannot outlive its cause).
# Empty: 07 was renamed (h_w, h_l for the log-ratios, r(x, y_w) - r(x, y_l) for a true-reward gap,
# issue 29/25 follow-up) and 08 was clean, so both are enforced now.
PENDING: dict[str, tuple[str, bool]] = {}


def old_forms(markdown: str) -> list[str]:
    """``"name: 'excerpt'"`` for every old form in ``markdown``."""
    found = []
    for name, (pattern, _) in OLD.items():
        for m in re.finditer(pattern, markdown):
            found.append(f"{name}: {markdown[max(0, m.start() - 25) : m.end() + 15]!r}")
    return found


def markdown_of(path: Path) -> str:
    return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def marks(path: Path):
    if path.name in PENDING:
        reason, strict = PENDING[path.name]
        return [pytest.mark.xfail(reason=reason, strict=strict)]
    return []


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=marks(p), id=str(p.relative_to(NOTEBOOKS))) for p in PATHS]
)
def test_markdown_uses_the_notation_table(path):
    found = old_forms(markdown_of(path))
    assert not found, f"{path.name}: old symbols (use the table's, notebook 00):\n" + "\n".join(found)


PLANTED = {  # one markdown cell per old form, each as a notebook once wrote it
    "r_w / r_l for a log-ratio": r"$r_w = \log\pi_\theta(y_w) - \log\pi_\mathrm{ref}(y_w)$, $r_l/|y_l|$",
    "Delta_w / Delta_l": r"Per pair: $\Delta_w = \log\pi_\theta(y_w) - \log\pi_\mathrm{ref}(y_w)$",
    "u for the implicit reward": r"with $u = \beta(\theta - \log\pi_\mathrm{ref})$; a ridge on $u$, $u^*$",
    "hat r for a fitted reward model": r"the fitted reward model $\hat r$, and $e^{\hat r/\beta}$",
    "pi_r": r"$$\pi_r(y \mid x) = \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta} / Z(x)$$",
    "hat{r}": r"the implicit reward $\hat{r}_\theta(x, y)$",
    "h called the margin": r"the share of pairs with a positive summed margin $h$; $h$ the margin",
    "pi_ref spelled otherwise": r"$\pi_{\text{ref}}$, $\pi_{ref}$, $\pi_\text{ref}$ and $\pi_{\rm ref}$",
}

CLEAN = (  # the table's forms, and symbols that only look like old ones
    r"$\hat r_\theta(x, y_w) = \beta h_w$, short $\hat r_w$; $m = \hat r_w - \hat r_l = \beta (h_w - h_l)$",
    r"$\pi_\mathrm{ref}$, $\pi^*$, $r(x, y_w)$, $r_\phi(x, y)$, $r^*$, $\hat r_\theta$",
    r"rounding of order $u/\varepsilon$, $u = 1.1 \cdot 10^{-16}$, about $u\,|a|$",
    r"$\Delta \log \pi(y_w) \approx \eta\beta w$ and $\Delta m$; the softmax logits $\theta$",
)


@pytest.mark.parametrize("name", sorted(OLD))
def test_the_scan_fails_on_each_old_form_planted_in_a_cell(name):
    found = old_forms(PLANTED[name])
    assert found and all(f.startswith(f"{name}:") for f in found), found


def test_the_scan_passes_the_tables_forms():
    assert set(PLANTED) == set(OLD)
    for text in CLEAN:
        assert not old_forms(text), (text, old_forms(text))


def test_notebook_00s_table_lists_every_symbol_of_the_notation():
    table = markdown_of(NOTEBOOKS / "00_map.ipynb")
    rows = [line for line in table.splitlines() if line.startswith("| $")]
    assert len(rows) == len(NOTATION)
    for (symbol, meaning, code), row in zip(NOTATION, rows):
        assert row.startswith(f"| {symbol} | {meaning} | {code} |"), (row, symbol)
