"""Feedback adapters: UI events (Gradio, Streamlit, Chainlit, clicks) become stored rankings."""

from __future__ import annotations

import inspect
import logging
import threading
from types import SimpleNamespace

import pytest

from langchain_premium import FeedbackError, PremiumRunnable, TagLibrary
from langchain_premium.offline import OfflineChatModel
from langchain_premium.ui import (
    FeedbackSession,
    LangSmithMirror,
    chainlit_feedback,
    decide,
    gradio_like,
    streamlit_feedback,
)
from langchain_premium.ui import ratings as ui_ratings
from langchain_premium.ui.ratings import Decision
from langchain_premium.ui.streamlit import feedback_score

LIBRARY = TagLibrary.from_areas(
    {"Food": ["Baking", "Pastry", "Nutrition"], "Sport": ["Yoga", "Running", "Cycling"],
     "Art": ["Painting", "Drawing", "Sculpture"]}
)


@pytest.fixture
def premium(memory, embeddings):
    # update_every=0: these tests are about what is stored, not about learning.
    return PremiumRunnable(llm=OfflineChatModel(), tag_library=LIBRARY, memory=memory,
                           embeddings=embeddings, update_every=0, seed=0)


@pytest.fixture
def ask(premium):
    def ask(user: str = "alice", query: str = "How do I bake bread?"):
        return premium.invoke(query, config={"configurable": {"user_id": user}})

    return ask


def stored(premium, run_id):
    return premium.memory.get_interaction(run_id).ranking


# -- the decision rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratings", "final", "expected"),
    [
        ({0: 0.2, 1: 1.0, 2: 0.6}, False, Decision(ranking=[1, 2, 0])),
        ({0: 0.0, 1: 1.0, 2: 0.0}, False, Decision(best=1)),
        ({0: 1.0, 1: 1.0, 2: 0.0}, False, None),  # tie at the top
        ({0: 1.0, 1: 1.0, 2: 0.0}, True, None),
        ({2: 1.0}, False, None),  # too little said yet
        ({2: 1.0}, True, Decision(best=2)),  # the user moved on: liked beats unrated
        ({2: 0.5}, True, None),  # a neutral rating is not a "best"
        ({0: 0.0}, True, None),
        ({0: 0.75, 1: 0.25}, True, Decision(best=0)),
        ({}, True, None),
    ],
)
def test_decide(ratings, final, expected):
    assert decide(ratings, 3, final=final) == expected


def test_decide_rejects_unknown_candidates_and_bad_scores():
    with pytest.raises(ValueError, match="candidates \\[3\\]"):
        decide({3: 1.0}, 3)
    with pytest.raises(ValueError, match="between 0"):
        ui_ratings.check_score(1.5)
    with pytest.raises(TypeError):
        ui_ratings.check_score(True)
    with pytest.raises(ValueError):
        Decision()


# -- the session -----------------------------------------------------------------------------


def test_ratings_of_every_candidate_record_the_ranking(premium, ask):
    session = FeedbackSession(premium)
    result = ask()
    keys = session.track(result)
    assert keys == [f"{result.run_id}:{i}" for i in range(3)]
    assert session.rate(keys[0], 0.2) is None
    assert session.rate(keys[1], 1.0) is None
    assert stored(premium, result.run_id) is None
    receipt = session.rate(keys[2], 0.6)
    assert receipt.pairs == 3 and receipt.user_id == "alice"
    assert stored(premium, result.run_id) == [1, 2, 0]
    assert session.receipt(result.run_id) == receipt
    # Re-sending ratings after the run is recorded changes nothing (Streamlit reruns).
    assert session.rate(keys[0], 1.0) is None
    assert stored(premium, result.run_id) == [1, 2, 0]


def test_tie_at_the_top_waits_for_a_change_of_mind(premium, ask):
    session = FeedbackSession(premium)
    result = ask()
    keys = session.track(result, keys=["a", "b", "c"])
    for key, score in zip(keys, (1.0, 1.0, 0.0)):
        assert session.rate(key, score) is None
    assert stored(premium, result.run_id) is None and session.submit(result.run_id) is None
    assert session.rate("b", 0.0).pairs == 2  # now "a" alone on top
    assert stored(premium, result.run_id) == [0]


def test_withdrawn_rating_and_submit_when_moving_on(premium, ask):
    session = FeedbackSession(premium)
    first, second = ask(), ask("bob")
    k1, k2 = session.track(first), session.track(second)
    session.rate(k1[0], 0.0)
    assert session.submit(first.run_id) is None  # only a dislike: nothing to learn as "best"
    session.rate(k1[2], 1.0)
    session.rate(k1[2], None)
    assert session.ratings(first.run_id) == {0: 0.0}
    session.rate(k1[1], 1.0)
    session.rate(k2[2], 1.0)
    receipts = session.submit_pending(user_id="alice")
    assert [r.run_id for r in receipts] == [first.run_id]
    assert stored(premium, first.run_id) == [1] and stored(premium, second.run_id) is None
    assert [r.run_id for r in session.submit_pending()] == [second.run_id]


