"""Exceptions raised by langchain-premium; catch ``PremiumError`` to catch them all."""

from __future__ import annotations

__all__ = [
    "PremiumError",
    "FeedbackError",
    "StaleStateError",
    "SchemaVersionError",
    "CorruptStateError",
    "CandidateGenerationError",
    "MissingTextError",
]


class PremiumError(Exception):
    """Base class of every error this package raises on purpose."""


class FeedbackError(PremiumError, ValueError):
    """Feedback that cannot be accepted: unknown run, another user's run, ranked twice, bad index.

    Also a ``ValueError``, so callers validating user input can catch either.
    """


class StaleStateError(PremiumError):
    """A stored state changed since it was loaded: another writer saved first (compare-and-swap)."""


class SchemaVersionError(PremiumError):
    """The database was written by a newer langchain-premium than the one running."""


class CorruptStateError(PremiumError):
    """Stored data cannot be read back: not a SQLite file, or a row that does not decode."""


class CandidateGenerationError(PremiumError):
    """One or more of the m model calls for a query failed (see ``on_llm_error``)."""


class MissingTextError(PremiumError, ValueError):
    """A learner needs the query text, but the memory did not keep it (``store_text=False``)."""
