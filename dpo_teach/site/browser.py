"""Every page of a built site opened in headless Chromium, and what a reader would see checked.

The site is served from 127.0.0.1 (as any static host serves it) and every request to any other
address is refused and reported: no page may need the network. On each page:

- no console error, no JavaScript error, no file that failed to load;
- every ``<img>`` loaded (``naturalWidth > 0``, lazy images loaded first);
- every equation rendered: MathJax finished, no TeX error box, and no raw TeX (``$$``,
  ``\\frac``, ``\\(``) left in the text outside code;
- no equation cut off: one wider than its column lies in a box the reader can scroll sideways,
  in a desktop window (1280 px) and a phone's (390 px) alike;
- every link into the site resolves: the file exists and its ``#fragment`` is an id there;
- the language switch lands on the same page in the other book (``en/X.html`` <-> ``zh/X.html``).

Playwright (PyPI) drives the system's Chromium (Debian's ``chromium``); its own browser download
is never used, so the check runs where only the package registries are reachable. Scrollbars are
left visible (Playwright hides them by default), so a screenshot shows a box that scrolls as a
reader sees it.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import SiteError
from .page_scripts import CLIPPED, INSPECT

__all__ = [
    "CLIPPED",
    "CheckReport",
    "VIEWPORTS",
    "check_site",
    "find_chromium",
    "raw_tex",
    "site_pages",
    "switched",
]

PAGE_TIMEOUT_MS = 120_000  # generous: a page waits for MathJax while other processes hold the CPU
VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})  # a desktop, a phone
BOOKS = ("en", "zh")
ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
RAW_TEX = re.compile(r"\$\$|\\[()\[\]]|\\[a-zA-Z]{2,}|\$[^$\n]*[\\^_{}][^$\n]*\$")
IDS = re.compile(r'\b(?:id|name)="([^"]+)"')
@dataclass
class CheckReport:
    pages: int = 0
    pages_by_book: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def site_pages(site: Path) -> list[str]:
    """The site's HTML pages (paths from its root), less the theme's and Sphinx's own folders."""
    pages = (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return sorted(p for p in pages if not any(part.startswith(("_", ".")) for part in p.split("/")))


def switched(page: str) -> str | None:
    """Where the language switch of ``page`` must land: the same path in the other book."""
    book, _, rest = page.partition("/")
    return f"{BOOKS[1 - BOOKS.index(book)]}/{rest}" if book in BOOKS and rest else None


def raw_tex(text: str) -> str | None:
    """The first piece of unrendered TeX in a page's visible text (code removed), with context."""
    match = RAW_TEX.search(text)
    if match is None:
        return None
    return " ".join(text[max(0, match.start() - 30) : match.end() + 30].split())


def find_chromium(chromium: Path | None = None) -> str:
    found = str(chromium) if chromium else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        raise SiteError(
            "Chromium was not found: the check opens every page in headless Chromium; install it "
            "(Debian/Ubuntu: apt-get install -y chromium) or pass --chromium PATH"
        )
    return found


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".woff": "font/woff",
        ".woff2": "font/woff2",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A browser that closed a connection early (a favicon, a page already left) is no problem
        of the site; the default prints a traceback for each one. Other errors are printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Site:
    """The site's files: which exist, and the ids each HTML page holds (for ``#fragment`` links)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.ids: dict[Path, set[str]] = {}

    def problem(self, path: str, fragment: str) -> str | None:
        target = (self.root / unquote(path).lstrip("/")).resolve()
        if path.endswith("/"):
            target = target / "index.html"
        if not target.is_relative_to(self.root) or not target.is_file():
            return "no such file"
        if fragment and target.suffix == ".html":
            if target not in self.ids:
                text = target.read_text(encoding="utf-8", errors="replace")
                self.ids[target] = {html.unescape(i) for i in IDS.findall(text)}
            if unquote(fragment) not in self.ids[target]:
                return f"no #{unquote(fragment)} on that page"
        return None


def _check_page(page, url: str, name: str, site: _Site, origin: str) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: m.type == "error" and seen.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: seen.append(f"JavaScript error: {e}"))
    page.on("response", lambda r: r.status >= 400 and seen.append(f"{r.url} answered {r.status}"))
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    got = page.evaluate(INSPECT)
    problems = list(seen)
    problems += [f"image did not load: {src}" for src in got["broken"]]
    problems += [f"MathJax could not render: {err}" for err in got["texErrors"]]
    if (tex := raw_tex(got["text"])) is not None:
        problems.append(f"raw TeX in the text: ...{tex}...")
    for viewport in VIEWPORTS:
        if viewport != VIEWPORTS[0]:
            page.set_viewport_size(viewport)
        problems += [
            f"equation cut off in a {viewport['width']} px window, no way to scroll to the rest: {cut}"
            for cut in page.evaluate(CLIPPED)
        ]
    page.set_viewport_size(VIEWPORTS[0])
    for link in sorted(set(got["links"])):
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}" == origin and (why := site.problem(parts.path, parts.fragment)):
            problems.append(
                f"broken link {parts.path}{'#' + parts.fragment if parts.fragment else ''}: {why}"
            )
    expected = switched(name)
    if expected is not None:
        landed = urlsplit(got["switchTo"] or "").path.lstrip("/")
        if got["switchTo"] is None:
            problems.append("no language switch on the page")
        elif landed != expected or site.problem(landed, ""):
            problems.append(f"the language switch lands on {landed or '?'}, not {expected}")
    return problems


def _screenshot_pages(pages: list[str]) -> list[str]:
    chosen = []
    for book in BOOKS:
        notebooks = [p for p in pages if p.startswith(f"{book}/notebooks/")]
        preferred = [p for p in notebooks if "/01_" in p] or notebooks
        chosen += [p for p in (f"{book}/index.html", preferred[0] if preferred else None) if p in pages]
    return chosen


def check_site(
    site: Path,
    *,
    screenshots: Path | None = None,
    chromium: Path | None = None,
    pages: list[str] | None = None,
) -> CheckReport:
    """Open every page of the built ``site`` (or only ``pages``) in headless Chromium; the report
    lists each problem as ``page: what``. ``screenshots``: save the landing page and a notebook page
    of each book."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise SiteError(
            f"{site} holds no built site (no index.html); build one with python -m dpo_teach.site build"
        )
    executable = find_chromium(chromium)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SiteError(
            'playwright is not installed: pip install -e ".[site]" (it drives the system Chromium)'
        ) from None
    pages = site_pages(site) if pages is None else pages
    report = CheckReport(
        pages=len(pages), pages_by_book={b: sum(p.startswith(b + "/") for p in pages) for b in BOOKS}
    )
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    files = _Site(site)
    shots = _screenshot_pages(pages) if screenshots else []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable,
                headless=True,
                args=ARGS,
                ignore_default_args=["--hide-scrollbars"],
            )
            context = browser.new_context(viewport=VIEWPORTS[0])
            outside: list[str] = []

            def only_the_site(route):
                if route.request.url.startswith(origin + "/"):
                    return route.continue_()
                outside.append(route.request.url)
                return route.abort()

            context.route("**/*", only_the_site)
            for name in pages:
                page = context.new_page()
                outside.clear()
                try:
                    problems = _check_page(page, f"{origin}/{name}", name, files, origin)
                except PlaywrightError as err:
                    problems = [f"could not be opened: {str(err).splitlines()[0]}"]
                problems += [f"requested {url} (no page may need the network)" for url in outside]
                report.problems += [f"{name}: {problem}" for problem in problems]
                if name in shots:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    path = screenshots / (name.replace("/", "-").removesuffix(".html") + ".png")
                    page.screenshot(path=str(path))
                    report.screenshots.append(path)
                page.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return report
