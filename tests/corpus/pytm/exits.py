import sys

from pytm import TM, Actor

tm = TM("Exits with an error code")
user = Actor("User")
sys.exit(4)
