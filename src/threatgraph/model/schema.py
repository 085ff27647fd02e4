"""The validated model of an AI system: element kinds, data classification, controls.

Every source format (the Python DSL, YAML/JSON, pytm, OTM) ends up as one
:class:`SystemModel`. The YAML/JSON file format *is* this schema (``threatgraph schema``
prints it), so the two can never drift apart.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
_ID_RE = re.compile(ID_PATTERN)
#: Longest id and display name: longer ones are mistakes (a pasted document) that would make
#: diagrams, tables and file names unusable.
MAX_ID = 200
MAX_NAME = 200


class Kind(StrEnum):
    """Element kinds. Rules select elements by kind."""

    ACTOR = "actor"
    APP = "app"
    PROCESS = "process"
    DATASTORE = "datastore"
    LLM = "llm"
    ML_MODEL = "ml_model"
    AGENT = "agent"
    TOOL = "tool"
    VECTOR_STORE = "vector_store"
    MEMORY = "memory"
    TRAINING_PIPELINE = "training_pipeline"
    DATASET = "dataset"
    FEATURE_STORE = "feature_store"
    MODEL_REGISTRY = "model_registry"
    GUARDRAIL = "guardrail"
    EXTERNAL_CONTENT = "external_content"
    VENDOR = "vendor"


class Trust(StrEnum):
    """Trust level of a boundary or element, from least to most trusted."""

    UNTRUSTED = "untrusted"
    THIRD_PARTY = "third_party"
    PARTNER = "partner"
    INTERNAL = "internal"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        """Numeric rank: higher is more trusted."""
        return _TRUST_RANK[self]


_TRUST_RANK = {
    Trust.UNTRUSTED: 0,
    Trust.THIRD_PARTY: 1,
    Trust.PARTNER: 2,
    Trust.INTERNAL: 3,
    Trust.RESTRICTED: 4,
}


class Classification(StrEnum):
    """Data classification. ``secret`` covers credentials, keys and tokens."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"
    PHI = "phi"
    SECRET = "secret"  # noqa: S105 - a classification name, not a password
    MODEL_WEIGHTS = "model_weights"
    TRAINING_DATA = "training_data"


#: Classifications whose disclosure harms someone: rules call these "sensitive".
SENSITIVE = frozenset(
    {
        Classification.CONFIDENTIAL,
        Classification.PII,
        Classification.PHI,
        Classification.SECRET,
        Classification.MODEL_WEIGHTS,
    }
)

CLASSIFICATION_ALIASES = {
    "credential": "secret",
    "credentials": "secret",
    "weights": "model_weights",
}

#: Protocols that imply encryption in transit when ``encrypted`` is not given.
ENCRYPTED_PROTOCOLS = frozenset(
    {"https", "tls", "mtls", "grpcs", "wss", "sftp", "ssh", "smtps", "imaps", "ldaps", "stdio"}
)
PLAINTEXT_PROTOCOLS = frozenset({"http", "ws", "grpc", "ftp", "smtp", "imap", "ldap", "tcp"})

_OTM_DESCRIPTION = (
    "What an Open Threat Model file said that threatgraph has no field for (the other tool's "
    "type, nesting, rating, tags, attributes, representations, original id): `threatgraph "
    "import otm` fills it and `threatgraph export otm` writes it back."
)
OtmFacts = dict[str, Any] | None