def test_best_of_m_click_and_full_ranking(premium, ask):
    session = FeedbackSession(premium)
    clicked, ranked = ask(), ask()
    keys = session.track(clicked)
    session.track(ranked)
    assert session.choose(keys[2]).pairs == 2
    assert stored(premium, clicked.run_id) == [2]
    with pytest.raises(FeedbackError, match="already ranked"):
        session.choose(keys[0])
    with pytest.raises(FeedbackError):
        session.rank(ranked.run_id, [0, 0, 1])
    assert stored(premium, ranked.run_id) is None  # a refused ranking leaves the run open
    assert session.rank(ranked.run_id, [2, 1, 0]).pairs == 3
    assert stored(premium, ranked.run_id) == [2, 1, 0]


def test_track_checks_its_keys(premium, ask):
    session = FeedbackSession(premium, max_runs=1)
    result = ask()
    with pytest.raises(ValueError, match="3 candidates but 2 keys"):
        session.track(result, keys=["a", "b"])
    with pytest.raises(ValueError, match="must be different"):
        session.track(result, keys=["a", "a", "b"])
    session.track(result, keys=["a", "b", "c"])
    with pytest.raises(ValueError, match="already tracked"):
        session.track(result)
    with pytest.raises(FeedbackError, match="unknown candidate key 'zzz'"):
        session.rate("zzz", 1.0)
    with pytest.raises(TypeError):
        session.track("not a result")
    # max_runs=1: tracking a second run forgets the first and its keys.
    session.track(ask())
    with pytest.raises(FeedbackError, match="unknown candidate key"):
        session.choose("a")


