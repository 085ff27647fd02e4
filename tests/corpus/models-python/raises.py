from threatgraph import Model

m = Model("Raises while building")
chat = m.llm("Chat")
settings = {"region": "eu"}
region = settings["zone"]
