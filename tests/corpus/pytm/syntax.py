from pytm import TM, Actor

tm = TM("Syntax error")
user = Actor("User"
