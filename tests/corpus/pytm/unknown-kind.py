from pytm import TM, Actor, Dataflow, Server

tm = TM("A threatgraph kind that does not exist")
user = Actor("User")
web = Server("Web", threatgraph={"kind": "lmm"})
Dataflow(user, web, "request")
