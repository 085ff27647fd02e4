"""LLM fine-tuning platform: product teams turn open-weight models into task-specific models.

Engineers pick a base model from a public model hub, assemble training data (datasets from
public hubs, a crawl of documentation sites, scrubbed customer support transcripts, and
examples written by a labelling vendor), fine-tune on the GPU cluster, evaluate against held-out
sets, and register the result. Approved models are served internally; some are also published
to the public hub under the company's name.

Design questions this model illustrates:
- Datasets and base weights from public hubs: who checks provenance and integrity, and can a
  poisoned sample plant a backdoor that evaluation never triggers?
- The crawl of the open web feeds training: which sites are allowed, and what catches pages
  written to poison crawlers?
- The labelling vendor's workforce writes and corrects examples: what review stops a labeller
  (or a compromised vendor account) from slipping in bad labels, and what data do they see?
- Customer transcripts are scrubbed before training: does the fine-tuned model still
  regurgitate what it saw, and is the scrubbing on every route into training?
- Publishing weights to a public hub hands them to everyone: was the model trained on anything
  that must not leave, and can its outputs be traced back to us (watermarking)?
- Base weights arrive as files: are they in a safe format (no pickle), scanned and pinned?

Run:
    threatgraph check models/finetuning_platform.py
    threatgraph report models/finetuning_platform.py -o out/
"""

from threatgraph import Model, control

