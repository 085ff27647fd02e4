"""Mapping tables between the Open Threat Model (OTM 0.2.0) and threatgraph.

Shared by the OTM loader and exporter and documented in docs/interop.md.
"""

from __future__ import annotations

from threatgraph.model.schema import Classification, Kind, Trust

#: Key under ``attributes`` where threatgraph keeps the facts OTM has no field for, so that
#: threatgraph -> OTM -> threatgraph loses nothing. (Not plain "threatgraph": a JSON file with
#: that key and a "model" key would look like a threatgraph model file to a directory search.)
ATTR = "x-threatgraph"

#: OTM versions this reader understands (0.1.0 differs only in fields threatgraph ignores).
SUPPORTED_VERSIONS = ("0.1.0", "0.2.0")
EXPORT_VERSION = "0.2.0"

#: Trust level -> OTM trustRating written on export (0 = no trust, 100 = full trust).
TRUST_RATING: dict[Trust, int] = {
    Trust.UNTRUSTED: 0,
    Trust.THIRD_PARTY: 30,
    Trust.PARTNER: 50,
    Trust.INTERNAL: 75,
    Trust.RESTRICTED: 100,
}


def trust_of_rating(rating: float) -> Trust:
    """Trust level of an OTM trustRating: <=20 untrusted, <=40 third party, <=60 partner,
    <=85 internal, above that restricted."""
    if rating <= 20:
        return Trust.UNTRUSTED
    if rating <= 40:
        return Trust.THIRD_PARTY
    if rating <= 60:
        return Trust.PARTNER
    if rating <= 85:
        return Trust.INTERNAL
    return Trust.RESTRICTED


#: Classification -> OTM asset confidentiality written on export.
CONFIDENTIALITY: dict[Classification, int] = {
    Classification.PUBLIC: 0,
    Classification.INTERNAL: 30,
    Classification.TRAINING_DATA: 50,
    Classification.CONFIDENTIAL: 70,
    Classification.MODEL_WEIGHTS: 80,
    Classification.PII: 85,
    Classification.PHI: 90,
    Classification.SECRET: 100,
}


def classification_of_confidentiality(value: float) -> Classification:
    """Classification of a foreign OTM asset from its confidentiality score: <=20 public,
    <=50 internal, above that confidential (OTM cannot say whether it is personal data)."""
    if value <= 20:
        return Classification.PUBLIC
    if value <= 50:
        return Classification.INTERNAL
    return Classification.CONFIDENTIAL


#: Component types used by other tools (IriusRisk examples, Threat Dragon shapes, common
#: architecture words) -> threatgraph kind. Our own kinds (``llm``, ``vector_store`` or
#: ``vector-store``) are always accepted. Anything else is an error that names this table and
#: ``import otm --map-type TYPE=KIND``.
TYPE_ALIASES: dict[str, Kind] = {
    # people and their clients
    "actor": Kind.ACTOR,
    "user": Kind.ACTOR,
    "person": Kind.ACTOR,
    "human": Kind.ACTOR,
    "external-user": Kind.ACTOR,
    "web-client": Kind.ACTOR,
    "browser": Kind.ACTOR,
    "client": Kind.ACTOR,
    "mobile-client": Kind.ACTOR,
    "mobile-app": Kind.ACTOR,
    "external-entity": Kind.ACTOR,
    "tm.actor": Kind.ACTOR,
    # applications and services
    "web-service": Kind.APP,
    "web-application": Kind.APP,
    "web-app": Kind.APP,
    "web-server": Kind.APP,
    "api": Kind.APP,
    "api-gateway": Kind.APP,
    "rest-api": Kind.APP,
    "backend": Kind.APP,
    "service": Kind.APP,
    "microservice": Kind.APP,
    "server": Kind.APP,
    "application": Kind.APP,
    "load-balancer": Kind.APP,
    "tm.process": Kind.PROCESS,
    # processes and code
    "process": Kind.PROCESS,
    "function": Kind.PROCESS,
    "lambda": Kind.PROCESS,
    "aws-lambda": Kind.PROCESS,
    "serverless-function": Kind.PROCESS,
    "job": Kind.PROCESS,
    "batch-job": Kind.PROCESS,
    "worker": Kind.PROCESS,
    "code-class": Kind.PROCESS,
    "class": Kind.PROCESS,
    "module": Kind.PROCESS,
    # stores
    "database": Kind.DATASTORE,
    "db": Kind.DATASTORE,
    "sql-database": Kind.DATASTORE,
    "nosql-database": Kind.DATASTORE,
    "data-store": Kind.DATASTORE,
    "storage": Kind.DATASTORE,
    "bucket": Kind.DATASTORE,
    "s3": Kind.DATASTORE,
    "aws-s3": Kind.DATASTORE,
    "blob-storage": Kind.DATASTORE,
    "file-system": Kind.DATASTORE,
    "filesystem": Kind.DATASTORE,
    "cache": Kind.DATASTORE,
    "queue": Kind.DATASTORE,
    "message-queue": Kind.DATASTORE,
    "tm.store": Kind.DATASTORE,
    # AI components
    "large-language-model": Kind.LLM,
    "language-model": Kind.LLM,
    "ml-model": Kind.ML_MODEL,
    "model": Kind.ML_MODEL,
    "ai-agent": Kind.AGENT,
    "mcp-server": Kind.TOOL,
    "vector-database": Kind.VECTOR_STORE,
    "vector-db": Kind.VECTOR_STORE,
    # outside parties
    "external-service": Kind.VENDOR,
    "third-party-service": Kind.VENDOR,
    "saas": Kind.VENDOR,
}


def normalise_type(value: str) -> str:
    """Lowercase with '-' between words: 'Web Client' and 'web_client' become 'web-client'."""
    import re

    return re.sub(r"[^a-z0-9.]+", "-", value.strip().lower()).strip("-")


def kind_of_type(value: str, extra: dict[str, Kind] | None = None) -> Kind | None:
    """The threatgraph kind of an OTM component type, or None when unknown."""
    norm = normalise_type(value)
    for k in Kind:
        if norm in (k.value, k.value.replace("_", "-")):
            return k
    if extra:
        for key, kind in extra.items():
            if normalise_type(key) == norm:
                return kind
    return TYPE_ALIASES.get(norm)


#: Finding status -> OTM threat state; checklist item -> OTM mitigation state.
THREAT_STATE = {
    "open": "exposed",
    "mitigated": "mitigated",
    "accepted": "accepted",
    "false_positive": "not-applicable",
}
MITIGATION_IMPLEMENTED = "implemented"
MITIGATION_REQUIRED = "required"

#: Severity -> OTM impact, likelihood -> OTM likelihood (0-100).
IMPACT = {"info": 10, "low": 30, "medium": 50, "high": 75, "critical": 100}
LIKELIHOOD = {"low": 25, "medium": 50, "high": 75}

#: OTM requires a riskReduction per mitigation; threatgraph does not score controls, so every
#: exported mitigation carries this fixed value (documented; do not read it as a measurement).
RISK_REDUCTION = 50

STRIDE_NAMES = {
    "spoofing": "Spoofing",
    "tampering": "Tampering",
    "repudiation": "Repudiation",
    "information_disclosure": "Information Disclosure",
    "denial_of_service": "Denial of Service",
    "elevation_of_privilege": "Elevation of Privilege",
}
