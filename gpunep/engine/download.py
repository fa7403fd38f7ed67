"""The one device-to-host transfer of an evaluation.

Every result an evaluation returns lives in one float64 device buffer: the
kernels write their outputs into named views of it, and one copy brings it
to the host at the end. Nothing is copied back before that, so on a GPU the
whole evaluation is launched without waiting for the device.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


class Download:
    """Named float64 views of one device buffer, and their host copies.

    Parameters
    ----------
    xp : the array module (numpy or cupy)
    sizes : ``{name: number of float64 values}``, in the buffer's order
    reuse : a buffer of an earlier evaluation, taken when it has the same size
    """

    def __init__(self, xp: Any, sizes: Mapping[str, int], reuse: Any = None):
        self.xp = xp
        self.offsets: dict[str, tuple[int, int]] = {}
        total = 0
        for name, size in sizes.items():
            self.offsets[name] = (total, int(size))
            total += int(size)
        same = reuse is not None and int(reuse.size) == total
        self.buffer = reuse if same else xp.zeros(total, dtype=np.float64)
        self.transfers = 0

    def __getitem__(self, name: str) -> Any:
        """The device view of ``name`` (kernels write into it)."""
        start, size = self.offsets[name]
        return self.buffer[start:start + size]

    def __contains__(self, name: str) -> bool:
        return name in self.offsets

    def views(self) -> dict[str, Any]:
        """Every output as its device view, by name (results that stay on the device)."""
        return {name: self[name] for name in self.offsets}

    def fetch_head(self, last: str) -> dict[str, np.ndarray]:
        """Copy the outputs up to and including ``last`` (the leading ones) to the host, in
        one transfer: the small diagnostics of an evaluation whose results stay on the device."""
        start, size = self.offsets[last]
        head = self.buffer[:start + size]
        host = head.copy() if self.xp is np else self.xp.asnumpy(head)
        self.transfers += 1
        return {name: host[a:a + n] for name, (a, n) in self.offsets.items() if a + n <= start + size}

    def fetch(self) -> dict[str, np.ndarray]:
        """Copy the buffer to the host (the evaluation's only transfer); host views by name."""
        if self.xp is np:
            host = self.buffer.copy()  # the next evaluation reuses the device buffer
        else:
            host = self.xp.asnumpy(self.buffer)
        self.transfers += 1
        return {name: host[start:start + size] for name, (start, size) in self.offsets.items()}
