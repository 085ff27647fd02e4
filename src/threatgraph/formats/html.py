"""report.html: one self-contained page (inline SVG, CSS and JS; nothing fetched).

Open findings are grouped by threat (rule), worst first: each threat's description, controls
and references once, then its findings (``<article id="f-<n>">``) with their own checklists;
mitigated, accepted and false-positive findings follow. Readers filter findings by severity
and status and click an element (in the diagram or in the element list) to see its findings;
a threat's section hides when none of its findings is shown. A fragment selects too:
``report.html#el=n3&sev=high``.

Safety:
- the page is rendered by jinja2 with autoescape on, except the findings and the element
  list, which are assembled in Python for speed with :func:`_h` (markupsafe's escaping,
  applied once per distinct string) on every piece of model or library text; model text only
  ever reaches the page as escaped text or attribute values, and the script reads it back
  only through ``textContent``/``getAttribute`` (no ``innerHTML``);
- a Content-Security-Policy ``<meta>`` allows nothing but this page's own style and script,
  pinned by their SHA-256 hashes: no other script can run even if escaping failed somewhere,
  and nothing can be fetched (``default-src 'none'``);
- the SVG comes from Graphviz, which escapes labels itself; before inlining it is parsed and
  checked against an allow-list of SVG elements and attributes (no script, no event
  handlers, no links, no foreign content). An SVG that fails the check is not inlined.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

import jinja2
from markupsafe import Markup

from threatgraph.engine.findings import Finding
from threatgraph.engine.rules import SEVERITIES, Rule
from threatgraph.formats.base import IndexEntry, ReportFormat, ReportInput
from threatgraph.formats.render import svg_for_html
from threatgraph.formats.view import (
    FindingPieces,
    ModelView,
    decision_text,
    one_line,
    resolve_reference,
)
from threatgraph.version import __version__

CSS = """\
:root{--fg:#111827;--mute:#4b5563;--line:#d1d5db;--bg:#ffffff;--soft:#f3f4f6;
--critical:#7f1d1d;--high:#dc2626;--medium:#f59e0b;--low:#fde68a;--info:#bfdbfe}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header,main{max-width:1400px;margin:0 auto;padding:0 20px}
header{padding-top:16px;border-bottom:1px solid var(--line)}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:0}
.meta{color:var(--mute);margin:4px 0 12px;padding:0;list-style:none}
.meta li{display:inline;margin-right:16px}
.verdict{font-weight:600}.verdict.fail{color:#b91c1c}.verdict.pass{color:#15803d}
table{border-collapse:collapse;margin:4px 16px 8px 0;display:inline-table;vertical-align:top}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left}
td.n{text-align:right}
.diagram{overflow:auto;border:1px solid var(--line);border-radius:6px;padding:8px;
max-height:80vh;background:#fff}
.diagram svg{max-width:100%;height:auto}
.diagram.actual svg{max-width:none}
.diagram g.node{cursor:pointer}
.diagram g.node.selected polygon,.diagram g.node.selected ellipse,
.diagram g.node.selected path{stroke:#2563eb;stroke-width:4px}
.note{background:#fff7ed;border:1px solid #fdba74;padding:8px 12px;border-radius:6px}
pre{background:var(--soft);padding:8px;overflow:auto;max-height:40vh}
.filters{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
fieldset{border:1px solid var(--line);border-radius:6px;padding:4px 10px}
fieldset label{margin-right:10px;white-space:nowrap}
.cols{display:grid;grid-template-columns:minmax(220px,320px) 1fr;gap:16px}
@media (max-width:800px){.cols{grid-template-columns:1fr}}
.elements{list-style:none;margin:0;padding:0}
.elements button{display:block;width:100%;text-align:left;background:var(--soft);
border:1px solid var(--line);border-radius:4px;margin:0 0 4px;padding:4px 8px;font:inherit;
cursor:pointer;color:inherit}
.elements button.selected{outline:2px solid #2563eb;background:#eff6ff}
.kind,.trust{color:var(--mute);font-size:12px}
.sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
border:1px solid rgba(0,0,0,.2)}
.sev.critical{background:var(--critical);color:#fff}.sev.high{background:var(--high);color:#fff}
.sev.medium{background:var(--medium)}.sev.low{background:var(--low)}
.sev.info{background:var(--info)}
.status{font-size:12px;border:1px solid var(--line);border-radius:10px;padding:0 8px}
.finding{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:8px 12px;
margin:0 0 10px}
.finding.critical{border-left-color:var(--critical)}.finding.high{border-left-color:var(--high)}
.finding.medium{border-left-color:var(--medium)}.finding.low{border-left-color:var(--low)}
.finding.info{border-left-color:var(--info)}
.threat{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:0 0 14px}
.threat>h3{margin:0 0 4px}.threat>p{margin:4px 0}
.count{color:var(--mute);font-size:13px;font-weight:400}
.controls{margin:4px 0 10px;padding-left:20px}.controls li{margin:2px 0}
h4{font-size:14px;margin:0}h4 a{color:inherit}
.finding dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
.finding dt{color:var(--mute)}.finding dd{margin:0}
.checklist{list-style:none;padding:0;margin:4px 0}
.checklist li{margin:3px 0;padding-left:22px;position:relative}
.checklist li::before{position:absolute;left:0;font-weight:700}
.checklist li.present::before{content:"\\2714";color:#15803d}
.checklist li.missing::before{content:"\\2718";color:#b91c1c}
.selection{background:#eff6ff;border:1px solid #93c5fd;border-radius:6px;padding:6px 10px;
margin:0 0 10px}
.selection button{font:inherit;margin-left:8px}
code{background:var(--soft);padding:0 3px;border-radius:3px}
footer{max-width:1400px;margin:24px auto;padding:8px 20px;color:var(--mute);
border-top:1px solid var(--line)}
[hidden]{display:none!important}
"""

JS = """\
(function () {
  "use strict";
  var doc = document;
  var all = function (sel, root) {
    return Array.prototype.slice.call((root || doc).querySelectorAll(sel));
  };
  var findings = all("article.finding");
  var groups = all("[data-group]");
  var sevBoxes = all("input[data-filter='sev']");
  var severities = sevBoxes.map(function (b) { return b.value; });
  var statusBoxes = all("input[data-filter='status']");
  var buttons = all("button[data-el]");
  var nodes = all(".diagram g.node").filter(function (n) {
    return /^el_n[0-9]+$/.test(n.id);
  });
  var selected = null;

  function checked(boxes) {
    var out = {};
    boxes.forEach(function (b) { if (b.checked) { out[b.value] = true; } });
    return out;
  }

  function apply() {
    var sev = checked(sevBoxes), st = checked(statusBoxes), shown = 0;
    findings.forEach(function (f) {
      var els = (f.getAttribute("data-elements") || "").split(" ");
      // the severity is the article's class: "finding high"
      var ok = severities.some(function (s) {
          return sev[s] === true && f.classList.contains(s);
        }) &&
        st[f.getAttribute("data-status")] === true &&
        (selected === null || els.indexOf(selected) >= 0);
      f.hidden = !ok;
      if (ok) { shown += 1; }
    });
    groups.forEach(function (g) {
      g.hidden = g.querySelector("article.finding:not([hidden])") === null;
    });
    doc.getElementById("tg-shown").textContent = String(shown);
    var panel = doc.getElementById("tg-selection");
    var name = doc.getElementById("tg-selection-name");
    panel.hidden = selected === null;
    name.textContent = "";
    buttons.forEach(function (b) {
      var on = b.getAttribute("data-el") === selected;
      b.classList.toggle("selected", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) { name.textContent = b.getAttribute("data-name"); }
    });
    nodes.forEach(function (n) {
      n.classList.toggle("selected", n.id === "el_" + selected);
    });
  }

  function select(sid) {
    selected = (sid === selected) ? null : sid;
    apply();
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () { select(b.getAttribute("data-el")); });
  });
  nodes.forEach(function (n) {
    var sid = n.id.slice(3);
    n.setAttribute("tabindex", "0");
    n.setAttribute("role", "button");
    n.addEventListener("click", function () { select(sid); });
    n.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(sid); }
    });
  });
  sevBoxes.concat(statusBoxes).forEach(function (b) {
    b.addEventListener("change", apply);
  });
  doc.getElementById("tg-clear").addEventListener("click", function () { select(null); });
  var zoom = doc.getElementById("tg-zoom"), box = doc.getElementById("tg-svg");
  if (zoom && box) {
    zoom.hidden = false;
    zoom.addEventListener("click", function () {
      var actual = box.classList.toggle("actual");
      zoom.textContent = actual ? "Fit to width" : "Actual size";
    });
  }

  function setBoxes(boxes, values) {
    boxes.forEach(function (b) { b.checked = values.indexOf(b.value) >= 0; });
  }
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("="), key = kv.slice(0, i), val = kv.slice(i + 1);
    if (i < 0) { return; }
    if (key === "el" && /^n[0-9]+$/.test(val)) { selected = val; }
    if (key === "sev") { setBoxes(sevBoxes, val.split(",")); }
    if (key === "status") { setBoxes(statusBoxes, val.split(",")); }
  });
  apply();
  doc.documentElement.setAttribute("data-tg-ready", "1");
}());
"""

TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="threatgraph {{ version }}">
<title>Threat model: {{ name }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>Threat model: {{ name }}</h1>
{% if description %}<p>{{ description }}</p>{% endif %}
<ul class="meta">
<li>Model <code>{{ model_id }}</code> in {{ source }}</li>
{% if owner %}<li>Owner {{ owner }}</li>{% endif %}
<li>As of {{ as_of }}</li>
<li>threatgraph {{ version }}, library {{ library_version }}, {{ rules }} active rules</li>
</ul>
<p class="verdict {{ 'fail' if failing else 'pass' }}">{{ verdict }}</p>
</header>
<main>
<section id="tg-review">
<h2>Review summary</h2>
{{ review_html }}</section>
<section id="tg-summary">
<h2>Summary</h2>
<table><thead><tr><th>Status</th><th>Findings</th></tr></thead><tbody>
{% for status, n in by_status %}<tr><td>{{ status }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}</tbody></table>
<table><thead><tr><th>Open findings by severity</th><th>Count</th></tr></thead><tbody>
{% for sev, n in by_severity %}<tr><td><span class="sev {{ sev }}">{{ sev }}</span></td>\
<td class="n">{{ n }}</td></tr>
{% endfor %}</tbody></table>
{% if disabled %}<p>Disabled rules: {% for rid, why in disabled %}<code>{{ rid }}</code> \
({{ why }}){% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
</section>
<section id="tg-diagram">
<h2>Data-flow diagram</h2>
{% if svg %}<p><button type="button" id="tg-zoom" hidden>Actual size</button></p>
<div class="diagram" id="tg-svg">
{{ svg }}</div>
<p class="kind">Click an element to see its findings. Shapes give the element kind, dashed \
boxes are trust boundaries, filled elements have open findings (colour of the worst severity, \
count after !), red dashed flows carry sensitive data unencrypted, dotted lines join a vendor \
to what it hosts.</p>
{% if renderer %}<p class="kind" id="tg-renderer">Drawn by {{ renderer }}.{% if pure %} \
threatgraph uses Graphviz's own dot instead when it is installed.{% endif %}</p>{% endif %}
{% else %}<p class="note" id="tg-no-svg">{{ no_svg }}</p>
<details><summary>Graphviz DOT source of the diagram</summary><pre>{{ dot }}</pre></details>
{% endif %}
</section>
<section id="tg-explore">
<h2>Findings</h2>
<div class="filters">
<fieldset><legend>Severity</legend>
{% for sev in severities %}<label><input type="checkbox" data-filter="sev" value="{{ sev }}" \
checked> {{ sev }}</label>
{% endfor %}</fieldset>
<fieldset><legend>Status</legend>
{% for st, text in statuses %}<label><input type="checkbox" data-filter="status" \
value="{{ st }}" checked> {{ text }}</label>
{% endfor %}</fieldset>
<p>Showing <span id="tg-shown">{{ total }}</span> of {{ total }} findings.</p>
</div>
<div class="cols">
<nav aria-label="Elements">
<h3>Elements</h3>
<ul class="elements" id="tg-elements">
{{ elements_html }}</ul>
</nav>
<div>
<div class="selection" id="tg-selection" hidden>Findings on <strong id="tg-selection-name">\
</strong><button type="button" id="tg-clear">Show all</button></div>
{{ findings_html }}{% if not total %}<p>No findings.</p>{% endif %}
</div>
</div>
</section>
{% if notices %}<section id="tg-notices"><h2>Notices</h2><ul>
{% for n in notices %}<li>{{ n }}</li>{% endfor %}</ul></section>{% endif %}
</main>
<footer>Generated by threatgraph {{ version }}. This page loads nothing from the network.</footer>
<script>{{ js }}</script>
</body>
</html>
"""

