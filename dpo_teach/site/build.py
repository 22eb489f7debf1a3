"""One build of the site: plan, execute (or reuse), stage, Sphinx for each book, one folder.

The site is built under a temporary name beside ``--out`` and renamed into place whole
(:func:`dpo_teach.files.atomic_replace_dir`): a failed build leaves the previous site as it was,
and a folder this command did not write (no ``.dpo_teach_site`` marker) is never replaced.
Everything kept between builds lies in the cache (``.site-cache/`` by default): executed
notebooks, MathJax, each book's Sphinx folder and Sphinx's own environment.

    site/
      index.html        the two books, side by side (English, 中文)
      en/, zh/          the books (Sphinx Book Theme), each self-contained
      .nojekyll         so GitHub Pages serves the books' _static/ folders
      .dpo_teach_site   what was built (JSON): the marker that lets a later build replace it
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_replace_dir
from . import SiteError
from .execute import executed_notebook, package_fingerprint
from .mathjax import install_mathjax
from .plan import LANGS, plan_books
from .stage import stage_book

__all__ = ["MARKER", "BuildReport", "build_site", "describe", "root_page"]

MARKER = ".dpo_teach_site"
SPHINX_TIMEOUT_S = 1800
LANG_NAMES = {"en": ("English", "en"), "zh": ("中文", "zh-CN")}


@dataclass
class BuildReport:
    out: Path
    pages: dict[str, int] = field(default_factory=dict)  # book -> HTML pages of the course
    executed: dict[str, float] = field(default_factory=dict)  # notebook -> seconds it ran
    cached: list[str] = field(default_factory=list)  # notebooks whose cached execution was reused
    warnings: dict[str, int] = field(default_factory=dict)  # book -> Sphinx warnings
    seconds: float = 0.0


def root_page(books) -> str:
    """The site's front door: the two books, each named in its own language."""
    items = "\n".join(
        f'<li><a href="{lang}/index.html" hreflang="{code}" lang="{code}">{name}</a></li>'
        for lang, (name, code) in LANG_NAMES.items()
        if lang in books
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>dpo_teach: DPO, taught</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}}
ul{{list-style:none;padding:0}} li a{{display:block;font-size:1.5rem;padding:.6rem 0}}</style></head>
<body><h1>dpo_teach</h1>
<p>Direct Preference Optimization (DPO), taught through notebooks backed by a small, exact, tested library.
<span lang="zh-CN">用能动手验证的代码，把直接偏好优化（DPO）讲清楚。</span></p>
<ul>
{items}
</ul></body></html>
"""


# Both books in one process: importing MyST-NB takes seconds. Most of it was jsonschema building
# 38 grammars of rfc3987_syntax at import time (IRI formats, which nbformat's schema never uses):
# a None in sys.modules makes that optional import fail, as jsonschema allows (3-4 s less per build).
RUNNER = """import json, sys
sys.modules.setdefault("rfc3987_syntax", None)
from sphinx.cmd.build import build_main
for lang, args in json.loads(sys.argv[1]):
    print("book", lang, flush=True)
    if build_main(args):
        sys.exit(1)
"""


def _books_dir(cache: Path, lang: str, names: list[str]) -> Path:
    """Sphinx's output folder for a book, kept in the cache so a rebuild writes only changed pages;
    emptied when the book's pages changed (Sphinx never removes the page of a dropped file)."""
    import shutil

    folder = cache / "books" / lang
    record = folder / "pages.json"
    if folder.exists() and (not record.is_file() or record.read_text(encoding="utf-8") != json.dumps(names)):
        shutil.rmtree(folder)  # inside the build's own cache
    (folder / "html").mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(names), encoding="utf-8")
    return folder / "html"


