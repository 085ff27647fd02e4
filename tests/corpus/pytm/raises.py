from pytm import TM, Actor, Dataflow, Server

tm = TM("Raises")
user = Actor("User")
web = Server("Web")
Dataflow(user, web, "request")
raise RuntimeError("the model's generator is broken")
