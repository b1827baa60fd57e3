"""Chainlit adapter: a ``Feedback(forId, value)`` on a candidate message as a rating."""

from __future__ import annotations

from typing import Any, Optional

from langchain_premium.result import FeedbackReceipt
from langchain_premium.ui.session import FeedbackSession

__all__ = ["chainlit_feedback"]


def chainlit_feedback(session: FeedbackSession, feedback: Any) -> Optional[FeedbackReceipt]:
    """Pass a Chainlit ``Feedback`` (``forId``: the message id, ``value``: 1 up, 0 down) on.

    Send each candidate as its own ``cl.Message`` and track the result under the message ids.
    Chainlit hands feedback to its data layer, so call this from ``upsert_feedback``. Recording
    trains the user's model: run it in a worker thread from async code.

    Example:
        .. code-block:: python

            sent = [await cl.Message(content=c.text).send() for c in result.candidates]
            session.track(result, keys=[message.id for message in sent])

            class PremiumDataLayer(SQLAlchemyDataLayer):
                async def upsert_feedback(self, feedback: Feedback) -> str:
                    await asyncio.to_thread(chainlit_feedback, session, feedback)
                    return await super().upsert_feedback(feedback)
    """
    for attribute in ("forId", "value"):
        if not hasattr(feedback, attribute):
            raise TypeError(f"expected a chainlit Feedback (.forId, .value), got {feedback!r}")
    value = feedback.value
    if isinstance(value, bool) or value not in (0, 1):
        raise ValueError(f"a Chainlit feedback value is 0 (down) or 1 (up), got {value!r}")
    return session.rate(feedback.forId, float(value))
