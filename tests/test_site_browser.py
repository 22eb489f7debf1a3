"""The course site built for real and read in headless Chromium.

A reduced book keeps CI short: ``--fast --only 01`` builds the landing pages, notebook 01 (in
both languages: two executions) and the docs pages of both books (the Chinese book shows those
under its note); the full site runs the same code on every notebook, and a notebook without a
Chinese version is staged under the note in tests/test_site.py. Every page is then opened
in Chromium (``dpo_teach.site.check``) and must show no console error, every image, every equation
rendered, every internal link resolving and a language switch that lands on the same page. The
screenshots of the landing and notebook pages are saved in the test's temporary directory.

Needs npm and its registry (MathJax comes from there at build time, once per cache) and, for the
browser half, Debian's ``chromium`` (``.ci/run`` installs it); each test skips with the reason
where one lacks (``pytest -rs`` prints the reasons).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dpo_teach.site.browser import PAGE_TIMEOUT_MS, check_site, site_pages
from dpo_teach.site.execute import package_fingerprint
from dpo_teach.site.mathjax import MATHJAX_VERSION
from dpo_teach.site.stage import SWITCH_CSS

REPO = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 2400  # generous: three notebooks and two Sphinx books beside other CPU-bound tests
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)",
)
pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None,
    reason="npm is not installed: the site installs MathJax from the npm registry",
)


def build(out: Path, cache: Path) -> str:
    cmd = [
        sys.executable,
        "-m",
        "dpo_teach.site",
        "build",
        "--fast",
        "--only",
        "01",
        "--out",
        str(out),
        "--cache",
        str(cache),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0 and f"npm install mathjax@{MATHJAX_VERSION} failed" in proc.stderr:
        pytest.skip(f"MathJax could not be installed from the npm registry: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def notebook_bytes() -> list[bytes]:
    return [(REPO / "notebooks" / p / "01_toy_example.ipynb").read_bytes() for p in (".", "zh")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    fingerprint, notebooks = package_fingerprint(REPO), notebook_bytes()
    stdout = build(root / "site", root / "cache")
    return {
        "site": root / "site",
        "cache": root / "cache",
        "root": root,
        "stdout": stdout,
        "fingerprint": fingerprint,
        "notebooks": notebooks,
    }


def test_both_books_are_built_with_the_same_pages(built):
    site = built["site"]
    record = json.loads((site / ".dpo_teach_site").read_text())
    assert record["fast"] is True and record["with_solutions"] is False
    assert record["books"]["en"] == record["books"]["zh"]
    assert record["books"]["en"][:2] == ["index", "notebooks/01_toy_example"]
    pages = site_pages(site)
    en = sorted(p.removeprefix("en/") for p in pages if p.startswith("en/"))
    assert en == sorted(p.removeprefix("zh/") for p in pages if p.startswith("zh/"))
    assert "index.html" in pages and (site / ".nojekyll").is_file()
    assert "2 notebooks executed, 0 reused from the cache" in built["stdout"], built["stdout"]


def test_no_page_loads_a_script_style_or_font_from_the_network(built):
    remote = re.compile(
        r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE
    )
    for page in site_pages(built["site"]):
        assert not remote.search((built["site"] / page).read_text(encoding="utf-8")), page
    assert (built["site"] / "en" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert list((built["site"] / "zh" / "_static" / "mathjax").rglob("*.woff"))


def test_the_chinese_book_reads_the_chinese_files_and_marks_the_english_ones(built):
    zh = built["site"] / "zh"
    assert "一个小例子" in (zh / "notebooks" / "01_toy_example.html").read_text(encoding="utf-8")
    assert "本页还没有中文版" in (zh / "docs" / "family.html").read_text(encoding="utf-8")
    assert "本页还没有中文版" not in (zh / "notebooks" / "01_toy_example.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in (zh / "index.html").read_text(encoding="utf-8")


def test_links_to_notebooks_outside_the_build_keep_their_text_only(built):
    index = (built["site"] / "en" / "index.html").read_text(encoding="utf-8")
    assert 'href="notebooks/01_toy_example.html"' in index
    assert "05_gpt2_dpo" not in " ".join(re.findall(r'href="([^"]+)"', index))


def test_a_second_build_with_nothing_changed_runs_no_notebook(built):
    def changed() -> bool:  # someone edited the working tree meanwhile: the notebooks rightly run again
        return package_fingerprint(REPO) != built["fingerprint"] or notebook_bytes() != built["notebooks"]

    if changed():  # before building: a build that must run the notebooks again proves nothing here
        pytest.skip("the package or notebook 01 changed since the first build (an edit in progress)")
    stdout = build(built["site"], built["cache"])
    if changed():
        pytest.skip("the package or notebook 01 changed while the test ran, so the notebooks ran again")
    assert "0 notebooks executed, 2 reused from the cache" in stdout, stdout


@needs_chromium
def test_every_page_passes_in_chromium(built):
    shots = built["root"] / "screenshots"
    report = check_site(built["site"], screenshots=shots)
    assert report.problems == []
    assert (
        report.pages == len(site_pages(built["site"]))
        and report.pages_by_book["en"] == report.pages_by_book["zh"]
    )
    names = sorted(p.name for p in report.screenshots)
    assert names == [
        "en-index.png",
        "en-notebooks-01_toy_example.png",
        "zh-index.png",
        "zh-notebooks-01_toy_example.png",
    ]
    for shot in report.screenshots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000, shot
    print(f"\n{report.pages} pages checked; screenshots in {shots}")


@needs_chromium
def test_clicking_the_language_switch_opens_the_same_page_in_the_other_language(built):
    """From disk (file://), as a reader who opens site/index.html without a server."""
    from playwright.sync_api import sync_playwright

    url = (built["site"] / "en" / "notebooks" / "01_toy_example.html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(url)
        for lang, expected in (("zh-CN", url.replace("/en/", "/zh/")), ("en", url)):
            with page.expect_navigation():
                page.click("a.dpo-language-switch")
            assert page.url == expected
            assert page.evaluate("document.documentElement.lang") == lang
        browser.close()


def plant(site: Path, page: str, before: str, planted: str) -> None:
    path = site / page
    text = path.read_text(encoding="utf-8")
    assert before in text, f"{before!r} not in {page}"
    path.write_text(text.replace(before, planted, 1), encoding="utf-8")


@needs_chromium
def test_each_check_catches_the_defect_it_is_meant_to_catch(built, tmp_path):
    """Defects planted in two pages of a copy, each reported (the unchanged pages pass: above)."""
    site = tmp_path / "site"
    shutil.copytree(built["site"], site)
    plant(
        site,
        "en/index.html",
        "</article>",
        '<img src="figures/nowhere.png"><p>raw $$x^2$$ here</p>'
        '<script>console.error("planted")</script><a href="docs/nowhere.html">x</a>'
        '<a href="notebooks/01_toy_example.html#no-such-section">y</a>'
        '<img src="https://example.org/x.png"></article>',
    )
    plant(
        site,
        "zh/notebooks/01_toy_example.html",
        'dpo-language-switch" href="../../en/notebooks/01_toy_example.html"',
        'dpo-language-switch" href="../../en/index.html"',
    )
    os.remove(site / "zh" / "_static" / "mathjax" / "tex-mml-chtml.js")  # no MathJax: no equation renders
    pages = ["en/index.html", "zh/notebooks/01_toy_example.html"]
    problems = "\n".join(check_site(site, pages=pages).problems)
    expected = [
        "en/index.html: image did not load: figures/nowhere.png",
        "en/index.html: raw TeX in the text: ...",
        "en/index.html: console error: planted",
        "en/index.html: broken link /en/docs/nowhere.html: no such file",
        "en/index.html: broken link /en/notebooks/01_toy_example.html#no-such-section: no #no-such-section",
        "en/index.html: requested https://example.org/x.png (no page may need the network)",
        "zh/notebooks/01_toy_example.html: the language switch lands on en/index.html, "
        "not en/notebooks/01_toy_example.html",
        "zh/notebooks/01_toy_example.html: raw TeX in the text",
        "zh/notebooks/01_toy_example.html: http://127.0.0.1",  # the missing script answered 404
    ]
    for words in expected:
        assert words in problems, f"{words!r} was not reported:\n{problems}"


@needs_chromium
def test_a_wide_equation_scrolls_and_one_cut_off_is_reported(built, tmp_path):
    """The same wide equations in both books of a copy: the English book under the CSS before the fix
    (the theme's, which clips inline math), with display math's scroll taken away too, is reported;
    the Chinese book under the site's CSS is not."""
    site = tmp_path / "site"
    shutil.copytree(built["site"], site)
    wide = " + ".join(f"x_{{{i}}}" for i in range(70))  # ~1500 px: wider than a desktop column
    equations = (
        f'<p>inline <span class="math notranslate nohighlight">\\({wide}\\)</span></p>'
        f'<div class="math notranslate nohighlight">\\[{wide} = y\\]</div></article>'
    )
    pages = [f"{lang}/notebooks/01_toy_example.html" for lang in ("en", "zh")]  # pages that load MathJax
    for page in pages:
        plant(site, page, "</article>", equations)
    old = SWITCH_CSS + "div.math mjx-container { overflow: visible; }\n"
    (site / "en" / "_static" / "dpo-site.css").write_text(old, encoding="utf-8")
    problems = check_site(site, pages=pages).problems
    cut = [p for p in problems if "equation cut off" in p]
    assert cut and all(p.startswith(pages[0]) for p in cut), problems
    assert {"1280 px", "390 px"} <= {w for p in cut for w in re.findall(r"\d+ px(?= window)", p)}, cut
    assert any("x_{0} + x_{1}" in p and "span.math" in p for p in cut), cut  # inline, clipped by the theme
    assert any("div.math" in p for p in cut), cut  # display, with no scroll box between
    assert not [p for p in problems if p.startswith("zh/")], problems
