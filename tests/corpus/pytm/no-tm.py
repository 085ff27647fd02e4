from pytm import Actor, Server

user = Actor("User")
web = Server("Web")
