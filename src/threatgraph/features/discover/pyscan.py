"""The Python recogniser: imports and calls read from the syntax tree (``ast``), never run.

Only code counts: a comment, a docstring or a string that mentions ``openai`` is not a use;
``import openai`` or a call through such an import is. Names are resolved through the
file's imports and simple assignments (``client = OpenAI()`` then ``client.chat...``), so a
call is attributed to the SDK it goes through. Literal arguments give model names, hub
repositories, revisions and the like; anything computed is left unknown.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from threatgraph.features.discover import catalog, configscan
from threatgraph.features.discover.common import (
    MODEL_KWARGS,
    attribute_env,
    key,
    model_name,
    provider_of_model,
    revision_pinned,
    sdk_call,
    tech_component,
    vendor_component,
    vendor_of_model,
)
from threatgraph.features.discover.result import Discovery, Evidence, Link

#: A file is parsed only when it has an import line naming a module discovery knows (most
#: files have none); what counts is then decided on the syntax tree.
_ROOTS = sorted(
    {p.split(".")[0] for t in catalog.ALL for p in t.py}
    | {"pickle", "dill", "cloudpickle", "joblib", "safetensors", "llama_cpp", "boto3"}
)
_TRIGGER = re.compile(
    r"^[ \t]*(?:from[ \t]+(?:"
    + "|".join(_ROOTS)
    + r")\b|import[ \t][^\n]*\b(?:"
    + "|".join(_ROOTS)
    + r")\b)",
    re.MULTILINE,
)
_ARTIFACT_CALLS = {
    "hf_hub_download": "huggingface_hub",
    "snapshot_download": "huggingface_hub",
    "SentenceTransformer": "sentence_transformers",
    "CrossEncoder": "sentence_transformers",
}
_MCP_SERVERS = (
    "mcp.server.fastmcp.FastMCP",
    "fastmcp.FastMCP",
    "mcp.server.Server",
    "mcp.server.lowlevel.Server",
    "mcp.server.lowlevel.server.Server",
)
_RETRIEVE = frozenset(
    {
        "as_retriever",
        "similarity_search",
        "similarity_search_with_score",
        "max_marginal_relevance_search",
        "query",
        "search",
        "as_query_engine",
    }
)
#: Frameworks whose agent constructors take the model as their first argument.
_MODEL_FIRST = frozenset({"langgraph", "langchain", "pydantic-ai", "deepagents"})
_TRAINERS = frozenset(
    {
        "Trainer",
        "SFTTrainer",
        "Seq2SeqTrainer",
        "DPOTrainer",
        "RewardTrainer",
        "get_peft_model",
        "LoraConfig",
        "BootstrapFewShot",
        "MIPROv2",
    }
)


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call: ast.Call, *names: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg in names:
            return k.value
    return None


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes (calls in it kept as the callee)."""
    parts: list[str] = []
    cur = node
    while True:
        if isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        elif isinstance(cur, ast.Call):
            cur = cur.func
        elif isinstance(cur, ast.Name):
            parts.append(cur.id)
            return ".".join(reversed(parts))
        else:
            return None


@dataclass
class _File:
    rel: str
    found: Discovery
    names: dict[str, str] = field(default_factory=dict)  # local dotted name -> qualified name
    imports: list[tuple[str, str, int]] = field(default_factory=list)  # (local, qual, line)
    via: dict[str, set[str]] = field(default_factory=dict)  # import local -> techs of uses
    vendors: set[str] = field(default_factory=set)
    called_vendors: set[str] = field(default_factory=set)
    env: list[tuple[str, int]] = field(default_factory=list)
    loose_models: list[tuple[str, int]] = field(default_factory=list)
    tool_vars: dict[str, str] = field(default_factory=dict)  # variable -> tool component key
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    stores: dict[str, str] = field(default_factory=dict)  # variable -> vector store key
    mcp_vars: dict[str, str] = field(default_factory=dict)  # variable -> MCP server key
    lists: dict[str, ast.List | ast.Tuple] = field(default_factory=dict)  # name -> literal
    model_vars: dict[str, str] = field(default_factory=dict)  # variable -> vendor of its model
    assigned: dict[tuple[int, int], str] = field(default_factory=dict)  # call at -> variable
    agent_vars: dict[str, str] = field(default_factory=dict)  # variable -> agent component key
    import_locals: set[str] = field(default_factory=set)

    def ev(self, node: ast.AST, what: str) -> Evidence:
        return Evidence(self.rel, getattr(node, "lineno", 0), what)

    def resolve(self, node: ast.AST) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            head = ".".join(parts[:n])
            if head in self.names:
                return ".".join([self.names[head], *parts[n:]])
        return dotted

    def root_local(self, node: ast.AST) -> str | None:
        dotted = _dotted(node)
        return dotted.split(".")[0] if dotted else None


