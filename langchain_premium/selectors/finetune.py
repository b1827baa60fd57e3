"""PREMIUM-Embed as the paper trains it: a query encoder and a tag encoder fully fine-tuned per user."""

from __future__ import annotations

import copy
import gc
import io
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional, Sequence

import numpy as np
import torch

from langchain_premium.encoding import TagEmbeddingCache
from langchain_premium.errors import CorruptStateError, MissingTextError, SchemaVersionError
from langchain_premium.losses import PreferenceLoss
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.base import BaseSelector, SelectionContext
from langchain_premium.selectors.sets import (
    best_sets,
    choose_styles,
    fill_distinct,
    random_subset,
    sample_by_probability,
    softmax,
    to_tag_set,
)
from langchain_premium.tags import TagLibrary

if TYPE_CHECKING:  # pragma: no cover - typing only; sentence-transformers loads lazily
    from sentence_transformers import SentenceTransformer

STATE_FORMAT = 1
_META_KEY = "premium"


@dataclass
class FinetuneState:
    """One user's fine-tuned encoders, or ``None`` for both while the user has not been trained
    (the shared base model is used then, so a new user costs no copy of the model).

    ``tag_vectors`` caches the user's tag encoder output per tag name (unit vectors), so a query
    costs one forward pass of the query encoder; ``profile`` is the mean fine-tuned embedding of
    the user's replayed queries, the query used for a profile without a query.
    """

    query_encoder: Optional["SentenceTransformer"] = None
    tag_encoder: Optional["SentenceTransformer"] = None
    tag_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    profile: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    n_updates: int = 0
    n_pairs: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def trained(self) -> bool:
        """Whether this user has encoders of their own."""
        return self.query_encoder is not None

    def tag_matrix(self, tags: Sequence[str]) -> np.ndarray:
        """``(len(tags), d)`` embeddings of ``tags`` by this user's tag encoder (cached)."""
        with self._lock:  # states are shared between threads by the runnable's state cache
            missing = [t for t in dict.fromkeys(tags) if t not in self.tag_vectors]
            if missing:
                vectors = _encode(self.tag_encoder, missing, grad=False).numpy()
                self.tag_vectors.update(zip(missing, vectors))
            return np.stack([self.tag_vectors[t] for t in tags])

    def embed_query(self, query: str) -> np.ndarray:
        """This user's fine-tuned embedding of ``query``."""
        return _encode(self.query_encoder, [query], grad=False).numpy()[0]


