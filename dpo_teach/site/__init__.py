"""``python -m dpo_teach.site build``: the course as a static site, an English and a Chinese book.

The notebooks are committed without outputs; this builds the web pages a reader reads instead,
with every figure, number and table in them: Sphinx, MyST-NB and the Sphinx Book Theme (why
those, how to publish the site: docs/site.md). The files, in the order a build meets them:

- ``plan``: which pages each book holds (landing page, notebooks, docs) and where each comes from;
- ``execute``: the notebooks run top to bottom, each execution cached under a content hash;
- ``links``: links between the repository's files turned into links between the books' pages;
- ``cjk``: Chinese Markdown's wrapped lines joined (no stray space between two characters);
- ``stage``: each book's Sphinx source folder, written from the plan (only what changed);
- ``mathjax``: MathJax from the npm registry, served by the site itself (no CDN);
- ``language_switch``: the Sphinx extension that puts the other language's page on every page;
- ``zh_search``: the Sphinx extension that mends the Chinese book's search (a Sphinx 9.0 bug);
- ``build``: Sphinx for each book, the root page, the output folder replaced whole;
- ``browser``: every page opened in headless Chromium and checked (``python -m dpo_teach.site check``);
- ``page_scripts``: the JavaScript the browser check runs in each page;
- ``cli``: the command line.
"""

from __future__ import annotations

__all__ = ["SiteError"]


class SiteError(RuntimeError):
    """Why the site could not be built or checked (printed as one ``error:`` line, exit 2)."""
