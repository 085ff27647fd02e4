from threatgraph import Model

m = Model("Lone surrogate from Python")
app = m.app("App")
llm = m.llm("LLM", description="half a pair: \ud800")
m.flow(app, llm)
