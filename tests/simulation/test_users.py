"""SimulatedUser: hidden tags drawn from the library, seeded, changing when asked."""

from __future__ import annotations

import pytest

from langchain_premium import TagLibrary
from langchain_premium.simulation.users import SimulatedUser, UserTags, as_user_tags

TAGS = [f"tag{i}" for i in range(20)]


@pytest.fixture
def library() -> TagLibrary:
    return TagLibrary(TAGS)


def test_user_tag_set_is_k_distinct_library_tags_and_seed_reproduces_it(library):
    user = SimulatedUser(library, k=3, seed=7)
    assert len(user.tags) == 3 and len(set(user.tags)) == 3 and set(user.tags) <= set(TAGS)
    assert SimulatedUser(library, k=3, seed=7).tags == user.tags
    assert len({SimulatedUser(library, k=3, seed=s).tags for s in range(10)}) > 1
    assert user.styles == ()  # no binary pairs, no styles


def test_one_style_per_binary_pair():
    library = TagLibrary(TAGS, binary_pairs=[("Brief", "Thorough"), ("Serious", "Humorous")])
    styles = {SimulatedUser(library, k=2, seed=s).styles for s in range(12)}
    for chosen in styles:
        assert len(chosen) == 2 and chosen[0] in ("Brief", "Thorough") and chosen[1] in ("Serious", "Humorous")
    assert len(styles) > 1
    user = SimulatedUser(library, k=2, seed=0)
    assert user.all_tags == user.tags + user.styles
    assert not set(user.tags) & {"Brief", "Thorough", "Serious", "Humorous"}


def test_change_keeps_the_first_tags_and_replaces_the_last_with_new_ones(library):
    user = SimulatedUser(library, k=3, seed=1, change_at=50, n_changed=2)
    before, after = user.tags_at(49), user.tags_at(50)
    assert before == user.tags == user.tags_at(0)
    assert after[0] == before[0]
    assert not set(after[1:]) & set(before) and len(set(after)) == 3
    assert user.tags_at(1000) == after
    assert user.ever_liked == before + after[1:]


def test_styles_can_flip_at_the_change():
    library = TagLibrary(TAGS, binary_pairs=[("Brief", "Thorough"), ("Serious", "Humorous")])
    user = SimulatedUser(library, k=2, seed=3, change_at=5, n_changed=1, n_styles_changed=1)
    assert user.styles_at(5)[0] == user.styles[0]
    assert user.styles_at(5)[1] != user.styles[1]


def test_added_tags_count_from_their_interaction_on(library):
    user = SimulatedUser(library, k=2, seed=0)
    library.add(["fresh"])
    user.add_tags(["fresh"], at=10)
    assert "fresh" not in user.tags_at(9)
    assert user.tags_at(10) == user.tags + ("fresh",)
    assert user.ever_liked[-1] == "fresh"
    with pytest.raises(ValueError, match="not in the library"):
        user.add_tags(["missing"], at=3)


def test_added_tags_survive_a_later_change(library):
    user = SimulatedUser(library, k=2, seed=0, change_at=20, n_changed=1)
    library.add("fresh")
    user.add_tags(["fresh"], at=10)
    assert "fresh" in user.tags_at(25) and len(user.tags_at(25)) == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [({"k": 0}, "k must be"), ({"k": 21}, "k must be"), ({"k": 3, "change_at": 0}, "change_at"),
     ({"k": 3, "change_at": 5, "n_changed": 4}, "cannot change"),
     ({"k": 3, "change_at": 5, "n_styles_changed": 1}, "n_styles_changed")],
)
def test_invalid_settings_are_refused(library, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimulatedUser(library, seed=0, **kwargs)


def test_negative_steps_are_refused(library):
    with pytest.raises(ValueError, match="counted from 0"):
        SimulatedUser(library, k=2, seed=0).tags_at(-1)


def test_as_user_tags_accepts_users_snapshots_and_tag_lists(library):
    user = SimulatedUser(library, k=2, seed=0)
    assert as_user_tags(user) == user.at(0)
    assert as_user_tags(["a", "b"]) == UserTags(("a", "b"))
    with pytest.raises(TypeError):
        as_user_tags("a")
