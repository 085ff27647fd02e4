from threatgraph import Model

m = Model("Flow to a name that is no element")
user = m.actor("User")
chat = m.llm("Chat")
m.flow(user, "Chat bot", "prompt")
