"""Card-fraud detection: a gradient-boosted model scores every payment, online and in batch.

Checkout sends each payment to the fraud model, which reads real-time features from a
feature store and answers with a score; merchants can also ask for the score through a
partner API. Overnight, a batch job re-scores the day's payments and files alerts for fraud
analysts. Analysts' verdicts and the card network's chargebacks become labels, and a nightly
pipeline retrains the model, which a registry promotes to production.

Design questions this model illustrates:
- Fraudsters see the score's effect on every attempt: can they probe it and learn to stay
  under the threshold (evasion), or copy the model through the merchant API (extraction)?
- The merchant API returns raw scores: does it help an attacker train a proxy model, or
  reveal whether a card was in the training data (membership inference)?
- Feedback loops: analysts' verdicts and chargebacks flow back into training. Who can shape
  the labels (poisoning by a merchant who disputes honestly flagged payments)?
- The consortium feed writes features from other banks straight into the feature store: what
  checks stand between a partner's bug or attack and tomorrow's model?
- The merchant-text embedder comes from a public model hub: is the file scanned, signed and
  pinned, and is it safe to load (pickle)?
- Can a fraud ring flood the alert queue with cheap decoys so analysts miss the real case?

Run:
    threatgraph check models/fraud_detection.py
    threatgraph report models/fraud_detection.py -o out/
"""

from threatgraph import Model, control

