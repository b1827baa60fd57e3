"""A bounded, thread-safe cache of decoded user states, keyed by user and state version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable, Optional


class StateCache:
    """Least-recently-used map ``user_id -> (version, state)``; a version is any hashable stamp.

    States are loaded on demand and only the ``maxsize`` most recent users are held, so serving
    many users does not mean holding every user's state in memory. A cached state is used only
    while its version matches the stored one, so another process's update is never missed.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str, version: Hashable) -> Optional[Any]:
        with self._lock:
            item = self._items.get(user_id)
            if item is None or item[0] != version:
                return None
            self._items.move_to_end(user_id)
            return item[1]

    def put(self, user_id: str, version: Hashable, state: Any) -> None:
        with self._lock:
            self._items[user_id] = (version, state)
            self._items.move_to_end(user_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def pop(self, user_id: str) -> None:
        with self._lock:
            self._items.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._items)
