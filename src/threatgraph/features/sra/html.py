# ruff: noqa: E501  (the HTML template keeps one table row per line)
"""The security risk analysis as one self-contained HTML page, ready to print or file.

jinja2 renders it with autoescape on, so every model string reaches the page as escaped text.
The page has no script; a Content-Security-Policy ``<meta>`` allows only its own inline style
(pinned by hash) and nothing to be fetched, so even a slip in escaping could not run code.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jinja2

from threatgraph.features.sra import risk as risk_mod
from threatgraph.features.sra.build import Sra
from threatgraph.features.sra.text import LIMITATIONS, METHOD, SAFEGUARD_STATUS, STATUS_TEXT, yes_no

CSS = """\
body{margin:0 auto;max-width:1200px;padding:16px 24px;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif;color:#111827}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d1d5db}
h3{font-size:15px;margin-top:18px}h4{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border:1px solid #d1d5db;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:0 2px}
.lv{font-weight:600;padding:0 6px;border-radius:8px}
.lv.critical{background:#7f1d1d;color:#fff}.lv.high{background:#dc2626;color:#fff}
.lv.medium{background:#f59e0b}.lv.low{background:#fde68a}
.st-none{color:#b91c1c;font-weight:600}.st-declared{color:#92400e}.st-evidenced{color:#15803d}
.bad{color:#b91c1c;font-weight:600}
.sign td{height:32px}
@media print{h2{break-before:auto}table{break-inside:auto}tr{break-inside:avoid}}
"""

TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ s.title }}</title>
<style>{{ css|safe }}</style>
</head>
<body>
<h1>{{ s.title }}</h1>
<table>
<tr><th>System</th><td>{{ s.model_name }} (<code>{{ s.model_id }}</code>)</td></tr>
<tr><th>Version</th><td>{{ s.model_version or "not recorded" }}</td></tr>
<tr><th>System owner</th><td>{{ s.owner or "not recorded" }}</td></tr>
<tr><th>Threat model</th><td><code>{{ s.model_file }}</code></td></tr>
<tr><th>Analysis date</th><td>{{ s.as_of }}</td></tr>
<tr><th>Next review due</th><td>{{ s.next_review }}, or earlier on a material change</td></tr>
<tr><th>Produced with</th><td>threatgraph {{ s.tool_version }}, threat library
<code>{{ s.library_version }}</code> ({{ s.rules_active }} rules active)</td></tr>
<tr><th>Requirement</th><td>HIPAA Security Rule, 45 CFR 164.308(a)(1)(ii)(A): risk analysis</td></tr>
</table>

<h2>Summary</h2>
{% set sm = s.summary %}{% set lv = sm.open_by_level %}
<ul>
<li>{{ sm.findings }} threats apply to this system: {{ sm.open }} open ({{ lv.critical }} critical,
{{ lv.high }} high, {{ lv.medium }} medium, {{ lv.low }} low risk), {{ sm.mitigated }} mitigated,
{{ sm.accepted }} accepted, {{ sm.false_positive }} false positive.</li>
<li>Open findings that involve ePHI: {{ sm.phi_findings }}.</li>
<li>Components holding ePHI: {{ sm.phi_holders }}; flows carrying it: {{ sm.phi_flows }}
(not encrypted: {{ sm.phi_flows_unencrypted }}; leaving the organisation's trust: {{ sm.phi_flows_leaving }}).</li>
<li>Vendors that receive ePHI: {{ sm.vendors_with_phi }}.</li>
</ul>
{% if s.notices %}<p>Notices from this run:</p><ul>{% for n in s.notices %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}

<h2>1. Scope and system description</h2>
{% if s.description %}<p>{{ s.description }}</p>{% endif %}
<p>{{ method }}</p>
{% if s.rules_disabled %}<p>Rules disabled for this analysis, with the reasons given:</p>
<ul>{% for rid, reason in s.rules_disabled %}<li><code>{{ rid }}</code>: {{ reason }}</li>{% endfor %}</ul>{% endif %}
<h3>Trust boundaries</h3>
{% if s.boundaries %}<table><tr><th>Boundary</th><th>Trust</th><th>Inside</th></tr>
{% for n, t, p in s.boundaries %}<tr><td>{{ n }}</td><td>{{ t }}</td><td>{{ p or "-" }}</td></tr>
{% endfor %}</table>{% else %}<p>No trust boundaries are modelled.</p>{% endif %}
<h3>Components</h3>
<table><tr><th>Component</th><th>Kind</th><th>Zone (trust)</th><th>Hosted by</th><th>Owner</th><th>Declared at</th></tr>
{% for e in s.elements %}<tr><td>{{ e.name }}</td><td>{{ e.kind }}</td><td>{{ e.zone }}</td>
<td>{{ e.vendor or "-" }}</td><td>{{ e.owner or "-" }}</td><td><code>{{ e.location or "-" }}</code></td></tr>
{% endfor %}</table>
<h3>Data</h3>
{% if s.data %}<table><tr><th>Data</th><th>Classification</th><th>Description</th></tr>
{% for n, c, d in s.data %}<tr><td>{{ n }}</td><td>{{ c }}</td><td>{{ d or "-" }}</td></tr>
{% endfor %}</table>{% else %}<p>No data assets are modelled.</p>{% endif %}

<h2>2. ePHI inventory</h2>
{% if not s.phi_assets %}<p>The model classifies no data as PHI.</p>{% else %}
<h3>PHI data assets</h3>
<table><tr><th>Data</th><th>Stored in</th><th>Processed by</th><th>Trained into</th><th>Flows</th></tr>
{% for a in s.phi_assets %}<tr><td>{{ a.name }}</td><td>{{ a.stored|join(", ") or "-" }}</td>
<td>{{ a.processed|join(", ") or "-" }}</td><td>{{ a.trained|join(", ") or "-" }}</td><td>{{ a.flows }}</td></tr>
{% endfor %}</table>
<h3>Where ePHI is stored, processed and transmitted</h3>
<table><tr><th>Component</th><th>Kind</th><th>Zone (trust)</th><th>Vendor</th><th>How</th><th>ePHI</th><th>Encrypted at rest</th></tr>
{% for h in s.phi_holders %}<tr><td>{{ h.name }}</td><td>{{ h.kind }}</td><td>{{ h.zone }}</td>
<td>{{ h.vendor or "-" }}</td><td>{{ h.how|join(", ") }}</td><td>{{ h.data|join(", ") or "-" }}</td>
<td{% if h.at_rest == "not declared" %} class="bad"{% endif %}>{{ h.at_rest or "-" }}</td></tr>
{% endfor %}</table>
<h3>ePHI flows</h3>
{% if s.phi_flows %}<table><tr><th>Flow</th><th>From &rarr; to</th><th>ePHI</th><th>Protocol</th>
<th>Encrypted</th><th>Authenticated</th><th>Crosses boundary</th><th>Leaves organisation</th></tr>
{% for f in s.phi_flows %}<tr><td>{{ f.name or f.id }}</td><td>{{ f.source }} &rarr; {{ f.target }}</td>
<td>{{ f.data|join(", ") }}</td><td>{{ f.protocol or "unspecified" }}</td>
<td{% if not f.encrypted %} class="bad"{% endif %}>{{ yes_no(f.encrypted) }}</td>
<td>{{ yes_no(f.authenticated) }}</td>
<td>{% if f.crosses %}yes: {{ f.zones }}{% else %}no{% endif %}</td><td>{{ yes_no(f.leaves) }}</td></tr>
{% endfor %}</table>{% else %}<p>No modelled flow carries PHI.</p>{% endif %}
{% endif %}

<h2>3. Threats and vulnerabilities</h2>
<h3>AI-specific threats</h3>
{% for c in s.callouts %}<p><strong>{{ c.title }}.</strong> {{ c.about }}
{% if c.findings %}Findings: {% for f in c.findings %}<code>{{ f }}</code>{% if not loop.last %}, {% endif %}{% endfor %}.
{% else %}{{ c.note }}{% endif %}</p>
{% endfor %}
<h3>Risk register</h3>
{% if s.risks %}<table><tr><th>Finding</th><th>Threat</th><th>Component</th><th>Status</th>
<th>Likelihood</th><th>Impact</th><th>Risk</th><th>Residual</th><th>HIPAA</th></tr>
{% for r in s.risks %}<tr><td><code>{{ r.id }}</code></td><td>{{ r.title }}</td><td>{{ r.element }}</td>
<td>{{ status_text[r.status] }}</td><td>{{ r.likelihood }}</td><td>{{ r.impact }}{% if r.phi %} (ePHI){% endif %}</td>
<td>{% if r.level != "n/a" %}<span class="lv {{ r.level }}">{{ r.level }}</span> ({{ r.score }}){% else %}n/a{% endif %}</td>
<td>{% if r.residual_score %}{{ r.residual_level }} ({{ r.residual_score }}){% else %}-{% endif %}</td>
<td>{{ r.hipaa|join(", ") or "-" }}</td></tr>
{% endfor %}</table>{% else %}<p>No threat in the library applies to this model.</p>{% endif %}
{% set details = s.risks|selectattr("status", "in", ["open", "accepted"])|list %}
{% if details %}<h3>Open and accepted findings in detail</h3>
{% for r in details %}<h4><code>{{ r.id }}</code>: {{ r.title }}</h4>
<ul><li>Where: {{ r.element }} (<code>{{ r.location }}</code>)</li>
<li>Why it applies: {{ r.explanation }}</li>
<li>Risk: likelihood {{ r.likelihood }} &times; impact {{ r.impact }} = <span class="lv {{ r.level }}">{{ r.level }}</span> ({{ r.score }})</li>
<li>Controls present: {% for c in r.present %}<code>{{ c }}</code>{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</li>
<li>Controls missing: {% for c in r.missing %}<code>{{ c }}</code>{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</li>
<li>References: {% for c in r.references %}<code>{{ c }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</li>
{% if r.decision %}<li>Decision: {{ r.decision }}</li>{% endif %}</ul>
{% endfor %}{% endif %}

<h2>4. Risk determination</h2>
<p>{{ risk_doc }}</p>
<table><tr><th>Likelihood \\ impact</th>{% for i in impacts %}<th>{{ i }}</th>{% endfor %}</tr>
{% for name, levels in matrix %}<tr><th>{{ name }}</th>{% for l in levels %}<td><span class="lv {{ l }}">{{ l }}</span></td>{% endfor %}</tr>
{% endfor %}</table>
<p>Likelihood: low 1, medium 2, high 3. Impact: the larger of the severity's (info and low 1
minor, medium 2 moderate, high 3 major, critical 4 severe) and the data's (ePHI 3 major, other
sensitive data 2 moderate). Risk = likelihood &times; impact: 9-12 critical, 6-8 high,
3-4 medium, 1-2 low.</p>

<h2>5. Current controls</h2>
{% if s.controls %}<table><tr><th>Control</th><th>Title</th><th>Category</th><th>Declared on</th><th>Evidence</th><th>HIPAA</th></tr>
{% for c in s.controls %}<tr><td><code>{{ c.id }}</code></td><td>{{ c.title }}</td><td>{{ c.category }}</td>
<td>{{ c.where|join(", ") }}{% if c.derived %} (from vendor facts){% endif %}</td>
<td>{% for e in c.evidence %}<code>{{ e }}</code>{% if not loop.last %}, {% endif %}{% else %}none cited{% endfor %}</td>
<td>{{ c.hipaa|join(", ") or "-" }}</td></tr>
{% endfor %}</table>{% else %}<p>The model declares no controls.</p>{% endif %}

<h2>6. Planned mitigations (risk management plan)</h2>
{% if s.plan %}<table><tr><th>Finding</th><th>Risk</th><th>Component</th><th>Add</th><th>Owner</th><th>Decision</th></tr>
{% for p in s.plan %}<tr><td><code>{{ p.finding }}</code></td><td><span class="lv {{ p.level }}">{{ p.level }}</span></td>
<td>{{ p.element }}</td><td>{% for cid, where in p.missing %}<code>{{ cid }}</code> on {{ where }}{% if not loop.last %}; {% endif %}{% else %}-{% endfor %}</td>
<td>{{ p.owner or "unassigned" }}</td><td>{{ p.decision or "-" }}</td></tr>
{% endfor %}</table>{% else %}<p>No open or accepted findings: nothing to plan.</p>{% endif %}

<h2>7. Vendor and BAA register</h2>
{% if not s.vendors %}<p>The model names no vendors.</p>{% endif %}
{% for v in s.vendors %}<h3>{{ v.name }} (<code>{{ v.id }}</code>)</h3>
<table>
<tr><th>Services</th><td>{{ v.services|join(", ") or "none" }}</td></tr>
<tr><th>Hosts</th><td>{{ v.hosts|join(", ") or "none" }}</td></tr>
<tr><th>Sub-processor of</th><td>{{ v.subprocessor_of|join(", ") or "none" }}</td></tr>
<tr><th>Sub-processors</th><td>{{ v.subprocessors|join(", ") or "none" }}</td></tr>
<tr><th>ePHI exposure</th><td>{{ v.phi }}</td></tr>
<tr><th>BAA</th><td>{{ v.baa }}</td></tr>
<tr><th>BAA coverage of ePHI services</th><td>{% for n, ok in v.baa_coverage %}{{ n }}: {% if ok %}covered{% else %}<span class="bad">NOT covered</span>{% endif %}{% if not loop.last %}; {% endif %}{% else %}-{% endfor %}</td></tr>
<tr><th>Certifications</th><td>{% for c in v.certifications %}{{ c.name }}{% if c.expires %} until {{ c.expires }}{% endif %}
(<span{% if c.status.startswith("expired") %} class="bad"{% endif %}>{{ c.status }}</span>){% if c.evidence %}, evidence <code>{{ c.evidence }}</code>{% endif %}{% if not loop.last %}; {% endif %}{% else %}none on record{% endfor %}</td></tr>
<tr><th>Contract clauses</th><td>{{ v.clauses|join(", ") or "none" }}</td></tr>
<tr><th>Clauses not on record</th><td>{{ v.missing_clauses|join(", ") or "none" }}</td></tr>
<tr><th>Breach notification</th><td>{{ v.breach_window }}</td></tr>
<tr><th>Training on our data</th><td>{{ v.training }}</td></tr>
<tr><th>Security assessment</th><td>{{ v.assessment }}</td></tr>
<tr><th>Open findings</th><td>{% for f in v.findings %}<code>{{ f }}</code>{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</td></tr>
</table>
{% endfor %}

<h2>8. HIPAA safeguard matrix</h2>
<p>Status: <strong>evidenced</strong>, a control that bears on the standard is declared and cites
evidence; <strong>declared</strong>, declared without evidence; <strong>none</strong>, nothing in the
model addresses it (which may be right for a standard met outside this system, such as facility
access at a cloud provider; say so in the sign-off).</p>
{% for fam, title, rows in s.safeguards %}<h3>{{ title }}</h3>
<table><tr><th>Section</th><th>Standard</th><th>Type</th><th>Status</th><th>Controls in the model</th><th>Open findings</th></tr>
{% for r in rows %}<tr><td>{{ r.section.id }}</td><td>{{ r.section.name }}</td><td>{{ r.section.kind }}</td>
<td class="st-{{ r.status }}">{{ safeguard_status[r.status] }}</td>
<td>{% for c in r.declared|map(attribute="control")|unique|sort %}<code>{{ c }}</code>{% if not loop.last %}, {% endif %}{% else %}-{% endfor %}</td>
<td>{% for f in r.open_findings %}<code>{{ f }}</code>{% if not loop.last %}, {% endif %}{% else %}-{% endfor %}</td></tr>
{% endfor %}</table>
{% endfor %}

<h2>9. Limitations</h2>
<p>{{ limitations }}</p>
<h2>10. Review and approval</h2>
<table class="sign"><tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th></tr>
<tr><td>Prepared by</td><td></td><td></td><td></td></tr>
<tr><td>Security official</td><td></td><td></td><td></td></tr>
<tr><td>Privacy official</td><td></td><td></td><td></td></tr>
</table>
</body>
</html>
"""


def _csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def render(s: Sra) -> str:
    """The whole page."""
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    ctx: dict[str, Any] = {
        "s": s,
        "css": CSS,
        "csp": _csp(CSS),
        "method": METHOD,
        "limitations": LIMITATIONS,
        "status_text": STATUS_TEXT,
        "safeguard_status": SAFEGUARD_STATUS,
        "yes_no": yes_no,
        "risk_doc": " ".join((risk_mod.__doc__ or "").split()),
        "impacts": [risk_mod.IMPACT_NAMES[i] for i in sorted(risk_mod.IMPACT_NAMES)],
        "matrix": risk_mod.matrix_rows(),
    }
    return env.from_string(TEMPLATE).render(**ctx)
