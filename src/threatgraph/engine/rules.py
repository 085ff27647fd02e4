"""The rule language: a pydantic schema for threat rules written as YAML.

A rule says what to match (an element, a flow, or a path through the graph), which
controls mitigate it, and how to cite it. Predicates compose with all/any/not. Nothing in a
rule is ever evaluated as code.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from threatgraph.model.schema import Classification, Kind, Trust

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
Likelihood = Literal["low", "medium", "high"]
Stride = Literal[
    "spoofing",
    "tampering",
    "repudiation",
    "information_disclosure",
    "denial_of_service",
    "elevation_of_privilege",
]
RULE_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
REFERENCE_PATTERN = r"^[a-z][a-z0-9-]*:[^@\s]+@[^@\s]+$"
_REF_RE = re.compile(REFERENCE_PATTERN)

#: Element fields that ``attr`` tests may read.
ATTRIBUTES = frozenset(
    {
        "internet_facing",
        "returns_scores",
        "source",
        "capabilities",
        "interpreter",
        "autonomous",
        "mcp",
        "transport",
        "listens_on",
        "content",
        "persistent",
        "multi_tenant",
        "tags",
        "owner",
        "name",
        "id",
        "provider",
        "code",
        "decides",
        "inputs",
        "runs_third_party_code",
        "platform",
        "triggered_by",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class AttrOp(_Strict):
    """An attribute comparison. Exactly one operator."""

    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    contains: Any = None
    contains_any: list[Any] | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> AttrOp:
        used = [k for k, v in self.__dict__.items() if v is not None]
        if len(used) != 1:
            raise ValueError(
                "an attribute test takes exactly one of eq, ne, in, contains, contains_any, exists"
            )
        return self


class DataPred(_Strict):
    """Data carried, stored or processed: by classification or sensitivity."""

    classification: list[Classification] | None = None
    sensitive: bool | None = None
    in_context: bool | None = Field(
        default=None,
        description="(Flows) some matching data travels in the content a model reads, not "
        "beside it (a secret in a request header or the environment is not in context).",
    )

    @field_validator("classification", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ArtifactPred(_Strict):
    """The element's model file or dataset (its ``artifact``). All given fields must hold."""

    format: list[str] | None = None
    code_bearing: bool | None = Field(
        default=None, description="Its format can run code when loaded (pickle and the like)."
    )
    from_hub: bool | None = Field(default=None, description="It is pulled from a hub.")
    publisher_verified: bool | None = None
    pinned: bool | None = None
    remote_code: bool | None = None
    adapters: bool | None = None
    fine_tuned: bool | None = Field(default=None, description="It names a base model.")

    @field_validator("format", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class SoftwarePred(_Strict):
    """Some entry of the element's ``software`` matches. All given fields must hold."""

    kind: list[str] | None = None
    origin: list[str] | None = None
    registry: list[str] | None = None
    pinned: bool | None = None
    at_runtime: bool | None = None
    writable: bool | None = Field(
        default=None,
        description="The entry says the element can (true) or cannot (false) change it; an "
        "entry that says neither matches neither.",
    )

    @field_validator("kind", "origin", "registry", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class TrustTest(_Strict):
    """Trust level bounds (inclusive)."""

    at_most: Trust | None = None
    at_least: Trust | None = None
    in_: list[Trust] | None = Field(default=None, alias="in")


class VendorPred(_Strict):
    """Facts about a vendor element (its VendorProfile), evaluated as of the run's date.

    All given keys must hold. An element that is not a vendor never matches.
    """

    baa: bool | None = Field(
        default=None,
        description="Has a BAA in force on the run date (profile BAA, or a declared vendor.baa).",
    )
    uncovered: ElementPred | None = Field(
        default=None,
        description="Some element the vendor hosts matches and its BAA does not cover it.",
    )
    lacks_certification: list[str] | None = Field(
        default=None, description="Some listed certification is absent or expired."
    )
    expired_certification: bool | None = Field(
        default=None, description="Some declared certification has expired."
    )
    assessment_overdue: bool | None = Field(
        default=None, description="No assessment, or the last one is older than the interval."
    )
    lacks_clause: list[str] | None = Field(
        default=None, description="Some listed contract clause is missing."
    )
    may_train_on_customer_data: bool | None = Field(
        default=None, description="The contract does not rule out training on our data."
    )
    has_subprocessors: bool | None = None
    subprocessor: ElementPred | None = Field(
        default=None, description="Some sub-processor (a vendor element) matches."
    )
    breach_notification_over: int | None = Field(
        default=None, ge=0, description="Breach notification window unknown or longer (days)."
    )
    receives: DataPred | None = Field(
        default=None,
        description="Data of this kind reaches the vendor: it handles it itself, an element it "
        "hosts handles it, or (as a sub-processor) a vendor above it in the chain receives it.",
    )
    subprocessor_of: ElementPred | None = Field(
        default=None, description="The vendor is a sub-processor of a vendor that matches."
    )

    @field_validator("lacks_certification", "lacks_clause", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class OversightPred(_Strict):
    """Some element oversees this one (``oversees`` declared on the overseer) and the relation
    has every fact given."""

    roles: list[Literal["approve", "review", "monitor"]] | None = Field(
        default=None, description="The overseer approves, reviews or monitors (any listed)."
    )
    by: ElementPred | None = Field(default=None, description="The overseer matches.")
    shares_model: bool | None = Field(
        default=None,
        description="Derived: overseer and overseen run on the same model, or models of the "
        "same vendor (their own, or the models they ask directly or through one relay).",
    )
    shares_memory: bool | None = Field(
        default=None,
        description="Derived: the overseen element writes into a memory store (kind memory, or "
        "a persistent store) that the overseer reads.",
    )
    mutual: bool | None = Field(
        default=None,
        description="Derived: approvals and reviews form a cycle through both (the overseen "
        "one also approves or reviews its overseer, directly or through others).",
    )

    @field_validator("roles", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ElementPred(_Strict):
    """A predicate over one element. All given fields must hold."""

    kind: list[Kind] | None = None
    not_kind: list[Kind] | None = None
    use: str | None = Field(default=None, description="Name of a library predicate.")
    attr: dict[str, Any] | None = None
    trust: TrustTest | None = None
    has_control: list[str] | None = Field(default=None, description="Declares all of these.")
    lacks_control: list[str] | None = Field(default=None, description="Declares none of these.")
    stores: DataPred | None = None
    processes: DataPred | None = None
    trained_on: DataPred | None = None
    handles: DataPred | None = Field(
        default=None, description="Stores, processes, was trained on, or exchanges in a flow."
    )
    hosted: bool | None = Field(default=None, description="Has a vendor provider.")
    provider: ElementPred | None = None
    vendor: VendorPred | None = Field(default=None, description="Vendor facts (vendors only).")
    hosts: ElementPred | None = Field(
        default=None, description="A vendor hosting a matching element."
    )
    baa_covered: bool | None = Field(
        default=None,
        description="A BAA in force on the run date covers the element: its own (vendors), its "
        "provider's BAA listing it, or a vendor.baa control declared on it.",
    )
    flow_in: FlowPred | None = None
    flow_out: FlowPred | None = None
    no_flow_in: FlowPred | None = None
    no_flow_out: FlowPred | None = None
    asks: FlowPred | None = Field(
        default=None,
        description="Derived: it is the requester of some matching flow (it calls, reads or "
        "writes), however the arrow is drawn.",
    )
    serves: FlowPred | None = Field(
        default=None, description="Derived: it is the server of some matching flow."
    )
    reachable_from: PathPred | None = None
    reaches: PathPred | None = None
    runs_model: bool | None = Field(
        default=None,
        description="Derived: runs a model itself (an llm or ml_model; an agent that calls no "
        "separate llm element).",
    )
    agentic: bool | None = Field(
        default=None,
        description="Derived: chooses actions (an agent; an llm that calls tools or elements "
        "with side-effect capabilities, or has such capabilities, or is autonomous).",
    )
    side_effects: bool | None = Field(
        default=None,
        description="Derived: something can be changed through it (a side-effect capability, "
        "whatever its kind).",
    )
    artifact: ArtifactPred | None = Field(
        default=None, description="Facts of its model file or dataset (absent: no match)."
    )
    software: SoftwarePred | None = Field(
        default=None, description="Some software or configuration reaching it matches."
    )
    hears_agents: bool | None = Field(
        default=None,
        description="Derived: another agentic element's output reaches it, directly or "
        "through channels (a bus, queue, orchestrator or shared store).",
    )
    hears_agents_unauthenticated: bool | None = Field(
        default=None,
        description="Derived: as hears_agents, along a route with an unauthenticated hop.",
    )
    oversight: OversightPred | None = Field(
        default=None,
        description="Some element approves, reviews or monitors it, with the facts given.",
    )
    passes_on: DataPred | None = Field(
        default=None,
        description="Derived: a data asset of this kind that reaches it in a request it serves "
        "leaves again, as the same asset, in a request it makes (a token passed through).",
    )
    all: list[ElementPred] | None = None
    any: list[ElementPred] | None = None
    not_: ElementPred | None = Field(default=None, alias="not")

    @field_validator("kind", "not_kind", "has_control", "lacks_control", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("attr")
    @classmethod
    def _attrs(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        out: dict[str, Any] = {}
        for name, test in v.items():
            if name not in ATTRIBUTES:
                raise ValueError(
                    f"unknown attribute {name!r}; known: {', '.join(sorted(ATTRIBUTES))}"
                )
            out[name] = AttrOp.model_validate(test) if isinstance(test, dict) else AttrOp(eq=test)
        return out


#: The ends of a flow a rule can put its finding on (see :class:`Match`).
FlowEnd = Literal["source", "target", "requester", "server", "sender", "receiver"]


class FlowPred(_Strict):
    """A predicate over one flow. All given fields must hold."""

    source: ElementPred | None = None
    target: ElementPred | None = None
    requester: ElementPred | None = Field(
        default=None,
        description="Derived: the end that asks (the caller, reader or writer; the target of a "
        "response), however the arrow is drawn.",
    )
    server: ElementPred | None = Field(
        default=None, description="Derived: the end that is asked (called, read or written)."
    )
    sender: ElementPred | None = Field(
        default=None,
        description="Derived: the end the flow's data leaves (the reader's store for a read "
        "drawn from the reader), however the arrow is drawn.",
    )
    receiver: ElementPred | None = Field(
        default=None,
        description="Derived: the end the flow's data arrives at (the reader for a read drawn "
        "from the reader, else the target).",
    )
    kept: bool | None = Field(
        default=None,
        description="Derived: the flow writes content into a store at its target that keeps it "
        "(not a query).",
    )
    returns: bool | None = Field(
        default=None,
        description="Derived: content comes back to the requester (a call, a read, a response), "
        "rather than a one-way write or message.",
    )
    data: DataPred | None = Field(default=None, description="Carries some matching data.")
    encrypted: bool | None = None
    authenticated: bool | None = None
    crosses_boundary: bool | None = None
    trust_change: Literal["increase", "decrease", "none"] | None = Field(
        default=None,
        description="Direction of trust along which the data moves, from sender to receiver.",
    )
    request_trust: Literal["increase", "decrease", "none"] | None = Field(
        default=None,
        description="Derived: direction of trust from the requester to the server (a request "
        "into a more trusted zone is an increase, however the arrow is drawn).",
    )
    protocol: list[str] | None = None
    operation: list[str] | None = Field(
        default=None, description="The flow's declared operation is one of these."
    )
    has_control: list[str] | None = None
    lacks_control: list[str] | None = None
    all: list[FlowPred] | None = None
    any: list[FlowPred] | None = None
    not_: FlowPred | None = Field(default=None, alias="not")

    @field_validator("protocol", "operation", "has_control", "lacks_control", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class PathPred(_Strict):
    """Reachability through flows from elements matching ``from``.

    The walk follows flows matching ``via``, passes only through elements matching
    ``through`` and stops at (does not pass) elements matching ``blocked_by``.
    """

    from_: ElementPred = Field(alias="from")
    via: FlowPred | None = None
    through: ElementPred | None = None
    blocked_by: ElementPred | None = None
    max_hops: int | None = Field(default=None, ge=1)


class PathMatch(PathPred):
    """A path match: one finding per element matching ``to`` that is reachable."""

    to: ElementPred


class Match(_Strict):
    """What a rule matches: exactly one of element, flow, path."""

    element: ElementPred | None = None
    flow: FlowPred | None = None
    path: PathMatch | None = None
    primary: (
        Literal["source", "target", "requester", "server", "sender", "receiver"] | ElementPred
    ) = Field(
        default="target",
        description="For flow matches: which end the finding sits on: source or target as "
        "drawn, requester or server, sender or receiver (the derived ends, see the flow "
        "predicate), or an element "
        "predicate: the end that matches it (the target when both do).",
    )

    @model_validator(mode="after")
    def _one(self) -> Match:
        n = sum(x is not None for x in (self.element, self.flow, self.path))
        if n != 1:
            raise ValueError("match takes exactly one of 'element', 'flow', 'path'")
        return self

    @property
    def mode(self) -> str:
        """'element', 'flow' or 'path'."""
        return "element" if self.element else "flow" if self.flow else "path"


Place = Literal[
    "element", "source", "target", "flow", "path", "provider", "upstream", "downstream", "model"
]


class Mitigation(_Strict):
    """A control that mitigates the threat, and where it must be declared to count."""

    control: str
    at: list[Place] | None = Field(
        default=None,
        description="Where the control counts as present (any of). Default: element for "
        "element matches, flow for flow matches, element or path for path matches.",
    )
    why: str | None = Field(default=None, description="What the control does against this threat.")
    group: str | None = Field(
        default=None,
        description="Mitigations sharing a group are alternatives: one of them counts for all.",
    )

    @field_validator("at", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class SeverityWhen(_Strict):
    """Raise or lower the severity when the primary element (or the bound flow) matches."""

    if_: ElementPred | None = Field(default=None, alias="if")
    if_flow: FlowPred | None = Field(default=None, description="Test the matched flow instead.")
    severity: Severity

    @model_validator(mode="after")
    def _one(self) -> SeverityWhen:
        if (self.if_ is None) == (self.if_flow is None):
            raise ValueError("severity_when takes exactly one of 'if' and 'if_flow'")
        return self


#: Shortest useful rationale: anything shorter cannot say why a citation applies.
RATIONALE_MIN = 20


class Rule(_Strict):
    """A threat rule."""

    id: str = Field(pattern=RULE_ID_PATTERN)
    title: str = Field(min_length=5, max_length=120)
    family: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str = Field(min_length=40)
    severity: Severity
    likelihood: Likelihood
    stride: list[Stride] = Field(min_length=1)
    references: list[str] = Field(min_length=1)
    rationale: dict[str, str] = Field(
        default_factory=dict,
        description="Why each cited reference applies to this rule's situation: one line per "
        "reference, keyed by the reference exactly as cited. Lint requires one for every ATLAS "
        "and OWASP (LLM, ML, Agentic) reference.",
    )
    mitigations: list[Mitigation] = Field(min_length=1)
    mitigated_when: Literal["all", "any"] | int = "all"
    severity_when: list[SeverityWhen] = Field(default_factory=list)
    match: Match
    detection: str = Field(min_length=20, description="How the rule decides, in words.")
    false_positives: str = Field(min_length=10, description="When it fires but should not.")
    attack: list[str] = Field(default_factory=list, description="Adversarial tests to run.")
    tags: list[str] = Field(default_factory=list)

    @field_validator("references")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if not _REF_RE.match(r)]
        if bad:
            raise ValueError(f"references must look like scheme:ID@edition, got {bad}")
        return v

    @field_validator("rationale")
    @classmethod
    def _rationale(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # A rationale is about one citation: one for a reference the rule does not cite is a
        # leftover from an edit (or a typo in the key), never something to keep quietly.
        if "references" not in info.data:
            return v  # the references themselves are invalid: that error says enough
        cited = set(info.data["references"])
        uncited = sorted(set(v) - cited)
        if uncited:
            raise ValueError(
                f"rationale for {', '.join(uncited)}, which the rule does not cite "
                "(keys must be references listed under 'references', spelt the same)"
            )
        for ref, why in v.items():
            if "\n" in why.strip() or len(why.strip()) < RATIONALE_MIN:
                raise ValueError(
                    f"rationale for {ref} must be one line of at least {RATIONALE_MIN} "
                    "characters saying why this rule's situation is that entry"
                )
        return v

    @model_validator(mode="after")
    def _policy(self) -> Rule:
        groups = len({m.group or f"control:{m.control}" for m in self.mitigations})
        if isinstance(self.mitigated_when, int) and not 1 <= self.mitigated_when <= groups:
            raise ValueError(
                "mitigated_when must be between 1 and the number of mitigations (groups count once)"
            )
        return self


VendorPred.model_rebuild()
OversightPred.model_rebuild()
ElementPred.model_rebuild()
FlowPred.model_rebuild()
PathPred.model_rebuild()
PathMatch.model_rebuild()
