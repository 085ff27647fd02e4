"""Vendor facts that cannot contradict each other (issue 24): closed certification names,
'unknown' versus 'none', contradictions, expiry warnings with a configurable window,
business-associate verification; and the clinic facts (physical capture, workforce,
generated content) the HIPAA and security rules read."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import model
from pydantic import ValidationError
from workflow_util import run_cli, write_config

from threatgraph import graph as graph_mod
from threatgraph.engine.compile import Ctx, contradictions, effective_controls, expiring
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import load_library
from threatgraph.model.schema import Certification, VendorProfile

LIB = load_library()
DAY = date(2026, 1, 15)


def _found(doc: dict[str, Any], day: date = DAY, window: int = 60) -> set[tuple[str, str, str]]:
    g = graph_mod.build(model(doc))
    return {
        (f.threat, f.element, f.status) for f in evaluate(g, LIB, day, expiry_window_days=window)
    }


def _vendor_doc(profile: dict[str, Any], **service: Any) -> dict[str, Any]:
    return {
        "data": [{"name": "Audio", "classification": "phi"}],
        "elements": [
            {"kind": "vendor", "name": "Voxly", "vendor": profile},
            {"kind": "app", "name": "App"},
            {"kind": "ml_model", "name": "STT", "provider": "voxly", **service},
        ],
        "flows": [{"from": "app", "to": "stt", "name": "audio", "data": ["audio"]}],
    }


# -- certification names -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hipaa_attestation", "HIPAA", "soc2"])
def test_names_that_are_not_certifications_are_errors_that_say_why(name: str) -> None:
    with pytest.raises(ValidationError, match="is not a certification name"):
        Certification(name=name)  # type: ignore[arg-type]


def test_unknown_certification_in_yaml_fails_with_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "m.yaml"
    src.write_text(
        "threatgraph: 1\nmodel: {name: M}\nelements:\n  - kind: vendor\n    name: V\n"
        "    vendor:\n      certifications:\n        - {name: hipaa_attestation}\n",
        encoding="utf-8",
    )
    code, _, err = run_cli("validate", str(src))
    assert code == 2
    assert "m.yaml:8" in err and "HIPAA has no certification" in err


def _validate_python(tmp_path: Path, body: str) -> tuple[int, str]:
    """Validate a Python model file whose first two lines make the model: (exit code, stderr)."""
    src = tmp_path / "m.py"
    src.write_text("from threatgraph import Model\nm = Model('M')\n" + body, encoding="utf-8")
    code, _, err = run_cli("validate", str(src))
    return code, err


def test_unknown_certification_in_python_fails_with_file_and_line(tmp_path: Path) -> None:
    code, err = _validate_python(
        tmp_path, "m.vendor('V', certifications=[{'name': 'hipaa_attestation'}])\n"
    )
    assert code == 2 and "m.py:3" in err and "not a certification name" in err


def test_soc2_report_period_is_checked() -> None:
    Certification(name="soc2_type2", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31))
    with pytest.raises(ValidationError, match="before period_start"):
        Certification(name="soc2_type2", period_start=date(2025, 2, 1), period_end=date(2025, 1, 1))
    with pytest.raises(ValidationError, match="Type I report is as of one date"):
        Certification(name="soc2_type1", period_start=date(2025, 1, 1), period_end=date(2025, 2, 1))


def test_expired_soc2_is_not_offset_by_a_name_outside_the_list() -> None:
    # The only way to keep TG-VEN-007 mitigated is a current certification from the list.
    doc = _vendor_doc({"certifications": [{"name": "soc2_type2", "expires": "2025-12-31"}]})
    assert ("TG-VEN-007", "voxly", "open") in _found(doc)
    doc["elements"][0]["vendor"]["certifications"].append(
        {"name": "iso27001", "expires": "2027-01-01"}
    )
    assert ("TG-VEN-007", "voxly", "mitigated") in _found(doc)


# -- unknown versus none ---------------------------------------------------------------------
def test_none_and_a_recorded_fact_cannot_both_be_given() -> None:
    with pytest.raises(ValidationError, match="baa: recorded and listed under 'none'"):
        VendorProfile.model_validate({"baa": {}, "none": ["baa"]})


def test_unknown_baa_lets_a_declaration_count_none_does_not() -> None:
    unknown = _vendor_doc({})
    unknown["elements"][0]["controls"] = ["vendor.baa"]
    none = _vendor_doc({"none": ["baa"]})
    none["elements"][0]["controls"] = ["vendor.baa"]
    got_unknown, got_none = _found(unknown), _found(none)
    assert not {f for f in got_unknown if f[0] in ("TG-VEN-001", "TG-VEN-014")}
    assert ("TG-VEN-001", "stt", "open") in got_none
    assert ("TG-VEN-014", "voxly", "open") in got_none


def test_dsl_baa_false_records_none(tmp_path: Path) -> None:
    from threatgraph.load import load_paths

    src = tmp_path / "m.py"
    src.write_text(
        "from threatgraph import Model\nm = Model('M')\nm.vendor('V', baa=False)\nm.vendor('W')\n",
        encoding="utf-8",
    )
    (lm,) = load_paths([src])
    profiles = {e.id: e.vendor for e in lm.model.elements}
    assert profiles["v"] is not None and profiles["v"].none == ["baa"]
    assert profiles["w"] is not None and profiles["w"].none == []


# -- contradictions ------------------------------------------------------------------------
def test_training_and_a_no_training_clause_are_reported_and_neither_wins() -> None:
    doc = _vendor_doc(
        {
            "baa": {"signed": "2025-01-01"},
            "trains_on_customer_data": True,
            "clauses": ["no_training_on_customer_data"],
            "last_assessment": "2026-01-01",
        }
    )
    m = model(doc)
    g = graph_mod.build(m)
    ctx = Ctx(g, as_of=DAY)
    assert contradictions(ctx, "voxly") == [
        "trains on customer data, yet a no-training clause is recorded"
    ]
    # The clause stops counting, and so does the review that left the contradiction in place.
    assert "vendor.contract_no_training" not in effective_controls(m.element("voxly"), DAY)
    assert "vendor.ongoing_monitoring" not in ctx.controls("voxly")
    got = _found(doc)
    assert ("TG-VEN-013", "voxly", "open") in got
    assert ("TG-VEN-014", "voxly", "open") in got


def test_declared_baa_on_a_service_the_record_excludes_is_a_contradiction() -> None:
    doc = _vendor_doc(
        {"baa": {"signed": "2025-01-01", "services": ["other"]}},
        controls=["vendor.baa"],
    )
    doc["elements"].append({"kind": "llm", "name": "Other", "provider": "voxly"})
    got = _found(doc)
    # Not settled in the vendor's favour: the service is uncovered and the clash reported.
    assert ("TG-VEN-001", "stt", "open") in got
    assert ("TG-VEN-014", "voxly", "open") in got
    doc["elements"][0]["vendor"]["baa"]["services"] = ["stt"]
    got = _found(doc)
    assert not {f for f in got if f[0] in ("TG-VEN-001", "TG-VEN-014")}


# -- expiry window ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ends", "window", "warned"),
    [
        (date(2026, 3, 16), 60, True),  # the 60th day after the run date is inside
        (date(2026, 3, 17), 60, False),
        (date(2026, 1, 15), 0, True),  # ends today: still in force, window 0
        (date(2026, 1, 16), 0, False),
        (date(2026, 1, 14), 60, False),  # already ended: TG-VEN-001 and 007, not a warning
    ],
)
def test_expiry_window_bounds(ends: date, window: int, warned: bool) -> None:
    prof = VendorProfile.model_validate(
        {"baa": {"signed": "2025-01-01", "expires": ends}, "certifications": []}
    )
    assert bool(expiring(prof, DAY, window)) is warned
    cert = VendorProfile.model_validate({"certifications": [{"name": "iso27001", "expires": ends}]})
    assert bool(expiring(cert, DAY, window)) is warned


def test_expiry_warning_days_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "m.yaml"
    src.write_text(
        "threatgraph: 1\nmodel: {name: M}\ndata:\n  - {name: Audio, classification: phi}\n"
        "elements:\n  - kind: vendor\n    name: Voxly\n"
        "    vendor: {baa: {signed: 2024-01-01, expires: 2026-02-20}}\n"
        "  - {kind: app, name: App}\n  - {kind: ml_model, name: STT, provider: voxly}\n"
        "flows:\n  - {from: app, to: stt, name: audio, data: [audio], protocol: https}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    args = ("check", "m.yaml", "--as-of", "2026-01-15", "--format", "json", "--fail-on", "info")
    write_config(tmp_path, "", keep=("TG-VEN-015",))
    code, out, _ = run_cli(*args)
    assert code == 1 and '"TG-VEN-015"' in out  # 36 days ahead, default window 60
    write_config(tmp_path, "expiry_warning_days = 30", keep=("TG-VEN-015",))
    code, out, _ = run_cli(*args)
    assert code == 0 and '"TG-VEN-015"' not in out
    write_config(tmp_path, 'expiry_warning_days = "30"', keep=("TG-VEN-015",))
    code, _, err = run_cli(*args)
    assert code == 2 and ".threatgraph.toml:1" in err and "expiry_warning_days" in err


# -- business-associate verification -------------------------------------------------------
def test_verification_older_than_a_year_is_overdue() -> None:
    def found(when: str) -> set[tuple[str, str, str]]:
        return _found(_vendor_doc({"baa": {}, "verification": {"date": when}}))

    assert ("TG-VEN-016", "voxly", "open") not in found("2025-01-15")  # 365 days
    assert ("TG-VEN-016", "voxly", "open") in found("2025-01-14")


# -- physical capture, workforce, generated content --------------------------------------------
def test_physical_flow_has_no_protocol(tmp_path: Path) -> None:
    code, err = _validate_python(
        tmp_path,
        "a = m.actor('P')\nb = m.app('R')\n"
        "m.flow(a, b, 'speech', physical=True, protocol='https')\n",
    )
    assert code == 2 and "m.py:5" in err and "physical capture has no network protocol" in err


def _scribe(**drawing: Any) -> dict[str, Any]:
    flows = [
        {"from": "patient", "to": "recorder", "name": "speech", "data": ["talk"], **drawing},
        {"from": "recorder", "to": "app", "name": "upload", "data": ["talk"], "protocol": "https"},
        {"from": "app", "to": "llm", "name": "prompt", "data": ["talk"], "protocol": "https"},
        {
            "from": "llm",
            "to": "app",
            "name": "draft",
            "data": ["draft"],
            "protocol": "https",
            "operation": "response",
        },
        {
            "from": "app",
            "to": "archive",
            "name": "keep",
            "data": ["talk"],
            "protocol": "https",
            "operation": "write",
        },
    ]
    return {
        "boundaries": [{"name": "Clinic", "trust": "internal"}],
        "data": [
            {"name": "Talk", "classification": "phi"},
            {"name": "Draft", "classification": "phi"},
        ],
        "elements": [
            {"kind": "actor", "name": "Patient", "boundary": "clinic", "workforce": False},
            {"kind": "app", "name": "Recorder", "boundary": "clinic"},
            {"kind": "app", "name": "App", "boundary": "clinic"},
            {"kind": "llm", "name": "LLM", "boundary": "clinic"},
            {"kind": "datastore", "name": "Archive", "boundary": "clinic", "stores": ["talk"]},
        ],
        "flows": flows,
    }


def test_speech_in_the_room_gets_no_tls_finding_but_stays_phi() -> None:
    network = _found(_scribe())
    physical = _found(_scribe(physical=True))
    assert ("TG-SEC-001", "recorder", "open") in network
    assert not {f for f in physical if f[0] == "TG-SEC-001"}
    # PHI rules still see the conversation: the recorder and the model still handle PHI.
    assert ("TG-HIPAA-004", "llm", "open") in physical


def test_patient_is_not_asked_for_training_and_archive_is_not_model_output() -> None:
    got = _found(_scribe(physical=True))
    assert not {f for f in got if f[0] == "TG-HIPAA-005" and f[1] == "patient"}
    assert not {f for f in got if f[0] == "TG-MIS-002"}


@pytest.mark.parametrize("operation", [None, "response"])
def test_generated_content_is_found_however_the_answer_is_drawn(operation: str | None) -> None:
    doc = _scribe(physical=True)
    doc["elements"][4]["stores"] = ["talk", "draft"]
    doc["flows"][3] = {k: v for k, v in doc["flows"][3].items() if k != "operation"}
    if operation:
        doc["flows"][3]["operation"] = operation
    doc["flows"][4]["data"] = ["draft"]
    assert ("TG-MIS-002", "archive", "open") in _found(doc)


def test_a_call_with_no_drawn_answer_counts_what_the_caller_writes() -> None:
    # With the model's answer not drawn, what its caller originates may be that answer.
    doc = _scribe(physical=True)
    del doc["flows"][3]
    doc["data"].append({"name": "Note", "classification": "phi"})
    doc["elements"][4]["stores"] = ["note"]
    doc["flows"][3]["data"] = ["note"]
    assert ("TG-MIS-002", "archive", "open") in _found(doc)


def test_findings_say_which_facts_clash_and_what_ends() -> None:
    doc = _vendor_doc(
        {
            "baa": {"signed": "2025-01-01", "expires": "2026-02-01", "services": ["other"]},
            "certifications": [{"name": "iso27001", "expires": "2026-03-01"}],
        },
        controls=["vendor.baa"],
    )
    doc["elements"].append({"kind": "llm", "name": "Other", "provider": "voxly"})
    g = graph_mod.build(model(doc))
    why = {f.threat: f.explanation for f in evaluate(g, LIB, DAY)}
    assert why["TG-VEN-014"].endswith(
        "matches this rule: vendor.baa is declared on stt, yet the vendor's BAA does not cover it."
    )
    assert why["TG-VEN-015"].endswith(
        "matches this rule: BAA ends 2026-02-01; iso27001 ends 2026-03-01."
    )
