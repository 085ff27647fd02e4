"""The mapping tables between pytm and threatgraph, in one place.

The loader (pytm -> threatgraph), the rebuild for ``--pytm-threats`` (threatgraph -> pytm) and
the docs (docs/migrating-from-pytm.md) all read these tables, so they cannot drift apart.
Nothing here imports pytm: the tables are keyed by pytm class and attribute names.
"""

from __future__ import annotations

import re

from threatgraph.model.schema import Classification, Kind, Trust

#: pytm element class -> threatgraph kind. A subclass maps through its nearest listed base.
#: ExternalEntity is an outside party that exchanges data with the system; threatgraph calls
#: that an actor (untrusted when outside every boundary). Override with ``threatgraph={"kind":
#: "external_content"}`` (or "vendor") on the pytm object when the entity is a feed or a supplier.
KIND_OF_CLASS: dict[str, Kind] = {
    "Actor": Kind.ACTOR,
    "ExternalEntity": Kind.ACTOR,
    "Server": Kind.APP,
    "SetOfProcesses": Kind.PROCESS,
    "Process": Kind.PROCESS,
    "Lambda": Kind.PROCESS,
    "Datastore": Kind.DATASTORE,
    "LLM": Kind.LLM,
    "Agent": Kind.AGENT,
    "Asset": Kind.APP,
    "Element": Kind.PROCESS,
}

#: threatgraph kind -> the pytm class a rebuilt model uses (for ``--pytm-threats`` on YAML, DSL
#: and OTM models). pytm has no AI kinds beyond LLM and Agent: stores become Datastore, model
#: services and tools Server, pipelines and guardrails Process, outside content and vendors
#: ExternalEntity.
CLASS_OF_KIND: dict[Kind, str] = {
    Kind.ACTOR: "Actor",
    Kind.APP: "Server",
    Kind.PROCESS: "Process",
    Kind.DATASTORE: "Datastore",
    Kind.LLM: "LLM",
    Kind.ML_MODEL: "Server",
    Kind.AGENT: "Agent",
    Kind.TOOL: "Server",
    Kind.VECTOR_STORE: "Datastore",
    Kind.MEMORY: "Datastore",
    Kind.TRAINING_PIPELINE: "Process",
    Kind.DATASET: "Datastore",
    Kind.FEATURE_STORE: "Datastore",
    Kind.MODEL_REGISTRY: "Datastore",
    Kind.GUARDRAIL: "Process",
    Kind.EXTERNAL_CONTENT: "ExternalEntity",
    Kind.VENDOR: "ExternalEntity",
}

#: pytm Classification name -> threatgraph classification, used when the Data object sets
#: neither isCredentials (-> secret) nor isPII (-> pii). pytm's SECRET and TOP_SECRET are
#: confidentiality levels, not credentials, so they map to confidential; threatgraph keeps
#: ``secret`` for keys and passwords. UNKNOWN (pytm's default) maps to internal.
CLASSIFICATION_OF: dict[str, Classification] = {
    "UNKNOWN": Classification.INTERNAL,
    "PUBLIC": Classification.PUBLIC,
    "RESTRICTED": Classification.INTERNAL,
    "SENSITIVE": Classification.CONFIDENTIAL,
    "SECRET": Classification.CONFIDENTIAL,
    "TOP_SECRET": Classification.CONFIDENTIAL,
}

#: threatgraph classification -> (pytm Classification name, isPII, isCredentials) for rebuilds.
PYTM_CLASSIFICATION: dict[Classification, tuple[str, bool, bool]] = {
    Classification.PUBLIC: ("PUBLIC", False, False),
    Classification.INTERNAL: ("RESTRICTED", False, False),
    Classification.CONFIDENTIAL: ("SENSITIVE", False, False),
    Classification.PII: ("SENSITIVE", True, False),
    Classification.PHI: ("SENSITIVE", True, False),
    Classification.SECRET: ("SECRET", False, True),
    Classification.MODEL_WEIGHTS: ("SECRET", False, False),
    Classification.TRAINING_DATA: ("RESTRICTED", False, False),
}

#: pytm control flags (``element.controls.<flag>``) -> threatgraph catalogue controls.
#: Flags absent from this table have no catalogue equivalent and are not converted (they stay
#: visible to pytm's own engine when ``--pytm-threats`` runs on the original pytm file).
#: ``isEncrypted`` is handled per flow (see FLOW_ENCRYPTION_FLAGS), not as an element control.
CONTROL_OF_FLAG: dict[str, tuple[str, ...]] = {
    "authenticatesSource": ("authn.api_keys",),
    "implementsAuthenticationScheme": ("authn.api_keys",),
    "usesMFA": ("authn.sso_mfa",),
    "authorizesSource": ("authz.rbac",),
    "hasAccessControl": ("authz.rbac",),
    "implementsPOLP": ("authz.least_privilege",),
    "sanitizesInput": ("input.validation",),
    "validatesInput": ("input.validation",),
    "implementsServerSideValidation": ("input.validation",),
    "checksInputBounds": ("input.length_limits",),
    "encodesOutput": ("output.encoding",),
    "usesParameterizedInput": ("output.parameterised_queries",),
    "isHardened": ("infra.hardening",),
    "handlesResourceConsumption": ("ratelimit.quotas",),
    "definesConnectionTimeout": ("ratelimit.timeouts",),
    "isEncryptedAtRest": ("crypto.at_rest",),
    "isEncrypted": ("crypto.tls",),
}