class Location(BaseModel):
    """Where something was declared: a file and a 1-based line."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


Loc = Annotated[Location | None, Field(default=None, exclude=True), SkipJsonSchema()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=False)


class ControlRef(_Strict):
    """A control declared on an element or flow, optionally citing evidence."""

    id: str = Field(description="Control id from the catalogue, e.g. 'crypto.tls'.")
    evidence: list[str] = Field(
        default_factory=list,
        description="Repo-relative paths, test ids ('tests/test_x.py::test_y') or URLs.",
    )
    note: str | None = None
    location: Loc = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"id": value}
        return value


class Boundary(_Strict):
    """A trust boundary. Boundaries nest through ``parent``."""

    id: str = Field(default="", description="Stable id; derived from the name when omitted.")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    trust: Trust = Field(description="Trust level of everything inside.")
    parent: str | None = Field(default=None, description="Id of the enclosing boundary.")
    description: str | None = None
    otm: OtmFacts = Field(default=None, description=_OTM_DESCRIPTION)
    location: Loc = None


class DataAsset(_Strict):
    """A piece of data that elements store or process and flows carry."""

    id: str = ""
    name: str = Field(min_length=1, max_length=MAX_NAME)
    classification: Classification
    carried_as: Literal["context", "header", "environment", "vault"] | None = Field(
        default=None,
        description="Where a secret sits on the way: in the content a model reads (context), "
        "or beside it: a request header, the environment, a vault reference. Only context "
        "exposes it to the model.",
    )
    records: int | None = Field(
        default=None,
        ge=0,
        description="How many individuals' records it covers (for PHI, the ePHI record volume "
        "the risk analysis weighs impact by).",
    )
    description: str | None = None
    otm: OtmFacts = Field(default=None, description=_OTM_DESCRIPTION)
    location: Loc = None

    @field_validator("classification", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return CLASSIFICATION_ALIASES.get(value.lower(), value.lower())
        return value

    @property
    def sensitive(self) -> bool:
        """True when disclosure of this data harms someone."""
        return self.classification in SENSITIVE


#: The certifications and attestation reports a vendor record may name: a closed list, so a
#: misspelt or invented name (there is no "HIPAA certification") is an input error, not a
#: silent assurance. docs/vendors.md explains each.
CertificationName = Literal[
    "iso27001",
    "soc2_type2",
    "soc2_type1",
    "hitrust",
    "fedramp",
    "iso42001",
    "pci_dss",
]

#: Names people write that are not certifications, with what to record instead.
NOT_CERTIFICATIONS = {
    "hipaa_attestation": "HIPAA has no certification: record the BAA (baa) and the yearly "
    "written verification of the vendor's safeguards (verification)",
    "hipaa": "HIPAA has no certification: record the BAA (baa) and the yearly written "
    "verification of the vendor's safeguards (verification)",
    "soc2": "say which report: soc2_type1 or soc2_type2",
}


class Certification(_Strict):
    """A vendor certification or attestation report with its validity.

    A SOC 2 report attests to a ``scope`` (the systems and services examined) over a
    ``period``: Type II over a span (``period_start`` to ``period_end``), Type I at a date
    (``period_end``).
    """

    name: CertificationName = Field(
        description="iso27001, soc2_type2, soc2_type1, hitrust, fedramp, iso42001, pci_dss."
    )
    expires: _dt.date | None = None
    evidence: str | None = None
    scope: str | None = Field(
        default=None, description="What the report or certificate covers (systems, services)."
    )
    period_start: _dt.date | None = Field(
        default=None, description="First day of a SOC 2 Type II report's period."
    )
    period_end: _dt.date | None = Field(
        default=None, description="Last day of the report's period (a Type I report's date)."
    )

    @field_validator("name", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in NOT_CERTIFICATIONS:
            raise ValueError(
                f"{value!r} is not a certification name: {NOT_CERTIFICATIONS[value.lower()]}"
            )
        return value

    @model_validator(mode="after")
    def _period(self) -> Certification:
        start, end = self.period_start, self.period_end
        if start is not None and end is not None and end < start:
            raise ValueError(f"period_end ({end}) is before period_start ({start})")
        if self.name == "soc2_type1" and start is not None:
            raise ValueError("a SOC 2 Type I report is as of one date: give period_end only")
        return self


class BAA(_Strict):
    """A signed Business Associate Agreement."""

    signed: _dt.date | None = None
    expires: _dt.date | None = Field(
        default=None,
        description="Last day the agreement is in force (empty: open-ended). Rules treat an "
        "agreement as covering nothing before it is signed or after it expires.",
    )
    services: list[str] = Field(
        default_factory=list,
        description="Element ids (or '*') the agreement covers; empty means every hosted element.",
    )
    evidence: str | None = None

    @model_validator(mode="after")
    def _dates(self) -> BAA:
        if self.signed is not None and self.expires is not None and self.expires < self.signed:
            raise ValueError(f"expires ({self.expires}) is before signed ({self.signed})")
        return self


Clause = Literal[
    "data_ownership",
    "phi_handling",
    "model_transparency",
    "audit_rights",
    "breach_notification",
    "data_retention",
    "no_training_on_customer_data",
    "exit_strategy",
    "subcontractor_flowdown",
]


#: The longest review interval: 100 years. A longer one means no review, and day counts
#: beyond it only overflow date arithmetic (a date ends at 9999-12-31).
MAX_REVIEW_INTERVAL_DAYS = 36_525


class Verification(_Strict):
    """A business associate's written verification that it has deployed the technical
    safeguards the Security Rule requires (the 2025 proposed rule asks for one a year)."""

    date: _dt.date = Field(description="When the written verification was given.")
    evidence: str | None = Field(default=None, description="Where the signed document is.")
    certified_by: str | None = Field(
        default=None, description="Who at the vendor certified it (a person authorised to)."
    )


#: Vendor facts that can be recorded as checked and absent ("none"), as opposed to not
#: recorded at all ("unknown").
AbsentFact = Literal["baa", "certifications", "verification"]


class VendorProfile(_Strict):
    """What is known about a vendor: certifications, BAA, contract, assessments.

    A fact that is not given is *unknown*. A fact checked and found absent is listed in
    ``none``: ``none: [baa]`` says the vendor signs no BAA, which a declared ``vendor.baa``
    control cannot then contradict silently.
    """

    services: list[str] = Field(default_factory=list, description="Services the vendor provides.")
    certifications: list[Certification] = Field(default_factory=list)
    baa: BAA | None = None
    clauses: list[Clause] = Field(default_factory=list)
    breach_notification_days: int | None = Field(default=None, ge=0)
    trains_on_customer_data: bool | None = None
    last_assessment: _dt.date | None = None
    review_interval_days: int = Field(
        default=365,
        gt=0,
        le=MAX_REVIEW_INTERVAL_DAYS,
        description="Days between security assessments (at most 100 years).",
    )
    subprocessors: list[str] = Field(default_factory=list, description="Ids of vendor elements.")
    verification: Verification | None = Field(
        default=None,
        description="The latest written verification of the vendor's technical safeguards.",
    )
    contingency_notice_hours: int | None = Field(
        default=None,
        ge=0,
        description="Hours within which the vendor agrees to tell you it activated its "
        "contingency plan (the 2025 proposed rule asks for at most 24).",
    )
    none: list[AbsentFact] = Field(
        default_factory=list,
        description="Facts checked and found absent (baa, certifications, verification), as "
        "opposed to not recorded (unknown).",
    )

    @model_validator(mode="after")
    def _none_is_none(self) -> VendorProfile:
        recorded = {
            "baa": self.baa is not None,
            "certifications": bool(self.certifications),
            "verification": self.verification is not None,
        }
        both = [f for f in self.none if recorded[f]]
        if both:
            raise ValueError(f"{', '.join(both)}: recorded and listed under 'none'")
        return self


Capability = Literal[
    "read",
    "write",
    "delete",
    "send_email",
    "post_message",
    "execute_code",
    "shell",
    "sql",
    "browse",
    "payments",
    "http",
    "file_system",
    "deploy",
]


DecisionArea = Literal[
    "security",
    "fraud",
    "identity",
    "moderation",
    "medical",
    "credit",
    "legal",
    "employment",
    "safety",
    "pricing",
    "access",
]
"""What a model's output decides (rules about evasion and over-reliance read it)."""

