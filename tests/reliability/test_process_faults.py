"""A process SIGKILLed mid-update or mid-write: the database opens, nothing committed is lost,
every user's model is the state before or after the update, and training runs again."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from reliability_support import (
    FAULTS,
    build,
    cfg,
    fault_child,
    give_feedback,
    ranking_for,
    wait_for,
)

from langchain_premium import SQLiteMemory
from langchain_premium.cli.stress import process_context


def snapshot(memory: SQLiteMemory, key: str) -> dict:
    """Pairs (by run), ranked runs and state of every user."""
    db = memory.db
    return {
        "pairs": sorted(db.execute("SELECT id, run_id, user_id, winner, loser FROM preference_pairs")),
        "ranked": sorted(db.execute("SELECT run_id, ranking FROM interactions WHERE ranking IS NOT NULL")),
        "states": {u: memory.load_state(u, key) for u in memory.users()},
    }


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_sigkill_mid_update_loses_nothing_committed(tmp_path, fault):
    path = tmp_path / "premium.db"
    memory = SQLiteMemory(path)
    premium = build(memory, seed=3)
    give_feedback(premium, "alice", "Jazz", 2)
    give_feedback(premium, "bob", "Baking", 2)
    before = snapshot(memory, premium.key)

    marker = tmp_path / "paused"
    child = process_context().Process(
        target=fault_child, args=(str(path), fault, str(marker), "alice", "Jazz"), daemon=True
    )
    child.start()
    try:
        wait_for(marker, child)
        # Meanwhile this process ranks for bob. In the two write faults the child holds the write
        # lock, so this waits until the kill below releases it; it must then go through.
        outcome: dict = {}

        def rank_for_bob() -> None:
            try:
                result = premium.invoke("Plan my weekend", config=cfg("bob"))
                outcome["receipt"] = result.feedback(ranking_for(result, "Baking"))
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

        writer = threading.Thread(target=rank_for_bob)
        writer.start()
        time.sleep(0.3)  # let the writer reach the lock (ordering only; nothing is timed)
    finally:
        child.kill()
        child.join(30)
    assert child.exitcode == -signal.SIGKILL
    writer.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["receipt"].pairs == 3 and outcome["receipt"].trained
    memory.close()

    # "Restart": a new process would open the file afresh, exactly like this.
    reopened = SQLiteMemory(path)
    assert reopened.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = snapshot(reopened, premium.key)
    old_pairs = set(before["pairs"])
    assert old_pairs <= set(after["pairs"])  # every pair committed before the crash is there
    assert set(before["ranked"]) <= set(after["ranked"])
    # alice's model is exactly the one before the interrupted update, never half of it.
    assert after["states"]["alice"].blob == before["states"]["alice"].blob
    assert after["states"]["alice"].version == before["states"]["alice"].version
    bob = after["states"]["bob"]
    assert bob.pairs_seen == reopened.count_pairs("bob") == 9  # bob's update went through

    restarted = build(reopened, seed=4)
    alice_pairs = reopened.count_pairs("alice")
    unranked = [i for i in reopened.interactions("alice") if i.ranking is None]
    if fault == "mid-ranking":
        # The ranking was rolled back as a whole: no pair of the run, and it can be sent again.
        [pending] = unranked
        assert alice_pairs == 6 and not [p for p in after["pairs"] if p[1] == pending.run_id]
        assert restarted.record_feedback(pending.run_id, [0, 1, 2]).trained
    else:
        # The ranking had committed before the kill: its pairs stay, the model catches up.
        assert alice_pairs == 9 and unranked == []
        assert restarted.train("alice") is True
    final = reopened.load_state("alice", restarted.key)
    assert final.pairs_seen == reopened.count_pairs("alice") == 9
    assert final.version == before["states"]["alice"].version + 1
    restarted.invoke("Plan my weekend", config=cfg("alice"))  # serving works again
    reopened.close()
