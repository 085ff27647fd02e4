"""Ambient AI scribe: exam-room audio to a drafted visit note in the EHR.

Design questions this model illustrates:
- A recorder app on a clinic tablet captures the conversation between patient and clinician:
  the spoken words are PHI, but the room is not a network. Which rules apply to the capture,
  and which to the upload?
- Audio leaves for a speech-to-text vendor and the transcript for an LLM vendor: do both
  hold a BAA that covers the service, and what may each do with the data (training on it)?
- Vendor facts are dated and sometimes contradict each other: an expired SOC 2, a BAA close
  to its end, an attestation that is not a certification, terms that allow training beside a
  clause that forbids it. Which of them are checked, and which only written down?
- The draft note is generated content that becomes part of the medical record: who reviews
  it, and is the audio archive (which no model writes) kept apart from that question?
- The patient is in the room but is not workforce: training and sign-in rules are for staff.

Run:
    threatgraph check models/ambient_scribe.py
    threatgraph sra models/ambient_scribe.py -o out/sra
"""

from threatgraph import Model, control

m = Model(
    "Ambient AI scribe",
    owner="clinical-informatics@example.org",
    version="2026.4",
    description="A recorder app on an exam-room tablet captures the visit conversation; the "
    "scribe service sends the audio to a speech-to-text vendor and the transcript to an LLM "
    "vendor, which drafts a visit note. The draft is filed in the EHR as a pending note that "
    "the clinician reviews, edits and signs.",
    controls=[
        "process.threat_modeling",
        control("process.risk_analysis", "https://compliance.example.org/risk/ambient-scribe/2026"),
        control("hipaa.contingency_plan", "https://compliance.example.org/bcp/clinical-ai"),
        control("process.security_training", "https://lms.example.org/courses/ambient-scribe"),
        "process.incident_response",
    ],
)

# --- Trust boundaries -------------------------------------------------------------------
clinic = m.boundary("Clinic network", trust="internal")
exam_room = m.boundary("Exam room", trust="internal", inside=clinic)
ehr_zone = m.boundary("EHR enclave", trust="restricted", inside=clinic)
speech_cloud = m.boundary("Voxly cloud", trust="third_party")
llm_cloud = m.boundary("Quill AI cloud", trust="third_party")

# --- Data ------------------------------------------------------------------------------
conversation = m.data("Visit conversation", classification="phi")
audio = m.data("Visit audio", classification="phi")
transcript = m.data("Visit transcript", classification="phi")
draft = m.data("Draft note", classification="phi")
signed = m.data("Signed note", classification="phi")
chart = m.data("Chart context", classification="phi")