class FinetuneSelector(BaseSelector):
    """The paper's PREMIUM-Embed (Section 4): two encoders fine-tuned for each user.

    A query encoder ``E_q`` and a tag encoder ``E_t``, both initialised from the packaged
    all-MiniLM-L6-v2 (the pretrained retriever), score tag ``t`` for query ``q`` as
    ``scale * E_q(q) . E_t(t)`` (unit vectors, so ``scale`` turns cosines into logits); the
    selection distribution is the softmax over the library. Each update trains *all* weights of
    both encoders with AdamW on the preference loss (Eq. 1) plus ``entropy_weight`` times the
    negative entropy, over ``batches`` batches of ``batch_size`` pairs drawn from a replay buffer
    of the user's last ``buffer_size`` ranked interactions (Table 7: S, bnum, bsz, lr, delta).

    It retrains on the query *text*, so the memory must keep it:
    ``SQLiteMemory(path, store_text=True)``; otherwise :meth:`learn` raises
    :class:`~langchain_premium.errors.MissingTextError`. A trained state is both encoders'
    weights (about 180 MB, stored with safetensors when installed); a user without feedback has
    no copy and uses the shared base model. Prefer the default ``encoder="adapter"``
    (:class:`EmbedSelector`, a few kilobytes per user) unless you need the paper's method.

    Per update the work is bounded by ``batches * batch_size`` pairs and, for the entropy term,
    ``entropy_tags`` library tags per batch (a random sample beside the batch's own tags;
    ``None`` uses the whole library, as the paper does for its 20 to 100 tags). Dropout is off
    while training, so an update is reproducible from its random generator. The AdamW moments
    are not stored: each update starts a fresh optimiser from the user's current weights.

    Args:
        exploration: how the ``n_explore`` exploration sets are drawn: ``"random"`` (the paper's
            m_r uniformly random sets) or ``"sample"`` (sampling by the softmax probabilities).
        lr: AdamW learning rate (Table 7: 2e-4).
        weight_decay: AdamW weight decay (torch's default).
        batches: batches per update (Table 7's bnum for 3/20 and 3/50).
        batch_size: pairs per batch (Table 7's bsz for 3/20 and 3/50).
        buffer_size: most recent ranked interactions replayed (Table 7's S; ``None``: all).
        entropy_weight: weight ``delta`` of the entropy regulariser (Table 7: 4e-3).
        entropy_tags: library tags in the entropy term per batch (``None``: all of them).
        scale: logits = ``scale`` x cosine (the untrained model equals the shared retriever with
            the same scale as :class:`EmbedSelector`'s initial one).

    Example:
        >>> from langchain_premium import PremiumRunnable, SQLiteMemory
        >>> from langchain_premium.offline import OfflineChatModel
        >>> premium = PremiumRunnable(llm=OfflineChatModel(), encoder="finetune",
        ...                           memory=SQLiteMemory(store_text=True))  # or a file database
        >>> premium.selector  # the default settings
        FinetuneSelector(exploration='random', lr=0.0002, batches=8, batch_size=20, buffer_size=25, entropy_weight=0.004)
        >>> FinetuneSelector(batches=10, batch_size=40, buffer_size=50)  # Table 7, setup 3/100
        FinetuneSelector(exploration='random', lr=0.0002, batches=10, batch_size=40, buffer_size=50, entropy_weight=0.004)
    """

    name = "premium-finetune"
    learns = True
    #: :meth:`learn` needs ``PreferencePair.query``, i.e. ``SQLiteMemory(store_text=True)``.
    needs_text: ClassVar[bool] = True
    #: A trained state holds two encoders (~180 MB in memory): a runnable should cache few.
    state_cache_size: ClassVar[int] = 8

    def __init__(
        self,
        *,
        exploration: Literal["random", "sample"] = "random",
        lr: float = 2e-4,
        weight_decay: float = 0.01,
        batches: int = 8,
        batch_size: int = 20,
        buffer_size: Optional[int] = 25,
        entropy_weight: float = 4e-3,
        entropy_tags: Optional[int] = 64,
        scale: float = 10.0,
    ) -> None:
        self.exploration = exploration
        self.lr = lr
        self.weight_decay = weight_decay
        self.batches = batches
        self.batch_size = batch_size
        self.buffer_size = buffer_size
        self.entropy_weight = entropy_weight
        self.entropy_tags = entropy_tags
        self.scale = scale
        if exploration not in ("random", "sample"):
            raise ValueError(f"exploration must be 'random' or 'sample', got {exploration!r}")
        if batches < 1 or batch_size < 1:
            raise ValueError(f"batches and batch_size must be at least 1, got {batches}, {batch_size}")
        if buffer_size is not None and buffer_size < 1:
            raise ValueError(f"buffer_size must be at least 1 or None, got {buffer_size}")
        if entropy_tags is not None and entropy_tags < 1:
            raise ValueError(f"entropy_tags must be at least 1 or None, got {entropy_tags}")

    def __repr__(self) -> str:
        return (
            f"FinetuneSelector(exploration={self.exploration!r}, lr={self.lr}, "
            f"batches={self.batches}, batch_size={self.batch_size}, "
            f"buffer_size={self.buffer_size}, entropy_weight={self.entropy_weight})"
        )

    # -- state -------------------------------------------------------------------------------

    def initial_state(self, library: TagLibrary) -> FinetuneState:
        return FinetuneState()

    def dumps(self, state: FinetuneState) -> bytes:
        """Both encoders' weights as safetensors (or ``torch.save`` tensors), never a pickle."""
        meta: dict[str, Any] = {
            "format": STATE_FORMAT,
            "trained": state.trained,
            "n_updates": state.n_updates,
            "n_pairs": state.n_pairs,
            "tags": [],
        }
        tensors: dict[str, torch.Tensor] = {}
        if state.trained:
            for prefix, encoder in (("query.", state.query_encoder), ("tag.", state.tag_encoder)):
                for key, value in encoder.state_dict().items():
                    tensors[prefix + key] = value.detach().contiguous()
            with state._lock:
                tags = list(state.tag_vectors)
                if tags:
                    tensors["tag_vectors"] = torch.from_numpy(np.stack([state.tag_vectors[t] for t in tags]))
            meta["tags"] = tags
            tensors["profile"] = torch.from_numpy(np.asarray(state.profile, dtype=np.float32))
        return _write_tensors(tensors, json.dumps(meta))

    def loads(self, blob: bytes, library: TagLibrary) -> FinetuneState:
        try:
            tensors, meta_text = _read_tensors(blob)
            meta = json.loads(meta_text)
        except Exception as exc:  # any decoding failure means the blob is not a state we wrote
            raise CorruptStateError(f"the stored fine-tuned encoder state cannot be read: {exc}") from exc
        if meta.get("format") != STATE_FORMAT:
            raise SchemaVersionError(
                f"fine-tuned encoder state format {meta.get('format')!r} is not supported "
                f"(this version reads format {STATE_FORMAT})"
            )
        counts = {"n_updates": int(meta["n_updates"]), "n_pairs": int(meta["n_pairs"])}
        if not meta["trained"]:
            return FinetuneState(**counts)
        _reclaim()
        encoders = []
        for prefix in ("query.", "tag."):
            weights = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            encoder = _fresh_copy()
            try:
                encoder.load_state_dict(weights, strict=True)
            except RuntimeError as exc:
                raise CorruptStateError(f"the stored {prefix[:-1]} encoder does not fit the base model: {exc}") from exc
            encoders.append(encoder.eval())
        tags = [str(t) for t in meta["tags"]]
        vectors = tensors["tag_vectors"].numpy() if tags else np.zeros((0, 0), np.float32)
        return FinetuneState(
            query_encoder=encoders[0], tag_encoder=encoders[1],
            tag_vectors=dict(zip(tags, vectors)), profile=tensors["profile"].numpy(), **counts,
        )

    # -- scoring and selection ---------------------------------------------------------------

    def scores(self, state: FinetuneState, context: SelectionContext) -> np.ndarray:
        tags = list(context.library.all_tags)
        if not state.trained:  # the shared base model: the runnable's cached embeddings
            query = context.query_embedding
            if query is None:
                return np.zeros(len(tags), dtype=np.float64)
            return self.scale * (context.tag_cache.matrix(tags) @ query).astype(np.float64)
        query = state.embed_query(context.query) if context.query else state.profile
        if query.size == 0:
            return np.zeros(len(tags), dtype=np.float64)
        return self.scale * (state.tag_matrix(tags) @ query).astype(np.float64)

    def select(
        self,
        state: FinetuneState,
        context: SelectionContext,
        *,
        k: int,
        m: int,
        n_explore: int,
        explore: bool,
        rng: np.random.Generator,
    ) -> list[TagSet]:
        library = context.library
        all_tags = list(library.all_tags)
        ordinary = len(library.tags)
        scores = self.scores(state, context)
        n_explore = n_explore if explore else 0

        own = best_sets(scores[:ordinary], k, m - n_explore)
        own_styles = choose_styles(library, dict(zip(all_tags, scores.tolist())))
        result = [to_tag_set(all_tags, s, scores, "selector", own_styles) for s in own]
        if not n_explore:
            return result

        probs = softmax(scores[:ordinary])
        if self.exploration == "random":
            propose = lambda: random_subset(ordinary, k, rng)  # noqa: E731
        else:
            propose = lambda: sample_by_probability(probs, k, rng)  # noqa: E731
        explored = fill_distinct(own, propose, n_explore, best_sets(scores[:ordinary], k, 2 * m + 1))
        position = {tag: i for i, tag in enumerate(all_tags)}
        for subset in explored:
            if self.exploration == "random":
                styles = choose_styles(library, rng=rng)
            else:  # each style with its pairwise softmax probability
                styles = tuple(
                    a if rng.random() < 1.0 / (1.0 + np.exp(scores[position[b]] - scores[position[a]])) else b
                    for a, b in library.binary_pairs
                )
            result.append(to_tag_set(all_tags, subset, scores, "exploration", styles))
        return result

    # -- learning ----------------------------------------------------------------------------

    def learn(
        self,
        state: FinetuneState,
        pairs: Sequence[PreferencePair],
        library: TagLibrary,
        tag_cache: TagEmbeddingCache,
        rng: np.random.Generator,
    ) -> FinetuneState:
        if not pairs:
            return state
        replay = _replay_buffer(pairs, self.buffer_size)
        missing = sum(p.query is None for p in replay)
        if missing:
            raise MissingTextError(
                f"FinetuneSelector retrains its query encoder on the query text, but {missing} of "
                f"the {len(replay)} replayed preference pairs have none: open the memory with "
                "SQLiteMemory(path, store_text=True) (texts are only kept from then on), or use "
                "the default encoder='adapter', which needs no text"
            )
        _reclaim()
        # Copies, never the state's own modules: the old state may be serving other threads.
        query_encoder = copy.deepcopy(state.query_encoder) if state.trained else _fresh_copy()
        tag_encoder = copy.deepcopy(state.tag_encoder) if state.trained else _fresh_copy()
        query_encoder.eval()  # no dropout: reproducible updates
        tag_encoder.eval()
        optimiser = _adamw([*query_encoder.parameters(), *tag_encoder.parameters()], self.lr, self.weight_decay)
        loss_fn = PreferenceLoss(self.entropy_weight)
        ordinary = list(library.tags)
        for _ in range(self.batches):
            take = rng.choice(len(replay), size=min(self.batch_size, len(replay)), replace=False)
            batch = [replay[int(i)] for i in take]
            queries = list(dict.fromkeys(p.query for p in batch))
            pair_tags = [t for p in batch for t in p.winner.all_tags + p.loser.all_tags]
            entropy_pool = self._entropy_pool(ordinary, pair_tags, rng) if self.entropy_weight else []
            tags = list(dict.fromkeys([*pair_tags, *entropy_pool]))
            q_index = {q: i for i, q in enumerate(queries)}
            t_index = {t: i for i, t in enumerate(tags)}

            logits = self.scale * _encode(query_encoder, queries, grad=True) @ _encode(tag_encoder, tags, grad=True).T
            rows = logits[[q_index[p.query] for p in batch]]
            winners = _gather(rows, _padded([p.winner.all_tags for p in batch], t_index))
            losers = _gather(rows, _padded([p.loser.all_tags for p in batch], t_index))
            entropy_logits = logits[:, [t_index[t] for t in entropy_pool]] if entropy_pool else None
            optimiser.zero_grad()
            loss_fn(winners, losers, entropy_logits).backward()
            optimiser.step()

        # Cache the library under the new tag encoder now, so serving costs one query pass.
        new_state = FinetuneState(
            query_encoder=query_encoder, tag_encoder=tag_encoder,
            n_updates=state.n_updates + 1, n_pairs=len(pairs),
        )
        new_state.tag_matrix(list(library.all_tags))
        replay_queries = list(dict.fromkeys(p.query for p in replay))
        new_state.profile = _encode(query_encoder, replay_queries, grad=False).numpy().mean(axis=0)
        return new_state

    def _entropy_pool(self, ordinary: list[str], batch_tags: list[str], rng: np.random.Generator) -> list[str]:
        """The library tags whose softmax entropy this batch regularises."""
        if self.entropy_tags is None or self.entropy_tags >= len(ordinary):
            return ordinary
        known = set(ordinary)
        pool = [t for t in dict.fromkeys(batch_tags) if t in known][: self.entropy_tags]
        taken = set(pool)
        others = [t for t in ordinary if t not in taken]
        extra = self.entropy_tags - len(pool)
        if extra > 0 and others:
            pool += [others[int(i)] for i in rng.choice(len(others), size=min(extra, len(others)), replace=False)]
        return pool


