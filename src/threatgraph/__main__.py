"""``python -m threatgraph``."""

from threatgraph.cli import main

main()
