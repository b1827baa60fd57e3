"""The tag library: the domains (and optional binary writing styles) a selector chooses from."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Optional, Union

import numpy as np

__all__ = ["DEFAULT_AREAS", "DEFAULT_BINARY_PAIRS", "TagLibrary"]

# Appendix A of the PREMIUM paper: 20 areas x 10 tags. Seven tags appear under two areas
# (e.g. "Photography" under Media and Art), which is why the library has 193 unique tags.
DEFAULT_AREAS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Finance": (
            "Investment", "Banking", "Accounting", "Insurance", "Stock market", "Taxation",
            "Retirement planning", "Personal finance", "Corporate finance", "Venture capital",
        ),
        "Athletics": (
            "Running", "Gymnastics", "Swimming", "Cycling", "Martial arts", "Yoga", "CrossFit",
            "Team sports", "Extreme sports", "Weightlifting",
        ),
        "Gaming": (
            "Role-playing games", "Strategy games", "Puzzle games", "Simulation games",
            "Action games", "Adventure games", "Casual games", "Multiplayer games",
            "Board games", "Card games",
        ),
        "Media": (
            "Journalism", "Broadcasting", "Advertising", "Social media", "Public relations",
            "Film production", "Photography", "Graphic design", "Content creation", "Podcasting",
        ),
        "Health": (
            "Nutrition", "Exercise physiology", "Mental health", "Public health",
            "Alternative medicine", "Physical therapy", "Chronic illness management",
            "Aging and geriatrics", "Epidemiology", "Healthcare administration",
        ),
        "Environment": (
            "Conservation", "Renewable energy", "Pollution control", "Sustainable agriculture",
            "Wildlife preservation", "Climate change mitigation", "Environmental policy",
            "Ecotourism", "Environmental education", "Green technology",
        ),
        "Education": (
            "K-12 education", "Higher education", "Online learning", "Special education",
            "Adult education", "Educational technology", "Curriculum development",
            "Educational psychology", "Vocational training", "Language learning",
        ),
        "Fashion": (
            "Apparel design", "Fashion photography", "Fashion modeling", "Textile design",
            "Fashion merchandising", "Sustainable fashion", "Luxury fashion", "Streetwear",
            "Fashion blogging", "Costume design",
        ),
        "Travel": (
            "Adventure travel", "Cultural tourism", "Ecotourism", "Backpacking", "Luxury travel",
            "Solo travel", "Family travel", "Budget travel", "Business travel", "Food tourism",
        ),
        "Entertainment": (
            "Music", "Theater", "Dance", "Comedy", "Magic", "Circus", "Cabaret", "Variety shows",
            "Performance art", "Improvisation",
        ),
        "Technology": (
            "Artificial intelligence", "Internet of Things", "Augmented reality",
            "Virtual reality", "Blockchain", "Cybersecurity", "Quantum computing",
            "Biotechnology", "Robotics", "Nanotechnology",
        ),
        "Food": (
            "Culinary arts", "Baking", "Pastry", "Gastronomy", "Food science", "Nutrition science",
            "Food safety", "Organic farming", "Food preservation", "Fermentation",
        ),
        "Law": (
            "Criminal law", "Civil law", "Constitutional law", "Contract law", "Family law",
            "Corporate law", "Intellectual property law", "Environmental law",
            "International law", "Tax law",
        ),
        "Psychology": (
            "Clinical psychology", "Cognitive psychology", "Developmental psychology",
            "Social psychology", "Educational psychology", "Industrial-organizational psychology",
            "Forensic psychology", "Health psychology", "Neuropsychology",
            "Counseling psychology",
        ),
        "Science": (
            "Physics", "Chemistry", "Biology", "Astronomy", "Geology", "Environmental science",
            "Neuroscience", "Genetics", "Meteorology", "Ecology",
        ),
        "Art": (
            "Painting", "Sculpture", "Drawing", "Printmaking", "Photography", "Installation art",
            "Performance art", "Digital art", "Mixed media", "Street art",
        ),
        "Agriculture": (
            "Crop science", "Horticulture", "Livestock farming", "Aquaculture", "Agribusiness",
            "Sustainable agriculture", "Precision agriculture", "Agricultural engineering",
            "Agricultural economics", "Soil science",
        ),
        "Film": (
            "Directing", "Screenwriting", "Cinematography", "Film editing", "Film production",
            "Film criticism", "Film theory", "Documentary filmmaking", "Animation",
            "Independent film",
        ),
        "Pet": (
            "Dog training", "Cat care", "Bird keeping", "Aquarium keeping", "Exotic pets",
            "Pet grooming", "Pet nutrition", "Pet photography", "Veterinary medicine",
            "Pet adoption",
        ),
        "Policy": (
            "Economic policy", "Social policy", "Environmental policy", "Healthcare policy",
            "Foreign policy", "Education policy", "Immigration policy", "Fiscal policy",
            "Criminal justice policy", "Energy policy",
        ),
    }
)

# Appendix G.2: one side of each pair describes the writing style a user prefers.
DEFAULT_BINARY_PAIRS: tuple[tuple[str, str], ...] = (
    ("Thorough", "Brief"),
    ("Objective", "Subjective"),
    ("Humorous", "Serious"),
    ("Professional", "Amateurish"),
)


@dataclass(frozen=True)
class _State:
    """An immutable snapshot; changes build a new one so readers never need the lock."""

    tags: tuple[str, ...]
    areas: Mapping[str, str]
    pairs: tuple[tuple[str, str], ...]
    version: int
    all_tags: tuple[str, ...] = field(init=False)
    positions: Mapping[str, int] = field(init=False)
    partner: Mapping[str, tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        all_tags = self.tags + tuple(tag for pair in self.pairs for tag in pair)
        object.__setattr__(self, "all_tags", all_tags)
        object.__setattr__(self, "positions", {tag: i for i, tag in enumerate(all_tags)})
        object.__setattr__(
            self, "partner", {tag: pair for pair in self.pairs for tag in pair}
        )


def _clean_tag(tag: Any) -> str:
    """Return ``tag`` stripped of surrounding whitespace, or raise naming the bad value."""
    if not isinstance(tag, str):
        raise ValueError(f"tags must be strings, got {tag!r} ({type(tag).__name__})")
    cleaned = tag.strip()
    if not cleaned:
        raise ValueError(f"tags must not be empty or whitespace only, got {tag!r}")
    # Control characters break the one-line tag lists in prompts, and a trailing NUL does not
    # survive a saved learner state (numpy strings drop it): "Jazz\x00" would become "Jazz".
    if any(unicodedata.category(char) == "Cc" for char in cleaned):
        raise ValueError(f"tags must not contain control characters, got {tag!r}")
    return cleaned


def _clean_area(area: Any) -> Optional[str]:
    if area is None:
        return None
    if not isinstance(area, str) or not area.strip():
        raise ValueError(f"an area must be a non-empty string or None, got {area!r}")
    return area.strip()


def _as_tag_list(tags: Union[str, Iterable[str]]) -> list[str]:
    # A bare string is one tag; iterating it would silently add single characters.
    if isinstance(tags, str):
        return [tags]
    if not isinstance(tags, Iterable):
        raise TypeError(f"expected a tag or an iterable of tags, got {tags!r}")
    return list(tags)


def _clean_pair(pair: Any) -> tuple[str, str]:
    if isinstance(pair, str) or not isinstance(pair, Iterable):
        raise ValueError(f"a binary pair must be two tags, got {pair!r}")
    items = list(pair)
    if len(items) != 2:
        raise ValueError(f"a binary pair must be exactly two tags, got {pair!r}")
    first, second = _clean_tag(items[0]), _clean_tag(items[1])
    if first == second:
        raise ValueError(f"the two sides of a binary pair must differ, got {first!r} twice")
    return first, second


class TagLibrary:
    """The set of tags a tag selector picks from, growable while the application runs.

    Ordinary tags are the domains of interest (paper Section 2); binary pairs are opposite
    writing styles of which a user prefers one side (paper Appendix G.2). ``all_tags`` lists the
    ordinary tags, then both sides of every pair: it is the index space selectors score over.
    Every change increases ``version`` so caches of tag embeddings know when to refresh (read
    ``version`` before ``all_tags`` when caching both). All changes are thread-safe and
    all-or-nothing.

    Args:
        tags: The ordinary tags, in the order they should be indexed.
        areas: Optional mapping from tag to the area it belongs to.
        binary_pairs: Optional ``(a, b)`` pairs of opposite styles.

    Example:
        >>> library = TagLibrary(["Baking", "Nutrition"], areas={"Baking": "Food"})
        >>> library.add("Yoga", area="Athletics")
        ('Yoga',)
        >>> library.tags, library.version
        (('Baking', 'Nutrition', 'Yoga'), 1)
        >>> library.area("Baking")
        'Food'
    """

    def __init__(
        self,
        tags: Union[str, Iterable[str]],
        *,
        areas: Optional[Mapping[str, str]] = None,
        binary_pairs: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._lock = threading.RLock()
        cleaned = self._check_new_tags(_as_tag_list(tags), taken=frozenset())
        if not cleaned:
            raise ValueError("a TagLibrary needs at least one tag, got none")
        tag_areas = self._check_areas(areas or {}, cleaned)
        pairs: list[tuple[str, str]] = []
        taken = set(cleaned)
        for pair in binary_pairs:
            first, second = self._check_new_pair(pair, taken)
            taken.update((first, second))
            pairs.append((first, second))
        self._state = _State(tuple(cleaned), MappingProxyType(tag_areas), tuple(pairs), 0)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def default(cls, binary: bool = False) -> "TagLibrary":
        """The paper's Appendix A library: 193 unique tags over 20 areas.

        A tag listed under two areas keeps the first one. ``binary=True`` adds the paper's four
        style pairs (Thorough/Brief, Objective/Subjective, Humorous/Serious,
        Professional/Amateurish).

        Example:
            >>> library = TagLibrary.default(binary=True)
            >>> len(library), len(library.binary_pairs), library.area("Photography")
            (193, 4, 'Media')
        """
        return cls.from_areas(DEFAULT_AREAS, binary_pairs=DEFAULT_BINARY_PAIRS if binary else ())

    @classmethod
    def from_areas(
        cls,
        areas: Mapping[str, Iterable[str]],
        *,
        binary_pairs: Iterable[tuple[str, str]] = (),
    ) -> "TagLibrary":
        """Build a library from ``{area: [tags]}``; a tag repeated across areas keeps its first.

        Example:
            >>> TagLibrary.from_areas({"Food": ["Baking"], "Art": ["Painting"]}).tags
            ('Baking', 'Painting')
        """
        if not isinstance(areas, Mapping):
            raise TypeError(f"areas must be a mapping of area -> tags, got {type(areas).__name__}")
        tags: list[str] = []
        tag_areas: dict[str, str] = {}
        for area, members in areas.items():
            area_name = _clean_area(area)
            for raw in _as_tag_list(members):
                tag = _clean_tag(raw)
                if tag not in tag_areas:
                    tags.append(tag)
                    tag_areas[tag] = area_name  # type: ignore[assignment]
        return cls(tags, areas=tag_areas, binary_pairs=binary_pairs)

    @classmethod
    def from_dict(cls, data: Union[Mapping[str, Any], Iterable[str]]) -> "TagLibrary":
        """Build a library from :meth:`to_dict` output, a list of tags, or ``{area: [tags]}``.

        Example:
            >>> library = TagLibrary(["Baking"], binary_pairs=[("Brief", "Thorough")])
            >>> TagLibrary.from_dict(library.to_dict()) == library
            True
        """
        if isinstance(data, Mapping):
            if isinstance(data.get("tags"), list) and set(data) <= {
                "tags",
                "areas",
                "binary_pairs",
                "version",
            }:
                library = cls(
                    data["tags"],
                    areas=data.get("areas") or {},
                    binary_pairs=[tuple(pair) for pair in data.get("binary_pairs") or ()],
                )
                version = data.get("version", 0)
                if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                    raise ValueError(f"version must be a non-negative integer, got {version!r}")
                library._state = _State(
                    library._state.tags, library._state.areas, library._state.pairs, version
                )
                return library
            return cls.from_areas(data)
        if isinstance(data, str) or not isinstance(data, Iterable):
            raise TypeError(
                f"expected a dict or a list of tags, got {type(data).__name__}: {data!r}"
            )
        return cls(list(data))

    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "TagLibrary":
        """Load a library from a ``.txt`` or ``.json`` file.

        ``.txt``: one tag per line; blank lines and lines starting with ``#`` are skipped.
        ``.json``: a list of tags, ``{area: [tags]}``, or
        ``{"tags": [...], "binary_pairs": [[a, b], ...]}`` (what :meth:`to_dict` writes).

        Example:
            >>> library = TagLibrary.from_file("my_tags.txt")  # doctest: +SKIP
        """
        path = Path(path)
        suffix = path.suffix.lower()
        text = path.read_text(encoding="utf-8")
        if suffix == ".txt":
            lines = [line.strip() for line in text.splitlines()]
            return cls([line for line in lines if line and not line.startswith("#")])
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not valid JSON: {exc}") from exc
            return cls.from_dict(data)
        raise ValueError(
            f"unsupported tag library file type {path.suffix!r} ({path}); use .txt or .json"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description that :meth:`from_dict` turns back into an equal library.

        Example:
            >>> TagLibrary(["Baking"], areas={"Baking": "Food"}).to_dict()["areas"]
            {'Baking': 'Food'}
        """
        state = self._state
        return {
            "tags": list(state.tags),
            "areas": dict(state.areas),
            "binary_pairs": [list(pair) for pair in state.pairs],
            "version": state.version,
        }

    # ------------------------------------------------------------------ read access
    @property
    def tags(self) -> tuple[str, ...]:
        """The ordinary tags, in a stable order (new tags go at the end)."""
        return self._state.tags

    @property
    def binary_pairs(self) -> tuple[tuple[str, str], ...]:
        """The ``(a, b)`` pairs of opposite writing styles."""
        return self._state.pairs

    @property
    def all_tags(self) -> tuple[str, ...]:
        """Ordinary tags, then both tags of each binary pair: the selectors' index space."""
        return self._state.all_tags

    @property
    def version(self) -> int:
        """A counter that increases with every change to the library."""
        return self._state.version

    @property
    def areas(self) -> dict[str, list[str]]:
        """Area -> its ordinary tags, in library order (tags without an area are left out)."""
        state = self._state
        grouped: dict[str, list[str]] = {}
        for tag in state.tags:
            area = state.areas.get(tag)
            if area is not None:
                grouped.setdefault(area, []).append(tag)
        return grouped

    def area(self, tag: str) -> Optional[str]:
        """The area ``tag`` belongs to, or ``None`` if it has none (binary tags have none)."""
        state = self._state
        key = self._lookup(tag, state)
        return state.areas.get(key)

    def index(self, tag: str) -> int:
        """Position of ``tag`` in :attr:`all_tags`."""
        state = self._state
        return state.positions[self._lookup(tag, state)]

    def pair_of(self, tag: str) -> Optional[tuple[str, str]]:
        """The binary pair ``tag`` belongs to, or ``None`` for ordinary or unknown tags."""
        return self._state.partner.get(tag.strip()) if isinstance(tag, str) else None

    def is_binary(self, tag: str) -> bool:
        """Whether ``tag`` is one side of a binary pair."""
        return self.pair_of(tag) is not None

    def sample(self, k: int, rng: np.random.Generator) -> tuple[str, ...]:
        """Draw ``k`` distinct ordinary tags uniformly at random.

        Example:
            >>> TagLibrary.default().sample(3, np.random.default_rng(0))
            ('Contract law', 'Improvisation', 'Agricultural engineering')
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {rng!r}"
            )
        tags = self._state.tags
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= len(tags):
            raise ValueError(f"k must be an integer between 0 and {len(tags)}, got {k!r}")
        chosen = rng.choice(len(tags), size=int(k), replace=False)
        return tuple(tags[i] for i in chosen)

    def __len__(self) -> int:
        return len(self._state.tags)

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, str) and tag.strip() in self._state.positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.tags)

    def __eq__(self, other: object) -> bool:
        # Equal content; the version is a change counter, not part of what the library is.
        if not isinstance(other, TagLibrary):
            return NotImplemented
        mine, theirs = self._state, other._state
        return (mine.tags, dict(mine.areas), mine.pairs) == (
            theirs.tags,
            dict(theirs.areas),
            theirs.pairs,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, so not hashable

    def __repr__(self) -> str:
        state = self._state
        preview = ", ".join(repr(tag) for tag in state.tags[:3])
        more = ", ..." if len(state.tags) > 3 else ""
        return (
            f"TagLibrary([{preview}{more}] ({len(state.tags)} tags), "
            f"binary_pairs={len(state.pairs)}, version={state.version})"
        )

    # ------------------------------------------------------------------ changes
    def add(self, tags: Union[str, Iterable[str]], area: Optional[str] = None) -> tuple[str, ...]:
        """Append one tag or several tags (all under ``area``) and return them, stripped.

        Nothing is added if any tag is invalid or already present. Adding nothing leaves the
        version unchanged.

        Example:
            >>> library = TagLibrary(["Baking"])
            >>> library.add(["Pottery", "Origami"], area="Crafts")
            ('Pottery', 'Origami')
        """
        new = _as_tag_list(tags)
        area_name = _clean_area(area)
        with self._lock:
            state = self._state
            cleaned = self._check_new_tags(new, taken=state.positions.keys())
            if not cleaned:
                return ()
            areas = dict(state.areas)
            if area_name is not None:
                areas.update(dict.fromkeys(cleaned, area_name))
            self._state = _State(
                state.tags + tuple(cleaned), MappingProxyType(areas), state.pairs, state.version + 1
            )
            return tuple(cleaned)

    def add_binary_pair(self, a: str, b: str) -> tuple[str, str]:
        """Append a pair of opposite writing styles and return it, stripped.

        Example:
            >>> library = TagLibrary(["Baking"])
            >>> library.add_binary_pair("Formal", "Casual")
            ('Formal', 'Casual')
        """
        with self._lock:
            state = self._state
            pair = self._check_new_pair((a, b), state.positions.keys())
            self._state = _State(state.tags, state.areas, state.pairs + (pair,), state.version + 1)
            return pair

    def remove(self, tag: str) -> None:
        """Remove an ordinary tag, or the whole pair when ``tag`` is one side of a binary pair.

        Indices in :attr:`all_tags` after the removed tag shift down by one (or two).

        Example:
            >>> library = TagLibrary(["Baking", "Yoga"])
            >>> library.remove("Baking")
            >>> library.tags
            ('Yoga',)
        """
        with self._lock:
            state = self._state
            key = self._lookup(tag, state)
            pair = state.partner.get(key)
            if pair is not None:
                pairs = tuple(p for p in state.pairs if p != pair)
                self._state = _State(state.tags, state.areas, pairs, state.version + 1)
                return
            if len(state.tags) == 1:
                raise ValueError(
                    f"cannot remove {key!r}: a TagLibrary needs at least one ordinary tag"
                )
            areas = {t: a for t, a in state.areas.items() if t != key}
            self._state = _State(
                tuple(t for t in state.tags if t != key),
                MappingProxyType(areas),
                state.pairs,
                state.version + 1,
            )

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _lookup(tag: str, state: _State) -> str:
        key = tag.strip() if isinstance(tag, str) else tag
        if key not in state.positions:
            raise ValueError(f"unknown tag {tag!r}: it is not in this TagLibrary")
        return key  # type: ignore[return-value]

    @staticmethod
    def _check_new_tags(tags: list[Any], taken: Iterable[str]) -> list[str]:
        taken = set(taken)
        cleaned: list[str] = []
        for raw in tags:
            tag = _clean_tag(raw)
            if tag in taken:
                raise ValueError(f"duplicate tag {tag!r}: it is already in the library")
            taken.add(tag)
            cleaned.append(tag)
        return cleaned

    @staticmethod
    def _check_new_pair(pair: Any, taken: Iterable[str]) -> tuple[str, str]:
        first, second = _clean_pair(pair)
        for tag in (first, second):
            if tag in taken:
                raise ValueError(f"duplicate tag {tag!r}: it is already in the library")
        return first, second

    @staticmethod
    def _check_areas(areas: Mapping[str, str], tags: list[str]) -> dict[str, str]:
        if not isinstance(areas, Mapping):
            raise TypeError(f"areas must be a mapping of tag -> area, got {type(areas).__name__}")
        known = set(tags)
        cleaned: dict[str, str] = {}
        for raw, area in areas.items():
            tag = _clean_tag(raw)
            if tag not in known:
                raise ValueError(f"areas names tag {tag!r}, which is not among the tags")
            area_name = _clean_area(area)
            if area_name is not None:
                cleaned[tag] = area_name
        return cleaned
