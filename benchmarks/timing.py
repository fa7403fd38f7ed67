"""Interleaved best-of timing shared by the benchmark scripts.

The machine may be shared: rounds alternate between the methods so that a busy
moment hits all of them, and the fastest round of each (the least disturbed,
as timeit reports) is kept.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping


def best_round_seconds(methods: Mapping[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Fastest wall time of each method over interleaved rounds.

    Parameters
    ----------
    methods
        Name to a call that runs the method once; warm them up first
        (kernels, buffers), the rounds time steady-state calls.
    seconds
        Time budget per method: rounds continue until ``seconds * len(methods)``
        have passed, and at least three rounds run.

    Returns
    -------
    dict
        Name to the fastest round, in seconds.
    """
    best = {key: float("inf") for key in methods}
    deadline = time.perf_counter() + seconds * len(methods)
    rounds = 0
    while rounds < 3 or time.perf_counter() < deadline:
        for key, run in methods.items():
            tic = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - tic)
        rounds += 1
    return best
