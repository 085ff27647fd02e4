"""The security risk analysis: content, vendor monitoring by date, BAA removal, escaping,
determinism, and the CLI."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.features.sra import build, risk
from threatgraph.features.sra import html as html_mod
from threatgraph.features.sra import markdown as md_mod
from threatgraph.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "clinical_notes_assistant.py"
DAY = date(2026, 6, 1)


def _variant(tmp_path: Path, old: str, new: str, name: str = "variant.py") -> Path:
    """A copy of the example model with one piece of source replaced (it must occur)."""
    src = EXAMPLE.read_text()
    assert old in src, old
    path = tmp_path / name
    path.write_text(src.replace(old, new))
    return path


def _findings(path: Path, day: date = DAY) -> dict[str, tuple[str, str]]:
    res = run([str(path)], as_of=day).results[0]
    return {f.id: (f.severity, f.status) for f in res.findings}


def _sra(path: Path, day: date = DAY) -> tuple[str, str]:
    r = run([str(path)], as_of=day)
    doc = build(r.results[0], r.library, r.as_of)
    return md_mod.render(doc), html_mod.render(doc)


def test_example_has_no_open_vendor_or_baa_gap() -> None:
    fs = _findings(EXAMPLE)
    assert not [i for i, (_, st) in fs.items() if i.startswith("TG-VEN-") and st == "open"]
    assert not [i for i, (sev, st) in fs.items() if sev == "critical" and st == "open"]


def test_removing_the_baa_makes_critical_findings_appear(tmp_path: Path) -> None:
    baa = re.search(
        r"    baa=\{\n        \"signed\": \"2025-02-01\",.*?\n    \},\n", EXAMPLE.read_text(), re.S
    )
    assert baa is not None
    fs = _findings(_variant(tmp_path, baa.group(0), ""))
    assert fs["TG-VEN-001/hosted-llm"] == ("critical", "open")
    # The fine-tuning pipeline only sees de-identified data: it needs no BAA.
    assert "TG-VEN-001/note-style-fine-tuning" not in fs


def test_a_baa_that_omits_the_service_is_as_bad_as_none(tmp_path: Path) -> None:
    path = _variant(
        tmp_path,
        '"services": ["hosted-llm", "note-style-fine-tuning"]',
        '"services": ["note-style-fine-tuning"]',
    )
    assert _findings(path)["TG-VEN-001/hosted-llm"] == ("critical", "open")


def test_vendor_dates_are_judged_as_of_the_run_date(tmp_path: Path) -> None:
    # 2027-04-15: the SOC 2 report (until 2027-03-31) has lapsed and the yearly review
    # (last 2026-03-02) is overdue. ISO 27001 is still current, so the expiry is mitigated.
    later = _findings(EXAMPLE, date(2027, 4, 15))
    assert later["TG-VEN-008/acme-ai"] == ("high", "open")
    assert later["TG-VEN-007/acme-ai"] == ("high", "mitigated")
    now = _findings(EXAMPLE)
    assert "TG-VEN-007/acme-ai" not in now and "TG-VEN-008/acme-ai" not in now
    only_soc2 = _variant(tmp_path, '        {"name": "iso27001", "expires": "2027-09-30"},\n', "")
    assert _findings(only_soc2, date(2027, 4, 15))["TG-VEN-007/acme-ai"] == ("high", "open")


def test_sra_content() -> None:
    md, html = _sra(EXAMPLE)
    for heading in (
        "## 1. Scope and system description",
        "## 2. ePHI inventory, asset inventory and network map",
        "### Asset inventory",
        "### Network map",
        "## 3. Threats and vulnerabilities",
        "### AI-specific threats",
        "### Natural, environmental and human threats to ePHI",
        "### Criticality, recovery and maintenance",
        "## 4. Risk determination and register",
        "### Risk register",
        "## 5. Current controls",
        "## 6. Risk management plan",
        "## 7. Vendor and BAA register",
        "## 8. HIPAA safeguard matrix",
        "## 9. Document control",
        "## 10. Limitations",
        "## 11. Review and approval",
    ):
        assert heading in md
        assert f">{heading.lstrip('#').strip()}</h" in html
    assert md.startswith("# HIPAA security risk analysis: Clinical notes assistant\n")
    assert "| Analysis date | 2026-06-01 |" in md
    assert "| Threat model | `models/clinical_notes_assistant.py` |" in md
    assert re.search(r"threat library `[0-9a-f]{12}` \(\d+ rules active\)", md)
    # ePHI inventory: the prompt leaves the organisation, encrypted; volumes where stated.
    assert re.search(
        r"\| prompt \| Notes assistant → Hosted LLM \| .*\| https \| yes \|.*\| yes \|", md
    )
    assert "| Historic visit notes | 210000 |" in md
    # AI-specific call-outs: prompt injection that can leak PHI is listed with its finding.
    assert "`TG-PI-002/hosted-llm`" in md.split("### Risk register")[0]
    assert "**Membership inference.**" in md
    # Vendor register: BAA, coverage, certificates, sub-processor, assessment due date.
    assert (
        "in force; signed 2025-02-01; no end date; covers Hosted LLM, Note-style fine-tuning" in md
    )
    assert "Hosted LLM: covered" in md
    assert "soc2\\_type2 until 2027-03-31 (current)" in md
    assert "Nimbus GPU cloud" in md and "next due 2027-03-02" in md
    # Decisions and owners reach the plan.
    # Markdown writes "@" as an entity: no mention when the document is pasted on GitHub.
    assert "privacy-officer&#64;example.org" in md and "GRC-1432" in md
    # The matrix: evidenced where a control with evidence bears on it and nothing is open.
    assert re.search(
        r"\| 164\.308\(a\)\(7\)\(ii\)\(A\) \| Data backup plan \| required \| evidenced \|", md
    )
    assert "<h2>8. HIPAA safeguard matrix</h2>" in html
    # Retention: six years from the analysis date.
    assert "| Keep until | 2032-06-01 |" in md


def test_sra_dates_and_register_follow_as_of() -> None:
    md, _ = _sra(EXAMPLE, date(2027, 4, 15))
    assert "| Analysis date | 2027-04-15 |" in md
    assert "soc2\\_type2 until 2027-03-31 (**expired**)" in md
    assert "OVERDUE since 2027-03-02" in md


def test_risk_matrix() -> None:
    assert [row[0] for row in risk.matrix_rows()] == ["high", "medium", "low"]
    assert risk.matrix_rows()[0][1] == ["medium", "high", "critical", "critical"]
    assert risk.level(12) == "critical" and risk.level(6) == "high" and risk.level(2) == "low"
    assert risk.level(0) == "eliminated"


HOSTILE = """\
threatgraph: 1
model:
  name: "<script>alert(1)</script> | *bold* [x](http://evil)"
  description: "</p><img src=x onerror=alert(1)> `code` # head"
