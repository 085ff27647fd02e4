from threatgraph import Model

m = Model("Unknown kind through the generic element()")
user = m.actor("User")
chat = m.element("lmm", "Chat")
