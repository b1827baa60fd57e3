"""Feedback from chat UIs (Gradio, Streamlit, Chainlit, best-of-m clicks, LangSmith) and ``premium ui``."""

from langchain_premium.ui.chainlit import chainlit_feedback
from langchain_premium.ui.gradio import gradio_like
from langchain_premium.ui.langsmith import LangSmithMirror
from langchain_premium.ui.ratings import Decision, decide
from langchain_premium.ui.session import FeedbackSession
from langchain_premium.ui.streamlit import streamlit_feedback

__all__ = [
    "Decision",
    "FeedbackSession",
    "LangSmithMirror",
    "chainlit_feedback",
    "decide",
    "gradio_like",
    "streamlit_feedback",
]
