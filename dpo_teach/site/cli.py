"""The command line: ``python -m dpo_teach.site build`` and ``python -m dpo_teach.site check``.

    python -m dpo_teach.site build                    # site/: both books, notebooks at full size
    python -m dpo_teach.site build --with-solutions   # a teacher's copy (solutions included)
    python -m dpo_teach.site build --fast --only 01 02 --out /tmp/preview   # a quick preview
    python -m dpo_teach.site check site/ --screenshots shots/   # every page in headless Chromium

The first build runs every notebook at full size (as long as running them yourself: the README's
table gives each one's time; notebooks 05 and 06 take most of it); a later build reuses each
execution whose notebook, package and size are unchanged and takes seconds. Bad
input is one ``error:`` line and exit 2; a check that finds problems lists them and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import SiteError

__all__ = ["build_parser", "main"]


def _repo() -> Path:
    from ..plotting import repo_root

    repo = repo_root()
    if repo is None or not (repo / "README.md").is_file():
        raise SiteError(
            "python -m dpo_teach.site builds the site of a clone of the repository (it reads "
            "notebooks/, docs/ and the READMEs), but this dpo_teach is an installed copy; clone "
            'the repository, pip install -e ".[site]" there, and run the command from it'
        )
    return repo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.site",
        description="The course as a static web site: an English and a Chinese book.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{build,check}")
    build = commands.add_parser("build", help="build both books (executed notebooks, offline math)")
    build.add_argument("--out", type=Path, help="the site's folder (default: site/ in the repository)")
    build.add_argument(
        "--cache", type=Path, help="executions, MathJax and Sphinx state (default: .site-cache/)"
    )
    build.add_argument(
        "--fast", action="store_true", help="run the notebooks at their small test size (previews, tests)"
    )
    solutions = build.add_mutually_exclusive_group()
    solutions.add_argument(
        "--no-solutions",
        dest="with_solutions",
        action="store_false",
        help="the students' copy: exercises without solutions (the default)",
    )
    solutions.add_argument(
        "--with-solutions",
        dest="with_solutions",
        action="store_true",
        help="a teacher's copy: the solutions notebook is a page too",
    )
    build.set_defaults(with_solutions=False)  # else the first of the pair (store_false) sets True
    build.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks, e.g. --only 01 02")
    check = commands.add_parser("check", help="open every page of a built site in headless Chromium")
    check.add_argument(
        "site", nargs="?", type=Path, help="the site's folder (default: site/ in the repository)"
    )
    check.add_argument(
        "--screenshots", type=Path, metavar="DIR", help="save the landing and a notebook page per book here"
    )
    check.add_argument("--chromium", type=Path, help="the Chromium binary (default: chromium on PATH)")
    return parser


def _build(args) -> int:
    from .build import build_site, describe

    repo = _repo()
    if args.only is not None and not all(n.isdigit() and len(n) <= 2 for n in args.only):
        raise SiteError(f"--only {' '.join(args.only)}: give notebook numbers, e.g. --only 01 02")
    out = (args.out or repo / "site").resolve()
    cache = (args.cache or repo / ".site-cache").resolve()
    report = build_site(
        repo,
        out,
        cache=cache,
        fast=args.fast,
        with_solutions=args.with_solutions,
        only=args.only,
        say=lambda line: print(line, flush=True),
    )
    print(describe(report))
    return 0


def _check(args) -> int:
    from .browser import check_site

    site = args.site if args.site is not None else _repo() / "site"
    report = check_site(site, screenshots=args.screenshots, chromium=args.chromium)
    for problem in report.problems:
        print(problem)
    books = ", ".join(f"{book} {n}" for book, n in sorted(report.pages_by_book.items()))
    print(f"{report.pages} pages checked ({books}): {len(report.problems)} problems")
    for shot in report.screenshots:
        print(f"screenshot: {shot}")
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _build(args) if args.command == "build" else _check(args)
    except SiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the previous site (if any) is unchanged", file=sys.stderr)
        return 130
