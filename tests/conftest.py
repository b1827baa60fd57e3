"""Shared fixtures: one encoder per test session, a fresh in-memory database per test."""

from __future__ import annotations

import pytest

from langchain_premium.memory import SQLiteMemory


@pytest.fixture(scope="session")
def embeddings():
    """The packaged MiniLM encoder, loaded once for the whole run."""
    from langchain_premium.offline import default_embeddings

    return default_embeddings()


@pytest.fixture
def memory():
    db = SQLiteMemory()
    yield db
    db.close()
