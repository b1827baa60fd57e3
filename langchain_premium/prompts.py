"""Prompt templates: one candidate's generation prompt (paper Table 16) and its variables."""

from __future__ import annotations

from typing import Sequence

from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

GENERATION_SYSTEM = (
    "You are a helpful assistant. Answer the user's question.\n"
    "Where it helps the answer, bring in elements, perspectives, examples and terminology "
    "from the following domains: {tags}.{style_instruction}"
)

#: The default prompt: the chosen tags in the system message, then any chat history, then the query.
DEFAULT_GENERATION_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", GENERATION_SYSTEM),
        MessagesPlaceholder("history", optional=True),
        ("human", "{query}"),
    ]
)


def style_instruction(styles: Sequence[str]) -> str:
    """The sentence that asks for the chosen binary styles, or ``""`` when there are none."""
    if not styles:
        return ""
    return "\nAlso write in the following writing styles: " + ", ".join(styles) + "."


def generation_variables(
    query: str, tags: Sequence[str], styles: Sequence[str] = (), history: Sequence = ()
) -> dict:
    """The variables a generation template may use: ``query``, ``tags``, ``style_instruction``,
    ``styles`` and ``history``."""
    return {
        "query": query,
        "tags": ", ".join(tags),
        "styles": ", ".join(styles),
        "style_instruction": style_instruction(styles),
        "history": list(history),
    }