m = Model(
    "LLM fine-tuning platform",
    owner="ml-platform@example.com",
    version="3.2",
    description="Dataset ingestion from public hubs, a web crawl, scrubbed transcripts and a "
    "labelling vendor; fine-tuning on a GPU cluster; evaluation; internal serving and public "
    "release of approved models.",
    controls=[
        "process.threat_modeling",
        "process.secure_code_review",
        "supply.dependency_pinning",
        "supply.vulnerability_scanning",
        "supply.sbom",
        control("privacy.consent_for_training", "https://privacy.example.com/terms/ai-training"),
    ],
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
platform = m.boundary("ML platform", trust="internal")
labelling = m.boundary("Labelling vendor", trust="third_party")

# --- Data ------------------------------------------------------------------------------
hub_corpus = m.data("Hub dataset files", classification="public")
crawl = m.data("Crawled pages", classification="public")
transcripts = m.data("Support transcripts", classification="pii")
# Scrubbing removes names, emails and numbers; what customers wrote stays confidential.
scrubbed = m.data("Scrubbed transcripts", classification="confidential")
samples = m.data("Samples to label", classification="training_data")
labels = m.data("Labelled examples", classification="training_data")
curated = m.data("Curated training set", classification="training_data")
eval_data = m.data("Evaluation sets", classification="internal")
base_weights = m.data("Base model weights", classification="model_weights")
tuned_weights = m.data("Fine-tuned weights", classification="model_weights")
prompts = m.data("Playground prompts", classification="internal")
hub_token = m.data("Hub publishing token", classification="secret")

# --- Outside sources -------------------------------------------------------------------
hub_datasets = m.dataset(
    "Public hub datasets",
    inside=internet,
    source="public_hub",
    stores=[hub_corpus],
    description="Instruction-tuning datasets pulled by name and revision from a public hub.",
    # Pulled at a fixed revision; plain data files, the loader runs no script shipped with them.
    artifact={"hub": "huggingface:public-datasets/instructions", "pinned": True, "remote_code": False},
)
docs_sites = m.external_content(
    "Documentation sites",
    content="web",
    inside=internet,
    stores=[crawl],
    description="Public developer documentation crawled weekly for domain text.",
)
public_hub = m.external_content(
    "Public model hub",
    content="web",
    inside=internet,
    description="Where approved open models are published under the company's account.",
)

# --- Labelling vendor ------------------------------------------------------------------
label_vendor = m.vendor(
    "LabelWorks",
    services=["data labelling", "example writing"],
    clauses=["data_ownership", "data_retention", "audit_rights"],
    last_assessment="2026-02-17",
    inside=labelling,
)
labeller = m.actor("Vendor labeller", inside=labelling)
workbench = m.app(
    "Labelling workbench",
    inside=labelling,
    provider=label_vendor,
    processes=[samples, labels],
    controls=["authn.sso_mfa", "audit.logging"],
)

# --- People ----------------------------------------------------------------------------
engineer = m.actor(
    "ML engineer",
    inside=platform,
    controls=["authn.sso_mfa", "process.security_training"],
)

# --- Ingestion -------------------------------------------------------------------------
ingest = m.process(
    "Dataset ingestion",
    inside=platform,
    processes=[hub_corpus],
    # Records source, revision and file hashes of every download.
    controls=["data.provenance", "data.validation", "audit.logging"],
)
crawler = m.process(
    "Docs crawler",
    inside=platform,
    processes=[crawl],
    controls=["data.provenance", "audit.logging"],
)
support_db = m.datastore(
    "Support ticket warehouse",
    inside=platform,
    stores=[transcripts],
    controls=["crypto.at_rest", "authz.rbac", "audit.logging", "infra.backup"],
)
scrubber = m.process(
    "PII scrubber",
    inside=platform,
    processes=[transcripts, scrubbed],
    controls=[
        control("privacy.deidentification", "https://wiki.example.com/ml/pii-scrubber-eval"),
        "privacy.data_minimisation",
        "audit.logging",
    ],
)
lake = m.dataset(
    "Training data lake",
    inside=platform,
    source="internal",
    stores=[hub_corpus, crawl, scrubbed, labels, curated],
    controls=[
        "data.versioning",
        "data.write_access_control",
        "infra.backup",
        "crypto.at_rest",
        "audit.logging",
        "authz.rbac",
    ],
)
eval_sets = m.dataset(
    "Evaluation sets",
    inside=platform,
    source="internal",
    stores=[eval_data],
    controls=["data.versioning", "data.write_access_control", "infra.backup"],
)

# --- Training --------------------------------------------------------------------------
base_model = m.llm(
    "Open-weight base model",
    inside=platform,
    source="public_hub",
    stores=[base_weights],
    # What the platform pulls: safetensors at a pinned revision, with the architecture the
    # training library already has (no trust_remote_code).
    artifact={
        "format": "safetensors",
        "hub": "huggingface:open-weights/base-llm",
        "pinned": True,
        "remote_code": False,
        "loader": "transformers",
    },
    # Weights are safetensors only and scanned on download; nobody signs them upstream.
    controls=["model.safe_serialization", "model.scanning", "supply.dependency_pinning"],
)
finetune = m.training_pipeline(
    "Fine-tuning jobs",
    inside=platform,
    processes=[curated, scrubbed, base_weights],
    controls=["data.validation", "data.provenance", "audit.logging", "agent.sandbox"],
)
registry = m.model_registry(
    "Model registry",
    inside=platform,
    stores=[tuned_weights],
    controls=[
        control("model.registry_approval", "https://wiki.example.com/ml/release-checklist"),
        "model.signing",
        "model.access_control",
        "crypto.at_rest",
        "authz.least_privilege",
        "authz.rbac",
        "authn.sso_mfa",
        "audit.logging",
    ],
)
evaluator = m.process(
    "Evaluation harness",
    inside=platform,
    processes=[eval_data],
    controls=["audit.logging"],
)
tuned_model = m.llm(
    "Fine-tuned model",
    inside=platform,
    source="internal",
    trained_on=[curated, scrubbed],
    artifact={"format": "safetensors", "base_model": "open-weight-base-model"},
    controls=[
        "model.signing",
        "guardrail.input_filter",
        "guardrail.system_prompt_hardening",
        "audit.logging",
    ],
)
playground = m.app(
    "Evaluation playground",
    inside=platform,
    processes=[prompts],
    controls=["authn.sso_mfa", "ratelimit.per_user", "audit.logging"],
)
release = m.process(
    "Release job",
    inside=platform,
    processes=[tuned_weights, hub_token],
    controls=["infra.secrets_manager", "audit.logging"],
    description="Pushes an approved model and its model card to the public hub.",
)

# --- Flows: ingestion ------------------------------------------------------------------
# A download answers our own request: a response, not a call into the platform.
m.flow(
    hub_datasets,
    ingest,
    "dataset download",
    data=[hub_corpus],
    protocol="https",
    operation="response",
)
m.flow(ingest, lake, "raw datasets", data=[hub_corpus], protocol="https")
m.flow(docs_sites, crawler, "crawl", data=[crawl], protocol="https")
m.flow(crawler, lake, "crawled text", data=[crawl], protocol="https")
m.flow(support_db, scrubber, "transcript export", data=[transcripts], protocol="mtls")
m.flow(scrubber, lake, "scrubbed transcripts", data=[scrubbed], protocol="https")

# --- Flows: labelling ------------------------------------------------------------------
m.flow(lake, workbench, "samples to label", data=[samples], protocol="https")
m.flow(workbench, labeller, "labelling task", data=[samples], protocol="https")
m.flow(labeller, workbench, "labels", data=[labels], protocol="https")
m.flow(
    workbench,
    lake,
    "labelled examples",
    data=[labels],
    protocol="https",
    controls=["authn.api_keys"],
)

# --- Flows: training and evaluation ----------------------------------------------------
m.flow(lake, finetune, "training set", data=[curated, scrubbed], protocol="mtls")
m.flow(base_model, finetune, "base weights", data=[base_weights], protocol="mtls")
m.flow(finetune, registry, "fine-tuned checkpoint", data=[tuned_weights], protocol="mtls")
m.flow(registry, tuned_model, "approved weights", data=[tuned_weights], protocol="mtls")
m.flow(eval_sets, evaluator, "held-out examples", data=[eval_data], protocol="mtls")
m.flow(evaluator, tuned_model, "eval prompts", data=[eval_data], protocol="mtls")
m.flow(tuned_model, evaluator, "eval completions", data=[eval_data], protocol="mtls")
m.flow(engineer, playground, "prompt", data=[prompts], protocol="https")
m.flow(playground, tuned_model, "prompt", data=[prompts], protocol="https")
m.flow(tuned_model, playground, "completion", data=[prompts], protocol="https")
m.flow(playground, engineer, "completion", data=[prompts], protocol="https")

# --- Flows: public release -------------------------------------------------------------
m.flow(registry, release, "approved release", data=[tuned_weights], protocol="mtls")
m.flow(release, public_hub, "publish weights", data=[tuned_weights, hub_token], protocol="https")
