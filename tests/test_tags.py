"""Tests for the tag library."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from langchain_premium.tags import TagLibrary

PAPER_PAIRS = (
    ("Thorough", "Brief"),
    ("Objective", "Subjective"),
    ("Humorous", "Serious"),
    ("Professional", "Amateurish"),
)


# ----------------------------------------------------------------------------- default library


def test_default_library_has_193_unique_tags_over_20_areas() -> None:
    library = TagLibrary.default()
    assert len(library) == 193
    assert len(set(library.tags)) == 193
    assert len(library.areas) == 20
    assert library.binary_pairs == ()
    assert library.version == 0


def test_default_library_keeps_paper_order_and_spelling() -> None:
    library = TagLibrary.default()
    assert library.tags[:3] == ("Investment", "Banking", "Accounting")
    assert library.tags[-1] == "Energy policy"
    # Both words that the paper's text splits across a line break.
    assert "Industrial-organizational psychology" in library
    assert "Gastronomy" in library
    assert list(library.areas)[:3] == ["Finance", "Athletics", "Gaming"]
    assert library.areas["Finance"][0] == "Investment"


@pytest.mark.parametrize(
    ("tag", "first_area", "later_area"),
    [
        ("Photography", "Media", "Art"),
        ("Ecotourism", "Environment", "Travel"),
        ("Educational psychology", "Education", "Psychology"),
        ("Performance art", "Entertainment", "Art"),
        ("Film production", "Media", "Film"),
        ("Sustainable agriculture", "Environment", "Agriculture"),
        ("Environmental policy", "Environment", "Policy"),
    ],
)
def test_repeated_tag_keeps_its_first_area(tag: str, first_area: str, later_area: str) -> None:
    library = TagLibrary.default()
    assert library.area(tag) == first_area
    assert library.tags.count(tag) == 1
    assert tag in library.areas[first_area]
    assert tag not in library.areas[later_area]
    assert len(library.areas[later_area]) < 10


def test_default_binary_adds_the_four_paper_pairs_after_ordinary_tags() -> None:
    library = TagLibrary.default(binary=True)
    assert library.binary_pairs == PAPER_PAIRS
    assert len(library) == 193
    assert len(library.all_tags) == 193 + 8
    assert library.all_tags[193:] == tuple(tag for pair in PAPER_PAIRS for tag in pair)
    assert "Brief" in library and "Brief" not in library.tags
    assert library.index("Thorough") == 193
    assert library.pair_of("Serious") == ("Humorous", "Serious")
    assert library.pair_of("Yoga") is None
    assert library.is_binary("Amateurish") and not library.is_binary("Yoga")
    assert library.area("Brief") is None


def test_default_returns_independent_libraries() -> None:
    first = TagLibrary.default()
    first.add("Origami")
    assert "Origami" not in TagLibrary.default()


# ----------------------------------------------------------------------------- construction


def test_tags_are_stripped_and_keep_order() -> None:
    library = TagLibrary(["  Baking ", "Yoga\n", "Chess"])
    assert library.tags == ("Baking", "Yoga", "Chess")
    assert list(library) == ["Baking", "Yoga", "Chess"]
    assert " Yoga " in library
    assert library.index("Chess") == 2


@pytest.mark.parametrize("tags", [[], (), iter([])])
def test_empty_library_is_rejected(tags) -> None:
    with pytest.raises(ValueError, match="at least one tag"):
        TagLibrary(tags)


@pytest.mark.parametrize("bad", ["", "   ", "\t\n"])
def test_empty_or_whitespace_tag_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        TagLibrary(["Baking", bad])


@pytest.mark.parametrize("bad", [None, 3, b"Baking", ("Baking",)])
def test_non_string_tag_is_rejected_naming_the_value(bad) -> None:
    with pytest.raises(ValueError, match="must be strings") as error:
        TagLibrary(["Yoga", bad])
    assert repr(bad) in str(error.value)


def test_duplicate_tag_after_stripping_is_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate tag 'Baking'"):
        TagLibrary(["Baking", " Baking "])


def test_duplicates_are_case_sensitive() -> None:
    assert len(TagLibrary(["Baking", "baking"])) == 2


def test_binary_tag_colliding_with_ordinary_tag_is_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate tag 'Brief'"):
        TagLibrary(["Brief", "Yoga"], binary_pairs=[("Thorough", "Brief")])


@pytest.mark.parametrize("pair", [("Brief",), ("A", "B", "C"), ("Same", "Same"), "AB"])
def test_malformed_binary_pair_is_rejected(pair) -> None:
    with pytest.raises(ValueError, match="pair"):
        TagLibrary(["Yoga"], binary_pairs=[pair])


def test_areas_must_name_known_tags() -> None:
    with pytest.raises(ValueError, match="'Chess'"):
        TagLibrary(["Yoga"], areas={"Chess": "Games"})


# ----------------------------------------------------------------------------- growth


def test_add_appends_in_order_and_bumps_version() -> None:
    library = TagLibrary(["Baking"], binary_pairs=[("Brief", "Thorough")])
    assert library.add(["Pottery", " Origami "], area="Crafts") == ("Pottery", "Origami")
    assert library.version == 1
    assert library.add("Chess") == ("Chess",)
    assert library.version == 2
    assert library.tags == ("Baking", "Pottery", "Origami", "Chess")
    # Binary tags stay at the end of the index space.
    assert library.all_tags == ("Baking", "Pottery", "Origami", "Chess", "Brief", "Thorough")
    assert library.area("Origami") == "Crafts"
    assert library.area("Chess") is None
    assert library.areas == {"Crafts": ["Pottery", "Origami"]}


def test_add_of_a_single_string_is_one_tag_not_characters() -> None:
    library = TagLibrary(["Baking"])
    library.add("Yoga")
    assert library.tags == ("Baking", "Yoga")


def test_add_is_all_or_nothing() -> None:
    library = TagLibrary(["Baking", "Yoga"])
    with pytest.raises(ValueError, match="duplicate tag 'Yoga'"):
        library.add(["Chess", "Yoga"])
    with pytest.raises(ValueError, match="duplicate tag 'Chess'"):
        library.add(["Chess", "Chess"])
    with pytest.raises(ValueError, match="empty"):
        library.add(["Chess", "  "])
    assert library.tags == ("Baking", "Yoga")
    assert library.version == 0


def test_add_nothing_keeps_version() -> None:
    library = TagLibrary(["Baking"])
    assert library.add([]) == ()
    assert library.version == 0


def test_add_binary_pair_checks_collisions_both_ways() -> None:
    library = TagLibrary(["Baking"])
    assert library.add_binary_pair(" Formal", "Casual ") == ("Formal", "Casual")
    assert library.version == 1
    with pytest.raises(ValueError, match="duplicate tag 'Baking'"):
        library.add_binary_pair("Baking", "Plain")
    with pytest.raises(ValueError, match="duplicate tag 'Formal'"):
        library.add("Formal")
    assert library.binary_pairs == (("Formal", "Casual"),)
    assert library.version == 1


def test_remove_ordinary_tag_and_binary_pair() -> None:
    library = TagLibrary(["Baking", "Yoga", "Chess"], binary_pairs=[("Brief", "Thorough")])
    library.remove("Yoga")
    assert library.tags == ("Baking", "Chess")
    assert library.index("Chess") == 1
    library.remove("Thorough")
    assert library.binary_pairs == ()
    assert "Brief" not in library
    assert library.version == 2


def test_remove_unknown_or_last_tag_is_rejected() -> None:
    library = TagLibrary(["Baking"])
    with pytest.raises(ValueError, match="unknown tag 'Yoga'"):
        library.remove("Yoga")
    with pytest.raises(ValueError, match="at least one"):
        library.remove("Baking")
    assert library.tags == ("Baking",)
    assert library.version == 0


def test_lookups_of_unknown_tags() -> None:
    library = TagLibrary(["Baking"])
    assert "Yoga" not in library
    assert 3 not in library
    with pytest.raises(ValueError, match="unknown tag 'Yoga'"):
        library.index("Yoga")
    with pytest.raises(ValueError, match="unknown tag 'Yoga'"):
        library.area("Yoga")


def test_concurrent_adds_lose_nothing() -> None:
    library = TagLibrary(["seed"])
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(50):
            library.add(f"tag-{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(library) == 1 + 8 * 50
    assert library.version == 8 * 50
    # Each worker's tags keep their own relative order.
    worker_0 = [tag for tag in library.tags if tag.startswith("tag-0-")]
    assert worker_0 == [f"tag-0-{i}" for i in range(50)]


# ----------------------------------------------------------------------------- sampling


def test_sample_draws_distinct_ordinary_tags_reproducibly() -> None:
    library = TagLibrary.default(binary=True)
    first = library.sample(5, np.random.default_rng(7))
    assert first == library.sample(5, np.random.default_rng(7))
    assert len(set(first)) == 5
    assert all(tag in library.tags for tag in first)
    assert len(set(library.sample(193, np.random.default_rng(0)))) == 193


def test_sample_validates_k_and_rng() -> None:
    library = TagLibrary(["a", "b"])
    with pytest.raises(ValueError, match="k must be"):
        library.sample(3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="k must be"):
        library.sample(-1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        library.sample(1, 42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- serialisation


def test_to_dict_round_trips() -> None:
    library = TagLibrary.default(binary=True)
    library.add("Origami", area="Crafts")
    data = json.loads(json.dumps(library.to_dict()))
    restored = TagLibrary.from_dict(data)
    assert restored == library
    assert restored.all_tags == library.all_tags
    assert restored.area("Photography") == "Media"
    assert restored.area("Origami") == "Crafts"
    assert restored.version == library.version == 1
    assert restored != TagLibrary.default()


def test_from_file_txt_skips_blank_lines_and_comments(tmp_path) -> None:
    path = tmp_path / "tags.txt"
    path.write_text("# my tags\nBaking\n\n  Yoga  \n   # indented comment\nC#\n", encoding="utf-8")
    assert TagLibrary.from_file(path).tags == ("Baking", "Yoga", "C#")


def test_from_file_json_list(tmp_path) -> None:
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(["Baking", "Yoga"]), encoding="utf-8")
    assert TagLibrary.from_file(str(path)).tags == ("Baking", "Yoga")


def test_from_file_json_areas_keep_first_area(tmp_path) -> None:
    path = tmp_path / "tags.json"
    areas = {"Food": ["Baking", "Photography"], "Art": ["Photography", "Painting"]}
    path.write_text(json.dumps(areas), encoding="utf-8")
    library = TagLibrary.from_file(path)
    assert library.tags == ("Baking", "Photography", "Painting")
    assert library.area("Photography") == "Food"


def test_from_file_json_with_binary_pairs(tmp_path) -> None:
    path = tmp_path / "tags.json"
    data = {"tags": ["Baking"], "binary_pairs": [["Brief", "Thorough"]]}
    path.write_text(json.dumps(data), encoding="utf-8")
    library = TagLibrary.from_file(path)
    assert library.binary_pairs == (("Brief", "Thorough"),)
    assert library.all_tags == ("Baking", "Brief", "Thorough")


def test_from_file_rejects_unknown_suffix_and_bad_json(tmp_path) -> None:
    csv = tmp_path / "tags.csv"
    csv.write_text("Baking\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'.csv'"):
        TagLibrary.from_file(csv)
    broken = tmp_path / "tags.json"
    broken.write_text("[\"Baking\",", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        TagLibrary.from_file(broken)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least one tag"):
        TagLibrary.from_file(empty)


def test_repr_shows_size_and_version() -> None:
    text = repr(TagLibrary.default(binary=True))
    assert "193 tags" in text and "binary_pairs=4" in text and "version=0" in text
