"""The JavaScript that :mod:`dpo_teach.site.browser` runs in each page: what a reader sees, read
back as data (images, text outside code, TeX errors, links, the language switch), and the
equations that an element cuts off with no box that scrolls to the rest."""

from __future__ import annotations

__all__ = ["CLIPPED", "INSPECT"]

INSPECT = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(done => {
    i.addEventListener('load', done); i.addEventListener('error', done); setTimeout(done, 30000); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const text = document.body.cloneNode(true);
  const code = 'pre, code, script, style, textarea, mjx-container, .highlight';
  text.querySelectorAll(code).forEach(e => e.remove());
  const sw = document.querySelector('a.dpo-language-switch');
  return {
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    text: text.textContent,
    texErrors: [...document.querySelectorAll('mjx-merror')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    switchTo: sw ? sw.href : null,
  };
}"""
# Each rendered equation that an element cuts off (overflow hidden or clip) with no box between
# them that scrolls to the rest. A scroll box stands in for the equation from there up: the box
# itself must then fit. The window scrolls, so overflowing the page is not counted.
CLIPPED = """() => {
  const tex = new Map();
  for (const item of (window.MathJax && MathJax.startup && MathJax.startup.document || {}).math || []) {
    if (item.typesetRoot) tex.set(item.typesetRoot, item.math);
  }
  const cut = [];
  for (const m of document.querySelectorAll('mjx-container')) {
    let r = (m.querySelector('mjx-math') || m).getBoundingClientRect();
    if (!r.width) continue;  // not shown (a closed <details>)
    const wide = Math.round(r.width);
    for (let a = m; a && a !== document.documentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'visible') continue;
      const box = a.getBoundingClientRect();
      const left = box.left + a.clientLeft, right = left + a.clientWidth;
      if (ox === 'auto' || ox === 'scroll') { r = box; continue; }
      if (r.left < left - 1 || r.right > right + 1) {
        const source = (tex.get(m) || m.textContent).replace(/\\s+/g, ' ').trim();
        cut.push(`${source.slice(0, 60)} (${wide} px wide; ${a.tagName.toLowerCase()}` +
          `${a.className ? '.' + String(a.className).trim().split(/\\s+/).join('.') : ''}` +
          ` shows ${Math.round(right - Math.max(left, r.left))} px)`);
        break;
      }
    }
  }
  return cut;
}"""