#: Whose credential authenticates a flow. ``user``: a person's sign-in or session (their
#: token, passed on by the apps that relay it); ``service``: the calling program's own
#: identity (mTLS, a workload or service token, a per-client API key); ``both``; ``none``.
#: Rules read the side they need: a relayed session tells the server who the person is, not
#: which program asks.
Authn = Literal["none", "user", "service", "both"]

#: Flow controls that put a credential on the flow: a program's own, or the person's.
SERVICE_AUTHN_CONTROLS = frozenset({"crypto.mtls", "authn.service_identity"})
USER_AUTHN_CONTROLS = frozenset({"authn.user_identity_propagation"})

Modality = Literal["text", "image", "audio", "video", "tabular", "binary", "code", "biometric"]
"""What a model takes as input."""

ArtifactFormat = Literal[
    "pickle",
    "pytorch",
    "joblib",
    "keras_h5",
    "savedmodel",
    "safetensors",
    "gguf",
    "onnx",
    "tensorrt",
    "other",
]

#: Artefact formats whose loading can run code (deserialisation of Python objects, Lambda
#: layers, custom ops): rules about unsafe model files read this, not the element kind.
CODE_BEARING_FORMATS = frozenset({"pickle", "pytorch", "joblib", "keras_h5", "savedmodel"})


