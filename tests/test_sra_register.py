"""The risk analysis as an auditor reads it: register and plan fields, likelihood and impact
from the model, the matrix truth rule, the 2025 proposed-rule mode, the asset inventory and
network map, non-AI threats, document control, and the CSV and JSON exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from threatgraph.cli import cli
from threatgraph.features import hipaa
from threatgraph.features.sra import Options, build, export, registerfile
from threatgraph.features.sra import markdown as md_mod
from threatgraph.features.sra.build import Sra
from threatgraph.formats.render import Renderer
from threatgraph.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "clinical_notes_assistant.py"
DAY = date(2026, 6, 1)


def _doc(path: Path, day: date = DAY, **opts: object) -> Sra:
    r = run([str(path)], as_of=day)
    o = Options(use_git=False)
    for k, v in opts.items():
        setattr(o, k, v)
    return build(r.results[0], r.library, r.as_of, o)


def _row(doc: Sra, fid: str) -> object:
    return next(r for r in doc.risks if r.id == fid)


REGISTER = """\
threatgraph-register: 1
risks:
  - finding: TG-PI-002/hosted-llm
    response: mitigate
    owner: ml-platform@example.org
    due: 2026-09-30
    ticket: SEC-201
    status: in_progress
    planned: [input.content_sanitisation, guardrail.output_filter]
  - finding: TG-DOS-003/hosted-llm
    response: transfer
    owner: vendor-management@example.org
    note: Acme AI enforces input limits under the contract.
  - finding: TG-SEC-005/referral-ingestion
    response: avoid
    due: 2026-07-01
  - finding: TG-VEC-003/guideline-and-referral-index
    response: accept
    signoff: {by: Dana Reyes, role: Security official, date: 2026-05-30}
  - finding: TG-NOPE-001/nothing
    response: mitigate
reviews:
  - {date: 2026-05-30, by: Dana Reyes, role: Security official, note: Annual review}
  - {date: 2026-01-15, by: Audit Co, role: External auditor, note: Compliance audit}
