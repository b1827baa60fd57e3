"""The ``premium ui`` web page (Gradio): ask, compare the m answers, rank them, watch the profile."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any, Optional

from langchain_premium.errors import PremiumError
from langchain_premium.result import Candidate, FeedbackReceipt
from langchain_premium.selectors.base import UserProfile
from langchain_premium.ui.session import FeedbackSession

if TYPE_CHECKING:  # pragma: no cover - typing only; gradio is an optional extra
    import gradio as gr

    from langchain_premium.runnable import PremiumRunnable

__all__ = ["HOST", "build_app", "candidate_markdown", "import_gradio", "profile_html", "serve"]

#: The page is only ever served on the loopback interface.
HOST = "127.0.0.1"

_CSS = """
.premium-profile { font-size: 0.95em; }
.premium-bar { display: grid; grid-template-columns: 14em 1fr 4.5em; gap: 0.6em;
               align-items: center; margin: 0.25em 0; }
.premium-bar-track { background: var(--block-background-fill, #eee); border-radius: 4px;
                     height: 0.9em; overflow: hidden; }
.premium-bar-fill { display: block; height: 100%; background: var(--color-accent, #f97316); }
.premium-bar-value { text-align: right; font-variant-numeric: tabular-nums; }
"""


def import_gradio() -> Any:
    """Import gradio with its usage analytics off, or explain how to install it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as exc:
        raise ImportError(
            "the premium web UI needs gradio: pip install 'langchain-premium[ui]'"
        ) from exc
    return gradio


def candidate_markdown(candidate: Optional[Candidate]) -> str:
    """One candidate as Markdown: its tags (and styles) over its text.

    Example:
        >>> from langchain_premium.result import Candidate
        >>> print(candidate_markdown(Candidate(0, ["Baking", "Yoga"], "Knead gently.")))
        **Baking · Yoga**
        <BLANKLINE>
        Knead gently.
    """
    if candidate is None:
        return "*No answer.*"
    heading = " · ".join([*candidate.tags, *candidate.styles])
    return f"**{heading}**\n\n{candidate.text}"


def profile_html(profile: UserProfile, *, pairs: int, top: int = 8) -> str:
    """A user's top tags as horizontal bars (each row carries ``data-tag`` and ``data-p``).

    Example:
        >>> from langchain_premium.selectors.base import UserProfile
        >>> page = profile_html(UserProfile("al", {"Baking": 0.5, "Yoga": 0.25}), pairs=3)
        >>> 'data-tag="Baking"' in page and 'data-p="0.500000"' in page
        True
    """
    user = html.escape(profile.user_id)
    if pairs == 0:
        return (
            f'<div class="premium-profile" data-user="{user}" data-pairs="0">'
            f"<p>No rankings from <b>{user}</b> yet: every tag is equally likely. Rank some "
            "answers and the tags you favour appear here.</p></div>"
        )
    rows = profile.top(top)
    highest = max((p for _, p in rows), default=0.0) or 1.0
    bars = "".join(
        f'<div class="premium-bar" data-tag="{html.escape(tag)}" data-p="{p:.6f}">'
        f'<span class="premium-bar-label">{html.escape(tag)}</span>'
        f'<span class="premium-bar-track"><span class="premium-bar-fill" '
        f'style="width: {100 * p / highest:.1f}%"></span></span>'
        f'<span class="premium-bar-value">{p:.1%}</span></div>'
        for tag, p in rows
    )
    styles = "".join(
        f'<div class="premium-bar" data-tag="{html.escape(style)}" data-p="{p:.6f}">'
        f'<span class="premium-bar-label">{html.escape(style)}</span>'
        f'<span class="premium-bar-track"><span class="premium-bar-fill" '
        f'style="width: {100 * p:.1f}%"></span></span>'
        f'<span class="premium-bar-value">{p:.0%}</span></div>'
        for style, p in profile.styles.items() if p >= 0.5
    )
    styles_block = f"<p><b>Preferred styles</b></p>{styles}" if styles else ""
    return (
        f'<div class="premium-profile" data-user="{user}" data-pairs="{pairs}">'
        f"<p>What PREMIUM has learned about <b>{user}</b> from {pairs} preference pairs "
        f"(probability of choosing each tag):</p>{bars}{styles_block}</div>"
    )


def build_app(
    premium: "PremiumRunnable",
    *,
    session: Optional[FeedbackSession] = None,
    user_id: str = "you",
    top: int = 8,
    offline_note: bool = False,
) -> "gr.Blocks":
    """The Gradio page for ``premium``: a query box, the m answers side by side, and the profile.

    The user ranks the answers (1 = best) and submits, or clicks *Best* under one; the ranking
    goes through ``session`` (a :class:`FeedbackSession`, created if not given) to
    ``premium.record_feedback``, and the profile bars are redrawn from the updated model.

    Example:
        .. code-block:: python

            app = build_app(PremiumRunnable(llm=OfflineChatModel()))
            serve(app, port=7860)
    """
    gr = import_gradio()
    session = session or FeedbackSession(premium)
    m = premium.m
    ranks = [str(r) for r in range(1, m + 1)]

    def profile_for(user: str) -> str:
        user = (user or "").strip()
        if not user:
            return "<p>Enter a user name to see their profile.</p>"
        return profile_html(premium.user_profile(user), pairs=premium.memory.count_pairs(user), top=top)

    def ask(user: str, query: str) -> list[Any]:
        user, query = (user or "").strip(), (query or "").strip()
        blank = [gr.update()] * m
        if not user or not query:
            return [gr.update(), *blank, *blank, "Enter a user name and a question.", gr.update()]
        try:
            result = premium.invoke(query, config={"configurable": {"user_id": user}})
        except Exception as exc:  # a real model's network error, a refused query, ...: show it
            message = f"Could not answer: {type(exc).__name__}: {exc}"
            return [gr.update(), *blank, *blank, message, gr.update()]
        session.track(result)
        shown = [candidate_markdown(c) for c in result.candidates]
        shown += [candidate_markdown(None)] * (m - len(shown))
        reset = [gr.update(value=None) for _ in range(m)]
        status = (
            f"{len(result.candidates)} answers. Give each a rank (1 = best) and press "
            "**Submit ranking**, or click **Best** under your favourite."
        )
        return [result.run_id, *shown, *reset, status, profile_for(user)]

    def done(receipt: FeedbackReceipt, what: str) -> list[str]:
        learned = "the profile below is updated" if receipt.trained else "stored for the next update"
        return [
            f"Stored {what} as {receipt.pairs} preference pairs; {learned}.",
            profile_for(receipt.user_id),
        ]

    def submit_ranking(run_id: Optional[str], *chosen: Optional[str]) -> list[str]:
        if not run_id:
            return ["Ask a question first.", gr.update()]
        n = len(session.result(run_id).candidates)
        given = {i: int(r) for i, r in enumerate(chosen[:n]) if r}
        if len(given) < n:
            missing = ", ".join(str(i + 1) for i in range(n) if i not in given)
            return [f"Give every answer a rank first (missing: answer {missing}).", gr.update()]
        if len(set(given.values())) != n:
            return ["Each rank can be used once: 1 for the best answer, then 2, ...", gr.update()]
        ranking = sorted(given, key=given.__getitem__)
        try:
            receipt = session.rank(run_id, ranking)
        except PremiumError as exc:
            return [f"Not stored: {exc}", gr.update()]
        order = " > ".join(f"answer {i + 1}" for i in ranking)
        return done(receipt, f"your ranking ({order})")

    def choose(index: int) -> Any:
        def best(run_id: Optional[str]) -> list[str]:
            if not run_id:
                return ["Ask a question first.", gr.update()]
            if index >= len(session.result(run_id).candidates):
                return ["There is no answer there.", gr.update()]
            try:
                receipt = session.choose(f"{run_id}:{index}")
            except PremiumError as exc:
                return [f"Not stored: {exc}", gr.update()]
            return done(receipt, f"answer {index + 1} as the best")

        return best

    with gr.Blocks(title="PREMIUM", analytics_enabled=False) as app:
        gr.Markdown(
            "## PREMIUM: answers that learn what you like\n"
            f"Each question gets {m} answers, each written from a different set of {premium.k} "
            "tags. Rank them and the tags you prefer become more likely."
            + ("\n\n*The chat model is `OfflineChatModel`, a deterministic stand-in: start "
               "`premium ui --model module:attr` for a real one.*" if offline_note else "")
        )
        run_id = gr.State(None)
        with gr.Row():
            user = gr.Textbox(value=user_id, label="User", scale=1, elem_id="premium-user")
            query = gr.Textbox(label="Question", placeholder="Ask anything...", scale=4,
                               elem_id="premium-query")
            ask_button = gr.Button("Ask", variant="primary", scale=0, elem_id="premium-ask")
        answers, rank_inputs, best_buttons = [], [], []
        with gr.Row(equal_height=False):
            for i in range(m):
                with gr.Column(elem_id=f"premium-column-{i}"):
                    answers.append(gr.Markdown(f"*Answer {i + 1} appears here.*",
                                               elem_id=f"premium-answer-{i}"))
                    rank_inputs.append(gr.Radio(ranks, label=f"Rank of answer {i + 1}",
                                                elem_id=f"premium-rank-{i}"))
                    best_buttons.append(gr.Button(f"Best: answer {i + 1}", size="sm",
                                                  elem_id=f"premium-best-{i}"))
        submit_button = gr.Button("Submit ranking", variant="primary", elem_id="premium-submit")
        status = gr.Markdown("Ask a question to begin.", elem_id="premium-status")
        profile = gr.HTML(profile_for(user_id), elem_id="premium-profile")

        ask_outputs = [run_id, *answers, *rank_inputs, status, profile]
        ask_button.click(ask, [user, query], ask_outputs)
        query.submit(ask, [user, query], ask_outputs)
        submit_button.click(submit_ranking, [run_id, *rank_inputs], [status, profile])
        for i, button in enumerate(best_buttons):
            button.click(choose(i), [run_id], [status, profile])
        user.blur(profile_for, [user], [profile])
        user.submit(profile_for, [user], [profile])
    return app


def serve(app: "gr.Blocks", *, port: Optional[int] = None, block: bool = True) -> str:
    """Serve ``app`` on 127.0.0.1 only (no share link, no analytics); returns the local URL.

    With ``block=False`` the server runs in a background thread until ``app.close()``.
    """
    gr = import_gradio()
    _, local_url, _ = app.launch(
        server_name=HOST,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        quiet=not block,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        css=_CSS,
        theme=gr.themes.Default(),
    )
    return local_url
