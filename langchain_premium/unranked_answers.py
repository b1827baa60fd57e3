"""The answers of recent runs, held in memory until ranked, so a ranking can be read by its text."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional, Sequence


class UnrankedAnswers:
    """Least-recently-stored map ``run_id -> (user_id, answers)``, bounded by ``maxsize`` runs.

    A runnable embeds what its answers said only when they are ranked: answers nobody ranks cost
    nothing, and no text reaches the database unless the memory stores text. A run older than the
    ``maxsize`` latest (or ranked in another process) is read by its tags alone.

    Example:
        >>> held = UnrankedAnswers(maxsize=2)
        >>> held.put("r1", "alice", ["One.", "Two."])
        >>> held.take("r1", "bob") is None, held.take("r1", "alice")
        (True, ['One.', 'Two.'])
        >>> held.take("r1", "alice") is None  # taken once
        True
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: str, user_id: str, answers: Sequence[str]) -> None:
        with self._lock:
            self._items[run_id] = (user_id, list(answers))
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def take(self, run_id: str, user_id: str) -> Optional[list[str]]:
        """The answers of ``run_id`` if ``user_id`` owns it and they are still held; the run is
        let go (a run is ranked once)."""
        with self._lock:
            item = self._items.get(run_id)
            if item is None or item[0] != user_id:
                return None
            del self._items[run_id]
        return item[1]

    def forget_user(self, user_id: str) -> None:
        with self._lock:
            for run_id in [r for r, (owner, _) in self._items.items() if owner == user_id]:
                del self._items[run_id]

    def __len__(self) -> int:
        return len(self._items)
