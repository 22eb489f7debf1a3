"""MathJax, installed from the npm registry at build time and served by the site itself.

Without it Sphinx links MathJax from a CDN and no formula renders offline. ``npm install`` puts
the pinned release into the build cache once (``<cache>/mathjax-VERSION/``, renamed into place
whole); each book then carries the parts a page loads: the combined TeX + MathML -> CommonHTML
script, the TeX extensions it loads on demand, the menu, the accessibility parts and the
woff-v2 fonts. Nothing of it is committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..files import atomic_replace_dir
from . import SiteError

__all__ = ["MATHJAX_VERSION", "SCRIPT", "install_mathjax", "mathjax_parts", "npm_reason"]

MATHJAX_VERSION = "3.2.2"  # the last MathJax 3, the major version Sphinx's mathjax extension configures
SCRIPT = "tex-mml-chtml.js"  # the combined component a page loads (mathjax_path)
PARTS = (SCRIPT, "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "adaptors")
NPM_TIMEOUT_S = 600


def mathjax_parts(es5: Path) -> list[Path]:
    """The files of an unpacked ``mathjax/es5`` folder that the site serves (relative paths)."""
    found = []
    for part in PARTS:
        path = es5 / part
        if path.is_file():
            found.append(Path(part))
        elif path.is_dir():
            found += sorted(p.relative_to(es5) for p in path.rglob("*") if p.is_file())
    return found


def npm_reason(stderr: str) -> str:
    """The line of npm's error output that says why (``FetchError: ... ECONNREFUSED``, a 404),
    not its closing line (where the debug log lies)."""
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if re.match(r"(\w*Error\b|404\b)", line):
            return line
    return next((line for line in lines if line.startswith("code ")), lines[-1] if lines else "no output")


def _npm_install(into: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError(
            "npm was not found: the site serves MathJax itself and installs it from the npm "
            "registry once; install Node.js with npm (apt-get install -y npm) and build again"
        )
    with tempfile.TemporaryDirectory(prefix="dpo_teach_mathjax_") as prefix:
        cmd = [
            npm,
            "install",
            "--prefix",
            prefix,
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            f"mathjax@{MATHJAX_VERSION}",
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc = None
        es5 = Path(prefix) / "node_modules" / "mathjax" / "es5"
        if proc is None or proc.returncode != 0 or not (es5 / SCRIPT).is_file():
            why = "timed out" if proc is None else npm_reason(proc.stderr)
            raise SiteError(
                f"npm install mathjax@{MATHJAX_VERSION} failed ({why}); the site needs the npm "
                "registry once to serve formulas offline: check the connection or npm's "
                "registry setting and build again"
            )
        for rel in mathjax_parts(es5):
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(es5 / rel, into / rel)


def install_mathjax(cache: Path) -> Path:
    """The cached MathJax folder (its ``tex-mml-chtml.js`` at the top), installed on first use."""
    folder = cache / f"mathjax-{MATHJAX_VERSION}"
    if not (folder / SCRIPT).is_file():
        cache.mkdir(parents=True, exist_ok=True)
        atomic_replace_dir(folder, _npm_install, ours=lambda p: True)  # inside the build's own cache
    return folder