INDEX_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Threat models</title>
<style>{{ css }}</style>
</head>
<body>
<header><h1>Threat models</h1>
<ul class="meta"><li>As of {{ as_of }}</li><li>threatgraph {{ version }}</li></ul>
<p class="verdict {{ 'fail' if failing else 'pass' }}">{{ verdict }}</p></header>
<main>
<table><thead><tr><th>Model</th><th>File</th>{% for sev in severities %}<th>{{ sev }}</th>\
{% endfor %}<th>Mitigated</th><th>Accepted</th><th>Result</th></tr></thead><tbody>
{% for m in models %}<tr><td><a href="{{ m.dir|urlencode }}/report.html">{{ m.name }}</a></td>\
<td>{{ m.file }}</td>{% for n in m.open %}<td class="n">{{ n }}</td>{% endfor %}\
<td class="n">{{ m.mitigated }}</td><td class="n">{{ m.accepted }}</td><td>{{ m.result }}</td></tr>
{% endfor %}</tbody></table>
</main>
</body>
</html>
"""

#: SVG elements Graphviz emits for our diagrams; anything else keeps the SVG out of the page.
SVG_TAGS = frozenset(
    {
        "svg",
        "g",
        "title",
        "desc",
        "path",
        "polygon",
        "polyline",
        "ellipse",
        "circle",
        "rect",
        "line",
        "text",
        "tspan",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
    }
)
#: Attributes allowed on those elements (no event handlers, links, styles or references out).
SVG_ATTRS = frozenset(
    {
        "id",
        "class",
        "width",
        "height",
        "viewBox",
        "transform",
        "fill",
        "stroke",
        "stroke-width",
        "stroke-dasharray",
        "stroke-opacity",
        "fill-opacity",
        "points",
        "d",
        "cx",
        "cy",
        "rx",
        "ry",
        "r",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "text-anchor",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "opacity",
        "preserveAspectRatio",
        "version",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "textLength",
        "lengthAdjust",
        "baseline-shift",
    }
)


#: SVG_TAGS as the parser names them (with the SVG namespace).
_SVG_TAGS_NS = frozenset(f"{{http://www.w3.org/2000/svg}}{t}" for t in SVG_TAGS)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


#: ``xml:space="preserve"``, which graphviz-pure puts on every text: whitespace handling only.
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def safe_svg(svg: str) -> str | None:
    """The SVG ready to inline, or None when it holds anything outside the allow-list."""
    body = svg_for_html(svg)
    try:
        root = ET.fromstring(body)  # noqa: S314 - our own renderer's output, no DTD/entities
    except ET.ParseError:
        return None
    for node in root.iter():
        # Graphviz's tags all come in the SVG namespace and its attributes without one: the
        # set lookups settle nearly every node of a big diagram, the rest take the long way.
        tag = node.tag
        if tag not in _SVG_TAGS_NS and _local(str(tag)) not in SVG_TAGS:
            return None
        attrib = node.attrib
        if attrib.keys() <= SVG_ATTRS:
            continue
        for attr in attrib:
            if (
                _local(attr) not in SVG_ATTRS
                and attr != _XML_SPACE
                and not attr.startswith("{http://www.w3.org/2000/xmlns")
            ):
                return None
    return body


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(css: str, js: str | None) -> str:
    """Allow only this page's own style and script (by hash); fetch nothing."""
    script = _sha256(js) if js is not None else "'none'"
    return (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {script}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


class _Environment(jinja2.Environment):
    """Looks keys up before attributes on plain dicts.

    The page data are dicts; jinja tries ``getattr`` first and only falls back to the key
    after an AttributeError, which costs more than the rest of the rendering for a model
    with thousands of findings. Same results, since the dicts' keys never name methods.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_ENV = _Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@functools.cache
def _template(name: str) -> jinja2.Template:
    """The page or the index template, compiled on first use (index.html is only written
    for several models; compiling a template costs more than a small report)."""
    return _ENV.from_string(TEMPLATE if name == "page" else INDEX_TEMPLATE)


#: HTML escaping of model text, the same as markupsafe's (and so jinja2's autoescape): ``&``
#: first, then ``< > " '``, so the result is safe in text and in quoted attribute values.
_HTML_REPLACE: tuple[tuple[str, str], ...] = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&#34;"),
    ("'", "&#39;"),
)


def _h(text: str) -> str:
    """Model text on one line, HTML-escaped (text and attribute values).

    The findings part of the page is written here rather than by jinja2: per-item template
    overhead and one markupsafe call per value cost more than everything else for a model
    with thousands of findings.
    """
    t = one_line(text)
    for c, r in _HTML_REPLACE:
        if c in t:
            t = t.replace(c, r)
    return _ascii(t)


def _ascii(text: str) -> str:
    """HTML text with every non-ASCII character as a character reference (``&#8594;``).

    The page reads the same; an all-ASCII page is stored, joined and encoded a byte per
    character instead of two or four (megabytes for a large model).
    """
    return text if text.isascii() else text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _threat(view: ModelView, rule: Rule, fs: list[Finding]) -> str:
    """The part every open finding of one rule shares, written once at the top of its group."""
    first = fs[0]
    sev = first.severity
    out = [
        f'<section class="threat" data-group="threat">\n<h3><span class="sev {sev}">{sev}</span> '
        f'{_h(rule.title)} <code>{_h(rule.id)}</code> <span class="count">{len(fs)} open'
        f"</span></h3>\n<p>Likelihood {_h(rule.likelihood)} &middot; STRIDE: "
        + ", ".join(_h(x.replace("_", " ")) for x in rule.stride)
        + "</p>\n<details><summary>About this threat</summary>"
        f"<p>{_h(rule.description)}</p>\n<p><em>Known false positives:</em> "
        f"{_h(rule.false_positives)}</p></details>\n"
        f"<p>Mitigations ({view.mitigation_rule(first)}; each finding below has its own "
        'checklist):</p>\n<ul class="controls">\n'
    ]
    for m in rule.mitigations:
        group = f" (group <em>{_h(m.group)}</em>)" if m.group else ""
        why = f": {_h(m.why)}" if m.why else ""
        what = view.control_description(m.control)
        evidence = view.control_evidence(m.control)
        out.append(
            f"<li><strong>{_h(view.control_title(m.control))}</strong> "
            f"<code>{_h(m.control)}</code>{group}{why}"
            + (f" <em>What it means:</em> {_h(what)}" if what else "")
            + (f" <em>Evidence to show:</em> {_h(evidence)}" if evidence else "")
            + "</li>\n"
        )
    out.append("</ul>\n")
    refs = [resolve_reference(r, view.library.references) for r in rule.references]
    if refs:
        links = [
            f'<a href="{_h(r.url)}" rel="noopener noreferrer">{_h(r.text)}</a>'
            if r.url
            else _h(r.text)
            for r in refs
        ]
        out.append("<p>References: " + " &middot; ".join(links) + "</p>\n")
    return "".join(out)


class _Findings(FindingPieces):
    """Writes the finding articles, memoising the pieces that recur across findings."""

    def __init__(self, view: ModelView) -> None:
        super().__init__(view)
        self.sids: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}

    def where_text(self, name: str, kind: str, location: str) -> str:
        """'<dt>Where</dt><dd>name &laquo;kind&raquo; at <code>file:line</code></dd>'."""
        return (
            f"<dt>Where</dt><dd>{_h(name)} &laquo;{_h(kind)}&raquo; at "
            f"<code>{_h(location)}</code></dd>"
        )

    def route_text(self, label: str, text: str) -> str:
        """'<dt>Path</dt><dd>A → B</dd>'."""
        return f"<dt>{label}</dt><dd>{_h(text)}</dd>"

    def head_text(self, control: str, present: bool) -> str:
        """The checklist item's opening, with its class and the control id."""
        if present:
            return f'<li class="present"><code>{_h(control)}</code> declared on '
        return f'<li class="missing"><code>{_h(control)}</code> declare it on '

    def place_text(self, where: str) -> str:
        """Where the control is (to be) declared, and the end of the checklist item."""
        return _h(where) + "</li>"

    def _article(self, n: int, f: Finding) -> str:
        """The opening tag: what the page's filters read (severity, status, elements).

        Severity and status are the engine's fixed words (validated literals), the element
        ids are the view's generated ``n<i>``: nothing here comes from model text.
        """
        key = (f.element, f.elements, f.path)
        sids = self.sids.get(key)
        if sids is None:
            sids = self.sids[key] = " ".join(self.view.finding_sids(f))
        return (
            f'<article class="finding {f.severity}" id="f-{n}" data-status="{f.status}" '
            f'data-elements="{sids}">\n'
        )

    def opened(self, n: int, fs: list[Finding]) -> list[str]:
        """Open findings numbered from n+1: where, why, path or flow, notes, own checklist."""
        baselined, pieces = self.view.baselined, self.pieces
        out = []
        for f in fs:
            n += 1
            where, route, items = pieces(f)
            status = ' <span class="status">open (baselined)</span>' if baselined(f) else ""
            notes = "".join([f"<dt>Note</dt><dd>{_h(x)}</dd>" for x in f.notes]) if f.notes else ""
            if f.decision is not None:  # an acceptance that expired: the finding is open again
                notes += f"<dt>Decision</dt><dd>{_h(decision_text(f.decision))}</dd>"
            out.append(
                f'{self._article(n, f)}<h4><a href="#f-{n}">{n}.</a> {_CAP[f.severity]}: '
                f"<code>{_h(f.id)}</code>{status}</h4>\n<dl>{where}"
                f"<dt>Why it applies</dt><dd>{_h(f.explanation)}</dd>{route}{notes}</dl>\n"
                f'<ul class="checklist">{items}</ul>\n</article>\n'
            )
        return out

    def closed(self, n: int, f: Finding) -> str:
        """A mitigated, accepted or false-positive finding: what it is and why it is closed."""
        v = self.view
        if f.decision is not None:
            why = f"<dt>Decision</dt><dd>{_h(decision_text(f.decision))}</dd>"
        else:
            present = "; ".join(
                f"{_h(v.control_title(c.control))} <code>{_h(c.control)}</code> on {_h(where)}"
                for c, where in zip(f.checklist, v.checklist_where(f), strict=True)
                if c.present
            )
            why = f"<dt>Controls present</dt><dd>{present}</dd>"
        status = _h(_status_text(f))
        return (
            f'{self._article(n, f)}<h4><a href="#f-{n}">{n}.</a> <span class="sev '
            f'{f.severity}">{f.severity}</span> <span class="status">{status}</span> '
            f"<code>{_h(f.id)}</code></h4>\n<dl><dt>Threat</dt><dd>{_h(f.rule.title)} "
            f"<code>{_h(f.rule.id)}</code></dd>{self._where(f)}{why}</dl>\n</article>\n"
        )


_CAP = {s: s.capitalize() for s in SEVERITIES}


def _status_text(f: Finding) -> str:
    if f.status == "accepted" and f.decision is not None and f.decision.expires:
        return f"accepted until {f.decision.expires.isoformat()}"
    return f.status.replace("_", " ")


#: Rows of the review summary's table of open findings: it must fit one screen.
REVIEW_ROWS = 15


def _effect(closes: int, missing: int) -> str:
    """What declaring a control would do to the model's open findings, in words."""
    if closes:
        return f"closes {closes} open finding{'s' if closes != 1 else ''}"
    return f"part of the fix for {missing} open finding{'s' if missing != 1 else ''}"


def _review_html(view: ModelView) -> str:
    """The review summary (as report.md's): open findings by severity with their most
    effective missing control, the controls that close the most findings, the elements
    that carry most risk. Model text escaped by :func:`_h`."""
    opened = view.open_findings()
    if not opened:
        return "<p>No open findings.</p>\n"
    s = view.counts()["open_by_severity"]
    by_sev = ", ".join(f"{n} {sev}" for sev, n in s.items() if n)
    out = [
        f"<p><strong>{len(opened)} open finding{'s' if len(opened) != 1 else ''}:</strong> "
        f"{by_sev}.</p>\n"
    ]
    impact = view.control_impact()
    out.append(
        "<table><thead><tr><th>Severity</th><th>Finding</th>"
        "<th>Most effective missing control</th></tr></thead><tbody>\n"
    )
    for f in opened[:REVIEW_ROWS]:
        best = view.best_control(f)
        fix = (
            f"<code>{_h(best)}</code> {_h(view.control_title(best))} ({_effect(*impact[best])})"
            if best is not None
            else "none missing"
        )
        out.append(
            f'<tr><td><span class="sev {f.severity}">{f.severity}</span></td>'
            f"<td><code>{_h(f.rule.id)}</code> {_h(f.rule.title)} ({_h(view.name(f.element))})"
            f"</td><td>{fix}</td></tr>\n"
        )
    if len(opened) > REVIEW_ROWS:
        more = len(opened) - REVIEW_ROWS
        out.append(f'<tr><td></td><td colspan="2">{more} more under Findings below</td></tr>\n')
    out.append("</tbody></table>\n")
    top = view.top_controls()
    if top:
        out.append("<p><strong>Controls that close the most open findings:</strong></p>\n<ol>\n")
        out += [
            f"<li><code>{_h(c)}</code> {_h(view.control_title(c))}: closes {closes}, "
            f"missing from {missing}</li>\n"
            for c, closes, missing in top
        ]
        out.append("</ol>\n")
    risky = view.risk_elements()
    if risky:
        items = "; ".join(
            f"{_h(view.name(e))} ({_h(view.kind_label(e))}: "
            + ", ".join(f"{n} {sev}" for sev, n in counts.items())
            + ")"
            for e, counts in risky
        )
        out.append(f"<p><strong>Elements that carry most risk:</strong> {items}</p>\n")
    out.append(
        '<p class="kind">The most effective missing control of a finding is the one of its '
        "missing controls that would close the most open findings of this model on its own "
        "(then the one missing from the most, then the first by id). The full checklists "
        "follow.</p>\n"
    )
    return "".join(out)


def _elements_html(view: ModelView) -> str:
    """The element list: one button per element (the page's script selects by ``data-el``)."""
    out = []
    for el in view.elements:
        name = _h(el.name)
        kind = f"&laquo;{_h(view.kind_label(el.id))}&raquo; &middot; {view.trust(el.id).value}"
        opened = view.open_by_element.get(el.id)
        # findings are sorted worst first, so an element's first open finding is its worst
        badge = (
            f' <span class="sev {opened[0].severity}">{len(opened)} open</span>' if opened else ""
        )
        out.append(
            f'<li><button type="button" data-el="{view.element_sid[el.id]}" data-name="{name}" '
            f'aria-pressed="false">{name} <span class="kind">{kind}</span>{badge}</button></li>\n'
        )
    return "".join(out)


def _findings_html(view: ModelView) -> str:
    """Open findings grouped by threat (worst first), then the closed ones, as one string.

    Every piece of model or library text goes through :func:`_h`; the rest is this module's
    own markup, severities, statuses and generated ids.
    """
    out: list[str] = []
    writer = _Findings(view)
    n = 0
    for rule, fs in view.open_by_rule():
        out.append(_threat(view, rule, fs))
        out += writer.opened(n, fs)
        out.append("</section>\n")
        n += len(fs)
    closed = view.closed_findings()
    if closed:
        out.append(
            '<section class="closed" data-group="closed">\n'
            f"<h3>Mitigated and accepted findings ({len(closed)})</h3>\n"
        )
        for f in closed:
            n += 1
            out.append(writer.closed(n, f))
        out.append("</section>\n")
    return "".join(out)


def render_html(inp: ReportInput) -> str:
    """The whole report.html text."""
    view = inp.view
    m = view.graph.model.model
    s = view.counts()
    failing = view.failing()
    verdict = (
        f"FAIL: {len(failing)} open finding{'s' if len(failing) != 1 else ''} at or above "
        f"'{view.gate}'."
        if failing
        else f"PASS: no open findings at or above '{view.gate}'."
    )
    svg = safe_svg(inp.diagrams.svg) if inp.diagrams.svg is not None else None
    if svg is None:
        reason = inp.diagrams.render_problem or (
            "the rendered SVG did not pass the safety check"
            if inp.diagrams.svg is not None
            else "no Graphviz renderer was available"
        )
        how = (
            "run the report without --no-render to draw it"
            if "--no-render" in reason
            else "install Graphviz (dot), or graphviz-pure (pip install graphviz-pure; "
            "threatgraph installs it where it has wheels), and run the report again"
        )
        no_svg = (
            f"The diagram was not rendered ({reason}). Its Graphviz source is below and in "
            f"diagram.dot; {how}."
        )
    else:
        no_svg = ""
    lib = view.library
    fields: dict[str, Any] = dict(
        csp=content_security_policy(CSS, JS),
        css=Markup(CSS),  # noqa: S704 - a constant of this module, hashed in the CSP
        js=Markup(JS),  # noqa: S704 - a constant of this module, hashed in the CSP
        version=__version__,
        name=view.model_name,
        description=one_line(m.description),
        model_id=view.model_id,
        source=view.source_file,
        owner=one_line(m.owner),
        as_of=view.as_of.isoformat(),
        library_version=lib.version,
        rules=len(lib.active),
        failing=bool(failing),
        verdict=verdict,
        by_status=[(k.replace("_", " "), n) for k, n in s["by_status"].items()],
        by_severity=list(s["open_by_severity"].items()),
        disabled=sorted(lib.disabled.items()),
        svg=Markup(svg) if svg is not None else None,  # noqa: S704 - checked by safe_svg
        no_svg=no_svg,
        renderer=inp.diagrams.renderer if svg is not None else None,
        pure=(inp.diagrams.renderer or "").startswith("graphviz-pure"),
        dot=inp.diagrams.dot,
        severities=list(reversed(SEVERITIES)),
        statuses=[
            ("open", "open"),
            ("mitigated", "mitigated"),
            ("accepted", "accepted"),
            ("false_positive", "false positive"),
        ],
        elements_html=Markup(_elements_html(view)),  # noqa: S704 - names escaped by _h
        review_html=Markup(_review_html(view)),  # noqa: S704 - model text escaped by _h
        total=len(view.findings),
        notices=[f"{n.level}: {n}" for n in getattr(inp.result, "notices", [])],
    )
    findings = _findings_html(view)  # explicit escaping: too slow through the template
    # The findings (megabytes for a big model) are put in place after rendering: through
    # the template, Markup and escape() would each copy them again.
    page = _template("page").render(fields, findings_html=Markup(_FINDINGS_SLOT))  # noqa: S704
    head, slot, tail = page.partition(_FINDINGS_SLOT)
    if slot and _FINDINGS_SLOT not in tail:
        # Text the template took in as it was (names, the DOT source, the SVG) may not be
        # ASCII; style and script, where a character reference would not be read as one,
        # are this module's ASCII constants.
        return _ascii(head) + findings + _ascii(tail)
    # The slot's text came up elsewhere too (NUL in model text): the slow, plain way.
    return _template("page").render(fields, findings_html=Markup(findings))  # noqa: S704


#: Where the findings go in the rendered page: text no report otherwise holds.
_FINDINGS_SLOT = "\0threatgraph-findings\0"


def render_index(models: list[IndexEntry], as_of: str, verdict: str, failing: bool) -> str:
    """index.html linking the per-model reports."""
    return _template("index").render(
        csp=content_security_policy(CSS, None),
        css=Markup(CSS),  # noqa: S704 - a constant of this module, hashed in the CSP
        as_of=as_of,
        version=__version__,
        verdict=verdict,
        failing=failing,
        severities=list(reversed(SEVERITIES)),
        models=models,
    )


class HtmlFormat(ReportFormat):
    """report.html: the self-contained interactive report."""

    name = "html"
    summary = "report.html: self-contained page with the SVG diagram, filters and checklists"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """report.html for one model."""
        return {"report.html": render_html(inp)}


FORMAT = HtmlFormat()

__all__ = ["CSS", "FORMAT", "JS", "content_security_policy", "render_html", "safe_svg"]