class Artifact(_Strict):
    """The model file (or dataset) behind an element: where it comes from and how it loads."""

    format: ArtifactFormat | None = Field(default=None, description="File format of the weights.")
    hub: str | None = Field(
        default=None, description="Where it is pulled from, e.g. 'huggingface:org/name'."
    )
    publisher_verified: bool | None = Field(
        default=None, description="The publisher's identity is verified (an organisation you know)."
    )
    pinned: bool | None = Field(
        default=None, description="Pulled at a fixed revision or hash, not a moving tag."
    )
    remote_code: bool | None = Field(
        default=None,
        description="Loading runs code shipped with the artefact (trust_remote_code, loading "
        "scripts, custom layers).",
    )
    loader: str | None = Field(
        default=None, description="What loads it, e.g. 'torch.load', 'transformers', 'llama.cpp'."
    )
    base_model: str | None = Field(
        default=None, description="The model it was fine-tuned from (an element id or a hub name)."
    )
    adapters: bool | None = Field(
        default=None, description="Adapters (LoRA and the like) are loaded on top of it."
    )


SoftwareKind = Literal[
    "package",
    "instructions",
    "config",
    "skill",
    "plugin",
    "mcp_server",
    "container_image",
    "notebook",
]


class Software(_Strict):
    """Software or configuration that reaches an element, and where it comes from."""

    kind: SoftwareKind = Field(
        description="package, instructions (agent rules or prompt files), config, skill, "
        "plugin, mcp_server, container_image, notebook."
    )
    name: str | None = None
    origin: Literal["internal", "vendor", "open_source", "public", "user"] = Field(
        description="Who writes it: internal, a vendor, an open-source project, anyone "
        "(public), or the system's users."
    )
    registry: (
        Literal["pypi", "npm", "conda", "huggingface", "docker_hub", "github", "internal", "other"]
        | None
    ) = None
    pinned: bool | None = Field(
        default=None, description="Installed at a fixed version or hash (a lock file)."
    )
    at_runtime: bool | None = Field(
        default=None,
        description="Fetched or installed while the system runs (an agent that pip-installs, "
        "an MCP server started with npx -y), not at build time.",
    )
    writable: bool | None = Field(
        default=None,
        description="(Configuration and instructions) the element it drives can change it "
        "itself: it lies in a workspace or repository the element writes, or a tool of the "
        "element edits it (true); it lies out of the element's reach (false).",
    )


OversightRole = Literal["approve", "review", "monitor"]


class Oversight(_Strict):
    """One element this element oversees, and how: the overseer sits on the other side of the
    relation, so it holds whichever way (or whether) the flows between them are drawn."""

    element: str = Field(description="Id (or name) of the element overseen.")
    role: OversightRole = Field(
        description="approve: its actions wait for this element's yes; review: this element "
        "checks its output or actions and can send them back; monitor: this element watches "
        "what it does and can raise an alarm or stop it."
    )


class Operations(_Strict):
    """Operational facts a HIPAA risk analysis weighs: where a component is, how critical it
    is, how fast it must come back, and how often it is patched, scanned and tested. Every
    field is optional: the risk analysis says "not stated" for what the model leaves out."""

    site: str | None = Field(
        default=None,
        max_length=MAX_NAME,
        description="Where it runs or sits: a cloud region, a data centre, an exam room.",
    )
    criticality: Literal["low", "medium", "high", "critical"] | None = Field(
        default=None, description="How critical it is to patient care and operations."
    )
    rto_hours: int | None = Field(
        default=None, ge=0, le=876_000, description="Recovery time objective, in hours."
    )
    rpo_hours: int | None = Field(
        default=None, ge=0, le=876_000, description="Recovery point objective, in hours."
    )
    portable: bool | None = Field(
        default=None, description="A device that can be lost or stolen (laptop, phone, recorder)."
    )
    patch_days: int | None = Field(
        default=None, ge=1, le=36_500, description="Days within which security patches go in."
    )
    scan_days: int | None = Field(
        default=None, ge=1, le=36_500, description="Days between vulnerability scans."
    )
    pentest_days: int | None = Field(
        default=None, ge=1, le=36_500, description="Days between penetration tests."
    )
    retention_days: int | None = Field(
        default=None, ge=0, le=3_650_000, description="Days it keeps the data it holds."
    )


