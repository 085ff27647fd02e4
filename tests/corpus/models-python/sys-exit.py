import sys

from threatgraph import Model

m = Model("Exits")
sys.exit(3)
