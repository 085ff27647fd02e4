from pytm import TM, Actor


def build(n: int) -> int:
    return build(n + 1)


tm = TM("Recurses")
user = Actor("User")
build(0)
