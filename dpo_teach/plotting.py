"""One plotting style and one place to save figures, for every notebook and script.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies). Figures go
to ``figures/`` at the repository root; in fast mode (the test run) they go to the ignored
``figures/_fast/`` so a test run never overwrites the committed figures.
"""

from __future__ import annotations

import os
from pathlib import Path

from .runtime import fast_mode

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour deficiency.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORS = list(OKABE_ITO.values())

STYLE = {
    "axes.prop_cycle": None,  # filled in by use_style() (needs matplotlib's cycler)
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "font.size": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent; call once per notebook)."""
    import matplotlib as mpl
    from cycler import cycler

    style = dict(STYLE)
    style["axes.prop_cycle"] = cycler(color=COLORS)
    mpl.rcParams.update(style)


def figures_dir() -> Path:
    """Where figures are written: ``$DPO_TEACH_FIGURES`` if set, else ``figures/`` (``figures/_fast/``
    in fast mode) at the repository root, falling back to the current directory outside a checkout."""
    if os.environ.get("DPO_TEACH_FIGURES"):
        root = Path(os.environ["DPO_TEACH_FIGURES"])
    else:
        repo = Path(__file__).resolve().parents[1]
        root = repo / "figures" if (repo / "notebooks").is_dir() else Path.cwd() / "figures"
        if fast_mode():
            root = root / "_fast"
    root.mkdir(parents=True, exist_ok=True)
    return root


def save_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` and return the path.

    ``name`` is a bare file stem such as ``"01_beta_sweep"`` (no folder, no extension).
    """
    if not name or "/" in name or "\\" in name or name.endswith(".png"):
        raise ValueError(f"figure name must be a bare stem like '01_beta_sweep', got {name!r}")
    path = figures_dir() / f"{name}.png"
    fig.savefig(path)
    return path
