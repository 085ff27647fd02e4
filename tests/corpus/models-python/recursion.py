from threatgraph import Model


def nest(depth: int) -> int:
    return nest(depth + 1) + 1


m = Model("Recurses forever")
nest(0)
