"""Customer-support agent: an LLM agent that answers customers and works their tickets.

Customers chat on the help site or write to the support inbox. An agent reads the message,
looks up the customer's tickets and orders through MCP tools, drafts the answer with a
vendor-hosted LLM, replies by chat or email, and can issue a refund. A support representative
approves every refund in a console before the payments service pays it.

Design questions this model illustrates:
- The support inbox is untrusted content that the agent reads and acts on: can one email steer
  the agent (indirect prompt injection, goal hijack) into mailing data out or refunding money?
- The exfiltration trifecta: the agent sees customer records, reads outsiders' text and can
  send email. Which leg do you cut: untrusted context, egress, or a human in the loop?
- Refunds move money: a human approves each one, but can an outsider flood the approval queue
  until the representative clicks through?
- MCP tools over the network: are the servers authenticated, their tokens scoped, and is the
  email vendor's MCP server vetted and pinned, or can an update rewrite its tool descriptions?
- Long-term memory of customer preferences: can a customer plant an instruction that a later
  session obeys?
- The chat widget renders Markdown: can an injected image link carry data to an attacker?
- Whose identity does the agent use when it reads tickets: the customer's, or its own service
  account (confused deputy)?

Run:
    threatgraph check models/support_agent.py
    threatgraph report models/support_agent.py -o out/
"""

from threatgraph import Model, control

m = Model(
    "Customer support agent",
    owner="support-platform@example.com",
    version="2026.1",
    description="An LLM agent answers customers by chat and email, works their tickets and "
    "orders through MCP tools, and proposes refunds that a representative approves.",
    controls=[
        "process.threat_modeling",
        "process.incident_response",
        control("process.secure_code_review", "https://git.example.com/support/agent/CODEOWNERS"),
        control(
            "process.adversarial_testing", "https://wiki.example.com/security/red-team/2026-q1"
        ),
        control("testing.prompt_injection_suite", "https://ci.example.com/support-agent/redteam"),
    ],
)

# --- Trust boundaries -------------------------------------------------------------------
internet = m.boundary("Internet", trust="untrusted")
platform = m.boundary("Support platform", trust="internal")
# Payments live in a separate, more restricted zone: the agent never reaches it directly.
payments_zone = m.boundary("Payments zone", trust="restricted", inside=platform)
model_cloud = m.boundary("Model provider cloud", trust="third_party")
mail_cloud = m.boundary("Email provider", trust="third_party")

# --- Data ------------------------------------------------------------------------------
chat_message = m.data("Chat message", classification="pii")
inbound_email = m.data("Inbound email", classification="pii")
ticket = m.data("Ticket record", classification="pii")
agent_note = m.data("Agent note", classification="pii", description="Written by the agent.")
order = m.data("Order history", classification="pii")
articles = m.data("Help-centre articles", classification="public")
reply = m.data("Agent reply", classification="pii")
refund = m.data("Refund request", classification="confidential")
preferences = m.data("Customer preferences", classification="pii")
transcript = m.data("Conversation transcript", classification="pii")
mail_api_key = m.data("Email API key", classification="secret")

# --- Vendors ---------------------------------------------------------------------------
model_vendor = m.vendor(
    "Frontier Models",
    services=["LLM inference"],
    certifications=[{"name": "soc2_type2", "expires": "2027-01-31"}],
    clauses=[
        "data_ownership",
        "model_transparency",
        "no_training_on_customer_data",
        "data_retention",
    ],
    trains_on_customer_data=False,
    breach_notification_days=3,
    last_assessment="2026-05-12",
    inside=model_cloud,
)
# The email provider was bought by the marketing team; nobody has assessed it or read its
# terms on training (its default terms allow "service improvement" on message content).
mail_vendor = m.vendor(
    "PostBox Mail",
    services=["transactional email", "inbound parsing", "email MCP server"],
    inside=mail_cloud,
)

# --- People and outside content ----------------------------------------------------------
customer = m.actor("Customer", inside=internet)
representative = m.actor(
    "Support representative",
    inside=platform,
    controls=["authn.sso_mfa", "process.security_training"],
)
inbox = m.external_content(
    "Support inbox",
    content="email",
    inside=internet,
    description="Anyone can write to support@; the provider forwards parsed messages.",
    stores=[inbound_email],
)

