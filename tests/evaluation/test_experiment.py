"""The experiment runner on tiny setups: libraries, runs, preference changes, expansions, win rates."""

from __future__ import annotations

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from langchain_premium import TagLibrary
from langchain_premium.evaluation.embedding_cache import CachedEmbeddings
from langchain_premium.evaluation.experiment import (
    Setup,
    Variant,
    extra_tags,
    make_library,
    run_experiment,
    run_user,
    win_rate_against,
)
from langchain_premium.evaluation.presets import ABLATIONS, PRESETS, get_preset
from langchain_premium.simulation.annotators import EmbeddingAnnotator, LLMAnnotator

TRAIN = [f"How do I get better at hobby number {i}?" for i in range(6)]
TEST = ["Plan a relaxing weekend.", "Write a note about staying healthy.", "Suggest a gift idea."]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The bench's setting: tiny torch problems run much faster on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fake() -> CachedEmbeddings:
    return CachedEmbeddings(DeterministicFakeEmbedding(size=32))


def tiny(method, fake, **kwargs):
    options = dict(n_interactions=4, seed=0, eval_every=2, train_queries=TRAIN, eval_queries=TEST,
                   embeddings=fake, annotator=EmbeddingAnnotator(fake))
    options.update(kwargs)
    return run_user(method, options.pop("setup", "3/10"), **options)


# -- setups and libraries ------------------------------------------------------------------------


def test_setup_parses_k_over_n():
    assert Setup.parse(" 3 / 50 ") == Setup(3, 50) and str(Setup(2, 100)) == "2/100"
    for bad in ("3-50", "50/3", "0/10", "three/50"):
        with pytest.raises(ValueError):
            Setup.parse(bad)


def test_libraries_are_seeded_shuffles_that_nest():
    small = make_library("3/50", seed=1)
    assert len(small) == 50 and set(small.tags) <= set(TagLibrary.default().tags)
    assert make_library("3/50", seed=1).tags == small.tags
    assert make_library("3/50", seed=2).tags != small.tags
    large = make_library("3/200", seed=1)
    assert large.tags[:50] == small.tags and len(large) == 200
    extra = {t for tags in extra_tags().values() for t in tags}
    assert len(set(large.tags) & extra) == 7  # 193 paper tags, then the project's own
    assert make_library("3/20", seed=0, binary=True).binary_pairs
    with pytest.raises(ValueError, match="at most 293"):
        make_library("3/300", seed=0)


# -- run_user ------------------------------------------------------------------------------------


def test_run_user_measures_before_during_and_after(fake):
    run = tiny("vanilla", fake)
    assert run.steps == [0, 2, 4] and run.n_interactions == 4
    assert len(run.accuracy) == len(run.accuracy_at_1) == 3
    assert all(0.0 <= a <= 1.0 for a in run.accuracy + run.accuracy_at_1)
    assert len(run.best_answers) == len(TEST) and all(run.best_answers)
    assert set(run.tag_probability) == set(run.user_tags) and len(run.user_tags) == 3
    assert all(len(v) == 3 for v in run.tag_probability.values())
    assert run.cpu_seconds > 0 and run.peak_memory_mb > 0
    # Nothing a user ranks changes vanilla's choice: it is not asked, so the judge never ranks.
    assert run.annotator_agreement is None and run.skipped_rankings == 0


def test_a_learning_method_is_ranked_and_the_judge_agreement_measured(fake, monkeypatch):
    asked = []
    annotator = EmbeddingAnnotator(fake)
    original = annotator.rank
    monkeypatch.setattr(annotator, "rank", lambda *a, **kw: asked.append(a[0]) or original(*a, **kw))
    run = tiny("premium-embed", fake, annotator=annotator)
    assert len(asked) == 4  # one ranking per interaction
    assert 0.0 < run.annotator_agreement <= 1.0


def test_the_same_seed_reproduces_a_run(fake):
    first, second = tiny("premium-embed", fake, seed=3), tiny("premium-embed", fake, seed=3)
    assert first.accuracy == second.accuracy and first.best_answers == second.best_answers
    assert first.user_tags == second.user_tags
    assert tiny("premium-embed", fake, seed=4).user_tags != first.user_tags


def test_a_preference_change_is_measured_against_the_new_tags(fake):
    run = tiny("vanilla", fake, n_interactions=6, change_at=3, n_changed=2)
    assert run.final_tags[0] == run.user_tags[0]
    assert not set(run.final_tags[1:]) & set(run.user_tags)
    assert len(run.ever_liked) == 5 and set(run.tag_probability) == set(run.ever_liked)