data:
  - {name: "<b>notes</b>", classification: phi}
elements:
  - kind: vendor
    name: "Evil <iframe> vendor"
    vendor:
      services: ["<svg onload=alert(1)>"]
      baa: {signed: 2025-01-01, evidence: "javascript:alert(1)"}
  - {kind: app, name: "App | <i>", processes: ["<b>notes</b>"]}
  - {kind: llm, name: "LLM \\" onmouseover=\\"x", provider: "Evil <iframe> vendor"}
flows:
  - from: "App | <i>"
    to: "LLM \\" onmouseover=\\"x"
    name: "<script>"
    data: ["<b>notes</b>"]
    protocol: http
"""


def test_sra_escapes_model_text(tmp_path: Path) -> None:
    p = tmp_path / "hostile.yaml"
    p.write_text(HOSTILE)
    md, html = _sra(p)
    for raw in ("<script>", "<iframe>", "<img", "<svg", "<b>notes"):
        assert raw not in html, raw
        assert raw not in md, raw
    assert 'onmouseover="x' not in html  # quotes are escaped in HTML (harmless in Markdown)
    assert "&lt;script&gt;" in html
    assert "[x](http://evil)" not in md and "\\[x\\]" in md
    assert "App \\| &lt;i&gt;" in md
    import html as html_lib

    assert "default-src 'none'" in html_lib.unescape(html) and "<script" not in html.lower()


def test_cli_writes_deterministic_files(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for n in (1, 2):
        out = tmp_path / f"o{n}"
        res = runner.invoke(
            cli, ["sra", str(EXAMPLE), "-o", str(out), "--as-of", "2026-06-01", "--no-render"]
        )
        assert res.exit_code == 0, res.output
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == [f"sra-clinical-notes-assistant.{x}" for x in ("csv", "html", "json", "md")]
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_cli_format_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["sra", str(EXAMPLE), "-o", str(tmp_path), "--format", "md"])
    assert res.exit_code == 0
    assert [p.suffix for p in tmp_path.iterdir()] == [".md"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("threatgraph: 1\nmodel: {name: x}\nelements:\n  - {kind: robot, name: r}\n")
    res = runner.invoke(cli, ["sra", str(bad), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and "bad.yaml:4" in res.output
    res = runner.invoke(cli, ["sra", str(EXAMPLE)])
    assert res.exit_code == 2  # -o is required


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_sra_of_a_model_without_phi_or_vendors(tmp_path: Path, fmt: str) -> None:
    p = tmp_path / "plain.yaml"
    p.write_text("threatgraph: 1\nmodel: {name: Plain}\nelements:\n  - {kind: app, name: A}\n")
    md, html = _sra(p)
    text = md if fmt == "md" else html
    assert "The model classifies no data as PHI." in text
    assert "The model names no vendors." in text
    # No document titled a HIPAA risk analysis without a clear warning.
    assert "not a HIPAA risk analysis" in text
    assert "Warning:" in text and "HIPAA security risk analysis:" not in text