# --- The application -------------------------------------------------------------------
widget = m.app(
    "Chat widget",
    inside=platform,
    internet_facing=True,
    interpreter="markdown",  # replies are rendered as Markdown in the customer's browser
    processes=[chat_message, reply],
    # Customers are signed in to their account; each account gets a daily message quota.
    controls=["authn.api_keys", "ratelimit.per_user", "ratelimit.quotas", "audit.logging"],
)
poller = m.process(
    "Inbox poller",
    inside=platform,
    processes=[inbound_email],
    controls=["audit.logging"],
)
shield = m.guardrail(
    "Prompt shield",
    inside=platform,
    processes=[chat_message],
    controls=["guardrail.input_filter", "input.length_limits", "input.validation"],
    description="Screens chat messages for injection patterns and caps their length.",
)
agent = m.agent(
    "Support agent",
    inside=platform,
    owner="support-platform@example.com",
    # It runs per message without a person watching each step; only refunds wait for one.
    autonomous=True,
    # Each chat message and each email to the support inbox starts a run.
    triggered_by=["message", "email"],
    processes=[chat_message, inbound_email, ticket, order, preferences, mail_api_key],
    controls=[
        "agent.step_limits",
        "agent.kill_switch",
        "audit.tool_call_logging",
        "audit.logging",
        "input.prompt_segregation",
        "guardrail.system_prompt_hardening",
        "guardrail.output_filter",
        "output.pii_filtering",
        "privacy.data_minimisation",
        # The email key is fetched from the vault at start-up, but then sits in the agent's
        # process and is passed on every send_email call: tool.credential_isolation is missing.
        "infra.secrets_manager",
        "ratelimit.cost_budget",
        "monitoring.anomaly_detection",
        "supply.sbom",
    ],
)
llm = m.llm(
    "Hosted LLM",
    inside=model_cloud,
    provider=model_vendor,
    source="vendor",
    processes=[chat_message, inbound_email, ticket, order, preferences],
    controls=[control("audit.logging", note="provider request logs, exported daily")],
)
memory = m.memory(
    "Customer memory",
    inside=platform,
    persistent=True,
    stores=[preferences],
    controls=["crypto.at_rest", "agent.memory_isolation", "authz.rbac", "privacy.retention_limits"],
    description="Per-customer notes the agent writes and reads back in later sessions.",
)
kb_index = m.vector_store("Help-centre index", inside=platform, stores=[articles])

# --- Tools (MCP) -----------------------------------------------------------------------
tickets_mcp = m.mcp_server(
    "Ticketing MCP server",
    inside=platform,
    source="internal",
    transport="streamable_http",
    capabilities=["read", "write"],
    processes=[ticket],
    controls=["authz.scoped_tokens", "agent.least_privilege_tools", "audit.logging"],
)
orders_mcp = m.mcp_server(
    "Orders MCP server",
    inside=platform,
    source="internal",
    transport="stdio",  # a local process beside the agent: nothing to authenticate
    capabilities=["read"],
    processes=[order],
    controls=["agent.least_privilege_tools", "audit.logging"],
)
email_mcp = m.mcp_server(
    "Email MCP server",
    inside=mail_cloud,
    provider=mail_vendor,
    source="vendor",
    transport="http",
    capabilities=["send_email"],
    processes=[reply],
)
refund_tool = m.tool(
    "Refund tool",
    inside=platform,
    source="internal",
    capabilities=["payments"],
    processes=[refund],
    controls=[
        control("agent.human_approval", note="every refund waits in the approval console"),
        "agent.least_privilege_tools",
        "authz.scoped_tokens",
        "audit.tool_call_logging",
        "audit.logging",
    ],
    description="Files a refund request (capped at 200 EUR) that waits for approval.",
)

