"""Imports threatgraph but never builds a Model."""

from threatgraph import Model

NAME = "Not built"
assert Model is not None
