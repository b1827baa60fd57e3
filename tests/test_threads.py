"""Per-process thread caps: torch's pool and numpy's BLAS pool, and putting them back."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from langchain_premium.evaluation.experiment import _init_worker
from langchain_premium.threads import limit_threads


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture
def two_threads():
    """Start from two threads in each pool, so a cap of one is visible."""
    restore = limit_threads(2)
    yield
    restore()


def test_the_cap_applies_to_torch_and_blas_and_is_undone(two_threads):
    assert torch.get_num_threads() == 2 and blas_threads() == {2}
    restore = limit_threads(1)
    assert torch.get_num_threads() == 1 and blas_threads() == {1}
    restore()
    assert torch.get_num_threads() == 2 and blas_threads() == {2}


def test_bench_workers_cap_blas_as_well_as_torch(two_threads):
    """The workers of ``premium bench``: a BLAS pool left at the core count made the quick
    bench a third slower and its figures depend on which worker ran which seed."""
    restore = limit_threads(2)  # _init_worker's cap lasts for the process: undo it here
    try:
        _init_worker(1)
        assert torch.get_num_threads() == 1 and blas_threads() == {1}
    finally:
        restore()


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        limit_threads(0)
