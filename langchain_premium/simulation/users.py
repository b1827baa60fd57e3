"""A simulated user: a hidden User Tag Set (and styles) that may change during the interaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from langchain_premium.tags import TagLibrary
from langchain_premium.utils import SeedLike, check_random_state

__all__ = ["SimulatedUser", "UserTags"]


@dataclass(frozen=True)
class UserTags:
    """What a user likes at one moment: their User Tag Set and, with binary pairs, one style per
    pair. Annotators judge answers against this.

    Example:
        >>> UserTags(("Baking", "Yoga"), ("Brief",)).all_tags
        ('Baking', 'Yoga', 'Brief')
    """

    tags: tuple[str, ...]
    styles: tuple[str, ...] = ()

    @property
    def all_tags(self) -> tuple[str, ...]:
        return self.tags + self.styles


@dataclass(frozen=True)
class _Phase:
    start: int
    preference: UserTags


class SimulatedUser:
    """A user with a hidden User Tag Set of ``k`` tags drawn from the library (paper Section 2).

    With binary pairs in the library the user also prefers one style of each pair. The tags are
    drawn once, from ``seed``. With ``change_at`` the preference changes at that interaction:
    the last ``n_changed`` tags (and the last ``n_styles_changed`` styles) are replaced by tags
    the user did not like before, the first ones stay (the paper's Figure 3 changes two of three
    tags at interaction 50). :meth:`add_tags` adds tags from a given interaction on (the paper's
    expanded library, Figure 4).

    Interactions are counted from 0: ``tags_at(step)`` is what the user likes when they rank
    the answers of interaction ``step``.

    Args:
        library: the tag library the hidden tags come from.
        k: size of the User Tag Set.
        seed: int, numpy Generator or ``None``.
        change_at: interaction at which the preference changes (``None``: never).
        n_changed: how many of the ``k`` tags change then.
        n_styles_changed: how many styles flip to the other side of their pair then.
        user_id: the id the user has in the memory (default: derived from the seed).

    Example:
        >>> user = SimulatedUser(TagLibrary.default(), k=3, seed=0, change_at=50, n_changed=2)
        >>> before, after = user.tags_at(0), user.tags_at(50)
        >>> before[0] == after[0], len(set(before) & set(after))
        (True, 1)
    """

    def __init__(
        self,
        library: TagLibrary,
        k: int = 3,
        *,
        seed: SeedLike = None,
        change_at: Optional[int] = None,
        n_changed: int = 2,
        n_styles_changed: int = 0,
        user_id: Optional[str] = None,
    ) -> None:
        self.library = library
        self.k = k
        self.seed = seed
        self.change_at = change_at
        self.n_changed = n_changed
        self.n_styles_changed = n_styles_changed
        self.user_id = user_id or f"simulated-{seed if isinstance(seed, int) else 'user'}"
        n = len(library)
        if not 1 <= k <= n:
            raise ValueError(f"k must be between 1 and the library size {n}, got {k}")
        if change_at is not None:
            if change_at < 1:
                raise ValueError(f"change_at must be a positive interaction index, got {change_at}")
            if not 0 <= n_changed <= k or k + n_changed > n:
                raise ValueError(f"cannot change {n_changed} of {k} tags in a library of {n} tags")
            if not 0 <= n_styles_changed <= len(library.binary_pairs):
                raise ValueError(
                    f"n_styles_changed must be between 0 and {len(library.binary_pairs)} "
                    f"(the number of binary pairs), got {n_styles_changed}"
                )
        rng = check_random_state(seed)
        tags = library.sample(k, rng)
        styles = tuple(pair[int(rng.integers(2))] for pair in library.binary_pairs)
        self._phases = [_Phase(0, UserTags(tuple(tags), styles))]
        if change_at is not None:
            fresh = [t for t in library.tags if t not in tags]
            new = tuple(fresh[i] for i in rng.choice(len(fresh), size=n_changed, replace=False))
            flipped = list(styles)
            for i in range(len(styles) - n_styles_changed, len(styles)):
                a, b = library.binary_pairs[i]
                flipped[i] = b if styles[i] == a else a
            kept = tuple(tags[: k - n_changed])
            self._phases.append(_Phase(change_at, UserTags(kept + new, tuple(flipped))))

    def __repr__(self) -> str:
        return f"SimulatedUser(k={self.k}, seed={self.seed!r}, tags={list(self.tags)})"

    @property
    def tags(self) -> tuple[str, ...]:
        """The User Tag Set at the first interaction."""
        return self._phases[0].preference.tags

    @property
    def styles(self) -> tuple[str, ...]:
        """The preferred style of each binary pair at the first interaction (``()`` without pairs)."""
        return self._phases[0].preference.styles

    @property
    def all_tags(self) -> tuple[str, ...]:
        return self.tags + self.styles

    @property
    def ever_liked(self) -> tuple[str, ...]:
        """Every tag the user likes at some interaction, in the order they first appear."""
        return tuple(dict.fromkeys(t for phase in self._phases for t in phase.preference.tags))

    def at(self, step: int) -> UserTags:
        """The user's preference when ranking the answers of interaction ``step``."""
        if step < 0:
            raise ValueError(f"interactions are counted from 0, got step={step}")
        current = self._phases[0]
        for phase in self._phases:
            if phase.start <= step:
                current = phase
        return current.preference

    def tags_at(self, step: int) -> tuple[str, ...]:
        """The User Tag Set at interaction ``step``.

        Example:
            >>> user = SimulatedUser(TagLibrary(["a", "b", "c", "d"]), k=2, seed=1)
            >>> user.tags_at(0) == user.tags_at(99) == user.tags
            True
        """
        return self.at(step).tags

    def styles_at(self, step: int) -> tuple[str, ...]:
        """The preferred styles at interaction ``step``."""
        return self.at(step).styles

    def add_tags(self, tags: Iterable[str], *, at: int) -> None:
        """From interaction ``at`` on, the user also likes ``tags`` (e.g. new tags of an expanded
        library). They must be in the library by the time they are used.

        Example:
            >>> library = TagLibrary(["a", "b", "c"])
            >>> user = SimulatedUser(library, k=1, seed=0)
            >>> _ = library.add("new")
            >>> user.add_tags(["new"], at=10)
            >>> len(user.tags_at(9)), user.tags_at(10)[-1]
            (1, 'new')
        """
        tags = tuple(tags)
        unknown = [t for t in tags if t not in self.library]
        if unknown:
            raise ValueError(f"tags not in the library: {unknown}")
        base = self.at(at)
        added = tuple(t for t in tags if t not in base.tags)
        later = [p for p in self._phases if p.start > at]
        self._phases = [p for p in self._phases if p.start < at]
        self._phases.append(_Phase(at, UserTags(base.tags + added, base.styles)))
        for phase in later:
            extra = tuple(t for t in added if t not in phase.preference.tags)
            self._phases.append(_Phase(phase.start, UserTags(phase.preference.tags + extra,
                                                             phase.preference.styles)))


def as_user_tags(user: "SimulatedUser | UserTags | Sequence[str]") -> UserTags:
    """Accept a :class:`SimulatedUser` (its first preference), a :class:`UserTags` or a list of
    tags, and return a :class:`UserTags`."""
    if isinstance(user, UserTags):
        return user
    if isinstance(user, SimulatedUser):
        return user.at(0)
    if isinstance(user, str) or not isinstance(user, Sequence):
        raise TypeError(f"expected a SimulatedUser, UserTags or a list of tags, got {user!r}")
    return UserTags(tuple(user))