#: Boolean attributes of pytm's AI classes that are really controls.
CONTROL_OF_ATTRIBUTE: dict[str, dict[str, tuple[str, ...]]] = {
    "LLM": {"hasContentFiltering": ("guardrail.input_filter", "guardrail.output_filter")},
    "Agent": {"validatesToolLaunchConfig": ("agent.tool_allowlist",)},
}

#: Flags that pytm checks on the flow itself, not on an element.
FLOW_ONLY_FLAGS = frozenset({"isEncrypted"})


def controls_for_flags(flags: dict[str, bool]) -> list[str]:
    """Catalogue controls for the pytm control flags that are set, in table order."""
    out: list[str] = []
    for flag, ctls in CONTROL_OF_FLAG.items():
        if flags.get(flag) is True:
            out.extend(c for c in ctls if c not in out)
    return out


def flags_for_controls(controls: set[str] | frozenset[str]) -> set[str]:
    """The pytm flags a rebuilt element gets: every flag that maps to a declared control."""
    return {flag for flag, ctls in CONTROL_OF_FLAG.items() if any(c in controls for c in ctls)}


# -- boundaries -----------------------------------------------------------------------------

#: pytm boundaries carry no trust level. threatgraph guesses one from the boundary's name,
#: first match wins, and defaults to internal. ``threatgraph={"trust": "..."}`` on the pytm
#: Boundary overrides the guess.
TRUST_KEYWORDS: tuple[tuple[Trust, tuple[str, ...]], ...] = (
    (
        Trust.UNTRUSTED,
        (
            "internet",
            "public",
            "external",
            "untrusted",
            "user",
            "users",
            "client",
            "clients",
            "browser",
            "mobile",
            "guest",
            "anonymous",
            "world",
        ),
    ),
    (Trust.THIRD_PARTY, ("vendor", "third party", "third-party", "3rd party", "saas", "supplier")),
    (Trust.PARTNER, ("partner", "partners")),
    (Trust.RESTRICTED, ("restricted", "secure", "secret", "vault", "pci", "hsm", "enclave")),
)


def guess_trust(name: str) -> Trust:
    """Trust level of a pytm boundary from the words of its name (default internal)."""
    text = " " + re.sub(r"[^a-z0-9]+", " ", name.lower()) + " "
    for trust, words in TRUST_KEYWORDS:
        if any(f" {w.replace('-', ' ')} " in text for w in words):
            return trust
    return Trust.INTERNAL


# -- pytm threats -------------------------------------------------------------------------

#: pytm severity -> threatgraph severity.
SEVERITY_OF: dict[str, str] = {
    "very high": "critical",
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "very low": "info",
    "info": "info",
}

#: pytm "Likelihood Of Attack" -> likelihood; pytm leaves some empty: those count as medium.
LIKELIHOOD_OF: dict[str, str] = {
    "very high": "high",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "very low": "low",
}
DEFAULT_LIKELIHOOD = "medium"

#: STRIDE categories by the letters of a pytm threat id (pytm does not classify its threats).
STRIDE_OF_PREFIX: dict[str, tuple[str, ...]] = {
    "INP": ("tampering", "elevation_of_privilege"),
    "AA": ("spoofing",),
    "AC": ("elevation_of_privilege",),
    "API": ("elevation_of_privilege",),
    "CR": ("spoofing", "information_disclosure"),
    "DE": ("information_disclosure",),
    "DO": ("denial_of_service",),
    "DR": ("information_disclosure",),
    "DS": ("information_disclosure",),
    "HA": ("information_disclosure",),
    "LB": ("tampering",),
    "SC": ("tampering",),
    "LLM": ("tampering",),
}

#: Per-threat STRIDE where the prefix says too little.
STRIDE_OF_THREAT: dict[str, tuple[str, ...]] = {
    "DE02": ("tampering",),
    "DE04": ("repudiation", "tampering"),
    "AC24": ("spoofing", "information_disclosure"),
    "LLM01": ("tampering", "elevation_of_privilege"),
    "LLM02": ("tampering",),
    "LLM03": ("information_disclosure",),
    "LLM04": ("tampering",),
    "LLM05": ("elevation_of_privilege",),
    "LLM06": ("elevation_of_privilege",),
    "LLM07": ("elevation_of_privilege",),
    "LLM08": ("information_disclosure",),
    "LLM09": ("elevation_of_privilege", "tampering"),
}
DEFAULT_STRIDE: tuple[str, ...] = ("tampering",)


def stride_for(threat_id: str) -> tuple[str, ...]:
    """STRIDE categories of a pytm threat id (the table, else its letter prefix)."""
    if threat_id in STRIDE_OF_THREAT:
        return STRIDE_OF_THREAT[threat_id]
    prefix = re.match(r"[A-Za-z]+", threat_id)
    return STRIDE_OF_PREFIX.get(prefix.group(0).upper() if prefix else "", DEFAULT_STRIDE)