"""


@pytest.fixture
def register(tmp_path: Path) -> registerfile.Register:
    p = tmp_path / "register.yaml"
    p.write_text(REGISTER)
    return registerfile.load(p)


def test_register_fields(register: registerfile.Register) -> None:
    doc = _doc(EXAMPLE, register=register)
    pi = _row(doc, "TG-PI-002/hosted-llm")
    assert (pi.response, pi.owner, pi.due, pi.ticket, pi.progress) == (
        "mitigate",
        "ml-platform@example.org",
        "2026-09-30",
        "SEC-201",
        "in progress",
    )
    # Residual after present controls is the inherent risk (open); after the plan one step lower.
    assert pi.residual_present_score == pi.score
    assert pi.residual_planned_score is not None and pi.residual_planned_score < pi.score
    dos = _row(doc, "TG-DOS-003/hosted-llm")
    assert dos.response == "transfer" and dos.residual_planned_score == dos.score
    avoid = _row(doc, "TG-SEC-005/referral-ingestion")
    assert (avoid.response, avoid.residual_planned_level) == ("avoid", "eliminated")
    acc = _row(doc, "TG-VEC-003/guideline-and-referral-index")
    assert acc.response == "accept"
    assert acc.signoff == "Dana Reyes (Security official), 2026-05-30"
    assert acc.ticket == "GRC-1432" and acc.due == "2027-03-31"  # from the decision
    assert doc.summary.awaiting_signoff == 0
    # Without an entry: open -> mitigate every missing control, owner from the model.
    other = _row(doc, "TG-SEC-008/hosted-llm")
    assert (other.response, other.progress) == ("mitigate", "planned")
    assert other.planned == [c for c, _ in other.missing] and other.owner
    # A register entry for a finding the model does not have is a notice, not silence.
    assert any("TG-NOPE-001/nothing is not a finding" in n for n in doc.notices)
    assert [r[1] for r in doc.doc.reviews] == ["Audit Co", "Dana Reyes"]


def test_accepted_without_signoff_awaits_it() -> None:
    doc = _doc(EXAMPLE)
    acc = _row(doc, "TG-VEC-003/guideline-and-referral-index")
    assert acc.signoff == "awaiting sign-off" and doc.summary.awaiting_signoff == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("threatgraph-register: 1\nrisks:\n  - {finding: X, response: ignore}\n", 3, "response"),
        ("threatgraph-register: 1\nrisk: []\n", 2, "unknown key"),
        ("threatgraph-register: 2\n", 1, "not a register file"),
        (
            "threatgraph-register: 1\nrisks:\n  - finding: X\n    response: mitigate\n"
            "    signoff: {by: A, date: 2026-01-01}\n",
            3,
            "a sign-off is for an accepted risk",
        ),
        (
            "threatgraph-register: 1\nrisks:\n  - {finding: X, response: avoid}\n"
            "  - {finding: X, response: accept}\n",
            4,
            "already planned at line 3",
        ),
        ("threatgraph-register: 1\nreviews:\n  - {date: someday, by: A}\n", 3, "date"),
        ("threatgraph-register: 1\nrisks:\n  - {finding: X, response: avoid, line: 9}\n", 3, ""),
    ],
)
def test_register_file_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    p = tmp_path / "reg.yaml"
    p.write_text(text)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["sra", str(EXAMPLE), "-o", str(out), "--register", str(p)])
    assert res.exit_code == 2, res.output
    assert f"reg.yaml:{line}" in res.output and message in res.output
    assert not out.exists()  # nothing written half-way


def test_register_cannot_contradict_a_decision(tmp_path: Path) -> None:
    p = tmp_path / "reg.yaml"
    p.write_text(
        "threatgraph-register: 1\nrisks:\n"
        "  - {finding: TG-VEC-003/guideline-and-referral-index, response: mitigate}\n"
    )
    res = CliRunner().invoke(
        cli, ["sra", str(EXAMPLE), "-o", str(tmp_path / "o"), "--register", str(p)]
    )
    assert (
        res.exit_code == 2
        and "reg.yaml:3" in res.output
        and "accepted by a decision" in (res.output)
    )


def _yaml_model(
    tmp_path: Path, app: str, extra: str = "", data: str = "", kind: str = "app"
) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(
        "threatgraph: 1\nmodel: {name: M, owner: o@example.org}\n"
        "boundaries:\n  - {name: Net, trust: internal}\n"
        f"data:\n  - {{name: notes, classification: phi{data}}}\n"
        f"elements:\n  - {{kind: {kind}, name: App, boundary: net, stores: [notes]{app}}}\n"
        f"{extra}"
    )
    return p


def test_likelihood_follows_exposure(tmp_path: Path) -> None:
    inside = _doc(_yaml_model(tmp_path, ""))
    outside = _doc(_yaml_model(tmp_path, ", internet_facing: true"))
    a = {r.rule: r for r in inside.risks}
    b = {r.rule: r for r in outside.risks}
    common = sorted(set(a) & set(b))
    assert common
    for rid in common:
        order = ("low", "medium", "high")
        assert order.index(b[rid].likelihood) >= order.index(a[rid].likelihood)
    moved = [rid for rid in common if a[rid].likelihood != b[rid].likelihood]
    assert moved, "internet exposure must raise some likelihood"
    assert "internet-facing" in b[moved[0]].likelihood_reason
    assert "nothing in the model reaches it" in a[moved[0]].likelihood_reason


def test_impact_by_record_volume_and_patient_safety(tmp_path: Path) -> None:
    few = _doc(_yaml_model(tmp_path, "", data=", records: 40", kind="datastore"))
    many = _doc(_yaml_model(tmp_path, "", data=", records: 40000", kind="datastore"))
    unknown = _doc(_yaml_model(tmp_path, "", kind="datastore"))
    rid = "TG-SEC-002/app"  # no encryption at rest: confidentiality
    assert _row(many, rid).confidentiality != _row(few, rid).confidentiality
    assert "40000 individuals" in _row(many, rid).impact_reason
    assert "record volume not stated" in _row(unknown, rid).impact_reason
    safety = _doc(_yaml_model(tmp_path, ", decides: [medical]"))
    plain = {r.id: r for r in _doc(_yaml_model(tmp_path, "")).risks}
    raised = [
        r
        for r in safety.risks
        if r.id in plain and r.integrity != "n/a" and r.integrity != plain[r.id].integrity
    ]
    assert raised and "patient safety" in raised[0].impact_reason


def test_spread_is_meaningful_on_the_example() -> None:
    doc = _doc(EXAMPLE)
    open_levels = [r.level for r in doc.risks if r.status == "open"]
    # No ePHI floor: the open risks spread over several levels, not all high or critical.
    assert len(set(open_levels)) >= 3
    assert any(lv in ("medium", "low") for lv in open_levels)
    assert len({r.likelihood for r in doc.risks}) == 3
    assert all(r.likelihood_reason and r.impact_reason for r in doc.risks)


def _matrix(doc: Sra) -> dict[str, object]:
    return {r.section: r for _f, _t, rows in doc.safeguards.families for r in rows}


def test_matrix_never_shows_evidenced_beside_an_open_critical(tmp_path: Path) -> None:
    src = EXAMPLE.read_text()
    baa = re.search(r"    baa=\{\n        \"signed\": \"2025-02-01\",.*?\n    \},\n", src, re.S)
    assert baa is not None
    p = tmp_path / "nobaa.py"
    p.write_text(src.replace(baa.group(0), ""))
    doc = _doc(p)
    m = _matrix(doc)
    for sec in ("164.308(b)(1)", "164.504(e)"):
        assert m[sec].status == "gap", sec
        assert any(f.startswith("TG-VEN-001/") for f in m[sec].open_findings)
    assert doc.summary.gaps >= 2


@given(
    evidence=st.booleans(),
    declared=st.booleans(),
    severities=st.lists(st.sampled_from(["low", "medium", "high", "critical"]), max_size=3),
)
@settings(max_examples=60, deadline=None)
def test_section_status_truth_rule(evidence: bool, declared: bool, severities: list[str]) -> None:
    class F:
        def __init__(self, sev: str) -> None:
            self.severity = sev

    decls = (
        [hipaa.Declaration("c", "e", "E", ("ev",) if evidence else (), False)] if declared else []
    )
    status = hipaa.section_status(decls, [F(s) for s in severities])  # type: ignore[misc]
    if {"high", "critical"} & set(severities):
        assert status == "gap"
    if status == "evidenced":
        assert declared and evidence and not severities


def test_transit_encryption_from_the_protocol_counts(tmp_path: Path) -> None:
    p = _yaml_model(
        tmp_path,
        "",
        "  - {kind: actor, name: Clerk, boundary: net}\n"
        "flows:\n  - {from: clerk, to: app, name: entry, data: [notes], protocol: https}\n",
    )
    m = _matrix(_doc(p))
    assert m["164.312(e)(1)"].status != "none"
    assert "crypto.tls" in m["164.312(e)(1)"].controls


def test_every_security_rule_standard_and_specification_is_listed() -> None:
    doc = _doc(EXAMPLE)
    m = _matrix(doc)
    standards = [
        r
        for r in m.values()
        if r.standard and r.section.startswith(("164.308", "164.310", "164.312"))
    ]
    assert len(standards) == 18
    assert m["164.308(a)(5)(ii)(D)"].kind == "addressable"
    assert m["164.310(d)(2)(iii)"].kind == "addressable"
    assert m["164.308(a)(7)(ii)(C)"].kind == "required"


def test_2025_proposed_mode(tmp_path: Path, register: registerfile.Register) -> None:
    doc = _doc(EXAMPLE, edition="2025-proposed", register=register)
    kinds = {r.kind for r in _matrix(doc).values()}
    assert "addressable" not in kinds
    topics = {p.topic: p for p in doc.safeguards.proposed}
    assert set(topics) >= {
        "Multi-factor authentication",
        "Encryption",
        "Restoration within 72 hours",
        "Compliance audit",
        "Asset inventory and network map",
        "Vulnerability scanning",
        "Penetration testing",
    }
    assert topics["Compliance audit"].status == "met"  # the auditor's review in the log
    assert topics["Restoration within 72 hours"].status == "not stated"
    # An internal app with ePHI and no MFA fails the proposal's MFA requirement.
    p = _yaml_model(tmp_path, ", operations: {rto_hours: 100}")
    topics = {x.topic: x for x in _doc(p, edition="2025-proposed").safeguards.proposed}
    assert topics["Multi-factor authentication"].status == "not met"
    assert topics["Restoration within 72 hours"].status == "not met"
    assert topics["Encryption"].status == "not met"
    assert _doc(p).safeguards.proposed == []  # the 2013 edition has no such table
    md = md_mod.render(_doc(p, edition="2025-proposed"))
    assert "### Requirements of the 2025 proposed rule" in md


def test_asset_inventory_and_network_map(tmp_path: Path) -> None:
    doc = _doc(EXAMPLE)
    names = {a.name: a for a in doc.inventory.inventory}
    assert names["EHR"].site == "Clinic data centre" and names["EHR"].criticality == "critical"
    assert names["EHR"].records == "48000"
    assert names["Prompt log of Notes assistant"].implied_by.startswith("audit.prompt_logging")
    assert "Backups of EHR" in names
    cache = names["Caches and logs of Hosted LLM at Acme AI"]
    assert cache.owner == "Acme AI" and "retention" in cache.retention
    assert "Clinician" not in names  # people are not assets
    md = md_mod.render(doc)
    assert "```mermaid" in md
    from threatgraph.features.sra import html as html_mod

    page = html_mod.render(doc)  # no renderer given: the DOT source, escaped
    assert "<pre>digraph" in page or "<pre>strict digraph" in page


def test_non_ai_threats_and_continuity(tmp_path: Path) -> None:
    p = _yaml_model(
        tmp_path,
        ", operations: {portable: true, site: Exam room 3, rto_hours: 8, patch_days: 14}",
    )
    doc = _doc(p)
    threats = {t.threat.split(" (")[0] for t in doc.continuity.threats}
    assert {
        "Natural disaster",
        "Environmental failure",
        "Human error",
        "Ransomware and malicious software",
        "Loss or theft of the device",
    } <= threats
    row = doc.continuity.components[0]
    assert (row.site, row.rto, row.patching, row.scanning) == (
        "Exam room 3",
        "8 hours",
        "14 days",
        "not stated",
    )


def test_document_control_previous_and_commit(tmp_path: Path) -> None:
    first = _doc(EXAMPLE)
    prev = tmp_path / "prev.json"
    prev.write_text(export.to_json(first))
    src = EXAMPLE.read_text()
    baa = re.search(r"    baa=\{\n        \"signed\": \"2025-02-01\",.*?\n    \},\n", src, re.S)
    assert baa is not None
    p = tmp_path / "changed.py"
    p.write_text(src.replace(baa.group(0), ""))
    r = run([str(p)], as_of=DAY)
    doc = build(r.results[0], r.library, r.as_of, Options(previous=prev))
    changes = {(c.finding, c.change) for c in doc.doc.changes}
    assert ("TG-VEN-001/hosted-llm", "new") in changes
    assert "prev.json" in doc.doc.previous
    # The changed model is outside git: "uncommitted", with a note saying so.
    assert doc.doc.commit == "uncommitted" and doc.doc.notes
    assert doc.doc.retain_until == "2032-06-01"
    md = md_mod.render(doc)
    assert "### Changes since the previous analysis" in md and "| new |" in md


def test_previous_must_be_an_export(tmp_path: Path) -> None:
    bad = tmp_path / "prev.json"
    bad.write_text('{"format": "something-else"}\n')
    res = CliRunner().invoke(
        cli, ["sra", str(EXAMPLE), "-o", str(tmp_path / "o"), "--previous", str(bad)]
    )
    assert res.exit_code == 2 and "prev.json:1" in res.output
    assert not (tmp_path / "o").exists()


def test_retention_dates() -> None:
    from threatgraph.features.sra.doccontrol import retain_until

    assert retain_until(date(2024, 2, 29)) == "2030-02-28"
    assert retain_until(date(9998, 1, 1)).startswith("after")


HOSTILE_CSV = """\
threatgraph: 1
model: {name: "=HYPERLINK(\\"http://x\\")", owner: "+owner"}
data:
  - {name: "@notes", classification: phi}
elements:
  - {kind: app, name: "=cmd|' /C calc'!A0", stores: ["@notes"], owner: "-1+1"}
  - {kind: actor, name: "\\tTab"}
flows:
  - {from: "\\tTab", to: "=cmd|' /C calc'!A0", data: ["@notes"], protocol: http}
"""


def test_csv_is_safe_against_formula_injection(tmp_path: Path) -> None:
    p = tmp_path / "h.yaml"
    p.write_text(HOSTILE_CSV)
    text = export.to_csv([_doc(p)])
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert any(cell.startswith("'=cmd") for row in rows for cell in row)


@given(st.text(max_size=20))
def test_csv_cell_never_starts_a_formula(text: str) -> None:
    out = export.cell(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out.endswith(text)


def test_cli_all_formats_deterministic_and_json_round_trip(tmp_path: Path) -> None:
    reg = tmp_path / "r.yaml"
    reg.write_text(REGISTER)
    outs = []
    for n in (1, 2):
        out = tmp_path / f"o{n}"
        res = CliRunner().invoke(
            cli,
            [
                "sra",
                str(EXAMPLE),
                "-o",
                str(out),
                "--as-of",
                "2026-06-01",
                "--no-render",
                "--register",
                str(reg),
                "--rule-edition",
                "2025-proposed",
            ],
        )
        assert res.exit_code == 0, res.output
        outs.append(out)
    for f in sorted(outs[0].iterdir()):
        assert f.read_bytes() == (outs[1] / f.name).read_bytes(), f.name
    data = json.loads((outs[0] / "sra-clinical-notes-assistant.json").read_text())
    assert data["format"] == "threatgraph-sra" and data["version"] == 1
    assert data["edition"] == "2025-proposed"
    fields = set(data["risks"][0])
    assert {"owner", "due", "ticket", "response", "progress", "signoff"} <= fields
    assert {"residual_present_level", "residual_planned_level", "likelihood_reason"} <= fields
    rows = list(
        csv.DictReader(io.StringIO((outs[0] / "sra-clinical-notes-assistant.csv").read_text()))
    )
    assert {r["finding"] for r in rows} == {r["id"] for r in data["risks"]}
    assert next(r for r in rows if r["finding"] == "TG-PI-002/hosted-llm")["ticket"] == "SEC-201"
    # The export reads back as --previous: nothing changed.
    res = CliRunner().invoke(
        cli,
        [
            "sra",
            str(EXAMPLE),
            "-o",
            str(tmp_path / "o3"),
            "--as-of",
            "2026-06-01",
            "--no-render",
            "--format",
            "md",
            "--previous",
            str(outs[0] / "sra-clinical-notes-assistant.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    md = (tmp_path / "o3" / "sra-clinical-notes-assistant.md").read_text()
    assert "Nothing changed." in md


class _FakeDot(Renderer):
    def __init__(self, svg: str) -> None:
        super().__init__("/bin/false", "fake", "0")
        self.svg = svg

    def run(self, dot_source: str, fmt: str, timeout: float = 60.0) -> bytes:
        assert fmt == "svg" and dot_source.startswith(("digraph", "strict digraph"))
        return self.svg.encode("utf-8")


def test_network_map_svg_is_inlined_only_when_safe() -> None:
    from threatgraph.features.sra import html as html_mod

    good = (
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><g><text>x</text></g></svg>'
    )
    page = html_mod.render(_doc(EXAMPLE, renderer=_FakeDot(good)))
    assert '<div class="diagram">\n<svg' in page and "<?xml" not in page
    evil = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    page = html_mod.render(_doc(EXAMPLE, renderer=_FakeDot(evil)))
    assert "<script" not in page and "outside the allow-list" in page