class Element(_Strict):
    """A node of the data-flow graph: an actor, an app, a model, a store, a vendor..."""

    id: str = ""
    name: str = Field(min_length=1, max_length=MAX_NAME)
    kind: Kind
    boundary: str | None = Field(default=None, description="Id of the enclosing boundary.")
    description: str | None = None
    owner: str | None = None
    trust: Trust | None = Field(default=None, description="Overrides the boundary's trust level.")
    controls: list[ControlRef] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list, description="Data ids held at rest.")
    processes: list[str] = Field(default_factory=list, description="Data ids handled in memory.")
    trained_on: list[str] = Field(
        default_factory=list, description="Data ids a model was trained or fine-tuned on."
    )
    provider: str | None = Field(default=None, description="Id of the vendor element hosting it.")
    code: list[str] = Field(
        default_factory=list, description="Repo paths or globs implementing it."
    )
    tags: list[str] = Field(default_factory=list)
    # AI-specific facts that rules read. All optional; rules treat absence as unknown/false.
    internet_facing: bool | None = Field(default=None, description="Reachable from the internet.")
    returns_scores: bool | None = Field(
        default=None, description="Inference API returns confidences, logits or logprobs."
    )
    source: Literal["internal", "public_hub", "vendor", "open_source", "user"] | None = Field(
        default=None, description="Where a model, dataset or tool comes from."
    )
    capabilities: list[Capability] = Field(
        default_factory=list,
        description="What can be done through the element, whatever its kind (post_message: "
        "chat messages such as Slack or Teams): read, write, delete, send_email, post_message, "
        "execute_code, shell, sql, browse, payments, http, file_system, deploy.",
    )
    interpreter: (
        Literal["sql", "shell", "python", "javascript", "html", "browser", "template", "markdown"]
        | None
    ) = Field(default=None, description="The element interprets its input as code of this kind.")
    autonomous: bool | None = Field(
        default=None, description="Agent acts without a human per step."
    )
    mcp: bool | None = Field(
        default=None, description="A tool served over the Model Context Protocol."
    )
    transport: Literal["stdio", "http", "sse", "streamable_http", "websocket"] | None = None
    listens_on: Literal["loopback", "network"] | None = Field(
        default=None,
        description="Where a server accepts connections: loopback (127.0.0.1, ::1: only "
        "programs on the same machine, and web pages through its browser) or network (an "
        "address other hosts can reach).",
    )
    content: (
        Literal[
            "web",
            "email",
            "ticket",
            "upload",
            "document",
            "chat",
            "code",
            "api",
            "social",
            "logs",
            "responses",
        ]
        | None
    ) = Field(
        default=None,
        description="What the content is (outside content), or what a store holds: web, email, "
        "ticket, upload, document, chat, code, api, social, logs (logs and telemetry), "
        "responses (model answers kept to serve again: a response or semantic cache).",
    )
    decides: list[DecisionArea] = Field(
        default_factory=list,
        description="What the model's output decides: security, fraud, identity, moderation, "
        "medical, credit, legal, employment, safety, pricing, access.",
    )
    inputs: list[Modality] = Field(
        default_factory=list,
        description="What the model takes as input: text, image, audio, video, tabular, "
        "binary, code, biometric.",
    )
    artifact: Artifact | None = Field(
        default=None, description="The model file or dataset behind the element."
    )
    software: list[Software] = Field(
        default_factory=list,
        description="Software and configuration that reach the element (packages, agent "
        "instructions, skills, plugins, MCP servers...), with their origin.",
    )
    runs_third_party_code: bool | None = Field(
        default=None,
        description="Runs code that others supply (notebooks, user jobs, plugins, packages "
        "installed at run time).",
    )
    platform: (
        Literal[
            "ray",
            "ollama",
            "vllm",
            "jupyter",
            "triton",
            "tgi",
            "torchserve",
            "mlflow",
            "kubeflow",
            "other",
        ]
        | None
    ) = Field(default=None, description="The model server or cluster software it runs.")
    triggered_by: list[Literal["schedule", "email", "webhook", "message", "file", "user"]] = Field(
        default_factory=list, description="What starts the element without a person asking."
    )
    oversees: list[Oversight] = Field(
        default_factory=list,
        description="Elements (agents, models, apps) whose actions or output this element "
        "approves, reviews or monitors.",
    )
    persistent: bool | None = Field(default=None, description="Memory survives sessions.")
    multi_tenant: bool | None = None
    vendor: VendorProfile | None = Field(default=None, description="Vendor facts (kind vendor).")
    # HIPAA facts.
    workforce: bool | None = Field(
        default=None,
        description="(Actors) a member of your workforce (staff, contractors under your "
        "control); false for patients and the public. Unset: workforce when inside a zone you "
        "trust at least as a partner.",
    )
    operations: Operations | None = Field(
        default=None,
        description="Site, criticality, recovery objectives and patch, scan and test cadence.",
    )
    otm: OtmFacts = Field(default=None, description=_OTM_DESCRIPTION)
    location: Loc = None

    @model_validator(mode="after")
    def _vendor_only(self) -> Element:
        if self.vendor is not None and self.kind is not Kind.VENDOR:
            raise ValueError("'vendor' facts belong on an element of kind 'vendor'")
        return self

    def control_ids(self) -> frozenset[str]:
        """The ids of the controls declared on this element."""
        return frozenset(c.id for c in self.controls)