def test_concurrent_ratings_record_a_run_once(premium, ask):
    session = FeedbackSession(premium)
    result = ask()
    keys = session.track(result)
    session.rate(keys[0], 0.0)
    session.rate(keys[1], 0.5)
    receipts, errors = [], []
    barrier = threading.Barrier(8)

    def rate():
        barrier.wait()
        try:
            receipts.append(session.rate(keys[2], 1.0))
        except Exception as exc:  # pragma: no cover - the test fails below
            errors.append(exc)

    threads = [threading.Thread(target=rate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len([r for r in receipts if r is not None]) == 1
    assert premium.memory.count_pairs("alice") == 3


# -- Gradio ------------------------------------------------------------------------------------


def _like_events():
    """LikeData the way gradio builds it when installed, and a plain object otherwise."""
    try:
        from gradio import LikeData
    except ImportError:
        LikeData = None
    plain = lambda index, liked: SimpleNamespace(index=index, value=["..."], liked=liked)  # noqa: E731
    makers = [pytest.param(plain, id="plain")]
    if LikeData is not None:
        real = lambda index, liked: LikeData(None, {"index": index, "value": ["..."], "liked": liked})  # noqa: E731
        makers.append(pytest.param(real, id="gradio.LikeData"))
    return makers


@pytest.mark.parametrize("like", _like_events())
def test_gradio_likes(premium, ask, like):
    session = FeedbackSession(premium)
    result = ask()
    # The candidates are chatbot messages 1, 2, 3 (message 0 is the user's question).
    session.track(result, keys=[1, 2, 3])
    assert gradio_like(session, like(1, False)) is None
    assert gradio_like(session, like(3, True)) is None
    assert gradio_like(session, like(3, "")) is None  # thumb taken back
    assert session.ratings(result.run_id) == {0: 0.0}
    gradio_like(session, like(3, True))
    receipt = gradio_like(session, like(2, False))
    assert receipt.pairs == 2 and stored(premium, result.run_id) == [2]


def test_gradio_custom_options_and_two_dimensional_index(premium, ask):
    session = FeedbackSession(premium)
    result = ask()
    session.track(result, keys=[(4, 0), (4, 1), (4, 2)])
    like = lambda index, liked: SimpleNamespace(index=index, liked=liked)  # noqa: E731
    gradio_like(session, like([4, 0], "Too long"), options={"Too long": 0.25})
    assert gradio_like(session, like([4, 1], "Spam")) is None  # not mapped: no rating
    gradio_like(session, like([4, 1], True))
    assert gradio_like(session, like([4, 2], False)).pairs == 3
    assert stored(premium, result.run_id) == [1, 0, 2]
    with pytest.raises(TypeError, match="LikeData"):
        gradio_like(session, SimpleNamespace(index=1))


# -- Streamlit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "options", "score"),
    [(0, "thumbs", 0.0), (1, "thumbs", 1.0), (0, "faces", 0.0), (4, "faces", 1.0),
     (2, "stars", 0.5), (None, "stars", None)],
)
def test_streamlit_scales(value, options, score):
    assert feedback_score(value, options) == score


@pytest.mark.parametrize(("value", "options"), [(2, "thumbs"), (5, "stars"), (-1, "faces"), (True, "thumbs"), (1, "hearts")])
def test_streamlit_rejects_values_outside_the_scale(value, options):
    with pytest.raises(ValueError):
        feedback_score(value, options)


def test_streamlit_stars_over_reruns(premium, ask):
    session = FeedbackSession(premium)
    result = ask()
    keys = session.track(result)
    # Each rerun of the script passes every widget's current value again.
    reruns = [(None, 4, None), (None, 4, 1), (2, 4, 1), (2, 4, 1)]
    receipts = [
        [streamlit_feedback(session, key, value, "stars") for key, value in zip(keys, values)]
        for values in reruns
    ]
    assert [r for rerun in receipts for r in rerun if r is not None][0].pairs == 3
    assert sum(r is not None for rerun in receipts for r in rerun) == 1
    assert stored(premium, result.run_id) == [1, 0, 2]


# -- Chainlit ----------------------------------------------------------------------------------


def test_chainlit_feedback(premium, ask):
    try:
        from chainlit.types import Feedback  # the real event type, when chainlit is installed
    except ImportError:
        Feedback = lambda forId, value: SimpleNamespace(forId=forId, value=value, comment=None)  # noqa: E731
    session = FeedbackSession(premium)
    result = ask()
    session.track(result, keys=["msg-a", "msg-b", "msg-c"])
    chainlit_feedback(session, Feedback(forId="msg-a", value=0))
    chainlit_feedback(session, Feedback(forId="msg-b", value=1))
    assert chainlit_feedback(session, Feedback(forId="msg-c", value=0)).pairs == 2
    assert stored(premium, result.run_id) == [1]
    with pytest.raises(ValueError, match="0 \\(down\\) or 1 \\(up\\)"):
        chainlit_feedback(session, SimpleNamespace(forId="msg-a", value=5))
    with pytest.raises(TypeError, match="chainlit Feedback"):
        chainlit_feedback(session, SimpleNamespace(value=1))


# -- LangSmith ---------------------------------------------------------------------------------


class FakeLangSmith:
    def __init__(self, fail: bool = False):
        self.calls, self.fail = [], fail

    def create_feedback(self, run_id, key, **kwargs):
        if self.fail:
            raise ConnectionError("LangSmith is unreachable")
        self.calls.append({"run_id": run_id, "key": key, **kwargs})


def test_rankings_are_mirrored_to_langsmith(premium, ask):
    client = FakeLangSmith()
    session = FeedbackSession(premium, langsmith_client=client, langsmith_key="pref")
    result = ask()
    session.track(result)
    session.rank(result.run_id, [2, 0, 1])
    assert [c["run_id"] for c in client.calls] == [result.run_id] * 3
    assert {c["key"] for c in client.calls} == {"pref"}
    assert len({c["feedback_group_id"] for c in client.calls}) == 1
    scores = {c["extra"]["candidate"]: c["score"] for c in client.calls}
    assert scores == {2: 1.0, 0: 0.5, 1: 0.0}
    for call in client.calls:
        candidate = result.candidates[call["extra"]["candidate"]]
        assert call["extra"]["tags"] == candidate.tags and call["value"] == candidate.source
    # A best-of-m click: the best scores 1, the others 0, in a new group.
    other = ask()
    session.choose(session.track(other)[1])
    later = client.calls[3:]
    assert {c["extra"]["candidate"]: c["score"] for c in later} == {0: 0.0, 1: 1.0, 2: 0.0}
    assert later[0]["feedback_group_id"] != client.calls[0]["feedback_group_id"]


def test_langsmith_failure_is_logged_and_the_ranking_kept(premium, ask, caplog):
    session = FeedbackSession(premium, langsmith_client=FakeLangSmith(fail=True))
    result = ask()
    session.track(result)
    with caplog.at_level(logging.WARNING, logger="langchain_premium.ui.session"):
        receipt = session.rank(result.run_id, [0, 1, 2])
    assert receipt.pairs == 3 and stored(premium, result.run_id) == [0, 1, 2]
    assert "LangSmith is unreachable" in caplog.text


def test_mirror_calls_match_the_real_langsmith_client():
    langsmith = pytest.importorskip("langsmith")
    signature = inspect.signature(langsmith.Client.create_feedback)
    client = FakeLangSmith()
    result = SimpleNamespace(run_id="r", user_id="u", candidates=[
        SimpleNamespace(index=i, tags=["Baking"], styles=[], source="selector") for i in range(2)
    ])
    LangSmithMirror(client)(result, [1, 0])
    for call in client.calls:
        kwargs = {k: v for k, v in call.items() if k not in ("run_id", "key")}
        signature.bind(None, call["run_id"], call["key"], **kwargs)  # raises on an unknown argument
    with pytest.raises(TypeError, match="create_feedback"):
        LangSmithMirror(object())
