"""Shared test fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def library():  # type: ignore[no-untyped-def]
    """The built-in library, loaded once."""
    from helpers import builtin_library

    return builtin_library()


def pytest_configure(config: pytest.Config) -> None:
    """Keep the library cache of test runs out of the user's home directory."""
    import os
    import tempfile

    os.environ.setdefault("THREATGRAPH_CACHE_DIR", tempfile.mkdtemp(prefix="tg-cache-"))
