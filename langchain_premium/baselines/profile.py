"""The shared base of the text-history baselines: a user profile (and items) written into the prompt."""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar, Iterable, Optional, Sequence

from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import BasePromptTemplate
from langchain_core.runnables import Runnable
from pydantic import Field, PrivateAttr, model_validator

from langchain_premium.baselines.history import HistoryItem, add_history, require_text, user_history
from langchain_premium.errors import CorruptStateError, StaleStateError
from langchain_premium.prompts import (
    PROFILE_GENERATION_PROMPT,
    format_declared,
    generation_variables,
    output_text,
    profile_section,
)
from langchain_premium.records import TagSet
from langchain_premium.result import FeedbackReceipt
from langchain_premium.runnable import PremiumRunnable
from langchain_premium.selectors.base import BaseSelector
from langchain_premium.selectors.random import RandomSelector
from langchain_premium.utils import stable_hash

__all__ = ["ProfileRunnable"]

_PROFILE_FORMAT = 1
_LOCK_STRIPES = 64


class ProfileRunnable(PremiumRunnable):
    """Base of TidyBot- and OPPU-style baselines: personalise through text about the user.

    Same interface as :class:`PremiumRunnable` (input, ``user_id`` in the config, a
    :class:`PremiumResult` with ``m`` candidates and ``feedback``). The user's **history** is
    built from their ranked interactions with this method: each query with the answer the
    user ranked first (plus items given with :meth:`add_history`). A model (``profile_llm``,
    default ``llm``) writes a **profile** from the history, refreshed after every
    ``update_every`` new items; it is stored per user in the memory under
    ``(user_id, "<key>/profile")``, and ``forget_user`` removes it with everything else.

    Candidates: the profile (and, in subclasses, retrieved items) goes in front of the usual
    generation prompt, which is combined with ``m`` tag sets from ``selector`` (default
    :class:`RandomSelector`, i.e. the Vanilla candidates), so the answers differ and the user's
    first choice carries information into the history. Pass ``selector=RetrieverSelector()``
    for query-matched tags, or a prompt without ``{tags}`` (and ``m=1``) for a single answer.

    Unlike PREMIUM, these baselines keep query and answer **text**, so the memory must be
    opened with ``SQLiteMemory(store_text=True)``.
    """

    selector: Optional[BaseSelector] = Field(default_factory=RandomSelector)
    prompt: BasePromptTemplate = PROFILE_GENERATION_PROMPT
    profile_llm: Optional[Runnable] = None
    history_size: int = 20
    max_item_chars: int = 400

    #: The method key when ``method`` is not given.
    default_key: ClassVar[str] = "profile"

    _profile_locks: list[threading.Lock] = PrivateAttr(
        default_factory=lambda: [threading.Lock() for _ in range(_LOCK_STRIPES)]
    )

    @model_validator(mode="after")
    def _check_history(self) -> "ProfileRunnable":
        require_text(self.memory, type(self).__name__)
        if self.history_size < 1:
            raise ValueError(f"history_size must be at least 1, got {self.history_size}")
        if self.max_item_chars < 20:
            raise ValueError(f"max_item_chars must be at least 20, got {self.max_item_chars}")
        return self

    @property
    def key(self) -> str:
        return self.method or self.default_key

    @property
    def profile_key(self) -> str:
        """The state key the profile is stored under (per user)."""
        return f"{self.key}/profile"

    # -- history and profile -------------------------------------------------------------------

    def history(self, user_id: str, limit: Optional[int] = None) -> list[HistoryItem]:
        """The user's history with this method, oldest first (``limit``: the most recent)."""
        return user_history(self.memory, user_id, self.key, limit=limit)

    def add_history(self, user_id: str, items: Iterable[tuple[str, str]]) -> int:
        """Add ``(query, preferred answer)`` items to the user's history (e.g. LaMP-2 profile
        items); the profile is rewritten on the next :meth:`train` or feedback. The example
        continues the :class:`~langchain_premium.baselines.tidybot.TidyBotRunnable` example.

        Example:
            >>> tidybot.add_history("alice", [("A dog runs a cafe.", "comedy")])
            1
            >>> tidybot.train("alice")
            True
            >>> tidybot.profile("alice")
            "The user's preferred answers mostly concern comedy (most frequent first)."
        """
        return add_history(self.memory, user_id, self.key, items)

    def profile(self, user_id: str) -> str:
        """The stored profile of ``user_id`` (``""`` before any history)."""
        stored = self.memory.load_state(user_id, self.profile_key)
        if stored is None:
            return ""
        try:
            data = json.loads(stored.blob.decode("utf-8"))
            if data.get("format") != _PROFILE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            return str(data["profile"])
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise CorruptStateError(f"the stored profile of user {user_id!r} cannot be read: {exc}") from exc

    def write_profile(self, items: Sequence[HistoryItem]) -> str:
        """Write a profile from history items (oldest first). Subclasses call their model."""
        raise NotImplementedError(f"{type(self).__name__} does not write profiles")

    def _profile_model(self) -> Runnable:
        return self.profile_llm if self.profile_llm is not None else self.llm

    @staticmethod
    def _reply_text(reply: Any) -> str:
        return output_text(reply).strip()

    def refresh_profile(self, user_id: str, *, force: bool = False) -> bool:
        """Rewrite the user's profile from their history if it has new items (or ``force``);
        ``True`` if a new profile was saved."""
        with self._profile_locks[stable_hash(user_id) % _LOCK_STRIPES]:
            for _ in range(10):
                stored = self.memory.load_state(user_id, self.profile_key)
                items = self.history(user_id)
                if not items:
                    return False
                if not force and stored is not None and stored.pairs_seen == len(items):
                    return False
                text = self.write_profile(items)
                blob = json.dumps({"format": _PROFILE_FORMAT, "profile": text}).encode("utf-8")
                try:
                    self.memory.save_state(
                        user_id, self.profile_key, blob,
                        expected_version=None if stored is None else stored.version,
                        pairs_seen=len(items),
                    )
                except StaleStateError:
                    force = False  # another process wrote a profile: check it is up to date
                    continue
                return True
        raise StaleStateError(f"could not save the profile of user {user_id!r}: too many concurrent updates")

    def _profile_due(self, user_id: str) -> bool:
        if not self.update_every:
            return False
        stored = self.memory.load_state(user_id, self.profile_key)
        seen = 0 if stored is None else stored.pairs_seen
        return len(self.history(user_id)) - seen >= self.update_every

    # -- learning ------------------------------------------------------------------------------

    def train(self, user_id: str) -> bool:
        """Train the selector (if it learns) and rewrite the profile if there is new history."""
        trained = super().train(user_id)
        return self.refresh_profile(user_id) or trained

    def record_feedback(
        self, run_id: str, ranking: Optional[Sequence[int]] = None, *,
        best: Optional[int] = None, user_id: Optional[str] = None,
    ) -> FeedbackReceipt:
        receipt = super().record_feedback(run_id, ranking, best=best, user_id=user_id)
        refreshed = self._profile_due(receipt.user_id) and self.refresh_profile(receipt.user_id)
        return FeedbackReceipt(run_id=receipt.run_id, user_id=receipt.user_id, pairs=receipt.pairs,
                               trained=receipt.trained or refreshed)

    # -- prompts -------------------------------------------------------------------------------

    def prompt_variables(self, user_id: str, query: str) -> dict[str, Any]:
        """What this baseline adds to the generation prompt for one query of one user:
        ``profile``, ``profile_section`` and ``retrieved_section``."""
        profile = self.profile(user_id)
        return {"profile": profile, "profile_section": profile_section(profile),
                "retrieved_section": ""}

    def _prompts(self, request: Any, tag_sets: list[TagSet]) -> list[PromptValue]:
        extra = self.prompt_variables(request.user_id, request.query)
        return [format_declared(self.prompt, {**generation_variables(request.query, s.tags, s.styles, request.history),
                                              **extra})
                for s in tag_sets]

    def export_user(self, user_id: str) -> dict:
        """Everything held about ``user_id``, including the profile text."""
        data = super().export_user(user_id)
        data["profile_text"] = self.profile(user_id)
        return data
