"""Small shared helpers: the one place seeds become random generators."""

from __future__ import annotations

import hashlib
from typing import Optional, Union

import numpy as np

SeedLike = Union[None, int, np.random.Generator]


def check_random_state(seed: SeedLike) -> np.random.Generator:
    """A ``numpy`` Generator from ``None`` (fresh entropy), an int seed, or a Generator (as is).

    Example:
        >>> bool(check_random_state(0).integers(10) == check_random_state(0).integers(10))
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, got {seed!r}")


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (unlike the built-in ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def child_seed(seed: Optional[int], *keys: str) -> Optional[int]:
    """A seed derived from ``seed`` and ``keys`` (``None`` stays ``None``)."""
    if seed is None:
        return None
    return stable_hash("/".join([str(seed), *keys])) % (2**63)
