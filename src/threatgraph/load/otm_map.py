"""Mapping tables between the Open Threat Model (OTM 0.2.0) and threatgraph.

Shared by the OTM loader and exporter and documented in docs/interop.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from threatgraph.model.schema import Classification, Kind, Trust
from threatgraph.util.hints import suggest

#: Key under ``attributes`` where threatgraph keeps the facts OTM has no field for, so that
#: threatgraph -> OTM -> threatgraph loses nothing. (Not plain "threatgraph": a JSON file with
#: that key and a "model" key would look like a threatgraph model file to a directory search.)
ATTR = "x-threatgraph"

#: The representation id of threatgraph's source-file references (written by our export,
#: never kept as foreign data on import).
SOURCE_REPRESENTATION = "threatgraph-source"

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


#: Component types used by other tools -> threatgraph kind. Our own kinds (``llm``,
#: ``vector_store`` or ``vector-store``) are always accepted. The table holds common
#: architecture words and Threat Dragon's shapes, StartLeft's default mapping types (what its
#: Terraform, CloudFormation, Visio, Lucid and Microsoft Threat Modeling Tool conversions
#: write), IriusRisk component definitions (``CD-...``) and the cloud AI services. A type not
#: here is read by keyword (:func:`classify_type`), else as :data:`DEFAULT_KIND` with a
#: warning. docs/interop.md lists this table (a test checks it).
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
    "generic-client": Kind.ACTOR,
    "rich-client": Kind.ACTOR,
    "android-device-client": Kind.ACTOR,
    "ios-device-client": Kind.ACTOR,
    "cd-ssh-client": Kind.ACTOR,
    # applications and services
    "web-service": Kind.APP,
    "web-application": Kind.APP,
    "web-app": Kind.APP,
    "web-server": Kind.APP,
    "web-ui": Kind.APP,
    "api": Kind.APP,
    "api-gateway": Kind.APP,
    "rest-api": Kind.APP,
    "backend": Kind.APP,
    "back-end-server": Kind.APP,
    "service": Kind.APP,
    "generic-service": Kind.APP,
    "microservice": Kind.APP,
    "server": Kind.APP,
    "application": Kind.APP,
    "load-balancer": Kind.APP,
    "web-application-server-side": Kind.APP,
    "compact-server-side-web-application": Kind.APP,
    "ec2": Kind.APP,
    "docker-container": Kind.APP,
    "elastic-container-service": Kind.APP,
    "elastic-container-kubernetes": Kind.APP,
    "fargate": Kind.APP,
    "cf-cloudfront": Kind.APP,
    "route-53": Kind.APP,
    "cognito": Kind.APP,
    "iam": Kind.APP,
    "active-directory": Kind.APP,
    "ldap-directory": Kind.APP,
    "oauth2-authorization-server": Kind.APP,
    "microsoft-azure-traffic-manager": Kind.APP,
    "cd-ec2-auto-scaling": Kind.APP,
    "cd-elastic-beanstalk": Kind.APP,
    "cd-lightsail": Kind.APP,
    "cd-appsync": Kind.APP,
    "cd-waf": Kind.APP,
    "cd-aws-application-load-balancer": Kind.APP,
    "cd-microsoft-azure-app-service-env": Kind.APP,
    "cd-virtual-machine": Kind.APP,
    "cd-ssh-server": Kind.APP,
    "cd-aws-iam": Kind.APP,
    # processes and code
    "tm.process": Kind.PROCESS,
    "process": Kind.PROCESS,
    "function": Kind.PROCESS,
    "lambda": Kind.PROCESS,
    "aws-lambda": Kind.PROCESS,
    "aws-lambda-function": Kind.PROCESS,
    "serverless-function": Kind.PROCESS,
    "job": Kind.PROCESS,
    "batch-job": Kind.PROCESS,
    "worker": Kind.PROCESS,
    "code-class": Kind.PROCESS,
    "class": Kind.PROCESS,
    "module": Kind.PROCESS,
    "step-functions": Kind.PROCESS,
    "kinesis-data-analytics": Kind.PROCESS,
    "swf-simple-workflow-service": Kind.PROCESS,
    "microsoft-azure-logic-apps": Kind.PROCESS,
    "cd-batch": Kind.PROCESS,
    "cd-glue": Kind.PROCESS,
    "cd-emr": Kind.PROCESS,
    "cd-data-pipeline": Kind.PROCESS,
    "cd-codebuild": Kind.PROCESS,
    "cd-codepipeline": Kind.PROCESS,
    "cd-microsoft-azure-data-factory": Kind.PROCESS,
    # stores, queues and logs
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
    "rds": Kind.DATASTORE,
    "dynamodb": Kind.DATASTORE,
    "redshift": Kind.DATASTORE,
    "elasticache": Kind.DATASTORE,
    "elasticsearch": Kind.DATASTORE,
    "athena": Kind.DATASTORE,
    "glacier": Kind.DATASTORE,
    "elastic-file-system": Kind.DATASTORE,
    "elastic-block-store": Kind.DATASTORE,
    "fsx-windows-file-server": Kind.DATASTORE,
    "elastic-container-registry": Kind.DATASTORE,
    "other-database": Kind.DATASTORE,
    "other-sql-database": Kind.DATASTORE,
    "other-nosql-key-value-store": Kind.DATASTORE,
    "azure-sql": Kind.DATASTORE,
    "azure-storage": Kind.DATASTORE,
    "sqs-simple-queue-service": Kind.DATASTORE,
    "sns": Kind.DATASTORE,
    "eventbridge": Kind.DATASTORE,
    "kinesis-data-streams": Kind.DATASTORE,
    "kinesis-data-firehose": Kind.DATASTORE,
    "cloudwatch": Kind.DATASTORE,
    "cloudtrail": Kind.DATASTORE,
    "kms": Kind.DATASTORE,
    "microsoft-azure-key-vault": Kind.DATASTORE,
    "cd-secrets-manager": Kind.DATASTORE,
    "cd-mq": Kind.DATASTORE,
    "cd-msk": Kind.DATASTORE,
    "cd-msg-broker": Kind.DATASTORE,
    "cd-neptune": Kind.DATASTORE,
    "cd-documentdb": Kind.DATASTORE,
    "cd-aurora": Kind.DATASTORE,
    "cd-keyspaces": Kind.DATASTORE,
    "cd-qldb": Kind.DATASTORE,
    "cd-elasticache-for-redis": Kind.DATASTORE,
    "cd-microsoft-azure-event-hub": Kind.DATASTORE,
    "cd-microsoft-azure-sql-db": Kind.DATASTORE,
    "cd-microsoft-azure-db-mysql": Kind.DATASTORE,
    "cd-microsoft-azure-db-postgresql": Kind.DATASTORE,
    # AI components and cloud AI services
    "large-language-model": Kind.LLM,
    "language-model": Kind.LLM,
    "bedrock": Kind.LLM,
    "aws-bedrock": Kind.LLM,
    "amazon-bedrock": Kind.LLM,
    "azure-openai": Kind.LLM,
    "azure-openai-service": Kind.LLM,
    "openai": Kind.LLM,
    "openai-api": Kind.LLM,
    "vertex-ai-gemini": Kind.LLM,
    "gemini": Kind.LLM,
    "ml-model": Kind.ML_MODEL,
    "model": Kind.ML_MODEL,
    "sagemaker": Kind.ML_MODEL,
    "sagemaker-endpoint": Kind.ML_MODEL,
    "cd-sagemaker": Kind.ML_MODEL,
    "vertex-ai": Kind.ML_MODEL,
    "azure-machine-learning": Kind.ML_MODEL,
    "cd-microsoft-azure-mach-learn": Kind.ML_MODEL,
    "cd-rekognition": Kind.ML_MODEL,
    "cd-comprehend": Kind.ML_MODEL,
    "cd-textract": Kind.ML_MODEL,
    "cd-translate": Kind.ML_MODEL,
    "cd-transcribe": Kind.ML_MODEL,
    "cd-polly": Kind.ML_MODEL,
    "cd-personalize": Kind.ML_MODEL,
    "cd-forecast": Kind.ML_MODEL,
    "cd-fraud-detector": Kind.ML_MODEL,
    "cd-lex": Kind.ML_MODEL,
    "ai-agent": Kind.AGENT,
    "bedrock-agent": Kind.AGENT,
    "mcp-server": Kind.TOOL,
    "vector-database": Kind.VECTOR_STORE,
    "vector-db": Kind.VECTOR_STORE,
    "bedrock-knowledge-base": Kind.VECTOR_STORE,
    "azure-ai-search": Kind.VECTOR_STORE,
    "cd-kendra": Kind.VECTOR_STORE,
    "pinecone": Kind.VECTOR_STORE,
    # outside parties
    "external-service": Kind.VENDOR,
    "third-party-service": Kind.VENDOR,
    "saas": Kind.VENDOR,
}

#: Component types that are network containers (a VPC, a subnet, a security group): they hold
#: other components and carry no data themselves, so they become boundaries nested in their
#: trust zone, with its trust. StartLeft also nests components in an ``empty-component``
#: (a "Custom VPC" shape); one that has children and no dataflow is read the same way.
NETWORK_CONTAINERS = frozenset(
    {
        "vpc",
        "aws-vpc",
        "subnet",
        "aws-subnet",
        "security-group",
        "aws-security-group",
        "virtual-network",
        "vnet",
        "azure-virtual-network",
        "network",
        "availability-zone",
        "cd-aws-vpc",
    }
)

#: StartLeft's type for a shape no mapping matched; with no children it is read as
#: :data:`DEFAULT_KIND` (reported in the import warnings, like an empty ``type``).
EMPTY_COMPONENT = "empty-component"

#: The kind of a component whose type is empty or unknown (with a warning naming the types).
DEFAULT_KIND = Kind.APP

#: Words of an unknown type -> kind, tried in order (AI services first, so that
#: "CD-V2-AWS-BEDROCK-AGENT" is an agent and not an AWS service). IriusRisk's component
#: definitions (``CD-V2-...``) are library and tenant specific, so they are read by their words.
TYPE_KEYWORDS: tuple[tuple[frozenset[str], Kind], ...] = (
    (frozenset({"agent", "agents"}), Kind.AGENT),
    (frozenset({"mcp"}), Kind.TOOL),
    (frozenset({"vector", "embeddings", "pinecone", "weaviate", "qdrant"}), Kind.VECTOR_STORE),
    (
        frozenset({"llm", "gpt", "openai", "bedrock", "gemini", "claude", "anthropic", "chatgpt"}),
        Kind.LLM,
    ),
    (
        frozenset({"sagemaker", "ml", "vertex", "inference", "rekognition", "comprehend"}),
        Kind.ML_MODEL,
    ),
    (frozenset({"lambda", "function", "functions", "job", "batch", "workflow"}), Kind.PROCESS),
    (
        frozenset(
            {
                "database",
                "db",
                "sql",
                "rds",
                "dynamodb",
                "s3",
                "bucket",
                "storage",
                "store",
                "queue",
                "cache",
                "redis",
                "topic",
                "stream",
                "vault",
                "log",
                "logs",
                "registry",
            }
        ),
        Kind.DATASTORE,
    ),
    (frozenset({"client", "browser", "user", "mobile", "device", "actor"}), Kind.ACTOR),
    (
        frozenset(
            {
                "server",
                "service",
                "api",
                "gateway",
                "app",
                "application",
                "container",
                "cluster",
                "kubernetes",
                "k8s",
                "eks",
                "aks",
                "ecs",
            }
        ),
        Kind.APP,
    ),
)

_CONTAINER_WORDS = frozenset({"vpc", "subnet", "vnet"})


def normalise_type(value: str) -> str:
    """Lowercase with '-' between words: 'Web Client' and 'web_client' become 'web-client'."""
    import re

    return re.sub(r"[^a-z0-9.]+", "-", value.strip().lower()).strip("-")


def kind_of_type(value: str, extra: Mapping[str, Kind] | None = None) -> Kind | None:
    """The threatgraph kind of an OTM component type from the tables, or None when unknown."""
    norm = normalise_type(value)
    if extra:
        for key, kind in extra.items():
            if normalise_type(key) == norm:
                return kind
    for k in Kind:
        if norm in (k.value, k.value.replace("_", "-")):
            return k
    return TYPE_ALIASES.get(norm)


def classify_type(value: str, extra: Mapping[str, Kind] | None = None) -> tuple[str, Kind | None]:
    """How to read a component type: ``("kind", k)`` from the tables or ``--map-type``,
    ``("keyword", k)`` from its words, ``("container", None)`` for a network container,
    ``("empty", None)`` for no type or StartLeft's empty-component, ``("unknown", None)``."""
    norm = normalise_type(value)
    kind = kind_of_type(value, extra)
    if kind is not None:
        return "kind", kind
    if norm in NETWORK_CONTAINERS or (norm.startswith("cd-") and norm.endswith("-vpc")):
        return "container", None
    if norm in ("", EMPTY_COMPONENT):
        return "empty", None
    words = set(norm.replace(".", "-").split("-"))
    if words & _CONTAINER_WORDS and not words & {"endpoint", "gateway", "link", "peering"}:
        return "container", None
    for keys, k in TYPE_KEYWORDS:
        if words & keys:
            return "keyword", k
    return "unknown", None


