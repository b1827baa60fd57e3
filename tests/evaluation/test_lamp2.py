"""Tests for the LaMP-2 reader, the shipped synthetic fixture and the LaMP-2 metrics."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from langchain_premium.evaluation.lamp2 import (
    LAMP2_TAGS,
    LaMP2Example,
    LaMP2FormatError,
    ProfileItem,
    lamp2_description,
    lamp2_scores,
    load_lamp2,
    load_lamp2_fixture,
    normalize_lamp2_answer,
)

PREFIX = (
    "Which tag does this movie relate to among the following tags? Just answer with the tag name "
    "without further explanation. tags: [" + ", ".join(LAMP2_TAGS) + "] description: "
)


def _question(qid: str = "x-q1", description: str = "A robot learns to paint.", tag: str = "sci-fi") -> dict:
    return {
        "id": qid,
        "input": PREFIX + description,
        "profile": [
            {"id": f"{qid}-p1", "description": "A ship lands on Mars.", "tag": tag},
            {"id": f"{qid}-p2", "description": "Two cooks fall in love.", "tag": "romance"},
        ],
    }


def _write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _dump(examples: list[LaMP2Example]) -> tuple[list, dict]:
    """Write examples back out in the LaMP-2 schema."""
    questions = [
        {
            "id": ex.id,
            "input": ex.input,
            "profile": [{"id": p.id, "description": p.description, "tag": p.tag} for p in ex.profile],
        }
        for ex in examples
    ]
    outputs = {"task": "LaMP_2", "golds": [{"id": ex.id, "output": ex.gold} for ex in examples]}
    return questions, outputs


@pytest.fixture
def good_files(tmp_path: Path) -> tuple[Path, Path]:
    questions = [_question("a-q1"), _question("a-q2", "A knight tames a dragon.", "fantasy")]
    outputs = {"task": "LaMP_2", "golds": [{"id": "a-q1", "output": "sci-fi"}, {"id": "a-q2", "output": "fantasy"}]}
    return _write(tmp_path, "q.json", questions), _write(tmp_path, "o.json", outputs)


# --------------------------------------------------------------------------- tags and helpers


def test_tags_are_the_fifteen_lamp2_tags_in_order():
    assert LAMP2_TAGS == (
        "sci-fi", "based on a book", "comedy", "action", "twist ending", "dystopia", "dark comedy",
        "classic", "psychology", "fantasy", "romance", "thought-provoking", "social commentary",
        "violence", "true story",
    )


def test_description_is_text_after_last_marker():
    assert lamp2_description(PREFIX + "  A heist on the moon.  ") == "A heist on the moon."
    assert lamp2_description("description: first description: second") == "second"


def test_description_falls_back_to_whole_input():
    assert lamp2_description("  Just a plot summary.  ") == "Just a plot summary."
    assert lamp2_description("tags: [comedy] description:   ") == "tags: [comedy] description:"


@pytest.mark.parametrize("answer, expected", [
    ("comedy", "comedy"), ("  Dark Comedy\n", "dark comedy"), ("TRUE STORY", "true story"),
    ("comedy.", None), ("the tag is comedy", None), ("scifi", None), ("", None), (None, None), (3, None),
])
def test_normalize_answer_requires_an_exact_tag(answer, expected):
    assert normalize_lamp2_answer(answer) == expected


# --------------------------------------------------------------------------- shipped fixture


def test_fixture_has_six_users_with_five_questions_each():
    examples = load_lamp2_fixture()
    assert len(examples) == 30
    assert [ex.id for ex in examples] == [f"u{u}-q{q}" for u in range(1, 7) for q in range(1, 6)]
    for ex in examples:
        assert ex.gold in LAMP2_TAGS
        assert len(ex.profile) == 10
        assert all(isinstance(item, ProfileItem) and item.tag in LAMP2_TAGS for item in ex.profile)
        assert ex.description and "description:" not in ex.description
        assert ex.input.endswith(ex.description)


def test_fixture_profiles_are_shared_per_user_and_informative():
    by_user: dict[str, list[LaMP2Example]] = {}
    for ex in load_lamp2_fixture():
        by_user.setdefault(ex.id.split("-")[0], []).append(ex)
    assert len(by_user) == 6
    for user, examples in by_user.items():
        assert len({ex.profile for ex in examples}) == 1, f"{user}'s questions carry different profiles"
        counts = Counter(item.tag for item in examples[0].profile)
        favoured = [tag for tag, n in counts.items() if n >= 2]
        assert 2 <= len(favoured) <= 3, (user, counts)
        assert sum(counts[t] for t in favoured) >= 8, (user, counts)
        for ex in examples:
            assert ex.gold in favoured, (ex.id, ex.gold, counts)


def test_fixture_golds_cover_every_tag():
    assert {ex.gold for ex in load_lamp2_fixture()} == set(LAMP2_TAGS)


def test_fixture_descriptions_are_unique_and_short():
    examples = load_lamp2_fixture()
    texts = [ex.description for ex in examples] + [p.description for ex in examples for p in ex.profile]
    assert len(set(texts)) == 30 + 60
    assert all(len(text) < 200 for text in texts)


def test_profile_majority_guess_beats_random_on_fixture():
    examples = load_lamp2_fixture()
    guesses = [Counter(p.tag for p in ex.profile).most_common(1)[0][0] for ex in examples]
    scores = lamp2_scores(guesses, [ex.gold for ex in examples])
    assert scores["accuracy"] > 3 / len(LAMP2_TAGS)


# --------------------------------------------------------------------------- reader


def test_round_trip_through_files(tmp_path: Path):
    examples = load_lamp2_fixture()
    questions, outputs = _dump(examples)
    reread = load_lamp2(_write(tmp_path, "q.json", questions), _write(tmp_path, "o.json", outputs))
    assert reread == examples


def test_reader_without_outputs_leaves_gold_empty(good_files):
    questions_path, _ = good_files
    examples = load_lamp2(questions_path)
    assert [ex.gold for ex in examples] == [None, None]
    assert examples[1].description == "A knight tames a dragon."
    assert examples[0].profile[0] == ProfileItem("a-q1-p1", "A ship lands on Mars.", "sci-fi")


def test_reader_accepts_str_paths(good_files):
    questions_path, outputs_path = good_files
    assert [ex.gold for ex in load_lamp2(str(questions_path), str(outputs_path))] == ["sci-fi", "fantasy"]


def test_reader_leaves_gold_none_for_questions_without_an_output(tmp_path, good_files):
    questions_path, _ = good_files
    outputs = _write(tmp_path, "partial.json", {"task": "LaMP_2", "golds": [{"id": "a-q2", "output": "fantasy"}]})
    assert [ex.gold for ex in load_lamp2(questions_path, outputs)] == [None, "fantasy"]


def test_format_error_is_a_value_error():
    assert issubclass(LaMP2FormatError, ValueError)


def test_missing_questions_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="questions file not found: .*nope.json"):
        load_lamp2(tmp_path / "nope.json")


def test_missing_outputs_file(tmp_path: Path, good_files):
    with pytest.raises(FileNotFoundError, match="outputs file not found: .*gone.json"):
        load_lamp2(good_files[0], tmp_path / "gone.json")


def test_invalid_json(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "a"', encoding="utf-8")
    with pytest.raises(LaMP2FormatError, match="broken.json is not valid JSON"):
        load_lamp2(path)


def test_questions_must_be_a_list(tmp_path: Path):
    with pytest.raises(LaMP2FormatError, match="must hold a JSON list"):
        load_lamp2(_write(tmp_path, "q.json", {"questions": []}))


def test_questions_must_not_be_empty(tmp_path: Path):
    with pytest.raises(LaMP2FormatError, match="contains no questions"):
        load_lamp2(_write(tmp_path, "q.json", []))


@pytest.mark.parametrize("field", ["input", "profile"])
def test_missing_question_field_names_field_and_id(tmp_path: Path, field: str):
    question = _question("bad-q7")
    del question[field]
    with pytest.raises(LaMP2FormatError, match=rf"question 'bad-q7' is missing field '{field}'"):
        load_lamp2(_write(tmp_path, "q.json", [_question("ok-q1"), question]))


def test_missing_question_id_names_position(tmp_path: Path):
    question = _question()
    del question["id"]
    with pytest.raises(LaMP2FormatError, match=r"question #1 is missing field 'id'"):
        load_lamp2(_write(tmp_path, "q.json", [_question("ok-q1"), question]))


def test_wrong_type_names_field_and_id(tmp_path: Path):
    question = _question("bad-q1")
    question["profile"] = "sci-fi"
    with pytest.raises(LaMP2FormatError, match=r"question 'bad-q1': field 'profile' must be a list, got str"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_numeric_question_id_is_rejected(tmp_path: Path):
    question = _question()
    question["id"] = 110
    with pytest.raises(LaMP2FormatError, match=r"question #0: field 'id' must be a str, got int"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_question_item_must_be_object(tmp_path: Path):
    with pytest.raises(LaMP2FormatError, match=r"question #0 must be a JSON object"):
        load_lamp2(_write(tmp_path, "q.json", ["just text"]))


def test_empty_input_is_rejected(tmp_path: Path):
    question = _question("bad-q2")
    question["input"] = "   "
    with pytest.raises(LaMP2FormatError, match=r"question 'bad-q2': field 'input' is empty"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_duplicate_question_id(tmp_path: Path):
    with pytest.raises(LaMP2FormatError, match=r"question 'dup' appears more than once"):
        load_lamp2(_write(tmp_path, "q.json", [_question("dup"), _question("dup")]))


def test_profile_item_missing_field_names_item_and_question(tmp_path: Path):
    question = _question("q-9")
    del question["profile"][1]["description"]
    with pytest.raises(LaMP2FormatError, match=r"question 'q-9', profile item 'q-9-p2' is missing field 'description'"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_unknown_profile_tag_names_the_tag(tmp_path: Path):
    question = _question("q-3", tag="horror")
    with pytest.raises(LaMP2FormatError, match=r"profile item 'q-3-p1': unknown tag 'horror'"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_profile_tag_must_match_exactly(tmp_path: Path):
    question = _question("q-4", tag="Sci-Fi")
    with pytest.raises(LaMP2FormatError, match=r"unknown tag 'Sci-Fi'"):
        load_lamp2(_write(tmp_path, "q.json", [question]))


def test_outputs_wrong_task(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_3", "golds": []})
    with pytest.raises(LaMP2FormatError, match=r"field 'task' is 'LaMP_3', expected 'LaMP_2'"):
        load_lamp2(good_files[0], outputs)


def test_outputs_must_be_an_object(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", [{"id": "a-q1", "output": "sci-fi"}])
    with pytest.raises(LaMP2FormatError, match=r"outputs file .* must be a JSON object"):
        load_lamp2(good_files[0], outputs)


def test_outputs_missing_golds(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_2"})
    with pytest.raises(LaMP2FormatError, match=r"missing field 'golds'"):
        load_lamp2(good_files[0], outputs)


def test_gold_id_absent_from_questions(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_2", "golds": [{"id": "ghost-q1", "output": "comedy"}]})
    with pytest.raises(LaMP2FormatError, match=r"gold for 'ghost-q1': no question with this id"):
        load_lamp2(good_files[0], outputs)


def test_gold_with_unknown_tag_names_the_tag(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_2", "golds": [{"id": "a-q1", "output": "western"}]})
    with pytest.raises(LaMP2FormatError, match=r"gold for 'a-q1': unknown tag 'western'"):
        load_lamp2(good_files[0], outputs)


def test_gold_missing_output_field(tmp_path: Path, good_files):
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_2", "golds": [{"id": "a-q1", "tag": "comedy"}]})
    with pytest.raises(LaMP2FormatError, match=r"gold for 'a-q1' is missing field 'output'"):
        load_lamp2(good_files[0], outputs)


def test_duplicate_gold_id(tmp_path: Path, good_files):
    golds = [{"id": "a-q1", "output": "sci-fi"}, {"id": "a-q1", "output": "comedy"}]
    outputs = _write(tmp_path, "o2.json", {"task": "LaMP_2", "golds": golds})
    with pytest.raises(LaMP2FormatError, match=r"gold for 'a-q1' appears more than once"):
        load_lamp2(good_files[0], outputs)


def test_fixture_round_trip_detects_a_corrupted_tag(tmp_path: Path):
    questions, outputs = _dump(load_lamp2_fixture())
    broken = copy.deepcopy(questions)
    broken[12]["profile"][4]["tag"] = "musical"
    with pytest.raises(LaMP2FormatError, match=r"question 'u3-q3', profile item 'u3-p05': unknown tag 'musical'"):
        load_lamp2(_write(tmp_path, "q.json", broken), _write(tmp_path, "o.json", outputs))


# --------------------------------------------------------------------------- metrics


def test_perfect_predictions_score_one():
    golds = list(LAMP2_TAGS)
    assert lamp2_scores(golds, golds) == {"accuracy": 1.0, "f1": 1.0}


def test_case_and_surrounding_whitespace_are_forgiven():
    assert lamp2_scores(["  Comedy\n", "SCI-FI"], ["comedy", "sci-fi"])["accuracy"] == 1.0


@pytest.mark.parametrize("near_miss", ["comedy.", "Comedy!", "the tag is comedy", "comedies", "comedy, romance", "", None])
def test_anything_but_an_exact_tag_is_wrong(near_miss):
    assert lamp2_scores([near_miss], ["comedy"]) == {"accuracy": 0.0, "f1": 0.0}


def test_invalid_answers_never_match_each_other():
    # Two equal non-tag answers must not count as a hit on an imaginary "invalid" class.
    scores = lamp2_scores(["no idea", "no idea", "comedy"], ["comedy", "romance", "comedy"])
    assert scores["accuracy"] == pytest.approx(1 / 3)


def test_macro_f1_by_hand_and_against_sklearn():
    golds = ["comedy", "comedy", "action", "romance"]
    predictions = ["comedy", "action", "action", "romance!"]
    scores = lamp2_scores(predictions, golds)
    # comedy: P=1, R=1/2 -> F1=2/3; action: P=1/2, R=1 -> F1=2/3; romance: 0;
    # the other 12 tags: 0. Macro over all 15 tags = (2/3 + 2/3) / 15 = 4/45.
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(4 / 45)
    mapped = ["comedy", "action", "action", "<invalid>"]
    expected = f1_score(golds, mapped, average="macro", labels=list(LAMP2_TAGS), zero_division=0)
    assert scores["f1"] == pytest.approx(expected)


def test_scores_are_plain_floats():
    scores = lamp2_scores(("comedy",), ("comedy",))
    assert set(scores) == {"accuracy", "f1"}
    assert all(type(value) is float for value in scores.values())


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="2 predictions, 3 golds"):
        lamp2_scores(["comedy", "action"], ["comedy", "action", "romance"])


def test_empty_inputs_raise():
    with pytest.raises(ValueError, match="zero examples"):
        lamp2_scores([], [])


def test_gold_that_is_not_a_tag_raises():
    with pytest.raises(ValueError, match=r"gold #1 is 'horror'"):
        lamp2_scores(["comedy", "comedy"], ["comedy", "horror"])


def test_single_string_instead_of_sequence_raises():
    with pytest.raises(TypeError, match="predictions must be a sequence"):
        lamp2_scores("comedy", ["comedy"])  # type: ignore[arg-type]