class Flow(_Strict):
    """A directed data flow between two elements."""

    id: str = ""
    name: str = Field(default="", max_length=MAX_NAME, description="What moves, e.g. 'prompt'.")
    source: str = Field(alias="from", description="Source element id.")
    target: str = Field(alias="to", description="Target element id.")
    data: list[str] = Field(default_factory=list, description="Ids of the data carried.")
    protocol: str | None = None
    operation: Literal["read", "write", "call", "response", "event"] | None = Field(
        default=None,
        description="What the flow does to its target: read (a query or retrieval), write "
        "(stores or changes data), call (invokes it), response (answers an earlier flow), "
        "event (a notification or message).",
    )
    encrypted: bool | None = Field(default=None, description="Defaults from the protocol.")
    authenticated: Authn | bool | None = Field(
        default=None,
        description="Whose credential authenticates the flow: 'user' (a person's sign-in or "
        "session, also when an app passes it on), 'service' (the calling program's own "
        "identity: mTLS, a service token, a per-client key), 'both' or 'none'. Defaults to "
        "'service' for mtls or a crypto.mtls / authn.service_identity control, 'user' for an "
        "authn.user_identity_propagation control (both: 'both'). v1's true is read as 'user' "
        "next to a person and 'service' between programs; false is 'none'.",
    )
    controls: list[ControlRef] = Field(default_factory=list)
    description: str | None = None
    # HIPAA facts.
    physical: bool | None = Field(
        default=None,
        description="Physical capture, not a network flow: a person speaking to a microphone, "
        "a camera seeing a page, paper being scanned. Encryption-in-transit rules skip it; "
        "rules about the data it carries still see the data.",
    )
    otm: OtmFacts = Field(default=None, description=_OTM_DESCRIPTION)
    location: Loc = None

    @field_validator("authenticated", mode="before")
    @classmethod
    def _whose_credential(cls, v: object) -> object:
        # One clear message, not one per branch of the union.
        if v is None or isinstance(v, bool) or v in get_args(Authn):
            return v
        words = ", ".join(get_args(Authn))
        raise ValueError(f"whose credential authenticates the flow: one of {words} (got {v!r})")

    @model_validator(mode="after")
    def _physical_has_no_protocol(self) -> Flow:
        if self.physical and self.protocol:
            raise ValueError(f"a physical capture has no network protocol (got {self.protocol!r})")
        return self

    @property
    def is_encrypted(self) -> bool:
        """Encrypted in transit: explicit flag, else inferred from the protocol or a TLS control."""
        return self.link_facts()[2]

    @property
    def is_authenticated(self) -> bool:
        """Authenticated by some credential, a person's or a program's (:meth:`authn`)."""
        return self.link_facts()[3] != "none"

    @property
    def authn(self) -> Authn:
        """Whose credential authenticates the flow: the declared value, with what mTLS and
        the flow's identity controls add (see the field's description)."""
        return self.link_facts()[3]

    def control_ids(self) -> frozenset[str]:
        """The ids of the controls declared on this flow."""
        return frozenset(c.id for c in self.controls)

    def link_facts(self) -> tuple[str, frozenset[str], bool, Authn]:
        """The protocol in lower case ('' when unset), the declared control ids, whether the
        flow is encrypted, and whose credential authenticates it: worked out together, since
        the graph asks for all four of every flow."""
        protocol = (self.protocol or "").lower()
        ids = self.control_ids()
        encrypted = (
            self.encrypted
            if self.encrypted is not None
            else protocol in ENCRYPTED_PROTOCOLS or "crypto.tls" in ids or "crypto.mtls" in ids
        )
        declared = self.authenticated
        if declared is False or declared == "none":
            # Said outright: no credential, whatever the protocol suggests.
            return protocol, ids, encrypted, "none"
        # A bare true left here (finalize reads it by the flow's ends) keeps v1's meaning.
        service = declared in ("service", "both", True) or (
            protocol == "mtls" or not SERVICE_AUTHN_CONTROLS.isdisjoint(ids)
        )
        user = declared in ("user", "both") or not USER_AUTHN_CONTROLS.isdisjoint(ids)
        authn: Authn = (
            "both" if user and service else "user" if user else ("service" if service else "none")
        )
        return protocol, ids, encrypted, authn


