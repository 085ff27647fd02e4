from threatgraph import Model

m = Model("Raises SystemExit with a message")
raise SystemExit("configuration missing")
