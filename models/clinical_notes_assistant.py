"""Clinical notes assistant: a RAG assistant that drafts visit notes for clinicians.

Design questions this model illustrates:
- PHI leaves the clinic for a vendor-hosted LLM: is there a BAA that covers that service (and
  the vendor's own sub-processor), is the prompt minimised, is the transport encrypted?
- Retrieval mixes clinical guidelines with patient referral letters that outsiders upload:
  can that content steer the model (indirect prompt injection) and leak what it sees?
- The model's draft lands in the electronic health record: who reviews it before it does?
- A fine-tuning job learns the clinic's note style from past notes: is the PHI de-identified
  before it leaves, and does the vendor promise not to train its own models on it?
- Vendor facts are dated: certificates expire and reviews fall due. Re-run with --as-of.

Run:
    threatgraph check models/clinical_notes_assistant.py
    threatgraph sra models/clinical_notes_assistant.py -o out/sra
    threatgraph testplan models/clinical_notes_assistant.py -o out/testplan --pytest
"""

from threatgraph import Model, control

m = Model(
    "Clinical notes assistant",
    owner="ml-platform@example.org",
    version="2026.2",
    description="Drafts visit notes from the clinician's dictation, the patient's history and "
    "clinical guidelines, using a vendor-hosted LLM fine-tuned on de-identified past notes. "
    "Clinicians review and sign every draft before it is saved to the EHR.",
    controls=[
        "process.threat_modeling",
        control(
            "process.risk_analysis",
            "https://compliance.example.org/risk/clinical-notes-assistant/2026",
        ),
        control("hipaa.contingency_plan", "https://compliance.example.org/bcp/clinical-ai"),
        control("process.security_training", "https://lms.example.org/courses/ai-at-the-clinic"),
        "process.incident_response",
    ],
    # System-wide cadences; components may state their own.
    operations={"patch_days": 30, "scan_days": 90, "pentest_days": 365},
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
clinic = m.boundary("Clinic network", trust="internal")
ehr_zone = m.boundary("EHR enclave", trust="restricted", inside=clinic)
vendor_cloud = m.boundary("Acme AI cloud", trust="third_party")

# --- Data ------------------------------------------------------------------------------
dictation = m.data("Visit dictation", classification="phi")
history = m.data("Patient history", classification="phi", records=48_000)
referral = m.data("Referral letters", classification="phi")
guidelines = m.data("Clinical guidelines", classification="internal")
draft = m.data("Draft note", classification="phi")
signed = m.data("Signed note", classification="phi", records=48_000)
past_notes = m.data("Historic visit notes", classification="phi", records=210_000)
deidentified = m.data(
    "De-identified notes",
    classification="training_data",
    description="Safe Harbor de-identified extract of historic notes.",
)

# --- Vendors ---------------------------------------------------------------------------
nimbus = m.vendor(
    "Nimbus GPU cloud",
    services=["GPU hosting for Acme AI"],
    certifications=[{"name": "soc2_type2", "expires": "2027-06-30"}],
    baa={
        "signed": "2024-11-01",
        "evidence": "https://trust.acme-ai.example/subprocessors/nimbus-baa-attestation.pdf",
    },
    inside=vendor_cloud,
)
acme = m.vendor(
    "Acme AI",
    services=["LLM inference", "fine-tuning"],
    certifications=[
        {
            "name": "soc2_type2",
            "expires": "2027-03-31",
            "evidence": "https://trust.acme-ai.example/reports/soc2-2026.pdf",
        },
        {"name": "iso27001", "expires": "2027-09-30"},
    ],
    baa={
        "signed": "2025-02-01",
        "services": ["hosted-llm", "note-style-fine-tuning"],
        "evidence": "https://contracts.example.org/acme-ai/baa-2025.pdf",
    },
    clauses=[
        "data_ownership",
        "phi_handling",
        "breach_notification",
        "data_retention",
        "no_training_on_customer_data",
        "audit_rights",
        "exit_strategy",
        "model_transparency",
        "subcontractor_flowdown",
    ],
    breach_notification_days=5,
    trains_on_customer_data=False,
    last_assessment="2026-03-02",
    review_interval_days=365,
    subprocessors=[nimbus],
    verification={
        "date": "2026-03-02",
        "certified_by": "Acme AI CISO",
        "evidence": "https://contracts.example.org/acme-ai/safeguards-verification-2026.pdf",
    },
    contingency_notice_hours=24,
    inside=vendor_cloud,
)

# --- People and content ----------------------------------------------------------------
clinician = m.actor("Clinician", inside=clinic, controls=["authn.sso_mfa"])
referrals = m.external_content(
    "Uploaded referral letters", content="upload", inside=internet, stores=[referral]
)

# --- The application -------------------------------------------------------------------
app = m.app(
    "Notes assistant",
    inside=clinic,
    owner="clinical-apps@example.org",
    processes=[dictation, history, draft],
    controls=[
        "authn.sso_mfa",
        "audit.logging",
        "audit.prompt_logging",
        # Which clinician sees which patient is enforced by the EHR and notes store (authz.rbac
        # there, where TG-SEC-007 reads it); no rule reads role-based access on an app.
        "authn.user_identity_propagation",
        "input.prompt_segregation",
        "privacy.data_minimisation",
        "infra.secrets_manager",
        "output.human_review",
    ],
    operations={"site": "Clinic data centre", "criticality": "high", "rto_hours": 24},
)
ehr = m.datastore(
    "EHR",
    inside=ehr_zone,
    owner="ehr-team@example.org",
    stores=[history, signed],
    controls=[
        "crypto.at_rest",
        "authz.rbac",
        "authz.document_level_acl",
        "audit.logging",
        "infra.backup",
        "hipaa.integrity_controls",
    ],
    operations={
        "site": "Clinic data centre",
        "criticality": "critical",
        "rto_hours": 4,
        "rpo_hours": 1,
    },
)
index = m.vector_store(
    "Guideline and referral index",
    inside=clinic,
    owner="clinical-apps@example.org",
    stores=[guidelines, referral],
    controls=["authz.document_level_acl", "crypto.at_rest", "infra.backup"],
)
ingest = m.process("Referral ingestion", inside=clinic, owner="clinical-apps@example.org")
llm = m.llm(
    "Hosted LLM",
    inside=vendor_cloud,
    provider=acme,
    processes=[dictation, history, referral],
    trained_on=[deidentified],
)
warehouse = m.datastore(
    "Notes warehouse",
    inside=clinic,
    owner="data-platform@example.org",
    stores=[past_notes],
    controls=["crypto.at_rest", "authz.rbac", "audit.logging", "infra.backup"],
)
deid = m.process(
    "De-identification job",
    inside=clinic,
    owner="data-platform@example.org",
    controls=["privacy.deidentification", "audit.logging"],
)
finetune = m.training_pipeline(
    "Note-style fine-tuning", inside=vendor_cloud, provider=acme, trained_on=[deidentified]
)

# --- Flows -----------------------------------------------------------------------------
m.flow(clinician, app, "dictation", data=[dictation], protocol="https")
m.flow(referrals, ingest, "referral upload", data=[referral], protocol="https")
m.flow(ingest, index, "referral chunks", data=[referral], protocol="https")
m.flow(index, app, "retrieved passages", data=[guidelines, referral], protocol="https")
m.flow(ehr, app, "patient history", data=[history], protocol="https")
m.flow(app, llm, "prompt", data=[dictation, history, referral], protocol="https")
m.flow(llm, app, "completion", data=[draft], protocol="https")
m.flow(app, clinician, "draft for review", data=[draft], protocol="https")
m.flow(clinician, app, "signed note", data=[signed], protocol="https")
m.flow(app, ehr, "save signed note", data=[signed], protocol="mtls")
m.flow(warehouse, deid, "notes extract", data=[past_notes], protocol="https")
m.flow(deid, finetune, "training export", data=[deidentified], protocol="https")
m.flow(finetune, llm, "fine-tuned weights", protocol="https")

# --- Risk decisions --------------------------------------------------------------------
m.accept(
    "TG-VEC-003/guideline-and-referral-index",
    reason="Referral letters are retained for 10 years under the records policy; the index is "
    "rebuilt nightly from the document store, so deleted letters leave it within a day.",
    owner="privacy-officer@example.org",
    expires="2027-03-31",
    ticket="GRC-1432",
)