def _sphinx(repo: Path, cache: Path, books) -> dict[str, int]:
    """Run Sphinx on both staged books; return each book's warning count (an error: SiteError)."""
    jobs, logs = [], {}
    for lang, book in books.items():
        logs[lang] = cache / f"sphinx-{lang}.log"
        logs[lang].unlink(missing_ok=True)
        jobs.append(
            [
                lang,
                [
                    "-b",
                    "html",
                    "-q",
                    "-d",
                    str(cache / "doctrees" / lang),
                    "-w",
                    str(logs[lang]),
                    str(cache / "stage" / lang),
                    str(_books_dir(cache, lang, book.names())),
                ],
            ]
        )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    cmd = [sys.executable, "-c", RUNNER, json.dumps(jobs)]
    try:
        proc = subprocess.run(
            cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=SPHINX_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise SiteError(f"Sphinx ran past {SPHINX_TIMEOUT_S} s; see {cache}/sphinx-*.log") from None
    if proc.returncode != 0:
        lang = (proc.stdout.split() or ["", "?"])[-1]
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SiteError(f"Sphinx failed on the {lang} book ({last}); the full log is {logs.get(lang, cache)}")
    return {
        lang: sum(
            1 for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if "WARNING" in line
        )
        if log.is_file()
        else 0
        for lang, log in logs.items()
    }


def _is_site(path: Path) -> bool:
    return (path / MARKER).is_file()


def build_site(
    repo: Path,
    out: Path,
    *,
    cache: Path,
    fast: bool = False,
    with_solutions: bool = False,
    only: list[str] | None = None,
    say=print,
) -> BuildReport:
    """Build both books of ``repo`` into ``out``; ``say`` gets one line per step."""
    start = time.monotonic()
    report = BuildReport(out=out)
    if out.exists() and not (out.is_dir() and (_is_site(out) or not any(out.iterdir()))):
        raise SiteError(
            f"{out} exists and is not a site this command built (no {MARKER} in it); "
            "choose another --out, or move it away (it is never deleted)"
        )
    books = plan_books(repo, with_solutions=with_solutions, only=only)
    mathjax = install_mathjax(cache)

    fingerprint = package_fingerprint(repo)
    notebooks = sorted({p.source for b in books.values() for p in b.pages if p.is_notebook})
    executed, failed, failed_numbers = {}, [], set()
    for source in notebooks:  # a failure stops no other notebook: what ran is cached for the next build
        say(f"{source}: ...")
        try:
            executed[source], seconds = executed_notebook(
                repo, source, fast=fast, cache=cache, fingerprint=fingerprint
            )
        except SiteError as err:
            failed.append(str(err))
            failed_numbers.add(Path(source).name[:2])
            say(f"{source}: FAILED")
            continue
        if seconds is None:
            report.cached.append(source)
            say(f"{source}: unchanged, cached execution reused")
        else:
            report.executed[source] = seconds
            say(f"{source}: ran in {seconds:.0f} s ({'fast' if fast else 'full size'})")
    if failed:
        numbers = sorted({Path(s).name[:2] for s in notebooks} - failed_numbers)
        rest = f"; the others: python -m dpo_teach.site build --only {' '.join(numbers)}" if numbers else ""
        raise SiteError(
            f"{len(failed)} of {len(notebooks)} notebooks failed, so no site was written: "
            + "; ".join(failed)
            + rest
        )

    for lang in LANGS:
        other = books["zh" if lang == "en" else "en"]
        changed = stage_book(
            repo, books[lang], other, cache / "stage" / lang, executed=executed, mathjax=mathjax, fast=fast
        )
        say(f"{lang} book: {len(books[lang].pages)} pages, {changed} staged files changed")

    report.warnings = _sphinx(repo, cache, books)
    for lang in LANGS:
        log = cache / f"sphinx-{lang}.log"
        say(f"{lang} book: HTML written ({report.warnings[lang]} Sphinx warnings: {log})")

    def build_into(tmp: Path) -> None:
        import shutil

        for lang in LANGS:
            shutil.copytree(
                cache / "books" / lang / "html", tmp / lang, ignore=shutil.ignore_patterns(".buildinfo*")
            )
            report.pages[lang] = sum(1 for p in (tmp / lang).rglob("*.html") if "_static" not in p.parts)
        (tmp / "index.html").write_text(root_page(books), encoding="utf-8")
        (tmp / ".nojekyll").write_text("", encoding="utf-8")
        record = {
            "built_by": "python -m dpo_teach.site build",
            "fast": fast,
            "with_solutions": with_solutions,
            "books": {lang: books[lang].names() for lang in LANGS},
        }
        (tmp / MARKER).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")

    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_replace_dir(out, build_into, ours=_is_site)
    except ValueError as err:
        raise SiteError(str(err)) from None
    report.seconds = time.monotonic() - start
    return report


def describe(report: BuildReport) -> str:
    """The closing lines of a build: pages, notebooks run or reused, time, where to open it."""
    pages = ", ".join(f"{LANG_NAMES[lang][0]} {n} pages" for lang, n in report.pages.items())
    ran = f"{len(report.executed)} notebooks executed, {len(report.cached)} reused from the cache"
    return f"site built in {report.seconds:.0f} s: {pages}; {ran}\nopen {report.out / 'index.html'}"
