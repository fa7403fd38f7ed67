"""Kernel launches by parameter name: one thread per item, :data:`BLOCK_SIZE` per block.

Arguments are given as named groups (``{parameter: value}`` with the
expected element count of every pointer, ``{parameter: count}``) and put in
the order of the kernel's parsed C signature, so no call site depends on
parameter positions. A name the kernel lacks, or a parameter nobody gave,
is an error naming both; the executors then check every value the way CuPy
passes it (:mod:`gpunep.executors.arguments`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:
    from gpunep.executors.module import KernelModule

BLOCK_SIZE = 64
"""Threads per block of every kernel (GPUMD's NEP block size)."""


class Group(dict):
    """Named kernel arguments with the element counts their pointers must have."""

    def __init__(self, values: Mapping[str, Any] | None = None,
                 sizes: Mapping[str, int] | None = None):
        super().__init__(values or {})
        self.sizes: dict[str, int] = dict(sizes or {})

    def only(self, *names: str) -> "Group":
        """The arguments ``names`` of this group."""
        return Group({name: self[name] for name in names},
                     {name: self.sizes[name] for name in names if name in self.sizes})

    def __or__(self, other: "Group") -> "Group":  # type: ignore[override]
        both = set(self) & set(other)
        if both:
            raise ValueError(f"kernel arguments given twice: {sorted(both)}")
        return Group({**self, **other}, {**self.sizes, **getattr(other, "sizes", {})})


def scalars(**values: Any) -> Group:
    """A group of scalar arguments (ints become np.int32, the kernels' ``int``)."""
    return Group({name: np.int32(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                  else v for name, v in values.items()})


class Profile(dict):
    """``{name: [calls, seconds]}`` of kernels and host-side phases (``GPUNEP_PROFILE=1``)."""

    def add(self, name: str, seconds: float) -> None:
        entry = self.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def table(self, per: float = 1.0, unit: str = "s") -> str:
        """One line per name, slowest first, seconds divided by ``per``."""
        rows = sorted(self.items(), key=lambda item: -item[1][1])
        return "\n".join(f"  {name:<28} {calls:>6} calls {seconds / per:>12.4g} {unit}"
                         for name, (calls, seconds) in rows)


class Launcher:
    """Launches the kernels of one module (timed into ``profile`` when given; on a GPU
    that synchronises around every launch, so profile only to measure)."""

    def __init__(self, module: "KernelModule", profile: Profile | None = None):
        self.module = module
        self.profile = profile
        self.synchronizations = 0
        """Waits for the device so far (:meth:`synchronize` on a GPU)."""

    def __call__(self, kernel: str, threads: int, args: Group) -> None:
        """Launch ``kernel`` over ``threads`` items (at least one)."""
        function = self.module.get_function(kernel)
        params = [p.name for p in function.signature.params]
        missing = [name for name in params if name not in args]
        unknown = sorted(set(args) - set(params))
        if missing or unknown:
            raise ValueError(f"kernel {kernel}: arguments missing {missing}, not parameters "
                             f"{unknown} (its parameters: {', '.join(params)})")
        ordered = tuple(args[name] for name in params)
        sizes = {name: args.sizes[name] for name in params if name in args.sizes}
        grid = ((int(threads) + BLOCK_SIZE - 1) // BLOCK_SIZE,)
        if self.profile is None:
            function(grid, (BLOCK_SIZE,), ordered, sizes=sizes)
            return
        self.synchronize()
        tic = time.perf_counter()
        function(grid, (BLOCK_SIZE,), ordered, sizes=sizes)
        self.synchronize()
        self.profile.add(kernel, time.perf_counter() - tic)

    def synchronize(self) -> None:
        """Wait for the device (a no-op on the host executor)."""
        if self.module.xp is not np:
            self.module.xp.cuda.get_current_stream().synchronize()
            self.synchronizations += 1