# -- the base model and its copies ---------------------------------------------------------------

_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: list["SentenceTransformer"] = []
# One tokenizer (the template's) for every user's encoders: fast tokenizers are not thread-safe.
_TOKENIZE_LOCK = threading.Lock()


def _template() -> "SentenceTransformer":
    """A private copy of the shared base model, so that copying never blocks the shared encoder."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            from langchain_premium.offline import _ENCODE_LOCK, get_sentence_transformer

            base = get_sentence_transformer()
            with _ENCODE_LOCK:  # the base may be encoding in another thread
                _TEMPLATE.append(copy.deepcopy(base).eval())
        return _TEMPLATE[0]


def _fresh_copy() -> "SentenceTransformer":
    """A new, independent copy of the pretrained encoder (one user's query or tag encoder)."""
    return copy.deepcopy(_template())


def _reclaim() -> None:
    """Free the encoders of states nobody holds any more before making new ones.

    Encoder modules sit in reference cycles, so a dropped state (evicted from the runnable's
    cache, or replaced by an update) is freed only by the cycle collector, which counts objects,
    not bytes: without this, ``premium perf``'s 3/20 run (22 updates) peaked at 8.5 GB, with it 2.7 GB.
    """
    gc.collect()


def _encode(encoder: "SentenceTransformer", texts: Sequence[str], *, grad: bool) -> torch.Tensor:
    """``(len(texts), d)`` unit embeddings of ``texts`` by ``encoder`` (with gradients if asked)."""
    template = _template()
    with _TOKENIZE_LOCK:
        prepare = getattr(template, "preprocess", None) or template.tokenize
        features = prepare(list(texts))
    with torch.set_grad_enabled(grad):
        return encoder(dict(features))["sentence_embedding"]


def _adamw(params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused where this torch supports it on CPU: with 45M parameters per step, the
    default per-tensor loop would be a large share of every update."""
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _replay_buffer(pairs: Sequence[PreferencePair], size: Optional[int]) -> list[PreferencePair]:
    """The pairs of the ``size`` most recent interactions (pairs come oldest first)."""
    if size is None:
        return list(pairs)
    recent: list[str] = []
    for pair in reversed(pairs):
        if pair.run_id not in recent:
            if len(recent) == size:
                break
            recent.append(pair.run_id)
    keep = set(recent)
    return [p for p in pairs if p.run_id in keep]


def _padded(tag_lists: list[tuple[str, ...]], index: dict[str, int]) -> torch.Tensor:
    width = max(len(tags) for tags in tag_lists)
    out = torch.full((len(tag_lists), width), -1, dtype=torch.long)
    for i, tags in enumerate(tag_lists):
        out[i, : len(tags)] = torch.tensor([index[t] for t in tags], dtype=torch.long)
    return out


def _gather(rows: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Scores at ``indices`` per row; padding (-1) scores zero."""
    picked = rows.gather(1, indices.clamp(min=0))
    return torch.where(indices >= 0, picked, torch.zeros((), dtype=rows.dtype))


# -- serialisation: tensors and one JSON string, no pickle ---------------------------------------


def _write_tensors(tensors: dict[str, torch.Tensor], meta: str) -> bytes:
    try:
        from safetensors.torch import save
    except ImportError:  # safetensors comes with transformers; torch.save of tensors is the fallback
        buffer = io.BytesIO()
        torch.save({"meta": meta, "tensors": tensors}, buffer)
        return buffer.getvalue()
    return save(tensors, metadata={_META_KEY: meta})


def _read_tensors(blob: bytes) -> tuple[dict[str, torch.Tensor], str]:
    if blob[:2] == b"PK":  # a torch.save zip archive
        data = torch.load(io.BytesIO(blob), weights_only=True)
        return data["tensors"], data["meta"]
    from safetensors.torch import load

    # safetensors layout: 8-byte little-endian header length, then a JSON header.
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    return load(blob), header["__metadata__"][_META_KEY]
