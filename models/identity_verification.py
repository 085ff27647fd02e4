"""Identity verification (KYC): a selfie and an ID document decide who may open an account.

Applicants film a short selfie video and photograph their ID card in the mobile app (or, as a
fallback, upload photos on a web page). A liveness model decides whether a live person is in
front of the camera, a vendor OCR service reads the document, a forgery model checks it, and
a face-match model compares the selfie with the document portrait. Borderline cases go to a
review analyst. Partner banks call the same API and get the decision and the match score.
Consented selfies and analysts' verdicts retrain the liveness model.

Design questions this model illustrates:
- Presentation and injection attacks: printed photos, replayed videos, masks, and deepfakes
  fed through a virtual camera. Which models see only input that passed the synthetic-media
  check, and does the web upload fallback bypass it?
- The face-match and liveness models decide a security question on attacker-shaped input: are
  they tested and hardened against adversarial examples, and can partners' access to raw
  match scores be used to tune an attack?
- A vendor OCR service reads every ID document: what does the contract say about retention,
  training on our documents, breach notice, and is the vendor attested?
- Selfies and document images are biometric personal data: encrypted, access-controlled,
  retained only as long as the law requires, and de-identified before retraining?
- Analysts' verdicts become training labels: can a fraud ring that gets a few spoofs approved
  teach the liveness model to accept them (feedback-loop poisoning)?

Run:
    threatgraph check models/identity_verification.py
    threatgraph report models/identity_verification.py -o out/
"""

from threatgraph import Model, control

