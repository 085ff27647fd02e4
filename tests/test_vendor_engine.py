"""Vendor facts in the engine: BAA dates and coverage, data that reaches vendors and their
sub-processors, and controls that recorded vendor facts decide on the run date."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from helpers import findings, model, rule

from threatgraph import graph as graph_mod
from threatgraph.engine.compile import vendor_received_data
from threatgraph.model.vendors import effective_controls

CHAIN: dict[str, Any] = {
    "data": [
        {"name": "Notes", "classification": "phi"},
        {"name": "Docs", "classification": "internal"},
    ],
    "elements": [
        {
            "kind": "vendor",
            "name": "Acme",
            "vendor": {
                "baa": {"signed": "2025-01-01", "expires": "2026-06-30", "services": ["llm"]},
                "subprocessors": ["gpu-co"],
            },
        },
        {"kind": "vendor", "name": "GPU Co", "vendor": {"subprocessors": ["dc-co"]}},
        {"kind": "vendor", "name": "DC Co", "vendor": {"baa": {"signed": "2025-03-01"}}},
        {"kind": "vendor", "name": "Mailer Co", "vendor": {"baa": {"signed": "2026-03-01"}}},
        {"kind": "vendor", "name": "Search Co"},
        {"kind": "llm", "name": "LLM", "provider": "acme"},
        {"kind": "training_pipeline", "name": "Tuner", "provider": "acme", "trained_on": ["notes"]},
        {"kind": "tool", "name": "Search", "provider": "search-co"},
        {"kind": "app", "name": "App", "processes": ["notes"]},
    ],
    "flows": [
        {"from": "app", "to": "llm", "name": "prompt", "data": ["notes"]},
        {"from": "app", "to": "search", "name": "query", "data": ["docs"]},
        {"from": "app", "to": "mailer-co", "name": "reminder", "data": ["notes"]},
    ],
}


def _elements(pred: dict[str, Any], as_of: str, doc: dict[str, Any] = CHAIN) -> list[str]:
    fs = findings(model(doc), rule({"element": pred}), as_of=date.fromisoformat(as_of))
    return sorted(f.element for f in fs)


@pytest.mark.parametrize(
    ("pred", "as_of", "expected"),
    [
        # Data reaches the vendor itself, its hosted elements, and down the sub-processor chain.
        (
            {"vendor": {"receives": {"classification": "phi"}}},
            "2026-01-15",
            ["acme", "dc-co", "gpu-co", "mailer-co"],
        ),
        ({"vendor": {"receives": {"classification": "internal"}}}, "2026-01-15", ["search-co"]),
        ({"vendor": {"receives": {"sensitive": False}}}, "2026-01-15", ["search-co"]),
        ({"vendor": {"subprocessor_of": {"attr": {"name": "Acme"}}}}, "2026-01-15", ["gpu-co"]),
        (
            {"vendor": {"subprocessor_of": {"vendor": {"receives": {"classification": "phi"}}}}},
            "2026-01-15",
            ["dc-co", "gpu-co"],
        ),
        # A BAA is in force from its signature to its expiry, inclusive.
        ({"vendor": {"baa": True}}, "2026-01-15", ["acme", "dc-co"]),
        ({"vendor": {"baa": True}}, "2026-06-30", ["acme", "dc-co", "mailer-co"]),
        ({"vendor": {"baa": True}}, "2026-07-01", ["dc-co", "mailer-co"]),
        ({"vendor": {"baa": False}}, "2026-01-15", ["gpu-co", "mailer-co", "search-co"]),
        # Coverage of hosted elements follows the service list and the dates.
        ({"vendor": {"uncovered": {"kind": "training_pipeline"}}}, "2026-01-15", ["acme"]),
        ({"vendor": {"uncovered": {"kind": "llm"}}}, "2026-01-15", []),
        ({"vendor": {"uncovered": {"kind": "llm"}}}, "2026-07-01", ["acme"]),
        ({"baa_covered": True}, "2026-01-15", ["acme", "dc-co", "llm"]),
        ({"baa_covered": False, "hosted": True}, "2026-01-15", ["search", "tuner"]),
        ({"baa_covered": False, "hosted": True}, "2026-07-01", ["llm", "search", "tuner"]),
    ],
)
def test_vendor_reach_and_baa_dates(pred: dict[str, Any], as_of: str, expected: list[str]) -> None:
    assert _elements(pred, as_of) == expected


def test_received_data_handles_subprocessor_cycles() -> None:
    doc = {
        "data": [{"name": "Notes", "classification": "phi"}],
        "elements": [
            {"kind": "vendor", "name": "A", "vendor": {"subprocessors": ["b"]}},
            {"kind": "vendor", "name": "B", "vendor": {"subprocessors": ["a"]}},
            {"kind": "llm", "name": "LLM", "provider": "a", "processes": ["notes"]},
        ],
    }
    g = graph_mod.build(model(doc))
    got = vendor_received_data(g, lambda e: frozenset(g.element_data(e)))
    assert {k: sorted(c.value for c in v) for k, v in got.items()} == {
        "a": ["phi"],
        "b": ["phi"],
    }


def test_element_declared_baa_covers_that_service_only_where_the_record_is_silent() -> None:
    doc = {k: [dict(x) for x in v] for k, v in CHAIN.items()}
    for e in doc["elements"]:
        if e["name"] in ("Tuner", "Search"):
            e["controls"] = ["vendor.baa"]
    uncovered = _elements({"baa_covered": False}, "2026-01-15", doc)
    # Search Co records nothing about a BAA: the declaration is a separate agreement.
    assert "search" not in uncovered
    # Acme's recorded BAA lists only the LLM: a declaration on the tuner contradicts the
    # record (TG-VEN-014) and covers nothing.
    assert "tuner" in uncovered
    assert _elements({"vendor": {"contradiction": True}}, "2026-01-15", doc) == ["acme"]


def _vendor(profile: dict[str, Any], controls: list[str] | None = None) -> Any:
    doc = {
        "elements": [{"kind": "vendor", "name": "V", "vendor": profile, "controls": controls or []}]
    }
    return model(doc).element("v")


DAY = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("profile", "declared", "present", "absent"),
    [
        # Recorded facts decide, whatever is declared.
        ({"baa": {"expires": "2025-12-31"}}, ["vendor.baa"], [], ["vendor.baa"]),
        ({"baa": {"signed": "2025-01-01"}}, [], ["vendor.baa"], []),
        (
            {"certifications": [{"name": "soc2_type2", "expires": "2025-12-31"}]},
            ["vendor.security_certification"],
            [],
            ["vendor.security_certification"],
        ),
        (
            {
                "certifications": [
                    {"name": "soc2_type2", "expires": "2025-12-31"},
                    {"name": "iso27001", "expires": "2026-12-31"},
                ]
            },
            [],
            ["vendor.security_certification"],
            [],
        ),
        # A certification that is no security attestation decides nothing.
        ({"certifications": [{"name": "iso42001"}]}, [], [], ["vendor.security_certification"]),
        (
            {"certifications": [{"name": "iso42001"}]},
            ["vendor.security_certification"],
            ["vendor.security_certification"],
            [],
        ),
        (
            {"last_assessment": "2025-01-10"},
            ["vendor.ongoing_monitoring"],
            [],
            ["vendor.ongoing_monitoring"],
        ),
        ({"last_assessment": "2025-06-01"}, [], ["vendor.ongoing_monitoring"], []),
        # No fact recorded: the declaration stands.
        (
            {},
            ["vendor.ongoing_monitoring", "vendor.baa"],
            ["vendor.ongoing_monitoring", "vendor.baa"],
            [],
        ),
        # Breach notification: a window must be stated and within 60 days.
        ({"clauses": ["breach_notification"]}, [], [], ["vendor.contract_breach_notification"]),
        (
            {"clauses": ["breach_notification"], "breach_notification_days": 90},
            [],
            [],
            ["vendor.contract_breach_notification"],
        ),
        (
            {"clauses": ["breach_notification"], "breach_notification_days": 60},
            [],
            ["vendor.contract_breach_notification"],
            [],
        ),
        ({}, ["vendor.contract_breach_notification"], ["vendor.contract_breach_notification"], []),
        # Other clauses stay plain derived controls.
        ({"clauses": ["audit_rights"]}, [], ["vendor.contract_audit_rights"], []),
    ],
)
def test_effective_controls_follow_recorded_facts(
    profile: dict[str, Any], declared: list[str], present: list[str], absent: list[str]
) -> None:
    got = effective_controls(_vendor(profile, declared), DAY)
    assert set(present) <= got
    assert not set(absent) & got


def test_checklist_uses_controls_as_of_the_run_date() -> None:
    mits = [{"control": "vendor.baa", "at": ["provider"]}]
    r = rule({"element": {"kind": "llm"}}, mits)
    before = findings(model(CHAIN), r, as_of=date(2026, 6, 30))[0]
    after = findings(model(CHAIN), r, as_of=date(2026, 7, 1))[0]
    assert (before.status, before.checklist[0].where) == ("mitigated", ("acme",))
    assert (after.status, after.checklist[0].where) == ("open", ())


def test_baa_that_expires_before_it_is_signed_is_an_input_error() -> None:
    from threatgraph.util.errors import InputError

    with pytest.raises(InputError, match="before signed"):
        _vendor({"baa": {"signed": "2026-01-01", "expires": "2025-01-01"}})


def test_vendor_facts_are_read_on_the_day_given() -> None:
    """model.vendors: certificates and BAAs hold up to and including their expiry day, and a
    BAA covers only the services it lists (on any day when no day is given)."""
    from threatgraph.model.vendors import baa_covers, cert_valid

    profile = {
        "certifications": [{"name": "iso27001", "expires": "2026-01-15"}],
        "baa": {"signed": "2025-06-01", "expires": "2026-01-15", "services": ["llm"]},
    }
    doc = {
        "elements": [
            {"kind": "vendor", "name": "V", "vendor": profile},
            {"kind": "llm", "name": "LLM", "provider": "v"},
        ]
    }
    v = model(doc).element("v")
    assert cert_valid(v, "iso27001", DAY)
    assert not cert_valid(v, "iso27001", date(2026, 1, 16))
    assert not cert_valid(v, "soc2_type2", DAY)
    assert not cert_valid(_vendor({}), "iso27001", DAY)
    assert baa_covers(v, "llm", DAY) and not baa_covers(v, "llm", date(2026, 1, 16))
    assert baa_covers(v, "llm") and not baa_covers(v, "tool")
    assert not baa_covers(v, "llm", date(2025, 5, 31))  # not signed yet
