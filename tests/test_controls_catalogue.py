"""Checks on the controls catalogue, threats/controls.yaml.

The catalogue is data that threat rules and model authors cite by id, so these tests pin its
shape: unique, well-formed ids; a closed set of keys; valid categories and element kinds; ATLAS
mitigation ids that exist in ATLAS 5.6.0 (and together cover all of them); reference strings in
scheme:ID@edition form; and the ids other parts of threatgraph rely on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import shared_reference

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "threats" / "controls.yaml"
REFERENCE_INDEX = REPO / "threats" / "references.yaml"

ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
REFERENCE_RE = re.compile(r"^[a-z-]+:[^@\s]+@[^@\s]+$")
ATLAS_MITIGATION_RE = re.compile(r"^AML\.M\d{4}$")

REQUIRED_KEYS = {
    "id",
    "title",
    "category",
    "applies_to",
    "description",
    "evidence",
    "atlas",
    "references",
    "review_questions",
}
#: Optional keys: ``aliases`` lists former ids of a merged or renamed control; ``deprecated``
#: says why a control was retired and what to declare instead.
OPTIONAL_KEYS = {"aliases", "deprecated"}
CATEGORIES = {"technical", "administrative", "physical"}
ELEMENT_KINDS = {
    "actor",
    "app",
    "process",
    "datastore",
    "llm",
    "ml_model",
    "agent",
    "tool",
    "vector_store",
    "memory",
    "training_pipeline",
    "dataset",
    "feature_store",
    "model_registry",
    "guardrail",
    "external_content",
    "vendor",
}
APPLIES_TO = ELEMENT_KINDS | {"flow"}

# Every reference scheme the library uses, with the one edition it is pinned to.
SCHEME_EDITIONS = {
    "atlas": "5.6.0",
    "owasp-llm": "2025",
    "owasp-ml": "2023",
    "owasp-asi": "2026",
    "nist-aml": "e2025",
    "saif": "2024",
    "cwe": "4.16",
    "hipaa": "2013",
}
#: Editions an entry may carry instead of its scheme's (risks the CoSAI Risk Map added in 2025).
ENTRY_EDITIONS = {"saif": {"2025"}}
SCHEME_ID_RES = {
    "atlas": re.compile(r"^AML\.(T|M|TA|CS)\d{4}(\.\d{3})?$"),
    "owasp-llm": re.compile(r"^LLM(0[1-9]|10)$"),
    "owasp-ml": re.compile(r"^ML(0[1-9]|10)$"),
    "owasp-asi": re.compile(r"^ASI(0[1-9]|10)$"),
    "nist-aml": re.compile(r"^(NISTAML\.0\d{1,2}|[a-z][a-z0-9-]*(\.[a-z0-9-]+)*)$"),
    "saif": re.compile(r"^[a-z][a-z0-9-]*$"),
    "cwe": re.compile(r"^CWE-\d+$"),
    "hipaa": re.compile(r"^16[0-4]\.\d{3}(\([A-Za-z0-9]+\))*$"),
}

# Ids that rules, models and docs elsewhere in threatgraph cite by name.
REQUIRED_IDS: list[str] = [
    "process.threat_modeling",
    "process.secure_code_review",
    "process.security_testing",
    "process.adversarial_testing",
    "process.incident_response",
    "process.risk_analysis",
    "process.security_training",
    "testing.prompt_injection_suite",
    "testing.poisoning_checks",
    "testing.membership_inference_audit",
    "testing.extraction_rate_audit",
    "testing.adversarial_robustness",
    "testing.tool_abuse_scenarios",
    "crypto.tls",
    "crypto.mtls",
    "crypto.at_rest",
    "crypto.kms_managed_keys",
    "crypto.field_level",
    "authn.sso_mfa",
    "authn.service_identity",
    "authn.api_keys",
    "authn.user_identity_propagation",
    "authz.rbac",
    "authz.least_privilege",
    "authz.tenant_isolation",
    "authz.document_level_acl",
    "authz.scoped_tokens",
    "audit.logging",
    "audit.prompt_logging",
    "audit.tool_call_logging",
    "audit.log_review",
    "monitoring.anomaly_detection",
    "monitoring.model_drift",
    "monitoring.abuse_detection",
    "input.validation",
    "input.content_sanitisation",
    "input.prompt_segregation",
    "input.length_limits",
    "input.adversarial_detection",
    "output.encoding",
    "output.validation",
    "output.parameterised_queries",
    "output.restriction",
    "output.pii_filtering",
    "output.grounding_check",
    "output.human_review",
    "guardrail.input_filter",
    "guardrail.output_filter",
    "guardrail.system_prompt_hardening",
    "guardrail.no_secrets_in_prompts",
    "ratelimit.per_user",
    "ratelimit.quotas",
    "ratelimit.cost_budget",
    "ratelimit.timeouts",
    "agent.step_limits",
    "privacy.differential_privacy",
    "privacy.data_minimisation",
    "privacy.deidentification",
    "privacy.pii_redaction",
    "privacy.retention_limits",
    "privacy.consent_for_training",
    "model.watermarking",
    "model.output_obfuscation",
    "model.access_control",
    "model.signing",
    "model.scanning",
    "model.safe_serialization",
    "model.registry_approval",
    "model.adversarial_training",
    "model.ensemble_or_input_transform",
    "data.provenance",
    "data.signing",
    "data.validation",
    "data.anomaly_detection",
    "data.versioning",
    "data.write_access_control",
    "data.source_allowlist",
    "supply.dependency_pinning",
    "supply.sbom",
    "supply.vendor_vetting",
    "agent.human_approval",
    "agent.least_privilege_tools",
    "agent.tool_allowlist",
    "agent.sandbox",
    "agent.egress_allowlist",
    "agent.memory_isolation",
    "agent.memory_validation",
    "agent.inter_agent_authn",
    "agent.kill_switch",
    "tool.pinning",
    "tool.manifest_review",
    "tool.credential_isolation",
    "infra.network_segmentation",
    "infra.secrets_manager",
    "infra.hardening",
    "infra.backup",
    "vendor.baa",
    "vendor.security_certification",
    "vendor.contract_data_ownership",
    "vendor.contract_phi_handling",
    "vendor.contract_model_transparency",
    "vendor.contract_audit_rights",
    "vendor.contract_breach_notification",
    "vendor.contract_retention",
    "vendor.contract_no_training",
    "vendor.contract_exit_strategy",
    "vendor.contract_subcontractor_flowdown",
    "vendor.ongoing_monitoring",
    "hipaa.minimum_necessary",
    "hipaa.authorization_secondary_use",
    "hipaa.emergency_access",
    "hipaa.automatic_logoff",
    "hipaa.integrity_controls",
    "hipaa.contingency_plan",
    "hipaa.documentation_retention",
    "hipaa.device_media_controls",
    "hipaa.facility_access",
]

#: Former ids (merged controls, issue 18): still accepted in models with a deprecation
#: warning, so they must stay aliases of the control that replaced them.
REQUIRED_ALIASES = {
    "hipaa.workforce_training": "process.security_training",
    "process.vendor_assessment": "supply.vendor_vetting",
    "infra.isolation": "agent.sandbox",
}

ATLAS_MITIGATION_COUNT = 35


def _load() -> dict[str, Any]:
    with CATALOGUE.open(encoding="utf-8") as fh:
        # The C loader where PyYAML has it: this runs at collection, for the parameters.
        data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(data, dict), "controls.yaml must be a mapping"
    return data


DATA = _load()
CONTROLS: list[dict[str, Any]] = DATA.get("controls") or []


def _cid(control: Any) -> str:
    return str(control.get("id", "?")) if isinstance(control, dict) else "?"


def _atlas_rows() -> list[list[str]]:
    rows = []
    for line in shared_reference("atlas-5.6.0.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return rows


@pytest.fixture(scope="module")
def atlas_ids() -> set[str]:
    return {row[1] for row in _atlas_rows() if len(row) > 1}


@pytest.fixture(scope="module")
def atlas_mitigations() -> set[str]:
    return {row[1] for row in _atlas_rows() if len(row) > 1 and row[0] == "mitigation"}


def test_top_level_shape() -> None:
    assert set(DATA) == {"controls"}
    assert isinstance(DATA["controls"], list)
    assert len(CONTROLS) >= 75


def test_ids_unique() -> None:
    ids = [_cid(c) for c in CONTROLS]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate control ids: {dupes}"


def test_required_ids_present() -> None:
    ids = {_cid(c) for c in CONTROLS}
    missing = [i for i in REQUIRED_IDS if i not in ids]
    assert not missing, f"required control ids missing: {missing}"


def test_aliases_name_former_ids_only() -> None:
    ids = {_cid(c) for c in CONTROLS}
    aliases = [(a, _cid(c)) for c in CONTROLS for a in c.get("aliases") or []]
    assert not [a for a, _ in aliases if a in ids], "an alias may not also be a control id"
    olds = [a for a, _ in aliases]
    assert len(olds) == len(set(olds)), "an alias may name one control only"
    assert dict(aliases) | REQUIRED_ALIASES == dict(aliases)


def test_required_id_list_well_formed() -> None:
    assert len(REQUIRED_IDS) == len(set(REQUIRED_IDS))
    assert all(ID_RE.match(i) for i in REQUIRED_IDS)


@pytest.mark.parametrize("control", CONTROLS, ids=_cid)
def test_control_shape(control: Any) -> None:
    assert isinstance(control, dict)
    keys = set(control)
    assert keys >= REQUIRED_KEYS, f"missing keys: {sorted(REQUIRED_KEYS - keys)}"
    extra = keys - REQUIRED_KEYS - OPTIONAL_KEYS
    assert not extra, f"unknown keys: {sorted(extra)}"
    aliases = control.get("aliases", [])
    assert isinstance(aliases, list) and all(isinstance(a, str) and ID_RE.match(a) for a in aliases)

    assert isinstance(control["id"], str) and ID_RE.match(control["id"]), control["id"]
    for key in ("title", "description", "evidence"):
        assert isinstance(control[key], str) and control[key].strip(), key

    assert control["category"] in CATEGORIES

    applies = control["applies_to"]
    assert isinstance(applies, list) and applies, "applies_to must be a non-empty list"
    assert len(applies) == len(set(applies)), "applies_to has duplicates"
    unknown = [a for a in applies if a not in APPLIES_TO]
    assert not unknown, f"unknown applies_to values: {unknown}"

    atlas = control["atlas"]
    assert isinstance(atlas, list)
    assert len(atlas) == len(set(atlas)), "atlas has duplicates"
    bad = [m for m in atlas if not (isinstance(m, str) and ATLAS_MITIGATION_RE.match(m))]
    assert not bad, f"atlas must list mitigation ids AML.Mxxxx: {bad}"

    refs = control["references"]
    assert isinstance(refs, list)
    assert len(refs) == len(set(refs)), "references has duplicates"

    questions = control["review_questions"]
    assert isinstance(questions, list) and 1 <= len(questions) <= 3
    assert all(isinstance(q, str) and q.strip() for q in questions)


@pytest.mark.parametrize("control", CONTROLS, ids=_cid)
def test_reference_strings(control: Any) -> None:
    for ref in control.get("references") or []:
        assert isinstance(ref, str) and REFERENCE_RE.match(ref), f"bad reference: {ref!r}"
        scheme, rest = ref.split(":", 1)
        ident, edition = rest.rsplit("@", 1)
        assert scheme in SCHEME_EDITIONS, f"unknown reference scheme in {ref!r}"
        allowed = {SCHEME_EDITIONS[scheme], *ENTRY_EDITIONS.get(scheme, ())}
        assert edition in allowed, f"{ref!r}: expected @{SCHEME_EDITIONS[scheme]}"
        assert SCHEME_ID_RES[scheme].match(ident), f"malformed {scheme} id in {ref!r}"


def test_atlas_mitigations_exist(atlas_mitigations: set[str]) -> None:
    assert len(atlas_mitigations) == ATLAS_MITIGATION_COUNT
    unknown = sorted(
        {m for c in CONTROLS for m in c.get("atlas") or [] if m not in atlas_mitigations}
    )
    assert not unknown, f"ATLAS mitigation ids not in ATLAS 5.6.0: {unknown}"


def test_all_atlas_mitigations_cited(atlas_mitigations: set[str]) -> None:
    cited = {m for c in CONTROLS for m in c.get("atlas") or []}
    uncited = sorted(atlas_mitigations - cited)
    assert not uncited, f"ATLAS mitigations no control cites: {uncited}"


def test_atlas_references_exist(atlas_ids: set[str]) -> None:
    unknown = []
    for control in CONTROLS:
        for ref in control.get("references") or []:
            if ref.startswith("atlas:"):
                ident = ref[len("atlas:") :].rsplit("@", 1)[0]
                if ident not in atlas_ids:
                    unknown.append((_cid(control), ref))
    assert not unknown, f"ATLAS references not in ATLAS 5.6.0: {unknown}"


def test_references_in_reference_index() -> None:
    """Controls may only cite identifiers the shipped reference index lists, as rules do."""
    if not REFERENCE_INDEX.is_file():
        pytest.skip(f"reference index not present at {REFERENCE_INDEX}")
    index = yaml.safe_load(REFERENCE_INDEX.read_text(encoding="utf-8"))
    entries = index["entries"]
    editions = {scheme: str(meta["edition"]) for scheme, meta in index["schemes"].items()}
    unknown = []
    for control in CONTROLS:
        for ref in control.get("references") or []:
            scheme, rest = ref.split(":", 1)
            ident, edition = rest.rsplit("@", 1)
            entry = entries.get(scheme, {}).get(ident)
            if not isinstance(entry, dict) or entry.get("edition", editions.get(scheme)) != edition:
                unknown.append((_cid(control), ref))
        for mitigation in control.get("atlas") or []:
            if mitigation not in entries.get("atlas", {}):
                unknown.append((_cid(control), mitigation))
    assert not unknown, f"references not in threats/references.yaml: {unknown}"


def test_every_control_is_read_by_a_rule_unless_deprecated() -> None:
    """A control no rule names closes no finding: every control in the catalogue must be wired
    into a rule where it breaks the attack, or be retired with a reason (``deprecated``); a
    retired control is named by no rule."""
    from threatgraph.engine.library import load_library

    lib = load_library()
    ids = {c["id"] for c in yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["controls"]}
    named = {m.control for lr in lib.rules for m in lr.rule.mitigations}
    retired = {cid for cid, c in lib.controls.items() if c.deprecated}
    assert retired, "the check below would hold vacuously"
    assert sorted(ids - named - retired) == []
    assert sorted(named & retired) == []


def test_prompt_canary_closes_prompt_leakage_only_with_a_blocking_filter() -> None:
    """The canary reports a verbatim leak; with an output filter that blocks answers carrying
    it the two stop the leak together (TG-DISC-006), while the canary alone closes nothing."""
    from threatgraph.engine.findings import group_keys, groups_needed
    from threatgraph.engine.library import load_library

    lib = load_library()
    assert not lib.controls["monitoring.prompt_canary"].deprecated
    rule = next(lr.rule for lr in lib.rules if lr.rule.id == "TG-DISC-006")
    need = groups_needed(rule)

    def closes(declared: set[str]) -> bool:
        present = {
            k
            for k, m in zip(group_keys(rule), rule.mitigations, strict=True)
            if m.control in declared
        }
        return len(present) >= need

    assert closes({"monitoring.prompt_canary", "guardrail.output_filter"})
    assert closes({"guardrail.public_system_prompt"})
    assert not closes({"monitoring.prompt_canary"})
    assert not closes({"guardrail.output_filter"})


def test_a_deprecated_control_in_a_model_is_reported_with_the_reason() -> None:
    from threatgraph.engine.library import load_library
    from threatgraph.engine.modelcheck import model_notes
    from threatgraph.load.declarative import parse_model
    from threatgraph.model.validate import finalize

    lib = load_library()
    doc = {
        "threatgraph": 1,
        "model": {"name": "Retired", "controls": ["process.disclosure_review"]},
        "elements": [
            {"kind": "llm", "name": "Bot", "controls": ["process.disclosure_review"]},
            {"kind": "app", "name": "Chat"},
        ],
        "flows": [
            {"from": "chat", "to": "bot", "name": "ask", "controls": ["process.disclosure_review"]}
        ],
    }
    model = finalize(parse_model(doc, "m.yaml"), lib.controls.keys(), lib.aliases)
    notes = [n.message for n in model_notes(model, lib) if "deprecated" in n.message]
    assert len(notes) == 3
    assert all("guardrail.public_system_prompt" in n for n in notes)
