"""Torch's and numpy's BLAS thread pools capped per process, for speed and repeatable figures."""

from __future__ import annotations

from typing import Callable


def limit_threads(n: int) -> Callable[[], None]:
    """Cap torch's intra-op pool and numpy's BLAS pool at ``n`` threads in this process; return
    a function that puts both back.

    Each worker of a simulation is one process: pools as wide as the machine spin against each
    other (two 2-thread BLAS pools on two cores cost ``premium bench --quick`` a quarter of its
    time), and a multi-threaded BLAS reduction rounded differently depending on what ran before
    in the process, which made the quick bench's figures depend on how seeds were spread over
    the workers.

    Example:
        >>> restore = limit_threads(1)
        >>> import torch; torch.get_num_threads()
        1
        >>> restore()
    """
    if n < 1:
        raise ValueError(f"thread limit must be at least 1, got {n}")
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    blas = threadpool_limits(limits=n, user_api="blas")

    def restore() -> None:
        blas.restore_original_limits()  # first: it can reset torch's OpenMP pool as well
        torch.set_num_threads(before)

    return restore


__all__ = ["limit_threads"]