def scan(rel: str, text: str, found: Discovery) -> None:
    """Record the AI components the Python source ``text`` (file ``rel``) uses."""
    if not _TRIGGER.search(text):
        return
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        found.warnings.append(f"{rel}:{line}: not read as Python ({type(exc).__name__})")
        return
    f = _File(rel, found)
    try:
        nodes = list(ast.walk(tree))
    except RecursionError:  # pragma: no cover - ast.walk is iterative; kept for safety
        return
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                qual = a.name if a.asname else a.name.split(".")[0]
                f.names[local] = qual
                f.imports.append((local, a.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name == "*":
                    continue
                qual = f"{node.module}.{a.name}"
                f.names[a.asname or a.name] = qual
                f.imports.append((a.asname or a.name, qual, node.lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            f.funcs.setdefault(node.name, node)
    f.import_locals = {i[0] for i in f.imports}
    # Assignments in source order: `client = OpenAI()` makes `client` an OpenAI name.
    assigns = sorted(
        (n for n in nodes if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in assigns:
        value = node.value
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if isinstance(value, ast.List | ast.Tuple):
            for t in targets:
                if isinstance(t, ast.Name):
                    f.lists[t.id] = value  # `tools = [a, b]` then `Agent(tools=tools)`
            continue
        if not isinstance(value, ast.Call):
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                f.assigned[(value.lineno, value.col_offset)] = t.id
        spec = _literal(_kw(value, *MODEL_KWARGS) or (value.args[0] if value.args else None))
        vendor = provider_of_model(spec.split("/", 1)[0]) if spec and ":" in spec else None
        for t in targets:
            if vendor and isinstance(t, ast.Name):
                f.model_vars[t.id] = vendor  # `model = init_chat_model("openai:gpt-4o")`
        dotted = _dotted(value.func)
        resolved = f.resolve(value.func)
        if resolved is None or dotted is None or dotted.split(".")[0] not in f.names:
            continue  # only names that go through an import are followed
        for t in targets:
            name = _dotted(t)
            if name and isinstance(t, ast.Name | ast.Attribute):
                f.names[name] = resolved
    calls = sorted(
        (n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)
    )
    for call in calls:
        _call(f, call)
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _decorated(f, node)
        elif isinstance(node, ast.Subscript) and f.resolve(node.value) == "os.environ":
            name = _literal(node.slice)
            if name:
                f.env.append((name, node.lineno))
    _imports(f)
    _finish(f)


def _imports(f: _File) -> None:
    """Imports as evidence: ``from x import Y`` always; ``import x`` unless every use of it
    went to another technology (``import openai`` used only as ``openai.AzureOpenAI``)."""
    for local, qual, line in f.imports:
        tech = catalog.py_tech(qual)
        if tech is None or tech.category is None:
            continue
        uses = f.via.get(local)
        if uses and tech.key not in uses:
            continue
        tech_component(f.found, tech, Evidence(f.rel, line, f"import {qual}"))
        if tech.category == "model_api":
            f.vendors.add(tech.key)


def _call(f: _File, call: ast.Call) -> None:
    qual = f.resolve(call.func)
    if qual is None:
        return
    last = qual.rsplit(".", 1)[-1]
    tech = catalog.py_tech(qual)
    # An OpenAI-compatible client pointed at another service by its base URL.
    if tech is not None and tech.key == "openai":
        url = _literal(_kw(call, "base_url", "api_base", "azure_endpoint"))
        for fragment, vendor in catalog.BASE_URL_VENDORS:
            if url and fragment in url:
                tech = catalog.BY_KEY[vendor]
    if qual in ("boto3.client", "boto3.session.Session.client") or qual.endswith(".client"):
        service = _literal(call.args[0] if call.args else _kw(call, "service_name"))
        if service in ("bedrock-runtime", "bedrock", "bedrock-agent-runtime"):
            tech = catalog.BY_KEY["bedrock"]
    local = f.root_local(call.func)
    if tech is not None and local in f.import_locals:
        f.via.setdefault(local, set()).add(tech.key)
    comp = sdk_call(f.found, tech, f.ev(call, f"call {qual}")) if tech is not None else None
    if comp is not None and tech is not None and tech.category == "model_api":
        f.vendors.add(tech.key)
        f.called_vendors.add(tech.key)
        for value in [_kw(call, *MODEL_KWARGS), *(call.args[:1] if "Model" in last else [])]:
            name = model_name(_literal(value) or "")
            if name:
                comp.models.add(name)
        key_arg = _kw(call, "api_key")
        if key_arg is not None:
            env = _env_name(f, key_arg)
            if env:
                comp.env_vars.add(env)
    # Model names in calls the resolution could not attribute (client built elsewhere). A
    # `provider:model` literal names its vendor itself (LangChain's init_chat_model, Pydantic AI).
    if tech is None or tech.category is None:
        name = model_name(_literal(_kw(call, *MODEL_KWARGS)) or "")
        # Only the `provider:` spelling: `org/name` is as often a hub repository.
        provider = provider_of_model(name.split("/", 1)[0]) if name and ":" in name else None
        if name and provider is not None:
            comp = vendor_component(f.found, provider, f.ev(call, f"model {name}"))
            comp.models.add(name.split(":", 1)[1])
            f.vendors.add(provider)
        elif name and tech is None:
            f.loose_models.append((name, call.lineno))
    if qual in ("os.getenv", "os.environ.get") or qual.endswith("os.environ.get"):
        name = _literal(call.args[0] if call.args else None)
        if name:
            f.env.append((name, call.lineno))
    if "mcp" in qual.lower() and f.root_local(call.func) in f.names:
        _mcp_client(f, call)
    if last in _RETRIEVE and isinstance(call.func, ast.Attribute):
        base = _dotted(call.func.value)
        store = catalog.py_tech(f.resolve(call.func.value) or "") if base else None
        if store is not None and store.category == "vector_store":
            comp = tech_component(f.found, store, None)
            f.found.links.add(Link("app", comp.key, "retrieval", "read", f.ev(call, last)))
    if tech is not None and tech.category is None:
        _framework_call(f, call, qual, last, tech)
    _artifact(f, call, qual, last)
    fine_tuning = "fine_tuning.jobs.create" in qual or "fine_tunes.create" in qual
    if (last in _TRAINERS and tech is not None) or fine_tuning:
        what = "fine-tuning job" if fine_tuning else last
        owner = tech.name if tech is not None else qual.split(".")[0]
        comp = f.found.add(
            key("training", f.rel),
            "training",
            f"Training in {f.rel}",
            f.ev(call, f"{owner} {what}"),
        )
        comp.tech = tech.key if tech is not None else ""


def _plain(node: ast.AST) -> object:
    """The value of a literal string, number, boolean or list of them, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | bool):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        items = [_plain(e) for e in node.elts]
        return [i for i in items if i is not None]
    return None


def _mcp_client(f: _File, call: ast.Call) -> None:
    """MCP servers given to an MCP client in code, as a dict literal of server specs
    (``MultiServerMCPClient({"docs": {"url": ..., "transport": "http"}})``)."""
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if not isinstance(arg, ast.Dict):
            continue
        for k, v in zip(arg.keys, arg.values, strict=True):
            name = _literal(k)
            if k is None or name is None or not isinstance(v, ast.Dict):
                continue
            spec = {
                sk: _plain(sv)
                for sk, sv in ((_literal(a), b) for a, b in zip(v.keys, v.values, strict=True))
                if sk is not None
            }
            if "url" in spec or "command" in spec:
                ev = f.ev(k, f"MCP server {name!r} configured in code")
                configscan.mcp_server(f.found, name, spec, ev)


def _framework_call(f: _File, call: ast.Call, qual: str, last: str, tech: catalog.Tech) -> None:
    if any(qual == s or qual.startswith(s + ".") for s in _MCP_SERVERS) and last in (
        "FastMCP",
        "Server",
    ):
        name = _literal(call.args[0] if call.args else _kw(call, "name")) or f.rel
        comp = f.found.add(
            key("mcp_server", name), "mcp_server", f"MCP server {name}", f.ev(call, f"call {qual}")
        )
        comp.tech = "mcp"
        comp.transport = "stdio"
        for var, q in f.names.items():
            if q == qual:
                f.mcp_vars[var] = comp.key
        return
    if last in catalog.AGENT_CALLS:
        _agent(f, call, qual, tech)
    elif qual == "mcp.types.Tool" and f.mcp_vars:
        # A low-level MCP server lists its tools as `Tool(name=...)` values.
        tool_name = _literal(_kw(call, "name"))
        if tool_name:
            server = f.found.components[sorted(set(f.mcp_vars.values()))[0]]
            server.tools.add(tool_name)
            server.evidence.append(f.ev(call, f"MCP tool {tool_name}"))
    elif last in catalog.TOOL_CALLS and ("tool" in qual.lower() or last == "from_defaults"):
        fn = _kw(call, "func", "fn", "function", "coroutine")
        if fn is None and call.args and isinstance(call.args[0], ast.Name):
            fn = call.args[0]
        fname = fn.id if isinstance(fn, ast.Name) else None
        tool_name = _literal(_kw(call, "name")) or fname
        if not tool_name:
            return
        comp = f.found.add(key("tool", tool_name), "tool", tool_name, f.ev(call, f"tool {qual}"))
        tool_var = _assigned_name(f, call)
        if tool_var:
            f.tool_vars[tool_var] = comp.key  # `calc = FunctionTool.from_defaults(...)`
        comp.tech = tech.key
        if fname and fname in f.funcs:
            comp.capabilities |= _capabilities(f, f.funcs[fname])


def _agent(f: _File, call: ast.Call, qual: str, tech: catalog.Tech) -> None:
    name = _literal(_kw(call, "name", "role"))
    if name is None and tech.key == "autogen" and call.args:
        name = _literal(call.args[0])  # AutoGen agents take their name first
    if name is None:
        name = _assigned_name(f, call) or f"{tech.name} agent"
    comp = f.found.add(key("agent", name), "agent", name, f.ev(call, f"agent {qual}"))
    comp.tech = tech.key
    var = _assigned_name(f, call)
    if var:
        f.agent_vars[var] = comp.key
    tools = _kw(call, "tools", "functions")
    if isinstance(tools, ast.Name):
        tools = f.lists.get(tools.id)
    if isinstance(tools, ast.List | ast.Tuple):
        for item in tools.elts:
            tname = item.id if isinstance(item, ast.Name) else _dotted(item)
            if not tname:
                continue
            tkey = f.tool_vars.get(tname) or key("tool", tname)
            known = f.found.components.get(tkey)
            comp.tools.add(known.name if known is not None else tname)
            f.found.links.add(Link(comp.key, tkey, "tool call", "call", f.ev(item, tname)))
    model = _kw(call, "llm", "model", "model_client", "lm")
    if model is None and call.args and tech.key in _MODEL_FIRST:
        model = call.args[0]
    vendor = None
    if model is not None:
        literal = _literal(model)
        if literal:
            vendor = vendor_of_model(literal)
            if vendor:
                comp_v = vendor_component(f.found, vendor, f.ev(model, f"model {literal}"))
                comp_v.models.add(literal.split(":", 1)[-1])
        elif isinstance(model, ast.Name) and model.id in f.model_vars:
            vendor = f.model_vars[model.id]
        else:
            mt = catalog.py_tech(f.resolve(model) or "")
            vendor = mt.key if mt is not None and mt.category == "model_api" else None
    if vendor:
        f.found.links.add(Link(comp.key, f"model_api:{vendor}", "prompt", "call", f.ev(call, qual)))


def _assigned_name(f: _File, call: ast.Call) -> str | None:
    """The variable an agent call is assigned to (``support_agent = Agent(...)``)."""
    return f.assigned.get((call.lineno, call.col_offset))


def _decorated(f: _File, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        qual = f.resolve(target)
        if qual is None:
            continue
        last = qual.rsplit(".", 1)[-1]
        base = _dotted(target.value) if isinstance(target, ast.Attribute) else None
        server = f.mcp_vars.get(base or "")
        if (
            server is None
            and any(qual.startswith(s + ".") for s in _MCP_SERVERS)
            and (last in ("tool", "call_tool"))
        ):
            server = next(iter(sorted(set(f.mcp_vars.values()))), None)
        name = fn.name
        if isinstance(dec, ast.Call):
            name = _literal(dec.args[0] if dec.args else _kw(dec, "name")) or fn.name
        if server is not None and last in ("tool", "call_tool"):
            comp = f.found.components[server]
            comp.capabilities |= _capabilities(f, fn)
            if last == "tool":  # `call_tool` is the low-level dispatcher, not a tool
                comp.tools.add(name)
                comp.evidence.append(f.ev(dec, f"MCP tool {name}"))
            continue
        tech = catalog.py_tech(qual)
        if last in catalog.TOOL_DECORATORS and tech is not None:
            comp = f.found.add(key("tool", name), "tool", name, f.ev(dec, f"tool @{qual}"))
            comp.tech = tech.key
            comp.capabilities |= _capabilities(f, fn)
            f.tool_vars[fn.name] = comp.key
            if tech.key == "pydantic-ai" and base:
                agent = f.agent_vars.get(base)
                if agent:
                    f.found.links.add(Link(agent, comp.key, "tool call", "call", f.ev(dec, name)))


def _capabilities(f: _File, fn: ast.AST) -> set[str]:
    """What a tool's body can do, from the calls it makes, following calls of functions of
    the same file (helpers) once each."""
    caps: set[str] = set()
    todo, seen = [fn], {id(fn)}
    while todo:
        for node in ast.walk(todo.pop()):
            if not isinstance(node, ast.Call):
                continue
            qual = f.resolve(node.func)
            cap = catalog.capability(qual) if qual else None
            if cap:
                caps.add(cap)
            if qual and qual.rsplit(".", 1)[-1] in ("execute", "executemany", "read_sql"):
                caps.add("sql")
            helper = f.funcs.get(qual or "")
            if helper is not None and id(helper) not in seen:
                seen.add(id(helper))
                todo.append(helper)
    return caps


def _env_name(f: _File, node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        qual = f.resolve(node.func) or ""
        if qual in ("os.getenv", "os.environ.get"):
            return _literal(node.args[0] if node.args else None)
    if isinstance(node, ast.Subscript) and f.resolve(node.value) == "os.environ":
        return _literal(node.slice)
    return None


def _artifact(f: _File, call: ast.Call, qual: str, last: str) -> None:
    repo: str | None = None
    loader = None
    fmt = None
    if last == "from_pretrained" or last in _ARTIFACT_CALLS:
        repo = _literal(
            call.args[0]
            if call.args
            else _kw(call, "pretrained_model_name_or_path", "repo_id", "model_name_or_path")
        )
        loader = _ARTIFACT_CALLS.get(last) or qual.split(".")[0]
        if loader == qual.split(".")[0] and "." not in qual:
            loader = "transformers"
    elif qual == "transformers.pipeline":
        repo = _literal(_kw(call, "model"))
        loader = "transformers"
    elif qual == "torch.load":
        fmt, loader = "pytorch", "torch.load"
        repo = _literal(call.args[0] if call.args else _kw(call, "f"))
    elif qual in ("pickle.load", "pickle.loads", "dill.load", "cloudpickle.load"):
        fmt, loader = "pickle", qual
    elif qual in ("joblib.load",):
        fmt, loader = "joblib", "joblib.load"
        repo = _literal(call.args[0] if call.args else None)
    elif qual.startswith("safetensors.") and last in ("load_file", "safe_open", "load"):
        fmt, loader = "safetensors", qual
        repo = _literal(call.args[0] if call.args else None)
    elif qual in ("llama_cpp.Llama", "llama_cpp.Llama.from_pretrained"):
        fmt, loader = "gguf", "llama.cpp"
        repo = _literal(_kw(call, "model_path", "repo_id"))
    else:
        return
    if fmt is None and repo and repo.endswith(".gguf"):
        fmt = "gguf"
    if repo is None and fmt is None:
        return  # from_pretrained of a computed name: nothing to name the artefact by
    label = repo or f"{loader} in {f.rel}"
    comp = f.found.add(key("artifact", label), "artifact", label, f.ev(call, f"load {qual}"))
    comp.loader = loader
    comp.artifact_format = comp.artifact_format or fmt
    if repo and fmt is None and not repo.startswith((".", "/", "~")) and "/" in repo:
        comp.hub = f"huggingface:{repo}"
        comp.pinned = revision_pinned(_literal(_kw(call, "revision")))
    remote = _kw(call, "trust_remote_code")
    if isinstance(remote, ast.Constant) and remote.value is True:
        comp.remote_code = True
    elif comp.remote_code is None and comp.hub:
        comp.remote_code = False


def _finish(f: _File) -> None:
    """Model names and environment variables the calls could not attribute, by the vendors
    of the file: a model name by its prefix, else the file's only vendor."""
    for name, _line in f.loose_models:
        vendor = vendor_of_model(name)
        if vendor not in f.vendors:
            vendor = next(iter(f.vendors)) if len(f.vendors) == 1 else None
        if vendor:
            vendor_component(f.found, vendor, None).models.add(name)
    attribute_env(f.found, [name for name, _line in f.env], f.vendors)