m = Model(
    "Identity verification",
    owner="trust-and-safety@example.com",
    version="2026.3",
    description="Selfie liveness, document OCR and forgery checks, and face matching for "
    "account opening, with analyst review and a partner verification API.",
    controls=[
        "process.threat_modeling",
        "process.secure_code_review",
        control("process.adversarial_testing", "https://wiki.example.com/kyc/red-team-2026"),
        # Each release is evaluated against print, replay, mask and injection attack sets.
        control("testing.adversarial_robustness", "https://wiki.example.com/kyc/pad-eval"),
        # The OCR vendor bills per page: a monthly cap stops the API before the bill runs away.
        "ratelimit.cost_budget",
        "supply.dependency_pinning",
        "supply.vulnerability_scanning",
        "supply.sbom",
        control("privacy.consent_for_training", "https://privacy.example.com/kyc/consent"),
    ],
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
platform = m.boundary("Verification platform", trust="internal")
vault_zone = m.boundary("Biometric vault", trust="restricted", inside=platform)
ocr_cloud = m.boundary("OCR vendor cloud", trust="third_party")
banks = m.boundary("Partner banks", trust="partner")

# --- Data ------------------------------------------------------------------------------
selfie = m.data("Selfie video", classification="pii", description="Biometric data.")
document = m.data("ID document image", classification="pii")
fields = m.data("Document fields", classification="pii")
template = m.data("Face template", classification="pii", description="Biometric template.")
checks = m.data("Check results", classification="confidential", description="pass/fail")
match_score = m.data("Match score", classification="confidential")
decision = m.data("Verification decision", classification="pii")
verdict = m.data("Analyst verdict", classification="training_data")
spoof_corpus = m.data("Public spoof corpus", classification="public")
liveness_weights = m.data("Liveness model weights", classification="model_weights")

# --- People and partners ---------------------------------------------------------------
applicant = m.actor("Applicant", inside=internet, description="Anyone, including fraudsters.")
bank = m.actor("Partner bank", inside=banks)
analyst = m.actor(
    "Review analyst",
    inside=platform,
    controls=["authn.sso_mfa", "process.security_training"],
)

# --- Vendor ----------------------------------------------------------------------------
ocr_vendor = m.vendor(
    "DocuRead",
    services=["document OCR"],
    certifications=[{"name": "iso27001", "expires": "2027-08-31"}],
    clauses=["data_retention", "data_ownership", "breach_notification"],
    breach_notification_days=2,
    # The standard terms allow DocuRead to "improve its models" with submitted images.
    last_assessment="2026-04-02",
    inside=ocr_cloud,
)

# --- Capture ---------------------------------------------------------------------------
mobile = m.app(
    "Mobile capture SDK",
    inside=platform,
    internet_facing=True,
    processes=[selfie, document],
    controls=["authn.api_keys", "ratelimit.per_user", "input.length_limits", "audit.logging"],
    description="Captures from the device camera and signs each capture with a device key.",
)
web_upload = m.app(
    "Web upload fallback",
    inside=platform,
    internet_facing=True,
    processes=[selfie, document],
    # Added for desktop users in 2025; it accepts files, not a live camera stream.
    controls=["authn.api_keys", "ratelimit.per_user", "audit.logging"],
)
injection_check = m.guardrail(
    "Injection and deepfake detector",
    inside=platform,
    processes=[selfie],
    controls=[
        "input.synthetic_media_detection",
        "input.adversarial_detection",
        "model.ensemble_or_input_transform",
        # Its verdicts are recorded in the Verification API's audit log; no rule asks a
        # guardrail for an audit trail of its own.
    ],
    description="Flags virtual cameras, replays and synthetic faces in the SDK's stream.",
)
api = m.app(
    "Verification API",
    inside=platform,
    processes=[selfie, document, fields, checks, match_score, decision],
    controls=[
        "authn.api_keys",
        # Each partner bank sees only its own applicants through the stores' least-privilege
        # access (declared there); no rule reads role-based access on an app.
        "audit.logging",
        "output.validation",
        "privacy.data_minimisation",
        # Per-key limits and daily quotas for applicants' sessions and for each partner bank.
        "ratelimit.per_user",
        "ratelimit.quotas",
        "input.length_limits",
    ],
)

# --- Models ----------------------------------------------------------------------------
liveness = m.ml_model(
    "Liveness model",
    inside=platform,
    source="internal",
    decides=["identity"],
    inputs=["biometric"],
    processes=[selfie],
    trained_on=[selfie, verdict],
    # Answers pass/fail only: no score leaves the platform.
    controls=[
        "model.adversarial_training",
        "output.restriction",
        "monitoring.abuse_detection",
        "audit.logging",
        "model.signing",
    ],
)
face_match = m.ml_model(
    "Face-match model",
    inside=platform,
    source="internal",
    decides=["identity"],
    inputs=["image", "biometric"],
    returns_scores=True,  # partners receive the similarity score with the decision
    processes=[selfie, document, template],
    controls=["audit.logging", "monitoring.abuse_detection"],
)
forgery = m.ml_model(
    "Document forgery model",
    inside=platform,
    source="internal",
    decides=["identity"],
    inputs=["image"],
    processes=[document],
    controls=[
        "model.ensemble_or_input_transform",
        "output.restriction",
        "monitoring.abuse_detection",
        "audit.logging",
    ],
)
ocr = m.ml_model(
    "Vendor OCR service",
    inside=ocr_cloud,
    provider=ocr_vendor,
    source="vendor",
    processes=[document, fields],
)

# --- Stores ----------------------------------------------------------------------------
evidence = m.datastore(
    "KYC evidence store",
    inside=vault_zone,
    stores=[selfie, document, fields],
    controls=[
        "crypto.at_rest",
        "authz.least_privilege",
        "privacy.retention_limits",
        "audit.logging",
        "infra.backup",
    ],
)
vault = m.datastore(
    "Face template vault",
    inside=vault_zone,
    stores=[template],
    controls=["crypto.at_rest", "crypto.field_level", "authz.least_privilege", "audit.logging"],
)
review = m.app(
    "Review console",
    inside=platform,
    processes=[selfie, document, checks, match_score, verdict],
    # Roles are checked where the data is held: the stores behind it declare their access
    # control, which is where the rules look for it (none reads role-based access on an app).
    controls=["authn.sso_mfa", "audit.logging"],
)

# --- Retraining ------------------------------------------------------------------------
training_data = m.dataset(
    "Liveness training set",
    inside=vault_zone,
    source="internal",
    stores=[selfie, verdict],
    controls=[
        "crypto.at_rest",
        "authz.least_privilege",
        "data.versioning",
        "data.write_access_control",
        "infra.backup",
        "audit.logging",
    ],
)
spoof_set = m.dataset(
    "Public anti-spoofing dataset",
    inside=internet,
    source="public_hub",
    stores=[spoof_corpus],
)
trainer = m.training_pipeline(
    "Liveness retraining",
    inside=platform,
    processes=[selfie, verdict, spoof_corpus],
    controls=["data.validation", "data.provenance", "audit.logging", "model.registry_approval"],
)
registry = m.model_registry(
    "Model registry",
    inside=platform,
    stores=[liveness_weights],
    controls=[
        "model.registry_approval",
        "model.signing",
        "model.access_control",
        "crypto.at_rest",
        "authz.least_privilege",
        "audit.logging",
    ],
)

# --- Flows: capture --------------------------------------------------------------------
m.flow(applicant, mobile, "selfie video and ID photo", data=[selfie, document], protocol="https")
m.flow(mobile, injection_check, "capture stream", data=[selfie], protocol="https")
m.flow(injection_check, api, "checked capture", data=[selfie], protocol="mtls")
m.flow(mobile, api, "document photo", data=[document], protocol="mtls")
# The fallback sends uploads straight to the API: nothing checks them for injection.
m.flow(applicant, web_upload, "uploaded photos", data=[selfie, document], protocol="https")
m.flow(web_upload, api, "uploaded capture", data=[selfie, document], protocol="mtls")

# --- Flows: model calls ----------------------------------------------------------------
m.flow(api, liveness, "selfie frames", data=[selfie], protocol="mtls")
m.flow(liveness, api, "liveness result", data=[checks], protocol="mtls")
m.flow(api, forgery, "document image", data=[document], protocol="mtls")
m.flow(forgery, api, "forgery result", data=[checks], protocol="mtls")
m.flow(api, ocr, "document for OCR", data=[document], protocol="https", controls=["authn.api_keys"])
m.flow(ocr, api, "extracted fields", data=[fields], protocol="https")
m.flow(api, face_match, "selfie and portrait", data=[selfie, document], protocol="mtls")
m.flow(face_match, api, "match score", data=[match_score], protocol="mtls")
m.flow(face_match, vault, "face template", data=[template], protocol="mtls")

# --- Flows: outcome --------------------------------------------------------------------
m.flow(api, evidence, "evidence", data=[selfie, document, fields], protocol="mtls")
m.flow(api, mobile, "decision", data=[decision], protocol="mtls")
m.flow(mobile, applicant, "result", data=[decision], protocol="https")
m.flow(bank, api, "verification request", data=[selfie, document], protocol="https")
m.flow(api, bank, "decision and score", data=[decision, match_score], protocol="https")
m.flow(
    api, review, "borderline case", data=[selfie, document, checks, match_score], protocol="https"
)
m.flow(review, analyst, "case", data=[selfie, document, checks, match_score], protocol="https")
m.flow(analyst, review, "verdict", data=[verdict], protocol="https")

# --- Flows: retraining (the feedback loop) ---------------------------------------------
m.flow(review, training_data, "labelled selfies", data=[selfie, verdict], protocol="mtls")
m.flow(training_data, trainer, "training batch", data=[selfie, verdict], protocol="mtls")
m.flow(
    spoof_set,
    trainer,
    "spoof examples",
    data=[spoof_corpus],
    protocol="https",
    operation="response",
)
m.flow(trainer, registry, "candidate model", data=[liveness_weights], protocol="mtls")
m.flow(registry, liveness, "approved model", data=[liveness_weights], protocol="mtls")

# --- Risk decisions --------------------------------------------------------------------
# Applicants have no accounts: each verification is a one-off session that a partner bank
# opens. The threat on these entry points is spoofed media (TG-EVA-003), not account takeover.
for entry in ("mobile-capture-sdk", "web-upload-fallback"):
    m.false_positive(
        f"TG-SEC-011/{entry}",
        reason="Applicants never sign in: a verification is a one-off session opened by a "
        "partner bank, so there is no account to take over.",
        owner="idv-platform@example.com",
    )
