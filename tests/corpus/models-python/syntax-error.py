from threatgraph import Model

m = Model("Syntax error")
chat = m.llm("Chat"
user = m.actor("User")
