"""Threads and processes sharing one SQLite file: no lock error, no lost pair, no lost update."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

import pytest
from reliability_support import (
    QUERIES,
    TAGS,
    RecordingMemory,
    build,
    cfg,
    fast_selector,
    give_feedback,
    ranking_for,
    replay_chain,
)

from langchain_premium import EmbedSelector, SQLiteMemory
from langchain_premium.cli import stress
from langchain_premium.utils import stable_hash


def hammer(premium, users: list[str], threads: int, rounds: int) -> tuple[Counter, list[str]]:
    """``threads`` threads, each ranking ``rounds`` answers for users in turn (the same users
    from several threads at once); the pairs acknowledged per user, and every error."""
    expected: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        for n in range(rounds):
            user = users[(t + n) % len(users)]
            try:
                result = premium.invoke(QUERIES[(t + n) % len(QUERIES)], config=cfg(user))
                receipt = result.feedback(ranking_for(result, TAGS[users.index(user)]))
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                expected[user] += receipt.pairs

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(w.is_alive() for w in workers), "a worker hung"
    return expected, errors


def check_user_chains(memory: SQLiteMemory, premium, saves: list[tuple], expected: Counter) -> None:
    """Every acknowledged pair stored once, and each user's saved states form one chain:
    versions 1..V each saved once, each learned from the previous version on strictly more
    pairs (an update applied on a stale state or twice breaks this), the last one stored."""
    by_user: dict[str, list[tuple]] = defaultdict(list)
    for save in saves:
        by_user[save[0]].append(save)
    for user, count in expected.items():
        pairs = memory.pairs(user, method=premium.key)
        assert len(pairs) == count == memory.count_pairs(user)
        assert len({p.id for p in pairs}) == count
        stored = memory.load_state(user, premium.key)
        assert stored is not None and stored.pairs_seen == count  # the model saw every pair
        chain = sorted(by_user[user], key=lambda s: s[2])
        assert [s[2] for s in chain] == list(range(1, stored.version + 1))
        seen = [s[3] for s in chain]
        assert seen == sorted(set(seen)), f"{user}: an update was applied twice: {seen}"
        assert chain[-1][4] == stored.blob
        assert replay_chain(chain, pairs, premium) == stored.version


@pytest.mark.parametrize("where", ["file", "memory"])
def test_threads_lose_no_pair_and_no_update(tmp_path, where):
    memory = RecordingMemory(tmp_path / "premium.db" if where == "file" else ":memory:")
    premium = build(memory, seed=1)
    users = ["ann", "ben", "cat"]
    expected, errors = hammer(premium, users, threads=4, rounds=4)
    assert errors == []
    assert sum(expected.values()) == 4 * 4 * 3
    check_user_chains(memory, premium, memory.saves, expected)
    memory.close()


def test_processes_and_threads_lose_no_pair_and_no_update(tmp_path):
    # Three processes x three threads on four users: the same user is ranked from several
    # processes at once, so updates meet on the compare-and-swap, not only on the in-process lock.
    spec = stress.LoadSpec(path=str(tmp_path / "premium.db"), processes=3, threads=3,
                           feedbacks=4, users=4, steps=4, timeout=240)
    SQLiteMemory(spec.path).close()
    report = stress.run_load(spec, memory_class=RecordingMemory)
    assert report.errors == []  # no "database is locked", no StaleStateError, nothing
    assert report.feedbacks == 36 and sum(report.expected_pairs.values()) == 108
    assert stress.check_database(spec, report) == []
    with SQLiteMemory(spec.path) as memory:
        premium = stress.build_runnable(spec, memory)
        check_user_chains(memory, premium, report.saves, report.expected_pairs)


class GatedSelector(EmbedSelector):
    """Learns like PREMIUM-Embed; the first update of ``gated_user`` waits for ``release``."""

    def __init__(self, gated_user: str) -> None:
        super().__init__(steps=6)
        self.gated_user = gated_user
        self.entered = threading.Event()
        self.release = threading.Event()
        self.inside: Counter = Counter()
        self.most_inside: Counter = Counter()
        self._lock = threading.Lock()

    def learn(self, state, pairs, *args, **kwargs):
        user = pairs[0].user_id
        with self._lock:
            self.inside[user] += 1
            self.most_inside[user] = max(self.most_inside[user], self.inside[user])
        try:
            if user == self.gated_user and not self.entered.is_set():
                self.entered.set()
                assert self.release.wait(60), "the test never released the update"
            return super().learn(state, pairs, *args, **kwargs)
        finally:
            with self._lock:
                self.inside[user] -= 1


def test_one_users_updates_are_serialised_and_other_users_go_on(tmp_path):
    assert stable_hash("alice") % 64 != stable_hash("bob") % 64  # different lock stripes
    memory = SQLiteMemory(tmp_path / "premium.db")
    selector = GatedSelector("alice")
    premium = build(memory, selector=selector, update_every=0)
    give_feedback(premium, "alice", "Jazz", 2)
    give_feedback(premium, "bob", "Baking", 2)
    results: dict[str, bool] = {}
    first = threading.Thread(target=lambda: results.update(first=premium.train("alice")))
    second = threading.Thread(target=lambda: results.update(second=premium.train("alice")))
    first.start()
    assert selector.entered.wait(60)
    second.start()  # waits for alice's first update instead of learning beside it
    assert premium.train("bob") is True  # bob's update is not held up by alice's
    assert selector.inside["alice"] == 1
    selector.release.set()
    first.join(60)
    second.join(60)
    assert results == {"first": True, "second": False}  # the second found nothing new to learn
    assert selector.most_inside["alice"] == 1
    assert memory.load_state("alice", premium.key).version == 1
    memory.close()


def test_an_update_that_lost_the_race_learns_again_on_top_of_the_winner(tmp_path):
    # Two runnables on one file stand for two processes (their locks are not shared).
    path = tmp_path / "premium.db"
    slow_memory, fast_memory = RecordingMemory(path), RecordingMemory(path)
    gated = GatedSelector("alice")
    slow = build(slow_memory, selector=gated, update_every=0)
    fast = build(fast_memory, selector=fast_selector(), update_every=0)
    give_feedback(fast, "alice", "Jazz", 1)
    outcome: dict[str, bool] = {}
    thread = threading.Thread(target=lambda: outcome.update(slow=slow.train("alice")))
    thread.start()
    assert gated.entered.wait(60)  # slow has loaded "no state, 3 pairs" and is learning
    assert fast.train("alice") is True  # fast saves version 1 (3 pairs) first
    give_feedback(fast, "alice", "Jazz", 1, start=1)  # 6 pairs now, version 1 has seen 3
    gated.release.set()
    thread.join(60)
    assert outcome == {"slow": True}  # its save was stale, so it learned again on version 1
    stored = slow_memory.load_state("alice", slow.key)
    assert (stored.version, stored.pairs_seen) == (2, 6)
    saves = fast_memory.saves + slow_memory.saves
    assert [(s[2], s[3]) for s in saves] == [(1, 3), (2, 6)]
    assert replay_chain(saves, slow_memory.pairs("alice"), slow) == 2
    slow_memory.close()
    fast_memory.close()
