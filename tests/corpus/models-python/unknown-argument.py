from threatgraph import Model

m = Model("Misspelt keyword")
chat = m.llm("Chat", internet_faceing=True)
