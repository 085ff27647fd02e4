"""What discovery recognises: SDK modules and packages of AI vendors, frameworks, stores,
model servers, and the MCP launchers. Data only; the recognisers read it.

Python entries are qualified names: a module (``openai``), or a name inside one
(``langchain_community.vectorstores.Chroma``); an import or call resolving to the name or
anything below it matches. JavaScript entries are package names as imported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from threatgraph.features.discover.result import Category


@dataclass(frozen=True)
class Tech:
    """A technology discovery recognises."""

    key: str
    name: str
    category: Category | None  # None: a framework (agents and tools are found through it)
    py: tuple[str, ...] = ()
    js: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()  # dependency names (PyPI and npm), lower case
    env: tuple[str, ...] = ()  # API key variables; the first is the SDK's default
    words: tuple[str, ...] = ()  # words that name it in a model (drift coverage)


VENDORS: tuple[Tech, ...] = (
    Tech(
        "azure-openai",
        "Azure OpenAI",
        "model_api",
        py=(
            "openai.AzureOpenAI",
            "openai.AsyncAzureOpenAI",
            "langchain_openai.AzureChatOpenAI",
            "langchain_openai.AzureOpenAIEmbeddings",
            "llama_index.llms.azure_openai",
        ),
        js=("@azure/openai", "@ai-sdk/azure"),
        packages=(
            "azure-ai-openai",
            "@azure/openai",
            "@ai-sdk/azure",
            "llama-index-llms-azure-openai",
        ),
        env=("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"),
        words=("azure",),
    ),
    Tech(
        "openai",
        "OpenAI",
        "model_api",
        py=(
            "openai",
            "langchain_openai",
            "llama_index.llms.openai",
            "llama_index.embeddings.openai",
        ),
        js=("openai", "@ai-sdk/openai", "@langchain/openai"),
        packages=(
            "openai",
            "langchain-openai",
            "llama-index-llms-openai",
            "@ai-sdk/openai",
            "@langchain/openai",
        ),
        env=("OPENAI_API_KEY",),
        words=("openai", "gpt", "chatgpt"),
    ),
    Tech(
        "anthropic",
        "Anthropic",
        "model_api",
        py=("anthropic", "langchain_anthropic", "llama_index.llms.anthropic"),
        js=("@anthropic-ai/sdk", "@ai-sdk/anthropic", "@langchain/anthropic"),
        packages=(
            "anthropic",
            "langchain-anthropic",
            "@anthropic-ai/sdk",
            "@ai-sdk/anthropic",
            "@langchain/anthropic",
        ),
        env=("ANTHROPIC_API_KEY",),
        words=("anthropic", "claude"),
    ),
    Tech(
        "google",
        "Google Gemini / Vertex AI",
        "model_api",
        py=(
            "google.generativeai",
            "google.genai",
            "vertexai",
            "google.cloud.aiplatform",
            "langchain_google_genai",
            "langchain_google_vertexai",
        ),
        js=(
            "@google/generative-ai",
            "@google/genai",
            "@ai-sdk/google",
            "@ai-sdk/google-vertex",
            "@google-cloud/vertexai",
            "@langchain/google-genai",
        ),
        packages=(
            "google-generativeai",
            "google-genai",
            "google-cloud-aiplatform",
            "langchain-google-genai",
            "langchain-google-vertexai",
            "@google/generative-ai",
            "@google/genai",
            "@ai-sdk/google",
            "@google-cloud/vertexai",
        ),
        env=("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"),
        words=("google", "gemini", "vertex"),
    ),
    Tech(
        "bedrock",
        "AWS Bedrock",
        "model_api",
        py=("langchain_aws", "llama_index.llms.bedrock"),
        js=("@aws-sdk/client-bedrock-runtime", "@ai-sdk/amazon-bedrock", "@langchain/aws"),
        packages=("langchain-aws", "@aws-sdk/client-bedrock-runtime", "@ai-sdk/amazon-bedrock"),
        env=("AWS_ACCESS_KEY_ID", "AWS_PROFILE"),
        words=("bedrock", "aws", "amazon"),
    ),
    Tech(
        "mistral",
        "Mistral AI",
        "model_api",
        py=("mistralai", "langchain_mistralai"),
        js=("@mistralai/mistralai", "@ai-sdk/mistral"),
        packages=("mistralai", "langchain-mistralai", "@mistralai/mistralai", "@ai-sdk/mistral"),
        env=("MISTRAL_API_KEY",),
        words=("mistral",),
    ),
    Tech(
        "cohere",
        "Cohere",
        "model_api",
        py=("cohere", "langchain_cohere"),
        js=("cohere-ai", "@ai-sdk/cohere"),
        packages=("cohere", "langchain-cohere", "cohere-ai", "@ai-sdk/cohere"),
        env=("CO_API_KEY", "COHERE_API_KEY"),
        words=("cohere",),
    ),
    Tech(
        "groq",
        "Groq",
        "model_api",
        py=("groq", "langchain_groq"),
        js=("groq-sdk", "@ai-sdk/groq"),
        packages=("groq", "langchain-groq", "groq-sdk", "@ai-sdk/groq"),
        env=("GROQ_API_KEY",),
        words=("groq",),
    ),
    Tech(
        "ollama",
        "Ollama",
        "model_api",
        py=(
            "ollama",
            "langchain_ollama",
            "langchain_community.llms.Ollama",
            "langchain_community.chat_models.ChatOllama",
            "llama_index.llms.ollama",
        ),
        js=("ollama", "ollama-ai-provider", "@langchain/ollama"),
        packages=("ollama", "langchain-ollama", "ollama-ai-provider", "@langchain/ollama"),
        env=("OLLAMA_HOST",),
        words=("ollama",),
    ),
    Tech(
        "litellm",
        "LiteLLM",
        "model_api",
        py=("litellm",),
        js=(),
        packages=("litellm",),
        env=("LITELLM_API_KEY",),
        words=("litellm",),
    ),
    Tech(
        "openrouter",
        "OpenRouter",
        "model_api",
        js=("@openrouter/ai-sdk-provider",),
        packages=("@openrouter/ai-sdk-provider",),
        env=("OPENROUTER_API_KEY",),
        words=("openrouter",),
    ),
    Tech(
        "xai",
        "xAI",
        "model_api",
        py=("xai_sdk", "langchain_xai"),
        js=("@ai-sdk/xai",),
        packages=("xai-sdk", "langchain-xai", "@ai-sdk/xai"),
        env=("XAI_API_KEY",),
        words=("xai", "grok"),
    ),
    Tech(
        "vercel-gateway",
        "Vercel AI Gateway",
        "model_api",
        js=("@ai-sdk/gateway",),
        packages=("@ai-sdk/gateway",),
        env=("AI_GATEWAY_API_KEY",),
        words=("gateway",),
    ),
)

#: How frameworks spell a vendor in a ``provider:model`` string (LangChain's
#: ``init_chat_model``, Pydantic AI, LiteLLM, the AI SDK's gateway ``provider/model``).
PROVIDER_ALIASES: dict[str, str] = {
    "openai": "openai",
    "azure": "azure-openai",
    "azure_openai": "azure-openai",
    "anthropic": "anthropic",
    "google": "google",
    "google_genai": "google",
    "google_vertexai": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "vertexai": "google",
    "gemini": "google",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "mistral": "mistral",
    "mistralai": "mistral",
    "cohere": "cohere",
    "groq": "groq",
    "ollama": "ollama",
    "openrouter": "openrouter",
    "xai": "xai",
}

#: A string in a model client's arguments that names the service behind an OpenAI-compatible
#: client (``OpenAI(base_url="https://openrouter.ai/api/v1")``), and the vendor it means.
BASE_URL_VENDORS: tuple[tuple[str, str], ...] = (
    ("openrouter.ai", "openrouter"),
    ("openai.azure.com", "azure-openai"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral"),
    (":11434", "ollama"),
)

#: Model name prefixes and the vendor that serves them (to attribute a literal model name).
MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("text-bison", "google"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("codestral", "mistral"),
    ("command", "cohere"),
    ("embed-", "cohere"),
    ("anthropic.", "bedrock"),
    ("amazon.", "bedrock"),
    ("meta.", "bedrock"),
)

FRAMEWORKS: tuple[Tech, ...] = (
    Tech(
        "langgraph",
        "LangGraph",
        None,
        py=("langgraph",),
        js=("@langchain/langgraph",),
        packages=("langgraph", "@langchain/langgraph"),
    ),
    Tech(
        "langchain",
        "LangChain",
        None,
        py=("langchain", "langchain_core", "langchain_community"),
        js=("langchain", "@langchain/core", "@langchain/community"),
        packages=("langchain", "langchain-core", "langchain-community", "@langchain/core"),
    ),
    Tech(
        "llamaindex",
        "LlamaIndex",
        None,
        py=("llama_index",),
        js=("llamaindex",),
        packages=("llama-index", "llama-index-core", "llamaindex"),
    ),
    Tech("haystack", "Haystack", None, py=("haystack",), packages=("haystack-ai", "farm-haystack")),
    Tech("dspy", "DSPy", None, py=("dspy",), packages=("dspy", "dspy-ai")),
    Tech(
        "deepagents",
        "Deep Agents",
        None,
        py=("deepagents", "managed_deepagents"),
        js=("deepagents",),
        packages=("deepagents",),
    ),
    Tech(
        "semantic-kernel",
        "Semantic Kernel",
        None,
        py=("semantic_kernel",),
        packages=("semantic-kernel",),
    ),
    Tech(
        "openai-agents",
        "OpenAI Agents SDK",
        None,
        py=("agents",),
        js=("@openai/agents",),
        packages=("openai-agents", "@openai/agents"),
    ),
    Tech("crewai", "CrewAI", None, py=("crewai", "crewai_tools"), packages=("crewai",)),
    Tech(
        "autogen",
        "AutoGen",
        None,
        py=("autogen", "autogen_agentchat", "autogen_core", "autogen_ext"),
        packages=("autogen-agentchat", "pyautogen", "autogen-core", "ag2"),
    ),
    Tech(
        "pydantic-ai",
        "Pydantic AI",
        None,
        py=("pydantic_ai",),
        packages=("pydantic-ai", "pydantic-ai-slim"),
    ),
    Tech("vercel-ai", "Vercel AI SDK", None, js=("ai",), packages=("ai",)),
    Tech(
        "mcp",
        "Model Context Protocol SDK",
        None,
        py=("mcp", "fastmcp", "langchain_mcp_adapters"),
        js=("@modelcontextprotocol/sdk",),
        packages=(
            "mcp",
            "fastmcp",
            "langchain-mcp-adapters",
            "@modelcontextprotocol/sdk",
        ),
    ),
    Tech(
        "transformers",
        "Hugging Face Transformers",
        None,
        py=("transformers", "huggingface_hub", "diffusers", "sentence_transformers", "peft", "trl"),
        js=("@huggingface/transformers", "@huggingface/inference", "@xenova/transformers"),
        packages=(
            "transformers",
            "huggingface-hub",
            "diffusers",
            "sentence-transformers",
            "peft",
            "trl",
            "@huggingface/transformers",
            "@huggingface/inference",
        ),
    ),
    Tech("pytorch", "PyTorch", None, py=("torch",), packages=("torch",)),
)

VECTOR_STORES: tuple[Tech, ...] = (
    Tech(
        "chroma",
        "Chroma",
        "vector_store",
        py=(
            "chromadb",
            "langchain_chroma",
            "langchain_community.vectorstores.Chroma",
            "llama_index.vector_stores.chroma",
        ),
        js=("chromadb", "@langchain/community/vectorstores/chroma"),
        packages=("chromadb", "langchain-chroma"),
        words=("chroma",),
    ),
    Tech(
        "qdrant",
        "Qdrant",
        "vector_store",
        py=(
            "qdrant_client",
            "langchain_qdrant",
            "langchain_community.vectorstores.Qdrant",
            "llama_index.vector_stores.qdrant",
        ),
        js=("@qdrant/js-client-rest", "@langchain/qdrant"),
        packages=("qdrant-client", "langchain-qdrant", "@qdrant/js-client-rest"),
        words=("qdrant",),
    ),
    Tech(
        "pinecone",
        "Pinecone",
        "vector_store",
        py=(
            "pinecone",
            "langchain_pinecone",
            "langchain_community.vectorstores.Pinecone",
            "llama_index.vector_stores.pinecone",
        ),
        js=("@pinecone-database/pinecone", "@langchain/pinecone"),
        packages=(
            "pinecone",
            "pinecone-client",
            "langchain-pinecone",
            "@pinecone-database/pinecone",
        ),
        env=("PINECONE_API_KEY",),
        words=("pinecone",),
    ),
    Tech(
        "weaviate",
        "Weaviate",
        "vector_store",
        py=("weaviate", "langchain_weaviate", "langchain_community.vectorstores.Weaviate"),
        js=("weaviate-client", "weaviate-ts-client", "@langchain/weaviate"),
        packages=("weaviate-client", "langchain-weaviate", "weaviate-ts-client"),
        words=("weaviate",),
    ),
    Tech(
        "milvus",
        "Milvus",
        "vector_store",
        py=("pymilvus", "langchain_milvus", "langchain_community.vectorstores.Milvus"),
        js=("@zilliz/milvus2-sdk-node",),
        packages=("pymilvus", "langchain-milvus", "@zilliz/milvus2-sdk-node"),
        words=("milvus", "zilliz"),
    ),
    Tech(
        "pgvector",
        "pgvector",
        "vector_store",
        py=(
            "pgvector",
            "langchain_postgres",
            "langchain_community.vectorstores.PGVector",
            "llama_index.vector_stores.postgres",
        ),
        js=("pgvector",),
        packages=("pgvector", "langchain-postgres"),
        words=("pgvector", "postgres"),
    ),
    Tech(
        "faiss",
        "FAISS",
        "vector_store",
        py=("faiss", "langchain_community.vectorstores.FAISS", "llama_index.vector_stores.faiss"),
        js=("faiss-node", "@langchain/community/vectorstores/faiss"),
        packages=("faiss-cpu", "faiss-gpu", "faiss-node"),
        words=("faiss",),
    ),
    Tech(
        "redis",
        "Redis vector search",
        "vector_store",
        py=(
            "redisvl",
            "langchain_redis",
            "langchain_community.vectorstores.Redis",
            "llama_index.vector_stores.redis",
        ),
        js=("@langchain/redis",),
        packages=("redisvl", "langchain-redis"),
        words=("redis",),
    ),
    Tech(
        "elasticsearch",
        "Elasticsearch vector search",
        "vector_store",
        py=(
            "langchain_elasticsearch",
            "langchain_community.vectorstores.ElasticsearchStore",
            "llama_index.vector_stores.elasticsearch",
        ),
        packages=("langchain-elasticsearch",),
        words=("elasticsearch", "elastic"),
    ),
    Tech(
        "opensearch",
        "OpenSearch vector search",
        "vector_store",
        py=(
            "langchain_community.vectorstores.OpenSearchVectorSearch",
            "llama_index.vector_stores.opensearch",
        ),
        words=("opensearch",),
    ),
    Tech(
        "lancedb",
        "LanceDB",
        "vector_store",
        py=("lancedb", "langchain_community.vectorstores.LanceDB"),
        js=("@lancedb/lancedb", "vectordb"),
        packages=("lancedb", "@lancedb/lancedb"),
        words=("lancedb", "lance"),
    ),
)

ALL: tuple[Tech, ...] = VENDORS + FRAMEWORKS + VECTOR_STORES
BY_KEY: dict[str, Tech] = {t.key: t for t in ALL}

#: Dependency name (lower case, ``_`` read as ``-``) -> technology key.
PACKAGES: dict[str, str] = {p: t.key for t in reversed(ALL) for p in t.packages}


@functools.lru_cache(maxsize=1 << 16)
def py_tech(qualname: str) -> Tech | None:
    """The technology a Python qualified name belongs to (the most specific entry wins)."""
    best: tuple[int, Tech] | None = None
    for tech in ALL:
        for prefix in tech.py:
            hit = qualname == prefix or qualname.startswith(prefix + ".")
            if hit and (best is None or len(prefix) > best[0]):
                best = (len(prefix), tech)
    return best[1] if best else None


@functools.lru_cache(maxsize=1 << 12)
def js_tech(package: str) -> Tech | None:
    """The technology a JavaScript import specifier belongs to (the most specific wins)."""
    best: tuple[int, Tech] | None = None
    for tech in ALL:
        for prefix in tech.js:
            hit = package == prefix or package.startswith(prefix + "/")
            if hit and (best is None or len(prefix) > best[0]):
                best = (len(prefix), tech)
    return best[1] if best else None


#: Container images of model servers and AI infrastructure: image name fragment ->
#: (technology key, display name, category, platform).
IMAGES: tuple[tuple[str, str, str, Category, str | None], ...] = (
    ("ollama/ollama", "ollama", "Ollama server", "deployment", "ollama"),
    ("vllm/vllm-openai", "vllm", "vLLM server", "deployment", "vllm"),
    ("text-generation-inference", "tgi", "Text Generation Inference server", "deployment", "tgi"),
    ("tritonserver", "triton", "Triton inference server", "deployment", "triton"),
    ("pytorch/torchserve", "torchserve", "TorchServe", "deployment", "torchserve"),
    ("rayproject/ray", "ray", "Ray cluster", "deployment", "ray"),
    ("jupyter/", "jupyter", "Jupyter server", "deployment", "jupyter"),
    ("quay.io/jupyter", "jupyter", "Jupyter server", "deployment", "jupyter"),
    ("jupyterhub/", "jupyter", "JupyterHub", "deployment", "jupyter"),
    ("mlflow", "mlflow", "MLflow server", "deployment", "mlflow"),
    ("berriai/litellm", "litellm", "LiteLLM proxy", "deployment", None),
    ("qdrant/qdrant", "qdrant", "Qdrant", "vector_store", None),
    ("chromadb/chroma", "chroma", "Chroma", "vector_store", None),
    ("milvusdb/milvus", "milvus", "Milvus", "vector_store", None),
    ("semitechnologies/weaviate", "weaviate", "Weaviate", "vector_store", None),
    ("cr.weaviate.io", "weaviate", "Weaviate", "vector_store", None),
    ("pgvector/pgvector", "pgvector", "pgvector", "vector_store", None),
    ("redis/redis-stack", "redis", "Redis vector search", "vector_store", None),
    ("opensearchproject/opensearch", "opensearch", "OpenSearch", "vector_store", None),
    ("elasticsearch", "elasticsearch", "Elasticsearch", "vector_store", None),
)

#: Agent constructors, by the last part of their qualified name, per framework.
AGENT_CALLS: frozenset[str] = frozenset(
    {
        "Agent",
        "ReActAgent",
        "FunctionAgent",
        "FunctionCallingAgent",
        "OpenAIAgent",
        "AgentExecutor",
        "create_react_agent",
        "create_tool_calling_agent",
        "create_openai_functions_agent",
        "create_openai_tools_agent",
        "initialize_agent",
        "AssistantAgent",
        "ConversableAgent",
        "UserProxyAgent",
        "ChatCompletionAgent",
        "ReAct",
        "CodeAct",
        "createReactAgent",
        "create_agent",
        "create_deep_agent",
        "define_deep_agent",
        "createAgent",
        "createDeepAgent",
    }
)

#: Tool decorators and constructors, by the last part of their qualified name.
TOOL_DECORATORS: frozenset[str] = frozenset(
    {"tool", "function_tool", "kernel_function", "tool_plain"}
)
TOOL_CALLS: frozenset[str] = frozenset(
    {
        "Tool",
        "StructuredTool",
        "FunctionTool",
        "from_function",
        "from_defaults",
        "tool",
        "FunctionTool.from_defaults",
    }
)

#: What a tool can do, from the qualified names its body calls: prefix -> capability.
CAPABILITY_CALLS: tuple[tuple[str, str], ...] = (
    ("subprocess", "shell"),
    ("os.system", "shell"),
    ("os.popen", "shell"),
    ("asyncio.create_subprocess_exec", "shell"),
    ("asyncio.create_subprocess_shell", "shell"),
    ("requests", "http"),
    ("httpx", "http"),
    ("aiohttp", "http"),
    ("urllib.request", "http"),
    ("open", "file_system"),
    ("pathlib", "file_system"),
    ("shutil", "file_system"),
    ("os.remove", "file_system"),
    ("os.listdir", "file_system"),
    ("sqlite3", "sql"),
    ("psycopg", "sql"),
    ("psycopg2", "sql"),
    ("sqlalchemy", "sql"),
    ("pymysql", "sql"),
    ("smtplib", "send_email"),
    ("sendgrid", "send_email"),
    ("exec", "execute_code"),
    ("eval", "execute_code"),
    ("fetch", "http"),
    ("child_process", "shell"),
    ("fs", "file_system"),
    ("node:fs", "file_system"),
    ("node:child_process", "shell"),
    ("nodemailer", "send_email"),
    ("pg", "sql"),
)


def capability(qualname: str) -> str | None:
    """The capability a call of ``qualname`` gives a tool, or None."""
    for prefix, cap in CAPABILITY_CALLS:
        if qualname == prefix or qualname.startswith(prefix + "."):
            return cap
    return None
