"""Tests for the shipped query sets and their loader."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import resources

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from langchain_premium.simulation.queries import SPLIT_NAMES, TASK_STYLES, QuerySet, load_queries

EXPECTED_SIZES = {"train": 120, "validation": 40, "test": 40}

# Rough keyword lexicon, matched at word starts, used only to check that the queries spread
# over many everyday domains instead of piling up in one.
DOMAIN_KEYWORDS = {
    "food": ("recipe", "cook", "chef", "food", "meal", "bak", "dinner", "pizza", "soup", "coffee", "pasta", "breakfast", "menu", "restaurant", "spice", "lemon", "grocery", "pantry"),
    "money": ("money", "budget", "bank", "invest", "loan", "salary", "invoice", "savings", "currency", "debt", "lottery", "tax", "cash", "mortgage", "wallet"),
    "travel": ("travel", "trip", "flight", "airport", "airline", "train", "hotel", "tourist", "itinerary", "passenger", "ferry", "holiday", "layover", "luggage", "suitcase", "postcard"),
    "animals": ("dog", "cat", "puppy", "kitten", "pet", "rabbit", "fish", "parrot", "horse", "zoo", "bee", "fox", "crow", "hamster", "tortoise", "animal"),
    "science": ("scien", "vaccine", "dna", "crispr", "physic", "planet", "gravity", "photosynthesis", "astronom", "lab", "black hole", "geolog", "botan", "experiment", "rainbow"),
    "work": ("job", "office", "manager", "colleague", "employee", "interview", "career", "resign", "coworker", "intern", "performance review", "meeting", "workplace"),
    "sport": ("sport", "football", "basketball", "tennis", "marathon", "rugby", "netball", "olympic", "cycl", "golf", "swim", "boxer", "hockey", "cricket", "yoga", "rowing", "ski", "referee", "goalkeeper"),
    "art": ("art", "paint", "mural", "sculpt", "gallery", "design", "photograph", "draw", "colour", "museum", "calligraph", "ceramic", "pottery", "logo"),
    "tech": ("app", "laptop", "wi-fi", "password", "vpn", "smartphone", "robot", "ai", "drone", "internet", "software", "code", "printer", "api", "cloud", "machine learning", "social network", "social media"),
    "health": ("health", "sleep", "doctor", "nurse", "hospital", "flu", "medic", "clinic", "physio", "cholesterol", "mental", "sunscreen", "mindfulness", "pharmac", "coma", "paramedic", "surgery", "stretch"),
    "law": ("law", "legal", "court", "judge", "jury", "juror", "tenant", "landlord", "contract", "will", "negligence", "witness", "sheriff", "crime", "theft", "notary", "privacy", "trial", "copyright", "lawyer"),
    "policy": ("policy", "vote", "voting", "election", "council", "democracy", "government", "referendum", "parliament", "mayor", "president", "citizen", "petition", "campaign", "census", "diplomat"),
    "education": ("school", "teacher", "student", "pupil", "exam", "homework", "lesson", "university", "professor", "classroom", "study", "spelling", "graduat", "learn"),
    "games": ("game", "chess", "tetris", "monopoly", "puzzle", "card game", "crossword", "tabletop", "dominoes", "arcade", "riddle", "hide-and-seek", "speedrun", "noughts"),
    "music": ("music", "song", "band", "piano", "guitar", "jazz", "choir", "violin", "concert", "lyrics", "chord", "drummer", "playlist", "composer", "lullaby", "karaoke", "cello"),
    "nature": ("climate", "recycl", "compost", "forest", "river", "ocean", "sea", "glacier", "wind", "coral", "plastic", "environment", "tree", "rain", "drought", "beach", "snow", "nature"),
    "history": ("histor", "roman", "viking", "medieval", "revolution", "century", "ancient", "war", "pyramid", "1920s", "berlin", "titanic", "magellan", "lovelace", "silk road", "printing press"),
    "home": ("home", "house", "garden", "flat", "tap", "sink", "kitchen", "sofa", "living room", "renovation", "neighbour", "declutter", "cleaning", "balcony", "handyman", "plumber"),
    "family": ("family", "parent", "mother", "father", "brother", "sister", "sibling", "grandmother", "grandparent", "child", "wedding", "anniversary", "birthday", "babysit", "twins", "daughter"),
    "media": ("film", "movie", "book", "novel", "podcast", "tv", "television", "streaming", "cinema", "actor", "library", "librarian", "newspaper", "reality show", "documentary", "audiobook", "blurb", "memoir"),
}

# Every instruction-following query must carry at least one constraint a checker could verify.
CONSTRAINT_PATTERN = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|ten|twelve)\s+"
    r"(words?|sentences?|paragraphs?|bullets?|bullet points|numbered steps|steps|stanzas|lines|items|verses|hashtags|characters|rows|tips|ideas|ways|arguments|songs|books|names|inventions|breeds|materials|dog breeds|houseplants|endangered|composers|planets|kinds)\b"
    r"|lowercase|capital letters|all caps|quotation marks|double quotes|json|markdown|section|heading"
    r"|placeholder|comma|without using|don't use|do not use|end(s|ing)? (your \w+ )?with|start(s)? with|begin(s)? with"
    r"|include the (words|terms|keywords|placeholders?|formula)"
    r"|title|p\.s\.|postscript|exactly one word|only the three lines|separated by|at least|at most|no more than"
    r"|under \d+|fewer than|in \d+ words or fewer|exclamation mark|question mark|bold|italics|numbered list",
    re.IGNORECASE,
)

STORY_PATTERN = re.compile(r"\b(story|stories|tale|fable|comedy)\b|\bwrite what happens\b", re.IGNORECASE)


def _domains(query: str) -> set[str]:
    text = query.lower()
    return {
        domain
        for domain, words in DOMAIN_KEYWORDS.items()
        if any(re.search(r"\b" + re.escape(word), text) for word in words)
    }


def _key(query: str) -> str:
    return " ".join(query.lower().split())


@pytest.fixture(params=TASK_STYLES)
def query_set(request) -> QuerySet:
    return load_queries(request.param)


# --------------------------------------------------------------------------- shipped data


def test_task_styles_are_the_three_paper_styles():
    assert TASK_STYLES == ("routine_writing", "story_generation", "instruction_following")


def test_split_sizes_are_120_40_40(query_set):
    assert {name: len(query_set.split(name)) for name in SPLIT_NAMES} == EXPECTED_SIZES
    assert len(query_set) == 200 == len(query_set.all_queries)


def test_style_field_matches_requested_style(query_set):
    assert query_set.style in TASK_STYLES


def test_queries_are_non_empty_trimmed_strings(query_set):
    for query in query_set.all_queries:
        assert isinstance(query, str)
        assert query.strip() == query and len(query) >= 20, query


def test_queries_are_unique_across_the_whole_file(query_set):
    keys = [_key(q) for q in query_set.all_queries]
    assert len(set(keys)) == len(keys)


def test_no_query_is_shared_between_styles():
    seen: dict[str, str] = {}
    for style in TASK_STYLES:
        for query in load_queries(style).all_queries:
            assert _key(query) not in seen, f"{query!r} is in both {seen[_key(query)]} and {style}"
            seen[_key(query)] = style


def test_no_near_duplicates(query_set):
    queries = list(query_set.all_queries)
    matrix = TfidfVectorizer(stop_words="english").fit_transform(queries)
    similarity = cosine_similarity(matrix)
    np.fill_diagonal(similarity, 0.0)
    i, j = np.unravel_index(similarity.argmax(), similarity.shape)
    assert similarity[i, j] < 0.75, (queries[i], queries[j])


def test_domains_are_varied_and_none_dominates(query_set):
    counts = {domain: 0 for domain in DOMAIN_KEYWORDS}
    for query in query_set.all_queries:
        for domain in _domains(query):
            counts[domain] += 1
    well_covered = [d for d, n in counts.items() if n >= 5]
    assert len(well_covered) >= 16, counts
    assert max(counts.values()) <= 0.25 * len(query_set), counts


def test_each_split_covers_many_domains(query_set):
    for name in SPLIT_NAMES:
        covered = set().union(*(_domains(q) for q in query_set.split(name)))
        assert len(covered) >= 14, (name, sorted(covered))


def test_instruction_following_queries_carry_verifiable_constraints():
    missing = [q for q in load_queries("instruction_following").all_queries if not CONSTRAINT_PATTERN.search(q)]
    assert missing == []


def test_story_generation_queries_ask_for_a_story():
    missing = [q for q in load_queries("story_generation").all_queries if not STORY_PATTERN.search(q)]
    assert missing == []


def test_packaged_files_have_the_documented_layout():
    for style in TASK_STYLES:
        resource = resources.files("langchain_premium.simulation").joinpath("data", f"{style}.json")
        data = json.loads(resource.read_text(encoding="utf-8"))
        assert list(data) == ["style", "train", "validation", "test"]
        assert data["style"] == style


# --------------------------------------------------------------------------- loader and QuerySet


def test_load_queries_is_cached_and_immutable():
    first = load_queries("routine_writing")
    assert load_queries("routine_writing") is first
    assert isinstance(first.train, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.train = ()  # type: ignore[misc]


def test_unknown_style_error_lists_valid_styles():
    with pytest.raises(ValueError) as info:
        load_queries("poetry")
    message = str(info.value)
    assert "'poetry'" in message
    for style in TASK_STYLES:
        assert style in message


def test_unknown_split_error_lists_valid_splits():
    with pytest.raises(ValueError) as info:
        load_queries("story_generation").split("dev")
    assert "'dev'" in str(info.value)
    for name in SPLIT_NAMES:
        assert name in str(info.value)


def test_split_returns_the_named_part():
    qs = QuerySet("demo", train=["a?"], validation=["b?"], test=["c?"])
    assert (qs.split("train"), qs.split("validation"), qs.split("test")) == (("a?",), ("b?",), ("c?",))


def test_queryset_rejects_blank_query():
    with pytest.raises(ValueError, match=r"demo\.test\[1\] is an empty query"):
        QuerySet("demo", train=["a?"], validation=[], test=["b?", "   "])


def test_queryset_rejects_non_string_query():
    with pytest.raises(ValueError, match=r"demo\.train\[0\] must be a string"):
        QuerySet("demo", train=[42], validation=[], test=[])  # type: ignore[list-item]


def test_queryset_rejects_duplicates_across_splits():
    with pytest.raises(ValueError, match="duplicate query") as info:
        QuerySet("demo", train=["Write a poem."], validation=[], test=["  write a   POEM. "])
    assert "train[0]" in str(info.value) and "test[0]" in str(info.value)


def test_queryset_rejects_a_bare_string_as_split():
    with pytest.raises(ValueError, match="must be a list of strings"):
        QuerySet("demo", train="Write a poem.", validation=[], test=[])  # type: ignore[arg-type]


def test_from_dict_names_missing_fields_and_source():
    with pytest.raises(ValueError, match=r"my\.json: missing field\(s\) validation, test"):
        QuerySet.from_dict({"style": "x", "train": []}, source="my.json")


def test_from_dict_prefixes_item_errors_with_source():
    with pytest.raises(ValueError, match=r"^my\.json: .*empty query"):
        QuerySet.from_dict({"style": "x", "train": [""], "validation": [], "test": []}, source="my.json")


def test_from_dict_rejects_non_object():
    with pytest.raises(ValueError, match="expected a JSON object"):
        QuerySet.from_dict(["a", "b"])  # type: ignore[arg-type]
