"""The notebooks run top to bottom for the site, each execution kept under a content hash.

A notebook runs again only when something its outputs depend on changed: its own bytes, the
package's source (``dpo_teach/``, less this site builder), the committed ``results/`` it reads at
full size, the size (full or ``--fast``), or the Python and library versions. The key is the
SHA-256 of all of them; the executed notebook is kept as ``<cache>/executions/<notebook>/<key>.ipynb``
(written under a temporary name, then renamed), and the older executions of that notebook are
removed. So the first build runs every notebook, and a build with nothing changed runs none.

The kernel is this interpreter (the same ``dpo_teach``), started in the notebook's folder as in
Jupyter, with figures drawn inline and ``save_figure`` pointed at a temporary folder, so a build
never touches the repository's ``figures/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from ..files import atomic_write_text
from ..plotting import FIGURES_ENV
from . import SiteError

__all__ = ["CELL_TIMEOUT_S", "clean_outputs", "executed_notebook", "execution_key", "package_fingerprint"]

CACHE_VERSION = "1"  # bump when what is stored changes shape
CELL_TIMEOUT_S = 3600  # per cell: a full-size cell takes a minute or two on a laptop CPU
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VERSIONED = ("numpy", "torch", "transformers", "matplotlib", "tokenizers")


def package_fingerprint(repo: Path) -> str:
    """SHA-256 over the package's files (less ``dpo_teach/site/``) and ``results/``, by path."""
    digest = hashlib.sha256()
    for root in ("dpo_teach", "results"):
        for path in sorted((repo / root).rglob("*")):
            rel = path.relative_to(repo).as_posix()
            if not path.is_file() or "__pycache__" in path.parts or rel.startswith("dpo_teach/site/"):
                continue
            digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for name in VERSIONED:
        try:
            digest.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none\0".encode())
    digest.update(f"python={platform.python_version()}\0".encode())
    return digest.hexdigest()


def execution_key(repo: Path, source: str, *, fast: bool, fingerprint: str) -> str:
    """The content hash an execution of the notebook ``source`` is cached under."""
    head = (
        f"dpo_teach.site execution v{CACHE_VERSION}\0{'fast' if fast else 'full'}\0{fingerprint}\0{source}\0"
    )
    return hashlib.sha256(head.encode() + (repo / source).read_bytes()).hexdigest()


def clean_outputs(nb: dict) -> dict:
    """Drop what a static page cannot show: widget views (a progress bar frozen at its first
    frame) and the widget state they need; an output left with nothing to show goes too."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if not any(k != "text/plain" for k in data):
                    continue  # its text is the widget's repr, not what the reader saw
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


def _kernels():
    """A kernel spec manager whose ``python3`` is this interpreter (the same ``dpo_teach``)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class CurrentPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            argv = [
                sys.executable,
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
                "--IPKernelApp.log_level=ERROR",
            ]  # the kernel's own notices; cells' warnings stay
            return KernelSpec(argv=argv, display_name="Python 3 (dpo_teach.site)", language="python")

    return CurrentPython()


def _failure(source: str, nb, err) -> SiteError:
    cell = next(
        (
            i
            for i, c in enumerate(nb.cells)
            if any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ),
        None,
    )
    what = f"{getattr(err, 'ename', type(err).__name__)}: {getattr(err, 'evalue', err)}"
    what = " ".join(str(what).split())[:300]
    where = f"code cell {cell}" if cell is not None else "a cell"
    return SiteError(
        f"{source} failed at {where} ({what}); run it in Jupyter to see the traceback, "
        "fix it, and build again (--only NN builds the other notebooks meanwhile)"
    )


def _run(repo: Path, source: str, fast: bool) -> dict:
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = repo / source
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="dpo_teach_site_figures_") as figures:
        env = dict(
            os.environ,
            DPO_TEACH_FAST="1" if fast else "0",
            MPLBACKEND="module://matplotlib_inline.backend_inline",
            # this clone's package, not another copy an editable install points at
            PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            **{FIGURES_ENV: figures},
        )
        km = KernelManager(kernel_name="python3", kernel_spec_manager=_kernels())
        client = NotebookClient(
            nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}}
        )
        try:
            client.execute(env=env)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
            raise _failure(source, nb, err) from None
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    return clean_outputs(json.loads(nbformat.writes(nb)))


def executed_notebook(
    repo: Path, source: str, *, fast: bool, cache: Path, fingerprint: str
) -> tuple[dict, float | None]:
    """The notebook ``source`` with its outputs, and the seconds it ran (None: from the cache)."""
    key = execution_key(repo, source, fast=fast, fingerprint=fingerprint)
    folder = cache / "executions" / source.replace("/", "__")
    stored = folder / f"{key}.ipynb"
    if stored.is_file():
        try:
            return json.loads(stored.read_text(encoding="utf-8")), None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            pass  # a damaged entry is run again and replaced
    start = time.monotonic()
    nb = _run(repo, source, fast)
    seconds = time.monotonic() - start
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored, json.dumps(nb, ensure_ascii=False, indent=1))
    for old in folder.glob("*.ipynb"):
        if old != stored and len(old.stem) == 64:  # an older execution of ours (a key's hex digits)
            old.unlink(missing_ok=True)
    return nb, seconds