# --- Systems of record -----------------------------------------------------------------
ticket_db = m.datastore(
    "Ticket database",
    inside=platform,
    stores=[ticket, agent_note],
    controls=["crypto.at_rest", "authz.rbac", "infra.backup", "audit.logging"],
)
orders_db = m.datastore(
    "Order database",
    inside=payments_zone,
    stores=[order],
    controls=["crypto.at_rest", "authz.least_privilege", "infra.backup", "audit.logging"],
)
chat_log = m.datastore(
    "Conversation log",
    inside=platform,
    content="chat",
    stores=[transcript],
    controls=["crypto.at_rest", "privacy.retention_limits", "authz.rbac", "audit.logging"],
)
approvals = m.app(
    "Refund approval console",
    inside=platform,
    processes=[refund],
    # Roles are checked where the data is held: the stores behind it declare their access
    # control, which is where the rules look for it (none reads role-based access on an app).
    controls=["authn.sso_mfa", "audit.logging"],
)
payments = m.app(
    "Payments service",
    inside=payments_zone,
    processes=[refund],
    controls=["audit.logging", "authz.least_privilege"],
)

# --- Flows: chat -----------------------------------------------------------------------
m.flow(customer, widget, "chat message", data=[chat_message], protocol="https")
m.flow(widget, shield, "message", data=[chat_message], protocol="https")
m.flow(shield, agent, "screened message", data=[chat_message], protocol="https")
m.flow(agent, widget, "reply", data=[reply], protocol="https")
m.flow(widget, customer, "rendered reply", data=[reply], protocol="https")

# --- Flows: email (no shield on this route: the poller hands the body straight over) ---
m.flow(inbox, poller, "inbound email", data=[inbound_email], protocol="https")
m.flow(poller, agent, "new email", data=[inbound_email], protocol="https")

# --- Flows: the agent's context ---------------------------------------------------------
m.flow(
    agent,
    llm,
    "prompt",
    data=[chat_message, inbound_email, ticket, order, preferences],
    protocol="https",
)
m.flow(llm, agent, "completion", data=[reply], protocol="https")
m.flow(kb_index, agent, "help articles", data=[articles], protocol="https")
m.flow(memory, agent, "recalled preferences", data=[preferences], protocol="https")
m.flow(agent, memory, "remembered preferences", data=[preferences], protocol="https")
m.flow(agent, chat_log, "transcript", data=[transcript], protocol="https")

# --- Flows: tools ----------------------------------------------------------------------
m.flow(
    agent,
    tickets_mcp,
    "ticket call",
    data=[ticket, agent_note],
    protocol="https",
    controls=["authn.service_identity"],
)
m.flow(tickets_mcp, agent, "ticket result", data=[ticket], protocol="https")
m.flow(
    tickets_mcp, ticket_db, "ticket read and update", data=[ticket, agent_note], protocol="https"
)
m.flow(agent, orders_mcp, "order lookup", data=[order], protocol="stdio")
# Read-only: data flows from the database to the tool, never the other way.
m.flow(orders_db, orders_mcp, "order rows", data=[order], protocol="mtls")
m.flow(orders_mcp, agent, "order result", data=[order], protocol="stdio")
m.flow(
    agent,
    email_mcp,
    "send email",
    data=[reply, mail_api_key],
    protocol="https",
    controls=["authn.api_keys"],
)
m.flow(email_mcp, customer, "email reply", data=[reply], protocol="smtps")
m.flow(agent, refund_tool, "refund request", data=[refund], protocol="https")
m.flow(refund_tool, approvals, "approval request", data=[refund], protocol="https")
m.flow(approvals, representative, "refund to review", data=[refund], protocol="https")
m.flow(representative, approvals, "decision", data=[refund], protocol="https")
m.flow(approvals, payments, "approved refund", data=[refund], protocol="mtls")

# --- Risk decisions --------------------------------------------------------------------
# The agent writes an internal note on the ticket after each exchange. Notes are labelled
# "drafted by the assistant" and representatives read them before they act; a review step
# for every note is planned with the ticketing migration.
m.accept(
    "TG-MIS-002/ticket-database",
    reason="Agent notes are labelled as AI-drafted and never shown to customers; per-note "
    "review ships with the ticketing migration (SUP-311).",
    owner="support-platform@example.com",
    expires="2027-05-31",
    ticket="SUP-311",
    decided="2026-11-20",
)