def parse_type_map(values: Iterable[str]) -> dict[str, Kind]:
    """``TYPE=KIND`` strings (``--map-type``) as a mapping; ValueError says what is wrong."""
    out: dict[str, Kind] = {}
    for v in values:
        otm_type, sep, kind = v.partition("=")
        if not sep or not otm_type.strip():
            raise ValueError(f"{v!r}: write TYPE=KIND")
        try:
            out[otm_type.strip()] = Kind(kind.strip())
        except ValueError:
            # The closest kind, not all seventeen (docs/dsl.md lists them).
            hint = suggest(kind.strip().lower(), [k.value for k in Kind], n=1)
            raise ValueError(
                f"{v!r}: {kind.strip()!r} is not a kind"
                + (hint or " (the kinds: docs/dsl.md, 'Element kinds')")
            ) from None
    return out


#: Trust-zone types whose meaning is known: IriusRisk's built-in trust zones (their ids, which
#: StartLeft writes as the zone ``type``, or as the zone ``id`` when a model uses the built-in
#: zone itself), their names, and threatgraph's trust levels (what our export writes). The
#: trust follows IriusRisk's default rating of each zone (Internet 1, Public 1, Public Cloud
#: 60, Private Secured 100) on threatgraph's scale. StartLeft rates every zone 10, so for
#: these zones the type says more than the rating does.
ZONE_TYPES: dict[str, Trust] = {
    "f0ba7722-39b6-4c81-8290-a30a248bb8d9": Trust.UNTRUSTED,
    "6376d53e-6461-412b-8e04-7b3fe2b397de": Trust.UNTRUSTED,
    "b61d6911-338d-46a8-9f39-8dcd24abfe91": Trust.PARTNER,
    "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d": Trust.RESTRICTED,
    "internet": Trust.UNTRUSTED,
    "public": Trust.UNTRUSTED,
    "public-cloud": Trust.PARTNER,
    "private-secured": Trust.RESTRICTED,
    "private-secured-cloud": Trust.RESTRICTED,
    **{t.value.replace("_", "-"): t for t in Trust},
}


def trust_of_zone_type(value: object) -> Trust | None:
    """The trust a zone type (or a built-in zone id) stands for, or None when unknown."""
    if not isinstance(value, str):
        return None
    return ZONE_TYPES.get(normalise_type(value))


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
