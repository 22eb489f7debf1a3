"""One plotting style and one place to save figures, for every notebook and script.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies).

Where ``save_figure`` writes, so that running the course never changes a committed file:

- a notebook or script, any size: the ignored ``figures/_out/`` at the repository root
  (``figures/_fast/`` in fast mode, the test run);
- ``$DPO_TEACH_FIGURES`` when it is set: that folder. ``python -m dpo_teach.figures`` sets it to
  the committed ``figures/`` and is the one way those are regenerated, on purpose;
- outside a checkout (an installed package): ``./figures`` in the current directory.

Every PNG (``save_figure``, the fine-tune's plots) goes through :func:`write_png`: written under a
temporary name and renamed, so a kill mid-write leaves the old file or none, never half of one.
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


FIGURES_ENV = "DPO_TEACH_FIGURES"  # set: save_figure writes there (dpo_teach.figures sets it)


def repo_root() -> Path | None:
    """The checkout this package runs from (the folder holding ``notebooks/`` and ``figures/``),
    or None for an installed package."""
    repo = Path(__file__).resolve().parents[1]
    return repo if (repo / "notebooks").is_dir() and (repo / "figures").is_dir() else None


def figures_dir() -> Path:
    """Where figures are written: ``$DPO_TEACH_FIGURES`` if set; else the ignored
    ``figures/_out/`` of the checkout (``figures/_fast/`` in fast mode); else ``./figures``."""
    if os.environ.get(FIGURES_ENV):
        root = Path(os.environ[FIGURES_ENV])
    elif (repo := repo_root()) is not None:
        root = repo / "figures" / ("_fast" if fast_mode() else "_out")
    else:
        root = Path.cwd() / "figures"
    root.mkdir(parents=True, exist_ok=True)
    return root


def save_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` and return the path.

    ``name`` is a bare file stem such as ``"01_beta_sweep"`` (no folder, no extension).
    """
    if not name or "/" in name or "\\" in name or name.endswith(".png"):
        raise ValueError(f"figure name must be a bare stem like '01_beta_sweep', got {name!r}")
    return write_png(fig, figures_dir() / f"{name}.png")


def write_png(fig, path) -> Path:
    """``fig.savefig`` as a PNG under a temporary name beside ``path``, then renamed into place
    (:func:`dpo_teach.files.atomic_write`): a kill mid-write never leaves a truncated PNG there."""
    from .files import atomic_write

    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


# where a point's label may go, in order of preference: (dx, dy) in units of the offset, then its
# alignment; eight directions, near first, then twice and three times as far
_DIRECTIONS = [(1, 1, "left", "bottom"), (-1, 1, "right", "bottom"), (1, -1, "left", "top"),
               (-1, -1, "right", "top"), (0, 1.4, "center", "bottom"), (0, -1.4, "center", "top"),
               (1.4, 0, "left", "center"), (-1.4, 0, "right", "center")]  # fmt: skip
_LABEL_SPOTS = [(dx * r, dy * r, ha, va, r > 1) for r in (1, 2, 3) for dx, dy, ha, va in _DIRECTIONS]


def label_points(ax, xs, ys, texts, *, offset: float = 7.0, fontsize: float = 9):
    """Label each point ``(xs[i], ys[i])`` with ``texts[i]`` on the side where the label covers no
    line of ``ax``, no earlier label and no legend, and stays inside the axes; returns the labels.
    A label that has to move further than ``offset`` points gets a thin leader line to its point.

    Call it last, once the scales, limits and legend are final (it measures on the drawn figure).
    """
    from matplotlib.path import Path as MplPath
    from matplotlib.text import Text

    fig = ax.figure
    fig.canvas.draw()  # fixes the limits and the legend's place, so the measurements hold
    renderer = fig.canvas.get_renderer()
    lines = []  # every line of the axes in display coordinates (incl. axhline / axvline)
    for line in ax.lines:
        path = line.get_transform().transform_path(line.get_path())
        if len(path.vertices) > 1:
            lines.append(MplPath(path.vertices))
    avoid = [leg.get_window_extent(renderer) for leg in [ax.get_legend()] if leg is not None]
    inside = ax.get_window_extent(renderer)
    placed = []
    for x, y, text in zip(xs, ys, texts):
        best = None
        for rank, (dx, dy, ha, va, far) in enumerate(_LABEL_SPOTS):
            leader = {"arrowprops": {"arrowstyle": "-", "color": "0.5", "lw": 0.8}} if far else {}
            label = ax.annotate(text, (x, y), xytext=(dx * offset, dy * offset), textcoords="offset points",
                                ha=ha, va=va, fontsize=fontsize, **leader)  # fmt: skip
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer).padded(2)  # the text, not its leader
            hits = sum(p.intersects_bbox(box, filled=False) for p in lines)
            hits += sum(box.overlaps(b) for b in avoid)
            outside = box.x0 < inside.x0 or box.x1 > inside.x1 or box.y0 < inside.y0 or box.y1 > inside.y1
            cost = (hits, outside, rank)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, label, box)
            else:
                label.remove()
            if cost[:2] == (0, False):
                break
        placed.append(best[1])
        avoid.append(best[2])
    return placed
