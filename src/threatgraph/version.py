"""The package version, in a module of its own.

Every layer may print the version; importing it from the package's ``__init__`` would make each
of them import the public API module (and so the whole pipeline) back.
The wheel's version is read from here too (``[tool.hatch.version]`` in pyproject.toml).
"""

__version__ = "0.1.0"
