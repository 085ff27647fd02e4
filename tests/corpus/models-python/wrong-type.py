from threatgraph import Model

m = Model("Name is not a string")
chat = m.llm(["Chat"])
