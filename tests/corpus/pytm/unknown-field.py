from pytm import TM, Actor, Dataflow, Server

tm = TM("A misspelt threatgraph field")
user = Actor("User")
web = Server("Web", threatgraph={"internet_faceing": True})
Dataflow(user, web, "request")