def test_after_ranking_sees_each_ranking_with_the_preference_that_made_it(fake):
    seen = []

    def after(n_rankings, method, user_id, prefs):
        seen.append((n_rankings, len(method.memory.pairs(user_id, method=method.key)), prefs.tags))

    run = tiny("premium-embed", fake, n_interactions=6, change_at=3, n_changed=2, after_ranking=after)
    assert [n for n, _, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert all(b > a for (_, a, _), (_, b, _) in zip(seen, seen[1:]))  # each call follows a stored ranking
    assert [list(tags) for _, _, tags in seen] == [run.user_tags] * 3 + [run.final_tags] * 3


def test_an_expanded_library_adds_a_new_user_tag(fake):
    run = tiny("premium-embed", fake, setup="2/8", n_interactions=4, expand_at=2, expand_to="3/12")
    new = run.ever_liked[-1]
    assert len(run.user_tags) == 2 and len(run.final_tags) == 3 and new in run.final_tags
    assert new not in make_library("2/8", seed=0) and new in make_library("3/12", seed=0)
    # The new tag has no probability before the library holds it, and one after.
    assert run.tag_probability[new][0] is None and run.tag_probability[new][-1] is not None
    with pytest.raises(ValueError, match="shrink"):
        tiny("vanilla", fake, setup="3/12", expand_at=2, expand_to="2/8")


def test_without_online_learning_nothing_changes_until_the_end(fake):
    no_online = next(v for v in ABLATIONS if v.name == "no-online")
    run = tiny(no_online, fake, n_interactions=6, eval_every=2)
    assert run.method == "no-online" and run.steps == [0, 2, 4, 6]
    # Steps 0, 2 and 4 see the initial model; the last point is after the one final training.
    assert run.accuracy[0] == run.accuracy[1] == run.accuracy[2]


def test_unparseable_rankings_are_skipped_and_counted(fake):
    annotator = LLMAnnotator(FakeListChatModel(responses=["no idea"]), shuffle=False)
    run = tiny("premium-embed", fake, annotator=annotator, answers=False)
    assert run.skipped_rankings == 4 and run.steps == [0, 2, 4]


def test_win_rate_against_the_same_user():
    base = dict(method="x", setup="3/10", seed=0, m=3, n_interactions=1, user_tags=["a"], final_tags=["a"],
                final_styles=[], ever_liked=["a"], eval_queries=["q1", "q2"])
    from langchain_premium.evaluation.experiment import UserRun

    mine = UserRun(**base, best_answers=["same", "same"])
    assert win_rate_against(mine, mine, EmbeddingAnnotator(DeterministicFakeEmbedding(size=8))) == 0.5
    other = UserRun(**{**base, "seed": 1}, best_answers=["same", "same"])
    with pytest.raises(ValueError, match="same user"):
        win_rate_against(mine, other, EmbeddingAnnotator(DeterministicFakeEmbedding(size=8)))


# -- run_experiment ------------------------------------------------------------------------------


def test_run_experiment_fills_win_rates_against_premium_embed(fake):
    runs = run_experiment(["vanilla"], "3/10", seeds=[0, 1], n_interactions=2, train_queries=TRAIN,
                          eval_queries=TEST, embeddings=fake, annotator=EmbeddingAnnotator(fake),
                          progress=False)
    assert [(r.method, r.seed) for r in runs] == [("vanilla", 0), ("vanilla", 1)]  # reference not returned
    assert all(0.0 <= r.win_rate <= 1.0 for r in runs)


def test_a_seed_task_survives_the_trip_to_a_worker_process(fake):
    import pickle

    from langchain_premium.evaluation.experiment import _SeedTask

    task = _SeedTask((Variant.of("vanilla"),), "3/10", EmbeddingAnnotator(fake), False, "premium-embed", "raise",
                     dict(n_interactions=2, train_queries=TRAIN, eval_queries=TEST, embeddings=fake))
    here, there = task(0)["vanilla"], pickle.loads(pickle.dumps(task))(0)["vanilla"]
    assert (there.user_tags, there.accuracy) == (here.user_tags, here.accuracy)


def test_run_experiment_records_failures_when_asked(fake):
    runs = run_experiment([Variant("broken", "no-such-method")], "3/10", seeds=[0], n_interactions=1,
                          train_queries=TRAIN, eval_queries=TEST, embeddings=fake, win_rates=False,
                          on_error="record", progress=False)
    assert runs[0].error.startswith("ValueError") and "unknown method" in runs[0].error
    with pytest.raises(ValueError, match="unknown method"):
        run_experiment(["no-such-method"], "3/10", seeds=[0], n_interactions=1, embeddings=fake,
                       win_rates=False, progress=False)


# -- presets -------------------------------------------------------------------------------------


def test_presets_cover_the_papers_experiments():
    assert {"quick", "table2", "table8", "figure3", "figure4", "table9", "table12_14", "ablations",
            "paper"} <= set(PRESETS)
    quick = get_preset("quick")
    assert quick.seeds == 10 and quick.columns[0].setup == "3/50" and quick.columns[0].n_interactions == 30
    assert [v.name for v in quick.rows] == ["premium-embed", "premium-embed-paper", "vanilla", "ralm"]
    assert get_preset("paper").paper[("premium-embed", "3/50 @30")]["accuracy"] == 0.2476
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("table99")


def test_overrides_rescale_changes_and_replace_setups():
    figure3 = get_preset("figure3").with_overrides(interactions=10, seeds=1)
    assert figure3.columns[0].options["change_at"] == 5 and figure3.seeds == 1
    table2 = get_preset("table2").with_overrides(setups=["3/20", "3/40"])
    assert [(c.setup, c.n_interactions) for c in table2.columns] == [("3/20", 67), ("3/40", 67)]
    ablations = get_preset("ablations").with_overrides(methods=["no-entropy", "vanilla"])
    assert [v.name for v in ablations.rows] == ["no-entropy", "vanilla"]
    assert ablations.rows[0].options == {"selector_options": {"entropy_weight": 0.0}}


def test_methods_named_on_the_command_line_run_as_the_tables_run_them():
    # The bench fills table2's rows with method names: population must still pool other users,
    # or it is a per-user learner under another name.
    table2 = get_preset("table2").with_overrides(methods=["population", "vanilla"])
    assert [(v.name, v.co_users) for v in table2.rows] == [("population", 9), ("vanilla", 0)]
