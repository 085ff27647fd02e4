from threatgraph import Model

m = Model("Unknown control")
user = m.actor("User")
chat = m.llm("Chat", controls=["guardrail.input_filtre"])
m.flow(user, chat, "prompt")
