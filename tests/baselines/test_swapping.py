"""Every method has PremiumRunnable's interface: one line (or one config key) swaps them."""

from __future__ import annotations

import textwrap

import pytest
from langchain_core.runnables import ConfigurableField
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg, one_torch_thread

from langchain_premium import PremiumResult, RandomSelector, RetrieverSelector, SQLiteMemory, TagLibrary
from langchain_premium.baselines import OPPURunnable, TidyBotRunnable
from langchain_premium.methods import METHODS, build_method
from langchain_premium.selectors import PopulationSelector, PromptSelector

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]
NEW_METHODS = ["population", "premium-prompt", "tidybot", "oppu-k1", "oppu-k2", "oppu-k4"]


@pytest.fixture(autouse=True)
def _fast_torch():
    with one_torch_thread():
        yield


def test_all_methods_are_registered():
    assert {"premium-embed", "vanilla", "ralm", *NEW_METHODS} <= set(METHODS)


@pytest.mark.parametrize("name", ["vanilla", "ralm", *NEW_METHODS])
def test_each_method_serves_the_same_interface(name):
    memory = SQLiteMemory(store_text=True)
    method = build_method(name, RecordingChatModel(), tag_library=TagLibrary(TAGS), memory=memory,
                          embeddings=KeywordEmbeddings(TAGS), k=2, m=3, seed=0)
    for user in ("alice", "bob"):
        result = method.invoke({"query": "Weekend ideas?"}, config=cfg(user))
        assert isinstance(result, PremiumResult) and result.user_id == user
        assert len(result.candidates) == 3 and result.method == method.key
        receipt = result.feedback([2, 0, 1])
        assert receipt.pairs == 3
        method.record_feedback(method.invoke("Another?", config=cfg(user)).run_id, best=1)
    assert memory.count_pairs("alice") == 5
    method.forget_user("alice")
    assert "alice" not in memory.users() and memory.count_pairs("bob") == 5


def test_configurable_alternatives_swap_methods_at_run_time():
    memory = SQLiteMemory(store_text=True)
    options = dict(tag_library=TagLibrary(TAGS), memory=memory, embeddings=KeywordEmbeddings(TAGS),
                   k=2, m=3, seed=0)
    llm = RecordingChatModel()
    alternatives = {name.replace("-", "_"): build_method(name, llm, **options)
                    for name in ["vanilla", "ralm", *NEW_METHODS]}
    chain = build_method("premium-embed", llm, **options).configurable_alternatives(
        ConfigurableField(id="method"), default_key="premium-embed", **alternatives,
    )
    ids = {spec.id for spec in chain.config_specs}
    assert {"method", "user_id", "explore"} <= ids
    default = chain.invoke("Weekend ideas?", config=cfg("alice"))
    assert default.method == "premium-embed"
    for key, runnable in alternatives.items():
        result = chain.invoke("Weekend ideas?", config=cfg("alice", method=key))
        assert isinstance(result, PremiumResult) and result.method == runnable.key
        assert result.feedback([1, 0, 2]).pairs == 3  # feedback reaches the swapped-in method
        assert memory.get_interaction(result.run_id).method == runnable.key
    with pytest.raises(ValueError):
        chain.invoke("q", config=cfg("alice", method="no-such-method"))


QUICKSTART = textwrap.dedent('''
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.offline import OfflineChatModel

    {line}
    result = premium.invoke({{"query": "How do I make handmade desserts?"}},
                            config={{"configurable": {{"user_id": "alice"}}}})
    for c in result.candidates:
        print(c.tags, c.text[:80])
    result.feedback([2, 0, 1])
    premium.user_profile("alice").top(5)
''')

BASE = "premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), "
TEXT = "memory=(memory := SQLiteMemory(path, store_text=True))"
SWAPS = {
    "premium-embed": BASE + "memory=SQLiteMemory(path))",
    "vanilla": BASE + "memory=SQLiteMemory(path), selector=RandomSelector())",
    "ralm": BASE + "memory=SQLiteMemory(path), selector=RetrieverSelector())",
    "population": BASE + "memory=(memory := SQLiteMemory(path)), selector=PopulationSelector(memory))",
    "premium-prompt": BASE + TEXT + ", selector=PromptSelector(OfflineChatModel(), history_size=5, memory=memory))",
    "tidybot": "premium = TidyBotRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), " + TEXT + ")",
    "oppu-k2": "premium = OPPURunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), top_k=2, "
               + TEXT + ")",
    **{f"by name: {name}": "premium = build_method(" + repr(name) + ", OfflineChatModel(), "
       "tag_library=TagLibrary.default(), memory=SQLiteMemory(path, store_text=True))" for name in NEW_METHODS},
}
# What the user imports for the changed line (beside the snippet's own imports).
IMPORTS = {"RandomSelector": RandomSelector, "RetrieverSelector": RetrieverSelector,
           "PopulationSelector": PopulationSelector, "PromptSelector": PromptSelector,
           "TidyBotRunnable": TidyBotRunnable, "OPPURunnable": OPPURunnable, "build_method": build_method}


@pytest.mark.parametrize("name", sorted(SWAPS))
def test_quickstart_snippet_runs_with_one_line_changed(name, tmp_path, embeddings, monkeypatch):
    # The snippet uses the default encoder: hand it the session's already loaded one.
    monkeypatch.setattr("langchain_premium.offline.default_embeddings", lambda: embeddings)
    namespace = {"path": str(tmp_path / "premium.db"), **IMPORTS}
    exec(QUICKSTART.format(line=SWAPS[name]), namespace)
    premium = namespace["premium"]
    assert namespace["result"].method == premium.key
    assert premium.memory.count_pairs("alice") == 3
    assert len(premium.user_profile("alice").top(5)) == 5