m = Model(
    "Card fraud detection",
    owner="risk-ml@example.com",
    version="7.3",
    description="Online and batch fraud scoring of card payments with a feature store, "
    "nightly retraining on analyst and chargeback labels, and a gated model registry.",
    controls=[
        "process.threat_modeling",
        control("process.secure_code_review", "https://git.example.com/risk-ml/CODEOWNERS"),
        "supply.dependency_pinning",
        "supply.vulnerability_scanning",
        "supply.sbom",
        # Fraud prevention is a documented legitimate interest for training on payments.
        control("privacy.consent_for_training", "https://privacy.example.com/dpia/fraud-ml"),
    ],
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
payments = m.boundary("Payments platform", trust="internal")
ml_platform = m.boundary("ML platform", trust="internal")
# The labelled training data sits in a restricted enclave of the ML platform.
enclave = m.boundary("Training enclave", trust="restricted", inside=ml_platform)
merchants = m.boundary("Merchant network", trust="partner")
card_network = m.boundary("Card network", trust="third_party")

# --- Data ------------------------------------------------------------------------------
payment = m.data("Payment", classification="pii", description="PAN token, amount, device.")
features = m.data("Risk features", classification="confidential")
consortium = m.data("Consortium signals", classification="confidential")
score = m.data("Fraud score", classification="confidential")
alert = m.data("Fraud alert", classification="pii")
verdict = m.data("Analyst verdict", classification="training_data")
chargeback = m.data("Chargeback record", classification="confidential")
training_set = m.data(
    "Labelled payments",
    classification="pii",
    description="Two years of payments joined with verdicts and chargebacks.",
)
weights = m.data("Fraud model weights", classification="model_weights")
embedder_weights = m.data("Embedder weights", classification="model_weights")
merchant_text = m.data("Merchant descriptor", classification="public")

# --- People and partners ---------------------------------------------------------------
shopper = m.actor("Shopper", inside=internet)
merchant = m.actor("Merchant risk team", inside=merchants)
analyst = m.actor(
    "Fraud analyst",
    inside=payments,
    decides=["fraud"],
    controls=["authn.sso_mfa", "process.security_training"],
)
# The card network pushes chargebacks and consortium risk signals over a partner link.
network_feed = m.app(
    "Card network feed",
    inside=card_network,
    processes=[chargeback, consortium],
    description="Chargebacks and cross-issuer risk signals published by the card network.",
)

# --- Online scoring --------------------------------------------------------------------
checkout = m.app(
    "Checkout API",
    inside=payments,
    internet_facing=True,
    processes=[payment],
    controls=["authn.api_keys", "ratelimit.per_user", "audit.logging", "input.validation"],
)
merchant_api = m.app(
    "Merchant risk API",
    inside=payments,
    internet_facing=True,
    processes=[payment, score],
    # Keys per merchant and per-key rate limits; no quota on total calls, no abuse monitoring.
    controls=["authn.api_keys", "ratelimit.per_user", "audit.logging"],
)
fraud_model = m.ml_model(
    "Fraud model",
    inside=ml_platform,
    owner="risk-ml@example.com",
    decides=["fraud", "security"],
    returns_scores=True,  # merchants get the raw 0-1000 score
    source="internal",
    trained_on=[training_set],
    processes=[payment, features],
    # Serving refuses a model whose registry signature does not verify.
    controls=["audit.logging", "model.access_control", "model.signing", "monitoring.model_drift"],
)
embedder = m.ml_model(
    "Merchant text embedder",
    inside=ml_platform,
    source="public_hub",  # a sentence-embedding model downloaded from a public hub
    processes=[merchant_text],
    description="Turns merchant descriptors into embeddings used as features.",
)
feature_store = m.feature_store(
    "Feature store",
    inside=ml_platform,
    stores=[features, consortium],
    controls=["crypto.at_rest", "authz.rbac", "audit.logging", "data.versioning"],
)
stream_job = m.process(
    "Streaming feature job",
    inside=ml_platform,
    processes=[payment, features],
    controls=["audit.logging", "data.validation"],
)
consortium_ingest = m.process(
    "Consortium ingest",
    inside=ml_platform,
    processes=[consortium],
    controls=["audit.logging"],
)

# --- Batch scoring and case work -------------------------------------------------------
ledger = m.datastore(
    "Payment ledger",
    inside=payments,
    stores=[payment],
    controls=["crypto.at_rest", "authz.least_privilege", "audit.logging", "infra.backup"],
)
batch_job = m.process(
    "Nightly batch scoring",
    inside=ml_platform,
    processes=[payment, score],
    controls=["audit.logging"],
)
case_queue = m.datastore(
    "Alert queue",
    inside=payments,
    stores=[alert],
    # Cases are assigned per team; the queue only returns a team's own cases.
    controls=["crypto.at_rest", "authz.rbac", "authz.document_level_acl", "audit.logging"],
)
case_app = m.app(
    "Case management",
    inside=payments,
    processes=[alert, verdict],
    # Roles are checked where the data is held: the stores behind it declare their access
    # control, which is where the rules look for it (none reads role-based access on an app).
    controls=["authn.sso_mfa", "authn.user_identity_propagation", "audit.logging"],
)

# --- Training and release --------------------------------------------------------------
labels = m.dataset(
    "Labelled payments dataset",
    inside=enclave,
    source="internal",
    stores=[training_set],
    controls=[
        "crypto.at_rest",
        "authz.least_privilege",
        "data.versioning",
        "data.write_access_control",
        "infra.backup",
        "audit.logging",
    ],
)
trainer = m.training_pipeline(
    "Nightly training",
    inside=ml_platform,
    processes=[training_set, features],
    controls=["data.validation", "data.provenance", "audit.logging"],
)
registry = m.model_registry(
    "Model registry",
    inside=ml_platform,
    stores=[weights, embedder_weights],
    controls=[
        control("model.registry_approval", "https://wiki.example.com/risk-ml/model-release"),
        "model.signing",
        "model.access_control",
        "crypto.at_rest",
        "authz.least_privilege",
        "audit.logging",
    ],
)

# --- Flows: online scoring -------------------------------------------------------------
m.flow(shopper, checkout, "payment", data=[payment], protocol="https")
m.flow(checkout, fraud_model, "score request", data=[payment], protocol="mtls")
m.flow(fraud_model, checkout, "score", data=[score], protocol="mtls")
m.flow(merchant, merchant_api, "risk query", data=[payment], protocol="https")
m.flow(merchant_api, fraud_model, "score request", data=[payment], protocol="mtls")
m.flow(fraud_model, merchant_api, "score", data=[score], protocol="mtls")
m.flow(merchant_api, merchant, "risk score", data=[score], protocol="https")
m.flow(feature_store, fraud_model, "online features", data=[features, consortium], protocol="mtls")
m.flow(embedder, fraud_model, "descriptor embedding", data=[merchant_text], protocol="mtls")

# --- Flows: features -------------------------------------------------------------------
m.flow(checkout, stream_job, "payment events", data=[payment], protocol="tls")
m.flow(stream_job, feature_store, "feature updates", data=[features], protocol="mtls")
m.flow(
    network_feed,
    consortium_ingest,
    "consortium signals",
    data=[consortium],
    protocol="https",
    controls=["authn.api_keys"],
)
m.flow(consortium_ingest, feature_store, "consortium features", data=[consortium], protocol="mtls")

# --- Flows: batch scoring and the analysts ---------------------------------------------
m.flow(checkout, ledger, "record payment", data=[payment], protocol="mtls")
m.flow(ledger, batch_job, "day's payments", data=[payment], protocol="mtls")
m.flow(batch_job, fraud_model, "batch score request", data=[payment], protocol="mtls")
m.flow(fraud_model, batch_job, "batch scores", data=[score], protocol="mtls")
m.flow(batch_job, case_queue, "alerts", data=[alert], protocol="mtls")
m.flow(case_queue, case_app, "open cases", data=[alert], protocol="https")
m.flow(case_app, analyst, "case view", data=[alert], protocol="https")
m.flow(analyst, case_app, "verdict", data=[verdict], protocol="https")

# --- Flows: labels, training and release (the feedback loop) ---------------------------
m.flow(case_app, labels, "verdict labels", data=[verdict], protocol="mtls")
m.flow(
    network_feed,
    labels,
    "chargeback labels",
    data=[chargeback],
    protocol="https",
    controls=["authn.api_keys"],
)
m.flow(ledger, labels, "payment history", data=[payment], protocol="mtls")
m.flow(feature_store, labels, "offline features", data=[features], protocol="mtls")
m.flow(labels, trainer, "training set", data=[training_set], protocol="mtls")
m.flow(trainer, registry, "candidate model", data=[weights], protocol="mtls")
m.flow(registry, fraud_model, "promoted model", data=[weights], protocol="mtls")
m.flow(registry, embedder, "embedder weights", data=[embedder_weights], protocol="mtls")

# --- Risk decisions --------------------------------------------------------------------
# Shoppers pay as guests: the Checkout API has no shopper accounts to take over. Card testing
# through it is the probing and rate-limit findings' concern, not a sign-in's.
m.false_positive(
    "TG-SEC-011/checkout-api",
    reason="Guest checkout: shoppers never sign in, so there is no account to take over; card "
    "testing is covered by per-key limits and TG-EVA-002.",
    owner="payments-platform@example.com",
)
