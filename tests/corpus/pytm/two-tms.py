from pytm import TM, Actor

first = TM("One")
second = TM("Two")
user = Actor("User")
