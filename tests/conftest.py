"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def library():  # type: ignore[no-untyped-def]
    """The built-in library, loaded once."""
    from threatgraph.engine.library import load_library

    return load_library()


@pytest.fixture
def shared_dir() -> Path:
    """../shared (reference schemas); tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not available")
    return SHARED


def pytest_configure(config: pytest.Config) -> None:
    """Keep the library cache of test runs out of the user's home directory."""
    import os
    import tempfile

    os.environ.setdefault("THREATGRAPH_CACHE_DIR", tempfile.mkdtemp(prefix="tg-cache-"))
