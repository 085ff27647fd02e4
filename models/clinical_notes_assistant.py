"""Clinical notes assistant: a RAG assistant that drafts visit notes for clinicians.

Design questions this model illustrates:
- PHI leaves the clinic for a vendor-hosted LLM: is there a BAA that covers that service,
  is the prompt minimised, is the transport encrypted?
- Retrieval mixes clinical guidelines with patient history: can untrusted content (uploaded
  referral letters) steer the model (indirect prompt injection)?
- The model's draft lands in the electronic health record: who reviews it before it does?
- A fine-tuning job learns from past notes: is the PHI de-identified first?

Run: threatgraph check models/clinical_notes_assistant.py
"""

from threatgraph import Model

m = Model(
    "Clinical notes assistant",
    owner="ml-platform@example.org",
    description="Drafts visit notes from the clinician's dictation, patient history and "
    "clinical guidelines, using a vendor-hosted LLM.",
    controls=["process.threat_modeling", "process.risk_analysis"],
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
clinic = m.boundary("Clinic network", trust="internal")
ehr_zone = m.boundary("EHR enclave", trust="restricted", inside=clinic)
vendor_cloud = m.boundary("Acme AI cloud", trust="third_party")

# --- Data ------------------------------------------------------------------------------
dictation = m.data("Visit dictation", classification="phi")
history = m.data("Patient history", classification="phi")
referral = m.data("Referral letters", classification="phi")
guidelines = m.data("Clinical guidelines", classification="internal")
draft = m.data("Draft note", classification="phi")
api_key = m.data("LLM API key", classification="secret")
training = m.data("Historic visit notes", classification="phi")

# --- Vendor ----------------------------------------------------------------------------
acme = m.vendor(
    "Acme AI",
    services=["LLM inference", "fine-tuning"],
    certifications=[{"name": "soc2_type2", "expires": "2027-03-31"},
                    {"name": "iso27001", "expires": "2026-12-31"}],
    baa={"signed": "2025-02-01", "services": ["*"]},
    clauses=["data_ownership", "phi_handling", "breach_notification", "data_retention",
             "no_training_on_customer_data", "audit_rights"],
    breach_notification_days=5,
    trains_on_customer_data=False,
    last_assessment="2026-02-15",
    review_interval_days=365,
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
    processes=[dictation, history, draft],
    controls=["authn.sso_mfa", "audit.logging", "authz.rbac", "input.prompt_segregation",
              "privacy.data_minimisation", "infra.secrets_manager"],
)
ehr = m.datastore(
    "EHR", inside=ehr_zone, stores=[history, draft],
    controls=["crypto.at_rest", "authz.rbac", "audit.logging"],
)
index = m.vector_store(
    "Guideline and referral index", inside=clinic, stores=[guidelines, referral],
    controls=["authz.document_level_acl"],
)
ingest = m.process("Referral ingestion", inside=clinic)
llm = m.llm(
    "Hosted LLM",
    inside=vendor_cloud,
    provider=acme,
    processes=[dictation, history, referral],
)
finetune = m.training_pipeline("Note-style fine-tuning", inside=vendor_cloud, provider=acme,
                               trained_on=[training])
warehouse = m.datastore("Notes warehouse", inside=clinic, stores=[training],
                        controls=["crypto.at_rest"])

# --- Flows -----------------------------------------------------------------------------
m.flow(clinician, app, "dictation", data=[dictation], protocol="https")
m.flow(referrals, ingest, "referral upload", data=[referral], protocol="https")
m.flow(ingest, index, "referral chunks", data=[referral])
m.flow(index, app, "retrieved passages", data=[guidelines, referral])
m.flow(ehr, app, "patient history", data=[history], protocol="https")
m.flow(app, llm, "prompt", data=[dictation, history, referral, api_key], protocol="https")
m.flow(llm, app, "completion", data=[draft], protocol="https")
m.flow(app, ehr, "draft note", data=[draft], protocol="https")
m.flow(warehouse, finetune, "training export", data=[training], protocol="https")
m.flow(finetune, llm, "fine-tuned weights", protocol="https")