class Decision(_Strict):
    """A risk decision about one finding: accepted, false positive, or mitigated elsewhere."""

    finding: str = Field(min_length=1, description="Finding id, e.g. 'TG-PI-001/hosted-llm'.")
    status: Literal["accepted", "false_positive", "mitigated"]
    reason: str = Field(min_length=1, description="Why; reports show it.")
    owner: str | None = Field(default=None, description="Who decided (required to accept).")
    ticket: str | None = Field(default=None, description="Ticket id or link.")
    date: _dt.date | None = Field(default=None, description="When it was decided.")
    expires: _dt.date | None = Field(
        default=None, description="Last day an acceptance holds (required to accept)."
    )
    evidence: list[str] = Field(
        default_factory=list,
        description="Repo paths, test ids or URLs (required for 'mitigated').",
    )
    model: str | None = Field(
        default=None,
        description="Model id the decision is for (decisions files: when ids could clash).",
    )
    location: Loc = None

    @model_validator(mode="after")
    def _acceptance_expires(self) -> Decision:
        if self.status == "accepted":
            missing = [n for n in ("owner", "expires") if getattr(self, n) in (None, "")]
            if missing:
                raise ValueError(f"an acceptance needs {' and '.join(missing)}")
        if self.status == "mitigated" and not self.evidence:
            raise ValueError("a 'mitigated' decision needs evidence")
        if self.date is not None and self.expires is not None and self.expires < self.date:
            raise ValueError(f"expires ({self.expires}) is before the decision date ({self.date})")
        return self


class ModelNote(BaseModel):
    """A warning about a model that loaded: a v1 spelling, or a fact no rule can read where
    it was declared. ``check`` prints it with its location (an error under ``--strict``)."""

    model_config = ConfigDict(frozen=True)
    message: str
    location: Location | None = None


class ModelInfo(_Strict):
    """Descriptive header of a model."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    id: str = ""
    owner: str | None = None
    description: str | None = None
    version: str | None = None
    controls: list[ControlRef] = Field(
        default_factory=list, description="Process controls that apply to the whole system."
    )
    operations: Operations | None = Field(
        default=None,
        description="System-wide defaults for the elements' operations facts (cadences, site).",
    )
    otm: OtmFacts = Field(default=None, description=_OTM_DESCRIPTION)


class SystemModel(_Strict):
    """A whole AI system: the value every loader produces and every later stage reads."""

    threatgraph: Literal[1] = Field(default=1, description="Model format version.")
    model: ModelInfo
    boundaries: list[Boundary] = Field(default_factory=list)
    data: list[DataAsset] = Field(default_factory=list)
    elements: list[Element] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    location: Loc = None
    #: Warnings found while loading (see :class:`ModelNote`); not part of the file format.
    notes: Annotated[list[ModelNote], SkipJsonSchema()] = Field(default_factory=list, exclude=True)

    def element(self, element_id: str) -> Element:
        """The element with this id (KeyError when absent)."""
        for el in self.elements:
            if el.id == element_id:
                return el
        raise KeyError(element_id)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 14)
def slugify(name: str) -> str:
    """A stable id from a display name: lowercase ascii words joined by '-'."""
    # Cached: flow ids are made from flow names, and big models repeat the same few names.
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return slug[:80].strip("-") or "x"


def valid_id(value: str) -> bool:
    """Whether ``value`` is a well-formed id."""
    return bool(_ID_RE.match(value)) and len(value) <= MAX_ID
