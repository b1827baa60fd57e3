"""Streamlit adapter: an ``st.feedback`` value (thumbs, faces or stars) as a rating."""

from __future__ import annotations

import numbers
from typing import Hashable, Literal, Optional

from langchain_premium.result import FeedbackReceipt
from langchain_premium.ui.session import FeedbackSession

__all__ = ["FEEDBACK_SCALES", "feedback_score", "streamlit_feedback"]

#: How many values each ``st.feedback`` option has (values run from 0 to n - 1).
FEEDBACK_SCALES: dict[str, int] = {"thumbs": 2, "faces": 5, "stars": 5}

Options = Literal["thumbs", "faces", "stars"]


def feedback_score(value: Optional[int], options: Options = "thumbs") -> Optional[float]:
    """The 0..1 rating of an ``st.feedback`` value (``None``: nothing selected).

    Example:
        >>> feedback_score(1, "thumbs"), feedback_score(0, "thumbs")
        (1.0, 0.0)
        >>> feedback_score(3, "stars"), feedback_score(None, "faces")
        (0.75, None)
    """
    if options not in FEEDBACK_SCALES:
        raise ValueError(f"options must be one of {sorted(FEEDBACK_SCALES)}, got {options!r}")
    if value is None:
        return None
    n = FEEDBACK_SCALES[options]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < n:
        raise ValueError(f"st.feedback({options!r}) returns 0..{n - 1} or None, got {value!r}")
    return int(value) / (n - 1)


def streamlit_feedback(
    session: FeedbackSession, key: Hashable, value: Optional[int], options: Options = "thumbs"
) -> Optional[FeedbackReceipt]:
    """Pass the value ``st.feedback(options, key=key)`` returned on to ``session``.

    Safe to call on every rerun of the script: a repeated value changes nothing and a recorded
    run stays recorded. ``None`` (the user cleared the widget) withdraws the rating.

    Example:
        .. code-block:: python

            keys = session.track(result)                 # once, when the answers arrive
            for column, candidate, key in zip(st.columns(len(keys)), result.candidates, keys):
                with column:
                    st.markdown(candidate.text)
                    streamlit_feedback(session, key, st.feedback("stars", key=key), "stars")
    """
    return session.rate(key, feedback_score(value, options))
