"""Gradio adapter: a ``Chatbot.like`` event (``gr.LikeData``) as a rating of one candidate."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from langchain_premium.result import FeedbackReceipt
from langchain_premium.ui.ratings import check_score
from langchain_premium.ui.session import FeedbackSession

__all__ = ["gradio_like", "like_score"]


def like_score(liked: Any, options: Optional[Mapping[str, float]] = None) -> Optional[float]:
    """The 0..1 rating a ``LikeData.liked`` value stands for, or ``None`` for no rating.

    Gradio sends ``True`` for a thumb up, ``False`` for a thumb down, ``""`` when the thumb is
    taken back, and the option's text for other ``feedback_options``; give their ratings in
    ``options`` (an option not listed there is no rating).

    Example:
        >>> like_score(True), like_score(False), like_score("")
        (1.0, 0.0, None)
        >>> like_score("Too long", {"Too long": 0.25})
        0.25
    """
    if liked is True:
        return 1.0
    if liked is False:
        return 0.0
    if liked is None or liked == "":
        return None
    if isinstance(liked, str):
        if options and liked in options:
            return check_score(options[liked])
        return None
    raise TypeError(f"LikeData.liked must be True, False or an option's text, got {liked!r}")


def gradio_like(
    session: FeedbackSession, like_data: Any, *, options: Optional[Mapping[str, float]] = None
) -> Optional[FeedbackReceipt]:
    """Pass a Gradio ``Chatbot.like`` event on to ``session`` as a rating of one candidate.

    Track each result under the chatbot indices of its candidate messages
    (``session.track(result, keys=[...])``); ``like_data.index`` then names the candidate. A run
    is recorded once all its candidates have a thumb (or call ``session.submit(run_id)`` when the
    user sends the next message: a liked answer then beats the others). Only ``.index`` and
    ``.liked`` are read, so any object with them works.

    Example:
        .. code-block:: python

            def on_like(like_data: gr.LikeData):
                gradio_like(session, like_data)

            chatbot.like(on_like, None, None)
    """
    for attribute in ("index", "liked"):
        if not hasattr(like_data, attribute):
            raise TypeError(f"expected a gradio LikeData (.index, .liked), got {like_data!r}")
    return session.rate(like_data.index, like_score(like_data.liked, options))