# --- Vendors ---------------------------------------------------------------------------
# The LLM vendor's cloud host: a sub-processor under Quill's subcontractor BAA.
stratus = m.vendor(
    "Stratus cloud",
    services=["GPU hosting for Quill AI"],
    certifications=[{"name": "soc2_type2", "expires": "2027-08-31"}],
    baa={"signed": "2024-06-01"},
    inside=llm_cloud,
)
# Speech-to-text: signed a BAA for its medical transcription API, but its standard terms let
# it use audio to improve its models, and the clinic also filed the vendor's "no training"
# addendum (which the terms contradict); its SOC 2 report period has ended.
voxly = m.vendor(
    "Voxly Speech",
    services=["medical speech-to-text"],
    certifications=[
        {
            "name": "soc2_type2",
            "expires": "2026-09-30",
            "scope": "Medical transcription API",
            "period_start": "2024-07-01",
            "period_end": "2025-06-30",
        },
    ],
    baa={
        "signed": "2025-09-15",
        "services": ["speech-to-text"],
        "evidence": "https://contracts.example.org/voxly/baa-2025.pdf",
    },
    clauses=[
        "phi_handling",
        "breach_notification",
        "audit_rights",
        "data_retention",
        "no_training_on_customer_data",
    ],
    breach_notification_days=30,
    trains_on_customer_data=True,
    last_assessment="2026-01-20",
    review_interval_days=365,
    none=["verification"],
    inside=speech_cloud,
)
# LLM vendor: a full contract and a yearly safeguard verification, but its BAA ends a few
# weeks after the analysis date and a renewal is not yet under way.
quill = m.vendor(
    "Quill AI",
    services=["clinical note drafting LLM"],
    certifications=[
        {
            "name": "soc2_type2",
            "expires": "2027-05-31",
            "evidence": "https://trust.quill-ai.example/reports/soc2-2026.pdf",
            "scope": "Clinical drafting API and its hosting",
            "period_start": "2025-04-01",
            "period_end": "2026-03-31",
        },
        {"name": "iso27001", "expires": "2028-02-28"},
    ],
    baa={
        "signed": "2024-01-10",
        "expires": "2027-01-09",
        "services": ["note-drafting-llm"],
        "evidence": "https://contracts.example.org/quill/baa-2024.pdf",
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
    breach_notification_days=10,
    trains_on_customer_data=False,
    last_assessment="2026-05-04",
    review_interval_days=365,
    subprocessors=[stratus],
    verification={
        "date": "2026-05-04",
        "certified_by": "Quill AI CISO",
        "evidence": "https://contracts.example.org/quill/safeguards-verification-2026.pdf",
    },
    contingency_notice_hours=24,
    inside=llm_cloud,
)

# --- People ----------------------------------------------------------------------------
# The patient is in the room (inside the clinic's zone) but is not workforce.
patient = m.actor("Patient", inside=exam_room, workforce=False, processes=[conversation])
clinician = m.actor("Clinician", inside=exam_room, controls=["authn.sso_mfa"])

# --- The clinic's components -----------------------------------------------------------
recorder = m.app(
    "Exam-room recorder",
    inside=exam_room,
    owner="clinical-informatics@example.org",
    stores=[audio],  # keeps the recording on the tablet until the upload succeeds
    controls=["audit.logging", "infra.secrets_manager"],
)
scribe = m.app(
    "Scribe service",
    inside=clinic,
    owner="clinical-informatics@example.org",
    processes=[audio, transcript, chart, draft],
    controls=[
        "authn.sso_mfa",
        "audit.logging",
        "audit.prompt_logging",
        "input.prompt_segregation",
        "privacy.data_minimisation",
        "infra.secrets_manager",
        "output.human_review",
    ],
)
archive = m.datastore(
    "Audio archive",
    inside=clinic,
    owner="clinical-informatics@example.org",
    stores=[audio],
    controls=["crypto.at_rest", "authz.rbac", "audit.logging", "infra.backup"],
)
ehr = m.datastore(
    "EHR",
    inside=ehr_zone,
    owner="ehr-team@example.org",
    stores=[chart, draft, signed],
    controls=[
        "crypto.at_rest",
        "authz.rbac",
        "audit.logging",
        "infra.backup",
        "hipaa.integrity_controls",
    ],
)

# --- Vendor-hosted models --------------------------------------------------------------
stt = m.ml_model(
    "Speech-to-text",
    inside=speech_cloud,
    provider=voxly,
    inputs=["audio"],
    processes=[audio, transcript],
)
llm = m.llm(
    "Note-drafting LLM",
    inside=llm_cloud,
    provider=quill,
    decides=["medical"],
    processes=[transcript, chart, draft],
)

# --- Flows -----------------------------------------------------------------------------
# Speech to the tablet's microphone: a physical capture, not a network flow.
m.flow(patient, recorder, "spoken history", data=[conversation], physical=True)
m.flow(clinician, recorder, "spoken findings", data=[conversation], physical=True)
m.flow(recorder, scribe, "audio upload", data=[audio], protocol="https")
m.flow(scribe, archive, "archive audio", data=[audio], protocol="https", operation="write")
m.flow(scribe, stt, "transcription request", data=[audio], protocol="https")
m.flow(stt, scribe, "transcript", data=[transcript], protocol="https")
m.flow(scribe, ehr, "chart context", data=[chart], protocol="https", operation="read")
m.flow(scribe, llm, "drafting prompt", data=[transcript, chart], protocol="https")
m.flow(llm, scribe, "draft note", data=[draft], protocol="https")
# The draft lands in the EHR as a pending note; the clinician edits and signs it there.
m.flow(scribe, ehr, "pending draft", data=[draft], protocol="mtls", operation="write")
m.flow(clinician, ehr, "draft for review", data=[draft], protocol="https", operation="read")
m.flow(clinician, ehr, "signed note", data=[signed], protocol="https", operation="write")
