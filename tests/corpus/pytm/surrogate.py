from pytm import TM, Actor, Dataflow, Server

tm = TM("Lone surrogate from pytm")
user = Actor("User")
web = Server("Web \udfff")
Dataflow(user, web, "request")
