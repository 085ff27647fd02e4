"""report.html: self-contained, CSP-pinned, escaped; the inline SVG passes an allow-list."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_support import ASSISTANT, HAVE_RENDERER, HOSTILE, render, text

from threatgraph.formats.html import CSS, JS, content_security_policy, safe_svg


class _Collect(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in][-1] += data


def _parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    p.close()
    return p


def _sha(text_: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text_.encode()).digest()).decode() + "'"


def _pages() -> dict[str, str]:
    files = render(ASSISTANT, HOSTILE, formats=("html", "json"))
    return {k: text(files, k) for k in files if k.endswith(".html")} | {
        k: text(files, k) for k in files if k.endswith(".json")
    }


def test_csp_pins_the_one_style_and_the_one_script() -> None:
    pages = _pages()
    for name in ("support-assistant/report.html", "hostile/report.html"):
        p = _parse(pages[name])
        assert p.raw["script"] == [JS] and p.raw["style"] == [CSS]
        meta = [a for t, a in p.tags if t == "meta" and a.get("http-equiv")]
        assert len(meta) == 1 and meta[0]["http-equiv"] == "Content-Security-Policy"
        csp = meta[0]["content"] or ""
        assert csp == content_security_policy(CSS, JS)
        assert f"script-src {_sha(JS)}" in csp and f"style-src {_sha(CSS)}" in csp
        assert "default-src 'none'" in csp and "unsafe" not in csp


def test_nothing_is_fetched() -> None:
    for name, html in _pages().items():
        if not name.endswith(".html"):
            continue
        for tag, attrs in _parse(html).tags:
            assert "src" not in attrs, (tag, attrs)
            if tag == "link":
                raise AssertionError(f"external resource: {attrs}")
            href = attrs.get("href") or ""
            assert (
                not href
                or href.startswith(("https://", "http://", "#"))
                or (name == "index.html" and href.endswith("/report.html"))
            ), href


def test_hostile_page_has_no_injected_markup() -> None:
    html = _pages()["hostile/report.html"]
    p = _parse(html)
    assert len(p.raw["script"]) == 1 and len(p.raw["style"]) == 1
    for tag, attrs in p.tags:
        assert tag not in ("img", "iframe", "object", "embed", "form", "base"), tag
        for k, v in attrs.items():
            assert not k.startswith("on"), (tag, k, v)
            assert "javascript:" not in (v or "").lower() or k in ("data-name",), (tag, k, v)
    title = re.search(r"<title>(.*?)</title>", html, flags=re.S)
    assert title and "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in title.group(1)
    assert "</script><script>" not in html.replace(
        "</script>\n</body>", ""
    )  # the only </script> closes our own script


_SEV = ["critical", "high", "medium", "low", "info"]
_ARTICLE = re.compile(
    r'<article class="finding (\w+)" id="f-(\d+)" data-status="(\w+)" '
    r'data-elements="([^"]*)">\n<h4><a href="#f-(\d+)">(\d+)\.</a> (?:<span class="sev (\w+)">\w+'
    r'</span> <span class="status">[^<]*</span> |(\w+): )<code>([^<]+)</code>'
)


def _articles(html: str) -> list[dict[str, str]]:
    keys = ("severity", "n", "status", "elements", "href", "shown", "badge", "cap", "id")
    found = [dict(zip(keys, m, strict=True)) for m in _ARTICLE.findall(html)]
    for a in found:  # closed findings show a badge, open ones 'High: '
        cap = a.pop("cap")
        a["badge"] = a["badge"] or cap.lower()
    return found


def test_every_finding_and_element_is_on_the_page() -> None:
    pages = _pages()
    doc = json.loads(pages["support-assistant/findings.json"])
    html = pages["support-assistant/report.html"]
    p = _parse(html)
    assert len([a for t, a in p.tags if t == "article"]) == len(doc["findings"])
    arts = _articles(html)
    assert len(arts) == len(doc["findings"])
    # open findings grouped by threat, worst threat first, then the closed ones in order
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    groups: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for f in opened:
        groups.setdefault(f["threat"], []).append(f)
    worst = {t: min(_SEV.index(f["severity"]) for f in fs) for t, fs in groups.items()}
    order = [f for t in sorted(groups, key=lambda t: (worst[t], t)) for f in groups[t]]
    order += [f for f in doc["findings"] if f["status"] != "open"]
    assert [a["id"] for a in arts] == [f["id"] for f in order]
    for i, (a, f) in enumerate(zip(arts, order, strict=True), 1):
        assert a["n"] == a["href"] == a["shown"] == str(i)  # numbered 1..n down the page
        assert a["severity"] == a["badge"] == f["severity"]
        assert a["status"] == f["status"]
        assert re.fullmatch(r"n\d+( n\d+)*", a["elements"])
    buttons = [a for t, a in p.tags if t == "button" and a.get("data-el")]
    assert len(buttons) == doc["models"][0]["elements"]
    boxes = [a for t, a in p.tags if t == "input" and a.get("data-filter")]
    assert {b["value"] for b in boxes} == {
        "critical",
        "high",
        "medium",
        "low",
        "info",
        "open",
        "mitigated",
        "accepted",
        "false_positive",
    }


def test_each_threat_is_written_once_above_its_findings() -> None:
    pages = _pages()
    doc = json.loads(pages["support-assistant/findings.json"])
    html = pages["support-assistant/report.html"]
    by_id = {f["id"]: f for f in doc["findings"]}
    sections = html.split('<section class="threat" data-group="threat">\n')[1:]
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    assert len(sections) == len({f["threat"] for f in opened})
    assert html.count("<summary>About this threat</summary>") == len(sections)
    seen = 0
    for sec in sections:
        sec = sec[: sec.index("</section>")]
        head = re.match(
            r'<h3><span class="sev (\w+)">\w+</span> (.+?) <code>([\w-]+)</code> '
            r'<span class="count">(\d+) open</span></h3>',
            sec,
        )
        assert head, sec[:200]
        arts = _articles(sec)
        assert len(arts) == int(head.group(4)) > 0
        assert {by_id[a["id"]]["threat"] for a in arts} == {head.group(3)}
        assert head.group(1) == arts[0]["severity"]  # the worst comes first
        assert "<p>Likelihood " in sec and "STRIDE: " in sec
        assert '<ul class="controls">' in sec and "<em>What it means:</em>" in sec
        # one checklist line per mitigation in each finding, ticked as in findings.json
        for art in sec.split("<article ")[1:]:
            fid = _articles("<article " + art)[0]["id"]
            ticks = re.findall(r'<li class="(present|missing)"><code>([^<]+)</code> decl', art)
            assert ticks == [
                ("present" if m["present"] else "missing", m["control"])
                for m in by_id[fid]["mitigations"]
            ]
        seen += len(arts)
    assert seen == len(opened)
    rpt = next(s for s in sections if "<code>TG-RPT-001</code>" in s)
    assert "(2 of these 3 controls close the finding;" in rpt
    assert '<a href="https://genai.owasp.org/' in rpt and 'rel="noopener noreferrer"' in rpt
    assert "<code>guardrail.input_filter</code> declared on Support agent</li>" in rpt
    assert "<code>guardrail.input_filter</code> declare it on Hosted LLM</li>" in rpt
    closed = html[html.index('<section class="closed" data-group="closed">') :]
    assert "<dt>Decision</dt><dd>accepted by security@example.org until 2027-03-01: " in closed
    assert (
        "<dt>Controls present</dt><dd>Security audit logging <code>audit.logging</code>" in closed
    )


@pytest.mark.skipif(not HAVE_RENDERER, reason="no Graphviz renderer is installed")
def test_rendered_svg_is_inlined_with_clickable_element_ids() -> None:
    from threatgraph.formats.render import find_renderer

    html = _pages()["support-assistant/report.html"]
    found = find_renderer()
    assert found is not None and found.version
    assert f'<p class="kind" id="tg-renderer">Drawn by {found.description}.' in html
    assert '<div class="diagram" id="tg-svg">\n<svg' in html
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "<!--" not in html
    ids = set(re.findall(r'<g id="el_(n\d+)" class="node"', html))
    buttons = set(re.findall(r'data-el="(n\d+)"', html))
    assert ids == buttons and ids


def test_without_svg_the_page_shows_the_dot_source() -> None:
    from report_support import analyse

    from threatgraph.formats import render as render_mod
    from threatgraph.formats.reportset import render_reports

    saved = render_mod.find_renderer
    render_mod.find_renderer = lambda: None  # type: ignore[assignment]
    try:
        files, _ = render_reports(analyse(HOSTILE), __import__("pathlib").Path("/x"), ["html"])
    finally:
        render_mod.find_renderer = saved  # type: ignore[assignment]
    html = next(c for p, c in files.items() if p.name == "report.html")
    assert isinstance(html, str)
    assert 'id="tg-no-svg"' in html and "no Graphviz renderer was found" in html
    assert "<pre>digraph dfd {" in html
    assert "&lt;/script&gt;&lt;script&gt;document.title=&#39;PWNED&#39;" in html


@pytest.mark.parametrize(
    "bad",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x"><text>x</text></a></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g style="x"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<g id="a" xlink:href="javascript:x"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><s:script xmlns:s="urn:x">x</s:script></svg>',
        "<svg><g>",
    ],
)
def test_safe_svg_rejects_anything_outside_the_allow_list(bad: str) -> None:
    assert safe_svg(bad) is None


def test_safe_svg_keeps_graphviz_output_without_prolog() -> None:
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n'
        "<!-- Generated by graphviz -->\n"
        '<svg width="8pt" height="8pt" viewBox="0 0 8 8" xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink">\n<!-- n1 -->\n<g id="el_n1" class="node">'
        '<title>n1</title><text x="1" y="2">&lt;b&gt;</text></g>\n</svg>\n'
    )
    out = safe_svg(svg)
    assert out is not None and out.startswith("<svg") and "<!--" not in out
    assert "&lt;b&gt;" in out


def test_index_links_every_model() -> None:
    pages = _pages()
    index = pages["index.html"]
    assert 'href="hostile/report.html"' in index and 'href="support-assistant/report.html"' in index
    p = _parse(index)
    assert not p.raw["script"]
    csp = next(a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv"))
    assert csp == content_security_policy(CSS, None) and "script-src 'none'" in (csp or "")


def test_findings_escaping_equals_the_templates() -> None:
    """The findings part escapes as jinja2's autoescape (markupsafe) does, and writes every
    character beyond ASCII as a character reference, which reads the same."""
    import html
    import random

    from markupsafe import escape

    from threatgraph.formats.html import _h
    from threatgraph.formats.view import one_line

    rng = random.Random(11)
    for _ in range(3000):
        s = "".join(
            rng.choice("ab &<>\"';#\n\u202e\u00e9\u2192\u03a9\U0001f600")
            for _ in range(rng.randint(1, 14))
        )
        ours, theirs = _h(s), str(escape(one_line(s)))
        assert ours.isascii(), s
        assert html.unescape(ours) == html.unescape(theirs), s
        if theirs.isascii():
            assert ours == theirs, s


def test_page_is_ascii_and_reads_as_the_model_text(tmp_path: Path) -> None:
    """Names beyond ASCII reach the page as character references: the same text to a
    reader, a byte per character to store and write (a big report is megabytes)."""
    import html

    src = tmp_path / "m.yaml"
    src.write_text(
        "threatgraph: 1\nmodel: {name: 'Caf\u00e9 \u2192 \u03a9'}\n"
        "elements:\n"
        "  - {kind: actor, name: '\u00c9quipe \U0001f600'}\n"
        "  - {kind: llm, name: 'Mod\u00e8le \u00ab\u00bb'}\n"
        "flows:\n"
        "  - {from: equipe, to: modele, name: 'question \u2192 r\u00e9ponse'}\n",
        encoding="utf-8",
    )
    page = text(render(src, formats=("html",)), "cafe/report.html")
    assert page.isascii()
    shown = html.unescape(page)
    for name in ("Caf\u00e9 \u2192 \u03a9", "\u00c9quipe \U0001f600", "Mod\u00e8le \u00ab\u00bb"):
        assert name in shown


def test_style_and_script_are_ascii() -> None:
    # The page's non-ASCII text becomes character references (see html._ascii), which
    # <style> and <script> would not read as such: they must need none.
    assert CSS.isascii() and JS.isascii()
