"""The Sphinx extension that links every page to the same page in the other language.

Both books hold the same page names (:mod:`dpo_teach.site.plan`), and they sit side by side in
the site (``en/``, ``zh/``), so the other language's page is ``../`` up to the site's root, then
the other book's folder and the same name. A page the other book lacks (none, by the plan) would
land on its landing page. The link is drawn by the ``language-switch.html`` component in the
article's header, which :mod:`dpo_teach.site.stage` writes into each book's templates.

Configured by ``dpo_site_switch`` in the book's ``conf.py``: ``{"folder": "zh", "label": "中文",
"lang": "zh-CN", "title": "...", "pages": [...]}``.
"""

from __future__ import annotations

__all__ = ["TEMPLATE", "switch_url", "setup"]

TEMPLATE = """{% if dpo_switch %}<a class="btn dpo-language-switch" href="{{ dpo_switch.url }}" \
hreflang="{{ dpo_switch.lang }}" lang="{{ dpo_switch.lang }}" title="{{ dpo_switch.title }}">\
<i class="fa-solid fa-language"></i> {{ dpo_switch.label }}</a>{% endif %}
"""
GENERATED = ("genindex", "search")  # pages Sphinx writes into both books


def switch_url(pagename: str, folder: str, pages: list[str]) -> str:
    """The URL, relative to the page ``pagename``, of the same page in the book in ``folder``."""
    target = pagename if pagename in pages or pagename in GENERATED else "index"
    return "../" * (pagename.count("/") + 1) + f"{folder}/{target}.html"


def _add_switch(app, pagename, templatename, context, doctree):
    config = app.config.dpo_site_switch
    if not config:
        return
    url = switch_url(pagename, config["folder"], config["pages"])
    context["dpo_switch"] = {**{k: config[k] for k in ("label", "lang", "title")}, "url": url}


def setup(app):
    app.add_config_value("dpo_site_switch", {}, "html", types=[dict])
    app.connect("html-page-context", _add_switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
